/* compiler/shard_report.c — what a sharded step communicates and holds, per rank: the
 * report under `llmc --emit=sharded` (after the sharded graphs' .llir text).
 *
 * For @micro and @update, each fused (cc_fuse) as the executor runs them, every
 * collective in schedule order: its kernel, op, node, scope, dtype and element counts,
 * the bytes this rank sends, and where the executor starts and waits for it
 * (runtime/exec.c): every collective starts at its kernel and is waited for just before
 * cc_fusion_first_reader of its result, so the kernels in between hide the transfer. A
 * prefetch (a collective of a graph input: the FSDP param gather) with nothing, or only
 * light kernels, in between is flagged; the others are gradient reductions, overlapping
 * the rest of the backward. Then the bytes per micro run and per optimizer step next to the textbook
 * formula of the strategy, and the per-rank memory: params, grads, optimizer state and
 * each graph's arena peak (cc_memplan).
 *
 * Bytes sent are runtime/comm.c's count (its stats.bytes_sent), so they equal what
 * llmrun measures: all_gather (N-1)*count*esize (count = per-rank input elements);
 * reduce_scatter (N-1)*count*esize (count = per-rank output elements); all_reduce
 * (count - mine)*esize + (N-1)*mine*esize, mine = this rank's block [r*count/N,
 * (r+1)*count/N); 0 for a zero count or one rank. all_reduce differs between ranks by at
 * most a few elements; the table shows rank 0, the totals every rank's range.
 *
 * Every line starts with "// ", so the output after the graphs stays a valid .llir
 * module. The collective table's rows are fixed columns (tests read them back).
 *
 * Deliberately not here: timing (no cost model; "in flight" counts kernels, not
 * seconds), the sharding itself (shard.c), anything the runtime adds outside the graphs
 * (the gradient accumulator's tree sums, checkpoint I/O).
 */
#include "compiler_int.h"

#include <stdlib.h>
#include <string.h>

/* The bytes rank `rank` of `ranks` sends for a collective whose operand has `numel`
 * elements of `esize` bytes: runtime/comm.c's count (see the banner). */
static uint64_t comm_bytes(IrOp op, uint64_t numel, uint64_t esize, uint32_t ranks, uint32_t rank) {
    uint64_t n = ranks;
    if (op == IR_OP_ALL_GATHER) return (n - 1) * numel * esize;
    if (op == IR_OP_REDUCE_SCATTER) return (n - 1) * (numel / n) * esize;
    if (op != IR_OP_ALL_REDUCE || n <= 1 || numel == 0) return 0;
    uint64_t mine = numel * (rank + 1) / n - numel * rank / n; /* comm.c's block rule */
    return (numel - mine) * esize + (n - 1) * mine * esize;
}

static bool is_collective(IrOp op) {
    return op == IR_OP_ALL_GATHER || op == IR_OP_REDUCE_SCATTER || op == IR_OP_ALL_REDUCE;
}

/* A scope's leading part up to its first numeric component ("layers.3.attn.wq" ->
 * "layers.3"), else its first component ("tok_emb", "loss"); "-" for none. */
static void scope_head(const char *s, char *buf, size_t cap) {
    if (!s || !*s) {
        snprintf(buf, cap, "-");
        return;
    }
    size_t end = strlen(s), i = 0, first = end;
    while (i < end) {
        size_t j = i;
        while (j < end && s[j] != '.') j++;
        if (first == end) first = j;
        bool digits = j > i;
        for (size_t k = i; k < j; k++) digits &= s[k] >= '0' && s[k] <= '9';
        if (digits) {
            first = j;
            break;
        }
        i = j + 1;
    }
    snprintf(buf, cap, "%.*s", (int)(first < cap ? first : cap - 1), s);
}

/* "37 kernels of layers.0 [matmul 12, row 4, ...]" or "12 kernels of layers.1 (8),
 * layers.0 (4) [...]": the compute (non-collective) kernels in [from, to), by scope head
 * in order of first appearance, then by kind. Returns the count; *heavy: how many of them
 * are matmul, reduce or row kernels (the ones with time to hide a transfer behind). */
