/* tests/fuzz/fuzz_llir.c — libFuzzer target for the .llir parser.
 *
 * Build (clang only): cmake -B build-fz -DLLMC_FUZZ=ON && cmake --build build-fz --target fuzz_llir
 * Run:   build-fz/tests/fuzz_llir -max_total_time=60 CORPUS_DIR tests/golden tests/ir
 *
 * Any byte sequence: parse (the input is not NUL-terminated, so reads past its end are
 * caught by ASan); when it parses, the round-trip contract must hold and the Graphviz
 * rendering must work. A broken contract aborts, which libFuzzer reports as a crash.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print_module(const IrModule *m) {
    LlmcBuf b = {0};
    llmc_buf_put(&b, "", 0);
    ir_print_module(m, &b);
    return b.data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy: libFuzzer's buffer is exactly `size` bytes, and so is this one. */
    char *text = llmc_xmalloc(size ? size : 1);
    if (size) memcpy(text, data, size);
    LlmcSource src = {"fuzz", text, size};
    IrModule m = {0};
    LlmcDiags d = {0};
    if (ir_parse_module(&src, &m, &d)) {
        LLMC_ASSERT(d.errors == 0);
        char *p1 = print_module(&m);
        LlmcSource src2 = {"print", p1, strlen(p1)};
        IrModule m2 = {0};
        LlmcDiags d2 = {0};
        bool reparsed = ir_parse_module(&src2, &m2, &d2);
        if (!reparsed) llmc_diags_print(&d2, stderr);
        LLMC_ASSERT(reparsed);
        char *p2 = print_module(&m2);
        LLMC_ASSERT(strcmp(p1, p2) == 0);
        for (uint32_t i = 0; i < m.n_graphs; i++) {
            LlmcBuf dot = {0};
            ir_print_dot(m.graphs[i], &dot);
            LLMC_ASSERT(dot.len > 0);
            llmc_buf_free(&dot);
        }
        free(p2);
        free(p1);
        ir_module_free(&m2);
        llmc_diags_free(&d2);
    } else {
        LLMC_ASSERT(d.errors > 0 && m.n_graphs == 0);
    }
    ir_module_free(&m);
    llmc_diags_free(&d);
    free(text);
    return 0;
}
