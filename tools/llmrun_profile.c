/* tools/llmrun_profile.c — `llmrun --profile`: where a training step's time goes.
 *
 * The executor times every kernel (rt_exec_set_profile); this file turns those sums into
 * one report per run: the step's wall time split into compute kernels, collectives and
 * the rest (accumulation, data, copies outside kernels); the useful FLOPs and MFU against
 * the machine's FMA peak measured now (rt_machine_peak); time, GFLOP/s and share by
 * kernel kind; and the top kernels, each with its FLOPs, bytes, its place against the
 * roofline, its IR nodes and their scopes. A kernel's bytes are its inputs and outputs
 * once each, a lower bound on its traffic; "roof" is the time the roofline allows
 * (max of FLOPs / peak and bytes / bandwidth) over the time taken, so 100% is at the
 * machine's limit and a small figure is a kernel worth looking at. The peak is the FMA
 * peak, or the bf16 dot peak for a matmul of bf16 operands on vdpbf16ps.
 * Deliberately not here: the timers themselves (runtime/exec.c) and any change to what
 * a step computes.
 */
#include "llmrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ProfRow {
    const RtExec *exec;
    const char *graph;    /* "micro" / "update" */
    uint32_t k;           /* kernel index in its fusion */
    double seconds;       /* per optimizer step */
    double flops, bytes;  /* per optimizer step */
    double useful;        /* useful FLOPs per optimizer step */
    bool collective;
    bool bf16_dot;        /* a matmul of bf16 operands: its roof is the bf16 dot peak */
} ProfRow;

/* Kernel k's FLOPs and useful FLOPs (per run) and bytes in and out (once each). An
 * attention_lse sharing the forward kernel of its attention is a by-product of it (fuse.c
 * rule 7): no FLOPs of its own. */
static void kernel_cost(const IrGraph *g, const CcKernel *kn, double *flops, double *useful, double *bytes) {
    *flops = *useful = *bytes = 0;
    bool has_attention = false;
    for (uint32_t i = 0; i < kn->n_nodes; i++) has_attention |= ir_graph_node(g, kn->nodes[i])->op == IR_OP_ATTENTION;
    for (uint32_t i = 0; i < kn->n_nodes; i++) {
        if (has_attention && ir_graph_node(g, kn->nodes[i])->op == IR_OP_ATTENTION_LSE) continue;
        *flops += (double)ir_node_flops(g, kn->nodes[i]);
        *useful += cc_node_useful_flops(g, kn->nodes[i]);
    }
    for (uint32_t i = 0; i < kn->n_inputs; i++) *bytes += (double)ir_type_bytes(&ir_graph_node(g, kn->inputs[i])->type);
    for (uint32_t i = 0; i < kn->n_outputs; i++)
        *bytes += (double)ir_type_bytes(&ir_graph_node(g, kn->outputs[i])->type);
}

static uint32_t add_rows(ProfRow *rows, uint32_t n, const RtExec *e, const char *graph, uint64_t steps) {
    uint64_t runs;
    const double *sec = rt_exec_profile(e, &runs);
    const CcFusion *f = rt_exec_fusion(e);
    const IrGraph *g = rt_exec_graph(e);
    if (!sec || !runs || !steps) return n;
    double runs_per_step = (double)runs / (double)steps;
    for (uint32_t k = 0; k < f->n_kernels; k++) {
        const CcKernel *kn = &f->kernels[k];
        ProfRow *r = &rows[n++];
        r->exec = e;
        r->graph = graph;
        r->k = k;
        r->seconds = sec[k] / (double)steps;
        kernel_cost(g, kn, &r->flops, &r->useful, &r->bytes);
        r->flops *= runs_per_step;
        r->useful *= runs_per_step;
        r->bytes *= runs_per_step;
        r->collective =
            kn->kind == CC_KERNEL_RUNTIME && ir_op_info(ir_graph_node(g, kn->root)->op)->kind == IR_KIND_COLLECTIVE;
        r->bf16_dot = false;
        for (uint32_t i = 0; i < kn->n_nodes; i++) {
            const IrNode *m = ir_graph_node(g, kn->nodes[i]);
            r->bf16_dot |= m->op == IR_OP_MATMUL && ir_graph_node(g, m->operands[0])->type.dtype == IR_DTYPE_BF16;
        }
    }
    return n;
}

