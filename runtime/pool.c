/* runtime/pool.c — a fixed thread pool for kernel calls (rt_pool_*).
 *
 * One call at a time: rt_pool_run writes (fn, bufs, n_items, grain), publishes them by
 * bumping the atomic generation counter and wakes the workers that sleep; worker w (1..threads-1) runs chunk w
 * when there is one, the caller runs chunk 0, then waits until every worker has
 * counted down (those without a chunk too, so none still reads the call when the next
 * one is written). The chunk rule (runtime.h) depends only on n_items, grain and the
 * thread count, never on timing, so a kernel that is split-invariant gives the same
 * bytes for any thread count.
 *
 * Waiting spins briefly, then blocks. Training steps are hundreds of short kernel calls
 * (tens of microseconds each on tiny models), where a condition-variable round trip per
 * call costs as much as the work: so a worker polls the generation counter for about
 * SPIN_POLLS loads before it sleeps on work_cv, and the caller polls `pending` before it
 * sleeps on done_cv. The sleeping side announces itself (sleepers, caller_sleeping)
 * and re-checks under the mutex; the waking side reads that flag after publishing (all
 * sequentially consistent atomics), and signals under the mutex, so no wake-up is lost.
 * With more threads than online cores nobody polls. Every worker checks in on every
 * call, so a call costs at least one hand-off to each worker.
 * A call with one chunk runs on the caller and wakes nobody. rt_pool_free sets `stop`,
 * wakes all and joins.
 *
 * Deliberately not here: work stealing or dynamic scheduling (they would make the item
 * -> thread map timing-dependent, harmless for split-invariant kernels but not needed),
 * thread pinning, and nested or concurrent calls.
 */
#include "runtime.h"

#include <pthread.h>
#include <stdatomic.h>
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
    _Atomic uint64_t generation;
    _Atomic bool stop;
    _Atomic uint32_t sleepers;     /* workers blocked (or about to block) on work_cv */
    _Atomic bool caller_sleeping;  /* the caller blocked (or about to) on done_cv */
    /* the current call: written before generation is bumped */
    RtKernelFn fn;
    void **bufs;
    int64_t n_items, grain, units;
    uint32_t chunks;
    _Atomic uint32_t pending; /* workers that have not checked in for this call */
    int spin;                 /* polls before blocking: SPIN_POLLS, 0 when oversubscribed */
};

enum { SPIN_POLLS = 20000 }; /* about 10-50 us of polling before blocking */

/* Items of chunk i of c over `units` units of `grain` items, clamped to n. */
static void chunk_range(int64_t n, int64_t grain, int64_t units, uint32_t c, uint32_t i, int64_t *begin, int64_t *end) {
    int64_t u0 = units * (int64_t)i / (int64_t)c, u1 = units * ((int64_t)i + 1) / (int64_t)c;
    *begin = u0 * grain < n ? u0 * grain : n;
    *end = u1 * grain < n ? u1 * grain : n;
}

/* Blocks until the generation differs from `seen` or the pool stops. */
static void worker_wait(RtPool *p, uint64_t seen) {
    for (int i = 0; i < p->spin; i++)
        if (atomic_load(&p->generation) != seen || atomic_load(&p->stop)) return;
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->work_cv, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *arg) {
    Worker *w = arg;
    RtPool *p = w->pool;
    uint64_t seen = 0;
    for (;;) {
        worker_wait(p, seen);
        if (atomic_load(&p->stop)) break;
        seen = atomic_load(&p->generation);
        if (w->index < p->chunks) {
            int64_t begin, end;
            chunk_range(p->n_items, p->grain, p->units, p->chunks, w->index, &begin, &end);
            if (begin < end) p->fn(p->bufs, begin, end);
        }
        /* Every worker checks in, needed or not: the caller rewrites the call only when
         * no worker can still be reading it. */
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->caller_sleeping)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static uint32_t online_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : n > 1024 ? 1024u : (uint32_t)n;
}

RtPool *rt_pool_new(uint32_t threads, LlmcErr *err) {
    RtPool *p = llmc_xcalloc(1, sizeof *p);
    p->threads = threads ? threads : online_cores();
    /* more threads than cores: a polling thread would take a core from a working one */
    p->spin = p->threads <= online_cores() ? SPIN_POLLS : 0;
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
    p->fn = fn;
    p->bufs = bufs;
    p->n_items = n_items;
    p->grain = grain;
    p->units = units;
    p->chunks = chunks;
    atomic_store(&p->pending, p->threads - 1);
    atomic_fetch_add(&p->generation, 1); /* publishes the call */
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
    }
    int64_t begin, end;
    chunk_range(n_items, grain, units, chunks, 0, &begin, &end);
    if (begin < end) fn(bufs, begin, end);
    for (int i = 0; i < p->spin && atomic_load(&p->pending); i++) {
    }
    if (atomic_load(&p->pending)) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->caller_sleeping, true);
        while (atomic_load(&p->pending)) pthread_cond_wait(&p->done_cv, &p->mu);
        atomic_store(&p->caller_sleeping, false);
        pthread_mutex_unlock(&p->mu);
    }
}

void rt_pool_free(RtPool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (uint32_t i = 1; i < p->threads; i++) pthread_join(p->workers[i - 1].thread, NULL);
    pthread_cond_destroy(&p->done_cv);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}
