/* runtime/comm.c — the world of ranks a job runs on and the collectives the shard pass
 * writes into the IR (all_gather, reduce_scatter, all_reduce), over MPI (OpenMPI).
 *
 * Determinism (DESIGN §8): no MPI reduction is ever used, because MPI may sum in any
 * order it likes (and a different one per message size or world size). A reduction over
 * ranks only moves data with MPI, then sums locally in ir/interp_collective.c's fixed
 * pairwise tree, level by level in rank order:
 *   4 ranks: ((v0 + v1) + (v2 + v3));  3 ranks: ((v0 + v1) + v2);
 *   5 ranks: (((v0 + v1) + (v2 + v3)) + v4)
 * with f32 sums rounded to float after every pairwise add, f64 in double and i32 wrapped
 * to 32 bits as the interpreter does. So a real run equals the interpreter's simulated
 * ranks bit for bit.
 *   reduce_scatter  in [ranks * count]: MPI_Ialltoall sends block j to rank j; at wait
 *                   the N received blocks are summed by the tree into out [count].
 *   all_reduce      the element range is cut into N near-equal blocks
 *                   (block j = [j * count / N, (j + 1) * count / N)); MPI_Ialltoallv +
 *                   tree as above for this rank's block, written into out in place, then
 *                   MPI_Iallgatherv of the reduced blocks (a second phase, posted by the
 *                   test or wait that sees the first one complete).
 *   all_gather      MPI_Iallgather.
 *
 * Non-blocking: start posts the MPI call and returns; test and wait drive MPI_Test, so
 * compute can overlap communication. MPI matches collectives on a communicator by the
 * order ranks issue them, so every MPI call must be issued in the same order everywhere.
 * Starts are (every rank runs the same program); but all_reduce's second phase is posted
 * whenever a rank happens to notice the first phase done, which differs between ranks.
 * So second phases go on a communicator of their own (gather_comm), and strictly in the
 * order the all_reduces were started: a FIFO of all_reduces still in their first phase,
 * whose head alone may move on. Every test and every wait loop (whatever it waits for)
 * pumps that FIFO, since a peer may be blocked on an all_reduce's second phase; and the
 * first phases it waits on were started by every rank, so this cannot deadlock.
 *
 * Timeout: wait polls with a back-off (spin, then sched_yield, then short sleeps, so
 * oversubscribed ranks still make progress) and gives up after the comm's timeout: it
 * prints "llmrun: rank R: collective WHAT waited more than T s (comm-timeout); aborting"
 * and MPI_Aborts with status 3, so a dead or stuck peer ends the job instead of hanging it.
 * MPI errors come back as codes (MPI_ERRORS_RETURN on our duplicated communicator) and
 * abort the same way with the rank, the call and MPI_Error_string.
 *
 * Outside mpirun (no OMPI_COMM_WORLD_SIZE) MPI is never initialized: one rank, and every
 * collective is a copy.
 *
 * Deliberately not here: MPI reductions, other reduce kinds than sum (the shard pass only
 * writes sums), counts of 2^31 elements or more in one collective (refused with a
 * message: MPI counts are int), and thread safety (MPI_THREAD_FUNNELED: one thread
 * communicates).
 */
#include "runtime.h"

#include <limits.h>
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exit status of a job ended by a communication failure (timeout or MPI error). */
#define RT_COMM_FAIL_STATUS 3
/* Broadcasts are cut into pieces of this many bytes so a count always fits an int. */
#define RT_COMM_BCAST_CHUNK ((size_t)1 << 30)

struct RtComm {
    bool mpi;              /* false: one rank, MPI untouched */
    bool owns_mpi;         /* we called MPI_Init_thread, so we MPI_Finalize */
    MPI_Comm comm;         /* our dup of MPI_COMM_WORLD (MPI_COMM_NULL without MPI) */
    MPI_Comm gather_comm;  /* another dup: all_reduce second phases only (banner) */
    uint32_t rank, size;
    double timeout;        /* seconds; 0 = forever */
    RtCommStats stats;
    RtCommReq *first, *last; /* all_reduces in their first phase, in start order */
};

/* Where a request is: its first MPI call in flight, all_reduce's second one, or done. */
typedef enum RtCommPhase { RT_COMM_PHASE_EXCHANGE, RT_COMM_PHASE_GATHER, RT_COMM_PHASE_DONE } RtCommPhase;

