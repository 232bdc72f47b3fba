/* tests/bench/bench_tok.c — the BPE tokenizer's speed on the default corpus: training
 * with vocab 4096 (seconds), encoding (MB/s, with a fresh pre-token cache and again
 * with a warm one) and decoding (MB/s). Not a test: it prints figures and checks only
 * that the corpus round-trips.
 *
 *   build/tests/bench_tok [CORPUS_DIR] [VOCAB]     default /usr/share/games/fortunes 4096
 *
 * Documents are the texts between '%' lines of every file (dot-files, *.dat, *.u8 and
 * subdirectories skipped), as `llmtok train` reads them.
 */
#include "runtime.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/usr/share/games/fortunes";
    uint32_t vocab = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 4096;
    DIR *dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "bench_tok: %s: cannot open (install the fortunes package or give a directory)\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || (n >= 4 && strcmp(de->d_name + n - 4, ".dat") == 0) ||
            (n >= 3 && strcmp(de->d_name + n - 3, ".u8") == 0))
            continue;
        LlmcBuf p = {0};
        llmc_buf_printf(&p, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p.data, &st) == 0 && S_ISREG(st.st_mode)) {
            names = llmc_xrealloc(names, (n_names + 1) * sizeof *names);
            names[n_names++] = p.data;
        } else {
            llmc_buf_free(&p);
        }
    }
    closedir(dp);
    qsort(names, n_names, sizeof *names, cmp_str);
    LlmcBuf all = {0}; /* every file, back to back */
    for (size_t i = 0; i < n_names; i++) {
        char *text;
        size_t len;
        LlmcErr err = {0};
        if (llmc_file_read(names[i], &text, &len, &err)) {
            llmc_buf_put(&all, text, len);
            free(text);
        }
        free(names[i]);
    }
    free(names);
    /* documents: split at lines holding only '%' */
    RtBpeText *docs = NULL;
    size_t n_docs = 0, start = 0;
    for (size_t pos = 0; pos <= all.len;) {
        const char *nl = pos < all.len ? memchr(all.data + pos, '\n', all.len - pos) : NULL;
        size_t n = nl ? (size_t)(nl - (all.data + pos)) : all.len - pos;
        bool sep = n == 1 && all.data[pos] == '%';
        if (sep || pos + n >= all.len) {
            size_t end = sep ? pos : all.len;
            if (end > start) {
                docs = llmc_xrealloc(docs, (n_docs + 1) * sizeof *docs);
                docs[n_docs++] = (RtBpeText){all.data + start, end - start};
            }
            start = pos + n + 1;
        }
        if (pos + n >= all.len) break;
        pos += n + 1;
    }
    size_t doc_bytes = 0;
    for (size_t d = 0; d < n_docs; d++) doc_bytes += docs[d].len;
    printf("corpus: %s, %.2f MB, %zu documents\n", dir, (double)all.len / 1e6, n_docs);

    LlmcErr err = {0};
    double t0 = now_s();
    RtBpe *t = rt_bpe_train(docs, n_docs, vocab, NULL, NULL, &err);
    double train_s = now_s() - t0;
    if (!t) {
        fprintf(stderr, "bench_tok: %s\n", err.msg);
        return 1;
    }
    printf("train: vocab %u (%u merges) in %.3f s\n", rt_bpe_vocab(t), rt_bpe_n_merges(t), train_s);

    LlmcBuf file = {0};
    rt_bpe_serialize(t, &file);
    int status = 0;
    for (int warm = 0; warm < 2; warm++) {
        RtBpe *e = warm ? t : rt_bpe_parse(file.data, file.len, "bench", &err); /* fresh cache */
        double best = 1e30;
        RtBpeIds ids = {0};
        for (int rep = 0; rep < (warm ? 3 : 1); rep++) {
            ids.count = 0;
            t0 = now_s();
            for (size_t d = 0; d < n_docs; d++) rt_bpe_encode(e, docs[d].data, docs[d].len, &ids);
            double s = now_s() - t0;
            if (s < best) best = s;
        }
        printf("encode (%s cache): %zu tokens, %.2f bytes/token, %.3f s, %.1f MB/s\n", warm ? "warm" : "cold", ids.count,
               (double)doc_bytes / (double)ids.count, best, (double)doc_bytes / 1e6 / best);
        if (warm) {
            LlmcBuf back = {0};
            t0 = now_s();
            bool ok = rt_bpe_decode(e, ids.ids, ids.count, &back, &err);
            double s = now_s() - t0;
            printf("decode: %.3f s, %.1f MB/s\n", s, (double)back.len / 1e6 / s);
            /* the documents back to back */
            size_t at = 0;
            for (size_t d = 0; ok && d < n_docs; d++) {
                ok = at + docs[d].len <= back.len && memcmp(back.data + at, docs[d].data, docs[d].len) == 0;
                at += docs[d].len;
            }
            if (!ok || at != back.len) {
                fprintf(stderr, "bench_tok: round trip failed\n");
                status = 1;
            }
            llmc_buf_free(&back);
        } else {
            rt_bpe_free(e);
        }
        free(ids.ids);
    }
    llmc_buf_free(&file);
    rt_bpe_free(t);
    free(docs);
    llmc_buf_free(&all);
    return status;
}
