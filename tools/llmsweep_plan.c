/* tools/llmsweep_plan.c — what `llmsweep run` is asked to do: its options, the runs of
 * the grid or list (names, directories, overrides), and SWEEP_DIR/sweep.json, which
 * records the command and guards a sweep directory against a second sweep of another
 * model, data, -D list or --steps.
 *
 * Deliberately not here: running anything (llmsweep.c), the run records (llmsweep_runs.c).
 */
#include "llmsweep.h"
#include "runtime.h"
#include "subcmd.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME 200u /* longer run names get a checksum suffix as their directory */

/* --- options ---------------------------------------------------------------------------- */

void sw_options_free(SwOptions *o) {
    for (uint32_t i = 0; i < o->n_axes; i++) {
        free(o->axes[i].name);
        for (uint32_t k = 0; k < o->axes[i].n; k++) free(o->axes[i].values[k]);
        free(o->axes[i].values);
    }
    free(o->axes);
    for (uint32_t i = 0; i < o->n_defines; i++) free((char *)o->defines[i].name), free((char *)o->defines[i].value);
    free(o->defines);
}

static bool identifier(const char *s, size_t n) {
    if (!n || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static char *strndup_x(const char *s, size_t n) {
    char *p = llmc_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* Splits s[0..n) at the separator sep outside (), [] and {}: parts[] malloc'd copies,
 * trimmed of white space (a --runs list may span lines). */
static char **split_top(const char *s, size_t n, char sep, uint32_t *count) {
    char **parts = NULL;
    uint32_t k = 0;
    int depth = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : sep;
        if (c == '(' || c == '[' || c == '{') depth++;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        if (c == sep && (depth == 0 || i == n)) { /* each part without surrounding white space */
            size_t a = start, b = i;
            while (a < b && isspace((unsigned char)s[a])) a++;
            while (b > a && isspace((unsigned char)s[b - 1])) b--;
            parts = llmc_xrealloc(parts, (k + 1) * sizeof *parts);
            parts[k++] = strndup_x(s + a, b - a);
            start = i + 1;
        }
    }
    *count = k;
    return parts;
}

static void free_parts(char **p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) free(p[i]);
    free(p);
}

/* "NAME=VALUE" into ov (owned copies); false on a bad NAME or an empty VALUE. */
static bool parse_assign(const char *s, FeOverride *ov) {
    const char *eq = strchr(s, '=');
    if (!eq || !identifier(s, (size_t)(eq - s)) || !eq[1]) return false;
    *ov = (FeOverride){strndup_x(s, (size_t)(eq - s)), llmc_xstrdup(eq + 1)};
    return true;
}

static int parse_grid(SwOptions *o, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq || !identifier(arg, (size_t)(eq - arg)) || !eq[1])
        return sw_usage_error("run", "--grid needs NAME=V1,V2,..., got '%s'", arg);
    for (uint32_t i = 0; i < o->n_axes; i++)
        if (strlen(o->axes[i].name) == (size_t)(eq - arg) && strncmp(o->axes[i].name, arg, (size_t)(eq - arg)) == 0)
            return sw_usage_error("run", "--grid: axis '%s' given twice", o->axes[i].name);
    SwAxis a = {strndup_x(arg, (size_t)(eq - arg)), NULL, 0};
    a.values = split_top(eq + 1, strlen(eq + 1), ',', &a.n);
    for (uint32_t i = 0; i < a.n; i++) {
        bool dup = false;
        for (uint32_t k = 0; k < i; k++) dup |= strcmp(a.values[k], a.values[i]) == 0;
        if (!a.values[i][0] || dup) {
            free_parts(a.values, a.n), free(a.name);
            return sw_usage_error("run", dup ? "--grid: a value repeats in '%s'" : "--grid: an empty value in '%s'", arg);
        }
    }
    o->axes = llmc_xrealloc(o->axes, (o->n_axes + 1) * sizeof *o->axes);
    o->axes[o->n_axes++] = a;
    return SW_EXIT_OK;
}