struct RtCommReq {
    RtCommOp op;
    RtCommPhase phase;
    RtCommReq *next;   /* in the comm's first-phase FIFO (all_reduce only) */
    IrDtype dt;
    size_t esize;      /* bytes per element */
    void *out;
    uint64_t count;
    char *what;        /* for messages */
    MPI_Request req;   /* MPI_REQUEST_NULL when nothing is in flight */
    void *recv;        /* reduce_scatter [ranks * count], all_reduce [ranks * block]: blocks
                        * received from every rank, summed in place by the tree at wait */
    int *counts;       /* all_reduce [ranks]: block j's length (send counts, then the
                        * gatherv's receive counts) */
    int *displs;       /* all_reduce [ranks]: block j's start */
    int *rcounts;      /* all_reduce [ranks]: every entry this rank's block length */
    int *rdispls;      /* all_reduce [ranks]: s * this rank's block length */
};

/* --- small helpers ------------------------------------------------------------------ */

static double rt_comm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t rt_comm_esize(IrDtype dt) {
    switch (dt) {
    case IR_DTYPE_F32: return sizeof(float);
    case IR_DTYPE_F64: return sizeof(double);
    case IR_DTYPE_I32: return sizeof(int32_t);
    case IR_DTYPE_INVALID:
    case IR_DTYPE_BF16:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"comm: dtype must be f32, f64 or i32");
    return 0;
}

static MPI_Datatype rt_comm_mpi_type(IrDtype dt) {
    switch (dt) {
    case IR_DTYPE_F32: return MPI_FLOAT;
    case IR_DTYPE_F64: return MPI_DOUBLE;
    case IR_DTYPE_I32: return MPI_INT32_T;
    case IR_DTYPE_INVALID:
    case IR_DTYPE_BF16:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"comm: dtype must be f32, f64 or i32");
    return MPI_DATATYPE_NULL;
}

static _Noreturn void rt_comm_fail(RtComm *c) {
    fflush(stderr);
    MPI_Abort(c->comm, RT_COMM_FAIL_STATUS);
    exit(RT_COMM_FAIL_STATUS); /* MPI_Abort does not return; the compiler does not know */
}

/* An MPI call's return code: anything but success ends the job, naming rank and call. */
static void rt_comm_check(RtComm *c, int rc, const char *call, const char *what) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) len = snprintf(msg, sizeof msg, "MPI error %d", rc);
    msg[len < 0 ? 0 : len > MPI_MAX_ERROR_STRING ? MPI_MAX_ERROR_STRING : len] = '\0';
    fprintf(stderr, "llmrun: rank %u: collective %s: %s failed: %s; aborting\n", c->rank, what, call, msg);
    rt_comm_fail(c);
}

/* MPI counts are int: a larger one is refused rather than silently truncated. */
static int rt_comm_int_count(RtComm *c, uint64_t n, const char *unit, const char *what) {
    if (n > (uint64_t)INT_MAX) {
        fprintf(stderr,
                "llmrun: rank %u: collective %s: %llu %s is more than one MPI call carries (%d); aborting\n",
                c->rank, what, (unsigned long long)n, unit, INT_MAX);
        rt_comm_fail(c);
    }
    return (int)n;
}

/* The wait loops' pause between two polls, and their timeout (measured from t0, the
 * start of the caller's wait). Back-off: a few bare polls for the fast case, then
 * sched_yield for about a millisecond, then sleeps growing from 50 us to 1 ms, so ranks
 * sharing cores leave them to the peers they wait for. */
typedef struct RtCommBackoff {
    double t0;
    uint32_t spins;
    long sleep_ns;
} RtCommBackoff;

static RtCommBackoff rt_comm_backoff_begin(void) { return (RtCommBackoff){rt_comm_now(), 0, 50000}; }

static void rt_comm_backoff(RtComm *c, RtCommBackoff *b, const char *what) {
    double waited = rt_comm_now() - b->t0;
    if (c->timeout > 0 && waited > c->timeout) {
        fprintf(stderr, "llmrun: rank %u: collective %s waited more than %g s (comm-timeout); aborting\n", c->rank,
                what, c->timeout);
        rt_comm_fail(c);
    }
    if (b->spins++ < 16) return;
    if (waited < 1e-3) {
        sched_yield();
        return;
    }
    struct timespec ts = {0, b->sleep_ns};
    nanosleep(&ts, NULL);
    if (b->sleep_ns < 1000000) b->sleep_ns *= 2;
}

static void rt_comm_pump(RtComm *c);

