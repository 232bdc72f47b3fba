/* tools/llmrun.h — what llmrun.c shares with the other files of the llmrun tool
 * (subcommands and helpers kept out of llmrun.c). Not a library header: only the
 * llmrun executable includes it.
 */
#ifndef LLMC_LLMRUN_H
#define LLMC_LLMRUN_H

#include "runtime.h"

/* --- arguments (llmrun_args.c) ------------------------------------------------------ */

/* The whole of s as an integer / a finite number in [lo, hi]; false otherwise. */
bool llmrun_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
bool llmrun_parse_f64(const char *s, double lo, double hi, double *out);

/* --- weights interchange (llmrun_weights.c) ----------------------------------------- */

/* `llmrun export RUN_DIR|CKPT_DIR -o FILE`: the checkpoint's params (not optimizer
 * state, step, seed or hp.*) as FILE.safetensors, by their DESIGN §4 names, with the
 * metadata format "llmc-weights", model_hash and step. argv[0] is "export". Returns
 * the exit status (0 done, 1 bad input, 2 bad usage). */
int llmrun_export_main(int argc, char **argv);

/* `llmrun import FILE MODEL ARGS...` is `llmrun MODEL ARGS... --init FILE`: returns a
 * new argv (malloc'd array; the strings are argv's) of *argc entries, NULL-terminated,
 * or NULL with a message on stderr when FILE is missing. argv[1] is "import". */
char **llmrun_import_argv(int *argc, char **argv);

/* --init FILE: reads FILE and checks it against the model's params (the outputs of
 * @init): every param present with its exact dtype and shape, no other tensor. On
 * failure *out is zeroed and err says "FILE: tensor 'NAME' ...". A model_hash in the
 * metadata other than the model's only warns: the check is by name and shape. */
bool llmrun_weights_open(const char *path, const IrGraph *init, const char *model_hash, RtSafetensors *out,
                         LlmcErr *err);

/* --- sampling (llmrun_generate.c) --------------------------------------------------- */

/* `llmrun generate RUN_DIR|CKPT_DIR --model M ...`: samples text from a checkpoint
 * through the model's inference graphs. argv[0] is "generate". Returns the exit status
 * (0 done, 1 bad input, 2 bad usage). */
int llmrun_generate(int argc, char **argv);

/* The sampler's RNG: splitmix64 seeding an xorshift64* stream; reproducible per seed. */
typedef struct LlmrunRng {
    uint64_t s;
} LlmrunRng;
void llmrun_rng_seed(LlmrunRng *r, uint64_t seed);
uint64_t llmrun_rng_next(LlmrunRng *r);
double llmrun_rng_uniform(LlmrunRng *r); /* [0, 1), 53 bits */

/* One token from logits[0..n): temperature 0 is greedy (argmax, the lowest id on a tie);
 * otherwise softmax(logits / temperature) restricted to the top_k largest (0: all) and
 * then to the smallest prefix, by descending probability, whose mass reaches top_p
 * (1: all), renormalized, and drawn with one uniform from rng. Ties in the order go to
 * the lower id, so the result is a pure function of the logits, options and rng state. */
typedef struct LlmrunSampling {
    double temperature; /* >= 0 */
    uint32_t top_k;     /* 0: off */
    double top_p;       /* (0, 1]; 1: off */
} LlmrunSampling;
uint32_t llmrun_sample(const float *logits, uint32_t n, const LlmrunSampling *s, LlmrunRng *rng);


/* --- profile (llmrun_profile.c) ---------------------------------------------------- */

/* `llmrun --profile`: the report over `steps` profiled optimizer steps that took
 * step_seconds in all (rt_trainer_step's wall time): the split into compute, collectives
 * and the rest, useful FLOPs and MFU against *peak (NULL: not measured), time by kernel
 * kind, and the `top` slowest kernels with their GFLOP/s, GB/s, roofline share, IR nodes
 * and scopes. The trainer must have profiled those steps (rt_trainer_set_profile). */
void llmrun_profile_print(FILE *f, const RtTrainer *t, uint64_t steps, double step_seconds, const RtMachinePeak *peak,
                          uint32_t top);

/* --- ranks and shards (llmrun_world.c) ----------------------------------------------- */

#include "compiler.h"

/* The job's world and what sharding does to the trainer's vars. Checkpoints, --init and
 * @init speak canonical tensors — every param P and its opt.m.P / opt.v.P whole, as a
 * one-rank run of the unsharded step holds them — whatever the strategy and world size;
 * these functions map them onto this rank's vars (the flat shards "flat.G",
 * "opt.m.flat.G", ... of cc_shard_step) and back. */
typedef struct LlmrunWorld {
    RtComm *comm;
    uint32_t rank, size;
    CcShard strategy;
    CcTrainStep step;    /* what the trainer runs: the sharded step, or base's graphs */
    bool owns_step;
    CcShardPlan plan;
    RtCkptSpec *specs;   /* [n_specs] the canonical tensors, in checkpoint order */
    uint32_t n_specs;
} LlmrunWorld;

/* Shards base for w->strategy over w->size ranks (one rank with strategy none runs base
 * as it is) and lists the canonical tensors: @init's params, then base's state. */
bool llmrun_world_setup(LlmrunWorld *w, const CcTrainStep *base, const IrGraph *init, LlmcErr *err);
void llmrun_world_free(LlmrunWorld *w);
/* Canonical tensor `name` (type checked) into this rank's vars: its share of a sharded
 * one, all of a replicated one. */
bool llmrun_world_put(const LlmrunWorld *w, RtTrainer *t, const char *name, IrType type, const void *data,
                      LlmcErr *err);
/* This rank's pieces of every canonical tensor for rt_ckpt_save_pieces (replicated ones
 * come from rank 0). *pieces is malloc'd; the bytes point into the trainer's vars. */
bool llmrun_world_pieces(const LlmrunWorld *w, const RtTrainer *t, RtCkptPiece **pieces, uint32_t *n_pieces,
                         LlmcErr *err);
/* Params names[i] whole into outs[i] (collective under full: every rank calls it with
 * the same names; each group asked for is all-gathered once). false when no var holds
 * one. */
bool llmrun_world_params(const LlmrunWorld *w, const RtTrainer *t, const char *const *names, void *const *outs,
                         uint32_t n);

#endif /* LLMC_LLMRUN_H */