int sw_options_parse(int argc, char **argv, SwOptions *o) {
    *o = (SwOptions){.jobs = 1, .mpi = 1};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool takes = strcmp(a, "--data") == 0 || strcmp(a, "--out") == 0 || strcmp(a, "--grid") == 0 ||
                     strcmp(a, "--runs") == 0 || strcmp(a, "-D") == 0 || strcmp(a, "--steps") == 0 ||
                     strcmp(a, "--eval-every") == 0 || strcmp(a, "--eval-batches") == 0 ||
                     strcmp(a, "--threads") == 0 || strcmp(a, "--jobs") == 0 || strcmp(a, "--mpi") == 0 ||
                     strcmp(a, "--llmrun") == 0;
        if (takes && i + 1 >= argc) return sw_usage_error("run", "%s needs a value", a);
        const char *v = takes ? argv[++i] : NULL;
        int st = SW_EXIT_OK;
        if (strcmp(a, "--data") == 0) o->data = v;
        else if (strcmp(a, "--out") == 0) o->out = v;
        else if (strcmp(a, "--llmrun") == 0) o->llmrun = v;
        else if (strcmp(a, "--grid") == 0) st = parse_grid(o, v);
        else if (strcmp(a, "--runs") == 0) {
            if (o->runs_spec) return sw_usage_error("run", "%s", "--runs given twice");
            o->runs_spec = v;
        } else if (strcmp(a, "-D") == 0 || (strncmp(a, "-D", 2) == 0 && a[2])) {
            const char *d = a[2] ? a + 2 : v;
            FeOverride ov;
            if (!parse_assign(d, &ov)) return sw_usage_error("run", "-D needs NAME=VALUE, got '%s'", d);
            o->defines = llmc_xrealloc(o->defines, (o->n_defines + 1) * sizeof *o->defines);
            o->defines[o->n_defines++] = ov;
        } else if (strcmp(a, "--steps") == 0) {
            if (!subcmd_parse_u64(v, 1, INT32_MAX, &o->steps))
                return sw_usage_error("run", "--steps needs a count >= 1, got '%s'", v);
        } else if (strcmp(a, "--eval-every") == 0) {
            if (!subcmd_parse_u64(v, 1, INT32_MAX, &o->eval_every))
                return sw_usage_error("run", "--eval-every needs a count >= 1, got '%s'", v);
        } else if (strcmp(a, "--eval-batches") == 0) {
            if (!subcmd_parse_u64(v, 1, 1u << 20, &o->eval_batches))
                return sw_usage_error("run", "--eval-batches needs a count >= 1, got '%s'", v);
        } else if (strcmp(a, "--threads") == 0) {
            if (!subcmd_parse_u64(v, 1, 4096, &o->threads))
                return sw_usage_error("run", "--threads needs a count >= 1, got '%s'", v);
        } else if (strcmp(a, "--jobs") == 0) {
            if (!subcmd_parse_u64(v, 1, SW_MAX_JOBS, &o->jobs))
                return sw_usage_error("run", "--jobs needs 1..64, got '%s'", v);
        } else if (strcmp(a, "--mpi") == 0) {
            if (!subcmd_parse_u64(v, 1, 4096, &o->mpi))
                return sw_usage_error("run", "--mpi needs a rank count >= 1, got '%s'", v);
        } else if (strcmp(a, "--force") == 0) {
            o->force = true;
        } else if (a[0] == '-' && a[1]) {
            return sw_usage_error("run", "unknown option '%s'", a);
        } else {
            if (o->model) return sw_usage_error("run", "one MODEL only, got another: '%s'", a);
            o->model = a;
        }
        if (st != SW_EXIT_OK) return st;
    }
    if (!o->model) return sw_usage_error("run", "%s", "missing MODEL.llm");
    if (!o->data) return sw_usage_error("run", "%s", "missing --data DIR");
    if (!o->out) return sw_usage_error("run", "%s", "missing --out SWEEP_DIR");
    if (o->runs_spec && o->n_axes) return sw_usage_error("run", "%s", "choose --grid or --runs, not both");
    size_t n = strlen(o->model);
    if (n >= 5 && strcmp(o->model + n - 5, ".llmc") == 0)
        return sw_usage_error("run", "%s: a sweep needs the .llm source (a bundle takes no -D of its architecture)",
                              o->model);
    return SW_EXIT_OK;
}

