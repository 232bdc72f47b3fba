/* compiler/jit.c — the host JIT: LLVM's native target, a target machine for this CPU,
 * the new pass manager, and an ORC LLJIT that turns kernel modules into callable code.
 *
 * What it does: cc_jit_new initializes the native target and asm printer, builds a target
 * machine from LLVMGetHostCPUName/Features (CodeGenOptLevel aggressive, PIC, default code
 * model) and hands a copy of it to the LLJIT builder, so the JIT compiles for exactly the
 * CPU the passes optimized for. cc_jit_add_module verifies a module (LLVMVerifyModule),
 * runs "default<O3>" through LLVMRunPasses with that target machine, and adds it to the
 * main JITDylib; cc_jit_lookup returns a symbol's address. Kernels call no process
 * symbol at all: a module declares only intrinsics that lower to instructions
 * (cc_codegen_inline_intrinsics, tested). cc_jit_add_kernel is the one tail every
 * codegen shares: it names the kernel function uniquely, or hands the module to the
 * JIT's object cache (cc_jit_set_cache, compiler/objcache.c), which keys and names it.
 *
 * Floating-point policy (DESIGN §6, issue 5): no fast-math flags anywhere, so results do
 * not depend on what the optimizer finds. No FMA contraction either: generated IR never
 * carries the `contract` flag and the target machine keeps LLVM's default
 * (FPOpFusion::Standard, which fuses only explicit llvm.fmuladd), so a*b+c is two
 * roundings, exactly as the interpreter computes it. Kernels that want FMA (the matmul
 * microkernel, later) ask for it with an explicit llvm.fma call, and the tolerance of
 * their test says so. The elementwise kernels use none.
 *
 * Object code for compiler/objcache.c: cc_jit_emit_object runs the same verify + default<O3>
 * and then emits an object file with the very target machine the passes used (the JIT's
 * own is a copy built from the same triple, cpu, features, opt level, reloc and code
 * model), cc_jit_add_object links such an object into the main JITDylib, and cc_jit_find
 * asks whether a symbol is already defined without reporting an error.
 *
 * cc_jit_module_text prints a module as LLVM IR or host assembly (--emit=llvm|asm).
 *
 * Deliberately not here: the object cache itself (compiler/objcache.c),
 * multiple JITDylibs, code removal (kernels live until cc_jit_free), and thread safety
 * (one thread drives a CcJit).
 */
#include "compiler_int.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct CcJit {
    LLVMTargetMachineRef tm; /* for the passes and the module's layout; the JIT has a copy */
    LLVMOrcLLJITRef lljit;
    char *triple, *cpu, *features, *layout; /* LLVM-allocated (LLVMDisposeMessage) */
    bool avx512;
    bool avx512bf16; /* vdpbf16ps usable: cc_jit_has_avx512bf16 */
    uint32_t next_id;
    CcObjCache *cache; /* not owned; NULL: kernels are compiled, never looked up on disk */
    CcJitMemo *memo;   /* [memo_cap] open addressing by signature; fn NULL = empty */
    uint32_t memo_n, memo_cap;
};

/* Moves an LLVMErrorRef's message into err and frees it; true when there was none. */
static bool take_error(LLVMErrorRef e, const char *what, LlmcErr *err) {
    if (!e) return true;
    char *msg = LLVMGetErrorMessage(e);
    llmc_err_set(err, "%s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return false;
}

static LLVMTargetMachineRef host_tm(const CcJit *jit) {
    LLVMTargetRef target = NULL;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(jit->triple, &target, &msg)) {
        LLVMDisposeMessage(msg);
        return NULL;
    }
    return LLVMCreateTargetMachine(target, jit->triple, jit->cpu, jit->features,
                                   LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelJITDefault);
}

/* --- feature strings ------------------------------------------------------------- */

/* A comma-separated LLVM feature list as (name, on) pairs, in order; later entries of a
 * name replace earlier ones. */
typedef struct Feature {
    char *name;
    bool on;
} Feature;
typedef struct Features {
    Feature *items;
    uint32_t n, cap;
} Features;

static Feature *feature_find(Features *f, const char *name) {
    for (uint32_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].name, name) == 0) return &f->items[i];
    return NULL;
}

