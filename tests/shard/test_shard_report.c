/* tests/shard/test_shard_report.c — cc_shard_report (compiler/shard_report.c), the
 * report of `llmc --emit=sharded`.
 *
 * gpt2-tiny (batch 1, seq 8, accumulate 4), 2 ranks:
 *   full: the report's collective table read back — every layer's forward all_gather
 *         but the first starts at least one kernel before its wait, with a compute kernel
 *         in flight, and the table's start/wait agree with a fusion of our own (the
 *         executor's rule: an input's collective waits at cc_fusion_first_reader); the
 *         byte totals equal a hand computation from the plan (comm.c's counts: per group
 *         two gathers and one reduce-scatter of (N-1)*shard*4, the loss all_reduce, the
 *         update's grad-norm block-sum gathers); memory lines from the plan;
 *   none: every grad all_reduced: P + 4 bytes per micro run for 2 ranks, nothing in the
 *         update.
 * With argv[1] = the llmc binary, the CLI: --emit=sharded --ranks 2 exits 0 and prints
 * all_gather; --ranks 3 exits 1 naming the power of two.
 */
#include "compiler.h"
#include "frontend.h"
#include "ir.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static const FeOverride k_ov[] = {{"batch", "1"}, {"seq", "8"}, {"accumulate", "4"}};
enum { RANKS = 2, ROUNDS = 4 / RANKS };

typedef struct Loaded {
    FeProgram *prog;
    IrModule m;
    CcTrainStep step;
} Loaded;

