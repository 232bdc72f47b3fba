/* runtime/peak.c — the machine's limits, measured through the pool (rt_machine_peak):
 * the f32 FMA peak and the memory bandwidth, for MFU (tools/llmbench.c) and rooflines.
 *
 * FMA: the JIT's peak kernel (compiler/peak.c, cc_codegen_fma_peak: independent chains of
 * the widest vector FMA, no memory traffic) run over threads x K items with grain 1, so
 * every thread gets K items. One warm-up call of one item per thread times an item; K is
 * then chosen so that a call lasts about FMA_RUN_S, and the peak is the best of FMA_RUNS
 * calls: items x flops per item / seconds.
 *
 * Memory: a MEM_BYTES source and a MEM_BYTES destination, far larger than any cache,
 * written once through the pool first (so the pages exist and each is first touched by
 * the thread that later copies it), then copied with memcpy in MEM_BLOCK items over the
 * pool, best of MEM_PASSES passes; bytes read plus bytes written count (2 x MEM_BYTES per
 * pass). The cache lines a store has to read first (write-allocate) are not counted, so
 * this is what a streaming kernel sees, not the DRAM bus's total.
 *
 * Best-of, not median: on a shared machine other processes only ever make a run slower,
 * so the fastest run is the closest to what the hardware does.
 *
 * bf16: the same measurement of cc_codegen_bf16_peak's vdpbf16ps chains (0 without
 * avx512bf16), the ceiling of the bf16 matmuls.
 *
 * Deliberately not here: f64, per-core figures, cache-level bandwidths, pinning threads.
 * About 1 s in all on two cores.
 */
#include "runtime.h"
#include "compiler.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { FMA_RUNS = 10, MEM_PASSES = 4 };
#define FMA_RUN_S 0.04
#define MEM_BYTES ((size_t)256 << 20)
#define MEM_BLOCK ((size_t)1 << 20)

static double peak_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* bufs = {dst, src}: fills blocks [begin, end) of both (the first touch). */
static void peak_fill(void **bufs, int64_t begin, int64_t end) {
    size_t off = (size_t)begin * MEM_BLOCK, len = (size_t)(end - begin) * MEM_BLOCK;
    memset((char *)bufs[0] + off, 0, len);
    memset((char *)bufs[1] + off, 1, len);
}

/* bufs = {dst, src}: copies blocks [begin, end). */
static void peak_copy(void **bufs, int64_t begin, int64_t end) {
    size_t off = (size_t)begin * MEM_BLOCK, len = (size_t)(end - begin) * MEM_BLOCK;
    memcpy((char *)bufs[0] + off, (const char *)bufs[1] + off, len);
}

/* The peak of one chain kernel (cc_codegen_fma_peak or cc_codegen_bf16_peak); 0 when
 * the target has no such kernel. */
static bool peak_chains(CcJit *jit, RtPool *pool, bool bf16, double *gflops, LlmcErr *err) {
    CcKernelFn fn = NULL;
    double flops_per_item = 0;
    *gflops = 0;
    if (!(bf16 ? cc_codegen_bf16_peak : cc_codegen_fma_peak)(jit, &fn, &flops_per_item, err)) return false;
    if (!fn) return true;
    int64_t threads = rt_pool_threads(pool);
    int64_t k_max = 4096;
    float *out = calloc((size_t)(threads * k_max), sizeof *out);
    if (!out) {
        llmc_err_set(err, "machine peak: out of memory");
        return false;
    }
    void *bufs[1] = {out};
    double t0 = peak_now();
    rt_pool_run(pool, fn, bufs, threads, 1);
    double item_s = peak_now() - t0;
    int64_t k = item_s > 0 ? (int64_t)(FMA_RUN_S / item_s) + 1 : k_max;
    if (k > k_max) k = k_max;
    double best = 0;
    for (int r = 0; r < FMA_RUNS; r++) {
        t0 = peak_now();
        rt_pool_run(pool, fn, bufs, threads * k, 1);
        double s = peak_now() - t0;
        if (s > 0 && (best == 0 || s < best)) best = s;
    }
    *gflops = best > 0 ? (double)(threads * k) * flops_per_item / best * 1e-9 : 0;
    free(out);
    return true;
}

static bool peak_mem(RtPool *pool, double *gbs, LlmcErr *err) {
    char *dst = malloc(MEM_BYTES), *src = malloc(MEM_BYTES);
    if (!dst || !src) {
        free(dst), free(src);
        llmc_err_set(err, "machine peak: cannot allocate 2 x %zu MiB for the bandwidth test", MEM_BYTES >> 20);
        return false;
    }
    void *bufs[2] = {dst, src};
    int64_t blocks = (int64_t)(MEM_BYTES / MEM_BLOCK);
    rt_pool_run(pool, peak_fill, bufs, blocks, 1);
    double best = 0;
    for (int r = 0; r < MEM_PASSES; r++) {
        double t0 = peak_now();
        rt_pool_run(pool, peak_copy, bufs, blocks, 1);
        double s = peak_now() - t0;
        if (s > 0 && (best == 0 || s < best)) best = s;
    }
    *gbs = best > 0 ? 2.0 * (double)MEM_BYTES / best * 1e-9 : 0;
    free(dst), free(src);
    return true;
}

bool rt_machine_peak(CcJit *jit, RtPool *pool, RtMachinePeak *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    out->threads = rt_pool_threads(pool);
    return peak_chains(jit, pool, false, &out->fma_gflops, err) && peak_chains(jit, pool, true, &out->bf16_gflops, err) &&
           peak_mem(pool, &out->mem_gbs, err);
}
