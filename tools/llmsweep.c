/* tools/llmsweep.c — llmsweep: grids of training runs, their summary, and a scaling law
 * fitted to them.
 *
 *   llmsweep run MODEL.llm --data DIR --out SWEEP_DIR [--grid NAME=V1,V2..].. [--runs SPEC]
 *                [-D NAME=VALUE].. [--steps N] [--eval-every N] [--jobs J] [--mpi N] ...
 *   llmsweep status SWEEP_DIR...
 *   llmsweep fit RUN_OR_SWEEP_DIR... [--out FILE.json] [--bootstrap N] [--params ..] [--loss ..]
 *
 * `run` trains every run of the grid as an llmrun subprocess (under mpirun with --mpi),
 * one after another or --jobs at a time, each in SWEEP_DIR/runs/<name>/, and records
 * each finished run in its run.json with the exact figures of its model: parameters with
 * and without embeddings and the useful FLOPs of a training step, counted here from the
 * lowered model and its training step (what `llmrun --profile` and llmbench count for
 * MFU). A second `run` skips what is done and resumes what was interrupted. Exit codes:
 * 0 done, 1 bad input or a failed run, 2 bad usage, 130/143 stopped by SIGINT/SIGTERM.
 *
 * Deliberately not here: training (llmrun does it, in its own process, so a crash of one
 * run is that run's), the records' formats (llmsweep_runs.c), the fit (llmsweep_fit.c on
 * tools/scaling.c).
 */
#if !defined(_XOPEN_SOURCE) || _XOPEN_SOURCE < 700
#undef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* realpath */
#endif
#include "llmsweep.h"
#include "runtime.h"
#include "subcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static const char *const usage_text =
    "usage: llmsweep COMMAND [arguments]\n"
    "\n"
    "Sweeps of training runs over -D overrides, and scaling laws fitted to them.\n"
    "  run MODEL.llm --data DIR --out SWEEP_DIR [--grid NAME=V1,V2,...]...\n"
    "                             train every run of a grid (or list) with llmrun\n"
    "  status SWEEP_DIR...        the summary table of sweeps, from their run.json files\n"
    "  fit RUN_OR_SWEEP_DIR...    fit L(N, D) = E + A/N^alpha + B/D^beta to finished runs\n"
    "\n"
    "'llmsweep COMMAND --help' describes a command.\n"
    "  -h, --help                 this text\n"
    "  --version                  version\n"
    "\n"
    "exit status: 0 success, 1 bad input or a failed run, 2 bad usage,\n"
    "130/143 stopped by SIGINT/SIGTERM (the current runs save a checkpoint first)\n";

