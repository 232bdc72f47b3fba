/* tests/tools/test_scaling.c — tools/scaling.c: the published constants, the closed-form
 * compute-optimal point (against an independent closed form and a numerical line
 * minimization), the fit objective's gradient against central differences, recovery of
 * known constants from synthetic runs (noiseless and with 0.5% lognormal noise, with
 * bootstrap intervals), the JSON round trip and its errors, and bad input.
 */
#include "scaling.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Not in scaling.h: the fit objective and its gradient (tools/scaling.c). */
double sl_objective(const SlPoint *pts, int n, double delta, const double theta[5], double grad[5]);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A standard normal by Box-Muller, from (0, 1] uniforms. */
static double rng_normal(uint64_t *s) {
    double u1 = ((double)(rng_next(s) >> 11) + 1.0) * 0x1.0p-53;
    double u2 = (double)(rng_next(s) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void test_named(void) {
    CHECK(sl_law_named("besiroglu") == &SL_BESIROGLU_2024);
    CHECK(sl_law_named("epoch") == &SL_BESIROGLU_2024);
    CHECK(sl_law_named("hoffmann") == &SL_HOFFMANN_2022);
    CHECK(sl_law_named("chinchilla") == &SL_HOFFMANN_2022);
    CHECK(sl_law_named("kaplan") == NULL);
    CHECK(sl_law_named(NULL) == NULL);
    CHECK_CLOSE(SL_BESIROGLU_2024.E, 1.8172, 0);
    CHECK_CLOSE(SL_BESIROGLU_2024.A, 482.01, 0);
    CHECK_CLOSE(SL_BESIROGLU_2024.B, 2085.43, 0);
    CHECK_CLOSE(SL_BESIROGLU_2024.alpha, 0.3478, 0);
    CHECK_CLOSE(SL_BESIROGLU_2024.beta, 0.3658, 0);
    CHECK_CLOSE(SL_HOFFMANN_2022.E, 1.69, 0);
    CHECK_CLOSE(SL_HOFFMANN_2022.A, 406.4, 0);
    CHECK_CLOSE(SL_HOFFMANN_2022.B, 410.7, 0);
    CHECK_CLOSE(SL_HOFFMANN_2022.alpha, 0.34, 0);
    CHECK_CLOSE(SL_HOFFMANN_2022.beta, 0.28, 0);
    /* 1.69 + 406.4 / 1e9^0.34 + 410.7 / 2e10^0.28, by hand: 1.69 + 406.4 / 1148.2 +
     * 410.7 / 766.1 = 1.69 + 0.3540 + 0.5361. */
    double l = 1.69 + 406.4 / pow(1e9, 0.34) + 410.7 / pow(2e10, 0.28);
    CHECK_CLOSE(sl_loss(&SL_HOFFMANN_2022, 1e9, 2e10), l, 1e-15);
    CHECK_CLOSE(sl_loss(&SL_HOFFMANN_2022, 1e9, 2e10), 2.5801, 1e-4);
}

/* L along the budget line, as a function of log N. */
static double loss_on_budget(const SlLaw *law, double C, double logN) {
    double N = exp(logN);
    return sl_loss(law, N, C / (6.0 * N));
}

static void test_optimal(void) {
    const SlLaw *laws[2] = {&SL_BESIROGLU_2024, &SL_HOFFMANN_2022};
    const double budgets[2] = {1e21, 5.76e23};
    for (int l = 0; l < 2; l++) {
        const SlLaw *law = laws[l];
        for (int c = 0; c < 2; c++) {
            double C = budgets[c], N, D;
            sl_optimal(law, C, &N, &D);
            /* The closed form written out here: dL/dN = 0 along D = C/(6N) gives
             * N^(alpha+beta) = (alpha A / (beta B)) (C/6)^beta. */
            double s = law->alpha + law->beta;
            double N_ref = exp((log(law->alpha * law->A / (law->beta * law->B)) + law->beta * log(C / 6.0)) / s);
            CHECK_CLOSE(N, N_ref, 1e-12);
            CHECK_CLOSE(D, C / (6.0 * N_ref), 1e-12);
            CHECK_CLOSE(6.0 * N * D, C, 1e-12);
            /* A numerical minimization of L(N, C/(6N)) over log N (golden section on
             * [log 1e3, log 1e15]) lands on the same N. L is convex in log N. */
            double lo = log(1e3), hi = log(1e15), g = (sqrt(5.0) - 1.0) / 2.0;
            for (int it = 0; it < 200; it++) {
                double m1 = hi - g * (hi - lo), m2 = lo + g * (hi - lo);
                if (loss_on_budget(law, C, m1) < loss_on_budget(law, C, m2)) hi = m2;
                else lo = m1;
            }
            /* L is flat at the optimum: to 1e-16 in L, log N is known to ~1e-7. */
            CHECK_CLOSE(0.5 * (lo + hi), log(N), 1e-6);
            /* A constrained minimum: 1% off in N either way, on the same budget, is worse. */
            double L0 = sl_loss(law, N, D);
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                double Np = N * (1.0 + 0.01 * sgn);
                CHECK(sl_loss(law, Np, C / (6.0 * Np)) > L0);
            }
        }
    }
    /* Tokens per parameter at Chinchilla's budget (5.76e23 FLOPs). Besiroglu et al.'s refit
     * gives the well-known ~20 (18.4); Hoffmann et al.'s published approach-3 constants
     * give ~93 — the inconsistency with Hoffmann's own ~20 (approaches 1 and 2) that
     * Besiroglu et al. 2024 point out. Loose ranges around each. */
    double N, D;
    sl_optimal(&SL_BESIROGLU_2024, 5.76e23, &N, &D);
    fprintf(stderr, "C = 5.76e23: besiroglu N_opt = %.4g, D_opt = %.4g, D/N = %.3g\n", N, D, D / N);
    CHECK(D / N > 10 && D / N < 40);
    CHECK(N > 5e10 && N < 1e11); /* ~70B, Chinchilla's size */
    sl_optimal(&SL_HOFFMANN_2022, 5.76e23, &N, &D);
    fprintf(stderr, "C = 5.76e23: hoffmann  N_opt = %.4g, D_opt = %.4g, D/N = %.3g\n", N, D, D / N);
    CHECK(D / N > 60 && D / N < 130);
}

/* Central differences of sl_objective against its analytic gradient. */
static void check_gradient(const SlPoint *pts, int n, double delta, const double *th) {
    double g[5], gp[5], gm[5];
    double f = sl_objective(pts, n, delta, th, g);
    CHECK(isfinite(f));
    double gmax = 0;
    for (int k = 0; k < 5; k++) gmax = fmax(gmax, fabs(g[k]));
    for (int k = 0; k < 5; k++) {
        double h = 1e-6, tp[5], tm[5];
        memcpy(tp, th, sizeof tp);
        memcpy(tm, th, sizeof tm);
        tp[k] += h;
        tm[k] -= h;
        double fd = (sl_objective(pts, n, delta, tp, gp) - sl_objective(pts, n, delta, tm, gm)) / (2 * h);
        if (!(fabs(fd - g[k]) <= 1e-6 * gmax + 1e-12))
            fprintf(stderr, "gradient %d: analytic %.12g, central difference %.12g\n", k, g[k], fd);
        CHECK(fabs(fd - g[k]) <= 1e-6 * gmax + 1e-12);
    }
}

/* 30 runs: N = 1e6 .. 1e9 (6 sizes, log-spaced), D = N x {5, 10, 20, 40, 80} tokens per
 * parameter, losses from `law`, times exp(sigma z) with z standard normal. */
static int synthetic(const SlLaw *law, double sigma, uint64_t seed, SlPoint *pts) {
    const double ratios[5] = {5, 10, 20, 40, 80};
    int n = 0;
    for (int i = 0; i < 6; i++) {
        double N = pow(10.0, 6.0 + 3.0 * i / 5.0);
        for (int r = 0; r < 5; r++) {
            double D = ratios[r] * N;
            double L = sl_loss(law, N, D);
            if (sigma > 0) L *= exp(sigma * rng_normal(&seed));
            pts[n++] = (SlPoint){N, D, L};
        }
    }
    return n;
}

static const SlLaw TRUE_LAW = {.E = 1.8, .A = 400, .B = 1500, .alpha = 0.33, .beta = 0.37};

static void test_gradient(void) {
    SlPoint pts[30];
    int n = synthetic(&TRUE_LAW, 0.005, 7, pts);
    /* Far from the optimum (every residual past delta: the linear branch), near it with a
     * large delta (the quadratic branch), and in between with a mixture. Each theta is
     * (a, b, e, alpha, beta). */
    const double far[5] = {3.0, 9.0, -0.5, 0.2, 0.6};
    const double near[5] = {log(400.0), log(1500.0), log(1.8), 0.33, 0.37};
    const double mixed[5] = {log(380.0), log(1600.0), log(1.79), 0.325, 0.372};
    check_gradient(pts, n, 1e-3, far);
    check_gradient(pts, n, 0.5, near);
    check_gradient(pts, n, 1e-3, near);
    check_gradient(pts, n, 0.01, mixed);
    check_gradient(pts, n, 0.5, far);

    /* The objective itself, written out: sum of Huber(log(A/N^a + B/D^b + E) - log L). */
    double delta = 0.01, ref = 0;
    for (int i = 0; i < n; i++) {
        double pred = exp(mixed[0]) / pow(pts[i].N, mixed[3]) + exp(mixed[1]) / pow(pts[i].D, mixed[4]) +
                      exp(mixed[2]);
        double r = log(pred) - log(pts[i].loss);
        ref += fabs(r) <= delta ? 0.5 * r * r : delta * (fabs(r) - 0.5 * delta);
    }
    double g[5];
    CHECK_CLOSE(sl_objective(pts, n, delta, mixed, g), ref, 1e-12);
    /* delta <= 0 is Hoffmann's 1e-3. */
    double g2[5];
    CHECK_CLOSE(sl_objective(pts, n, 0, far, g), sl_objective(pts, n, 1e-3, far, g2), 0);
}

static void print_law(const char *what, const SlLaw *l) {
    fprintf(stderr, "%s: E = %.6g, A = %.6g, B = %.6g, alpha = %.6g, beta = %.6g\n", what, l->E, l->A, l->B,
            l->alpha, l->beta);
}

static double rel(double got, double want) { return fabs(got - want) / fabs(want); }

static void test_recover_noiseless(void) {
    SlPoint pts[30];
    int n = synthetic(&TRUE_LAW, 0, 0, pts);
    SlFit fit;
    char err[256] = "";
    double t0 = now_s();
    bool ok = sl_fit(pts, n, &(SlFitOptions){0}, &fit, err, sizeof err);
    double t = now_s() - t0;
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "sl_fit: %s\n", err);
        return;
    }
    print_law("noiseless fit", &fit.law);
    fprintf(stderr, "noiseless fit: objective %.3g, %.2f s; rel. errors E %.2g A %.2g B %.2g alpha %.2g beta %.2g\n",
            fit.objective, t, rel(fit.law.E, TRUE_LAW.E), rel(fit.law.A, TRUE_LAW.A), rel(fit.law.B, TRUE_LAW.B),
            rel(fit.law.alpha, TRUE_LAW.alpha), rel(fit.law.beta, TRUE_LAW.beta));
    /* The data are exact, so the global minimum (objective 0) is the truth, and the fit
     * gets there to rounding (relative errors ~1e-15, objective ~1e-31 here). The bounds
     * leave a wide margin for other compilers yet fail on a wrong basin or an optimizer
     * that stops early. A and B are ill-conditioned (an error in alpha times log N). */
    CHECK_EQ_INT(fit.points, 30);
    CHECK_EQ_INT(fit.bootstrap, 0);
    CHECK(fit.objective < 1e-12);
    CHECK(rel(fit.law.E, TRUE_LAW.E) < 1e-6);
    CHECK(rel(fit.law.alpha, TRUE_LAW.alpha) < 1e-6);
    CHECK(rel(fit.law.beta, TRUE_LAW.beta) < 1e-6);
    CHECK(rel(fit.law.A, TRUE_LAW.A) < 1e-5);
    CHECK(rel(fit.law.B, TRUE_LAW.B) < 1e-5);
    CHECK(memcmp(&fit.lo, &fit.law, sizeof fit.law) == 0);
    CHECK(memcmp(&fit.hi, &fit.law, sizeof fit.law) == 0);
}

