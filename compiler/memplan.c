/* compiler/memplan.c — the memory plan: every intermediate buffer of a fused graph at an
 * offset in one arena, so peak memory is known before the first step (cc_memplan), and
 * an independent checker of a plan (cc_memplan_check).
 *
 * What is a buffer. A kernel output (CcKernel.outputs) that is not a graph output.
 * Graph outputs get their own buffers outside the arena: they outlive the run (the
 * caller reads them, and `state` outputs are written back over their inputs by the
 * executor). Inputs and constants are owned by the caller / the graph. Members that are
 * not kernel outputs live in registers or in the kernel's own scratch, never here.
 *
 * Liveness, over the kernel order of the fusion (kernel index k = time):
 *   a buffer is live from the kernel that writes it to the last kernel that reads it,
 *   both inclusive; one that nothing reads is live at its writer only. A collective (a
 *   RUNTIME kernel) runs in the background until its first reader (the executor starts
 *   it at its kernel and waits before cc_fusion_first_reader), so its operand stays live
 *   until the kernel before that one. Kernel k reads
 *   its CcKernel.inputs and, for each input that is a `broadcast` of a rank-0 value, that
 *   value too (elementwise codegen reads the rank-0 source through such a broadcast,
 *   cc_elementwise_inputs). A kernel's outputs and the inputs that die at it are live at
 *   the same time, so by default they never share bytes.
 *
 * Placement. Sizes are ir_type_bytes rounded up to 64 bytes, so every offset is 64-byte
 * aligned. Kernels in order; at kernel k, each output in ascending id is placed
 *   1. in place, if the rule below allows it: at its input's offset;
 *   2. else best fit: the smallest free interval that holds it, lowest offset on ties;
 *   3. else at the top of the arena (taking over a free interval that ends at the top),
 *      which grows the arena.
 * Then the buffers whose last reader is k (and k's outputs nobody reads) are freed,
 * adjacent free intervals merged. Everything is in kernel and id order: the plan is a
 * function of the fusion alone.
 *
 * In place. Only ELEMENTWISE kernels, and only with one output (the rule below is
 * checked for one output; a kernel with several keeps them apart from its inputs): the
 * output may take the bytes of an input that (a) is an arena buffer,
 * (b) dies at this kernel, (c) has the output's element count and byte size, and (d) is
 * in the codegen binding (cc_elementwise_inputs), i.e. read at element i where element i
 * is written, and (e) is not read through a movement member of the kernel (broadcast,
 * permute, reshape, or the bottom of a chain of them): that is index arithmetic, output
 * element i may read another element of it (a size-preserving broadcast such as
 * [N] -> [1,N] or a square permute passes (c), and need not be the identity on flat
 * order), so an element could be overwritten before it is read. Elementwise codegen supports exactly that aliasing (compiler.h, CcKernelFn). The first
 * such input in ascending id is taken. A rank-0 value read through a broadcast by a larger
 * kernel fails (c), so a scalar is never overwritten by a vector. cc_memplan_check checks
 * (c) and (e) again.
 *
 * Reported: peak_bytes (the arena size) and total_bytes (the sum of all buffer sizes,
 * what a buffer per intermediate would need).
 *
 * Deliberately not here: reordering kernels to lower the peak, in-place for other kernel
 * kinds (a MATMUL output must not overlap its operands), and buffers for the kernels'
 * own scratch (matmul packs on its stack).
 */
#include "compiler.h"

#include <stdlib.h>
#include <string.h>

#define NONE32 UINT32_MAX

static uint64_t align_up(uint64_t n) {
    return (n + (CC_MEMPLAN_ALIGN - 1)) / CC_MEMPLAN_ALIGN * CC_MEMPLAN_ALIGN;
}

static bool is_rank0_broadcast(const IrGraph *g, IrId id) {
    const IrNode *n = ir_graph_node(g, id);
    return n->op == IR_OP_BROADCAST && ir_graph_node(g, n->operands[0])->type.rank == 0;
}

/* is_buffer[id]: a kernel output that is not a graph output. Shared by planner and
 * checker: it is the definition, not a computation to cross-check. */
