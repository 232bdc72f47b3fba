/* tools/llmtok.c — llmtok, the BPE tokenizer from the command line.
 *
 *   llmtok train CORPUS... --vocab N -o TOK        learn merges, write a *.tok file
 *   llmtok encode --tok TOK CORPUS... -o DIR       token shards, <|endoftext|> between docs
 *   llmtok decode --tok TOK (SHARD... | --ids 1,2,3)   ids back to text on stdout
 *   llmtok import-gpt2 encoder.json vocab.bpe -o TOK   GPT-2's files into a *.tok file
 *
 * A CORPUS is a file or a directory (its regular files in name order, skipping dot-files,
 * *.dat and *.u8: the fortune package's index files). A file with a line holding only
 * `%` is a fortune file: its documents are the texts between such lines; any other file
 * is one document.
 *
 * Exit codes: 0 success, 1 bad input (a file that cannot be read, written or
 * validated), 2 bad usage. The tokenizer lives in runtime/bpe.c, shards in
 * runtime/shards.c; this file parses arguments, reads corpora and prints.
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
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

#define MAX_SHARDS 100000u

static const char *const usage_text =
    "usage: llmtok COMMAND [arguments]\n"
    "\n"
    "The byte-level BPE tokenizer (format: docs/formats.md, \"BPE tokenizer\").\n"
    "  train CORPUS... --vocab N -o TOK         learn a tokenizer from text\n"
    "  encode --tok TOK CORPUS... -o DIR        text into token shards\n"
    "  decode --tok TOK SHARD... | --ids LIST   token ids back into text\n"
    "  import-gpt2 ENCODER_JSON VOCAB_BPE -o TOK  convert GPT-2's tokenizer files\n"
    "\n"
    "A CORPUS is a text file or a directory of them (regular files in name order; dot-files,\n"
    "*.dat and *.u8 skipped). In a file with lines holding only '%' (fortune files) each text\n"
    "between such lines is a document; any other file is one document.\n"
    "\n"
    "'llmtok COMMAND --help' describes a command.\n"
    "  -h, --help      this text\n"
    "  --version       version\n"
    "\n"
    "exit status: 0 success, 1 bad input, 2 bad usage\n";

static const char *const train_help =
    "usage: llmtok train CORPUS... --vocab N -o TOK\n"
    "\n"
    "Learns byte-level BPE merges (most frequent pair first, ties to the smaller pair) from\n"
    "the corpora and writes the tokenizer to TOK atomically. The vocabulary is 256 bytes +\n"
    "merges + the special token <|endoftext|>; it is smaller than N when no pair occurs\n"
    "twice any more. Progress goes to stderr.\n"
    "\n"
    "  --vocab N       vocabulary size, 257..16777473 (required)\n"
    "  -o, --out TOK   output file (required)\n"
    "  -h, --help      this text\n";

static const char *const encode_help =
    "usage: llmtok encode --tok TOK CORPUS... -o DIR [--shard-tokens N]\n"
    "\n"
    "Encodes the corpora's documents, with <|endoftext|> between consecutive documents,\n"
    "into token shards DIR/NAME_00000.shard, ... (NAME: the first corpus's name without\n"
    "extension; vocab: the tokenizer's). DIR is created if needed.\n"
    "\n"
    "  --tok TOK          the tokenizer (required)\n"
    "  -o, --out DIR      output directory (required)\n"
    "  --shard-tokens N   tokens per shard (default 1000000; the last may be shorter)\n"
    "  -h, --help         this text\n";

static const char *const decode_help =
    "usage: llmtok decode --tok TOK SHARD...\n"
    "       llmtok decode --tok TOK --ids 1,2,3\n"
    "\n"
    "Writes the bytes of the tokens to standard output (special tokens as their text).\n"
    "\n"
    "  --tok TOK       the tokenizer (required)\n"
    "  --ids LIST      comma-separated ids instead of shards\n"
    "  -h, --help      this text\n";

static const char *const import_help =
    "usage: llmtok import-gpt2 ENCODER_JSON VOCAB_BPE -o TOK\n"
    "\n"
    "Reads GPT-2 / tiktoken-style files (encoder.json: token string -> id, with bytes\n"
    "written through GPT-2's bytes_to_unicode table; vocab.bpe: one merge 'A B' a line\n"
    "after a '#version' line) and writes them as an llmc tokenizer with the same ids.\n"
    "\n"
    "  -o, --out TOK   output file (required)\n"
    "  -h, --help      this text\n";

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
    return subcmd_usage_error("llmtok", cmd, fmt, arg);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --- arguments ----------------------------------------------------------------------- */