static void test_recover_noisy(void) {
    SlPoint pts[30];
    int n = synthetic(&TRUE_LAW, 0.005, 2024, pts);
    SlFit fit;
    char err[256] = "";
    SlFitOptions opt = {.bootstrap = 200, .seed = 42};
    double t0 = now_s();
    bool ok = sl_fit(pts, n, &opt, &fit, err, sizeof err);
    double t = now_s() - t0;
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "sl_fit: %s\n", err);
        return;
    }
    print_law("noisy fit", &fit.law);
    print_law("  2.5%", &fit.lo);
    print_law(" 97.5%", &fit.hi);
    fprintf(stderr, "noisy fit (sigma 0.005, 200 resamples, %d converged): %.2f s; rel. errors E %.2g A %.2g B %.2g "
            "alpha %.2g beta %.2g\n", fit.bootstrap, t, rel(fit.law.E, TRUE_LAW.E), rel(fit.law.A, TRUE_LAW.A),
            rel(fit.law.B, TRUE_LAW.B), rel(fit.law.alpha, TRUE_LAW.alpha), rel(fit.law.beta, TRUE_LAW.beta));
    /* Tolerances: with 0.5% noise on 30 runs the exponents are determined to a few
     * percent and E to about 1%; A and B (= e^a, e^b) carry the exponents' error times
     * log N ~ 15-20 and are much looser. Over 20 other noise seeds (same design) the
     * largest errors seen were E 2.2%, alpha 4.7%, beta 2.8%, A 21%, B 18%, and each
     * 95% interval held the truth in 19 or 20 of the 20; this seed's errors are printed
     * above. The bounds sit just past those worst cases. */
    CHECK(rel(fit.law.E, TRUE_LAW.E) < 0.03);
    CHECK(rel(fit.law.alpha, TRUE_LAW.alpha) < 0.05);
    CHECK(rel(fit.law.beta, TRUE_LAW.beta) < 0.05);
    CHECK(rel(fit.law.A, TRUE_LAW.A) < 0.3);
    CHECK(rel(fit.law.B, TRUE_LAW.B) < 0.3);
    /* The fit is at least as good as the truth on its own objective (a global search
     * that stopped in a worse basin would fail this). */
    const double truth[5] = {log(TRUE_LAW.A), log(TRUE_LAW.B), log(TRUE_LAW.E), TRUE_LAW.alpha, TRUE_LAW.beta};
    double g[5];
    double f_truth = sl_objective(pts, n, 0, truth, g);
    fprintf(stderr, "noisy fit: objective %.6g, at the true constants %.6g\n", fit.objective, f_truth);
    CHECK(fit.objective <= f_truth);
    const double fitted[5] = {log(fit.law.A), log(fit.law.B), log(fit.law.E), fit.law.alpha, fit.law.beta};
    CHECK_CLOSE(sl_objective(pts, n, 0, fitted, g), fit.objective, 1e-9);
    CHECK(fit.bootstrap >= 190);
    /* The intervals hold the truth for the well-determined constants, and the fit. */
    CHECK(fit.lo.E <= TRUE_LAW.E && TRUE_LAW.E <= fit.hi.E);
    CHECK(fit.lo.alpha <= TRUE_LAW.alpha && TRUE_LAW.alpha <= fit.hi.alpha);
    CHECK(fit.lo.beta <= TRUE_LAW.beta && TRUE_LAW.beta <= fit.hi.beta);
    CHECK(fit.lo.E <= fit.law.E && fit.law.E <= fit.hi.E);
    CHECK(fit.lo.A <= fit.law.A && fit.law.A <= fit.hi.A);
    CHECK(fit.lo.B <= fit.law.B && fit.law.B <= fit.hi.B);
    CHECK(fit.lo.alpha <= fit.law.alpha && fit.law.alpha <= fit.hi.alpha);
    CHECK(fit.lo.beta <= fit.law.beta && fit.law.beta <= fit.hi.beta);
    /* Non-degenerate intervals: resampling noisy data moves the fit. */
    CHECK(fit.lo.alpha < fit.hi.alpha);
    CHECK(fit.lo.E < fit.hi.E);

    /* Deterministic: the same seed gives the same bits; another seed other intervals. */
    SlFit again, other;
    SlFitOptions small = {.bootstrap = 20, .seed = 42};
    CHECK(sl_fit(pts, n, &small, &again, err, sizeof err));
    SlFit again2;
    CHECK(sl_fit(pts, n, &small, &again2, err, sizeof err));
    CHECK(memcmp(&again, &again2, sizeof again) == 0);
    CHECK(memcmp(&again.law, &fit.law, sizeof fit.law) == 0);
    small.seed = 43;
    CHECK(sl_fit(pts, n, &small, &other, err, sizeof err));
    CHECK(memcmp(&other.lo, &again.lo, sizeof other.lo) != 0);
}