static bool load(Loaded *l, const char *path) {
    memset(l, 0, sizeof *l);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    if (!llmc_file_read(path, &text, &len, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    LlmcSource src = {path, text, len};
    LlmcDiags d = {0};
    FeLowerOptions lo = {k_ov, sizeof k_ov / sizeof k_ov[0]};
    l->prog = fe_parse(&src, &d);
    bool ok = l->prog && fe_lower(l->prog, &lo, &l->m, &d) && cc_train_step_build(&l->m, &l->step, &err);
    if (!ok) {
        llmc_diags_print(&d, stderr);
        if (err.set) fprintf(stderr, "%s\n", err.msg);
    }
    llmc_diags_free(&d);
    free(text);
    return ok;
}

static void loaded_free(Loaded *l) {
    cc_train_step_free(&l->step);
    ir_module_free(&l->m);
    fe_program_free(l->prog);
}

/* One row of a collective table. */
typedef struct Row {
    char graph[16];
    uint32_t kernel, node, start, wait; /* wait: UINT32_MAX for "end" */
    char op[32], scope[64], dtype[8];
    unsigned long long in, out, bytes;
    uint32_t in_flight; /* compute kernels in flight */
    bool prefetch;      /* a collective of a graph input; else a gradient reduction ("overlap") */
    bool light;         /* flagged: no matmul, reduce or row kernel in flight */
} Row;

/* The table rows of a report, in order. */
static uint32_t parse_rows(const char *text, Row *rows, uint32_t cap) {
    uint32_t n = 0;
    char graph[16] = "";
    for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (sscanf(line, "// @%15[a-z]: ", graph) == 1) continue;
        Row r = {0};
        char wait[16];
        if (sscanf(line, "//   %%k%u %31s %%%u %63s %7s %llu -> %llu %llu %%k%u %15s", &r.kernel, r.op, &r.node, r.scope,
                   r.dtype, &r.in, &r.out, &r.bytes, &r.start, wait) != 10)
            continue;
        if (n >= cap) break;
        memcpy(r.graph, graph, sizeof graph);
        r.wait = wait[0] == '%' ? (uint32_t)strtoul(wait + 2, NULL, 10) : UINT32_MAX;
        const char *eol = strchr(line, '\n'), *pf = strstr(line, "prefetch: "), *ov = strstr(line, "overlap: ");
        const char *lt = strstr(line, "LIGHT");
        r.prefetch = pf && (!eol || pf < eol);
        const char *count = r.prefetch ? pf : ov && (!eol || ov < eol) ? ov : NULL;
        if (count) r.in_flight = (uint32_t)strtoul(strchr(count, ' ') + 1, NULL, 10); /* "NOTHING" reads as 0 */
        r.light = lt && (!eol || lt < eol);
        rows[n++] = r;
    }
    return n;
}

/* The number after `label` on its line ("//   @micro per run   123 B"). */
static unsigned long long total_of(const char *text, const char *label) {
    const char *p = strstr(text, label);
    return p ? strtoull(p + strlen(label), NULL, 10) : 0;
}

static bool collective(IrOp op) { return op == IR_OP_ALL_GATHER || op == IR_OP_REDUCE_SCATTER || op == IR_OP_ALL_REDUCE; }

static void test_full(void) {
    Loaded l;
    bool ok = load(&l, "models/gpt2-tiny.llm");
    CHECK(ok);
    CcTrainStep sh = {0};
    CcShardPlan plan = {0};
    LlmcErr err = {0};
    ok = ok && cc_shard_step(&l.step, CC_SHARD_FULL, RANKS, &sh, &plan, &err);
    CHECK(ok);
    LlmcBuf out = {0};
    ok = ok && cc_shard_report(&sh, &plan, &out, &err);
    CHECK(ok);
    if (!ok) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    llmc_buf_putc(&out, 0);
    Row rows[64];
    uint32_t n = parse_rows(out.data, rows, 64);

    /* the table against our own fusion of @micro, row for row */
    CcFusion f;
    CHECK(cc_fuse(sh.micro, &f, &err));
    uint32_t at = 0, n_micro = 0;
    for (uint32_t k = 0; k < f.n_kernels; k++) {
        const IrNode *nd = ir_graph_node(sh.micro, f.kernels[k].root);
        if (f.kernels[k].kind != CC_KERNEL_RUNTIME || !collective(nd->op)) continue;
        n_micro++;
        if (at >= n || strcmp(rows[at].graph, "micro") != 0) {
            CHECK(!"a collective of @micro missing from the table");
            break;
        }
        Row *r = &rows[at++];
        CHECK_EQ_INT(r->kernel, k);
        CHECK_EQ_INT(r->node, f.kernels[k].root);
        CHECK_STR(r->op, ir_op_name(nd->op));
        bool prefetch = ir_graph_node(sh.micro, nd->operands[0])->op == IR_OP_INPUT;
        CHECK(r->prefetch == prefetch);
        uint32_t wait = cc_fusion_first_reader(&f, f.kernels[k].root);
        CHECK_EQ_INT(r->wait == UINT32_MAX ? f.n_kernels : r->wait, wait);
        uint32_t compute = 0;
        for (uint32_t j = k + 1; j < wait; j++)
            compute += !(f.kernels[j].kind == CC_KERNEL_RUNTIME &&
                         collective(ir_graph_node(sh.micro, f.kernels[j].root)->op));
        CHECK_EQ_INT(r->in_flight, compute);
    }
    CHECK(n_micro > 0);
    cc_fusion_free(&f);

    /* every layer's forward gather but the first: started before its wait, work in flight */
    uint32_t layers_seen = 0;
    for (uint32_t g = 0; g < plan.n_groups; g++) {
        const char *name = plan.groups[g].name;
        if (strncmp(name, "layers.", 7) != 0) continue;
        const Row *fwd = NULL;
        for (uint32_t i = 0; i < n && !fwd; i++)
            if (strcmp(rows[i].graph, "micro") == 0 && strcmp(rows[i].op, "all_gather") == 0 &&
                strcmp(rows[i].scope, name) == 0)
                fwd = &rows[i]; /* schedule order: the first one is the forward's */
        CHECK(fwd != NULL);
        if (!fwd) continue;
        CHECK(fwd->prefetch);
        if (strcmp(name, "layers.0") == 0) continue;
        layers_seen++;
        if (!(fwd->wait != UINT32_MAX && fwd->wait > fwd->start + 1 && fwd->in_flight >= 1))
            fprintf(stderr, "forward gather of %s: start %%k%u wait %%k%u, %u kernels in flight\n", name, fwd->start,
                    fwd->wait, fwd->in_flight);
        CHECK(fwd->wait != UINT32_MAX && fwd->wait > fwd->start + 1);
        CHECK(fwd->in_flight >= 1);
        CHECK(!fwd->light); /* the previous layer's matmuls hide it, not just its slices */
    }
    /* every reduce-scatter of the gradients overlaps some of the backward that follows */
    uint32_t overlapped = 0, reduce_scatters = 0;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(rows[i].graph, "micro") == 0 && strcmp(rows[i].op, "reduce_scatter") == 0) {
            reduce_scatters++;
            overlapped += rows[i].in_flight > 0;
        }
    CHECK(reduce_scatters > 0 && overlapped + 1 >= reduce_scatters); /* the last one may end the graph */
    CHECK(layers_seen >= 1);

    /* bytes by hand from the plan (comm.c's counts, rank 0 of 2) */
    unsigned long long micro = 0, update = 0, shards = 0;
    for (uint32_t g = 0; g < plan.n_groups; g++) {
        unsigned long long s = plan.groups[g].shard, e = 4; /* f32 */
        CHECK(plan.groups[g].dtype == IR_DTYPE_F32);
        micro += 2 * (RANKS - 1) * s * e;                     /* forward + backward gather */
        micro += (RANKS - 1) * s * e;                         /* reduce-scatter: out [shard] */
        update += (RANKS - 1) * (s / CC_SHARD_BLOCK) * e;     /* grad-norm block sums */
        shards += s * e;
    }
    micro += 4; /* loss all_reduce, 1 element: rank 0's block is empty, it sends its 1 */
    CHECK_EQ_INT(total_of(out.data, "@micro per run"), micro);
    CHECK_EQ_INT(total_of(out.data, "@update per run"), update);
    CHECK_EQ_INT(total_of(out.data, "per optimizer step"), micro * ROUNDS + update);
    /* the table's rows sum to the totals */
    unsigned long long sum_micro = 0, sum_update = 0;
    for (uint32_t i = 0; i < n; i++) *(strcmp(rows[i].graph, "micro") == 0 ? &sum_micro : &sum_update) += rows[i].bytes;
    CHECK_EQ_INT(sum_micro, micro);
    CHECK_EQ_INT(sum_update, update);
    /* memory: shards of params and grads, two AdamW moments */
    CHECK_EQ_INT(total_of(out.data, "//   params "), shards);
    CHECK_EQ_INT(total_of(out.data, "//   grads "), shards);
    CHECK_EQ_INT(total_of(out.data, "//   optimizer "), 2 * shards);
    CHECK(total_of(out.data, "//   arena @micro ") > 0);
    CHECK(strstr(out.data, "gathered again for every micro run") != NULL);
    for (const char *p = out.data; (p = strchr(p, '\n')) && p[1]; p++) CHECK(strncmp(p + 1, "//", 2) == 0);

done:
    llmc_buf_free(&out);
    cc_shard_plan_free(&plan);
    cc_train_step_free(&sh);
    loaded_free(&l);
}