static bool *buffers_mark(const CcFusion *f) {
    const IrGraph *g = f->g;
    bool *is_out = llmc_xcalloc(g->n_nodes ? g->n_nodes : 1, sizeof *is_out);
    bool *is_buf = llmc_xcalloc(g->n_nodes ? g->n_nodes : 1, sizeof *is_buf);
    for (uint32_t o = 0; o < g->n_outputs; o++) is_out[g->outputs[o].node] = true;
    for (uint32_t k = 0; k < f->n_kernels; k++)
        for (uint32_t i = 0; i < f->kernels[k].n_outputs; i++) {
            IrId id = f->kernels[k].outputs[i];
            is_buf[id] = !is_out[id];
        }
    free(is_out);
    return is_buf;
}

/* --- free intervals ------------------------------------------------------------------ */

typedef struct Span {
    uint64_t off, len;
} Span;

typedef struct FreeList {
    Span *s; /* sorted by offset, disjoint, never adjacent */
    uint32_t n, cap;
    uint64_t top; /* arena size so far */
} FreeList;

static uint64_t free_take(FreeList *fl, uint64_t len) {
    uint32_t best = NONE32;
    for (uint32_t i = 0; i < fl->n; i++)
        if (fl->s[i].len >= len && (best == NONE32 || fl->s[i].len < fl->s[best].len)) best = i;
    if (best != NONE32) {
        uint64_t off = fl->s[best].off;
        fl->s[best].off += len;
        fl->s[best].len -= len;
        if (fl->s[best].len == 0) {
            memmove(&fl->s[best], &fl->s[best + 1], (fl->n - best - 1) * sizeof *fl->s);
            fl->n--;
        }
        return off;
    }
    if (fl->n && fl->s[fl->n - 1].off + fl->s[fl->n - 1].len == fl->top) { /* grow the last */
        uint64_t off = fl->s[fl->n - 1].off;
        fl->n--;
        fl->top = off + len;
        return off;
    }
    uint64_t off = fl->top;
    fl->top += len;
    return off;
}

static void free_give(FreeList *fl, uint64_t off, uint64_t len) {
    uint32_t i = 0;
    while (i < fl->n && fl->s[i].off < off) i++;
    LLMC_ASSERT(i == fl->n || off + len <= fl->s[i].off);
    LLMC_ASSERT(i == 0 || fl->s[i - 1].off + fl->s[i - 1].len <= off);
    bool join_prev = i > 0 && fl->s[i - 1].off + fl->s[i - 1].len == off;
    bool join_next = i < fl->n && off + len == fl->s[i].off;
    if (join_prev && join_next) {
        fl->s[i - 1].len += len + fl->s[i].len;
        memmove(&fl->s[i], &fl->s[i + 1], (fl->n - i - 1) * sizeof *fl->s);
        fl->n--;
    } else if (join_prev) {
        fl->s[i - 1].len += len;
    } else if (join_next) {
        fl->s[i].off = off;
        fl->s[i].len += len;
    } else {
        if (fl->n == fl->cap) {
            fl->cap = fl->cap ? 2 * fl->cap : 16;
            fl->s = llmc_xrealloc(fl->s, fl->cap * sizeof *fl->s);
        }
        memmove(&fl->s[i + 1], &fl->s[i], (fl->n - i) * sizeof *fl->s);
        fl->s[i] = (Span){off, len};
        fl->n++;
    }
}

/* --- the planner --------------------------------------------------------------------- */

void cc_memplan_free(CcMemPlan *p) {
    free(p->offset);
    free(p->size);
    free(p->first);
    free(p->last);
    free(p->inplace_of);
    memset(p, 0, sizeof *p);
}

/* Whether kernel member nodes read x through a movement op (broadcast, permute, reshape,
 * ...: index arithmetic, so element i of the output may read any element of x, and x must
 * not be overwritten in place). */
static bool read_through_movement(const IrGraph *g, const CcKernel *kn, IrId x) {
    for (uint32_t i = 0; i < kn->n_nodes; i++) {
        const IrNode *m = ir_graph_node(g, kn->nodes[i]);
        if (ir_op_info(m->op)->kind == IR_KIND_MOVEMENT && m->operands[0] == x) return true;
    }
    return false;
}

