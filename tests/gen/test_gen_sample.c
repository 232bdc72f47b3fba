/* tests/gen/test_gen_sample.c — the sampler of `llmrun generate` (tools/llmrun_generate.c)
 * on fixed logits: greedy is the argmax (lowest id on a tie, nan never wins); top-k = 1
 * is greedy at any temperature; top-k and top-p restrict the support exactly; the
 * frequencies follow softmax(logits / T) (loosely); the RNG is reproducible per seed and
 * differs across seeds; a seed of 0 works.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "llmrun.h"
#include "test.h"

static void test_greedy(void) {
    const float l[6] = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f, 0.0f};
    LlmrunSampling s = {.temperature = 0, .top_p = 1};
    LlmrunRng r;
    llmrun_rng_seed(&r, 1);
    CHECK_EQ_INT(llmrun_sample(l, 6, &s, &r), 1); /* tie 1 vs 3: the lower id */
    const float nan_first[3] = {NAN, -5.0f, -4.0f};
    CHECK_EQ_INT(llmrun_sample(nan_first, 3, &s, &r), 2);
    s = (LlmrunSampling){.temperature = 5.0, .top_k = 1, .top_p = 1};
    for (int i = 0; i < 50; i++) CHECK_EQ_INT(llmrun_sample(l, 6, &s, &r), 1);
}

static void test_top_k(void) {
    const float l[8] = {1.0f, 3.0f, 0.0f, 2.5f, 2.9f, -1.0f, 0.5f, 0.1f};
    LlmrunSampling s = {.temperature = 1.0, .top_k = 3, .top_p = 1};
    LlmrunRng r;
    llmrun_rng_seed(&r, 7);
    int seen[8] = {0};
    for (int i = 0; i < 3000; i++) seen[llmrun_sample(l, 8, &s, &r)]++;
    CHECK(seen[1] > 0 && seen[4] > 0 && seen[3] > 0); /* the three largest: 3.0, 2.9, 2.5 */
    CHECK_EQ_INT(seen[0] + seen[2] + seen[5] + seen[6] + seen[7], 0);
    s.top_k = 100; /* more than n: all */
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 20000; i++) seen[llmrun_sample(l, 8, &s, &r)]++;
    for (int i = 0; i < 8; i++) CHECK(seen[i] > 0);
}

static void test_top_p(void) {
    /* probabilities 0.5, 0.3, 0.15, 0.05 (logits = their logs) */
    const float l[4] = {logf(0.15f), logf(0.5f), logf(0.05f), logf(0.3f)};
    LlmrunRng r;
    llmrun_rng_seed(&r, 3);
    int seen[4] = {0};
    LlmrunSampling s = {.temperature = 1.0, .top_p = 0.7};
    for (int i = 0; i < 4000; i++) seen[llmrun_sample(l, 4, &s, &r)]++;
    CHECK(seen[1] > 0 && seen[3] > 0); /* 0.5 + 0.3 >= 0.7 */
    CHECK_EQ_INT(seen[0] + seen[2], 0);
    /* renormalized over {0.5, 0.3}: 0.625 / 0.375 */
    CHECK_CLOSE((double)seen[1] / 4000.0, 0.625, 0.05);
    s.top_p = 0.4; /* the top token alone reaches it */
    for (int i = 0; i < 200; i++) CHECK_EQ_INT(llmrun_sample(l, 4, &s, &r), 1);
    s.top_p = 1.0;
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 40000; i++) seen[llmrun_sample(l, 4, &s, &r)]++;
    CHECK_CLOSE((double)seen[1] / 40000.0, 0.5, 0.03);
    CHECK_CLOSE((double)seen[3] / 40000.0, 0.3, 0.03);
    CHECK_CLOSE((double)seen[0] / 40000.0, 0.15, 0.03);
    CHECK_CLOSE((double)seen[2] / 40000.0, 0.05, 0.03);
    /* both: top-k 3 then top-p over the renormalized three (0.5/0.95 = 0.526 >= 0.5) */
    s = (LlmrunSampling){.temperature = 1.0, .top_k = 3, .top_p = 0.5};
    for (int i = 0; i < 200; i++) CHECK_EQ_INT(llmrun_sample(l, 4, &s, &r), 1);
}

static void test_temperature(void) {
    /* logits 0 and log 3: p = 0.25 / 0.75 at T = 1; at T = 2, 1 / (1 + sqrt 3) = 0.366 */
    const float l[2] = {0.0f, logf(3.0f)};
    LlmrunRng r;
    llmrun_rng_seed(&r, 11);
    LlmrunSampling s = {.temperature = 1.0, .top_p = 1};
    int n0 = 0;
    for (int i = 0; i < 40000; i++) n0 += llmrun_sample(l, 2, &s, &r) == 0;
    CHECK_CLOSE((double)n0 / 40000.0, 0.25, 0.02);
    s.temperature = 2.0;
    n0 = 0;
    for (int i = 0; i < 40000; i++) n0 += llmrun_sample(l, 2, &s, &r) == 0;
    CHECK_CLOSE((double)n0 / 40000.0, 1.0 / (1.0 + sqrt(3.0)), 0.02);
    s.temperature = 0.05; /* nearly greedy */
    n0 = 0;
    for (int i = 0; i < 1000; i++) n0 += llmrun_sample(l, 2, &s, &r) == 0;
    CHECK_EQ_INT(n0, 0);
}

static void test_rng(void) {
    LlmrunRng a, b, c, z;
    llmrun_rng_seed(&a, 42);
    llmrun_rng_seed(&b, 42);
    llmrun_rng_seed(&c, 43);
    llmrun_rng_seed(&z, 0);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = llmrun_rng_next(&a), y = llmrun_rng_next(&b), w = llmrun_rng_next(&c);
        same_ab += x == y;
        same_ac += x == w;
        double u = llmrun_rng_uniform(&z);
        CHECK(u >= 0 && u < 1);
    }
    CHECK_EQ_INT(same_ab, 100);
    CHECK_EQ_INT(same_ac, 0);
    /* a sampled sequence is a function of the seed */
    float l[16];
    for (int i = 0; i < 16; i++) l[i] = (float)(i % 5) * 0.3f;
    LlmrunSampling s = {.temperature = 1.0, .top_p = 1};
    uint32_t s1[64], s2[64], s3[64];
    llmrun_rng_seed(&a, 5);
    llmrun_rng_seed(&b, 5);
    llmrun_rng_seed(&c, 6);
    int diff = 0;
    for (int i = 0; i < 64; i++) {
        s1[i] = llmrun_sample(l, 16, &s, &a);
        s2[i] = llmrun_sample(l, 16, &s, &b);
        s3[i] = llmrun_sample(l, 16, &s, &c);
        diff += s1[i] != s3[i];
    }
    CHECK(memcmp(s1, s2, sizeof s1) == 0);
    CHECK(diff > 0);
}

int main(void) {
    test_greedy();
    test_top_k();
    test_top_p();
    test_temperature();
    test_rng();
    TEST_MAIN();
}