/* Polls one MPI request to completion (or the timeout), pumping the all_reduce FIFO
 * meanwhile (see rt_comm_step). */
static void rt_comm_poll(RtComm *c, MPI_Request *req, const char *what) {
    RtCommBackoff b = rt_comm_backoff_begin();
    for (;;) {
        rt_comm_pump(c);
        int done = 0;
        rt_comm_check(c, MPI_Test(req, &done, MPI_STATUS_IGNORE), "MPI_Test", what);
        if (done) break;
        rt_comm_backoff(c, &b, what);
    }
    c->stats.wait_seconds += rt_comm_now() - b.t0;
}

/* dst[i] = a[i] + b[i] in the dtype's arithmetic, exactly as the interpreter's combine():
 * f32 rounded to float per add (float + float is that, FLT_EVAL_METHOD 0), f64 in double,
 * i32 wrapped to 32 bits (through uint32_t: no signed overflow). dst may be a. */
static void rt_comm_add(IrDtype dt, void *dst, const void *a, const void *b, size_t n) {
    switch (dt) {
    case IR_DTYPE_F32: {
        float *d = dst;
        const float *x = a, *y = b;
        for (size_t i = 0; i < n; i++) d[i] = x[i] + y[i];
        return;
    }
    case IR_DTYPE_F64: {
        double *d = dst;
        const double *x = a, *y = b;
        for (size_t i = 0; i < n; i++) d[i] = x[i] + y[i];
        return;
    }
    case IR_DTYPE_I32: {
        int32_t *d = dst;
        const int32_t *x = a, *y = b;
        for (size_t i = 0; i < n; i++) {
            uint32_t u = (uint32_t)x[i] + (uint32_t)y[i];
            d[i] = u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) - INT32_MAX - 1;
        }
        return;
    }
    case IR_DTYPE_INVALID:
    case IR_DTYPE_BF16:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"comm: dtype must be f32, f64 or i32");
}

/* out [len] = the tree sum of blocks[0..n) (each [len], rank order), computed in place
 * over blocks, level by level as ir/interp_collective.c's tree_reduce: at each level
 * block j <- block 2j + block 2j+1, and an odd last block moves up unchanged. Writing
 * block j only after reading blocks 2j and 2j+1 (j <= 2j) makes in place safe. */
static void rt_comm_tree_sum(IrDtype dt, size_t esize, char *blocks, uint32_t n, size_t len, void *out) {
    size_t bytes = len * esize;
    while (n > 1) {
        for (uint32_t j = 0; j < n / 2; j++)
            rt_comm_add(dt, blocks + j * bytes, blocks + 2 * (size_t)j * bytes, blocks + (2 * (size_t)j + 1) * bytes,
                        len);
        if (n % 2) memmove(blocks + (n / 2) * bytes, blocks + (size_t)(n - 1) * bytes, bytes);
        n = (n + 1) / 2;
    }
    if (bytes) memcpy(out, blocks, bytes);
}

/* Start of all_reduce block j: j * count / ranks (the blocks differ by at most one). */
static uint64_t rt_comm_block_start(uint64_t count, uint32_t ranks, uint32_t j) {
    return count * j / ranks;
}

/* --- the world ---------------------------------------------------------------------- */

static RtComm *rt_comm_new_single(void) {
    RtComm *c = llmc_xcalloc(1, sizeof *c);
    c->comm = MPI_COMM_NULL;
    c->gather_comm = MPI_COMM_NULL;
    c->size = 1;
    return c;
}

RtComm *rt_comm_single(void) { return rt_comm_new_single(); }