static const char *const run_help =
    "usage: llmsweep run MODEL.llm --data DIR --out SWEEP_DIR [options]\n"
    "\n"
    "Trains one run per point of the grid: the cartesian product of the --grid axes, in\n"
    "the order given (the first axis varies slowest), or the explicit --runs list; each\n"
    "run with the common -D overrides and then its own (a run's value of a name wins).\n"
    "A run is named by its overrides joined, e.g. 'dim=64,layers=2', and trained by\n"
    "  llmrun MODEL.llm --data DIR --out SWEEP_DIR/runs/<name> --steps S --eval-every E -D ...\n"
    "with its output in SWEEP_DIR/runs/<name>/log.txt (characters unsafe in a file name\n"
    "become '_'). Progress goes to stderr; the summary table to stdout at the end.\n"
    "\n"
    "  --data DIR          token shards (llmdata shard, llmtok encode); required\n"
    "  --out SWEEP_DIR     the sweep's directory; required\n"
    "  --grid NAME=V1,V2   an axis of the grid (repeatable; commas inside (...) do not split)\n"
    "  --runs SPEC         the runs as a list instead: 'NAME=V,NAME=V;NAME=V;...'\n"
    "  -D NAME=VALUE       an override every run gets (repeatable)\n"
    "  --steps N           stop each run at step N (llmrun --steps; default the train\n"
    "                      block's steps). The lr schedule's horizon stays the block's\n"
    "                      steps: sweep the run length with --grid steps=... instead\n"
    "  --eval-every N      validation every N steps (default: the run's step count). llmrun\n"
    "                      always evaluates the last step too, so every run ends with a\n"
    "                      validation loss\n"
    "  --eval-batches N    micro-batches per validation (llmrun's default: 4)\n"
    "  --threads N         kernel threads in all (default: every core); with J jobs of R\n"
    "                      ranks each process gets max(1, N / (J R))\n"
    "  --jobs J            runs at a time (default 1)\n"
    "  --mpi N             run each under `mpirun -np N` (--oversubscribe --bind-to none,\n"
    "                      --allow-run-as-root as root, OMPI_MCA_pml=ob1 unless set) with\n"
    "                      llmrun --shard full; N a power of two dividing accumulate\n"
    "  --llmrun PATH       the llmrun to run (default: the one next to llmsweep)\n"
    "  --force             use SWEEP_DIR although its sweep.json names another model,\n"
    "                      data, -D list or --steps; finished runs trained otherwise are\n"
    "                      started over\n"
    "  -h, --help          this text\n"
    "\n"
    "Resuming: the same command again skips every run whose run.json says done, resumes\n"
    "a run without run.json from its checkpoint (llmrun --resume; it has one if it was\n"
    "interrupted) and starts any other over. A run that fails (llmrun exits non-zero, or\n"
    "the model does not lower with its overrides) is recorded as failed and the sweep goes\n"
    "on; the exit status is then 1. SIGINT or SIGTERM stops the running runs (each saves a\n"
    "checkpoint), writes the summary and exits 130 or 143.\n"
    "\n"
    "Files:\n"
    "  SWEEP_DIR/sweep.json        the command: model, data, -D, --steps, grid or list, runs\n"
    "  SWEEP_DIR/summary.tsv       one row per run, rewritten after each: name params\n"
    "                              params_no_embed tokens flops final_loss final_val_loss\n"
    "                              best_val_loss wall_s status (empty when unknown)\n"
    "  SWEEP_DIR/runs/<name>/run.json   a finished or failed run: name, status (done or\n"
    "          failed), overrides, model, data, defines (every -D it got), params,\n"
    "          params_no_embed (without the tables a gather reads and embed()'s tok_emb /\n"
    "          pos_emb), tokens_per_step, tokens (trained: the last metrics line's),\n"
    "          flops_per_step (exact useful FLOPs of one optimizer step, the count MFU\n"
    "          uses), flops (flops_per_step x steps), steps, final_loss, final_val_loss,\n"
    "          best_val_loss (null when none), wall_s (this attempt's wall time),\n"
    "          resumed; failed runs also exit_code, log and error\n";

static const char *const status_help =
    "usage: llmsweep status SWEEP_DIR...\n"
    "\n"
    "Prints each sweep's runs as a table (the one `llmsweep run` prints at its end), from\n"
    "their run.json files, without running anything: runs in sweep.json's order, then any\n"
    "other directory of SWEEP_DIR/runs/. A run without run.json is 'incomplete' when it\n"
    "has metrics (interrupted, or running now) and 'pending' otherwise.\n"
    "\n"
    "  -h, --help          this text\n";