static void feature_set(Features *f, const char *name, size_t len, bool on) {
    char *copy = llmc_xmalloc(len + 1);
    memcpy(copy, name, len);
    copy[len] = 0;
    Feature *x = feature_find(f, copy);
    if (x) {
        x->on = on;
        free(copy);
        return;
    }
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->items = llmc_xrealloc(f->items, f->cap * sizeof *f->items);
    }
    f->items[f->n++] = (Feature){copy, on};
}

static void features_parse(Features *f, const char *s) {
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len > 1 && (s[0] == '+' || s[0] == '-')) feature_set(f, s + 1, len - 1, s[0] == '+');
        s = end ? end + 1 : s + len;
    }
}

/* "+a,+c,...,-b,...": every enabled feature, then every disabled one, so a "-x" is
 * applied after any "+y" that implies x (LLVM reads the list left to right, and turning
 * a feature off turns off what needs it, while turning one on turns on what it needs).
 * Allocated with LLVMCreateMessage (the JIT disposes of its strings so). */
static char *features_text(const Features *f) {
    LlmcBuf b = {0};
    for (int on = 1; on >= 0; on--)
        for (uint32_t i = 0; i < f->n; i++)
            if (f->items[i].on == on) llmc_buf_printf(&b, "%s%c%s", b.len ? "," : "", on ? '+' : '-', f->items[i].name);
    char *text = LLVMCreateMessage(b.data ? b.data : "");
    llmc_buf_free(&b);
    return text;
}

static void features_free(Features *f) {
    for (uint32_t i = 0; i < f->n; i++) free(f->items[i].name);
    free(f->items);
}

char *cc_jit_features_common(const char *const *strings, uint32_t n) {
    Features all = {0};
    for (uint32_t k = 0; k < n; k++) features_parse(&all, strings[k]);
    for (uint32_t i = 0; i < all.n; i++) { /* on only where every string has it on */
        for (uint32_t k = 0; k < n && all.items[i].on; k++) {
            Features one = {0};
            features_parse(&one, strings[k]);
            Feature *x = feature_find(&one, all.items[i].name);
            all.items[i].on = x && x->on;
            features_free(&one);
        }
    }
    char *llvm = features_text(&all);
    char *text = llmc_xstrdup(llvm);
    LLVMDisposeMessage(llvm);
    features_free(&all);
    return text;
}

/* Whether the feature list s turns `name` on: its last mention is "+name" (an exact name,
 * so "+avx512fp16" is not avx512f). */
static bool features_on(const char *s, const char *name) {
    Features f = {0};
    features_parse(&f, s);
    Feature *x = feature_find(&f, name);
    bool on = x && x->on;
    features_free(&f);
    return on;
}

/* The host's features, edited by LLMC_JIT_FEATURES ("-avx512f,+x"). */
static char *host_features(void) {
    char *host = LLVMGetHostCPUFeatures();
    const char *edit = getenv("LLMC_JIT_FEATURES");
    if (!edit || !*edit) return host;
    Features f = {0};
    features_parse(&f, host);
    features_parse(&f, edit);
    LLVMDisposeMessage(host);
    char *text = features_text(&f);
    features_free(&f);
    return text;
}

CcJit *cc_jit_new(LlmcErr *err) { return cc_jit_new_for(NULL, NULL, err); }

