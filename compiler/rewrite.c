/* compiler/rewrite.c — the rewriting toolkit the simplification passes share: copy a
 * graph node by node into a new graph through a remap table (old id -> new id), replace
 * a node by a value that already exists, add nodes that inherit a node's provenance, and
 * compare nodes structurally (CSE) and graphs (simplify's fixed point).
 *
 * The new graph gets the old graph's strings re-interned in id order (as ir_graph_clone
 * does), so every string id — scopes, location files, input names, extern symbols, the
 * train record's model, the graph name — means the same in both and a node is copied as
 * a plain struct. Strings no node uses any more stay in the table; they are never
 * printed.
 *
 * It deliberately decides nothing: which node to drop, replace or merge is each pass's
 * business. It never edits a graph in place and never reorders: nodes land in dst in the
 * order the pass adds them, and a pass that maps each node only to values already in dst
 * keeps SSA order by construction. The verifier (in cc_rewrite_finish) is the backstop.
 */
#include "compiler_int.h"

#include <stdlib.h>
#include <string.h>

/* --- building the new graph ------------------------------------------------------------ */

void cc_rewrite_begin(CcRewrite *rw, const IrGraph *src) {
    rw->src = src;
    /* ir_graph_new interns its name first: give it string 1, so every id lines up
     * whatever string the graph's name is. */
    rw->dst = ir_graph_new(src->strings.count > 1 ? src->strings.strs[1] : "");
    for (uint32_t i = 1; i < src->strings.count; i++) {
        uint32_t id = ir_graph_intern(rw->dst, src->strings.strs[i]);
        LLMC_ASSERT(id == i);
    }
    rw->dst->name = src->name;
    rw->dst->train = src->train; /* its string ids hold: strings were copied in id order */
    rw->map = llmc_xmalloc((src->n_nodes ? src->n_nodes : 1) * sizeof *rw->map);
    for (IrId i = 0; i < src->n_nodes; i++) rw->map[i] = IR_ID_NONE;
}

IrId cc_rewrite_get(const CcRewrite *rw, IrId id) {
    LLMC_ASSERT(id < rw->src->n_nodes && rw->map[id] != IR_ID_NONE);
    return rw->map[id];
}

/* ir_graph_add_node copies operands but not a const's payload, which lives in the
 * source's arena: copy it, so dst outlives src. */
static IrId add_deep(IrGraph *dst, const IrNode *proto) {
    IrId id = ir_graph_add_node(dst, proto);
    IrNode *n = &dst->nodes[id];
    if (n->op == IR_OP_CONST && n->attrs.constant.value.bytes) {
        size_t bytes = n->attrs.constant.value.count * ir_dtype_size(n->type.dtype);
        void *copy = llmc_arena_alloc(&dst->arena, bytes);
        memcpy(copy, n->attrs.constant.value.bytes, bytes);
        n->attrs.constant.value.bytes = copy;
    }
    return id;
}

IrId cc_rewrite_copy(CcRewrite *rw, IrId id) {
    const IrNode *n = &rw->src->nodes[id];
    IrId small[IR_MAX_RANK];
    IrId *ops = n->n_operands <= IR_MAX_RANK ? small : llmc_xmalloc(n->n_operands * sizeof *ops);
    for (uint32_t i = 0; i < n->n_operands; i++) ops[i] = cc_rewrite_get(rw, n->operands[i]);
    IrNode proto = *n;
    proto.operands = ops;
    IrId nid = add_deep(rw->dst, &proto);
    if (ops != small) free(ops);
    rw->map[id] = nid;
    return nid;
}

IrId cc_rewrite_add(CcRewrite *rw, const IrNode *proto, IrId from) {
    const IrNode *f = &rw->src->nodes[from];
    IrNode p = *proto;
    p.scope = f->scope;
    p.loc = f->loc;
    for (uint32_t i = 0; i < p.n_operands; i++) LLMC_ASSERT(p.operands[i] < rw->dst->n_nodes);
    return add_deep(rw->dst, &p);
}

IrId cc_rewrite_add_const(CcRewrite *rw, IrType type, const void *bytes, uint64_t count, IrId from) {
    LLMC_ASSERT(count == 1 || count == (uint64_t)ir_type_numel(&type));
    IrNode proto = {.op = IR_OP_CONST, .type = type};
    proto.attrs.constant.value.count = count;
    proto.attrs.constant.value.bytes = (void *)bytes; /* copied by add_deep */
    return cc_rewrite_add(rw, &proto, from);
}

void cc_rewrite_set(CcRewrite *rw, IrId id, IrId value) {
    LLMC_ASSERT(id < rw->src->n_nodes && value < rw->dst->n_nodes);
    LLMC_ASSERT(ir_type_equal(&rw->src->nodes[id].type, &rw->dst->nodes[value].type));
    rw->map[id] = value;
}