/* The options every command may take; each command checks which it needs. */
typedef struct Args {
    const char **pos; /* positional arguments */
    int n_pos;
    const char *out, *tok, *ids;
    uint64_t vocab, shard_tokens;
    bool has_vocab;
} Args;

/* allowed: the options this command takes, e.g. "vocab out". */
static int parse_args(const char *cmd, const char *allowed, int argc, char **argv, Args *a) {
    *a = (Args){.pos = llmc_xcalloc((size_t)argc + 1, sizeof(char *)), .shard_tokens = 1000000};
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        const char *opt = NULL;
        if (strcmp(w, "-o") == 0 || strcmp(w, "--out") == 0) opt = "out";
        else if (strcmp(w, "--tok") == 0) opt = "tok";
        else if (strcmp(w, "--vocab") == 0) opt = "vocab";
        else if (strcmp(w, "--shard-tokens") == 0) opt = "shard-tokens";
        else if (strcmp(w, "--ids") == 0) opt = "ids";
        else if (w[0] == '-' && w[1] != 0) return usage_error(cmd, "unknown option '%s'", w);
        if (!opt) {
            a->pos[a->n_pos++] = w;
            continue;
        }
        if (!strstr(allowed, opt)) return usage_error(cmd, "unknown option '%s'", w);
        if (i + 1 >= argc) return usage_error(cmd, "option '%s' needs a value", w);
        const char *v = argv[++i];
        if (strcmp(opt, "out") == 0) {
            if (!*v) return usage_error(cmd, "%s", "-o needs a path");
            a->out = v;
        } else if (strcmp(opt, "tok") == 0) {
            a->tok = v;
        } else if (strcmp(opt, "ids") == 0) {
            a->ids = v;
        } else if (strcmp(opt, "vocab") == 0) {
            if (!subcmd_parse_u64(v, 257, 256 + RT_BPE_MAX_MERGES + 1, &a->vocab))
                return usage_error(cmd, "--vocab needs an integer in [257, 16777473], got '%s'", v);
            a->has_vocab = true;
        } else if (!subcmd_parse_u64(v, 1, (uint64_t)1 << 40, &a->shard_tokens)) {
            return usage_error(cmd, "--shard-tokens needs an integer in [1, 2^40], got '%s'", v);
        }
    }
    return EXIT_OK;
}

/* --- corpora ------------------------------------------------------------------------- */

typedef struct Corpus {
    RtBpeText *docs; /* [n_docs]: into texts */
    size_t n_docs, cap_docs;
    char **texts; /* [n_files] file contents */
    size_t n_files;
    uint64_t bytes;
} Corpus;

static void corpus_free(Corpus *c) {
    for (size_t i = 0; i < c->n_files; i++) free(c->texts[i]);
    free(c->texts);
    free(c->docs);
    *c = (Corpus){0};
}

static void corpus_add_doc(Corpus *c, const char *p, size_t n) {
    if (n == 0) return;
    if (c->n_docs == c->cap_docs) {
        c->cap_docs = c->cap_docs ? c->cap_docs * 2 : 1024;
        c->docs = llmc_xrealloc(c->docs, c->cap_docs * sizeof *c->docs);
    }
    c->docs[c->n_docs++] = (RtBpeText){p, n};
}

/* Whether line [p, p+n) holds only '%' (a trailing '\r' allowed). */
static bool is_sep(const char *p, size_t n) { return (n == 1 && p[0] == '%') || (n == 2 && p[0] == '%' && p[1] == '\r'); }

/* Splits a file into documents: fortune files at their '%' lines, others whole. */
static void corpus_split(Corpus *c, const char *text, size_t len) {
    bool fortune = false;
    for (size_t pos = 0; pos < len && !fortune;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        fortune = is_sep(text + pos, n);
        pos += n + 1;
    }
    if (!fortune) {
        corpus_add_doc(c, text, len);
        return;
    }
    size_t start = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (is_sep(text + pos, n)) {
            corpus_add_doc(c, text + start, pos - start);
            start = pos + n + 1 < len ? pos + n + 1 : len;
        }
        pos += n + 1;
    }
    if (start < len) corpus_add_doc(c, text + start, len - start);
}