/* --- the plan --------------------------------------------------------------------------- */

/* The run's directory name: its name with characters outside [A-Za-z0-9._,=+-] as '_';
 * a long one cut, with a checksum of the whole so distinct names stay distinct. */
static char *safe_name(const char *name) {
    size_t n = strlen(name);
    char *s = llmc_xmalloc(n + 32);
    for (size_t i = 0; i <= n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._,=+-", c);
        s[i] = c && !ok ? '_' : c;
    }
    if (s[0] == '.') s[0] = '_';
    if (n > MAX_NAME) snprintf(s + MAX_NAME - 20, 32, "-%016llx", (unsigned long long)rt_checksum(name, n));
    return s;
}

/* Adds a run with overrides ov[0..n) (copied). */
static void plan_add(SwRun **runs, uint32_t *n_runs, const char *out, const FeOverride *ov, uint32_t n) {
    *runs = llmc_xrealloc(*runs, (*n_runs + 1) * sizeof **runs);
    SwRun *r = &(*runs)[(*n_runs)++];
    sw_run_init(r);
    LlmcBuf name = {0};
    r->ov = llmc_xcalloc(n + 1, sizeof *r->ov);
    for (uint32_t i = 0; i < n; i++) {
        r->ov[r->n_ov++] = (FeOverride){llmc_xstrdup(ov[i].name), llmc_xstrdup(ov[i].value)};
        llmc_buf_printf(&name, "%s%s=%s", i ? "," : "", ov[i].name, ov[i].value);
    }
    r->name = name.len ? name.data : llmc_xstrdup("default");
    char *safe = safe_name(r->name), *rel = sw_path_join("runs", safe);
    r->dir = sw_path_join(out, rel);
    free(safe), free(rel);
}

int sw_plan_build(const SwOptions *o, SwRun **runs, uint32_t *n_runs) {
    *runs = NULL, *n_runs = 0;
    if (o->runs_spec) {
        uint32_t ne;
        char **entries = split_top(o->runs_spec, strlen(o->runs_spec), ';', &ne);
        if (ne > 1 && !entries[ne - 1][0]) free(entries[--ne]); /* a trailing ';' */
        int st = SW_EXIT_OK;
        for (uint32_t e = 0; e < ne && st == SW_EXIT_OK; e++) {
            uint32_t ni;
            char **items = split_top(entries[e], strlen(entries[e]), ',', &ni);
            FeOverride *ov = llmc_xcalloc(ni, sizeof *ov);
            uint32_t k = 0;
            for (; k < ni && st == SW_EXIT_OK; k++)
                if (!parse_assign(items[k], &ov[k]))
                    st = sw_usage_error("run", "--runs: each run is NAME=VALUE,NAME=VALUE..., got '%s'", entries[e]);
            if (st == SW_EXIT_OK) plan_add(runs, n_runs, o->out, ov, ni);
            for (uint32_t i = 0; i < k; i++) free((char *)ov[i].name), free((char *)ov[i].value);
            free(ov);
            free_parts(items, ni);
        }
        free_parts(entries, ne);
        if (st != SW_EXIT_OK) return st;
    } else {
        uint64_t total = 1;
        for (uint32_t a = 0; a < o->n_axes; a++) total *= o->axes[a].n;
        if (total > SW_MAX_RUNS) return sw_usage_error("run", "%s", "the grid has more than 10000 runs");
        uint32_t idx[64] = {0};
        if (o->n_axes > 64) return sw_usage_error("run", "%s", "more than 64 --grid axes");
        FeOverride ov[64];
        for (uint64_t t = 0; t < total; t++) {
            for (uint32_t a = 0; a < o->n_axes; a++) ov[a] = (FeOverride){o->axes[a].name, o->axes[a].values[idx[a]]};
            plan_add(runs, n_runs, o->out, ov, o->n_axes);
            for (uint32_t a = o->n_axes; a-- > 0;) { /* the last axis varies fastest */
                if (++idx[a] < o->axes[a].n) break;
                idx[a] = 0;
            }
        }
    }
    if (*n_runs > SW_MAX_RUNS) return sw_usage_error("run", "%s", "more than 10000 runs");
    for (uint32_t i = 0; i < *n_runs; i++)
        for (uint32_t k = 0; k < i; k++)
            if (strcmp((*runs)[i].dir, (*runs)[k].dir) == 0)
                return sw_usage_error("run", "two runs would share the directory %s", (*runs)[i].dir);
    return SW_EXIT_OK;
}