CcJit *cc_jit_new_for(const char *cpu, const char *features, LlmcErr *err) {
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter()) {
        llmc_err_set(err, "jit: LLVM has no native target for this host");
        return NULL;
    }
    CcJit *jit = llmc_xcalloc(1, sizeof *jit);
    jit->triple = LLVMGetDefaultTargetTriple();
    jit->cpu = cpu ? LLVMCreateMessage(cpu) : LLVMGetHostCPUName();
    jit->features = features ? LLVMCreateMessage(features) : host_features();
    jit->avx512 = features_on(jit->features, "avx512f"); /* a whole name: not +avx512fp16 */
    /* LLVM turns avx512bf16 off with what it needs (avx512bw, avx512f), so all three */
    jit->avx512bf16 = features_on(jit->features, "avx512bf16") && features_on(jit->features, "avx512bw") &&
                      features_on(jit->features, "avx512f");
    jit->tm = host_tm(jit);
    LLVMTargetMachineRef jit_tm = host_tm(jit); /* consumed by the JTMB below */
    if (!jit->tm || !jit_tm) {
        llmc_err_set(err, "jit: cannot create a target machine for %s (%s)", jit->triple, jit->cpu);
        if (jit_tm) LLVMDisposeTargetMachine(jit_tm);
        cc_jit_free(jit);
        return NULL;
    }
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(jit->tm);
    jit->layout = LLVMCopyStringRepOfTargetData(td);
    LLVMDisposeTargetData(td);

    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
        builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(jit_tm));
    /* LLVMOrcCreateLLJIT takes the builder, on success and failure. */
    if (!take_error(LLVMOrcCreateLLJIT(&jit->lljit, builder), "jit: creating LLJIT", err)) {
        jit->lljit = NULL;
        cc_jit_free(jit);
        return NULL;
    }
    return jit;
}

void cc_jit_free(CcJit *jit) {
    if (!jit) return;
    if (jit->lljit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(jit->lljit);
        if (e) LLVMConsumeError(e); /* nothing useful to do at teardown */
    }
    if (jit->tm) LLVMDisposeTargetMachine(jit->tm);
    free(jit->memo);
    LLVMDisposeMessage(jit->triple);
    LLVMDisposeMessage(jit->cpu);
    LLVMDisposeMessage(jit->features);
    LLVMDisposeMessage(jit->layout);
    free(jit);
}

/* --- kernels by signature (codegen_kernel.c) ------------------------------------------ */

CcKernelFn cc_jit_memo_find(const CcJit *jit, CcObjKey sig) {
    if (!jit->memo_cap) return NULL;
    for (uint32_t i = (uint32_t)sig.lo & (jit->memo_cap - 1);; i = (i + 1) & (jit->memo_cap - 1)) {
        const CcJitMemo *m = &jit->memo[i];
        if (!m->fn) return NULL;
        if (m->sig.lo == sig.lo && m->sig.hi == sig.hi) return m->fn;
    }
}

void cc_jit_memo_add(CcJit *jit, CcObjKey sig, CcKernelFn fn) {
    if (2 * (jit->memo_n + 1) > jit->memo_cap) { /* keep it at most half full */
        uint32_t cap = jit->memo_cap ? 2 * jit->memo_cap : 256;
        CcJitMemo *old = jit->memo;
        uint32_t old_cap = jit->memo_cap;
        jit->memo = llmc_xcalloc(cap, sizeof *jit->memo);
        jit->memo_cap = cap;
        jit->memo_n = 0;
        for (uint32_t i = 0; i < old_cap; i++)
            if (old[i].fn) cc_jit_memo_add(jit, old[i].sig, old[i].fn);
        free(old);
    }
    uint32_t i = (uint32_t)sig.lo & (jit->memo_cap - 1);
    while (jit->memo[i].fn && !(jit->memo[i].sig.lo == sig.lo && jit->memo[i].sig.hi == sig.hi))
        i = (i + 1) & (jit->memo_cap - 1);
    if (!jit->memo[i].fn) jit->memo_n++;
    jit->memo[i] = (CcJitMemo){sig, fn};
}

const char *cc_jit_cpu(const CcJit *jit, const char **features) {
    if (features) *features = jit->features;
    return jit->cpu;
}

bool cc_jit_has_avx512(const CcJit *jit) { return jit->avx512; }

bool cc_jit_has_avx512bf16(const CcJit *jit) { return jit->avx512bf16; }

uint32_t cc_jit_next_id(CcJit *jit) { return jit->next_id++; }

void cc_jit_prepare_module(const CcJit *jit, LLVMModuleRef mod) {
    LLVMSetTarget(mod, jit->triple);
    LLVMSetDataLayout(mod, jit->layout);
}