static uint32_t describe_between(const CcFusion *f, uint32_t from, uint32_t to, LlmcBuf *out, uint32_t *heavy) {
    const IrGraph *g = f->g;
    enum { MAX_HEADS = 8 };
    char heads[MAX_HEADS][64];
    uint32_t counts[MAX_HEADS] = {0}, kinds[CC_KERNEL_COUNT] = {0}, n_heads = 0, total = 0, other = 0;
    for (uint32_t k = from; k < to && k < f->n_kernels; k++) {
        const IrNode *root = ir_graph_node(g, f->kernels[k].root);
        if (f->kernels[k].kind == CC_KERNEL_RUNTIME && is_collective(root->op)) continue;
        total++;
        kinds[f->kernels[k].kind]++;
        char h[64];
        scope_head(ir_graph_str(g, root->scope), h, sizeof h);
        uint32_t i = 0;
        while (i < n_heads && strcmp(heads[i], h) != 0) i++;
        if (i == n_heads && n_heads < MAX_HEADS) memcpy(heads[n_heads++], h, sizeof h);
        if (i < n_heads) counts[i]++;
        else other++;
    }
    *heavy = kinds[CC_KERNEL_MATMUL] + kinds[CC_KERNEL_REDUCE] + kinds[CC_KERNEL_ROW] + kinds[CC_KERNEL_ATTENTION];
    if (!total) return 0;
    llmc_buf_printf(out, "%u kernel%s of ", total, total == 1 ? "" : "s");
    if (n_heads == 1 && !other) {
        llmc_buf_printf(out, "%s", heads[0]);
    } else {
        for (uint32_t i = 0; i < n_heads; i++) llmc_buf_printf(out, "%s%s (%u)", i ? ", " : "", heads[i], counts[i]);
        if (other) llmc_buf_printf(out, ", others (%u)", other);
    }
    llmc_buf_printf(out, " [");
    for (int k = CC_KERNEL_INVALID + 1, first = 1; k < CC_KERNEL_COUNT; k++)
        if (kinds[k]) {
            llmc_buf_printf(out, "%s%s %u", first ? "" : ", ", cc_kernel_kind_name((CcKernelKind)k), kinds[k]);
            first = 0;
        }
    llmc_buf_printf(out, "]");
    return total;
}

/* What one graph communicates and needs. */
typedef struct GraphComm {
    uint64_t *sent;      /* [ranks] bytes each rank sends per run */
    uint64_t by_op[3];   /* rank 0's bytes: all_gather, reduce_scatter, all_reduce */
    uint32_t n_by_op[3];
    uint32_t n_coll, n_kernels;
    uint32_t n_unhidden; /* prefetches with no kernel in flight */
    uint32_t n_light;    /* ... with kernels in flight, none a matmul, reduce or row */
    uint64_t arena;      /* cc_memplan peak */
} GraphComm;

static int op_slot(IrOp op) { return op == IR_OP_ALL_GATHER ? 0 : op == IR_OP_REDUCE_SCATTER ? 1 : 2; }
static const char *const slot_names[3] = {"all_gather", "reduce_scatter", "all_reduce"};

