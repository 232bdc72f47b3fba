/* tests/bench/naive_matmul.c — the benchmark's baseline: the textbook triple loop, built
 * with -O3 (tests/bench/tests.cmake). Rows [m_lo, m_hi) of one f32 matmul C = op(A) op(B),
 * C [M, N], A [M, K] or [K, M] (ta), B [K, N] or [N, K] (tb); a float accumulator per
 * element, k in order. Not a tuned baseline: no blocking, no packing, no intrinsics. */
#include <stdbool.h>
#include <stdint.h>

void bench_naive_matmul(const float *a, const float *b, float *c, int64_t M, int64_t N, int64_t K, bool ta,
                        bool tb, int64_t m_lo, int64_t m_hi);

void bench_naive_matmul(const float *a, const float *b, float *c, int64_t M, int64_t N, int64_t K, bool ta,
                        bool tb, int64_t m_lo, int64_t m_hi) {
    for (int64_t m = m_lo; m < m_hi; m++)
        for (int64_t n = 0; n < N; n++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++) {
                float av = ta ? a[k * M + m] : a[m * K + k];
                float bv = tb ? b[n * K + k] : b[k * N + n];
                acc += av * bv;
            }
            c[m * N + n] = acc;
        }
}
