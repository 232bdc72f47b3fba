/* compiler/fuse.c — fusion: groups a graph's nodes into kernels (cc_fuse), prints them
 * in an HLO-like `fusion` form (llmc --emit=fused).
 *
 * The result is a partition: every node that is not an `input` or a `const` belongs to
 * exactly one kernel; kernels are listed in a valid execution order. Rules of this slice
 * (in the order cc_fuse applies them):
 *
 *   1. Sources (`input`, `const`) are no kernel. Collectives and `extern_call` are RUNTIME
 *      kernels of one node (the runtime carries them out). gather, scatter_add, topk,
 *      onehot, iota, cumsum and rand are INDEX kernels of one node (plus the movement
 *      ops of rule 5).
 *   2. ELEMENTWISE: walking ids downward, an elementwise node joins the kernel of its
 *      users when all of its users are in one ELEMENTWISE kernel whose nodes have its
 *      shape (the single-consumer rule, generalized: several users may all sit in that
 *      kernel). Being a graph output does not prevent it; the kernel then has that value
 *      as an extra output. A `broadcast`, `reshape` or `permute` joins the same way: of
 *      a rank-0 value, a broadcast becomes a splatted scalar operand; otherwise (no graph
 *      output; the kernel's shape when a non-movement member reads it, any shape when
 *      only movement members do, so chains such as reshape-then-broadcast join whole),
 *      index arithmetic — the kernel reads the chain's source buffer at the index each
 *      output element maps to through the chain. A node read by a movement op never
 *      joins its user's ELEMENTWISE kernel (it is the buffer the chain reads; a square
 *      permute or identity reshape would otherwise pull it in). Splat constants are
 *      literals, never inputs. That is
 *      exactly the node set cc_codegen_elementwise accepts, so every ELEMENTWISE kernel
 *      compiles with it — one function computing every output (codegen_kernel.c).
 *   3. MATMUL: a matmul whose one user (not a graph output, not a movement op: an epilogue
 *      reads the matmul's element where it is written) lies in an ELEMENTWISE
 *      kernel of the matmul's shape absorbs that kernel as its epilogue (bias add via a
 *      broadcast, activation, residual add, scaling...), unless that kernel computes on
 *      bf16 (the epilogue computes in f32 / f64; it may end in casts to bf16) or has no
 *      output of the matmul's type for the K-sums (a root cast to bf16 and nothing else
 *      of f32 read outside).
 *   4. REDUCE: a reduction absorbs the ELEMENTWISE kernel that computes its operand when
 *      that operand has no other user and the kernel has no other output (its producers
 *      then have no other users).
 *   4a. Nested REDUCE: a reduction whose operand is another reduction's result, read by
 *      nothing else (not over the last axis, which may seed rule 4b), is one kernel with
 *      it (sum over the sequence, then over the batch: bias and gain gradients); the
 *      inner sums are computed in the outer loop, same order and dtype, same bytes.
 *   4b. ROW: from each last-axis REDUCE kernel over X = [..., len] (len >= 2), a set of
 *      groups grows by neighbours — ELEMENTWISE, REDUCE, ROW and MOVEMENT groups that
 *      read a member or are read by one, consumers first, then producers too — one group
 *      at a time, each kept when (a) cc_row_supported accepts the set as a kernel (the row
 *      codegen is the one judge of what a ROW kernel holds: last-axis reductions over X,
 *      elementwise ops of shape X or of a row shape, broadcasts of row values back to X,
 *      chains over kernel inputs; compiler.h, "JIT: reduce") and (b) the kernel graph
 *      stays acyclic (a breadth-first walk from the set's outside readers never comes
 *      back). Per row the kernel runs phases: each reduction over operands computed from
 *      the row's earlier values, the row-shaped ops between them once, then the elementwise
 *      consumers (softmax: max | exp, sum | div, one kernel; LayerNorm forward: sum |
 *      mean | sum of (x - mean)^2 | rstd | normalize, one kernel). Members other than the
 *      root may be read by other kernels (the backward reads the forward's exp, mean,
 *      rstd, normalized rows): a ROW kernel may have several outputs read outside.
 *   5. MOVEMENT: walking ids downward, a movement op (reshape, permute, broadcast, slice,
 *      concat) that is not a graph output and whose users all lie in one REDUCE, MATMUL,
 *      INDEX or MOVEMENT kernel is absorbed into it as index arithmetic (chains of
 *      movement ops become one MOVEMENT kernel: one copy) — except a slice or concat
 *      feeding a REDUCE kernel, which the reduce codegen cannot read through. Otherwise
 *      it is a MOVEMENT kernel of its own.
 *   6. Horizontal: ELEMENTWISE kernels that no kernel reads (their values are graph
 *      outputs only) and that read only graph inputs, constants and rank-0 values become
 *      one kernel per layer (by the `layers.N` in the names of the inputs they read; one
 *      more for the rest): in @update, AdamW is a kernel per layer, one segment per
 *      parameter (codegen_elementwise.c), instead of three kernels per tensor. The
 *      layers' kernels are identical, so they compile once (codegen_kernel.c,
 *      signatures). Members may have several shapes; nothing reads such a kernel, so
 *      the invariant below holds.
 *   7. ATTENTION: attention, attention_lse and attention_grad are kernels of their own
 *      (their operands are read as dense buffers: a movement op feeding one stays a
 *      MOVEMENT kernel). Siblings share one: attention with the attention_lse of the same
 *      q, k and attributes (the forward saves the log-sum-exp as it goes), and
 *      attention_grad for k with the one for v (one pass over the keys computes both);
 *      the one for q runs over rows, alone. Both members are read by other kernels.
 *
 * Invariant (what keeps the kernel graph acyclic): in every kernel but ROW and ATTENTION
 * kernels only the root — its highest id — is read by nodes of other kernels; other
 * members are read only inside (or as graph outputs). Each merge of rules 1-5 keeps that,
 * so those merges cannot close a cycle; rules 4b and 7 check acyclicity explicitly. Kernels are listed in
 * dependency order, the lowest first output first among those ready (fuser_order): root
 * order whenever that is valid. Kernel nodes in ascending id are topological.
 *
 * Decision: a movement op read by several kernels is not duplicated into each reader. The
 * partition (every node in exactly one kernel, kernel_of) is the contract of the memory
 * plan, the executor and every codegen binding; a duplicated node would break it. Its
 * cheap cases are absorbed instead: a broadcast of a row value read by the ROW kernel that
 * computes it is an alias there, a reshape of a ROW kernel's element value is another
 * output of it (the same bytes), a broadcast of a param read by one ROW kernel is index
 * arithmetic in it.
 *
 * Deliberately left for later:
 *   - slice and concat inside ELEMENTWISE kernels (RoPE's halves in llama-style models:
 *     most of what is left of llama-tiny's and fortune's MOVEMENT kernels); a movement op
 *     read by several kernels is a MOVEMENT kernel (one copy), see the decision above;
 *   - reductions sharing a loop nest with a sibling reduction of the same input that is
 *     not over the last axis; elementwise producers absorbed into INDEX kernels; the cost
 *     model that decides when a layout change (a copy) pays for itself.
 *   - a rank-0 broadcast read by several kernels would be a MOVEMENT kernel nothing
 *     reads (codegen reads the rank-0 source); the step's graphs give each reader its
 *     own copy first (cc_pass_unshare_splats), so there it never happens;
 *   - the vector loop reads a movement-chain operand lane by lane (codegen_elementwise.c);
 *   - REDUCE codegen does not yet accept slice/concat members, so a REDUCE kernel holding
 *     one that rule 5 absorbs is not compilable yet.
 */
