/* runtime/cpu.c — what the CPU and the kernel let bf16 matmuls use (rt_cpu_bf16_detect), read
 * at run time, for llmrun's and llmbench's reports.
 *
 *   avx512bf16  cpuid leaf 7 subleaf 1, EAX bit 5 (vdpbf16ps), with AVX-512 enabled by the
 *               OS (XCR0 bits 5-7, opmask and the upper zmm state).
 *   AMX         cpuid leaf 7 subleaf 0, EDX bits 24 (AMX-TILE) and 22 (AMX-BF16); XCR0
 *               bits 17-18 (tile configuration and tile data enabled by the OS); and on
 *               Linux the per-process permission for the tile data, which a process must
 *               request before its first tile instruction:
 *               arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA). Asking is harmless
 *               and idempotent; a kernel without the call (before 5.16) answers EINVAL.
 *
 * The JIT decides its kernels from LLVM's feature string (compiler/jit.c), not from this:
 * this says what the hardware offers, so a report can name what is left unused (AMX has
 * no kernels in this build) or was turned off (--bf16-path fp32, LLMC_JIT_FEATURES).
 *
 * Deliberately not here: non-x86 CPUs (everything reads as absent), XCR0 bits of other
 * state, and any AMX instruction.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall */
#endif
#include "runtime.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static uint64_t xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

void rt_cpu_bf16_detect(RtCpuBf16 *out) {
    memset(out, 0, sizeof *out);
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return; /* no XCR0 to read */
    uint64_t x = xcr0();
    bool os_zmm = (x & 0xe6) == 0xe6, os_tiles = (x & (3u << 17)) == (3u << 17);
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        out->amx_tile = (d >> 24) & 1;
        out->amx_bf16 = (d >> 22) & 1;
        bool avx512f = (b >> 16) & 1;
        if (a >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) out->avx512bf16 = avx512f && os_zmm && ((a >> 5) & 1);
    }
    out->amx_os = out->amx_tile && os_tiles;
    if (out->amx_os) {
        long r = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA);
        out->amx_permitted = r == 0;
        out->amx_errno = r == 0 ? 0 : errno;
    }
}
#else
void rt_cpu_bf16_detect(RtCpuBf16 *out) { memset(out, 0, sizeof *out); }
#endif

void rt_cpu_bf16_amx_text(const RtCpuBf16 *c, char *out, size_t n) {
    if (!c->amx_tile || !c->amx_bf16)
        snprintf(out, n, "not on this CPU");
    else if (!c->amx_os)
        snprintf(out, n, "on this CPU, but the OS does not enable the tile state (XCR0)");
    else if (!c->amx_permitted)
        snprintf(out, n, "on this CPU, but the kernel refused the tile-data permission (%s)", strerror(c->amx_errno));
    else
        snprintf(out, n, "on this CPU and permitted, but unused: this build has no AMX kernels");
}
