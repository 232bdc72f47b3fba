/* tools/scaling.h — scaling laws for the planning tools (`llmc plan`, `llmsweep fit`,
 * `llmplot`): the parametric form of Hoffmann et al. 2022 (Chinchilla),
 *     L(N, D) = E + A / N^alpha + B / D^beta      (N parameters, D training tokens),
 * its published constants, compute-optimal sizing under C = 6 N D, and the fit of a law to
 * runs (Huber loss on log-loss, L-BFGS from a grid of starting points, bootstrap
 * intervals). Not a library header: only tools and their tests include it
 * (tools/scaling.c). Prefix sl_.
 */
#ifndef LLMC_SCALING_H
#define LLMC_SCALING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SlLaw {
    double E, A, B, alpha, beta;
} SlLaw;

/* Besiroglu et al. 2024 (Epoch AI's replication of Chinchilla), the default:
 * E = 1.8172, A = 482.01, B = 2085.43, alpha = 0.3478, beta = 0.3658. */
extern const SlLaw SL_BESIROGLU_2024;
/* Hoffmann et al. 2022: E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28. */
extern const SlLaw SL_HOFFMANN_2022;

/* "besiroglu" (or "epoch") and "hoffmann" (or "chinchilla"); NULL for any other name. */
const SlLaw *sl_law_named(const char *name);

double sl_loss(const SlLaw *law, double N, double D);

/* The N and D minimizing L(N, D) subject to 6 N D = C, in closed form:
 *   a = beta / (alpha + beta), G = (alpha A / (beta B))^(1 / (alpha + beta)),
 *   N_opt = G (C / 6)^a, D_opt = (C / 6) / N_opt. */
void sl_optimal(const SlLaw *law, double C, double *N_opt, double *D_opt);

/* One training run: parameters, tokens seen, final (validation) loss. */
typedef struct SlPoint {
    double N, D, loss;
} SlPoint;

typedef struct SlFitOptions {
    double huber_delta; /* Hoffmann's 1e-3 when 0 */
    int bootstrap;      /* resamples for the intervals; 0: none */
    uint64_t seed;      /* of the resampling */
} SlFitOptions;

typedef struct SlFit {
    SlLaw law;          /* the best fit */
    double objective;   /* its Huber objective (sum over points) */
    int points;
    int bootstrap;      /* resamples that converged */
    SlLaw lo, hi;       /* per constant, the 2.5% and 97.5% bootstrap percentiles (= law when none) */
} SlFit;

/* Fits L to the points as Hoffmann et al. do: over (a, b, e, alpha, beta) with A = e^a,
 * B = e^b, E = e^e, minimizes sum_i Huber_delta(LSE(a - alpha log N_i, b - beta log D_i, e)
 * - log L_i) by L-BFGS from every start of a fixed grid, keeping the best. Needs at least
 * 5 points with N, D, loss > 0. false + message in err otherwise or when no start
 * converges. Deterministic for a given seed. */
bool sl_fit(const SlPoint *pts, int n, const SlFitOptions *opt, SlFit *out, char *err, size_t err_len);

/* A fit as one JSON object (what `llmsweep fit --out FILE` writes and `llmc plan --law
 * FILE` reads):
 *   {"E": .., "A": .., "B": .., "alpha": .., "beta": .., "points": n, "objective": ..,
 *    "bootstrap": k, "lo": {"E": .., ...}, "hi": {...}}
 * sl_fit_read accepts any object with the five constants (the rest optional). */
char *sl_fit_json(const SlFit *fit); /* malloc'd, ends in a newline */
bool sl_fit_read(const char *path, SlFit *out, char *err, size_t err_len);

#endif /* LLMC_SCALING_H */