#include "compiler.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

/* --- groups while fusing ------------------------------------------------------------ */

typedef struct Group {
    CcKernelKind kind;
    IrId root;     /* highest member id */
    IrId head;     /* first member in a linked list over next[] */
    IrId tail;
    uint32_t size; /* 0: merged away */
} Group;

typedef struct Fuser {
    const IrGraph *g;
    uint32_t *user_start; /* [n_nodes + 1] CSR over distinct users */
    IrId *users;
    bool *is_output;      /* [n_nodes] a graph output */
    uint32_t *group_of;   /* [n_nodes] NONE for sources */
    IrId *next;           /* [n_nodes] member list */
    Group *groups;
    uint32_t n_groups;
} Fuser;

static const char *const KIND_NAMES[CC_KERNEL_COUNT] = {
    [CC_KERNEL_INVALID] = "?",          [CC_KERNEL_ELEMENTWISE] = "elementwise",
    [CC_KERNEL_REDUCE] = "reduce",      [CC_KERNEL_MATMUL] = "matmul",
    [CC_KERNEL_INDEX] = "index",        [CC_KERNEL_MOVEMENT] = "movement",
    [CC_KERNEL_RUNTIME] = "runtime",    [CC_KERNEL_ROW] = "row",
    [CC_KERNEL_ATTENTION] = "attention",
};

const char *cc_kernel_kind_name(CcKernelKind k) {
    return (unsigned)k < CC_KERNEL_COUNT ? KIND_NAMES[k] : "?";
}

static bool is_rank0_broadcast(const IrGraph *g, const IrNode *n) {
    return n->op == IR_OP_BROADCAST && ir_graph_node(g, n->operands[0])->type.rank == 0;
}

static bool is_ew_move(const IrNode *n) {
    return n->op == IR_OP_BROADCAST || n->op == IR_OP_RESHAPE || n->op == IR_OP_PERMUTE;
}

/* Whether some user of id is a movement op: an ELEMENTWISE kernel reads such a user's
 * operand through index arithmetic, so that operand never joins the kernel itself. */
static bool read_by_movement(const Fuser *f, IrId id) {
    for (uint32_t u = f->user_start[id]; u < f->user_start[id + 1]; u++)
        if (is_ew_move(ir_graph_node(f->g, f->users[u]))) return true;
    return false;
}

/* Whether movement op id (broadcast, reshape, permute), whose users all lie in ELEMENTWISE
 * group k, may join k as index arithmetic: a rank-0 broadcast always (a splatted scalar);
 * any other when it is no graph output (codegen computes one output, an elementwise op)
 * and, if a non-movement member reads it, it has the kernel's shape (the top of a chain;
 * members below the top are read only by movement members and may have any shape). */
static bool ew_move_joins(const Fuser *f, IrId id, uint32_t k) {
    const IrGraph *g = f->g;
    const IrNode *n = ir_graph_node(g, id);
    if (!is_ew_move(n)) return false;
    if (is_rank0_broadcast(g, n) && ir_type_same_shape(&n->type, &ir_graph_node(g, f->groups[k].root)->type))
        return true;
    if (f->is_output[id]) return false;
    for (uint32_t u = f->user_start[id]; u < f->user_start[id + 1]; u++)
        if (!is_ew_move(ir_graph_node(g, f->users[u])) &&
            !ir_type_same_shape(&n->type, &ir_graph_node(g, f->groups[k].root)->type))
            return false;
    return true;
}

static bool is_splat_const(const IrNode *n) { return n->op == IR_OP_CONST && n->attrs.constant.value.count == 1; }

/* The kernel kind a node starts in, alone; INVALID for sources. */
static CcKernelKind initial_kind(const IrGraph *g, IrId id) {
    const IrNode *n = ir_graph_node(g, id);
    switch (ir_op_info(n->op)->kind) {
    case IR_KIND_SOURCE: return CC_KERNEL_INVALID;
    case IR_KIND_ELEMENTWISE: return CC_KERNEL_ELEMENTWISE;
    case IR_KIND_REDUCE: return CC_KERNEL_REDUCE;
    case IR_KIND_MOVEMENT: return CC_KERNEL_MOVEMENT;
    case IR_KIND_CONTRACTION: return CC_KERNEL_MATMUL;
    case IR_KIND_INDEX:
    case IR_KIND_RANDOM: return CC_KERNEL_INDEX;
    case IR_KIND_EXTERN:
    case IR_KIND_COLLECTIVE: return CC_KERNEL_RUNTIME;
    case IR_KIND_ATTENTION: return CC_KERNEL_ATTENTION;
    case IR_KIND_INVALID:
    case IR_KIND_COUNT: break;
    }
    LLMC_ASSERT(!"node of an invalid op kind");
    return CC_KERNEL_INVALID;
}