/* The in-place input for kernel k's single output, or IR_ID_NONE (rule in the banner). */
static IrId inplace_input(const CcFusion *f, uint32_t k, const bool *is_buf, const CcMemPlan *p, const bool *taken) {
    const CcKernel *kn = &f->kernels[k];
    if (kn->kind != CC_KERNEL_ELEMENTWISE || kn->n_outputs != 1) return IR_ID_NONE;
    const IrGraph *g = f->g;
    IrId out = kn->outputs[0];
    const IrType *ot = &ir_graph_node(g, out)->type;
    IrId *ids = llmc_xmalloc(3 * (size_t)kn->n_nodes * sizeof *ids + sizeof *ids);
    uint32_t n = 0;
    LlmcErr err = {0};
    IrId pick = IR_ID_NONE;
    if (cc_elementwise_inputs(g, kn->nodes, kn->n_nodes, out, ids, &n, &err)) {
        for (uint32_t i = 0; i < n && pick == IR_ID_NONE; i++) {
            IrId x = ids[i];
            const IrType *xt = &ir_graph_node(g, x)->type;
            if (is_buf[x] && !taken[x] && p->last[x] == k && ir_type_numel(xt) == ir_type_numel(ot) &&
                ir_type_bytes(xt) == ir_type_bytes(ot) && !read_through_movement(g, kn, x))
                pick = x;
        }
    }
    free(ids);
    return pick;
}

/* hold[k]: for a collective at kernel k, the last kernel during which it may still read
 * its operand (the one before its first reader, or the last kernel); k otherwise. */
static uint32_t *collective_holds(const CcFusion *f) {
    uint32_t *hold = llmc_xcalloc(f->n_kernels + 1, sizeof *hold);
    for (uint32_t k = 0; k < f->n_kernels; k++) {
        hold[k] = k;
        const CcKernel *kn = &f->kernels[k];
        if (kn->kind != CC_KERNEL_RUNTIME || ir_op_info(ir_graph_node(f->g, kn->root)->op)->kind != IR_KIND_COLLECTIVE)
            continue;
        uint32_t reader = cc_fusion_first_reader(f, kn->root);
        hold[k] = reader > k + 1 ? reader - 1 : k;
    }
    return hold;
}

/* The operand of the collective at kernel k stays live while the collective runs. */
static void extend_hold(const CcFusion *f, const uint32_t *hold, uint32_t k, const bool *is_buf, uint32_t *last) {
    if (hold[k] == k) return;
    IrId x = ir_graph_node(f->g, f->kernels[k].root)->operands[0];
    if (is_buf[x] && last[x] != NONE32 && last[x] < hold[k]) last[x] = hold[k];
}

