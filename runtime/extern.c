/* runtime/extern.c — extern functions: user code in shared libraries, called through
 * libffi with their native C signature (docs/llm.md "Extern functions").
 *
 * A symbol is "library:function" (the last ':' splits). The library is opened with
 * dlopen exactly as written: a name without '/' is searched the way the dynamic loader
 * searches (LD_LIBRARY_PATH, the executable's runpath, the ld.so cache, /lib, /usr/lib);
 * a name with '/' is a path (a relative one is relative to the working directory).
 *
 * The calling convention, for an extern_call with k operands:
 *     void function(const float *x1, ..., const float *xk, float *out, int64_t n);
 * every operand and the result are dense row-major f32 buffers of the same element
 * count n. The function must write all n elements of out, read nothing beyond n, keep
 * no pointer after it returns, and be deterministic if the run is to be (the executor
 * calls it once, from the thread that runs the graph, and never splits it).
 *
 * Two users:
 *   - the executor (runtime/exec.c): rt_extern_new at build time checks the node against
 *     the convention and resolves the function, so a missing library, a missing symbol or
 *     an unsatisfiable signature fail rt_exec_new with a message, never a run;
 *   - the reference interpreter, through rt_extern_hook (IrInterpOptions.extern_hook):
 *     its double values go through float buffers; in f64 mode, when the library also
 *     exports "<function>_f64" (same convention with double), that variant is called
 *     instead, so finite-difference gradient checks are not limited by f32 rounding.
 *
 * Deliberately not here: other dtypes, scalar arguments, per-argument shapes, and
 * calling one function over several threads (the library may parallelize itself).
 */
#include "runtime.h"

#include <dlfcn.h>
#include <ffi.h>
#include <stdlib.h>
#include <string.h>

#define EXTERN_MAX_ARGS 16

typedef void (*ExternFn)(void);

/* One resolved function: its library handle (dlclose'd on free) and a prepared cif for
 * n_args pointers + the pointer to out + an int64_t count. The cif points into `types`:
 * an ExternFunc never moves once prepared. */
typedef struct ExternFunc {
    void *lib;
    ExternFn fn;
    uint32_t n_args;
    ffi_cif cif;
    ffi_type *types[EXTERN_MAX_ARGS + 2];
} ExternFunc;

/* Splits "library:function" at the last ':'. */
static bool split_symbol(const char *symbol, char **lib, const char **fn, LlmcErr *err) {
    const char *colon = strrchr(symbol, ':');
    if (!colon || colon == symbol || !colon[1]) {
        llmc_err_set(err, "extern '%s': the symbol must be \"library:function\"", symbol);
        return false;
    }
    size_t n = (size_t)(colon - symbol);
    *lib = llmc_xmalloc(n + 1);
    memcpy(*lib, symbol, n);
    (*lib)[n] = 0;
    *fn = colon + 1;
    return true;
}

/* Opens the library, finds `fn_name` (optional: a missing one gives false with no error
 * when `optional`), prepares the cif for n_args tensor arguments. */
static bool func_open(ExternFunc *f, const char *symbol, const char *lib, const char *fn_name, uint32_t n_args,
                      bool optional, LlmcErr *err) {
    memset(f, 0, sizeof *f);
    if (n_args > EXTERN_MAX_ARGS) {
        llmc_err_set(err, "extern '%s': %u tensor arguments; the calling convention takes at most %d", symbol, n_args,
                     EXTERN_MAX_ARGS);
        return false;
    }
    dlerror();
    f->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!f->lib) {
        const char *why = dlerror();
        llmc_err_set(err, "extern '%s': cannot load library '%s': %s%s", symbol, lib, why ? why : "(no reason given)",
                     strchr(lib, '/') ? "" : " (a name without '/' is searched on LD_LIBRARY_PATH and the system paths)");
        return false;
    }
    dlerror();
    void *p = dlsym(f->lib, fn_name);
    const char *why = dlerror();
    if (why || !p) {
        if (!optional)
            llmc_err_set(err, "extern '%s': library '%s' has no function '%s' (%s)", symbol, lib, fn_name,
                         why ? why : "the symbol is NULL");
        dlclose(f->lib);
        f->lib = NULL;
        return false;
    }
    memcpy(&f->fn, &p, sizeof f->fn); /* object pointer to function pointer, as POSIX allows */
    f->n_args = n_args;
    for (uint32_t i = 0; i <= n_args; i++) f->types[i] = &ffi_type_pointer;
    f->types[n_args + 1] = &ffi_type_sint64;
    ffi_status st = ffi_prep_cif(&f->cif, FFI_DEFAULT_ABI, n_args + 2, &ffi_type_void, f->types);
    if (st != FFI_OK) {
        llmc_err_set(err, "extern '%s': libffi cannot prepare the call void %s(%u pointers, int64_t) (status %d)",
                     symbol, fn_name, n_args + 1, (int)st);
        dlclose(f->lib);
        f->lib = NULL;
        return false;
    }
    return true;
}