RtComm *rt_comm_world(LlmcErr *err) {
    if (!getenv("OMPI_COMM_WORLD_SIZE")) return rt_comm_new_single();
    int inited = 0, finalized = 0;
    MPI_Initialized(&inited);
    MPI_Finalized(&finalized);
    if (finalized) {
        llmc_err_set(err, "MPI: already finalized in this process; it cannot start again");
        return NULL;
    }
    RtComm *c = rt_comm_new_single();
    if (!inited) {
        int provided = 0;
        int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) {
            llmc_err_set(err, "MPI: MPI_Init_thread failed (error %d)", rc);
            free(c);
            return NULL;
        }
        c->owns_mpi = true;
        if (provided < MPI_THREAD_FUNNELED) {
            llmc_err_set(err, "MPI: the library gives thread level %d, llmrun needs MPI_THREAD_FUNNELED", provided);
            MPI_Finalize();
            free(c);
            return NULL;
        }
    }
    int rank = 0, size = 0, rc = MPI_Comm_dup(MPI_COMM_WORLD, &c->comm);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_dup(c->comm, &c->gather_comm); /* inherits ERRORS_RETURN */
    if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(c->comm, &rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(c->comm, &size);
    if (rc != MPI_SUCCESS || size < 1 || rank < 0 || rank >= size) {
        char msg[MPI_MAX_ERROR_STRING + 1] = "";
        int len = 0;
        if (rc != MPI_SUCCESS && MPI_Error_string(rc, msg, &len) == MPI_SUCCESS && len >= 0 &&
            len <= MPI_MAX_ERROR_STRING)
            msg[len] = '\0';
        llmc_err_set(err, "MPI: setting up the world communicator failed: %s", rc != MPI_SUCCESS ? msg : "bad size");
        if (c->gather_comm != MPI_COMM_NULL) MPI_Comm_free(&c->gather_comm);
        if (c->comm != MPI_COMM_NULL) MPI_Comm_free(&c->comm);
        if (c->owns_mpi) MPI_Finalize();
        free(c);
        return NULL;
    }
    c->mpi = true;
    c->rank = (uint32_t)rank;
    c->size = (uint32_t)size;
    return c;
}

void rt_comm_free(RtComm *c) {
    if (!c) return;
    if (c->mpi) {
        MPI_Comm_free(&c->gather_comm);
        MPI_Comm_free(&c->comm);
        if (c->owns_mpi) MPI_Finalize();
    }
    free(c);
}

uint32_t rt_comm_rank(const RtComm *c) { return c->rank; }
uint32_t rt_comm_size(const RtComm *c) { return c->size; }
bool rt_comm_is_mpi(const RtComm *c) { return c->mpi; }

void rt_comm_set_timeout(RtComm *c, double seconds) {
    LLMC_ASSERT(seconds >= 0);
    c->timeout = seconds;
}

_Noreturn void rt_comm_abort(RtComm *c, int status) {
    fflush(stdout);
    fflush(stderr);
    if (c && c->mpi) MPI_Abort(c->comm, status);
    exit(status);
}

RtCommStats rt_comm_stats(const RtComm *c) { return c->stats; }
void rt_comm_reset_stats(RtComm *c) { memset(&c->stats, 0, sizeof c->stats); }

/* --- collectives -------------------------------------------------------------------- */

/* One rank: every op is a copy (reduce_scatter's input is its one block). */
static void rt_comm_start_single(RtCommReq *r, const void *in) {
    if (r->count) memcpy(r->out, in, r->count * r->esize);
}

static void rt_comm_start_all_gather(RtComm *c, RtCommReq *r, const void *in) {
    MPI_Datatype t = rt_comm_mpi_type(r->dt);
    int n = rt_comm_int_count(c, r->count, "elements", r->what);
    rt_comm_check(c, MPI_Iallgather(in, n, t, r->out, n, t, c->comm, &r->req), "MPI_Iallgather", r->what);
    c->stats.bytes_sent += (uint64_t)(c->size - 1) * r->count * r->esize;
}

static void rt_comm_start_reduce_scatter(RtComm *c, RtCommReq *r, const void *in) {
    MPI_Datatype t = rt_comm_mpi_type(r->dt);
    int n = rt_comm_int_count(c, r->count, "elements", r->what);
    r->recv = llmc_xmalloc((size_t)c->size * r->count * r->esize);
    rt_comm_check(c, MPI_Ialltoall(in, n, t, r->recv, n, t, c->comm, &r->req), "MPI_Ialltoall", r->what);
    c->stats.bytes_sent += (uint64_t)(c->size - 1) * r->count * r->esize;
}

