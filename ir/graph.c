/* ir/graph.c — graph storage: the dense node array, the arena, interned strings,
 * outputs, modules, deep copies.
 *
 * Nodes live in one growable array indexed by 32-bit id, in topological order; their
 * operand lists, constant payloads and strings live in the graph's arena. It deliberately
 * does no checking of meaning: the builder infers types and the verifier judges a graph.
 */
#include "ir_int.h"

#include <stdlib.h>
#include <string.h>

/* --- interned strings ---------------------------------------------------------------- */

static uint32_t str_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void strtab_rehash(IrStrTable *t, uint32_t n_slots) {
    free(t->slots);
    t->slots = llmc_xcalloc(n_slots, sizeof *t->slots);
    t->n_slots = n_slots;
    for (uint32_t id = 0; id < t->count; id++) {
        uint32_t h = str_hash(t->strs[id], strlen(t->strs[id])) & (n_slots - 1);
        while (t->slots[h]) h = (h + 1) & (n_slots - 1);
        t->slots[h] = id + 1;
    }
}

uint32_t ir_graph_intern_n(IrGraph *g, const char *s, size_t n) {
    IrStrTable *t = &g->strings;
    if (n == 0) return 0;
    uint32_t h = str_hash(s, n) & (t->n_slots - 1);
    for (; t->slots[h]; h = (h + 1) & (t->n_slots - 1)) {
        const char *c = t->strs[t->slots[h] - 1];
        if (strlen(c) == n && memcmp(c, s, n) == 0) return t->slots[h] - 1;
    }
    if (t->count == t->cap) {
        t->cap *= 2;
        t->strs = llmc_xrealloc(t->strs, t->cap * sizeof *t->strs);
    }
    uint32_t id = t->count++;
    t->strs[id] = llmc_arena_strndup(&g->arena, s, n);
    if (t->count * 2 > t->n_slots)
        strtab_rehash(t, t->n_slots * 2);
    else
        t->slots[h] = id + 1;
    return id;
}

uint32_t ir_graph_intern(IrGraph *g, const char *s) {
    return s ? ir_graph_intern_n(g, s, strlen(s)) : 0;
}

const char *ir_graph_str(const IrGraph *g, uint32_t id) {
    LLMC_ASSERT(id < g->strings.count);
    return g->strings.strs[id];
}

/* --- graphs -------------------------------------------------------------------------- */

IrGraph *ir_graph_new(const char *name) {
    IrGraph *g = llmc_xcalloc(1, sizeof *g);
    g->strings.cap = 64;
    g->strings.strs = llmc_xmalloc(g->strings.cap * sizeof *g->strings.strs);
    g->strings.strs[0] = "";
    g->strings.count = 1;
    strtab_rehash(&g->strings, 128);
    g->name = ir_graph_intern(g, name ? name : "main");
    ir_train_defaults(&g->train);
    return g;
}

void ir_graph_free(IrGraph *g) {
    if (!g) return;
    free(g->nodes);
    free(g->outputs);
    free(g->strings.strs);
    free(g->strings.slots);
    llmc_arena_free(&g->arena);
    free(g);
}

const char *ir_graph_name(const IrGraph *g) { return ir_graph_str(g, g->name); }

IrId ir_graph_add_node(IrGraph *g, const IrNode *proto) {
    LLMC_ASSERT(g->n_nodes < IR_ID_NONE - 1);
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? g->cap_nodes * 2 : 64;
        g->nodes = llmc_xrealloc(g->nodes, g->cap_nodes * sizeof *g->nodes);
    }
    IrNode *n = &g->nodes[g->n_nodes];
    *n = *proto;
    n->operands = NULL;
    if (proto->n_operands) {
        n->operands = llmc_arena_alloc(&g->arena, proto->n_operands * sizeof(IrId));
        memcpy(n->operands, proto->operands, proto->n_operands * sizeof(IrId));
    }
    return g->n_nodes++;
}

const IrNode *ir_graph_node(const IrGraph *g, IrId id) {
    LLMC_ASSERT(id < g->n_nodes);
    return &g->nodes[id];
}

void ir_graph_add_output(IrGraph *g, const char *name, IrId node) {
    if (g->n_outputs == g->cap_outputs) {
        g->cap_outputs = g->cap_outputs ? g->cap_outputs * 2 : 8;
        g->outputs = llmc_xrealloc(g->outputs, g->cap_outputs * sizeof *g->outputs);
    }
    g->outputs[g->n_outputs].name = ir_graph_intern(g, name);
    g->outputs[g->n_outputs].node = node;
    g->n_outputs++;
}

uint32_t ir_graph_inputs(const IrGraph *g, IrId *ids) {
    uint32_t n = 0;
    for (IrId i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op != IR_OP_INPUT) continue;
        if (ids) ids[n] = i;
        n++;
    }
    return n;
}

IrId ir_graph_find_input(const IrGraph *g, const char *name) {
    for (IrId i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == IR_OP_INPUT && strcmp(ir_graph_str(g, g->nodes[i].attrs.input.name), name) == 0)
            return i;
    return IR_ID_NONE;
}

IrGraph *ir_graph_clone(const IrGraph *g) {
    /* Start with an empty string table (the name "" interns to 0), re-intern every string
     * in id order so ids stay valid in the copy, then take the name's id: a graph renamed
     * after other strings were interned keeps its name at a later id. */
    IrGraph *c = ir_graph_new("");
    for (uint32_t i = 1; i < g->strings.count; i++) {
        uint32_t id = ir_graph_intern(c, g->strings.strs[i]);
        LLMC_ASSERT(id == i);
    }
    c->name = g->name;
    for (IrId i = 0; i < g->n_nodes; i++) {
        IrNode n = g->nodes[i];
        IrId id = ir_graph_add_node(c, &n);
        if (n.op == IR_OP_CONST && n.attrs.constant.value.bytes) {
            size_t bytes = n.attrs.constant.value.count * ir_dtype_size(n.type.dtype);
            void *copy = llmc_arena_alloc(&c->arena, bytes);
            memcpy(copy, n.attrs.constant.value.bytes, bytes);
            c->nodes[id].attrs.constant.value.bytes = copy;
        }
    }
    for (uint32_t o = 0; o < g->n_outputs; o++)
        ir_graph_add_output(c, ir_graph_str(g, g->outputs[o].name), g->outputs[o].node);
    c->train = g->train; /* its string ids are valid: strings were copied in id order */
    return c;
}

/* --- modules ------------------------------------------------------------------------- */

void ir_module_add(IrModule *m, IrGraph *g) {
    m->graphs = llmc_xrealloc(m->graphs, (m->n_graphs + 1) * sizeof *m->graphs);
    m->graphs[m->n_graphs++] = g;
}

void ir_module_free(IrModule *m) {
    for (uint32_t i = 0; i < m->n_graphs; i++) ir_graph_free(m->graphs[i]);
    free(m->graphs);
    m->graphs = NULL;
    m->n_graphs = 0;
}