/* The collective table of one graph into out; fills gc. */
static bool report_graph(const IrGraph *g, uint32_t ranks, GraphComm *gc, LlmcBuf *out, LlmcErr *err) {
    CcFusion f;
    if (!cc_fuse(g, &f, err)) return false;
    CcMemPlan mp;
    if (!cc_memplan(&f, &mp, err)) {
        cc_fusion_free(&f);
        return false;
    }
    gc->arena = mp.peak_bytes;
    gc->n_kernels = f.n_kernels;
    cc_memplan_free(&mp);
    for (uint32_t k = 0; k < f.n_kernels; k++)
        gc->n_coll += f.kernels[k].kind == CC_KERNEL_RUNTIME && is_collective(ir_graph_node(g, f.kernels[k].root)->op);
    llmc_buf_printf(out, "// @%s: %u kernels, %u collectives (bytes sent by rank 0 of %u)\n", ir_graph_name(g),
                    f.n_kernels, gc->n_coll, ranks);
    if (gc->n_coll)
        llmc_buf_printf(out, "//   %-7s %-14s %-7s %-12s %-5s %-21s %10s  %-7s %-7s in flight\n", "kernel", "op", "node",
                        "scope", "dtype", "elements in -> out", "bytes", "start", "wait");
    for (uint32_t k = 0; k < f.n_kernels; k++) {
        IrId root = f.kernels[k].root;
        const IrNode *n = ir_graph_node(g, root);
        if (f.kernels[k].kind != CC_KERNEL_RUNTIME || !is_collective(n->op)) continue;
        const IrNode *x = ir_graph_node(g, n->operands[0]);
        uint64_t numel = (uint64_t)ir_type_numel(&x->type), esize = ir_dtype_size(n->type.dtype);
        for (uint32_t r = 0; r < ranks; r++) gc->sent[r] += comm_bytes(n->op, numel, esize, ranks, r);
        uint64_t bytes = comm_bytes(n->op, numel, esize, ranks, 0);
        gc->by_op[op_slot(n->op)] += bytes;
        gc->n_by_op[op_slot(n->op)]++;
        bool prefetch = x->op == IR_OP_INPUT || x->op == IR_OP_CONST;
        uint32_t wait = cc_fusion_first_reader(&f, root); /* runtime/exec.c's rule */
        char node[16], kern[16], wait_s[16], sizes[48], scope[64];
        snprintf(kern, sizeof kern, "%%k%u", k);
        snprintf(node, sizeof node, "%%%u", root);
        if (wait < f.n_kernels) snprintf(wait_s, sizeof wait_s, "%%k%u", wait);
        else snprintf(wait_s, sizeof wait_s, "end");
        snprintf(sizes, sizeof sizes, "%llu -> %llu", (unsigned long long)numel,
                 (unsigned long long)ir_type_numel(&n->type));
        snprintf(scope, sizeof scope, "%s", n->scope ? ir_graph_str(g, n->scope) : "-");
        llmc_buf_printf(out, "//   %-7s %-14s %-7s %-12s %-5s %-21s %10llu  %-7s %-7s ", kern, ir_op_name(n->op), node,
                        scope, ir_dtype_name(n->type.dtype), sizes, (unsigned long long)bytes, kern, wait_s);
        llmc_buf_printf(out, prefetch ? "prefetch: " : "overlap: ");
        uint32_t heavy = 0;
        if (describe_between(&f, k + 1, wait, out, &heavy)) {
            llmc_buf_printf(out, " run while it is in flight");
            if (!heavy && prefetch) {
                llmc_buf_printf(out, "; LIGHT: none is a matmul, reduce or row kernel");
                gc->n_light++;
            }
        } else {
            llmc_buf_printf(out, "NOTHING runs while it is in flight (not hidden)");
            gc->n_unhidden += prefetch;
        }
        if (wait < f.n_kernels) {
            const CcKernel *w = &f.kernels[wait];
            llmc_buf_printf(out, "; waited by %s %%%u (%s)\n", cc_kernel_kind_name(w->kind), w->root,
                            ir_graph_str(g, ir_graph_node(g, w->root)->scope));
        } else {
            llmc_buf_printf(out, "\n");
        }
    }
    cc_fusion_free(&f);
    return true;
}

/* Bytes of g's inputs of `role` whose name starts with prefix (NULL: any). */
static uint64_t input_bytes(const IrGraph *g, IrRole role, const char *prefix, uint32_t *count) {
    uint64_t b = 0;
    *count = 0;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = &g->nodes[id];
        if (n->op != IR_OP_INPUT || n->attrs.input.role != role) continue;
        if (prefix && strncmp(ir_graph_str(g, n->attrs.input.name), prefix, strlen(prefix)) != 0) continue;
        b += ir_type_bytes(&n->type);
        (*count)++;
    }
    return b;
}

static void range_line(LlmcBuf *out, const char *label, const uint64_t *v, uint32_t ranks, const char *note) {
    uint64_t lo = v[0], hi = v[0];
    for (uint32_t r = 1; r < ranks; r++) {
        lo = v[r] < lo ? v[r] : lo;
        hi = v[r] > hi ? v[r] : hi;
    }
    llmc_buf_printf(out, "//   %-22s %14llu B  (%.3f MiB)", label, (unsigned long long)v[0], (double)v[0] / 1048576.0);
    if (lo != hi) llmc_buf_printf(out, "  [ranks: %llu .. %llu]", (unsigned long long)lo, (unsigned long long)hi);
    llmc_buf_printf(out, "%s\n", note ? note : "");
}

static void mem_line(LlmcBuf *out, const char *label, uint64_t b, const char *note) {
    llmc_buf_printf(out, "//   %-22s %14llu B  (%.3f MiB)  %s\n", label, (unsigned long long)b, (double)b / 1048576.0,
                    note);
}

/* What one rank holds between steps: param inputs of @micro, its grad.* outputs, the
 * opt.* inputs of @update (bytes and counts). */