static const char *const fit_help =
    "usage: llmsweep fit RUN_OR_SWEEP_DIR... [options]\n"
    "\n"
    "Fits L(N, D) = E + A / N^alpha + B / D^beta to finished runs as Hoffmann et al. 2022 do\n"
    "(Huber loss, delta 1e-3, on log-loss; L-BFGS from a grid of starts; tools/scaling.c),\n"
    "with N a run's parameters, D the tokens it trained on and L its loss. A sweep\n"
    "directory stands for its runs; a run directory holds a run.json. Prints the\n"
    "constants with 95% bootstrap intervals, every point with the law's prediction and\n"
    "the residual, and the compute-optimal sizing the law implies under C = 6 N D.\n"
    "Runs not done, or without the chosen loss, are left out (and named). At least 5\n"
    "points are needed.\n"
    "\n"
    "  --out FILE.json     write the fit (default: SWEEP_DIR/fit.json when a single sweep\n"
    "                      directory is given; `llmc plan --law FILE` reads it)\n"
    "  --bootstrap N       resamples for the intervals (default 200; 0: none; seed 1)\n"
    "  --params P          all (default: every parameter, as Hoffmann et al.) or\n"
    "                      non-embedding (params_no_embed, as Kaplan et al.)\n"
    "  --loss L            final_val (default), best_val or final (the last train loss)\n"
    "  -h, --help          this text\n";

int sw_usage_error(const char *cmd, const char *fmt, const char *arg) {
    return subcmd_usage_error("llmsweep", cmd, fmt, arg);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --- files ------------------------------------------------------------------------------ */

static bool mkdir_p(const char *path) {
    char *p = llmc_xstrdup(path);
    bool ok = true;
    for (char *s = p + 1; ok; s++) {
        if (*s != '/' && *s) continue;
        char c = *s;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "llmsweep: %s: %s\n", p, strerror(errno));
            ok = false;
        }
        *s = c;
        if (!c) break;
    }
    free(p);
    return ok;
}

/* Removes everything inside dir (not dir itself). */
static bool empty_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT;
    bool ok = true;
    for (struct dirent *de; (de = readdir(d));) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *p = sw_path_join(dir, de->d_name);
        struct stat st;
        bool gone = lstat(p, &st) == 0 && S_ISDIR(st.st_mode) ? empty_dir(p) && rmdir(p) == 0 : unlink(p) == 0;
        if (!gone) fprintf(stderr, "llmsweep: cannot remove %s: %s\n", p, strerror(errno));
        ok &= gone;
        free(p);
    }
    closedir(d);
    return ok;
}

/* The last `lines` lines of path, indented, to stderr. */
static void show_tail(const char *path, int lines) {
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) return;
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    size_t start = len;
    for (int k = 0; start > 0 && k < lines;)
        if (text[--start] == '\n') k++;
    if (start || (len && text[0] == '\n')) start++;
    for (char *p = text + start; p < text + len;) { /* progress lines rewritten with \r: the last part */
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        char *end = nl ? nl : text + len, *cr = end;
        while (cr > p && cr[-1] != '\r') cr--;
        fprintf(stderr, "    %.*s\n", (int)(end - cr), cr);
        p = end + 1;
    }
    free(text);
}

/* --- subprocesses ----------------------------------------------------------------------- */

/* The running children, for the signal handler: SIGINT / SIGTERM to llmsweep is passed on
 * to each (llmrun saves a checkpoint and exits; mpirun passes it to its ranks). The
 * children run in their own process groups, so a Ctrl-C reaches them once, from here. */
static volatile sig_atomic_t g_signal;
static volatile pid_t g_children[SW_MAX_JOBS];

static void on_signal(int sig) {
    if (!g_signal) g_signal = sig;
    for (uint32_t i = 0; i < SW_MAX_JOBS; i++)
        if (g_children[i] > 0) kill(g_children[i], sig);
}

typedef struct Job {
    pid_t pid;
    uint32_t run;
    int64_t steps; /* the run's target step */
    double t0;
} Job;

/* Starts argv with stdin from /dev/null and stdout + stderr appended to log; the pid, or
 * -1. The child is registered in slot before any signal can be handled. */
static pid_t spawn(char *const *argv, const char *log, bool mpi, uint32_t slot) {
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT), sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old);
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* llmsweep killed outright: its runs save and stop too */
#endif
        signal(SIGINT, SIG_DFL), signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        int in = open("/dev/null", O_RDONLY), fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in >= 0) dup2(in, 0), close(in);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
        if (mpi) setenv("OMPI_MCA_pml", getenv("OMPI_MCA_pml") ? getenv("OMPI_MCA_pml") : "ob1", 1);
        execvp(argv[0], argv);
        fprintf(stderr, "llmsweep: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (pid < 0) fprintf(stderr, "llmsweep: fork: %s\n", strerror(errno));
    else g_children[slot] = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return pid;
}

