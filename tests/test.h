/* tests/test.h — the tiny test harness every test program uses.
 *
 * CHECK(cond)               fails (and goes on) printing the expression
 * CHECK_EQ_INT(a, b)        prints both values
 * CHECK_CLOSE(a, b, tol)    |a - b| <= tol * max(1, |b|); prints both values
 * CHECK_STR(a, b)           string equality; prints both
 * TEST_MAIN()               returns 1 if any check failed, printing the count
 * A test program is one main() calling static test functions; keep them small.
 */
#ifndef LLMC_TEST_H
#define LLMC_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        test_checks++;                                                                 \
        if (!(cond)) {                                                                 \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                              \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                             \
    do {                                                                               \
        long long test_a_ = (long long)(a), test_b_ = (long long)(b);                  \
        test_checks++;                                                                 \
        if (test_a_ != test_b_) {                                                      \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s == %s (%lld vs %lld)\n",   \
                    __FILE__, __LINE__, #a, #b, test_a_, test_b_);                     \
        }                                                                              \
    } while (0)

#define CHECK_CLOSE(a, b, tol)                                                         \
    do {                                                                               \
        double test_a_ = (double)(a), test_b_ = (double)(b);                           \
        double test_s_ = fabs(test_b_) > 1.0 ? fabs(test_b_) : 1.0;                    \
        test_checks++;                                                                 \
        if (!(fabs(test_a_ - test_b_) <= (tol) * test_s_) &&                           \
            !(isnan(test_a_) && isnan(test_b_)) && !(test_a_ == test_b_)) {            \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s ~ %s (%.17g vs %.17g)\n",   \
                    __FILE__, __LINE__, #a, #b, test_a_, test_b_);                     \
        }                                                                              \
    } while (0)

#define CHECK_STR(a, b)                                                                \
    do {                                                                               \
        const char *test_a_ = (a), *test_b_ = (b);                                     \
        test_checks++;                                                                 \
        if (!test_a_ || !test_b_ || strcmp(test_a_, test_b_) != 0) {                   \
            test_failures++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s\n  got:      %s\n"      \
                    "  expected: %s\n", __FILE__, __LINE__, #a, #b,                    \
                    test_a_ ? test_a_ : "(null)", test_b_ ? test_b_ : "(null)");       \
        }                                                                              \
    } while (0)

#define TEST_MAIN()                                                                    \
    do {                                                                               \
        fprintf(stderr, "%d checks, %d failed\n", test_checks, test_failures);         \
        return test_failures ? 1 : 0;                                                  \
    } while (0)

#endif /* LLMC_TEST_H */