static void state_bytes(const IrGraph *micro, const IrGraph *update, uint64_t *params, uint32_t *n_params,
                        uint64_t *grads, uint32_t *n_grads, uint64_t *opt, uint32_t *n_opt) {
    *params = input_bytes(micro, IR_ROLE_PARAM, NULL, n_params);
    *opt = input_bytes(update, IR_ROLE_STATE, "opt.", n_opt);
    *grads = 0;
    *n_grads = 0;
    for (uint32_t o = 0; o < micro->n_outputs; o++)
        if (strncmp(ir_graph_str(micro, micro->outputs[o].name), "grad.", 5) == 0) {
            *grads += ir_type_bytes(&ir_graph_node(micro, micro->outputs[o].node)->type);
            (*n_grads)++;
        }
}

/* A graph's arena peak as the executor plans it. */
static bool arena_of(const IrGraph *g, uint64_t *bytes, LlmcErr *err) {
    CcFusion f;
    if (!cc_fuse(g, &f, err)) return false;
    CcMemPlan mp;
    bool ok = cc_memplan(&f, &mp, err);
    if (ok) *bytes = mp.peak_bytes;
    if (ok) cc_memplan_free(&mp);
    cc_fusion_free(&f);
    return ok;
}

bool cc_shard_memory(const CcTrainStep *sharded, CcShardMemory *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    uint32_t n;
    state_bytes(sharded->micro, sharded->update, &out->params, &n, &out->grads, &n, &out->optimizer, &n);
    if (!arena_of(sharded->micro, &out->arena_micro, err) || !arena_of(sharded->update, &out->arena_update, err))
        return false;
    out->peak = out->params + out->grads + out->optimizer +
                (out->arena_micro > out->arena_update ? out->arena_micro : out->arena_update);
    return true;
}

