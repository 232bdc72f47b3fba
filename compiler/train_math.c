/* compiler/train_math.c — the arithmetic of the update graph (compiler/train_step.c's
 * banner: the schedule, the clip scale, AdamW and SGD), built once for both update
 * graphs: the unsharded one (train_step.c) and the sharded one of the grad and full
 * strategies (shard_update.c). One builder means the same ops in the same order, so the
 * sharded step's lr, moments and params are the unsharded step's to the bit wherever the
 * inputs agree.
 *
 * Deliberately not here: the graphs' inputs and outputs, the gradient norm (its
 * summation differs between the two), scopes (callers set them).
 */
#include "compiler_int.h"

#define PI 3.14159265358979323846

const char *const cc_hp_names[CC_HP_N] = {"hp.lr",   "hp.warmup", "hp.min_lr",   "hp.steps",        "hp.beta1",
                                          "hp.beta2", "hp.eps",    "hp.momentum", "hp.weight_decay", "hp.clip"};

IrId cc_upd_f32(CcUpd *u, double v) { return ir_build_scalar(&u->b, IR_DTYPE_F32, v); }
IrId cc_upd_bin(CcUpd *u, IrOp op, IrId x, IrId y) { return ir_build_binary_bcast(&u->b, op, x, y); }
IrId cc_upd_un(CcUpd *u, IrOp op, IrId x) { return ir_build_unary(&u->b, op, x); }

IrId cc_upd_as(CcUpd *u, IrId s, IrDtype dt) {
    if (s == IR_ID_NONE || u->b.g->nodes[s].type.dtype == dt) return s;
    return ir_build_cast(&u->b, s, dt);
}

IrId cc_upd_schedule(CcUpd *u, IrId t) {
    IrId lr = u->hp[CC_HP_LR], warm = u->hp[CC_HP_WARMUP], one = cc_upd_f32(u, 1);
    IrId warm_lr = cc_upd_bin(u, IR_OP_MUL, lr,
                              cc_upd_bin(u, IR_OP_DIV, cc_upd_bin(u, IR_OP_ADD, t, one),
                                         cc_upd_bin(u, IR_OP_MAX, warm, one)));
    IrId after = IR_ID_NONE;
    switch (u->t->schedule) {
    case IR_SCHEDULE_CONSTANT: after = lr; break;
    case IR_SCHEDULE_COSINE:
    case IR_SCHEDULE_LINEAR: {
        IrId min_lr = u->hp[CC_HP_MIN_LR], steps = u->hp[CC_HP_STEPS];
        IrId span = cc_upd_bin(u, IR_OP_MAX, cc_upd_bin(u, IR_OP_SUB, steps, warm), one);
        IrId p = cc_upd_bin(u, IR_OP_DIV, cc_upd_bin(u, IR_OP_SUB, t, warm), span);
        p = cc_upd_bin(u, IR_OP_MIN, cc_upd_bin(u, IR_OP_MAX, p, cc_upd_f32(u, 0)), one);
        if (u->t->schedule == IR_SCHEDULE_COSINE) {
            IrId c = cc_upd_bin(u, IR_OP_ADD, one, cc_upd_un(u, IR_OP_COS, cc_upd_bin(u, IR_OP_MUL, cc_upd_f32(u, PI), p)));
            after = cc_upd_bin(u, IR_OP_ADD, min_lr,
                               cc_upd_bin(u, IR_OP_MUL,
                                          cc_upd_bin(u, IR_OP_MUL, cc_upd_f32(u, 0.5), cc_upd_bin(u, IR_OP_SUB, lr, min_lr)),
                                          c));
        } else {
            after = cc_upd_bin(u, IR_OP_ADD, lr, cc_upd_bin(u, IR_OP_MUL, cc_upd_bin(u, IR_OP_SUB, min_lr, lr), p));
        }
        break;
    }
    case IR_SCHEDULE_INVALID:
    case IR_SCHEDULE_COUNT: LLMC_ASSERT(!"invalid schedule in a checked record");
    }
    return ir_build_select(&u->b, cc_upd_bin(u, IR_OP_CMPLT, t, warm), warm_lr, after);
}

IrId cc_upd_clip_scale(CcUpd *u, IrId norm) {
    return cc_upd_bin(u, IR_OP_MIN, cc_upd_f32(u, 1),
                      cc_upd_bin(u, IR_OP_DIV, u->hp[CC_HP_CLIP],
                                 cc_upd_bin(u, IR_OP_ADD, norm, cc_upd_f32(u, CC_UPD_CLIP_EPS))));
}