/* A scratch directory for the JSON tests. */
static char tmpdir[256];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void test_json(void) {
    SlFit fit = {.law = {1.8172, 482.01, 2085.43, 0.3478, 0.3658},
                 .objective = 1.2345678901234567e-5,
                 .points = 31,
                 .bootstrap = 187,
                 .lo = {1.7, 0.1 + 0.2, 1e-300, 0.3, 1.0 / 3.0},
                 .hi = {1.9, 600, 3000.5, 0.4, 0.41}};
    char *json = sl_fit_json(&fit);
    CHECK(json != NULL);
    if (!json) return;
    size_t len = strlen(json);
    CHECK(len > 0 && json[len - 1] == '\n');
    CHECK(strstr(json, "\"alpha\"") != NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/law.json", tmpdir);
    write_text(path, json);
    free(json);
    SlFit back;
    char err[512] = "";
    bool ok = sl_fit_read(path, &back, err, sizeof err);
    CHECK(ok);
    if (!ok) fprintf(stderr, "sl_fit_read: %s\n", err);
    /* Bit-exact: every field reads back to the same double. */
    CHECK(ok && memcmp(&back.law, &fit.law, sizeof fit.law) == 0);
    CHECK(ok && memcmp(&back.lo, &fit.lo, sizeof fit.lo) == 0);
    CHECK(ok && memcmp(&back.hi, &fit.hi, sizeof fit.hi) == 0);
    CHECK(ok && back.objective == fit.objective);
    CHECK_EQ_INT(back.points, 31);
    CHECK_EQ_INT(back.bootstrap, 187);

    /* Only the five constants: the rest defaults (lo = hi = law). */
    write_text(path, "{\"E\": 1.5, \"A\": 100, \"B\": 200, \"alpha\": 0.3, \"beta\": 0.25}");
    ok = sl_fit_read(path, &back, err, sizeof err);
    CHECK(ok);
    CHECK(ok && back.law.E == 1.5 && back.law.A == 100 && back.law.B == 200 && back.law.alpha == 0.3 &&
          back.law.beta == 0.25);
    CHECK(ok && memcmp(&back.lo, &back.law, sizeof back.law) == 0 &&
          memcmp(&back.hi, &back.law, sizeof back.law) == 0);

    /* Errors name the file and what is wrong. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no-such-law.json", tmpdir);
    CHECK(!sl_fit_read(missing, &back, err, sizeof err));
    fprintf(stderr, "expected error: %s\n", err);
    CHECK(strstr(err, missing) != NULL);

    write_text(path, "{\"E\": 1.5, \"A\": 100, \"B\": 200, \"alpha\": 0.3}");
    err[0] = 0;
    CHECK(!sl_fit_read(path, &back, err, sizeof err));
    fprintf(stderr, "expected error: %s\n", err);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "\"beta\"") != NULL);

    write_text(path, "{\"E\": 1.5, \"A\": 100, \"B\": 200, \"alpha\": 0.3, \"beta\": 0.25, \"lo\": {\"E\": 1}}");
    err[0] = 0;
    CHECK(!sl_fit_read(path, &back, err, sizeof err));
    fprintf(stderr, "expected error: %s\n", err);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "lo.A") != NULL);

    write_text(path, "{\"E\": 1.5, \"A\": \"100\", \"B\": 200, \"alpha\": 0.3, \"beta\": 0.25}");
    err[0] = 0;
    CHECK(!sl_fit_read(path, &back, err, sizeof err));
    fprintf(stderr, "expected error: %s\n", err);
    CHECK(strstr(err, path) != NULL && strstr(err, "\"A\"") != NULL && strstr(err, "string") != NULL);

    write_text(path, "{\"E\": 1.5, \"A\": 100, \"B\": 200, \"alpha\": -0.3, \"beta\": 0.25}");
    err[0] = 0;
    CHECK(!sl_fit_read(path, &back, err, sizeof err));
    CHECK(strstr(err, path) != NULL && strstr(err, "alpha") != NULL);

    write_text(path, "{\"E\": 1.5, ");
    err[0] = 0;
    CHECK(!sl_fit_read(path, &back, err, sizeof err));
    fprintf(stderr, "expected error: %s\n", err);
    CHECK(strstr(err, path) != NULL);

    write_text(path, "[1, 2]");
    err[0] = 0;
    CHECK(!sl_fit_read(path, &back, err, sizeof err));
    CHECK(strstr(err, path) != NULL && strstr(err, "object") != NULL);
    unlink(path);
}

static void test_bad_input(void) {
    SlPoint pts[30];
    int n = synthetic(&TRUE_LAW, 0, 0, pts);
    SlFit fit = {.points = -7};
    char err[256] = "";
    CHECK(!sl_fit(pts, 4, NULL, &fit, err, sizeof err));
    CHECK(strstr(err, "at least 5") != NULL);
    CHECK_EQ_INT(fit.points, -7); /* out untouched on failure */
    CHECK(!sl_fit(NULL, 0, NULL, &fit, err, sizeof err));
    const double bad[4] = {0.0, -1.0, NAN, INFINITY};
    for (int b = 0; b < 4; b++) {
        for (int field = 0; field < 3; field++) {
            SlPoint copy[30];
            memcpy(copy, pts, sizeof copy);
            double *v = field == 0 ? &copy[3].N : field == 1 ? &copy[3].D : &copy[3].loss;
            *v = bad[b];
            err[0] = 0;
            CHECK(!sl_fit(copy, n, NULL, &fit, err, sizeof err));
            CHECK(strstr(err, "run 3") != NULL && strstr(err, "positive") != NULL);
        }
    }
    CHECK(!sl_fit(pts, n, &(SlFitOptions){.bootstrap = -1}, &fit, err, sizeof err));
    CHECK(strstr(err, "bootstrap") != NULL);
    CHECK(!sl_fit(pts, n, &(SlFitOptions){.huber_delta = -1}, &fit, err, sizeof err));
    CHECK(strstr(err, "Huber") != NULL);
    CHECK_EQ_INT(fit.points, -7);
    /* A NULL err buffer is allowed. */
    CHECK(!sl_fit(pts, 2, NULL, &fit, NULL, 0));
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_scaling.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_named();
    test_optimal();
    test_gradient();
    test_bad_input();
    test_json();
    test_recover_noiseless();
    test_recover_noisy();
    rmdir(tmpdir);
    TEST_MAIN();
}