static void rt_comm_start_all_reduce(RtComm *c, RtCommReq *r, const void *in) {
    MPI_Datatype t = rt_comm_mpi_type(r->dt);
    uint32_t n = c->size, me = c->rank;
    rt_comm_int_count(c, r->count, "elements", r->what); /* then every count and displacement fits */
    r->counts = llmc_xcalloc(n, sizeof *r->counts);
    r->displs = llmc_xcalloc(n, sizeof *r->displs);
    r->rcounts = llmc_xcalloc(n, sizeof *r->rcounts);
    r->rdispls = llmc_xcalloc(n, sizeof *r->rdispls);
    for (uint32_t j = 0; j < n; j++) {
        uint64_t s = rt_comm_block_start(r->count, n, j), e = rt_comm_block_start(r->count, n, j + 1);
        r->displs[j] = (int)s;
        r->counts[j] = (int)(e - s);
    }
    int mine = r->counts[me];
    for (uint32_t s = 0; s < n; s++) {
        r->rcounts[s] = mine;
        r->rdispls[s] = (int)s * mine;
    }
    r->recv = llmc_xmalloc((size_t)n * (size_t)mine * r->esize + 1); /* + 1: mine may be 0 */
    rt_comm_check(c, MPI_Ialltoallv(in, r->counts, r->displs, t, r->recv, r->rcounts, r->rdispls, t, c->comm, &r->req),
                  "MPI_Ialltoallv", r->what);
    c->stats.bytes_sent += (r->count - (uint64_t)mine) * r->esize;
    if (c->last) c->last->next = r;
    else c->first = r;
    c->last = r;
}

RtCommReq *rt_comm_start(RtComm *c, RtCommOp op, IrDtype dt, const void *in, void *out, uint64_t count,
                         const char *what) {
    LLMC_ASSERT(c && op > RT_COMM_INVALID && op < RT_COMM_COUNT);
    LLMC_ASSERT(count == 0 || (in && out));
    RtCommReq *r = llmc_xcalloc(1, sizeof *r);
    r->op = op;
    r->dt = dt;
    r->esize = rt_comm_esize(dt);
    r->out = out;
    r->count = count;
    r->what = llmc_xstrdup(what ? what : "(unnamed)");
    r->req = MPI_REQUEST_NULL;
    r->phase = RT_COMM_PHASE_DONE;
    c->stats.calls++;
    /* Every rank has the same count, so all skip an empty collective together. */
    if (count == 0) return r;
    if (!c->mpi || c->size == 1) {
        rt_comm_start_single(r, in);
        return r;
    }
    r->phase = RT_COMM_PHASE_EXCHANGE;
    switch (op) {
    case RT_COMM_ALL_GATHER: rt_comm_start_all_gather(c, r, in); break;
    case RT_COMM_REDUCE_SCATTER: rt_comm_start_reduce_scatter(c, r, in); break;
    case RT_COMM_ALL_REDUCE: rt_comm_start_all_reduce(c, r, in); break;
    case RT_COMM_INVALID:
    case RT_COMM_COUNT: LLMC_ASSERT(!"comm: invalid op");
    }
    return r;
}

static void rt_comm_req_free(RtCommReq *r) {
    free(r->what);
    free(r->recv);
    free(r->counts);
    free(r->displs);
    free(r->rcounts);
    free(r->rdispls);
    free(r);
}

/* r's first MPI call completed: the tree, and for all_reduce the second phase. */
static void rt_comm_exchanged(RtComm *c, RtCommReq *r) {
    switch (r->op) {
    case RT_COMM_ALL_GATHER: r->phase = RT_COMM_PHASE_DONE; return;
    case RT_COMM_REDUCE_SCATTER:
        rt_comm_tree_sum(r->dt, r->esize, r->recv, c->size, r->count, r->out);
        r->phase = RT_COMM_PHASE_DONE;
        return;
    case RT_COMM_ALL_REDUCE: {
        /* This rank's block, reduced straight into its place in out, which the in-place
         * gatherv then sends to everyone. */
        int mine = r->counts[c->rank];
        char *dst = (char *)r->out + (size_t)r->displs[c->rank] * r->esize;
        rt_comm_tree_sum(r->dt, r->esize, r->recv, c->size, (size_t)mine, dst);
        MPI_Datatype t = rt_comm_mpi_type(r->dt);
        rt_comm_check(c,
                      MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, r->out, r->counts, r->displs, t,
                                      c->gather_comm, &r->req),
                      "MPI_Iallgatherv", r->what);
        c->stats.bytes_sent += (uint64_t)(c->size - 1) * (uint64_t)mine * r->esize;
        r->phase = RT_COMM_PHASE_GATHER;
        return;
    }
    case RT_COMM_INVALID:
    case RT_COMM_COUNT: break;
    }
    LLMC_ASSERT(!"comm: invalid op");
}

/* One MPI_Test of r's call in flight; true when it completed. */
static bool rt_comm_test_mpi(RtComm *c, RtCommReq *r) {
    int done = 0;
    rt_comm_check(c, MPI_Test(&r->req, &done, MPI_STATUS_IGNORE), "MPI_Test", r->what);
    return done != 0;
}

