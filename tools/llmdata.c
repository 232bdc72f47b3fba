/* tools/llmdata.c — llmdata, token shards from the command line.
 *
 *   llmdata shard TEXT_FILE --out DIR [--shard-tokens N] [--vocab V]
 *                          byte-level tokens (token = byte) into DIR/NAME_00000.shard, ...
 *   llmdata info SHARD...  header fields of each shard, fully validated
 *
 * Exit codes: 0 success, 1 bad input (a file that cannot be read, written or
 * validated), 2 bad usage. The format and its checks live in runtime/shards.c; this file
 * parses arguments, tokenizes and prints.
 *
 * Extending: a new command is one row of `commands` (name, help text, function). A new
 * tokenizer (BPE, issue 7) is one more Encoder: `shard` calls encoder->encode on the
 * whole text and cuts the ids into shards, whatever produced them.
 */
#include "ir.h"
#include "runtime.h"
#include "subcmd.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

#define MAX_SHARDS 100000u /* NAME_%05u keeps name order == shard order */

static const char *const usage_text =
    "usage: llmdata COMMAND [arguments]\n"
    "\n"
    "Token shards: the training data llmrun reads (format: docs/formats.md).\n"
    "  shard TEXT_FILE --out DIR   tokenize a text file into DIR/NAME_00000.shard, ...\n"
    "  info SHARD...               print each shard's header and validate it\n"
    "\n"
    "'llmdata COMMAND --help' describes a command.\n"
    "  -h, --help                  this text\n"
    "  --version                   version\n"
    "\n"
    "exit status: 0 success, 1 bad input, 2 bad usage\n";

static const char *const shard_help =
    "usage: llmdata shard TEXT_FILE --out DIR [--shard-tokens N] [--vocab V]\n"
    "\n"
    "Tokenizes TEXT_FILE byte-level (token = byte value, 0..255) and writes the ids as\n"
    "token shards DIR/NAME_00000.shard, DIR/NAME_00001.shard, ... where NAME is the file's\n"
    "name without directory and extension. DIR is created if needed. Each shard is\n"
    "written atomically. Other *.shard files already in DIR are reported: llmrun reads\n"
    "every *.shard file of its data directory.\n"
    "\n"
    "  --out DIR            output directory (required)\n"
    "  --shard-tokens N     tokens per shard (default 1000000; the last one may be shorter)\n"
    "  --vocab V            vocabulary recorded in the shards (default 256); every byte\n"
    "                       of the text must be < V. It must not exceed the model's vocab.\n"
    "  -h, --help           this text\n";

static const char *const info_help =
    "usage: llmdata info SHARD...\n"
    "\n"
    "Reads each shard whole, validates it (magic, version, checksums, sizes, every id <\n"
    "vocab) and prints its header fields and id range. Exit status 1 if any is invalid;\n"
    "the others are still printed.\n"
    "\n"
    "  -h, --help           this text\n";

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
    return subcmd_usage_error("llmdata", cmd, fmt, arg);
}

/* --- tokenizers ---------------------------------------------------------------------- */

/* Turns text into ids < vocab: *ids is malloc'd [*count]. On failure (the first piece
 * of text it cannot encode, named by offset) *ids is NULL. */
typedef struct Encoder {
    const char *name;
    bool (*encode)(const char *path, const unsigned char *text, size_t len, uint32_t vocab, uint32_t **ids,
                   uint64_t *count, LlmcErr *err);
} Encoder;

static bool encode_bytes(const char *path, const unsigned char *text, size_t len, uint32_t vocab, uint32_t **ids,
                         uint64_t *count, LlmcErr *err) {
    *ids = NULL;
    *count = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] >= vocab) {
            llmc_err_set(err, "%s: byte 0x%02x at offset %zu is >= vocab %" PRIu32 " (byte-level tokens need vocab 256)",
                         path, text[i], i, vocab);
            return false;
        }
    }
    uint32_t *out = llmc_xmalloc((len ? len : 1) * sizeof *out); /* [len]: one id per byte */
    for (size_t i = 0; i < len; i++) out[i] = text[i];
    *ids = out;
    *count = len;
    return true;
}

static const Encoder byte_encoder = {"byte", encode_bytes};

/* --- shard --------------------------------------------------------------------------- */

