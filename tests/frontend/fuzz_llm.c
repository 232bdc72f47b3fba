/* tests/frontend/fuzz_llm.c — libFuzzer target for the .llm lexer and parser.
 *
 * Build (clang only): CC=clang cmake -B build-fzfe -DLLMC_FUZZ=ON
 *                     cmake --build build-fzfe --target fuzz_llm
 * Run:   build-fzfe/tests/fuzz_llm -max_total_time=60 -dict=tests/frontend/llm.dict \
 *          CORPUS_DIR tests/frontend/parse models
 *
 * Any byte sequence, as a file (fe_parse) and as a -D value (fe_parse_expr): the input
 * is not NUL-terminated, so reads past its end are caught by ASan. A parse succeeds
 * exactly when no error was reported, at most FE_MAX_ERRORS are, each diagnostic
 * points into the text, and a parsed program prints. A broken property aborts, which
 * libFuzzer reports as a crash.
 */
#include "frontend_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every diagnostic with a place is on a line of the text, at a column in it or one
 * past its end. */
static void check_places(const LlmcDiags *d, const char *text, size_t size) {
    for (uint32_t i = 0; i < d->count; i++) {
        const LlmcDiag *g = &d->items[i];
        if (g->line == 0) continue;
        size_t start = 0;
        for (uint32_t l = 1; l < g->line; l++) {
            while (start < size && text[start] != '\n') start++;
            LLMC_ASSERT(start < size);
            start++;
        }
        size_t end = start;
        while (end < size && text[end] != '\n') end++;
        LLMC_ASSERT(g->col >= 1 && g->col <= end - start + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy: libFuzzer's buffer is exactly `size` bytes, and so is this one. */
    char *text = llmc_xmalloc(size ? size : 1);
    if (size) memcpy(text, data, size);
    LlmcSource src = {"fuzz", text, size};

    LlmcDiags d = {0};
    FeProgram *p = fe_parse(&src, &d);
    LLMC_ASSERT(p ? d.errors == 0 : d.errors > 0);
    LLMC_ASSERT(d.errors <= FE_MAX_ERRORS);
    check_places(&d, text, size);
    if (p) {
        LLMC_ASSERT(p->model != NULL);
        LlmcBuf b = {0};
        fe_ast_print(p, &b);
        LLMC_ASSERT(b.len > 0 && strncmp(b.data, "model ", 6) == 0);
        llmc_buf_free(&b);
    }
    fe_program_free(p);
    llmc_diags_free(&d);

    LlmcArena arena = {0};
    LlmcDiags d2 = {0};
    FeExpr *e = fe_parse_expr(&src, &arena, &d2);
    LLMC_ASSERT(e ? d2.errors == 0 : d2.errors > 0);
    check_places(&d2, text, size);
    llmc_arena_free(&arena);
    llmc_diags_free(&d2);
    free(text);
    return 0;
}