IrGraph *cc_rewrite_finish(CcRewrite *rw, const char *pass, LlmcErr *err) {
    IrGraph *dst = rw->dst;
    for (uint32_t o = 0; o < rw->src->n_outputs; o++)
        ir_graph_add_output(dst, ir_graph_str(rw->src, rw->src->outputs[o].name),
                            cc_rewrite_get(rw, rw->src->outputs[o].node));
    free(rw->map);
    rw->map = NULL;
    rw->dst = NULL;
    LlmcDiags d = {0};
    if (!ir_verify(dst, &d, NULL, NULL)) {
        const char *why = "no message";
        for (uint32_t i = 0; i < d.count; i++)
            if (d.items[i].severity == LLMC_SEV_ERROR) {
                why = d.items[i].msg;
                break;
            }
        llmc_err_set(err, "internal error: pass '%s' produced an invalid graph @%s: %s", pass, ir_graph_name(dst),
                     why);
        llmc_diags_free(&d);
        ir_graph_free(dst);
        return NULL;
    }
    llmc_diags_free(&d);
    return dst;
}

/* --- constants ------------------------------------------------------------------------- */

const void *cc_const_elem(const IrNode *n, uint64_t i) {
    LLMC_ASSERT(n->op == IR_OP_CONST);
    const IrData *d = &n->attrs.constant.value;
    size_t size = ir_dtype_size(n->type.dtype);
    return (const char *)d->bytes + (d->count == 1 ? 0 : i * size);
}

bool cc_const_uniform(const IrNode *n, const void **elem) {
    if (n->op != IR_OP_CONST) return false;
    const IrData *d = &n->attrs.constant.value;
    size_t size = ir_dtype_size(n->type.dtype);
    for (uint64_t i = 1; i < d->count; i++)
        if (memcmp((const char *)d->bytes + i * size, d->bytes, size) != 0) return false;
    if (elem) *elem = d->bytes;
    return true;
}