static bool corpus_add_file(Corpus *c, const char *path, LlmcErr *err) {
    char *text;
    size_t len;
    if (!llmc_file_read(path, &text, &len, err)) return false;
    c->texts = llmc_xrealloc(c->texts, (c->n_files + 1) * sizeof *c->texts);
    c->texts[c->n_files++] = text;
    c->bytes += len;
    corpus_split(c, text, len);
    return true;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool skipped_name(const char *name) {
    size_t n = strlen(name);
    return name[0] == '.' || (n >= 4 && strcmp(name + n - 4, ".dat") == 0) || (n >= 3 && strcmp(name + n - 3, ".u8") == 0);
}

static bool corpus_add(Corpus *c, const char *path, LlmcErr *err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        llmc_err_set(err, "%s: %s", path, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) return corpus_add_file(c, path, err);
    DIR *dp = opendir(path);
    if (!dp) {
        llmc_err_set(err, "%s: cannot open directory: %s", path, strerror(errno));
        return false;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (skipped_name(de->d_name)) continue;
        LlmcBuf full = {0};
        llmc_buf_printf(&full, "%s/%s", path, de->d_name);
        struct stat fs;
        if (stat(full.data, &fs) == 0 && S_ISREG(fs.st_mode)) {
            names = llmc_xrealloc(names, (n + 1) * sizeof *names);
            names[n++] = full.data;
        } else {
            llmc_buf_free(&full);
        }
    }
    closedir(dp);
    qsort(names, n, sizeof *names, cmp_str);
    bool ok = true;
    if (n == 0) {
        llmc_err_set(err, "%s: no text files in the directory", path);
        ok = false;
    }
    for (size_t i = 0; i < n; i++) {
        if (ok) ok = corpus_add_file(c, names[i], err);
        free(names[i]);
    }
    free(names);
    return ok;
}

static bool corpus_load(Corpus *c, const char *const *paths, int n, LlmcErr *err) {
    *c = (Corpus){0};
    for (int i = 0; i < n; i++)
        if (!corpus_add(c, paths[i], err)) return false;
    return true;
}

/* --- train --------------------------------------------------------------------------- */

/* One line redrawn on a terminal; otherwise a line every 1024 merges and at the end. */
static void train_progress(void *ctx, uint32_t done, uint32_t wanted) {
    bool tty = *(const bool *)ctx;
    if (tty) {
        fprintf(stderr, "\rllmtok: merges %" PRIu32 " / %" PRIu32 "%s", done, wanted, done == wanted ? "\n" : "");
    } else if (done % 1024 == 0 || done == wanted) {
        fprintf(stderr, "llmtok: merges %" PRIu32 " / %" PRIu32 "\n", done, wanted);
    }
    fflush(stderr);
}

static int cmd_train(int argc, char **argv) {
    Args a;
    int st = parse_args("train", "vocab out", argc, argv, &a);
    if (st == EXIT_OK && a.n_pos == 0) st = usage_error("train", "%s", "missing CORPUS");
    if (st == EXIT_OK && !a.has_vocab) st = usage_error("train", "%s", "missing --vocab N");
    if (st == EXIT_OK && !a.out) st = usage_error("train", "%s", "missing -o TOK");
    if (st != EXIT_OK) {
        free(a.pos);
        return st;
    }
    LlmcErr err = {0};
    Corpus c;
    bool ok = corpus_load(&c, a.pos, a.n_pos, &err);
    RtBpe *t = NULL;
    if (ok) {
        printf("corpus: %zu documents, %.2f MB in %zu files\n", c.n_docs, (double)c.bytes / 1e6, c.n_files);
        fflush(stdout);
        double t0 = now_s();
        bool tty = isatty(2);
        t = rt_bpe_train(c.docs, c.n_docs, (uint32_t)a.vocab, train_progress, &tty, &err);
        double dt = now_s() - t0;
        ok = t != NULL;
        if (ok) {
            if (tty && rt_bpe_vocab(t) < a.vocab) fputc('\n', stderr);
            printf("trained vocab %" PRIu32 " (%" PRIu32 " merges + 256 bytes + %" PRIu32 " special) in %.2f s\n",
                   rt_bpe_vocab(t), rt_bpe_n_merges(t), rt_bpe_n_specials(t), dt);
            if (rt_bpe_vocab(t) < a.vocab)
                printf("note: no pair occurs twice any more: vocab %" PRIu32 " instead of %" PRIu64 "\n", rt_bpe_vocab(t),
                       a.vocab);
            ok = rt_bpe_write(a.out, t, &err);
            if (ok) printf("wrote %s\n", a.out);
        }
    }
    if (!ok) fprintf(stderr, "llmtok: %s\n", err.msg);
    rt_bpe_free(t);
    corpus_free(&c);
    free(a.pos);
    return ok ? EXIT_OK : EXIT_BAD_INPUT;
}

/* --- encode -------------------------------------------------------------------------- */

/* mkdir -p */
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

/* "dir/corpus.en.txt" -> "corpus.en", "dir/fortunes/" -> "fortunes"; "tokens" if empty. */
static char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *b = path;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '/') b = path + i + 1;
    size_t m = (size_t)(path + n - b);
    const char *dot = memchr(b, '.', m) ? strrchr(b, '.') : NULL;
    if (dot && dot > b && dot < b + m) m = (size_t)(dot - b);
    if (m == 0 || (m == 1 && b[0] == '.')) return llmc_xstrdup("tokens");
    char *s = llmc_xmalloc(m + 1);
    memcpy(s, b, m);
    s[m] = 0;
    return s;
}