static int by_time(const void *a, const void *b) {
    const ProfRow *x = a, *y = b;
    if (x->seconds != y->seconds) return x->seconds < y->seconds ? 1 : -1;
    return (x->k > y->k) - (x->k < y->k);
}

/* "layers.0.attn (+2)": the first scope of the members and how many others there are
 * ("+8 or more" past eight). */
static void scopes_of(const IrGraph *g, const CcKernel *kn, char *out, size_t cap) {
    enum { TRACKED = 9 };
    uint32_t seen[TRACKED];
    uint32_t n_seen = 0;
    bool more = false;
    for (uint32_t i = 0; i < kn->n_nodes; i++) {
        uint32_t s = ir_graph_node(g, kn->nodes[i])->scope;
        if (!s) continue;
        bool dup = false;
        for (uint32_t j = 0; j < n_seen; j++) dup |= seen[j] == s;
        if (dup) continue;
        if (n_seen < TRACKED) seen[n_seen++] = s;
        else more = true;
    }
    if (!n_seen) snprintf(out, cap, "-");
    else if (more) snprintf(out, cap, "%s (+%u or more)", ir_graph_str(g, seen[0]), n_seen - 1);
    else if (n_seen > 1) snprintf(out, cap, "%s (+%u)", ir_graph_str(g, seen[0]), n_seen - 1);
    else snprintf(out, cap, "%s", ir_graph_str(g, seen[0]));
}

/* "%451 matmul f32[2048,8192] +2: add mul": the root, its type, the other members' ops. */
static void nodes_of(const IrGraph *g, const CcKernel *kn, char *out, size_t cap) {
    const IrNode *root = ir_graph_node(g, kn->root);
    int len = snprintf(out, cap, "%%%u %s [", kn->root, ir_op_name(root->op));
    for (uint32_t d = 0; d < root->type.rank && len < (int)cap; d++)
        len += snprintf(out + len, cap - (size_t)len, "%s%lld", d ? "," : "", (long long)root->type.dims[d]);
    if (len < (int)cap) len += snprintf(out + len, cap - (size_t)len, "]");
    if (kn->n_nodes > 1 && len < (int)cap) len += snprintf(out + len, cap - (size_t)len, " +%u:", kn->n_nodes - 1);
    IrOp listed[6];
    uint32_t n_listed = 0;
    for (uint32_t i = 0; i < kn->n_nodes && len < (int)cap; i++) {
        IrOp op = ir_graph_node(g, kn->nodes[i])->op;
        if (kn->nodes[i] == kn->root) continue;
        bool dup = false;
        for (uint32_t j = 0; j < n_listed; j++) dup |= listed[j] == op;
        if (dup) continue;
        if (n_listed == 6) {
            len += snprintf(out + len, cap - (size_t)len, " ...");
            break;
        }
        listed[n_listed++] = op;
        len += snprintf(out + len, cap - (size_t)len, " %s", ir_op_name(op));
    }
}