static void test_none(void) {
    Loaded l;
    bool ok = load(&l, "models/gpt2-tiny.llm");
    CHECK(ok);
    CcTrainStep sh = {0};
    CcShardPlan plan = {0};
    LlmcErr err = {0};
    ok = ok && cc_shard_step(&l.step, CC_SHARD_NONE, RANKS, &sh, &plan, &err);
    LlmcBuf out = {0};
    ok = ok && cc_shard_report(&sh, &plan, &out, &err);
    CHECK(ok);
    if (ok) {
        llmc_buf_putc(&out, 0);
        unsigned long long P = 0;
        for (IrId id = 0; id < l.step.micro->n_nodes; id++) {
            const IrNode *nd = &l.step.micro->nodes[id];
            if (nd->op == IR_OP_INPUT && nd->attrs.input.role == IR_ROLE_PARAM) P += ir_type_bytes(&nd->type);
        }
        /* 2 ranks: an all_reduce of c elements sends (c - mine) + mine = c elements */
        CHECK_EQ_INT(total_of(out.data, "@micro per run"), P + 4);
        CHECK_EQ_INT(total_of(out.data, "@update per run"), 0);
        CHECK_EQ_INT(total_of(out.data, "per optimizer step"), (P + 4) * ROUNDS);
        CHECK_EQ_INT(total_of(out.data, "//   params "), P);
        CHECK(strstr(out.data, "DDP") != NULL);
    } else {
        fprintf(stderr, "%s\n", err.msg);
    }
    llmc_buf_free(&out);
    cc_shard_plan_free(&plan);
    cc_train_step_free(&sh);
    loaded_free(&l);
}