static void fuser_users(Fuser *f) {
    const IrGraph *g = f->g;
    uint32_t n = g->n_nodes;
    f->user_start = llmc_xcalloc(n + 1, sizeof *f->user_start);
    /* distinct users: an operand listed twice by one node counts once */
    for (IrId id = 0; id < n; id++) {
        const IrNode *nd = ir_graph_node(g, id);
        for (uint32_t k = 0; k < nd->n_operands; k++) {
            bool dup = false;
            for (uint32_t j = 0; j < k; j++) dup |= nd->operands[j] == nd->operands[k];
            if (!dup) f->user_start[nd->operands[k] + 1]++;
        }
    }
    for (uint32_t i = 0; i < n; i++) f->user_start[i + 1] += f->user_start[i];
    f->users = llmc_xmalloc((f->user_start[n] + 1) * sizeof *f->users);
    uint32_t *fill = llmc_xmalloc((n + 1) * sizeof *fill);
    memcpy(fill, f->user_start, (n + 1) * sizeof *fill);
    for (IrId id = 0; id < n; id++) {
        const IrNode *nd = ir_graph_node(g, id);
        for (uint32_t k = 0; k < nd->n_operands; k++) {
            bool dup = false;
            for (uint32_t j = 0; j < k; j++) dup |= nd->operands[j] == nd->operands[k];
            if (!dup) f->users[fill[nd->operands[k]]++] = id;
        }
    }
    free(fill);
    f->is_output = llmc_xcalloc(n ? n : 1, sizeof *f->is_output);
    for (uint32_t o = 0; o < g->n_outputs; o++) f->is_output[g->outputs[o].node] = true;
}

static uint32_t n_users(const Fuser *f, IrId id) { return f->user_start[id + 1] - f->user_start[id]; }

/* The one group holding every user of id; NONE when there are none or several. */
static uint32_t users_group(const Fuser *f, IrId id) {
    uint32_t gr = NONE;
    for (uint32_t u = f->user_start[id]; u < f->user_start[id + 1]; u++) {
        uint32_t k = f->group_of[f->users[u]];
        if (k == NONE || (gr != NONE && k != gr)) return NONE;
        gr = k;
    }
    return gr;
}

static uint32_t group_new(Fuser *f, IrId id, CcKernelKind kind) {
    uint32_t k = f->n_groups++;
    f->groups[k] = (Group){kind, id, id, id, 1};
    f->group_of[id] = k;
    f->next[id] = NONE;
    return k;
}

/* Moves every member of group `from` into group `to`. */
static void group_merge(Fuser *f, uint32_t from, uint32_t to) {
    Group *a = &f->groups[from], *b = &f->groups[to];
    LLMC_ASSERT(from != to && a->size && b->size);
    for (IrId m = a->head; m != NONE; m = f->next[m]) f->group_of[m] = to;
    f->next[b->tail] = a->head;
    b->tail = a->tail;
    b->size += a->size;
    if (a->root > b->root) b->root = a->root;
    a->size = 0;
}

static bool group_has_graph_output(const Fuser *f, uint32_t k) {
    for (IrId m = f->groups[k].head; m != NONE; m = f->next[m])
        if (f->is_output[m]) return true;
    return false;
}

/* Rule 1 and 2, one downward walk. */
static void fuse_elementwise(Fuser *f) {
    const IrGraph *g = f->g;
    for (IrId id = g->n_nodes; id-- > 0;) {
        const IrNode *n = ir_graph_node(g, id);
        CcKernelKind kind = initial_kind(g, id);
        if (kind == CC_KERNEL_INVALID) continue;
        uint32_t k = users_group(f, id);
        if (k != NONE && f->groups[k].kind == CC_KERNEL_ELEMENTWISE &&
            (kind == CC_KERNEL_ELEMENTWISE
                 ? !read_by_movement(f, id) && ir_type_same_shape(&n->type, &ir_graph_node(g, f->groups[k].root)->type)
                 : ew_move_joins(f, id, k))) {
            uint32_t mine = group_new(f, id, kind);
            group_merge(f, mine, k);
            continue;
        }
        group_new(f, id, kind);
    }
}

/* Whether group k computes on bf16: a bf16 node or operand other than a cast to bf16
 * (cc_bf16_store_cast) — the matmul epilogue computes in f32 / f64 and can only end in
 * such casts (precision = bf16 puts one before every dense matmul's operand). */
static bool group_has_bf16(const Fuser *f, uint32_t k) {
    for (IrId m = f->groups[k].head; m != NONE; m = f->next[m]) {
        const IrNode *n = ir_graph_node(f->g, m);
        bool bf16 = n->type.dtype == IR_DTYPE_BF16;
        for (uint32_t o = 0; o < n->n_operands; o++)
            bf16 |= ir_graph_node(f->g, n->operands[o])->type.dtype == IR_DTYPE_BF16;
        if (bf16 && !cc_bf16_store_cast(f->g, m)) return true;
    }
    return false;
}

/* Whether the matmul's K-sums have a buffer of their type to accumulate in, once group k
 * is its epilogue (codegen_matmul.c: the root, or another output of the matmul's type
 * when the root is a cast to bf16). By the invariant in the banner only the root of an
 * ELEMENTWISE group is read by other kernels, so the other outputs are graph outputs. */
static bool group_has_acc_buffer(const Fuser *f, uint32_t k, const IrType *mm_type) {
    for (IrId m = f->groups[k].head; m != NONE; m = f->next[m]) {
        const IrType *t = &ir_graph_node(f->g, m)->type;
        if (t->dtype == mm_type->dtype && ir_type_same_shape(t, mm_type) && (m == f->groups[k].root || f->is_output[m]))
            return true;
    }
    return false;
}