/* --- one run ---------------------------------------------------------------------------- */

typedef struct Sweep {
    const SwOptions *o;
    const FeProgram *prog;
    char *model_abs, *data_abs, *llmrun;
    SwRun *runs;
    uint32_t n_runs;
    Job jobs[SW_MAX_JOBS];
    uint32_t running;
    bool any_failed;
} Sweep;

static void context_of(const Sweep *s, const FeOverride *defs, uint32_t n, SwContext *ctx) {
    *ctx = (SwContext){s->model_abs, s->data_abs, defs, n};
}

static void record(Sweep *s, SwRun *r, const FeOverride *defs, uint32_t n) {
    SwContext ctx;
    context_of(s, defs, n, &ctx);
    LlmcErr err = {0};
    if (!sw_run_json_write(r, &ctx, &err)) fprintf(stderr, "llmsweep: %s\n", err.msg);
}

static void run_failed(Sweep *s, SwRun *r, const char *log, const FeOverride *defs, uint32_t n, const char *why) {
    r->status = SW_STATUS_FAILED;
    free(r->error), r->error = llmc_xstrdup(why);
    free(r->log), r->log = llmc_xstrdup(log);
    s->any_failed = true;
    record(s, r, defs, n);
}

/* Prepares run i and starts it in a free job slot; false when it needs no job (done
 * already, or it failed before starting). */
