/* runtime/pool.c — a fixed thread pool for kernel calls (rt_pool_*).
 *
 * One call at a time: rt_pool_run publishes (fn, bufs, n_items, grain) under the mutex,
 * bumps a generation counter and wakes the workers; worker w (1..threads-1) runs chunk w
 * when there is one, the caller runs chunk 0, then waits until the workers it needed
 * have counted down. The chunk rule (runtime.h) depends only on n_items, grain and the
 * thread count, never on timing, so a kernel that is split-invariant gives the same
 * bytes for any thread count.
 *
 * Idle workers block on a condition variable (no spinning); a call with one chunk runs
 * on the caller and wakes nobody. rt_pool_free sets `stop`, wakes all and joins.
 *
 * Deliberately not here: work stealing or dynamic scheduling (they would make the item
 * -> thread map timing-dependent, harmless for split-invariant kernels but not needed),
 * thread pinning, and nested or concurrent calls.
 */
#include "runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Worker {
    RtPool *pool;
    uint32_t index; /* 1..threads-1 */
    pthread_t thread;
} Worker;

struct RtPool {
    uint32_t threads; /* including the caller */
    Worker *workers;  /* [threads - 1] */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* generation changed or stop */
    pthread_cond_t done_cv; /* pending reached 0 */
    uint64_t generation;
    bool stop;
    /* the current call */
    RtKernelFn fn;
    void **bufs;
    int64_t n_items, grain, units;
    uint32_t chunks;
    uint32_t pending; /* workers still running their chunk */
};

/* Items of chunk i of c over `units` units of `grain` items, clamped to n. */
static void chunk_range(int64_t n, int64_t grain, int64_t units, uint32_t c, uint32_t i, int64_t *begin, int64_t *end) {
    int64_t u0 = units * (int64_t)i / (int64_t)c, u1 = units * ((int64_t)i + 1) / (int64_t)c;
    *begin = u0 * grain < n ? u0 * grain : n;
    *end = u1 * grain < n ? u1 * grain : n;
}

static void *worker_main(void *arg) {
    Worker *w = arg;
    RtPool *p = w->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) break;
        seen = p->generation;
        if (w->index >= p->chunks) continue;
        RtKernelFn fn = p->fn;
        void **bufs = p->bufs;
        int64_t begin, end;
        chunk_range(p->n_items, p->grain, p->units, p->chunks, w->index, &begin, &end);
        pthread_mutex_unlock(&p->mu);
        if (begin < end) fn(bufs, begin, end);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static uint32_t online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : n > 1024 ? 1024u : (uint32_t)n;
}

RtPool *rt_pool_new(uint32_t threads, LlmcErr *err) {
    RtPool *p = llmc_xcalloc(1, sizeof *p);
    p->threads = threads ? threads : online_cores();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->workers = llmc_xcalloc(p->threads, sizeof *p->workers);
    for (uint32_t i = 1; i < p->threads; i++) {
        Worker *w = &p->workers[i - 1];
        w->pool = p;
        w->index = i;
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            llmc_err_set(err, "thread pool: cannot start thread %u of %u: %s", i + 1, p->threads, strerror(rc));
            p->threads = i; /* join the ones started */
            rt_pool_free(p);
            return NULL;
        }
    }
    return p;
}

uint32_t rt_pool_threads(const RtPool *pool) { return pool->threads; }

void rt_pool_run(RtPool *p, RtKernelFn fn, void **bufs, int64_t n_items, int64_t grain) {
    if (n_items <= 0) return;
    if (grain < 1) grain = 1;
    int64_t units = n_items / grain + (n_items % grain != 0);
    uint32_t chunks = units < (int64_t)p->threads ? (uint32_t)units : p->threads;
    if (chunks == 1) {
        fn(bufs, 0, n_items);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->bufs = bufs;
    p->n_items = n_items;
    p->grain = grain;
    p->units = units;
    p->chunks = chunks;
    p->pending = chunks - 1;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    int64_t begin, end;
    chunk_range(n_items, grain, units, chunks, 0, &begin, &end);
    if (begin < end) fn(bufs, begin, end);
    pthread_mutex_lock(&p->mu);
    while (p->pending != 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void rt_pool_free(RtPool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (uint32_t i = 1; i < p->threads; i++) pthread_join(p->workers[i - 1].thread, NULL);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}
