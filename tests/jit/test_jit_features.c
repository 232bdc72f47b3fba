/* tests/jit/test_jit_features.c — the CPU features a job on mixed hosts compiles for
 * (cc_jit_features_common), and the JIT built for a given cpu and feature string
 * (cc_jit_new_for, LLMC_JIT_FEATURES). */
#include "compiler.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static void test_common(void) {
    const char *two[] = {"+sse2,+avx2,-avx512f,+fma", "+sse2,-avx2,+fma,+avx512f"};
    char *c = cc_jit_features_common(two, 2);
    CHECK_STR(c, "+sse2,+fma,-avx2,-avx512f"); /* on where both are on; the offs last */
    free(c);
    const char *missing[] = {"+a,+b", "+a"}; /* a feature one host does not name is off */
    c = cc_jit_features_common(missing, 2);
    CHECK_STR(c, "+a,-b");
    free(c);
    const char *one[] = {"-x,+y"};
    c = cc_jit_features_common(one, 1);
    CHECK_STR(c, "+y,-x");
    free(c);
}

static void test_new_for(void) {
    LlmcErr err = {0};
    CcJit *host = cc_jit_new(&err);
    CHECK(host != NULL);
    if (!host) return;
    const char *features = NULL;
    const char *cpu = cc_jit_cpu(host, &features);
    CcJit *same = cc_jit_new_for(cpu, features, &err);
    CHECK(same != NULL);
    if (same) {
        const char *f2 = NULL;
        CHECK_STR(cc_jit_cpu(same, &f2), cpu);
        CHECK_STR(f2, features);
        cc_jit_free(same);
    }
    CcJit *base = cc_jit_new_for("x86-64", "+sse2,-avx512f", &err);
    CHECK(base != NULL && !cc_jit_has_avx512(base));
    cc_jit_free(base);
    setenv("LLMC_JIT_FEATURES", "-avx512f", 1); /* a host without AVX-512, as this one would be */
    CcJit *edited = cc_jit_new(&err);
    CHECK(edited != NULL && !cc_jit_has_avx512(edited));
    if (edited) {
        const char *f3 = NULL;
        cc_jit_cpu(edited, &f3);
        CHECK(strstr(f3, "-avx512f") != NULL && !strstr(f3, "+avx512f"));
        cc_jit_free(edited);
    }
    unsetenv("LLMC_JIT_FEATURES");
    cc_jit_free(host);
}

int main(void) {
    test_common();
    test_new_for();
    TEST_MAIN();
}