double cc_const_value(const IrNode *n, uint64_t i) {
    const void *p = cc_const_elem(n, i);
    switch (n->type.dtype) {
    case IR_DTYPE_F32: {
        float f;
        memcpy(&f, p, sizeof f);
        return f;
    }
    case IR_DTYPE_F64: {
        double v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    case IR_DTYPE_I32: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    case IR_DTYPE_BF16: {
        uint16_t h;
        memcpy(&h, p, sizeof h);
        uint32_t bits = (uint32_t)h << 16;
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: break;
    }
    LLMC_ASSERT(!"const of an invalid dtype");
    return 0;
}

bool cc_const_all(const IrNode *n, double v) {
    const void *elem;
    if (!cc_const_uniform(n, &elem)) return false;
    unsigned char want[8];
    switch (n->type.dtype) {
    case IR_DTYPE_F32: {
        float f = (float)v;
        memcpy(want, &f, sizeof f);
        break;
    }
    case IR_DTYPE_F64: memcpy(want, &v, sizeof v); break;
    case IR_DTYPE_I32: {
        if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != (double)(int64_t)v) return false;
        int32_t i = (int32_t)v;
        memcpy(want, &i, sizeof i);
        break;
    }
    case IR_DTYPE_BF16:
    case IR_DTYPE_INVALID:
    case IR_DTYPE_COUNT: return false;
    }
    return memcmp(elem, want, ir_dtype_size(n->type.dtype)) == 0;
}

/* --- structural equality and hashing --------------------------------------------------- */

/* Const payloads of two nodes of one type, element by element (splat-aware). */
static bool data_same(const IrNode *a, const IrNode *b) {
    const IrData *da = &a->attrs.constant.value, *db = &b->attrs.constant.value;
    size_t size = ir_dtype_size(a->type.dtype);
    if (da->count == db->count) return memcmp(da->bytes, db->bytes, da->count * size) == 0;
    uint64_t numel = (uint64_t)ir_type_numel(&a->type);
    for (uint64_t i = 0; i < numel; i++)
        if (memcmp(cc_const_elem(a, i), cc_const_elem(b, i), size) != 0) return false;
    return true;
}

static bool field_same(const IrAttrField *f, const IrGraph *ga, const IrNode *a, const IrGraph *gb,
                       const IrNode *b) {
    const char *pa = (const char *)&a->attrs + f->offset, *pb = (const char *)&b->attrs + f->offset;
    switch (f->kind) {
    case IR_ATTR_INT: return *(const int64_t *)pa == *(const int64_t *)pb;
    case IR_ATTR_BOOL: return *(const bool *)pa == *(const bool *)pb;
    case IR_ATTR_ENUM: return *(const int *)pa == *(const int *)pb;
    case IR_ATTR_INTS: {
        const IrInts *x = (const IrInts *)pa, *y = (const IrInts *)pb;
        if (x->n != y->n) return false;
        for (uint32_t i = 0; i < x->n && i < IR_MAX_RANK; i++)
            if (x->v[i] != y->v[i]) return false;
        return true;
    }
    case IR_ATTR_STRING:
        return strcmp(ir_graph_str(ga, *(const uint32_t *)pa), ir_graph_str(gb, *(const uint32_t *)pb)) == 0;
    case IR_ATTR_DATA: return data_same(a, b);
    case IR_ATTR_FLOAT: return memcmp(pa, pb, sizeof(double)) == 0;
    case IR_ATTR_INVALID:
    case IR_ATTR_COUNT: break;
    }
    LLMC_ASSERT(!"attribute of an invalid kind");
    return false;
}

bool cc_node_same(const IrGraph *ga, const IrNode *a, const IrGraph *gb, const IrNode *b) {
    if (a->op != b->op || !ir_type_equal(&a->type, &b->type) || a->n_operands != b->n_operands) return false;
    for (uint32_t i = 0; i < a->n_operands; i++)
        if (a->operands[i] != b->operands[i]) return false;
    const IrAttrSchema *s = ir_op_info(a->op)->attrs;
    for (uint32_t i = 0; i < s->count; i++)
        if (!field_same(&s->fields[i], ga, a, gb, b)) return false;
    return true;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static uint64_t fnv_i64(uint64_t h, int64_t v) { return fnv(h, &v, sizeof v); }

/* Consistent with data_same: a uniform payload hashes as one element whatever its
 * count, so a splat and a full payload of equal values collide as they must. */
static uint64_t data_hash(uint64_t h, const IrNode *n) {
    const IrData *d = &n->attrs.constant.value;
    size_t size = ir_dtype_size(n->type.dtype);
    if (cc_const_uniform(n, NULL)) return fnv(fnv_i64(h, 1), d->bytes, size);
    return fnv(fnv_i64(h, 2), d->bytes, d->count * size);
}

uint64_t cc_node_hash(const IrGraph *g, const IrNode *n) {
    uint64_t h = cc_node_content_hash(g, n);
    h = fnv_i64(h, n->n_operands);
    for (uint32_t i = 0; i < n->n_operands; i++) h = fnv_i64(h, n->operands[i]);
    return h;
}

uint64_t cc_node_content_hash(const IrGraph *g, const IrNode *n) {
    uint64_t h = 1469598103934665603ull;
    h = fnv_i64(h, n->op);
    h = fnv_i64(h, n->type.dtype);
    h = fnv_i64(h, n->type.rank);
    for (uint32_t i = 0; i < n->type.rank; i++) h = fnv_i64(h, n->type.dims[i]);
    const IrAttrSchema *s = ir_op_info(n->op)->attrs;
    for (uint32_t i = 0; i < s->count; i++) {
        const IrAttrField *f = &s->fields[i];
        const char *p = (const char *)&n->attrs + f->offset;
        switch (f->kind) {
        case IR_ATTR_INT: h = fnv_i64(h, *(const int64_t *)p); break;
        case IR_ATTR_BOOL: h = fnv_i64(h, *(const bool *)p ? 1 : 0); break;
        case IR_ATTR_ENUM: h = fnv_i64(h, *(const int *)p); break;
        case IR_ATTR_INTS: {
            const IrInts *v = (const IrInts *)p;
            h = fnv_i64(h, v->n);
            for (uint32_t k = 0; k < v->n && k < IR_MAX_RANK; k++) h = fnv_i64(h, v->v[k]);
            break;
        }
        case IR_ATTR_STRING: {
            const char *s_ = ir_graph_str(g, *(const uint32_t *)p);
            h = fnv(h, s_, strlen(s_));
            break;
        }
        case IR_ATTR_DATA: h = data_hash(h, n); break;
        case IR_ATTR_FLOAT: h = fnv(h, p, sizeof(double)); break;
        case IR_ATTR_INVALID:
        case IR_ATTR_COUNT: LLMC_ASSERT(!"attribute of an invalid kind"); break;
        }
    }
    return h;
}

bool cc_graph_same(const IrGraph *a, const IrGraph *b) {
    if (strcmp(ir_graph_name(a), ir_graph_name(b)) != 0 || a->n_nodes != b->n_nodes ||
        a->n_outputs != b->n_outputs)
        return false;
    for (IrId i = 0; i < a->n_nodes; i++) {
        const IrNode *x = &a->nodes[i], *y = &b->nodes[i];
        if (!cc_node_same(a, x, b, y) || strcmp(ir_graph_str(a, x->scope), ir_graph_str(b, y->scope)) != 0 ||
            strcmp(ir_graph_str(a, x->loc.file), ir_graph_str(b, y->loc.file)) != 0 || x->loc.line != y->loc.line ||
            x->loc.col != y->loc.col)
            return false;
    }
    for (uint32_t o = 0; o < a->n_outputs; o++)
        if (a->outputs[o].node != b->outputs[o].node ||
            strcmp(ir_graph_str(a, a->outputs[o].name), ir_graph_str(b, b->outputs[o].name)) != 0)
            return false;
    return true;
}