/* Runs cmd (stderr into stdout); its output and exit status. */
static int run_cmd(const char *cmd, LlmcBuf *out) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) llmc_buf_put(out, chunk, got);
    llmc_buf_putc(out, 0);
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(const char *llmc) {
    char cmd[1024];
    LlmcBuf out = {0};
    snprintf(cmd, sizeof cmd, "'%s' models/gpt2-tiny.llm --emit=sharded --ranks 2 2>&1", llmc);
    CHECK_EQ_INT(run_cmd(cmd, &out), 0);
    CHECK(out.data && strstr(out.data, "all_gather") && strstr(out.data, "// ---- shard report: strategy full"));
    llmc_buf_free(&out);
    memset(&out, 0, sizeof out);
    snprintf(cmd, sizeof cmd, "'%s' models/gpt2-tiny.llm --emit=sharded --ranks 3 2>&1", llmc);
    CHECK_EQ_INT(run_cmd(cmd, &out), 1);
    CHECK(out.data && strstr(out.data, "power of two"));
    llmc_buf_free(&out);

    /* the compile report's per-rank memory: cc_shard_memory, the report's own figures */
    char dir[] = "/tmp/llmc-shard-report-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    memset(&out, 0, sizeof out);
    snprintf(cmd, sizeof cmd, "'%s' models/gpt2-tiny.llm -o %s/m.llmc --ranks 2 --shard full 2>&1", llmc, dir);
    CHECK_EQ_INT(run_cmd(cmd, &out), 0);
    CHECK(out.data && strstr(out.data, "per rank           2 ranks, --shard full"));
    LlmcBuf rep = {0};
    snprintf(cmd, sizeof cmd, "'%s' models/gpt2-tiny.llm --emit=sharded --ranks 2 --shard full 2>&1", llmc);
    CHECK_EQ_INT(run_cmd(cmd, &rep), 0);
    unsigned long long params = total_of(rep.data ? rep.data : "", "//   params "), shown = 0;
    const char *line = out.data ? strstr(out.data, "per rank") : NULL;
    if (line && (line = strstr(line, "params"))) sscanf(strstr(line, "MiB") + 3, "%llu", &shown);
    CHECK(params > 0 && shown == params);
    llmc_buf_free(&rep);
    llmc_buf_free(&out);
    /* a world the step cannot be sharded for: an error, and no bundle */
    memset(&out, 0, sizeof out);
    snprintf(cmd, sizeof cmd, "'%s' models/gpt2-tiny.llm -o %s/bad.llmc --ranks 4 2>&1", llmc, dir);
    CHECK_EQ_INT(run_cmd(cmd, &out), 1);
    CHECK(out.data && strstr(out.data, "must divide accumulate"));
    snprintf(cmd, sizeof cmd, "%s/bad.llmc", dir);
    CHECK(access(cmd, F_OK) != 0);
    llmc_buf_free(&out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(int argc, char **argv) {
    test_full();
    test_none();
    if (argc > 1) test_cli(argv[1]);
    TEST_MAIN();
}