/* Moves the first-phase FIFO along without blocking: its head goes on to its second
 * phase once its first completes, then the next, until one is still in flight. */
static void rt_comm_pump(RtComm *c) {
    while (c->first && rt_comm_test_mpi(c, c->first)) {
        RtCommReq *h = c->first;
        c->first = h->next;
        if (!c->first) c->last = NULL;
        h->next = NULL;
        rt_comm_exchanged(c, h);
    }
}

/* One non-blocking step for r; true when r is complete. The FIFO is pumped whatever r
 * is: a peer may be blocked on an earlier all_reduce's second phase, which this rank
 * must post even while it waits for something else, or both would wait forever. */
static bool rt_comm_step(RtComm *c, RtCommReq *r) {
    rt_comm_pump(c);
    /* an all_reduce moves on only in its turn, by the pump */
    if (r->phase == RT_COMM_PHASE_EXCHANGE && r->op == RT_COMM_ALL_REDUCE) return false;
    if (r->phase != RT_COMM_PHASE_DONE && rt_comm_test_mpi(c, r)) {
        if (r->phase == RT_COMM_PHASE_EXCHANGE) rt_comm_exchanged(c, r);
        else r->phase = RT_COMM_PHASE_DONE;
    }
    return r->phase == RT_COMM_PHASE_DONE;
}

bool rt_comm_test(RtComm *c, RtCommReq *r) {
    LLMC_ASSERT(c && r);
    return rt_comm_step(c, r);
}

void rt_comm_wait(RtComm *c, RtCommReq *r) {
    LLMC_ASSERT(c && r);
    RtCommBackoff b = rt_comm_backoff_begin();
    while (!rt_comm_step(c, r)) rt_comm_backoff(c, &b, r->what);
    c->stats.wait_seconds += rt_comm_now() - b.t0;
    rt_comm_req_free(r);
}

void rt_comm_run(RtComm *c, RtCommOp op, IrDtype dt, const void *in, void *out, uint64_t count, const char *what) {
    rt_comm_wait(c, rt_comm_start(c, op, dt, in, out, count, what));
}

/* The blocking helpers below are non-blocking calls polled like a collective, so a dead
 * peer cannot hang them past the timeout either. */
void rt_comm_barrier(RtComm *c) {
    LLMC_ASSERT(c);
    c->stats.calls++;
    if (!c->mpi || c->size == 1) return;
    MPI_Request req = MPI_REQUEST_NULL;
    rt_comm_check(c, MPI_Ibarrier(c->comm, &req), "MPI_Ibarrier", "barrier");
    rt_comm_poll(c, &req, "barrier");
}

void rt_comm_gather_bytes(RtComm *c, const void *bytes, size_t n, void *out) {
    LLMC_ASSERT(c && (n == 0 || (bytes && out)));
    c->stats.calls++;
    if (n == 0) return;
    if (!c->mpi || c->size == 1) {
        memcpy(out, bytes, n);
        return;
    }
    int k = rt_comm_int_count(c, n, "bytes", "gather_bytes");
    MPI_Request req = MPI_REQUEST_NULL;
    rt_comm_check(c, MPI_Iallgather(bytes, k, MPI_BYTE, out, k, MPI_BYTE, c->comm, &req), "MPI_Iallgather",
                  "gather_bytes");
    c->stats.bytes_sent += (uint64_t)(c->size - 1) * n;
    rt_comm_poll(c, &req, "gather_bytes");
}

void rt_comm_broadcast(RtComm *c, void *bytes, size_t n, uint32_t root) {
    LLMC_ASSERT(c && root < c->size && (n == 0 || bytes));
    c->stats.calls++;
    if (n == 0 || !c->mpi || c->size == 1) return;
    for (size_t off = 0; off < n; off += RT_COMM_BCAST_CHUNK) {
        size_t k = n - off < RT_COMM_BCAST_CHUNK ? n - off : RT_COMM_BCAST_CHUNK;
        MPI_Request req = MPI_REQUEST_NULL;
        rt_comm_check(c, MPI_Ibcast((char *)bytes + off, (int)k, MPI_BYTE, (int)root, c->comm, &req), "MPI_Ibcast",
                      "broadcast");
        if (c->rank == root) c->stats.bytes_sent += (uint64_t)(c->size - 1) * k;
        rt_comm_poll(c, &req, "broadcast");
    }
}