/* Verifies mod and runs default<O3> on it with tm (the JIT's, or a thread's own). */
static bool optimize_with(LLVMTargetMachineRef tm, LLVMModuleRef mod, LlmcErr *err) {
    char *msg = NULL;
    if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
        llmc_err_set(err, "jit: generated module does not verify: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return false;
    }
    LLVMDisposeMessage(msg);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetVerifyEach(opts, 0);
    LLVMErrorRef e = LLVMRunPasses(mod, "default<O3>", tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    return take_error(e, "jit: running default<O3>", err);
}

bool cc_jit_optimize(const CcJit *jit, LLVMModuleRef mod, LlmcErr *err) { return optimize_with(jit->tm, mod, err); }

bool cc_jit_add_module(CcJit *jit, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsctx, LlmcErr *err) {
    cc_jit_prepare_module(jit, mod);
    if (!cc_jit_optimize(jit, mod, err)) {
        LLVMDisposeModule(mod);
        LLVMOrcDisposeThreadSafeContext(tsctx);
        return false;
    }
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsctx);
    LLVMOrcDisposeThreadSafeContext(tsctx); /* the module keeps its own reference */
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(jit->lljit, LLVMOrcLLJITGetMainJITDylib(jit->lljit), tsm);
    /* The JIT owns tsm from here, on failure too (LLJIT.cpp wraps it in a unique_ptr). */
    return take_error(e, "jit: adding module", err);
}