bool cc_memplan(const CcFusion *f, CcMemPlan *out, LlmcErr *err) {
    const IrGraph *g = f->g;
    uint32_t n = g->n_nodes;
    memset(out, 0, sizeof *out);
    size_t cells = n ? n : 1;
    CcMemPlan p = {.n_nodes = n};
    p.offset = llmc_xmalloc(cells * sizeof *p.offset);
    p.size = llmc_xcalloc(cells, sizeof *p.size);
    p.first = llmc_xmalloc(cells * sizeof *p.first);
    p.last = llmc_xmalloc(cells * sizeof *p.last);
    p.inplace_of = llmc_xmalloc(cells * sizeof *p.inplace_of);
    for (IrId id = 0; id < n; id++) {
        p.offset[id] = CC_MEMPLAN_NONE;
        p.first[id] = p.last[id] = NONE32;
        p.inplace_of[id] = IR_ID_NONE;
    }
    bool *is_buf = buffers_mark(f);
    bool *taken = llmc_xcalloc(cells, sizeof *taken); /* freed by an in-place output */
    bool ok = true;

    /* live ranges */
    uint32_t *hold = collective_holds(f);
    for (uint32_t k = 0; k < f->n_kernels && ok; k++) {
        const CcKernel *kn = &f->kernels[k];
        for (uint32_t i = 0; i < kn->n_outputs; i++) {
            IrId id = kn->outputs[i];
            if (id >= n || f->kernel_of[id] != k) {
                llmc_err_set(err, "memplan: kernel %u lists %%%u as an output it does not compute", k, id);
                ok = false;
                break;
            }
            if (is_buf[id]) p.first[id] = p.last[id] = k;
        }
        for (uint32_t i = 0; i < kn->n_inputs && ok; i++) {
            IrId x = kn->inputs[i];
            for (int hop = 0; hop < 2; hop++) { /* x, then a rank-0 broadcast's source */
                if (is_buf[x]) {
                    if (p.first[x] == NONE32 || p.first[x] >= k) {
                        llmc_err_set(err, "memplan: kernel %u reads %%%u before it is written", k, x);
                        ok = false;
                        break;
                    }
                    p.last[x] = k;
                }
                if (!is_rank0_broadcast(g, x)) break;
                x = ir_graph_node(g, x)->operands[0];
            }
        }
    }
    for (uint32_t k = 0; ok && k < f->n_kernels; k++) extend_hold(f, hold, k, is_buf, p.last);
    free(hold);

    /* placement */
    FreeList fl = {0};
    for (uint32_t k = 0; k < f->n_kernels && ok; k++) {
        const CcKernel *kn = &f->kernels[k];
        for (uint32_t i = 0; i < kn->n_outputs; i++) {
            IrId id = kn->outputs[i];
            if (!is_buf[id]) continue;
            p.size[id] = align_up(ir_type_bytes(&ir_graph_node(g, id)->type));
            p.n_buffers++;
            p.total_bytes += p.size[id];
            IrId x = inplace_input(f, k, is_buf, &p, taken);
            if (x != IR_ID_NONE) {
                LLMC_ASSERT(p.size[x] == p.size[id]);
                p.offset[id] = p.offset[x];
                p.inplace_of[id] = x;
                taken[x] = true;
                p.n_inplace++;
            } else {
                p.offset[id] = free_take(&fl, p.size[id]);
            }
        }
        for (uint32_t i = 0; i < kn->n_outputs; i++) { /* outputs nobody reads */
            IrId id = kn->outputs[i];
            if (is_buf[id] && p.last[id] == k) free_give(&fl, p.offset[id], p.size[id]);
        }
        for (uint32_t i = 0; i < kn->n_inputs; i++) { /* inputs that die here */
            IrId x = kn->inputs[i];
            for (int hop = 0; hop < 2; hop++) {
                if (is_buf[x] && p.last[x] == k && !taken[x] && p.offset[x] != CC_MEMPLAN_NONE) {
                    free_give(&fl, p.offset[x], p.size[x]);
                    taken[x] = true; /* freed once, even if listed twice */
                }
                if (!is_rank0_broadcast(g, x)) break;
                x = ir_graph_node(g, x)->operands[0];
            }
        }
    }
    p.peak_bytes = fl.top;
    free(fl.s);
    free(is_buf);
    free(taken);
    if (!ok) {
        cc_memplan_free(&p);
        return false;
    }
    *out = p;
    return true;
}

/* --- the checker --------------------------------------------------------------------- */