static int cmd_encode(int argc, char **argv) {
    Args a;
    int st = parse_args("encode", "tok out shard-tokens", argc, argv, &a);
    if (st == EXIT_OK && !a.tok) st = usage_error("encode", "%s", "missing --tok TOK");
    if (st == EXIT_OK && a.n_pos == 0) st = usage_error("encode", "%s", "missing CORPUS");
    if (st == EXIT_OK && !a.out) st = usage_error("encode", "%s", "missing -o DIR");
    if (st != EXIT_OK) {
        free(a.pos);
        return st;
    }
    LlmcErr err = {0};
    Corpus c = {0};
    RtBpeIds ids = {0};
    RtBpe *t = rt_bpe_read(a.tok, &err);
    bool ok = t && corpus_load(&c, a.pos, a.n_pos, &err);
    int64_t eot = t ? rt_bpe_special(t, RT_BPE_EOT) : -1;
    if (ok && eot < 0) {
        llmc_err_set(&err, "%s: the tokenizer has no %s token to separate documents", a.tok, RT_BPE_EOT);
        ok = false;
    }
    if (ok && c.n_docs == 0) {
        llmc_err_set(&err, "%s: no text to encode", a.pos[0]);
        ok = false;
    }
    if (ok) {
        double t0 = now_s();
        for (size_t d = 0; d < c.n_docs; d++) {
            if (d > 0) {
                uint32_t e = (uint32_t)eot;
                if (ids.count == ids.cap) {
                    ids.cap = ids.cap ? ids.cap * 2 : 1024;
                    ids.ids = llmc_xrealloc(ids.ids, ids.cap * sizeof *ids.ids);
                }
                ids.ids[ids.count++] = e;
            }
            rt_bpe_encode(t, c.docs[d].data, c.docs[d].len, &ids);
        }
        double dt = now_s() - t0;
        printf("%zu documents, %.2f MB -> %zu tokens (%.2f bytes/token) in %.2f s: %.1f MB/s\n", c.n_docs,
               (double)c.bytes / 1e6, ids.count, ids.count ? (double)c.bytes / (double)ids.count : 0.0, dt,
               dt > 0 ? (double)c.bytes / 1e6 / dt : 0.0);
        uint64_t n_shards = (ids.count + a.shard_tokens - 1) / a.shard_tokens;
        if (n_shards > MAX_SHARDS) {
            llmc_err_set(&err, "%zu tokens make %" PRIu64 " shards (at most %u): raise --shard-tokens", ids.count,
                         n_shards, MAX_SHARDS);
            ok = false;
        }
        if (ok) ok = make_dirs(a.out, &err);
        char *name = base_name(a.pos[0]);
        for (uint64_t s = 0; ok && s < n_shards; s++) {
            uint64_t begin = s * a.shard_tokens;
            uint64_t count = ids.count - begin < a.shard_tokens ? ids.count - begin : a.shard_tokens;
            LlmcBuf path = {0};
            llmc_buf_printf(&path, "%s%s%s_%05u.shard", a.out, a.out[strlen(a.out) - 1] == '/' ? "" : "/", name,
                            (unsigned)s);
            ok = rt_shard_write(path.data, ids.ids + begin, count, rt_bpe_vocab(t), &err);
            if (ok) printf("wrote %s: %" PRIu64 " tokens (vocab %" PRIu32 ")\n", path.data, count, rt_bpe_vocab(t));
            llmc_buf_free(&path);
        }
        free(name);
    }
    if (!ok) fprintf(stderr, "llmtok: %s\n", err.msg);
    free(ids.ids);
    rt_bpe_free(t);
    corpus_free(&c);
    free(a.pos);
    return ok ? EXIT_OK : EXIT_BAD_INPUT;
}

/* --- decode -------------------------------------------------------------------------- */

