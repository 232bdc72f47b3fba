/* tests/exec/test_pool.c — the thread pool (runtime/pool.c) with C kernels: every item
 * computed exactly once, and byte-identical results for 1, 2, 3, 4 threads (and the
 * number of cores) at several grains, n_items 0 and 1, many calls in a row on one pool.
 * The kernel has a floating reduction per output element, as real kernels do: the pool
 * never splits it, so the order of its additions cannot depend on the split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "test.h"

/* bufs = {in: double[n], out: double[n]}: out[i] = sum_j sin(in[i] * j + 0.1 j) */
static void kernel_reduce(void **bufs, int64_t begin, int64_t end) {
    const double *in = bufs[0];
    double *out = bufs[1];
    for (int64_t i = begin; i < end; i++) {
        double s = 0;
        for (int j = 0; j < 97; j++) s += sin(in[i] * j + 0.1 * j) / (1.0 + j);
        out[i] = s;
    }
}

/* bufs = {uint32_t touched[n]}: counts the calls that cover each item */
static void kernel_touch(void **bufs, int64_t begin, int64_t end) {
    uint32_t *t = bufs[0];
    for (int64_t i = begin; i < end; i++) t[i]++;
}

static void test_identical(void) {
    static const int64_t sizes[] = {0, 1, 2, 3, 7, 64, 1000, 4097};
    static const int64_t grains[] = {0, 1, 3, 64, 1000, 100000};
    static const uint32_t threads[] = {1, 2, 3, 4, 0};
    RtPool *pools[5];
    LlmcErr err = {0};
    for (int t = 0; t < 5; t++) {
        pools[t] = rt_pool_new(threads[t], &err);
        CHECK(pools[t] != NULL);
        if (!pools[t]) return;
    }
    CHECK_EQ_INT(rt_pool_threads(pools[2]), 3);
    CHECK(rt_pool_threads(pools[4]) >= 1);
    int identical = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int64_t n = sizes[s];
        double *in = malloc((size_t)(n ? n : 1) * sizeof *in), *ref = calloc((size_t)(n ? n : 1), sizeof *ref);
        double *out = malloc((size_t)(n ? n : 1) * sizeof *out);
        uint32_t *touched = malloc((size_t)(n ? n : 1) * sizeof *touched);
        for (int64_t i = 0; i < n; i++) in[i] = (double)((i * 2654435761u) % 1000) / 37.0 - 13.0;
        void *rb[2] = {in, ref};
        kernel_reduce(rb, 0, n);
        for (int t = 0; t < 5; t++)
            for (size_t gi = 0; gi < sizeof grains / sizeof grains[0]; gi++) {
                memset(out, 0xAB, (size_t)(n ? n : 1) * sizeof *out);
                void *b[2] = {in, out};
                rt_pool_run(pools[t], kernel_reduce, b, n, grains[gi]);
                bool same = memcmp(out, ref, (size_t)n * sizeof *out) == 0;
                if (!same)
                    fprintf(stderr, "n %lld threads %u grain %lld: differs\n", (long long)n, threads[t],
                            (long long)grains[gi]);
                CHECK(same);
                identical += same;
                memset(touched, 0, (size_t)(n ? n : 1) * sizeof *touched);
                void *tb[1] = {touched};
                rt_pool_run(pools[t], kernel_touch, tb, n, grains[gi]);
                bool once = true;
                for (int64_t i = 0; i < n; i++) once &= touched[i] == 1;
                if (n == 0) once = touched[0] == 0; /* nothing called */
                CHECK(once);
            }
        free(in);
        free(ref);
        free(out);
        free(touched);
    }
    fprintf(stderr, "identical runs: %d\n", identical);
    for (int t = 0; t < 5; t++) rt_pool_free(pools[t]);
}

/* Many small calls in a row: every worker wakes, runs, and goes back to sleep each time. */
static void test_many_runs(void) {
    LlmcErr err = {0};
    RtPool *p = rt_pool_new(4, &err);
    CHECK(p != NULL);
    if (!p) return;
    enum { N = 37, RUNS = 5000 };
    uint32_t touched[N] = {0};
    void *b[1] = {touched};
    for (int r = 0; r < RUNS; r++) rt_pool_run(p, kernel_touch, b, N, 1 + r % 11);
    bool all = true;
    for (int i = 0; i < N; i++) all &= touched[i] == RUNS;
    CHECK(all);
    rt_pool_free(p);
    /* create and free right away, and a pool that is never used */
    for (int r = 0; r < 50; r++) {
        RtPool *q = rt_pool_new((uint32_t)(1 + r % 5), &err);
        CHECK(q != NULL);
        if (r % 2) rt_pool_run(q, kernel_touch, b, N, 1);
        rt_pool_free(q);
    }
    rt_pool_free(NULL);
}

int main(void) {
    test_identical();
    test_many_runs();
    TEST_MAIN();
}