/* Rule 3: matmul epilogues. */
static void fuse_matmul(Fuser *f) {
    const IrGraph *g = f->g;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        if (n->op != IR_OP_MATMUL || f->is_output[id] || n_users(f, id) != 1 || read_by_movement(f, id)) continue;
        uint32_t k = f->group_of[f->users[f->user_start[id]]];
        if (f->groups[k].kind != CC_KERNEL_ELEMENTWISE ||
            !ir_type_same_shape(&n->type, &ir_graph_node(g, f->groups[k].root)->type) || group_has_bf16(f, k) ||
            !group_has_acc_buffer(f, k, &n->type))
            continue;
        group_merge(f, f->group_of[id], k);
        f->groups[k].kind = CC_KERNEL_MATMUL;
    }
}

/* Rule 4: reductions absorb their elementwise producers. */
static void fuse_reduce(Fuser *f) {
    const IrGraph *g = f->g;
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        if (ir_op_info(n->op)->kind != IR_KIND_REDUCE) continue;
        IrId p = n->operands[0];
        uint32_t k = f->group_of[p];
        if (k == NONE || f->groups[k].kind != CC_KERNEL_ELEMENTWISE || f->groups[k].root != p ||
            n_users(f, p) != 1 || group_has_graph_output(f, k))
            continue;
        group_merge(f, k, f->group_of[id]);
    }
    /* 4a: a reduction of a reduction (a sum over the sequence, then over the batch: the
     * gradients of biases and gains) is one nested REDUCE kernel when the inner one, not
     * over the last axis (that one may seed a ROW kernel), has no other user. */
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        if (ir_op_info(n->op)->kind != IR_KIND_REDUCE || f->group_of[id] == NONE || f->groups[f->group_of[id]].size != 1)
            continue;
        IrId p = n->operands[0];
        const IrNode *pn = ir_graph_node(g, p);
        uint32_t k = f->group_of[p];
        if (ir_op_info(pn->op)->kind != IR_KIND_REDUCE || k == NONE || f->groups[k].kind != CC_KERNEL_REDUCE ||
            f->groups[k].root != p || n_users(f, p) != 1 || f->is_output[p] || pn->type.dtype != n->type.dtype ||
            pn->attrs.reduce.axis == (int64_t)ir_graph_node(g, pn->operands[0])->type.rank - 1)
            continue;
        bool single = true; /* the inner kernel is not nested itself */
        for (IrId m = f->groups[k].head; m != NONE; m = f->next[m])
            single &= m == p || ir_op_info(ir_graph_node(g, m)->op)->kind != IR_KIND_REDUCE;
        if (single) group_merge(f, k, f->group_of[id]);
    }
}

/* Rule 4b: ROW kernels, grown from a last-axis reduction over neighbouring groups until a
 * whole row computation is one kernel: per row, the reductions in order, the row-shaped
 * values between them, the elementwise consumers at the operand's shape. A candidate set
 * of groups is legal when (a) the row codegen accepts it (cc_row_supported on the set as
 * a kernel: the one source of truth for what a ROW kernel may hold) and (b) the kernel
 * graph stays acyclic (rowset_acyclic). Members other than the root may be read by other
 * kernels (a ROW kernel may have several outputs read outside: a training step's backward
 * reads the forward's mean, rstd and normalized rows). Growing: any group (elementwise,
 * reduce, row, movement) that reads a member or is read by one joins when the result is
 * legal, one group at a time, until none does. */
typedef struct RowSet {
    uint8_t *in;    /* [n_nodes] by group: in the candidate set */
    uint32_t *list; /* groups of the set, append order */
    uint32_t n;
    IrId root;
    uint32_t *seen;  /* [n_nodes] by group: BFS stamp (rowset_acyclic) */
    uint32_t *queue; /* [n_nodes] */
    uint32_t stamp;
} RowSet;

static bool row_group_kind_ok(const Fuser *f, uint32_t k) {
    switch (f->groups[k].kind) {
    case CC_KERNEL_ELEMENTWISE:
    case CC_KERNEL_REDUCE:
    case CC_KERNEL_ROW:
    case CC_KERNEL_MOVEMENT: return true;
    case CC_KERNEL_MATMUL:
    case CC_KERNEL_INDEX:
    case CC_KERNEL_RUNTIME:
    case CC_KERNEL_ATTENTION:
    case CC_KERNEL_INVALID:
    case CC_KERNEL_COUNT: break;
    }
    return false;
}

static void rowset_add(const Fuser *f, RowSet *s, uint32_t k) {
    s->in[k] = 1;
    s->list[s->n++] = k;
    if (s->root == NONE || f->groups[k].root > s->root) s->root = f->groups[k].root;
}

static void rowset_truncate(RowSet *s, uint32_t n, IrId root) {
    while (s->n > n) s->in[s->list[--s->n]] = 0;
    s->root = root;
}

static bool in_rowset(const Fuser *f, const RowSet *s, IrId id) {
    return f->group_of[id] != NONE && s->in[f->group_of[id]];
}

/* Whether merging the set keeps the kernel graph acyclic: no path leaves the set through
 * a group outside it and comes back. Breadth-first over groups from the outside readers
 * of members; a group is left through any member's users (a kernel runs whole). Paths
 * only climb in node id, so groups whose members all lie above the set's root are not
 * followed. */
static bool rowset_acyclic(const Fuser *f, RowSet *s) {
    uint32_t head = 0, tail = 0;
    s->stamp++;
    for (uint32_t i = 0; i < s->n; i++)
        for (IrId m = f->groups[s->list[i]].head; m != NONE; m = f->next[m])
            for (uint32_t u = f->user_start[m]; u < f->user_start[m + 1]; u++) {
                uint32_t k = f->group_of[f->users[u]];
                if (s->in[k] || s->seen[k] == s->stamp) continue;
                s->seen[k] = s->stamp;
                s->queue[tail++] = k;
            }
    while (head < tail) {
        uint32_t k = s->queue[head++];
        for (IrId m = f->groups[k].head; m != NONE; m = f->next[m]) {
            if (m > s->root) continue;
            for (uint32_t u = f->user_start[m]; u < f->user_start[m + 1]; u++) {
                uint32_t ku = f->group_of[f->users[u]];
                if (s->in[ku]) return false;
                if (s->seen[ku] == s->stamp) continue;
                s->seen[ku] = s->stamp;
                s->queue[tail++] = ku;
            }
        }
    }
    return true;
}

static int cmp_id(const void *a, const void *b) {
    IrId x = *(const IrId *)a, y = *(const IrId *)b;
    return x < y ? -1 : x > y;
}