/* The -D list run r gets: the common ones, then its own (malloc'd; strings borrowed). */
FeOverride *sw_run_defines(const SwOptions *o, const SwRun *r, uint32_t *n) {
    FeOverride *d = llmc_xcalloc(o->n_defines + r->n_ov + 1, sizeof *d);
    *n = 0;
    for (uint32_t i = 0; i < o->n_defines; i++) d[(*n)++] = o->defines[i];
    for (uint32_t i = 0; i < r->n_ov; i++) d[(*n)++] = r->ov[i];
    return d;
}

/* --- sweep.json ------------------------------------------------------------------------- */

static void put_defines(RtJsonWriter *w, const FeOverride *d, uint32_t n) {
    rt_json_begin_object(w);
    for (uint32_t i = 0; i < n; i++) {
        bool later = false;
        for (uint32_t k = i + 1; k < n; k++) later |= strcmp(d[k].name, d[i].name) == 0;
        if (later) continue;
        rt_json_key(w, d[i].name);
        rt_json_string(w, d[i].value);
    }
    rt_json_end_object(w);
}

/* What makes a run what it is, field by field: model, data, the common -D, --steps. */
enum { ID_FIELDS = 4 };
static const char *const id_names[ID_FIELDS] = {"model", "data", "-D list", "--steps"};

static void identity(const char *model, const char *data, const FeOverride *d, uint32_t n, int64_t steps,
                     char *out[ID_FIELDS]) {
    LlmcBuf b = {0};
    RtJsonWriter w;
    rt_json_writer_init(&w, &b, RT_JSON_COMPACT);
    put_defines(&w, d, n);
    out[0] = llmc_xstrdup(model), out[1] = llmc_xstrdup(data), out[2] = b.data;
    out[3] = llmc_xmalloc(32);
    if (steps > 0) snprintf(out[3], 32, "%lld", (long long)steps);
    else snprintf(out[3], 32, "(the train block's)");
}