static bool run_start(Sweep *s, uint32_t i) {
    const SwOptions *o = s->o;
    SwRun *r = &s->runs[i];
    uint32_t nd;
    FeOverride *defs = sw_run_defines(o, r, &nd);
    SwContext ctx;
    context_of(s, defs, nd, &ctx);
    bool matches = false, started = false;
    LlmcErr err = {0};
    char *log = sw_path_join(r->dir, "log.txt"), *latest = sw_path_join(r->dir, "latest");
    char prefix[64];
    snprintf(prefix, sizeof prefix, "[%u/%u]", i + 1, s->n_runs);
    if (!mkdir_p(r->dir)) {
        r->status = SW_STATUS_FAILED, s->any_failed = true;
        goto out;
    }
    if (sw_run_json_read(r, &ctx, &matches, &err) && r->status == SW_STATUS_DONE) {
        if (matches && (!o->steps || r->steps == (int64_t)o->steps)) {
            fprintf(stderr, "%s skipped: %s (finished)\n", prefix, r->name);
            goto out;
        }
        fprintf(stderr, "%s %s: finished with another model, data, -D list or --steps; starting over\n", prefix, r->name);
        empty_dir(r->dir);
    } else if (err.set) {
        fprintf(stderr, "llmsweep: warning: %s; running %s again\n", err.msg, r->name);
    }
    char *json = sw_path_join(r->dir, "run.json");
    unlink(json); /* a failed run's record goes: the run is being retried */
    free(json);
    sw_run_clear_results(r);
    r->status = SW_STATUS_PENDING;
    r->resumed = sw_exists(latest);
    if (!r->resumed) empty_dir(r->dir); /* a fresh start: nothing of an earlier attempt */

    FILE *lf = fopen(log, "a");
    if (!lf) {
        fprintf(stderr, "%s %s: %s: %s\n", prefix, r->name, log, strerror(errno));
        run_failed(s, r, log, defs, nd, "cannot write the log");
        goto out;
    }
    FILE *const diag[2] = {lf, NULL};
    if (!sw_model_stats(s->prog, defs, nd, r, diag, &err)) {
        fprintf(lf, "llmsweep: %s\n", err.msg);
        fclose(lf);
        fprintf(stderr, "%s %s: failed: %s; the end of %s:\n", prefix, r->name, err.msg, log);
        show_tail(log, 6);
        run_failed(s, r, log, defs, nd, err.msg);
        goto out;
    }
    int64_t steps = o->steps ? (int64_t)o->steps : r->steps_planned;
    int64_t every = o->eval_every ? (int64_t)o->eval_every : steps;
    uint64_t cores = (uint64_t)sysconf(_SC_NPROCESSORS_ONLN), procs = o->jobs * o->mpi;
    uint64_t total = o->threads ? o->threads : (cores ? cores : 1);
    uint64_t threads = total / procs ? total / procs : 1;

    char num[5][32];
    const char **argv = llmc_xcalloc(32 + 2 * (size_t)nd, sizeof *argv);
    uint32_t a = 0;
    if (o->mpi > 1) {
        argv[a++] = "mpirun";
        if (geteuid() == 0) argv[a++] = "--allow-run-as-root";
        argv[a++] = "--oversubscribe", argv[a++] = "--bind-to", argv[a++] = "none";
        snprintf(num[0], sizeof num[0], "%llu", (unsigned long long)o->mpi);
        argv[a++] = "-np", argv[a++] = num[0];
    }
    argv[a++] = s->llmrun, argv[a++] = o->model;
    argv[a++] = "--data", argv[a++] = o->data, argv[a++] = "--out", argv[a++] = r->dir;
    if (r->resumed) argv[a++] = "--resume", argv[a++] = r->dir;
    snprintf(num[1], sizeof num[1], "%lld", (long long)steps);
    snprintf(num[2], sizeof num[2], "%lld", (long long)every);
    argv[a++] = "--steps", argv[a++] = num[1], argv[a++] = "--eval-every", argv[a++] = num[2];
    if (o->eval_batches) {
        snprintf(num[3], sizeof num[3], "%llu", (unsigned long long)o->eval_batches);
        argv[a++] = "--eval-batches", argv[a++] = num[3];
    }
    if (o->threads || procs > 1) {
        snprintf(num[4], sizeof num[4], "%llu", (unsigned long long)threads);
        argv[a++] = "--threads", argv[a++] = num[4];
    }
    if (o->mpi > 1) argv[a++] = "--shard", argv[a++] = "full";
    char **dv = llmc_xcalloc(nd + 1, sizeof *dv);
    for (uint32_t k = 0; k < nd; k++) {
        size_t len = strlen(defs[k].name) + strlen(defs[k].value) + 2;
        dv[k] = llmc_xmalloc(len);
        snprintf(dv[k], len, "%s=%s", defs[k].name, defs[k].value);
        argv[a++] = "-D", argv[a++] = dv[k];
    }
    argv[a] = NULL;
    time_t now = time(NULL);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&now));
    fprintf(lf, "llmsweep: %s: %s%s:", when, r->resumed ? "resuming " : "", r->name);
    for (uint32_t k = 0; k < a; k++) fprintf(lf, " %s", argv[k]);
    fprintf(lf, "\n");
    fclose(lf);

    uint32_t slot = 0;
    while (s->jobs[slot].pid > 0) slot++;
    pid_t pid = spawn((char *const *)argv, log, o->mpi > 1, slot);
    for (uint32_t k = 0; k < nd; k++) free(dv[k]);
    free(dv);
    free(argv);
    if (pid < 0) {
        run_failed(s, r, log, defs, nd, "cannot start llmrun");
        goto out;
    }
    s->jobs[slot] = (Job){pid, i, steps, now_s()};
    s->running++;
    r->status = SW_STATUS_RUNNING;
    started = true;
    char step_note[48] = "";
    if (r->resumed) {
        char *text = NULL;
        size_t len = 0;
        LlmcErr lerr = {0};
        if (llmc_file_read(latest, &text, &len, &lerr))
            snprintf(step_note, sizeof step_note, " from %.*s", (int)strcspn(text, "\n"), text);
        free(text);
    }
    fprintf(stderr, "%s %s: %s%s ...%s", prefix, r->name, r->resumed ? "resuming" : "training", step_note,
            o->jobs > 1 ? "\n" : "");
