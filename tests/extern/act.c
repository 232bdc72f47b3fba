/* tests/extern/act.c — the shared library the extern tests call through libffi
 * (libllmc_test_act.so): swish and its backward under the extern calling convention
 * (docs/llm.md "Extern functions"), plus f64 variants for the interpreter's f64 mode
 * and a two-argument function.
 *
 *   swish(x)           = x * sigmoid(x)
 *   swish_grad(x, dy)  = dy * (s + x s (1 - s)),  s = sigmoid(x)
 *   mul(a, b)          = a * b
 */
#include <math.h>
#include <stdint.h>

void swish(const float *x, float *y, int64_t n);
void swish_grad(const float *x, const float *dy, float *dx, int64_t n);
void swish_f64(const double *x, double *y, int64_t n);
void swish_grad_f64(const double *x, const double *dy, double *dx, int64_t n);
void mul(const float *a, const float *b, float *y, int64_t n);

void swish(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

void swish_grad(const float *x, const float *dy, float *dx, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-x[i]));
        dx[i] = dy[i] * (s + x[i] * s * (1.0f - s));
    }
}

void swish_f64(const double *x, double *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0 + exp(-x[i]));
}

void swish_grad_f64(const double *x, const double *dy, double *dx, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double s = 1.0 / (1.0 + exp(-x[i]));
        dx[i] = dy[i] * (s + x[i] * s * (1.0 - s));
    }
}

void mul(const float *a, const float *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i];
}