static void func_close(ExternFunc *f) {
    if (f->lib) dlclose(f->lib);
    f->lib = NULL;
}

/* fn(args[0], ..., args[n_args - 1], out, n). */
static void func_call(const ExternFunc *f, const void *const *args, void *out, int64_t n) {
    void *ptrs[EXTERN_MAX_ARGS + 1];
    void *avalues[EXTERN_MAX_ARGS + 2];
    for (uint32_t i = 0; i < f->n_args; i++) ptrs[i] = (void *)args[i];
    ptrs[f->n_args] = out;
    for (uint32_t i = 0; i <= f->n_args; i++) avalues[i] = &ptrs[i];
    avalues[f->n_args + 1] = &n;
    ffi_call((ffi_cif *)&f->cif, f->fn, NULL, avalues);
}

/* --- the executor's side ------------------------------------------------------------ */

struct RtExtern {
    ExternFunc f;
    IrId node;
    IrId *operands; /* [f.n_args] */
    int64_t n;      /* elements of every buffer */
};

bool rt_extern_check(const IrGraph *g, IrId id, LlmcErr *err) {
    const IrNode *n = ir_graph_node(g, id);
    const char *symbol = ir_graph_str(g, n->attrs.extern_call.symbol);
    int64_t numel = ir_type_numel(&n->type);
    char t[IR_TYPE_STR_MAX];
    if (n->type.dtype != IR_DTYPE_F32) {
        llmc_err_set(err, "extern '%s': the call cannot satisfy the calling convention (f32 tensors of one element "
                     "count): its result is %s", symbol, ir_type_format(&n->type, t, sizeof t));
        return false;
    }
    for (uint32_t k = 0; k < n->n_operands; k++) {
        const IrType *x = &ir_graph_node(g, n->operands[k])->type;
        if (x->dtype != IR_DTYPE_F32 || ir_type_numel(x) != numel) {
            char r[IR_TYPE_STR_MAX];
            llmc_err_set(err, "extern '%s': the call cannot satisfy the calling convention (f32 tensors of one "
                         "element count): argument %u is %s, the result %s", symbol, k + 1,
                         ir_type_format(x, t, sizeof t), ir_type_format(&n->type, r, sizeof r));
            return false;
        }
    }
    return true;
}

RtExtern *rt_extern_new(const IrGraph *g, IrId id, LlmcErr *err) {
    const IrNode *n = ir_graph_node(g, id);
    LLMC_ASSERT(n->op == IR_OP_EXTERN_CALL);
    if (!rt_extern_check(g, id, err)) return NULL;
    const char *symbol = ir_graph_str(g, n->attrs.extern_call.symbol);
    char *lib = NULL;
    const char *fn = NULL;
    if (!split_symbol(symbol, &lib, &fn, err)) return NULL;
    RtExtern *x = llmc_xcalloc(1, sizeof *x);
    bool ok = func_open(&x->f, symbol, lib, fn, n->n_operands, false, err);
    free(lib);
    if (!ok) {
        free(x);
        return NULL;
    }
    x->node = id;
    x->n = ir_type_numel(&n->type);
    x->operands = llmc_xcalloc(n->n_operands ? n->n_operands : 1, sizeof *x->operands);
    memcpy(x->operands, n->operands, n->n_operands * sizeof *x->operands);
    return x;
}

void rt_extern_run(const RtExtern *x, void *const *ptr) {
    const void *args[EXTERN_MAX_ARGS];
    for (uint32_t i = 0; i < x->f.n_args; i++) args[i] = ptr[x->operands[i]];
    func_call(&x->f, args, ptr[x->node], x->n);
}

bool rt_extern_reads(const RtExtern *x, IrId id) {
    for (uint32_t i = 0; i < x->f.n_args; i++)
        if (x->operands[i] == id) return true;
    return false;
}

void rt_extern_free(RtExtern *x) {
    if (!x) return;
    func_close(&x->f);
    free(x->operands);
    free(x);
}

/* --- the interpreter's side --------------------------------------------------------- */

typedef struct HostEntry {
    char *symbol;
    uint32_t n_args;
    ExternFunc f;
    bool f64; /* f is the "<function>_f64" variant */
} HostEntry;

struct RtExternHost {
    IrPrecision precision;
    HostEntry **v; /* each entry allocated once: its cif must not move */
    uint32_t n;
};

RtExternHost *rt_extern_host_new(IrPrecision precision) {
    RtExternHost *h = llmc_xcalloc(1, sizeof *h);
    h->precision = precision;
    return h;
}

