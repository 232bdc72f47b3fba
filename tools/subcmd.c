/* tools/subcmd.c — the subcommand dispatch and argument helpers of tools/subcmd.h. */
#include "subcmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

int subcmd_usage_error(const char *tool, const char *cmd, const char *fmt, const char *arg) {
    fprintf(stderr, "%s: ", tool);
    if (cmd) fprintf(stderr, "%s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry '%s %s%s--help'.\n", tool, cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

bool subcmd_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool wants_help(int argc, char **argv) {
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
    return false;
}

int subcmd_main(const char *tool, const char *usage, const SubCommand *cmds, size_t n, int argc, char **argv) {
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("%s (llmc) 0.1.0\n", tool);
        return EXIT_OK;
    }
    const SubCommand *c = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(cmd, cmds[i].name) == 0) c = &cmds[i];
    if (!c) {
        if (cmd[0] == '-') return subcmd_usage_error(tool, NULL, "unknown option '%s'", cmd);
        char names[256] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", cmds[i].name);
        fprintf(stderr, "%s: unknown command '%s' (%s)\nTry '%s --help'.\n", tool, cmd, names, tool);
        return EXIT_USAGE;
    }
    int status;
    if (wants_help(argc - 2, argv + 2)) {
        fputs(c->help, stdout);
        status = EXIT_OK;
    } else {
        status = c->run(argc - 2, argv + 2);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: error writing standard output: %s\n", tool, strerror(errno));
        return EXIT_BAD_INPUT;
    }
    return status;
}

char *subcmd_exe_dir(void) {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) buf[0] = '.', n = 1;
    buf[n] = 0;
    char *slash = n > 1 ? strrchr(buf, '/') : NULL;
    if (slash) *slash = 0;
    char *dir = malloc(strlen(buf) + 1);
    if (!dir) abort();
    return strcpy(dir, buf);
}