bool cc_shard_report(const CcTrainStep *sharded, const CcShardPlan *plan, LlmcBuf *out, LlmcErr *err) {
    uint32_t N = plan->ranks;
    if (N < 1 || !sharded->micro || !sharded->update) {
        llmc_err_set(err, "internal error: shard report: no sharded step");
        return false;
    }
    const IrGraph *micro = sharded->micro, *update = sharded->update;
    const char *strat = cc_shard_name(plan->strategy);
    llmc_buf_printf(out, "// ---- shard report: strategy %s, %u rank%s ----\n", strat, N, N == 1 ? "" : "s");
    GraphComm gc[2] = {{0}, {0}};
    gc[0].sent = llmc_xcalloc(N, sizeof *gc[0].sent);
    gc[1].sent = llmc_xcalloc(N, sizeof *gc[1].sent);
    bool ok = report_graph(micro, N, &gc[0], out, err) && report_graph(update, N, &gc[1], out, err);
    if (!ok) goto done;

    /* --- bytes ---------------------------------------------------------------------- */
    int64_t acc = micro->train.present ? micro->train.accumulate : 1;
    uint64_t rounds = (uint64_t)(acc / (int64_t)N);
    uint64_t *step = llmc_xcalloc(N, sizeof *step);
    for (uint32_t r = 0; r < N; r++) step[r] = gc[0].sent[r] * rounds + gc[1].sent[r];
    /* P: the unsharded parameter bytes (without the flat vectors' padding) */
    uint64_t P = 0, padded = 0;
    uint32_t n_param = 0;
    if (plan->strategy == CC_SHARD_FULL) {
        for (uint32_t i = 0; i < plan->n_groups; i++) {
            P += plan->groups[i].numel * ir_dtype_size(plan->groups[i].dtype);
            padded += (uint64_t)N * plan->groups[i].shard * ir_dtype_size(plan->groups[i].dtype);
        }
    } else {
        P = input_bytes(micro, IR_ROLE_PARAM, NULL, &n_param);
        for (uint32_t i = 0; i < plan->n_groups; i++)
            padded += (uint64_t)N * plan->groups[i].shard * ir_dtype_size(plan->groups[i].dtype);
    }
    double frac = (double)P * (double)(N - 1) / (double)N; /* P*(N-1)/N */
    llmc_buf_printf(out, "// communication per rank (bytes sent, as runtime/comm.c counts them; rank 0 unless a "
                         "range is shown):\n");
    for (int i = 0; i < 2; i++) {
        char label[64], note[256] = "";
        snprintf(label, sizeof label, "@%s per run", ir_graph_name(i ? update : micro));
        size_t at = 0;
        for (int s = 0; s < 3; s++)
            if (gc[i].n_by_op[s] && at < sizeof note)
                at += (size_t)snprintf(note + at, sizeof note - at, "%s %u x %s %llu", at ? "," : "  =", gc[i].n_by_op[s],
                                       slot_names[s], (unsigned long long)gc[i].by_op[s]);
        range_line(out, label, gc[i].sent, N, note);
    }
    char note[160];
    snprintf(note, sizeof note, "  = @%s x %llu round%s (accumulate %lld / %u ranks) + @%s", ir_graph_name(micro),
             (unsigned long long)rounds, rounds == 1 ? "" : "s", (long long)acc, N, ir_graph_name(update));
    range_line(out, "per optimizer step", step, N, note);
    llmc_buf_printf(out, "//   textbook, P = %llu B of parameters", (unsigned long long)P);
    if (padded && padded != P) llmc_buf_printf(out, " (%llu B as padded flat vectors)", (unsigned long long)padded);
    llmc_buf_printf(out, ", N = %u, P*(N-1)/N = %.0f B:\n", N, frac);
    switch (plan->strategy) {
    case CC_SHARD_NONE:
        llmc_buf_printf(out, "//     DDP: ~2*P*(N-1)/N per all-reduce of all grads = %.0f B; here every micro run "
                             "all-reduces them: x %llu round%s = %.0f B per step\n",
                        2 * frac, (unsigned long long)rounds, rounds == 1 ? "" : "s", 2 * frac * (double)rounds);
        break;
    case CC_SHARD_GRAD:
        llmc_buf_printf(out, "//     ZeRO-2: ~2*P*(N-1)/N per step (reduce-scatter grads + all-gather new params) = "
                             "%.0f B; here every micro run reduce-scatters: %llu x P*(N-1)/N + P*(N-1)/N = %.0f B "
                             "per step\n",
                        2 * frac, (unsigned long long)rounds, frac * (double)(rounds + 1));
        break;
    case CC_SHARD_FULL:
        llmc_buf_printf(out, "//     FSDP: ~3*P*(N-1)/N per micro run (forward gather, backward gather, reduce-scatter) "
                             "= %.0f B; x %llu round%s = %.0f B per step\n",
                        3 * frac, (unsigned long long)rounds, rounds == 1 ? "" : "s", 3 * frac * (double)rounds);
        llmc_buf_printf(out, "//     under full the params are gathered again for every micro run (the cost of "
                             "gradient accumulation): gathers ~2*P*(N-1)/N x %llu round%s = %.0f B per step, %.0f B "
                             "more than one round's\n",
                        (unsigned long long)rounds, rounds == 1 ? "" : "s", 2 * frac * (double)rounds,
                        2 * frac * (double)(rounds ? rounds - 1 : 0));
        break;
    case CC_SHARD_INVALID:
    case CC_SHARD_COUNT: break;
    }
    free(step);

    /* --- memory --------------------------------------------------------------------- */
    uint32_t n_opt = 0, n_grads = 0;
    uint64_t params, grads, opt;
    state_bytes(micro, update, &params, &n_param, &grads, &n_grads, &opt, &n_opt);
    uint64_t persistent = params + grads + opt, arena = gc[0].arena > gc[1].arena ? gc[0].arena : gc[1].arena;
    char m[128];
    llmc_buf_printf(out, "// memory per rank:\n");
    snprintf(m, sizeof m, "%u param inputs of @%s", n_param, ir_graph_name(micro));
    mem_line(out, "params", params, m);
    snprintf(m, sizeof m, "%u grad.* outputs of @%s", n_grads, ir_graph_name(micro));
    mem_line(out, "grads", grads, m);
    snprintf(m, sizeof m, "%u opt.* inputs of @%s", n_opt, ir_graph_name(update));
    mem_line(out, "optimizer", opt, m);
    mem_line(out, "persistent", persistent, "params + grads + optimizer");
    snprintf(m, sizeof m, "cc_memplan peak of %u kernels", gc[0].n_kernels);
    mem_line(out, "arena @micro", gc[0].arena, m);
    snprintf(m, sizeof m, "cc_memplan peak of %u kernels", gc[1].n_kernels);
    mem_line(out, "arena @update", gc[1].arena, m);
    mem_line(out, "peak", persistent + arena, "persistent + max arena");
    uint32_t unhidden = gc[0].n_unhidden + gc[1].n_unhidden, light = gc[0].n_light + gc[1].n_light;
    if (unhidden)
        llmc_buf_printf(out, "// note: %u prefetch%s with nothing in flight (NOTHING above)\n", unhidden,
                        unhidden == 1 ? "" : "es");
    if (light)
        llmc_buf_printf(out, "// note: %u prefetch%s with only light kernels in flight (LIGHT above: movement, index, "
                             "elementwise)\n", light, light == 1 ? "" : "es");

done:
    free(gc[0].sent);
    free(gc[1].sent);
    return ok;
}