/* mkdir -p: creates dir and missing parents. */
static bool make_dirs(const char *dir, LlmcErr *err) {
    char *p = llmc_xstrdup(dir);
    bool ok = true;
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c != 0) continue;
        char saved = *c;
        *c = 0;
        struct stat st;
        if (stat(p, &st) != 0) {
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                llmc_err_set(err, "%s: cannot create directory: %s", p, strerror(errno));
                ok = false;
            }
        } else if (!S_ISDIR(st.st_mode)) {
            llmc_err_set(err, "%s: exists and is not a directory", p);
            ok = false;
        }
        *c = saved;
        if (!ok || saved == 0) break;
    }
    free(p);
    return ok;
}

/* "dir/corpus.en.txt" -> "corpus.en"; "shard" when nothing is left. */
static char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
    if (n == 0) return llmc_xstrdup("shard");
    char *s = llmc_xmalloc(n + 1);
    memcpy(s, b, n);
    s[n] = 0;
    return s;
}

/* True when name is NAME_%05u.shard with an index below n_written: one we just wrote. */
static bool written_here(const char *file, const char *name, uint32_t n_written) {
    size_t n = strlen(name);
    if (strncmp(file, name, n) != 0 || file[n] != '_') return false;
    const char *d = file + n + 1;
    for (int i = 0; i < 5; i++)
        if (d[i] < '0' || d[i] > '9') return false;
    if (strcmp(d + 5, ".shard") != 0) return false;
    return (uint32_t)strtoul(d, NULL, 10) < n_written;
}

/* Reports *.shard files of dir other than those just written (stale shards of an earlier
 * run would be read too). Nothing is deleted: they may be wanted. */
static void report_other_shards(const char *dir, const char *name, uint32_t n_written) {
    DIR *dp = opendir(dir);
    if (!dp) return;
    uint32_t others = 0;
    const char *first = NULL;
    char first_buf[256];
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n <= 6 || strcmp(de->d_name + n - 6, ".shard") != 0) continue;
        if (written_here(de->d_name, name, n_written)) continue;
        if (!first) {
            snprintf(first_buf, sizeof first_buf, "%s", de->d_name);
            first = first_buf;
        }
        others++;
    }
    closedir(dp);
    if (others)
        fprintf(stderr,
                "llmdata: note: %s also holds %" PRIu32 " other *.shard file%s (e.g. %s); llmrun reads every *.shard "
                "file of its data directory\n",
                dir, others, others == 1 ? "" : "s", first);
}

typedef struct ShardArgs {
    const char *text, *out;
    uint64_t shard_tokens;
    uint64_t vocab;
} ShardArgs;

static int parse_shard_args(int argc, char **argv, ShardArgs *a) {
    *a = (ShardArgs){.shard_tokens = 1000000, .vocab = 256};
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--out") == 0 || strcmp(w, "--shard-tokens") == 0 || strcmp(w, "--vocab") == 0) {
            if (i + 1 >= argc) return usage_error("shard", "option '%s' needs a value", w);
            const char *v = argv[++i];
            if (strcmp(w, "--out") == 0) {
                if (!*v) return usage_error("shard", "%s", "--out needs a directory");
                a->out = v;
            } else if (strcmp(w, "--shard-tokens") == 0) {
                if (!subcmd_parse_u64(v, 1, (uint64_t)1 << 40, &a->shard_tokens))
                    return usage_error("shard", "--shard-tokens needs an integer in [1, 2^40], got '%s'", v);
            } else if (!subcmd_parse_u64(v, 1, UINT32_MAX, &a->vocab)) {
                return usage_error("shard", "--vocab needs an integer in [1, 2^32), got '%s'", v);
            }
        } else if (w[0] == '-' && w[1] != 0) {
            return usage_error("shard", "unknown option '%s'", w);
        } else if (!a->text) {
            a->text = w;
        } else {
            return usage_error("shard", "unexpected argument '%s'", w);
        }
    }
    if (!a->text) return usage_error("shard", "%s", "missing TEXT_FILE");
    if (!a->out) return usage_error("shard", "%s", "missing --out DIR");
    return EXIT_OK;
}