out:
    free(defs);
    free(log);
    free(latest);
    return started;
}

/* Run job j has ended with wait status ws: its record, a progress line. */
static void run_finish(Sweep *s, uint32_t j, int ws) {
    Job *job = &s->jobs[j];
    SwRun *r = &s->runs[job->run];
    r->wall_s = now_s() - job->t0;
    int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
    uint32_t nd;
    FeOverride *defs = sw_run_defines(s->o, r, &nd);
    char *log = sw_path_join(r->dir, "log.txt");
    char prefix[300] = "";
    if (s->o->jobs > 1) snprintf(prefix, sizeof prefix, "[%u/%u] %s: ", job->run + 1, s->n_runs, r->name);
    else snprintf(prefix, sizeof prefix, " ");
    LlmcErr err = {0};
    bool have_metrics = sw_metrics_read(r, &err);
    if (code == 0 && have_metrics && r->steps >= job->steps) {
        r->status = SW_STATUS_DONE;
        record(s, r, defs, nd);
        fprintf(stderr, "%sdone in %.*f s, ", prefix, r->wall_s < 10 ? 1 : 0, r->wall_s);
        if (isfinite(r->final_val_loss)) fprintf(stderr, "val loss %.4f\n", r->final_val_loss);
        else fprintf(stderr, "loss %.4f (no validation loss on the last step)\n", r->final_loss);
    } else if (g_signal && code != 0) {
        r->status = SW_STATUS_INTERRUPTED;
        fprintf(stderr, "%sinterrupted", prefix);
        if (have_metrics) fprintf(stderr, " at step %lld", (long long)r->steps);
        fprintf(stderr, "; the same command resumes it\n");
    } else {
        char why[640];
        if (code != 0) snprintf(why, sizeof why, "llmrun exited with status %d", code);
        else if (!have_metrics) snprintf(why, sizeof why, "llmrun left no metrics: %s", err.msg);
        else snprintf(why, sizeof why, "llmrun stopped at step %lld of %lld", (long long)r->steps, (long long)job->steps);
        r->exit_code = code;
        fprintf(stderr, "%sfailed (%s) after %.*f s; the end of %s:\n", prefix, why, r->wall_s < 10 ? 1 : 0,
                r->wall_s, log);
        show_tail(log, 6);
        run_failed(s, r, log, defs, nd, why);
    }
    free(defs);
    free(log);
    g_children[j] = 0;
    *job = (Job){0};
    s->running--;
}

/* The summary: the plan's runs, then other runs found in the sweep directory. */
static void summary(const Sweep *s, bool print) {
    SwRun *extra = NULL;
    uint32_t n_extra = 0;
    LlmcErr err = {0};
    if (!sw_sweep_runs(s->o->out, s->runs, s->n_runs, &extra, &n_extra, &err)) n_extra = 0;
    SwRun *all = llmc_xcalloc(s->n_runs + n_extra + 1, sizeof *all);
    memcpy(all, s->runs, s->n_runs * sizeof *all);
    if (n_extra) memcpy(all + s->n_runs, extra, n_extra * sizeof *all);
    char *path = sw_path_join(s->o->out, "summary.tsv");
    llmc_err_clear(&err);
    if (!sw_summary_write(path, all, s->n_runs + n_extra, &err)) fprintf(stderr, "llmsweep: %s\n", err.msg);
    if (print) sw_summary_print(stdout, all, s->n_runs + n_extra);
    free(path);
    free(all);
    for (uint32_t i = 0; i < n_extra; i++) sw_run_free(&extra[i]);
    free(extra);
}

/* --- llmsweep run ----------------------------------------------------------------------- */

