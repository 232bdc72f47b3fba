/* tools/subcmd.h — what the tools with subcommands (llmdata, llmtok, llmsweep) share: the
 * dispatch of `TOOL COMMAND ARGS...` with --help / --version, the usage-error format,
 * number parsing, and where the running tool lives (llmbench too). Not a library header:
 * only tools include it (tools/subcmd.c).
 */
#ifndef LLMC_SUBCMD_H
#define LLMC_SUBCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SubCommand {
    const char *name;
    const char *help;                  /* printed for `TOOL NAME --help` */
    int (*run)(int argc, char **argv); /* the arguments after the command name */
} SubCommand;

/* main() of a tool: usage on no command (exit 2) or -h/--help (exit 0), --version, an
 * unknown command or option as a usage error listing the commands, a command's help
 * when its arguments hold -h/--help; then its run(). Output that could not be written
 * to stdout is reported and fails the run (exit 1): lost output is lost work. */
int subcmd_main(const char *tool, const char *usage, const SubCommand *cmds, size_t n, int argc, char **argv);

/* "TOOL: [CMD: ]<fmt % arg>" and "Try 'TOOL [CMD ]--help'." on stderr; returns 2. */
int subcmd_usage_error(const char *tool, const char *cmd, const char *fmt, const char *arg);

/* The directory of the running executable (/proc/self/exe; "." when unknown), malloc'd:
 * where the tools that run other tools (llmbench, llmsweep) find them, built together. */
char *subcmd_exe_dir(void);

/* The whole of s as a decimal integer in [lo, hi] (no sign); false otherwise. */
bool subcmd_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* --bf16-path auto|avx512bf16|fp32 (tools/bf16_path.c, linked by llmrun and llmbench):
 * applied to LLMC_JIT_FEATURES before any JIT is made. false + a message in
 * err for a bad value or a path this CPU lacks. */
bool subcmd_bf16_path(const char *value, char *err, size_t n);
/* After the JIT is made (jit_dot: cc_jit_has_avx512bf16): false + a message when the last
 * --bf16-path asked for avx512bf16 and the JIT's features still lack it. */
bool subcmd_bf16_path_check(bool jit_dot, char *err, size_t n);
/* The path's name for reports ("avx512bf16 (vdpbf16ps, f32 sums)" or "fp32 (...)"), and
 * that name with what the CPU says about AMX (rt_cpu_bf16_amx_text). */
const char *subcmd_bf16_path_name(bool jit_dot);
void subcmd_bf16_path_text(bool jit_dot, char *out, size_t n);

#endif /* LLMC_SUBCMD_H */