static int cmd_shard(int argc, char **argv) {
    ShardArgs a;
    int st = parse_shard_args(argc, argv, &a);
    if (st != EXIT_OK) return st;
    const Encoder *enc = &byte_encoder;
    LlmcErr err = {0};
    char *text;
    size_t len;
    if (!llmc_file_read(a.text, &text, &len, &err)) {
        fprintf(stderr, "llmdata: %s\n", err.msg);
        return EXIT_BAD_INPUT;
    }
    if (len == 0) {
        fprintf(stderr, "llmdata: %s: empty file, no tokens to write\n", a.text);
        free(text);
        return EXIT_BAD_INPUT;
    }
    uint32_t *ids; /* [n_ids] */
    uint64_t n_ids;
    bool ok = enc->encode(a.text, (const unsigned char *)text, len, (uint32_t)a.vocab, &ids, &n_ids, &err);
    free(text);
    uint64_t n_shards = ok ? (n_ids + a.shard_tokens - 1) / a.shard_tokens : 0;
    if (ok && n_shards > MAX_SHARDS) {
        llmc_err_set(&err, "%s: %" PRIu64 " tokens make %" PRIu64 " shards of %" PRIu64 " (at most %u): raise --shard-tokens",
                     a.text, n_ids, n_shards, a.shard_tokens, MAX_SHARDS);
        ok = false;
    }
    if (ok) ok = make_dirs(a.out, &err);
    char *name = base_name(a.text);
    uint32_t written = 0;
    for (uint64_t s = 0; ok && s < n_shards; s++) {
        uint64_t begin = s * a.shard_tokens, count = n_ids - begin < a.shard_tokens ? n_ids - begin : a.shard_tokens;
        LlmcBuf path = {0};
        llmc_buf_printf(&path, "%s%s%s_%05u.shard", a.out, a.out[strlen(a.out) - 1] == '/' ? "" : "/", name,
                        (unsigned)s);
        ok = rt_shard_write(path.data, ids + begin, count, (uint32_t)a.vocab, &err);
        if (ok) {
            printf("wrote %s: %" PRIu64 " tokens (%s ids, vocab %" PRIu64 ")\n", path.data, count,
                   a.vocab <= 65536 ? "u16" : "u32", a.vocab);
            written++;
        }
        llmc_buf_free(&path);
    }
    if (ok) {
        printf("%" PRIu64 " tokens (%s-level) in %" PRIu32 " shard%s in %s\n", n_ids, enc->name, written,
               written == 1 ? "" : "s", a.out);
        report_other_shards(a.out, name, written);
    } else {
        fprintf(stderr, "llmdata: %s\n", err.msg);
    }
    free(name);
    free(ids);
    return ok ? EXIT_OK : EXIT_BAD_INPUT;
}

/* --- info ---------------------------------------------------------------------------- */

static bool info_one(const char *path) {
    LlmcErr err = {0};
    char *bytes;
    size_t len;
    RtShardHeader h;
    uint32_t *ids = NULL;
    bool ok = llmc_file_read(path, &bytes, &len, &err);
    if (ok) {
        ok = rt_shard_parse(bytes, len, path, &h, &ids, &err);
        free(bytes);
    }
    if (!ok) {
        fprintf(stderr, "llmdata: %s\n", err.msg);
        return false;
    }
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint64_t i = 0; i < h.count; i++) {
        if (ids[i] < lo) lo = ids[i];
        if (ids[i] > hi) hi = ids[i];
    }
    free(ids);
    printf("%s: ok\n", path);
    printf("  version          %" PRIu32 "\n", h.version);
    printf("  id bytes         %" PRIu32 " (%s)\n", h.id_bytes, h.id_bytes == 2 ? "u16" : "u32");
    printf("  vocab            %" PRIu32 "\n", h.vocab);
    printf("  count            %" PRIu64 "\n", h.count);
    if (h.count) printf("  ids              %" PRIu32 "..%" PRIu32 "\n", lo, hi);
    else printf("  ids              none\n");
    printf("  checksum         %016" PRIx64 "\n", h.checksum);
    printf("  header checksum  %016" PRIx64 "\n", h.header_checksum);
    return true;
}

static int cmd_info(int argc, char **argv) {
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != 0) return usage_error("info", "unknown option '%s'", argv[i]);
        n++;
    }
    if (n == 0) return usage_error("info", "%s", "missing SHARD");
    bool ok = true;
    for (int i = 0; i < argc; i++) ok &= info_one(argv[i]);
    return ok ? EXIT_OK : EXIT_BAD_INPUT;
}

/* --- main ---------------------------------------------------------------------------- */

static const SubCommand commands[] = {
    {"shard", shard_help, cmd_shard},
    {"info", info_help, cmd_info},
};

int main(int argc, char **argv) {
    return subcmd_main("llmdata", usage_text, commands, sizeof commands / sizeof commands[0], argc, argv);
}
