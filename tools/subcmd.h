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

#endif /* LLMC_SUBCMD_H */