/* The set as the kernel fuser_collect would make of it, checked by the row codegen. */
static bool rowset_supported(const Fuser *f, const RowSet *s) {
    const IrGraph *g = f->g;
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->n; i++) n += f->groups[s->list[i]].size;
    CcKernel k = {.kind = CC_KERNEL_ROW, .root = s->root};
    k.nodes = llmc_xmalloc(n * sizeof *k.nodes);
    k.outputs = llmc_xmalloc(n * sizeof *k.outputs);
    k.inputs = llmc_xmalloc((3 * (size_t)n + 1) * sizeof *k.inputs);
    for (uint32_t i = 0; i < s->n; i++)
        for (IrId m = f->groups[s->list[i]].head; m != NONE; m = f->next[m]) k.nodes[k.n_nodes++] = m;
    qsort(k.nodes, k.n_nodes, sizeof *k.nodes, cmp_id);
    for (uint32_t i = 0; i < k.n_nodes; i++) {
        IrId id = k.nodes[i];
        const IrNode *nd = ir_graph_node(g, id);
        for (uint32_t o = 0; o < nd->n_operands; o++) {
            IrId x = nd->operands[o];
            if (in_rowset(f, s, x) || is_splat_const(ir_graph_node(g, x))) continue;
            k.inputs[k.n_inputs++] = x;
        }
        bool out = f->is_output[id] || id == s->root;
        for (uint32_t u = f->user_start[id]; u < f->user_start[id + 1]; u++) out |= !in_rowset(f, s, f->users[u]);
        if (out) k.outputs[k.n_outputs++] = id;
    }
    qsort(k.inputs, k.n_inputs, sizeof *k.inputs, cmp_id);
    uint32_t w = 0;
    for (uint32_t i = 0; i < k.n_inputs; i++)
        if (!w || k.inputs[w - 1] != k.inputs[i]) k.inputs[w++] = k.inputs[i];
    k.n_inputs = w;
    LlmcErr err = {0};
    bool ok = cc_row_supported(g, &k, &err);
    free(k.nodes);
    free(k.outputs);
    free(k.inputs);
    return ok;
}

/* Tries group k: keeps it when the set stays legal. */
static bool rowset_try(const Fuser *f, RowSet *s, uint32_t k) {
    if (k == NONE || s->in[k] || !row_group_kind_ok(f, k)) return false;
    uint32_t n = s->n;
    IrId root = s->root;
    rowset_add(f, s, k);
    if (rowset_acyclic(f, s) && rowset_supported(f, s)) return true;
    rowset_truncate(s, n, root);
    return false;
}

static void fuse_row(Fuser *f) {
    const IrGraph *g = f->g;
    RowSet s = {.in = llmc_xcalloc(g->n_nodes, 1), .list = llmc_xmalloc(g->n_nodes * sizeof *s.list),
                .seen = llmc_xcalloc(g->n_nodes, sizeof *s.seen), .queue = llmc_xmalloc(g->n_nodes * sizeof *s.queue)};
    for (IrId id = 0; id < g->n_nodes; id++) {
        const IrNode *n = ir_graph_node(g, id);
        uint32_t kr = f->group_of[id];
        if (ir_op_info(n->op)->kind != IR_KIND_REDUCE || kr == NONE || f->groups[kr].kind != CC_KERNEL_REDUCE ||
            f->groups[kr].root != id)
            continue;
        const IrType *xt = &ir_graph_node(g, n->operands[0])->type;
        if (xt->rank == 0 || n->attrs.reduce.axis != (int64_t)xt->rank - 1 || xt->dims[xt->rank - 1] < 2) continue;
        s.root = NONE;
        rowset_add(f, &s, kr);
        /* consumers first (a lone reduction with producers only stays REDUCE: rules 4, 5) */
        bool consumers = true;
        for (bool changed = true; changed;) {
            changed = false;
            for (uint32_t i = 0; i < s.n; i++)
                for (IrId m = f->groups[s.list[i]].head; m != NONE; m = f->next[m]) {
                    for (uint32_t u = f->user_start[m]; u < f->user_start[m + 1]; u++)
                        changed |= rowset_try(f, &s, f->group_of[f->users[u]]);
                    if (consumers) continue;
                    const IrNode *mn = ir_graph_node(g, m);
                    for (uint32_t o = 0; o < mn->n_operands; o++) changed |= rowset_try(f, &s, f->group_of[mn->operands[o]]);
                }
            if (!changed && consumers && s.n > 1) {
                consumers = false;
                changed = true;
            }
        }
        for (uint32_t i = 1; i < s.n; i++) group_merge(f, s.list[i], kr);
        if (s.n > 1) f->groups[kr].kind = CC_KERNEL_ROW;
        rowset_truncate(&s, 0, NONE);
    }
    free(s.in);
    free(s.list);
    free(s.seen);
    free(s.queue);
}

/* Rule 5: movement ops become index arithmetic of their only consumer kernel. */
static void fuse_movement(Fuser *f) {
    const IrGraph *g = f->g;
    for (IrId id = g->n_nodes; id-- > 0;) {
        uint32_t own = f->group_of[id];
        if (own == NONE || f->groups[own].kind != CC_KERNEL_MOVEMENT || f->groups[own].size != 1) continue;
        if (f->is_output[id]) continue;
        uint32_t k = users_group(f, id);
        if (k == NONE || k == own) continue;
        IrOp op = g->nodes[id].op;
        switch (f->groups[k].kind) {
        case CC_KERNEL_REDUCE: /* the reduce codegen reads through reshape, permute, broadcast */
            if (op != IR_OP_SLICE && op != IR_OP_CONCAT) group_merge(f, own, k);
            break;
        case CC_KERNEL_MATMUL:
        case CC_KERNEL_INDEX:
        case CC_KERNEL_MOVEMENT: group_merge(f, own, k); break;
        case CC_KERNEL_ELEMENTWISE:
            if (ew_move_joins(f, id, k)) group_merge(f, own, k);
            break;
        case CC_KERNEL_RUNTIME:
        case CC_KERNEL_ROW:
        case CC_KERNEL_ATTENTION: /* reads dense buffers */
        case CC_KERNEL_INVALID:
        case CC_KERNEL_COUNT: break;
        }
    }
}

