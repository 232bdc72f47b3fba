/* tools/llmrun_args.c — number parsing shared by llmrun's commands: a whole argument,
 * in range, or false (the caller names the option in its usage error). */
#include "llmrun.h"

#include <errno.h>
#include <stdlib.h>

bool llmrun_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool llmrun_parse_f64(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return false;
    *out = v;
    return true;
}