void llmrun_profile_print(FILE *f, const RtTrainer *t, uint64_t steps, double step_seconds, const RtMachinePeak *peak,
                          uint32_t top) {
    const RtExec *micro = rt_trainer_exec(t, false), *update = rt_trainer_exec(t, true);
    uint32_t cap = rt_exec_fusion(micro)->n_kernels + rt_exec_fusion(update)->n_kernels;
    ProfRow *rows = calloc(cap ? cap : 1, sizeof *rows);
    uint32_t n = add_rows(rows, 0, micro, "micro", steps);
    n = add_rows(rows, n, update, "update", steps);
    if (!rows || !n || !steps) {
        fprintf(f, "profile: no profiled step (the first step is a warm-up: run --steps 2 or more)\n");
        free(rows);
        return;
    }
    double step_s = step_seconds / (double)steps, compute = 0, comm = 0, useful = 0;
    double by_kind_s[CC_KERNEL_COUNT] = {0}, by_kind_flops[CC_KERNEL_COUNT] = {0};
    uint32_t by_kind_n[CC_KERNEL_COUNT] = {0};
    for (uint32_t i = 0; i < n; i++) {
        (rows[i].collective ? &comm : &compute)[0] += rows[i].seconds;
        useful += rows[i].useful;
        CcKernelKind kind = rt_exec_fusion(rows[i].exec)->kernels[rows[i].k].kind;
        by_kind_s[kind] += rows[i].seconds;
        by_kind_flops[kind] += rows[i].flops;
        by_kind_n[kind]++;
    }
    double other = step_s - compute - comm;
    fprintf(f, "\nprofile: %llu steps after a warm-up step, %u threads\n", (unsigned long long)steps,
            peak ? peak->threads : 0);
    fprintf(f, "  step %.1f ms = compute kernels %.1f ms (%.1f%%) + collectives %.1f ms (%.1f%%) + outside kernels "
               "%.1f ms (%.1f%%: accumulation, data, copies)\n",
            step_s * 1e3, compute * 1e3, 100 * compute / step_s, comm * 1e3, 100 * comm / step_s, other * 1e3,
            100 * other / step_s);
    fprintf(f, "  useful work %.3g FLOP per step (the matmuls of @micro, MoE experts as routed) = %.1f GFLOP/s\n", useful,
            useful / step_s / 1e9);
    if (peak && peak->fma_gflops > 0)
        fprintf(f, "  machine (measured now): FMA peak %.1f GFLOP/s, memory %.1f GB/s  ->  MFU %.1f%%\n", peak->fma_gflops,
                peak->mem_gbs, 100 * useful / step_s / 1e9 / peak->fma_gflops);
    if (peak && peak->bf16_gflops > 0) /* what bf16 matmuls could reach on vdpbf16ps */
        fprintf(f, "  bf16 dot peak (vdpbf16ps) %.1f GFLOP/s  ->  %.1f%% of it\n", peak->bf16_gflops,
                100 * useful / step_s / 1e9 / peak->bf16_gflops);
    fprintf(f, "\n  %-12s %7s %9s %7s %9s\n", "kind", "kernels", "ms/step", "share", "GFLOP/s");
    for (int kind = 1; kind < CC_KERNEL_COUNT; kind++) {
        if (!by_kind_n[kind]) continue;
        fprintf(f, "  %-12s %7u %9.2f %6.1f%% %9.1f\n", cc_kernel_kind_name((CcKernelKind)kind), by_kind_n[kind],
                by_kind_s[kind] * 1e3, 100 * by_kind_s[kind] / step_s,
                by_kind_s[kind] > 0 ? by_kind_flops[kind] / by_kind_s[kind] / 1e9 : 0.0);
    }
    qsort(rows, n, sizeof *rows, by_time);
    if (top > n) top = n;
    fprintf(f, "\n  top %u of %u kernels (ms/step: per optimizer step; roof: the roofline's time over the time taken)\n",
            top, n);
    fprintf(f, "  %6s %8s %8s %7s %5s  %-7s %-5s %-11s %-40s %s\n", "share", "ms/step", "GFLOP/s", "GB/s", "roof",
            "graph", "k", "kind", "nodes", "scope");
    for (uint32_t i = 0; i < top; i++) {
        const ProfRow *r = &rows[i];
        const IrGraph *g = rt_exec_graph(r->exec);
        const CcKernel *kn = &rt_exec_fusion(r->exec)->kernels[r->k];
        char nodes[128], scope[96], roof[16] = "-";
        nodes_of(g, kn, nodes, sizeof nodes);
        scopes_of(g, kn, scope, sizeof scope);
        if (peak && peak->fma_gflops > 0 && peak->mem_gbs > 0 && r->seconds > 0 && !r->collective) {
            /* bf16 matmuls on vdpbf16ps against its peak (0 when the path is fp32) */
            double roof_gflops = r->bf16_dot && peak->bf16_gflops > 0 ? peak->bf16_gflops : peak->fma_gflops;
            double bound = r->flops / (roof_gflops * 1e9);
            double mem = r->bytes / (peak->mem_gbs * 1e9);
            snprintf(roof, sizeof roof, "%.0f%%", 100 * (bound > mem ? bound : mem) / r->seconds);
        }
        fprintf(f, "  %5.1f%% %8.3f %8.1f %7.1f %5s  %-7s %-5u %-11s %-40s %s\n", 100 * r->seconds / step_s,
                r->seconds * 1e3, r->seconds > 0 ? r->flops / r->seconds / 1e9 : 0.0,
                r->seconds > 0 ? r->bytes / r->seconds / 1e9 : 0.0, roof, r->graph, r->k,
                r->collective ? "collective" : cc_kernel_kind_name(kn->kind), nodes, scope);
    }
    free(rows);
}