/* Whether attention ops a and b read the same operands (as many as the shorter has) with
 * the same attributes but `wrt`: one pass of the attention codegen computes both. */
static bool attention_siblings(const IrGraph *g, IrId a, IrId b) {
    const IrNode *x = ir_graph_node(g, a), *y = ir_graph_node(g, b);
    if (x->op == IR_OP_ATTENTION_GRAD) { /* dk with dv: dq runs over rows, dk and dv over keys */
        IrAttentionWrt wx = x->attrs.attention.wrt, wy = y->attrs.attention.wrt;
        if (y->op != IR_OP_ATTENTION_GRAD || wx == wy || wx == IR_ATTENTION_Q || wy == IR_ATTENTION_Q) return false;
    } else if ((x->op == IR_OP_ATTENTION) == (y->op == IR_OP_ATTENTION) || y->op == IR_OP_ATTENTION_GRAD) {
        return false; /* attention with attention_lse only */
    }
    for (uint32_t o = 0; o < x->n_operands && o < y->n_operands; o++)
        if (x->operands[o] != y->operands[o]) return false;
    return x->attrs.attention.causal == y->attrs.attention.causal &&
           memcmp(&x->attrs.attention.scale, &y->attrs.attention.scale, sizeof(double)) == 0;
}

/* Rule 7: sibling attention ops share a kernel (attention with its attention_lse;
 * attention_grad for k with the one for v) when that keeps the kernel graph acyclic. */
static void fuse_attention(Fuser *f) {
    const IrGraph *g = f->g;
    RowSet s = {.in = llmc_xcalloc(g->n_nodes, 1), .list = llmc_xmalloc(g->n_nodes * sizeof *s.list),
                .seen = llmc_xcalloc(g->n_nodes, sizeof *s.seen), .queue = llmc_xmalloc(g->n_nodes * sizeof *s.queue),
                .root = NONE};
    for (IrId id = 0; id < g->n_nodes; id++) {
        uint32_t k = f->group_of[id];
        if (k == NONE || f->groups[k].kind != CC_KERNEL_ATTENTION || f->groups[k].size != 1) continue;
        IrId q = g->nodes[id].operands[0];
        for (uint32_t u = f->user_start[q]; u < f->user_start[q + 1]; u++) {
            IrId other = f->users[u];
            uint32_t ko = f->group_of[other];
            if (other <= id || ko == NONE || f->groups[ko].kind != CC_KERNEL_ATTENTION || f->groups[ko].size != 1 ||
                !attention_siblings(g, id, other))
                continue;
            rowset_add(f, &s, k);
            rowset_add(f, &s, ko);
            bool acyclic = rowset_acyclic(f, &s);
            rowset_truncate(&s, 0, NONE);
            if (!acyclic) continue;
            group_merge(f, ko, k);
            break;
        }
    }
    free(s.in);
    free(s.list);
    free(s.seen);
    free(s.queue);
}

/* --- the result ---------------------------------------------------------------------- */

static int cmp_root(const void *a, const void *b) {
    IrId x = ((const CcKernel *)a)->root, y = ((const CcKernel *)b)->root;
    return x < y ? -1 : x > y;
}

/* Rule 6: horizontal fusion. An ELEMENTWISE group that no other kernel reads (its values
 * leave as graph outputs only) and that reads nothing but graph inputs, constants and
 * rank-0 values joins the other such groups of its layer in one kernel: the optimizer's
 * update of a layer's parameters (p, m, v at once per element; codegen_elementwise.c
 * runs one segment per group of related outputs: per parameter). Nothing reads the
 * kernel, so it may run as late as its last member; it delays no large temporary, since
 * it reads none. One kernel per layer rather than one in all: the layers' kernels are
 * the same code (compiled once), and no single module grows with the model's depth. */
static bool horizontal_candidate(const Fuser *f, uint32_t k) {
    const IrGraph *g = f->g;
    const Group *gr = &f->groups[k];
    if (!gr->size || gr->kind != CC_KERNEL_ELEMENTWISE) return false;
    for (IrId m = gr->head; m != NONE; m = f->next[m]) {
        for (uint32_t u = f->user_start[m]; u < f->user_start[m + 1]; u++)
            if (f->group_of[f->users[u]] != k) return false;
        const IrNode *n = ir_graph_node(g, m);
        for (uint32_t o = 0; o < n->n_operands; o++) {
            IrId x = n->operands[o];
            const IrNode *xn = ir_graph_node(g, x);
            if (f->group_of[x] == k || xn->op == IR_OP_INPUT || xn->op == IR_OP_CONST || xn->type.rank == 0) continue;
            return false;
        }
    }
    return true;
}

/* The layer group k belongs to: the "layers.N" of the first graph input it reads whose
 * name has one (a param, its grad or its moments), as a length into that name; 0 for
 * the rest (embeddings, final norm, head). */
static size_t horizontal_layer(const Fuser *f, uint32_t k, const char **name) {
    const IrGraph *g = f->g;
    for (IrId m = f->groups[k].head; m != NONE; m = f->next[m]) {
        const IrNode *n = ir_graph_node(g, m);
        for (uint32_t o = 0; o < n->n_operands; o++) {
            const IrNode *x = ir_graph_node(g, n->operands[o]);
            if (x->op != IR_OP_INPUT) continue;
            const char *s = strstr(ir_graph_str(g, x->attrs.input.name), "layers.");
            if (!s) continue;
            size_t len = strlen("layers.");
            while (s[len] >= '0' && s[len] <= '9') len++;
            *name = s;
            return len;
        }
    }
    *name = "";
    return 0;
}

static void fuse_horizontal(Fuser *f) {
    uint32_t *into = llmc_xmalloc((f->n_groups ? f->n_groups : 1) * sizeof *into); /* per candidate: its kernel */
    uint32_t n_into = 0;
    for (uint32_t k = 0; k < f->n_groups; k++) {
        if (!horizontal_candidate(f, k)) continue;
        const char *name, *other;
        size_t len = horizontal_layer(f, k, &name);
        uint32_t to = NONE;
        for (uint32_t i = 0; i < n_into && to == NONE; i++) {
            size_t olen = horizontal_layer(f, into[i], &other);
            if (olen == len && strncmp(name, other, len) == 0) to = into[i];
        }
        if (to == NONE) into[n_into++] = k;
        else group_merge(f, k, to);
    }
    free(into);
}

