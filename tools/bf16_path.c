/* tools/bf16_path.c — the --bf16-path option of llmrun and llmbench (subcmd.h):
 * which instruction multiplies the operands of bf16 matmuls.
 *
 *   auto        the JIT's own choice from the host's features: vdpbf16ps where the CPU
 *               has avx512bf16, else bf16 widened to f32 and the f32 FMA kernels
 *   avx512bf16  vdpbf16ps; refused on a CPU without it (cpuid, runtime/cpu.c), and by the
 *               tool when the JIT still lacks it (another LLMC_JIT_FEATURES entry such
 *               as -avx512f turns it off: subcmd_bf16_path_check on the JIT made)
 *   fp32        the widened-f32 path even where vdpbf16ps exists: what a CPU without it
 *               runs, tested on this one
 *
 * It works by editing LLMC_JIT_FEATURES (compiler.h: cc_jit_new_for), before any JIT is
 * made: "-avx512bf16" for fp32, no avx512bf16 entry for avx512bf16, the variable as it was
 * for auto; the last --bf16-path wins. Every JIT of the process, every rank of an mpirun job
 * (each parses the same arguments) and the kernel cache's key (which holds the feature
 * string) follow, so a kernel built for one path is never used for another.
 */
#include "runtime.h"
#include "subcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* LLMC_JIT_FEATURES as it was before the first --bf16-path, and that text without its
 * avx512bf16 entries: each --bf16-path starts again from it, so the last one wins. */
static char *env_before, *env_stripped;
static bool wanted_dot; /* the last --bf16-path was avx512bf16 */

static void remember_env(void) {
    if (env_before) return;
    const char *old = getenv("LLMC_JIT_FEATURES");
    env_before = llmc_xstrdup(old ? old : "");
    LlmcBuf b = {0};
    for (const char *p = env_before; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        bool bf16 = len == 11 && (p[0] == '+' || p[0] == '-') && strncmp(p + 1, "avx512bf16", 10) == 0;
        if (!bf16 && len) llmc_buf_printf(&b, "%s%.*s", b.len ? "," : "", (int)len, p);
        p = end ? end + 1 : p + len;
    }
    env_stripped = llmc_xstrdup(b.data ? b.data : "");
    llmc_buf_free(&b);
}

bool subcmd_bf16_path(const char *value, char *err, size_t n) {
    bool fp32 = strcmp(value, "fp32") == 0, dot = strcmp(value, "avx512bf16") == 0;
    if (!fp32 && !dot && strcmp(value, "auto") != 0) {
        snprintf(err, n, "--bf16-path needs auto, avx512bf16 or fp32, got '%s'", value);
        return false;
    }
    if (dot) {
        RtCpuBf16 c;
        rt_cpu_bf16_detect(&c);
        if (!c.avx512bf16) {
            snprintf(err, n, "--bf16-path avx512bf16: this CPU has no avx512bf16 (vdpbf16ps)");
            return false;
        }
    }
    wanted_dot = dot;
    remember_env();
    /* auto: the environment as it was; avx512bf16: without its avx512bf16 entries (the
     * host's feature then stands); fp32: that plus -avx512bf16 */
    LlmcBuf edit = {0};
    if (!fp32 && !dot) llmc_buf_printf(&edit, "%s", env_before);
    else llmc_buf_printf(&edit, "%s%s%s", env_stripped, *env_stripped && fp32 ? "," : "", fp32 ? "-avx512bf16" : "");
    bool ok = setenv("LLMC_JIT_FEATURES", edit.data ? edit.data : "", 1) == 0;
    llmc_buf_free(&edit);
    if (!ok) snprintf(err, n, "--bf16-path: cannot set LLMC_JIT_FEATURES");
    return ok;
}

bool subcmd_bf16_path_check(bool jit_dot, char *err, size_t n) {
    if (!wanted_dot || jit_dot) return true;
    const char *features = getenv("LLMC_JIT_FEATURES");
    snprintf(err, n,
             "--bf16-path avx512bf16: the JIT's features lack avx512bf16 with avx512bw and avx512f "
             "(LLMC_JIT_FEATURES=%s, or ranks whose CPUs lack it)",
             features ? features : "");
    return false;
}

const char *subcmd_bf16_path_name(bool jit_dot) {
    return jit_dot ? "avx512bf16 (vdpbf16ps, f32 sums)" : "fp32 (bf16 widened to f32, f32 FMA kernels)";
}

void subcmd_bf16_path_text(bool jit_dot, char *out, size_t n) {
    RtCpuBf16 cpu;
    rt_cpu_bf16_detect(&cpu);
    char amx[160];
    rt_cpu_bf16_amx_text(&cpu, amx, sizeof amx);
    snprintf(out, n, "%s; AMX: %s", subcmd_bf16_path_name(jit_dot), amx);
}
