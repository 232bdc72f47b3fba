/* tools/bf16_path.c — the --bf16-path option of llmrun and llmbench (subcmd.h):
 * which instruction multiplies the operands of bf16 matmuls.
 *
 *   auto        the JIT's own choice from the host's features: vdpbf16ps where the CPU
 *               has avx512bf16, else bf16 widened to f32 and the f32 FMA kernels
 *   avx512bf16  vdpbf16ps; refused on a CPU without it (cpuid, runtime/cpu.c)
 *   fp32        the widened-f32 path even where vdpbf16ps exists: what a CPU without it
 *               runs, tested on this one
 *
 * It works by editing LLMC_JIT_FEATURES (compiler.h: cc_jit_new_for), before any JIT is
 * made: "-avx512bf16" for fp32. Every JIT of the process, every rank of an mpirun job
 * (each parses the same arguments) and the kernel cache's key (which holds the feature
 * string) follow, so a kernel built for one path is never used for another.
 */
#include "runtime.h"
#include "subcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool subcmd_bf16_path(const char *value, char *err, size_t n) {
    if (strcmp(value, "auto") == 0) return true;
    if (strcmp(value, "avx512bf16") == 0) {
        RtCpuBf16 c;
        rt_cpu_bf16(&c);
        if (!c.avx512bf16) {
            snprintf(err, n, "--bf16-path avx512bf16: this CPU has no avx512bf16 (vdpbf16ps)");
            return false;
        }
        return true;
    }
    if (strcmp(value, "fp32") != 0) {
        snprintf(err, n, "--bf16-path needs auto, avx512bf16 or fp32, got '%s'", value);
        return false;
    }
    const char *old = getenv("LLMC_JIT_FEATURES");
    size_t len = (old ? strlen(old) : 0) + 16;
    char *edit = malloc(len);
    if (!edit) {
        snprintf(err, n, "--bf16-path: out of memory");
        return false;
    }
    snprintf(edit, len, "%s%s-avx512bf16", old && *old ? old : "", old && *old ? "," : "");
    bool ok = setenv("LLMC_JIT_FEATURES", edit, 1) == 0;
    free(edit);
    if (!ok) snprintf(err, n, "--bf16-path: cannot set LLMC_JIT_FEATURES");
    return ok;
}
