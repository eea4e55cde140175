/*
 * budget.c - what a model costs a microcontroller, and the budget checks.
 *
 * RAM is the arena of the memory plan (the caller's input and output buffers
 * are the caller's).  Flash is the weights plus the code: the runtime kernels
 * the network calls and NAME_run itself.  Code size can only be estimated
 * before a C compiler has run; the sizes below were measured with
 * arm-none-eabi-gcc 12 -O2 -mcpu=cortex-m4 -mfloat-abi=hard (newlib-nano's
 * expf and tanhf included) and are within a few hundred bytes on other cores.
 */
#include "cnnc.h"

#include <string.h>

enum {
    CODE_CONV = 1016,
    CODE_LINEAR = 152,
    CODE_POOL_EXTREME = 556,        /* max and min pooling share one loop */
    CODE_AVGPOOL = 508,
    CODE_GLOBAL_MAX = 92,
    CODE_GLOBAL_AVG = 76,
    CODE_SOFTMAX = 196,
    CODE_AFFINE = 76,
    CODE_PAD = 740,
    CODE_ACT = 532,                 /* the activation dispatch and every activation */
    CODE_EXPF = 700,
    CODE_TANHF = 800,
    CODE_STEP = 28,                 /* one call in NAME_run */
    CODE_RUN = 16,                  /* NAME_run's prologue and epilogue */
};

/* Bytes of the const parameter block a step of this kind keeps in flash. */
static long long params_block(LayerKind k)
{
    switch (k) {
    case LK_CONV:
        return 80;
    case LK_MAXPOOL:
    case LK_MINPOOL:
    case LK_AVGPOOL:
        return 64;
    case LK_PAD:
        return 32;
    case LK_LINEAR:
        return 16;
    default:
        return 8;
    }
}

long long budget_code_estimate(const Network *net)
{
    bool used[LK_COUNT] = { false };
    long long run = CODE_RUN;
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        used[l->kind] = true;
        bool no_code = l->folded || l->fused || l->kind == LK_FLATTEN || l->kind == LK_DROPOUT;
        if (!no_code)
            run += CODE_STEP + params_block(l->kind);
    }
    long long code = run;
    bool act = used[LK_CONV] || used[LK_LINEAR] || used[LK_RELU] || used[LK_RELU6] ||
               used[LK_LEAKY_RELU] || used[LK_SIGMOID] || used[LK_TANH];
    if (used[LK_CONV])
        code += CODE_CONV;
    if (used[LK_LINEAR])
        code += CODE_LINEAR;
    if (used[LK_MAXPOOL] || used[LK_MINPOOL])
        code += CODE_POOL_EXTREME;
    if (used[LK_AVGPOOL])
        code += CODE_AVGPOOL;
    if (used[LK_GLOBAL_MAXPOOL])
        code += CODE_GLOBAL_MAX;
    if (used[LK_GLOBAL_AVGPOOL])
        code += CODE_GLOBAL_AVG;
    if (used[LK_SOFTMAX])
        code += CODE_SOFTMAX;
    if (used[LK_BATCHNORM])
        code += CODE_AFFINE;
    if (used[LK_PAD])
        code += CODE_PAD;
    if (act)
        code += CODE_ACT + CODE_TANHF;
    if (act || used[LK_SOFTMAX])
        code += CODE_EXPF;
    return code;
}

long long budget_flash(const Network *net)
{
    return net_weight_bytes(net) + budget_code_estimate(net);
}

/* 23520 -> "23,520" */
static const char *grouped(long long v, char *buf, size_t size)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", v);
    size_t len = strlen(raw), o = 0;
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        buf[o++] = raw[i];
        size_t left = len - 1 - i;
        if (left > 0 && left % 3 == 0 && o + 1 < size)
            buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

/* The layer whose output a plan buffer holds: the last writer before i. */
static const Layer *writer_of(const Network *net, const Plan *plan, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (!plan->layers[j].alias && !plan->layers[j].in_place)
            return &net->layers[j];
    return NULL;
}

static void check_ram(const Network *net, const Plan *plan, long long budget)
{
    char b1[32], b2[32], b3[32], b4[32], s1[64], s2[64];
    if (plan->arena_bytes <= budget)
        return;
    int k = plan->peak_layer;
    const Layer *l = &net->layers[k];
    const LayerPlan *lp = &plan->layers[k];
    const Layer *src = writer_of(net, plan, k);
    const Shape *in_shape = &l->in_shape;
    diag_error(l->loc, "RAM budget of %s bytes exceeded: the arena needs %s bytes, at its peak "
               "in %s '%s'", grouped(budget, b1, sizeof b1),
               grouped(plan->arena_bytes, b2, sizeof b2), l->op, l->name);
    if (lp->in.kind == BUF_ARENA && src)
        diag_note(src->loc, "alive there: the input %s (%s bytes), written by %s '%s'",
                  shape_str(in_shape, s1, sizeof s1), grouped(lp->in.bytes, b3, sizeof b3),
                  src->op, src->name);
    if (lp->out.kind == BUF_ARENA)
        diag_note(l->loc, "alive there: the output %s (%s bytes) of %s '%s'",
                  shape_str(&l->out_shape, s2, sizeof s2), grouped(lp->out.bytes, b4, sizeof b4),
                  l->op, l->name);
}

static void check_flash(const Network *net, long long budget)
{
    char b1[32], b2[32], b3[32], b4[32];
    long long weights = net_weight_bytes(net), code = budget_code_estimate(net);
    if (weights + code <= budget)
        return;
    /* Point at the layer with the most weights; note the next two. */
    int order[3] = { -1, -1, -1 };
    for (int i = 0; i < net->nlayers; i++) {
        long long w = net->layers[i].stored_floats;
        for (int r = 0; r < 3; r++) {
            if (order[r] < 0 || w > net->layers[order[r]].stored_floats) {
                for (int q = 2; q > r; q--)
                    order[q] = order[q - 1];
                order[r] = i;
                break;
            }
        }
    }
    Loc at = order[0] >= 0 ? net->layers[order[0]].loc : net->prog->input_loc;
    diag_error(at, "flash budget of %s bytes exceeded: weights %s bytes + code about %s bytes = %s",
               grouped(budget, b1, sizeof b1), grouped(weights, b2, sizeof b2),
               grouped(code, b3, sizeof b3), grouped(weights + code, b4, sizeof b4));
    for (int r = 0; r < 3; r++) {
        if (order[r] < 0 || net->layers[order[r]].stored_floats == 0)
            break;
        const Layer *l = &net->layers[order[r]];
        diag_note(l->loc, "%s '%s' keeps %s bytes of weights", l->op, l->name,
                  grouped(l->stored_floats * 4, b1, sizeof b1));
    }
}

int budget_check(const Network *net, const Plan *plan, const Budget *b)
{
    int before = diag_error_count();
    if (b->ram >= 0)
        check_ram(net, plan, b->ram);
    if (b->flash >= 0)
        check_flash(net, b->flash);
    return diag_error_count() == before ? 0 : -1;
}