void cc_upd_optimizer_scalars(CcUpd *u, IrId tf, IrId lr, bool any_decay) {
    u->lr = lr;
    u->bc1 = u->bc2 = u->lr_wd = u->omb1 = u->omb2 = IR_ID_NONE;
    if (u->t->optimizer != IR_OPTIMIZER_ADAMW) return;
    IrId one = cc_upd_f32(u, 1), t1 = cc_upd_bin(u, IR_OP_ADD, tf, one);
    u->bc1 = cc_upd_bin(u, IR_OP_SUB, one, cc_upd_bin(u, IR_OP_POW, u->hp[CC_HP_BETA1], t1)); /* 1 - b1^(t+1) */
    u->bc2 = cc_upd_bin(u, IR_OP_SUB, one, cc_upd_bin(u, IR_OP_POW, u->hp[CC_HP_BETA2], t1));
    u->omb1 = cc_upd_bin(u, IR_OP_SUB, one, u->hp[CC_HP_BETA1]);
    u->omb2 = cc_upd_bin(u, IR_OP_SUB, one, u->hp[CC_HP_BETA2]);
    if (any_decay) u->lr_wd = cc_upd_bin(u, IR_OP_MUL, lr, u->hp[CC_HP_WD]);
}

/* The decayed value where q decays: all of it, or q->where's choice per element. */
static IrId decayed(const CcUpdParam *q, IrId with, IrId without) {
    return q->where ? q->where(q->ctx, with, without) : with;
}

void cc_upd_optimizer(CcUpd *u, CcUpdParam *q) {
    IrDtype dt = q->dt;
    IrId lr_p = cc_upd_as(u, u->lr, dt);
    if (u->t->optimizer == IR_OPTIMIZER_ADAMW) {
        IrId b1 = cc_upd_as(u, u->hp[CC_HP_BETA1], dt), b2 = cc_upd_as(u, u->hp[CC_HP_BETA2], dt);
        q->m_new = cc_upd_bin(u, IR_OP_ADD, cc_upd_bin(u, IR_OP_MUL, b1, q->m),
                              cc_upd_bin(u, IR_OP_MUL, cc_upd_as(u, u->omb1, dt), q->g));
        q->v_new = cc_upd_bin(u, IR_OP_ADD, cc_upd_bin(u, IR_OP_MUL, b2, q->v),
                              cc_upd_bin(u, IR_OP_MUL, cc_upd_as(u, u->omb2, dt), cc_upd_bin(u, IR_OP_MUL, q->g, q->g)));
        IrId mhat = cc_upd_bin(u, IR_OP_DIV, q->m_new, cc_upd_as(u, u->bc1, dt));
        IrId vhat = cc_upd_bin(u, IR_OP_DIV, q->v_new, cc_upd_as(u, u->bc2, dt));
        IrId upd = cc_upd_bin(u, IR_OP_DIV, mhat,
                              cc_upd_bin(u, IR_OP_ADD, cc_upd_un(u, IR_OP_SQRT, vhat), cc_upd_as(u, u->hp[CC_HP_EPS], dt)));
        q->p_new = cc_upd_bin(u, IR_OP_SUB, q->p, cc_upd_bin(u, IR_OP_MUL, lr_p, upd));
        if (q->decays) {
            IrId with = cc_upd_bin(u, IR_OP_SUB, q->p_new, cc_upd_bin(u, IR_OP_MUL, cc_upd_as(u, u->lr_wd, dt), q->p));
            q->p_new = decayed(q, with, q->p_new);
        }
    } else {
        IrId gd = q->g; /* torch's convention: the decay joins the gradient */
        if (q->decays) {
            IrId with = cc_upd_bin(u, IR_OP_ADD, gd, cc_upd_bin(u, IR_OP_MUL, cc_upd_as(u, u->hp[CC_HP_WD], dt), q->p));
            gd = decayed(q, with, gd);
        }
        q->m_new = cc_upd_bin(u, IR_OP_ADD, cc_upd_bin(u, IR_OP_MUL, cc_upd_as(u, u->hp[CC_HP_MOMENTUM], dt), q->m), gd);
        q->p_new = cc_upd_bin(u, IR_OP_SUB, q->p, cc_upd_bin(u, IR_OP_MUL, lr_p, q->m_new));
    }
}