bool cc_memplan_check(const CcFusion *f, const CcMemPlan *p, LlmcErr *err) {
    const IrGraph *g = f->g;
    uint32_t n = g->n_nodes;
    if (p->n_nodes != n) {
        llmc_err_set(err, "memplan check: plan for %u nodes, graph has %u", p->n_nodes, n);
        return false;
    }
    size_t cells = n ? n : 1;
    bool *is_buf = buffers_mark(f);
    uint32_t *first = llmc_xmalloc(cells * sizeof *first), *last = llmc_xmalloc(cells * sizeof *last);
    for (IrId id = 0; id < n; id++) first[id] = last[id] = NONE32;
    /* live ranges from the member nodes' operands (not from CcKernel.inputs) */
    uint32_t *hold = collective_holds(f);
    for (uint32_t k = 0; k < f->n_kernels; k++) {
        const CcKernel *kn = &f->kernels[k];
        for (uint32_t i = 0; i < kn->n_nodes; i++) {
            const IrNode *m = ir_graph_node(g, kn->nodes[i]);
            if (is_buf[kn->nodes[i]]) first[kn->nodes[i]] = last[kn->nodes[i]] = k;
            for (uint32_t o = 0; o < m->n_operands; o++) {
                IrId x = m->operands[o];
                if (f->kernel_of[x] == k) continue;
                for (int hop = 0; hop < 2; hop++) {
                    if (is_buf[x] && last[x] != NONE32 && last[x] < k) last[x] = k;
                    if (!is_rank0_broadcast(g, x)) break;
                    x = ir_graph_node(g, x)->operands[0];
                }
            }
        }
    }
    for (uint32_t k = 0; k < f->n_kernels; k++) extend_hold(f, hold, k, is_buf, last);
    free(hold);
    bool ok = true;
    uint64_t total = 0;
    uint32_t n_buffers = 0;
    IrId *bufs = llmc_xmalloc(cells * sizeof *bufs);
    for (IrId id = 0; id < n && ok; id++) {
        if (!is_buf[id]) {
            if (p->offset[id] != CC_MEMPLAN_NONE) {
                llmc_err_set(err, "memplan check: %%%u is no intermediate but has offset %llu", id,
                             (unsigned long long)p->offset[id]);
                ok = false;
            }
            continue;
        }
        uint64_t want = (ir_type_bytes(&ir_graph_node(g, id)->type) + CC_MEMPLAN_ALIGN - 1) / CC_MEMPLAN_ALIGN *
                        CC_MEMPLAN_ALIGN;
        if (p->offset[id] == CC_MEMPLAN_NONE || p->offset[id] % CC_MEMPLAN_ALIGN || p->size[id] != want ||
            p->offset[id] + p->size[id] > p->peak_bytes) {
            llmc_err_set(err, "memplan check: %%%u: offset %llu size %llu (want %llu) arena %llu", id,
                         (unsigned long long)p->offset[id], (unsigned long long)p->size[id], (unsigned long long)want,
                         (unsigned long long)p->peak_bytes);
            ok = false;
        } else if (p->first[id] != first[id] || p->last[id] != last[id]) {
            llmc_err_set(err, "memplan check: %%%u: live range [%u, %u], recomputed [%u, %u]", id, p->first[id],
                         p->last[id], first[id], last[id]);
            ok = false;
        }
        total += want;
        bufs[n_buffers++] = id;
    }
    if (ok && (total != p->total_bytes || n_buffers != p->n_buffers)) {
        llmc_err_set(err, "memplan check: %u buffers of %llu bytes, plan says %u of %llu", n_buffers,
                     (unsigned long long)total, p->n_buffers, (unsigned long long)p->total_bytes);
        ok = false;
    }
    /* in-place claims: x dies at the kernel that writes id, which is ELEMENTWISE with one output */
    for (uint32_t i = 0; i < n_buffers && ok; i++) {
        IrId id = bufs[i], x = p->inplace_of[id];
        if (x == IR_ID_NONE) continue;
        uint32_t k = first[id];
        const CcKernel *kn = &f->kernels[k];
        if (x >= n || !is_buf[x] || last[x] != k || kn->kind != CC_KERNEL_ELEMENTWISE || kn->n_outputs != 1 ||
            p->offset[x] != p->offset[id] || p->size[x] != p->size[id] || read_through_movement(g, kn, x) ||
            ir_type_numel(&ir_graph_node(g, x)->type) != ir_type_numel(&ir_graph_node(g, id)->type)) {
            llmc_err_set(err, "memplan check: %%%u written in place over %%%u, which the rule does not allow", id, x);
            ok = false;
        }
    }
    /* overlaps: a sweep over kernels would do; pairs are plenty for the tests' sizes */
    for (uint32_t i = 0; i < n_buffers && ok; i++)
        for (uint32_t j = i + 1; j < n_buffers && ok; j++) {
            IrId a = bufs[i], b = bufs[j];
            bool live_together = first[a] <= last[b] && first[b] <= last[a];
            bool bytes_overlap = p->offset[a] < p->offset[b] + p->size[b] && p->offset[b] < p->offset[a] + p->size[a];
            if (!live_together || !bytes_overlap) continue;
            bool inplace = (p->inplace_of[b] == a && last[a] == first[b]) || (p->inplace_of[a] == b && last[b] == first[a]);
            if (!inplace) {
                llmc_err_set(err,
                             "memplan check: %%%u [kernels %u..%u, bytes %llu+%llu] and %%%u [kernels %u..%u, "
                             "bytes %llu+%llu] overlap while both live",
                             a, first[a], last[a], (unsigned long long)p->offset[a], (unsigned long long)p->size[a], b,
                             first[b], last[b], (unsigned long long)p->offset[b], (unsigned long long)p->size[b]);
                ok = false;
            }
        }
    free(bufs);
    free(first);
    free(last);
    free(is_buf);
    return ok;
}