void rt_extern_host_free(RtExternHost *h) {
    if (!h) return;
    for (uint32_t i = 0; i < h->n; i++) {
        func_close(&h->v[i]->f);
        free(h->v[i]->symbol);
        free(h->v[i]);
    }
    free(h->v);
    free(h);
}

void rt_extern_host_install(RtExternHost *h, IrInterpOptions *opt) {
    opt->extern_hook = rt_extern_hook;
    opt->extern_ctx = h;
}

static const HostEntry *host_find(RtExternHost *h, const char *symbol, uint32_t n_args, LlmcErr *err) {
    for (uint32_t i = 0; i < h->n; i++)
        if (h->v[i]->n_args == n_args && strcmp(h->v[i]->symbol, symbol) == 0) return h->v[i];
    char *lib = NULL;
    const char *fn = NULL;
    if (!split_symbol(symbol, &lib, &fn, err)) return NULL;
    HostEntry *e = llmc_xcalloc(1, sizeof *e);
    e->n_args = n_args;
    bool ok = false;
    if (h->precision == IR_PRECISION_F64) {
        size_t len = strlen(fn);
        char *fn64 = llmc_xmalloc(len + 5);
        memcpy(fn64, fn, len);
        memcpy(fn64 + len, "_f64", 5);
        ok = e->f64 = func_open(&e->f, symbol, lib, fn64, n_args, true, err);
        free(fn64);
    }
    if (!ok && !err->set) ok = func_open(&e->f, symbol, lib, fn, n_args, false, err); /* set: no library */
    free(lib);
    if (!ok) {
        free(e);
        return NULL;
    }
    size_t len = strlen(symbol);
    e->symbol = llmc_xmalloc(len + 1);
    memcpy(e->symbol, symbol, len + 1);
    h->v = llmc_xrealloc(h->v, (h->n + 1) * sizeof *h->v);
    h->v[h->n++] = e;
    return e;
}

/* The interpreter names the symbol itself ("extern 'lib:f' failed: ..."): drop ours. */
static void drop_symbol_prefix(LlmcErr *err, const char *symbol) {
    char prefix[sizeof err->msg];
    int n = snprintf(prefix, sizeof prefix, "extern '%s': ", symbol);
    if (n > 0 && (size_t)n < sizeof prefix && strncmp(err->msg, prefix, (size_t)n) == 0)
        memmove(err->msg, err->msg + n, strlen(err->msg + n) + 1);
}

static bool hook_run(RtExternHost *h, const char *symbol, const IrValue *args, uint32_t n_args, IrValue *out,
                     LlmcErr *err) {
    int64_t n = ir_type_numel(&out->type);
    char t[IR_TYPE_STR_MAX];
    if (!ir_dtype_is_float(out->type.dtype)) {
        llmc_err_set(err, "extern '%s': the calling convention passes float tensors; the result is %s", symbol,
                     ir_type_format(&out->type, t, sizeof t));
        return false;
    }
    for (uint32_t k = 0; k < n_args; k++)
        if (!ir_dtype_is_float(args[k].type.dtype) || ir_type_numel(&args[k].type) != n) {
            char r[IR_TYPE_STR_MAX];
            llmc_err_set(err, "extern '%s': the call cannot satisfy the calling convention (float tensors of one "
                         "element count): argument %u is %s, the result %s", symbol, k + 1,
                         ir_type_format(&args[k].type, t, sizeof t), ir_type_format(&out->type, r, sizeof r));
            return false;
        }
    const HostEntry *e = host_find(h, symbol, n_args, err);
    if (!e) return false;
    if (e->f64) { /* the interpreter's doubles are the convention's buffers */
        const void *a[EXTERN_MAX_ARGS];
        for (uint32_t k = 0; k < n_args; k++) a[k] = args[k].data;
        func_call(&e->f, a, out->data, n);
        return true;
    }
    size_t cells = (size_t)(n ? n : 1);
    float *buf = llmc_xmalloc((n_args + 1) * cells * sizeof *buf);
    const void *a[EXTERN_MAX_ARGS];
    for (uint32_t k = 0; k < n_args; k++) {
        for (int64_t i = 0; i < n; i++) buf[k * cells + (size_t)i] = (float)args[k].data[i];
        a[k] = buf + k * cells;
    }
    float *y = buf + n_args * cells;
    func_call(&e->f, a, y, n);
    for (int64_t i = 0; i < n; i++) out->data[i] = y[i];
    free(buf);
    return true;
}

bool rt_extern_hook(void *ctx, const char *symbol, const IrValue *args, uint32_t n_args, IrValue *out, LlmcErr *err) {
    bool ok = hook_run(ctx, symbol, args, n_args, out, err);
    if (!ok) drop_symbol_prefix(err, symbol);
    return ok;
}