void *cc_jit_lookup(CcJit *jit, const char *name, LlmcErr *err) {
    LLVMOrcExecutorAddress addr = 0;
    char what[256];
    snprintf(what, sizeof what, "jit: looking up %s", name);
    if (!take_error(LLVMOrcLLJITLookup(jit->lljit, &addr, name), what, err)) return NULL;
    if (!addr) {
        llmc_err_set(err, "jit: %s resolved to address 0", name);
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}

CcObjCache *cc_jit_cache(const CcJit *jit) { return jit->cache; }

CcObjCache *cc_jit_set_cache(CcJit *jit, CcObjCache *cache) {
    CcObjCache *old = jit->cache;
    jit->cache = cache;
    return old;
}

bool cc_jit_add_kernel(CcJit *jit, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsctx, const char *base,
                       CcKernelFn *fn, LlmcErr *err) {
    if (!mod) { /* the builder failed and said why */
        LLVMOrcDisposeThreadSafeContext(tsctx);
        return false;
    }
    void *addr = NULL;
    if (jit->cache) {
        if (!cc_jit_add_kernel_cached(jit, jit->cache, mod, tsctx, base, &addr, NULL, err)) return false;
    } else {
        LLVMValueRef f = LLVMGetNamedFunction(mod, base);
        if (!f || LLVMIsDeclaration(f)) {
            llmc_err_set(err, "jit: kernel module defines no function %s", base);
            LLVMDisposeModule(mod);
            LLVMOrcDisposeThreadSafeContext(tsctx);
            return false;
        }
        char name[96];
        snprintf(name, sizeof name, "%s_%u", base, jit->next_id++);
        LLVMSetValueName2(f, name, strlen(name));
        if (!cc_jit_add_module(jit, mod, tsctx, err)) return false;
        addr = cc_jit_lookup(jit, name, err);
        if (!addr) return false;
    }
    /* ISO C has no function <-> object pointer conversion; POSIX (dlsym) guarantees it. */
    memcpy(fn, &addr, sizeof addr);
    return true;
}

bool cc_jit_check_module(const CcJit *jit, LLVMModuleRef mod, bool optimize, LlmcErr *err) {
    if (optimize) return cc_jit_optimize(jit, mod, err);
    char *msg = NULL;
    bool ok = !LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg);
    if (!ok) llmc_err_set(err, "kernel %s does not verify: %s", LLVMGetModuleIdentifier(mod, &(size_t){0}),
                          msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return ok;
}

char *cc_jit_module_text(const CcJit *jit, LLVMModuleRef mod, CcTextKind kind, LlmcErr *err) {
    cc_jit_prepare_module(jit, mod);
    if (!cc_jit_check_module(jit, mod, kind != CC_TEXT_LLVM, err)) return NULL;
    if (kind != CC_TEXT_ASM) {
        char *s = LLVMPrintModuleToString(mod);
        char *text = llmc_xstrdup(s);
        LLVMDisposeMessage(s);
        return text;
    }
    char *msg = NULL;
    LLVMMemoryBufferRef mb = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(jit->tm, mod, LLVMAssemblyFile, &msg, &mb)) {
        llmc_err_set(err, "jit: emitting assembly: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    size_t n = LLVMGetBufferSize(mb);
    char *text = llmc_xcalloc(n + 1, 1);
    memcpy(text, LLVMGetBufferStart(mb), n);
    LLVMDisposeMemoryBuffer(mb);
    return text;
}

char *cc_jit_module_ir(const CcJit *jit, LLVMModuleRef mod, bool optimize, LlmcErr *err) {
    return cc_jit_module_text(jit, mod, optimize ? CC_TEXT_LLVM_OPT : CC_TEXT_LLVM, err);
}

/* --- object code (for compiler/objcache.c) ------------------------------------------- */

/* Prepares, optimizes and emits mod as an object file with tm: the JIT's own, or one per
 * thread, so several threads may each compile a module (each in its own context). */
static bool emit_object_with(const CcJit *jit, LLVMTargetMachineRef tm, LLVMModuleRef mod, char **obj, size_t *len,
                             LlmcErr *err) {
    *obj = NULL;
    *len = 0;
    cc_jit_prepare_module(jit, mod);
    if (!optimize_with(tm, mod, err)) return false;
    char *msg = NULL;
    LLVMMemoryBufferRef mb = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &mb)) {
        llmc_err_set(err, "jit: emitting an object file: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return false;
    }
    size_t n = LLVMGetBufferSize(mb);
    *obj = llmc_xmalloc(n ? n : 1);
    memcpy(*obj, LLVMGetBufferStart(mb), n);
    *len = n;
    LLVMDisposeMemoryBuffer(mb);
    return true;
}

typedef struct EmitWork {
    const CcJit *jit;
    CcEmitJob *jobs;
    uint32_t n;
    _Atomic uint32_t next;
} EmitWork;

static void *emit_worker(void *arg) {
    EmitWork *w = arg;
    LLVMTargetMachineRef tm = host_tm(w->jit);
    for (uint32_t i; (i = atomic_fetch_add(&w->next, 1)) < w->n;) {
        CcEmitJob *j = &w->jobs[i];
        if (!tm) {
            llmc_err_set(&j->err, "jit: cannot create a target machine for %s", w->jit->triple);
            continue;
        }
        j->ok = emit_object_with(w->jit, tm, j->mod, &j->obj, &j->len, &j->err);
    }
    if (tm) LLVMDisposeTargetMachine(tm);
    return NULL;
}

void cc_jit_emit_objects(const CcJit *jit, CcEmitJob *jobs, uint32_t n, uint32_t threads) {
    EmitWork w = {.jit = jit, .jobs = jobs, .n = n};
    atomic_init(&w.next, 0);
    if (threads < 1) threads = 1;
    if (threads > n) threads = n;
    pthread_t *tid = llmc_xcalloc(threads ? threads : 1, sizeof *tid);
    uint32_t started = 0;
    for (uint32_t t = 1; t < threads; t++)
        if (pthread_create(&tid[t], NULL, emit_worker, &w) == 0) started = t;
        else break;
    emit_worker(&w); /* the caller is a worker too; every job is taken by someone */
    for (uint32_t t = 1; t <= started; t++) pthread_join(tid[t], NULL);
    free(tid);
}

bool cc_jit_emit_object(const CcJit *jit, LLVMModuleRef mod, char **obj, size_t *len, LlmcErr *err) {
    return emit_object_with(jit, jit->tm, mod, obj, len, err);
}

bool cc_jit_add_object(CcJit *jit, const void *obj, size_t len, const char *name, LlmcErr *err) {
    LLVMMemoryBufferRef mb = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, name);
    /* LLVMOrcLLJITAddObjectFile takes the buffer, on success and failure. */
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFile(jit->lljit, LLVMOrcLLJITGetMainJITDylib(jit->lljit), mb);
    return take_error(e, "jit: adding object file", err);
}

void *cc_jit_find(CcJit *jit, const char *name) {
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(jit->lljit, &addr, name);
    if (e) {
        LLVMConsumeError(e); /* "symbols not found": the answer, not a failure */
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}