/* Kernels in dependency order, among the ready ones first the kernel whose lowest output
 * (the first of its values other kernels read) has the lowest id: root order itself
 * whenever it is valid (a kernel reads another's root only: the root is lower). A ROW
 * kernel whose root is a backward node but whose members feed the forward is placed by
 * those members, so it does not pull every ready kernel of lower root (the FSDP gathers
 * the shard pass placed layer by layer, and their slices) in front of it. */
static void fuser_order(CcFusion *out) {
    uint32_t nk = out->n_kernels;
    if (nk == 0) return;
    uint32_t *indeg = llmc_xcalloc(nk, sizeof *indeg);
    uint32_t *start = llmc_xcalloc(nk + 1, sizeof *start); /* CSR: consumers of each kernel */
    uint32_t *stamp = llmc_xmalloc(nk * sizeof *stamp);
    uint32_t *cons = NULL;
    for (int pass = 0; pass < 2; pass++) { /* count edges, then fill them */
        for (uint32_t k = 0; k < nk; k++) stamp[k] = NONE;
        uint32_t *fill = pass ? llmc_xmalloc((nk + 1) * sizeof *fill) : NULL;
        if (pass) {
            memcpy(fill, start, (nk + 1) * sizeof *fill);
            cons = llmc_xmalloc((start[nk] + 1) * sizeof *cons);
        }
        for (uint32_t k = 0; k < nk; k++) {
            const CcKernel *kn = &out->kernels[k];
            for (uint32_t i = 0; i < kn->n_inputs; i++) {
                uint32_t p = out->kernel_of[kn->inputs[i]];
                if (p == NONE || stamp[p] == k) continue;
                stamp[p] = k;
                if (pass) {
                    cons[fill[p]++] = k;
                    indeg[k]++;
                } else {
                    start[p + 1]++;
                }
            }
        }
        if (!pass)
            for (uint32_t k = 0; k < nk; k++) start[k + 1] += start[k];
        free(fill);
    }
    CcKernel *sorted = llmc_xmalloc(nk * sizeof *sorted);
    uint8_t *done = llmc_xcalloc(nk, 1);
    bool in_order = true;
    for (uint32_t at = 0; at < nk; at++) {
        uint32_t pick = NONE;
        for (uint32_t k = 0; k < nk; k++) /* the ready kernel whose first value others read comes first */
            if (!done[k] && indeg[k] == 0 && (pick == NONE || out->kernels[k].outputs[0] < out->kernels[pick].outputs[0]))
                pick = k;
        LLMC_ASSERT(pick != NONE); /* fuse_row keeps the kernel graph acyclic */
        in_order &= pick == at;
        done[pick] = 1;
        sorted[at] = out->kernels[pick];
        for (uint32_t c = start[pick]; c < start[pick + 1]; c++) indeg[cons[c]]--;
    }
    if (!in_order) {
        memcpy(out->kernels, sorted, nk * sizeof *sorted);
        for (uint32_t k = 0; k < nk; k++)
            for (uint32_t i = 0; i < out->kernels[k].n_nodes; i++) out->kernel_of[out->kernels[k].nodes[i]] = k;
    }
    free(sorted);
    free(done);
    free(cons);
    free(indeg);
    free(start);
    free(stamp);
}

static void fuser_collect(Fuser *f, CcFusion *out) {
    const IrGraph *g = f->g;
    uint32_t n = g->n_nodes;
    uint32_t live = 0;
    for (uint32_t k = 0; k < f->n_groups; k++) live += f->groups[k].size != 0;
    out->kernels = llmc_xcalloc(live ? live : 1, sizeof *out->kernels);
    out->n_kernels = 0;
    for (uint32_t k = 0; k < f->n_groups; k++) {
        const Group *gr = &f->groups[k];
        if (!gr->size) continue;
        CcKernel *kn = &out->kernels[out->n_kernels++];
        kn->kind = gr->kind;
        kn->root = gr->root;
        kn->nodes = llmc_xmalloc(gr->size * sizeof *kn->nodes);
        for (IrId m = gr->head; m != NONE; m = f->next[m]) kn->nodes[kn->n_nodes++] = m;
    }
    qsort(out->kernels, out->n_kernels, sizeof *out->kernels, cmp_root);

    out->kernel_of = llmc_xmalloc((n ? n : 1) * sizeof *out->kernel_of);
    for (IrId id = 0; id < n; id++) out->kernel_of[id] = NONE;
    uint8_t *seen = llmc_xcalloc(n ? n : 1, 1);
    for (uint32_t k = 0; k < out->n_kernels; k++) {
        CcKernel *kn = &out->kernels[k];
        for (uint32_t i = 0; i < kn->n_nodes; i++) out->kernel_of[kn->nodes[i]] = k;
    }
    for (uint32_t k = 0; k < out->n_kernels; k++) {
        CcKernel *kn = &out->kernels[k];
        /* nodes ascending: mark, then sweep from the lowest member to the root */
        IrId lo = kn->root;
        for (uint32_t i = 0; i < kn->n_nodes; i++)
            if (kn->nodes[i] < lo) lo = kn->nodes[i];
        kn->n_nodes = 0;
        uint32_t n_in = 0, n_out = 0;
        for (IrId id = lo; id <= kn->root; id++) {
            if (out->kernel_of[id] != k) continue;
            kn->nodes[kn->n_nodes++] = id;
            const IrNode *nd = ir_graph_node(g, id);
            for (uint32_t o = 0; o < nd->n_operands; o++) {
                IrId x = nd->operands[o];
                if (out->kernel_of[x] == k || seen[x] || is_splat_const(ir_graph_node(g, x))) continue;
                seen[x] = 1;
                n_in++;
            }
            bool read_outside = f->is_output[id] || id == kn->root;
            for (uint32_t u = f->user_start[id]; u < f->user_start[id + 1]; u++)
                read_outside |= out->kernel_of[f->users[u]] != k;
            n_out += read_outside;
        }
        kn->inputs = llmc_xmalloc((n_in ? n_in : 1) * sizeof *kn->inputs);
        kn->outputs = llmc_xmalloc((n_out ? n_out : 1) * sizeof *kn->outputs);
        for (IrId x = 0; x < kn->root && kn->n_inputs < n_in; x++)
            if (seen[x]) {
                kn->inputs[kn->n_inputs++] = x;
                seen[x] = 0;
            }
        LLMC_ASSERT(kn->n_inputs == n_in);
        for (uint32_t i = 0; i < kn->n_nodes; i++) {
            IrId id = kn->nodes[i];
            bool read_outside = f->is_output[id] || id == kn->root;
            for (uint32_t u = f->user_start[id]; u < f->user_start[id + 1]; u++)
                read_outside |= out->kernel_of[f->users[u]] != k;
            if (read_outside) kn->outputs[kn->n_outputs++] = id;
        }
    }
    free(seen);
    fuser_order(out);
}