int sw_sweep_json_update(const SwOptions *o, const char *model_abs, const char *data_abs, const SwRun *runs,
                         uint32_t n, int argc, char **argv) {
    char *path = sw_path_join(o->out, "sweep.json");
    char *mine[ID_FIELDS], *theirs[ID_FIELDS] = {0};
    identity(model_abs, data_abs, o->defines, o->n_defines, (int64_t)o->steps, mine);
    char *text = NULL;
    size_t len = 0;
    LlmcErr err = {0};
    RtJson *j = NULL;
    int st = SW_EXIT_OK;
    if (sw_exists(path) && llmc_file_read(path, &text, &len, &err) && rt_json_parse(text, len, path, &j, &err)) {
        const RtJson *m = rt_json_get(j, "model_path"), *d = rt_json_get(j, "data_path"), *s = rt_json_get(j, "steps"),
                     *defs = rt_json_get(j, "defines");
        uint32_t nd = 0;
        FeOverride *old = llmc_xcalloc(defs && defs->kind == RT_JSON_OBJECT ? defs->count + 1 : 1, sizeof *old);
        for (uint32_t i = 0; defs && defs->kind == RT_JSON_OBJECT && i < defs->count; i++)
            if (defs->items[i].kind == RT_JSON_STRING) old[nd++] = (FeOverride){defs->items[i].key, defs->items[i].str};
        identity(m && m->kind == RT_JSON_STRING ? m->str : "?", d && d->kind == RT_JSON_STRING ? d->str : "?", old, nd,
                 s && s->kind == RT_JSON_NUMBER ? (int64_t)s->number : 0, theirs);
        free(old);
        bool differs = false;
        for (int k = 0; k < ID_FIELDS; k++) {
            if (strcmp(mine[k], theirs[k]) == 0) continue;
            if (!differs) fprintf(stderr, "llmsweep: %s holds another sweep:\n", o->out);
            fprintf(stderr, "  %s: %s in sweep.json, %s in this command\n", id_names[k], theirs[k], mine[k]);
            differs = true;
        }
        if (differs && o->force) {
            fprintf(stderr, "llmsweep: --force: using it anyway; finished runs trained otherwise start over\n");
        } else if (differs) {
            fprintf(stderr, "llmsweep: choose another --out, or --force to use this one\n");
            st = SW_EXIT_BAD_INPUT;
        }
    } else if (err.set) {
        fprintf(stderr, "llmsweep: warning: %s (rewriting it)\n", err.msg);
    }
    for (int k = 0; k < ID_FIELDS; k++) free(mine[k]), free(theirs[k]);
    rt_json_free(j);
    free(text);
    if (st == SW_EXIT_OK) {
        LlmcBuf b = {0};
        RtJsonWriter w;
        rt_json_writer_init(&w, &b, RT_JSON_PRETTY);
        rt_json_begin_object(&w);
        rt_json_key(&w, "command");
        rt_json_begin_array(&w);
        rt_json_string(&w, "llmsweep"), rt_json_string(&w, "run");
        for (int i = 0; i < argc; i++) rt_json_string(&w, argv[i]);
        rt_json_end_array(&w);
        rt_json_key(&w, "model"), rt_json_string(&w, o->model);
        rt_json_key(&w, "model_path"), rt_json_string(&w, model_abs);
        rt_json_key(&w, "data"), rt_json_string(&w, o->data);
        rt_json_key(&w, "data_path"), rt_json_string(&w, data_abs);
        rt_json_key(&w, "defines"), put_defines(&w, o->defines, o->n_defines);
        rt_json_key(&w, "steps");
        if (o->steps) rt_json_int(&w, (int64_t)o->steps);
        else rt_json_null(&w);
        rt_json_key(&w, "eval_every");
        if (o->eval_every) rt_json_int(&w, (int64_t)o->eval_every);
        else rt_json_null(&w);
        rt_json_key(&w, "grid");
        rt_json_begin_array(&w);
        for (uint32_t a = 0; a < o->n_axes; a++) {
            rt_json_begin_object(&w);
            rt_json_key(&w, "name"), rt_json_string(&w, o->axes[a].name);
            rt_json_key(&w, "values");
            rt_json_begin_array(&w);
            for (uint32_t k = 0; k < o->axes[a].n; k++) rt_json_string(&w, o->axes[a].values[k]);
            rt_json_end_array(&w);
            rt_json_end_object(&w);
        }
        rt_json_end_array(&w);
        rt_json_key(&w, "run_list");
        if (o->runs_spec) rt_json_string(&w, o->runs_spec);
        else rt_json_null(&w);
        rt_json_key(&w, "jobs"), rt_json_int(&w, (int64_t)o->jobs);
        rt_json_key(&w, "mpi"), rt_json_int(&w, (int64_t)o->mpi);
        rt_json_key(&w, "runs");
        rt_json_begin_array(&w);
        for (uint32_t i = 0; i < n; i++) {
            rt_json_begin_object(&w);
            rt_json_key(&w, "name"), rt_json_string(&w, runs[i].name);
            rt_json_key(&w, "dir"), rt_json_string(&w, runs[i].dir + strlen(o->out) + (o->out[strlen(o->out) - 1] != '/'));
            rt_json_key(&w, "overrides"), put_defines(&w, runs[i].ov, runs[i].n_ov);
            rt_json_end_object(&w);
        }
        rt_json_end_array(&w);
        rt_json_end_object(&w);
        llmc_buf_putc(&b, '\n');
        if (!llmc_file_write(path, b.data, b.len, &err)) {
            fprintf(stderr, "llmsweep: %s\n", err.msg);
            st = SW_EXIT_BAD_INPUT;
        }
        llmc_buf_free(&b);
    }
    free(path);
    return st;
}