static bool parse_id_list(const char *s, RtBpeIds *out) {
    for (;;) {
        char *end;
        if (*s < '0' || *s > '9') return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || v > UINT32_MAX) return false;
        uint32_t id = (uint32_t)v;
        if (out->count == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 64;
            out->ids = llmc_xrealloc(out->ids, out->cap * sizeof *out->ids);
        }
        out->ids[out->count++] = id;
        if (*end == 0) return true;
        if (*end != ',') return false;
        s = end + 1;
    }
}

static bool decode_out(const RtBpe *t, const char *what, const uint32_t *ids, size_t n) {
    LlmcBuf text = {0};
    LlmcErr err = {0};
    bool ok = rt_bpe_decode(t, ids, n, &text, &err);
    if (text.len) fwrite(text.data, 1, text.len, stdout);
    if (!ok) fprintf(stderr, "llmtok: %s: %s\n", what, err.msg);
    llmc_buf_free(&text);
    return ok;
}

static int cmd_decode(int argc, char **argv) {
    Args a;
    int st = parse_args("decode", "tok ids", argc, argv, &a);
    if (st == EXIT_OK && !a.tok) st = usage_error("decode", "%s", "missing --tok TOK");
    if (st == EXIT_OK && !a.ids && a.n_pos == 0) st = usage_error("decode", "%s", "missing SHARD or --ids LIST");
    if (st == EXIT_OK && a.ids && a.n_pos) st = usage_error("decode", "%s", "give shards or --ids, not both");
    RtBpeIds list = {0};
    if (st == EXIT_OK && a.ids && !parse_id_list(a.ids, &list))
        st = usage_error("decode", "--ids needs comma-separated integers, got '%s'", a.ids);
    if (st != EXIT_OK) {
        free(list.ids);
        free(a.pos);
        return st;
    }
    LlmcErr err = {0};
    RtBpe *t = rt_bpe_read(a.tok, &err);
    bool ok = t != NULL;
    if (!ok) fprintf(stderr, "llmtok: %s\n", err.msg);
    if (ok && a.ids) ok = decode_out(t, "--ids", list.ids, list.count);
    for (int i = 0; ok && i < a.n_pos; i++) {
        uint32_t *ids, vocab;
        uint64_t count;
        if (!rt_shard_read(a.pos[i], &ids, &count, &vocab, &err)) {
            fprintf(stderr, "llmtok: %s\n", err.msg);
            ok = false;
            break;
        }
        if (vocab > rt_bpe_vocab(t)) {
            fprintf(stderr, "llmtok: %s: shard vocab %" PRIu32 " is larger than the tokenizer's (%" PRIu32 ")\n",
                    a.pos[i], vocab, rt_bpe_vocab(t));
            ok = false;
        } else {
            ok = decode_out(t, a.pos[i], ids, count);
        }
        free(ids);
    }
    free(list.ids);
    rt_bpe_free(t);
    free(a.pos);
    return ok ? EXIT_OK : EXIT_BAD_INPUT;
}

/* --- import-gpt2 --------------------------------------------------------------------- */

static int cmd_import(int argc, char **argv) {
    Args a;
    int st = parse_args("import-gpt2", "out", argc, argv, &a);
    if (st == EXIT_OK && a.n_pos != 2) st = usage_error("import-gpt2", "%s", "expected ENCODER_JSON and VOCAB_BPE");
    if (st == EXIT_OK && !a.out) st = usage_error("import-gpt2", "%s", "missing -o TOK");
    if (st != EXIT_OK) {
        free(a.pos);
        return st;
    }
    LlmcErr err = {0};
    RtBpe *t = rt_bpe_import_gpt2(a.pos[0], a.pos[1], &err);
    bool ok = t && rt_bpe_write(a.out, t, &err);
    if (ok)
        printf("wrote %s: vocab %" PRIu32 " (%" PRIu32 " merges, %" PRIu32 " special)\n", a.out, rt_bpe_vocab(t),
               rt_bpe_n_merges(t), rt_bpe_n_specials(t));
    else
        fprintf(stderr, "llmtok: %s\n", err.msg);
    rt_bpe_free(t);
    free(a.pos);
    return ok ? EXIT_OK : EXIT_BAD_INPUT;
}

/* --- main ---------------------------------------------------------------------------- */

static const SubCommand commands[] = {
    {"train", train_help, cmd_train},
    {"encode", encode_help, cmd_encode},
    {"decode", decode_help, cmd_decode},
    {"import-gpt2", import_help, cmd_import},
};

int main(int argc, char **argv) {
    return subcmd_main("llmtok", usage_text, commands, sizeof commands / sizeof commands[0], argc, argv);
}