int sw_cmd_run(int argc, char **argv) {
    SwOptions o;
    int st = sw_options_parse(argc, argv, &o);
    Sweep s = {.o = &o};
    FeProgram *prog = NULL;
    char *text = NULL;
    if (st == SW_EXIT_OK) st = sw_plan_build(&o, &s.runs, &s.n_runs);
    if (st != SW_EXIT_OK) goto done;
    st = SW_EXIT_BAD_INPUT;
    char abs[PATH_MAX];
    if (!realpath(o.model, abs)) {
        fprintf(stderr, "llmsweep: %s: %s\n", o.model, strerror(errno));
        goto done;
    }
    s.model_abs = llmc_xstrdup(abs);
    errno = 0;
    if (!realpath(o.data, abs) || !sw_is_dir(abs)) {
        fprintf(stderr, "llmsweep: --data %s: %s\n", o.data, errno ? strerror(errno) : "not a directory");
        goto done;
    }
    s.data_abs = llmc_xstrdup(abs);
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(o.model, &text, &len, &err)) {
        fprintf(stderr, "llmsweep: %s\n", err.msg);
        goto done;
    }
    LlmcDiags d = {0};
    LlmcSource src = {o.model, text, len};
    prog = fe_parse(&src, &d);
    llmc_diags_print(&d, stderr);
    bool parsed = prog && d.errors == 0;
    llmc_diags_free(&d);
    if (!parsed) goto done;
    if (o.llmrun) {
        s.llmrun = llmc_xstrdup(o.llmrun);
    } else {
        char *dir = subcmd_exe_dir(); /* where llmrun is built */
        s.llmrun = sw_path_join(dir, "llmrun");
        free(dir);
        if (access(s.llmrun, X_OK) != 0) free(s.llmrun), s.llmrun = llmc_xstrdup("llmrun"); /* from PATH */
    }
    if (!mkdir_p(o.out)) goto done;
    st = sw_sweep_json_update(&o, s.model_abs, s.data_abs, s.runs, s.n_runs, argc, argv);
    if (st != SW_EXIT_OK) goto done;
    s.prog = prog;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: waitpid returns on a signal */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "llmsweep: %u run%s of %s in %s\n", s.n_runs, s.n_runs == 1 ? "" : "s", o.model, o.out);
    summary(&s, false);
    uint32_t next = 0;
    for (;;) {
        while (!g_signal && s.running < o.jobs && next < s.n_runs) {
            run_start(&s, next++);
            if (s.runs[next - 1].status != SW_STATUS_RUNNING) summary(&s, false);
        }
        if (!s.running) break;
        int ws;
        pid_t pid = waitpid(-1, &ws, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "llmsweep: waitpid: %s\n", strerror(errno));
            break;
        }
        for (uint32_t j = 0; j < SW_MAX_JOBS; j++)
            if (s.jobs[j].pid == pid) {
                run_finish(&s, j, ws);
                summary(&s, false);
            }
    }
    fprintf(stderr, "\n");
    summary(&s, true);
    if (g_signal) {
        fprintf(stderr, "llmsweep: stopped by %s; the same command continues the sweep\n",
                g_signal == SIGINT ? "SIGINT" : "SIGTERM");
        st = 128 + g_signal;
    } else {
        st = s.any_failed ? SW_EXIT_BAD_INPUT : SW_EXIT_OK;
    }
done:
    for (uint32_t i = 0; i < s.n_runs; i++) sw_run_free(&s.runs[i]);
    free(s.runs);
    free(s.model_abs), free(s.data_abs), free(s.llmrun);
    fe_program_free(prog);
    free(text);
    sw_options_free(&o);
    return st;
}

/* --- main ------------------------------------------------------------------------------- */

static const SubCommand commands[] = {
    {"run", run_help, sw_cmd_run},
    {"status", status_help, sw_cmd_status},
    {"fit", fit_help, sw_cmd_fit},
};

int main(int argc, char **argv) {
    return subcmd_main("llmsweep", usage_text, commands, sizeof commands / sizeof commands[0], argc, argv);
}