bool cc_fuse(const IrGraph *g, CcFusion *out, LlmcErr *err) {
    memset(out, 0, sizeof *out);
    if (!g || g->n_nodes == 0) {
        llmc_err_set(err, "fuse: empty graph");
        return false;
    }
    Fuser f = {.g = g};
    uint32_t n = g->n_nodes;
    fuser_users(&f);
    f.group_of = llmc_xmalloc(n * sizeof *f.group_of);
    for (IrId id = 0; id < n; id++) f.group_of[id] = NONE;
    f.next = llmc_xmalloc(n * sizeof *f.next);
    f.groups = llmc_xcalloc(n, sizeof *f.groups);

    fuse_elementwise(&f);
    fuse_matmul(&f);
    fuse_reduce(&f);
    fuse_row(&f);
    fuse_movement(&f);
    fuse_attention(&f);
    fuse_horizontal(&f);

    out->g = g;
    fuser_collect(&f, out);
    free(f.user_start);
    free(f.users);
    free(f.is_output);
    free(f.group_of);
    free(f.next);
    free(f.groups);
    return true;
}

void cc_fusion_free(CcFusion *f) {
    if (!f) return;
    for (uint32_t k = 0; k < f->n_kernels; k++) {
        free(f->kernels[k].nodes);
        free(f->kernels[k].inputs);
        free(f->kernels[k].outputs);
    }
    free(f->kernels);
    free(f->kernel_of);
    memset(f, 0, sizeof *f);
}

/* --- printing ------------------------------------------------------------------------ */

/* The canonical .llir line of every node, from ir_print_graph's text: line_of[id] points
 * at "%id = ..." (without the indentation), len_of[id] its length up to the provenance
 * comment. */
static void index_lines(const IrGraph *g, const char *text, const char **line_of, size_t *len_of) {
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *s = p;
        while (s < p + len && *s == ' ') s++;
        if (s < p + len && *s == '%') {
            char *end;
            unsigned long id = strtoul(s + 1, &end, 10);
            if (end != s + 1 && id < g->n_nodes && strncmp(end, " = ", 3) == 0) {
                size_t l = (size_t)(p + len - s);
                for (size_t i = l; i >= 4; i--) /* drop "  # provenance" */
                    if (memcmp(s + i - 4, "  # ", 4) == 0) {
                        l = i - 4;
                        break;
                    }
                line_of[id] = s;
                len_of[id] = l;
            }
        }
        p = eol ? eol + 1 : p + len;
    }
}

static void print_ids(LlmcBuf *out, const IrId *ids, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) llmc_buf_printf(out, "%s%%%u", i ? ", " : "", ids[i]);
}

void cc_fusion_print(const CcFusion *f, LlmcBuf *out) {
    const IrGraph *g = f->g;
    LlmcBuf text = {0};
    ir_print_graph(g, &text);
    const char **line_of = llmc_xcalloc(g->n_nodes, sizeof *line_of);
    size_t *len_of = llmc_xcalloc(g->n_nodes, sizeof *len_of);
    if (text.data) index_lines(g, text.data, line_of, len_of);
    uint32_t n_sources = 0;
    for (IrId id = 0; id < g->n_nodes; id++) n_sources += f->kernel_of[id] == NONE;

    llmc_buf_printf(out, "fused @%s {\n", ir_graph_name(g));
    for (uint32_t k = 0; k < f->n_kernels; k++) {
        const CcKernel *kn = &f->kernels[k];
        llmc_buf_printf(out, "  fusion %%k%u = %s(", k, cc_kernel_kind_name(kn->kind));
        print_ids(out, kn->inputs, kn->n_inputs);
        llmc_buf_puts(out, ") -> (");
        print_ids(out, kn->outputs, kn->n_outputs);
        llmc_buf_puts(out, ") {\n");
        for (uint32_t i = 0; i < kn->n_nodes; i++) {
            IrId id = kn->nodes[i];
            if (line_of[id]) {
                llmc_buf_puts(out, "    ");
                llmc_buf_put(out, line_of[id], len_of[id]);
                llmc_buf_putc(out, '\n');
            } else {
                llmc_buf_printf(out, "    %%%u = %s(...)\n", id, ir_op_name(ir_graph_node(g, id)->op));
            }
        }
        llmc_buf_puts(out, "  }\n");
    }
    for (uint32_t o = 0; o < g->n_outputs; o++)
        llmc_buf_printf(out, "  // output \"%s\" = %%%u\n", ir_graph_str(g, g->outputs[o].name), g->outputs[o].node);
    llmc_buf_printf(out, "  // %u kernels for %u nodes (%u inputs and constants)\n}\n", f->n_kernels, g->n_nodes,
                    n_sources);
    free(line_of);
    free(len_of);
    llmc_buf_free(&text);
}

uint32_t cc_fusion_first_reader(const CcFusion *f, IrId id) {
    for (uint32_t k = 0; k < f->n_kernels; k++)
        for (uint32_t i = 0; i < f->kernels[k].n_inputs; i++)
            if (f->kernels[k].inputs[i] == id) return k;
    return f->n_kernels;
}
