/* ir/base.c — the base layer: asserts, checked allocation, arenas, growable strings,
 * error values, diagnostics with carets, checked file I/O.
 *
 * Deliberately small and dependency-free: every folder links it. Library code reports
 * user errors through LlmcErr / LlmcDiags and never exits; only allocation failure and
 * broken invariants abort.
 */
#define _POSIX_C_SOURCE 200809L
#include "ir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Noreturn void llmc_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "%s:%d: internal error: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}

static _Noreturn void out_of_memory(size_t size) {
    fprintf(stderr, "llmc: out of memory allocating %zu bytes\n", size);
    abort();
}

void *llmc_xmalloc(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p) out_of_memory(size);
    return p;
}

void *llmc_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *llmc_xrealloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size ? size : 1);
    if (!p) out_of_memory(size);
    return p;
}

char *llmc_xstrdup(const char *s) {
    size_t n = strlen(s);
    char *p = llmc_xmalloc(n + 1);
    memcpy(p, s, n + 1);
    return p;
}

/* --- arena --------------------------------------------------------------------------- */

struct LlmcArenaChunk {
    LlmcArenaChunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *llmc_arena_alloc(LlmcArena *a, size_t size) {
    size = (size + 15) & ~(size_t)15;
    LlmcArenaChunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = c ? c->cap * 2 : 4096;
        if (cap > (size_t)1 << 24) cap = (size_t)1 << 24;
        if (cap < size) cap = size;
        LlmcArenaChunk *n = llmc_xmalloc(sizeof *n + cap);
        n->next = c;
        n->used = 0;
        n->cap = cap;
        a->head = c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    a->bytes_used += size;
    memset(p, 0, size);
    return p;
}

char *llmc_arena_strndup(LlmcArena *a, const char *s, size_t n) {
    char *p = llmc_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void llmc_arena_free(LlmcArena *a) {
    LlmcArenaChunk *c = a->head;
    while (c) {
        LlmcArenaChunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->bytes_used = 0;
}

/* --- growable string ----------------------------------------------------------------- */

static void buf_reserve(LlmcBuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = llmc_xrealloc(b->data, cap);
    b->cap = cap;
}

void llmc_buf_put(LlmcBuf *b, const char *s, size_t n) {
    buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void llmc_buf_puts(LlmcBuf *b, const char *s) { llmc_buf_put(b, s, strlen(s)); }

void llmc_buf_putc(LlmcBuf *b, char c) { llmc_buf_put(b, &c, 1); }

void llmc_buf_vprintf(LlmcBuf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    LLMC_ASSERT(n >= 0);
    buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void llmc_buf_printf(LlmcBuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    llmc_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void llmc_buf_free(LlmcBuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* --- error values -------------------------------------------------------------------- */

void llmc_err_set(LlmcErr *e, const char *fmt, ...) {
    if (!e || e->set) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->set = true;
}

void llmc_err_clear(LlmcErr *e) {
    e->set = false;
    e->msg[0] = 0;
}

/* --- diagnostics --------------------------------------------------------------------- */

/* Copies line `line` (1-based) of src, without its newline; NULL if out of range. */
static char *source_line(const LlmcSource *src, uint32_t line) {
    if (!src || !src->text || line == 0) return NULL;
    size_t i = 0;
    for (uint32_t l = 1; l < line; l++) {
        while (i < src->len && src->text[i] != '\n') i++;
        if (i >= src->len) return NULL;
        i++;
    }
    size_t j = i;
    while (j < src->len && src->text[j] != '\n' && src->text[j] != '\r') j++;
    char *s = llmc_xmalloc(j - i + 1);
    memcpy(s, src->text + i, j - i);
    s[j - i] = 0;
    return s;
}

void llmc_diag_vat(LlmcDiags *d, LlmcSeverity sev, const LlmcSource *src, uint32_t line,
                   uint32_t col, const char *fmt, va_list ap) {
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->items = llmc_xrealloc(d->items, d->cap * sizeof *d->items);
    }
    LlmcDiag *g = &d->items[d->count++];
    memset(g, 0, sizeof *g);
    g->severity = sev;
    g->file = src && src->name ? llmc_xstrdup(src->name) : NULL;
    g->line = line;
    g->col = col;
    g->line_text = source_line(src, line);
    LlmcBuf b = {0};
    llmc_buf_vprintf(&b, fmt, ap);
    g->msg = b.data ? b.data : llmc_xstrdup("");
    if (sev == LLMC_SEV_ERROR) d->errors++;
}

void llmc_diag_at(LlmcDiags *d, LlmcSeverity sev, const LlmcSource *src, uint32_t line,
                  uint32_t col, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    llmc_diag_vat(d, sev, src, line, col, fmt, ap);
    va_end(ap);
}

static const char *severity_name(LlmcSeverity s) {
    switch (s) {
    case LLMC_SEV_ERROR: return "error";
    case LLMC_SEV_WARNING: return "warning";
    case LLMC_SEV_NOTE: return "note";
    }
    return "error";
}

/* Prints the source line under a diagnostic: at most a window of ~160 bytes around the
 * column (a minified 5 MB line stays readable), control bytes as '?', and the caret
 * under the column, tabs kept so it lines up. */
static void print_source_line(FILE *out, const char *line, uint32_t col) {
    enum { WINDOW = 160 };
    size_t len = strlen(line), c = col ? col - 1 : 0;
    if (c > len) c = len;
    size_t start = c > WINDOW / 2 ? c - WINDOW / 2 : 0;
    size_t end = start + WINDOW < len ? start + WINDOW : len;
    fputs(start ? "  ..." : "  ", out);
    for (size_t i = start; i < end; i++) {
        unsigned char ch = (unsigned char)line[i];
        fputc(ch == '\t' || ch >= 0x20 ? (ch == 0x7f ? '?' : ch) : '?', out);
    }
    fputs(end < len ? "...\n" : "\n", out);
    fputs(start ? "     " : "  ", out);
    for (size_t i = start; i < c; i++) fputc(line[i] == '\t' ? '\t' : ' ', out);
    fputs("^\n", out);
}

void llmc_diags_print(const LlmcDiags *d, FILE *out) {
    for (uint32_t i = 0; i < d->count; i++) {
        const LlmcDiag *g = &d->items[i];
        if (g->file && g->line)
            fprintf(out, "%s:%u:%u: ", g->file, g->line, g->col);
        else if (g->file)
            fprintf(out, "%s: ", g->file);
        fprintf(out, "%s: %s\n", severity_name(g->severity), g->msg);
        if (g->line_text) print_source_line(out, g->line_text, g->col);
    }
}

void llmc_diags_free(LlmcDiags *d) {
    for (uint32_t i = 0; i < d->count; i++) {
        free(d->items[i].file);
        free(d->items[i].line_text);
        free(d->items[i].msg);
    }
    free(d->items);
    memset(d, 0, sizeof *d);
}

/* --- checked file I/O ---------------------------------------------------------------- */

bool llmc_file_read(const char *path, char **data, size_t *len, LlmcErr *err) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        llmc_err_set(err, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    /* Regular files and pipes only: a device like /dev/zero would never end. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        llmc_err_set(err, "%s: %s", path, S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file");
        fclose(f);
        return false;
    }
    size_t cap = 65536, n = 0;
    char *buf = llmc_xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = llmc_xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        llmc_err_set(err, "%s: read error: %s", path, strerror(errno));
        fclose(f);
        free(buf);
        return false;
    }
    fclose(f);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return true;
}

bool llmc_file_write(const char *path, const void *data, size_t len, LlmcErr *err) {
    LlmcBuf tmp = {0};
    llmc_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        llmc_err_set(err, "%s: cannot create (as %s): %s", path, tmp.data, strerror(errno));
        llmc_buf_free(&tmp);
        return false;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            llmc_err_set(err, "%s: write error: %s", path, strerror(errno));
            close(fd);
            unlink(tmp.data);
            llmc_buf_free(&tmp);
            return false;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        llmc_err_set(err, "%s: cannot flush to disk: %s", path, strerror(errno));
        unlink(tmp.data);
        llmc_buf_free(&tmp);
        return false;
    }
    if (rename(tmp.data, path) != 0) {
        llmc_err_set(err, "%s: cannot rename into place: %s", path, strerror(errno));
        unlink(tmp.data);
        llmc_buf_free(&tmp);
        return false;
    }
    llmc_buf_free(&tmp);
    return true;
}
