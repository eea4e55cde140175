/*
 * budget.c - what a model costs a microcontroller, and the budget checks.
 *
 * RAM is the arena of the memory plan (the caller's input and output buffers
 * are the caller's).  Flash is the weights plus the code: the runtime kernels
 * the network calls and NAME_run itself.  Code size can only be estimated
 * before a C compiler has run: the code and stack of every runtime function
 * come from runtime_costs.h, measured with arm-none-eabi-gcc for Cortex-M4
 * by tools/measure_runtime_costs.py (a firmware test keeps it current); the
 * code and frame of NAME_run and libm's frames are small allowances.
 *
 * The float figures model each kernel's call chain by hand (step_cost).  The
 * int8 ones come from the runtime's call graph as the script measured it:
 * per entry point, all it links and its worst stack path (runtime_entries);
 * the code is the union of what the steps' entry points reach, the stack
 * the deepest of them, each with NAME_run's share.
 */
#include "cnnc.h"
#include "runtime_costs.h"

#include <string.h>

enum {
    CODE_STEP = 28,         /* one kernel call in NAME_run */
    CODE_RUN = 16,          /* NAME_run's prologue and epilogue */
    STACK_RUN = 32,         /* NAME_run's frame: pointers only, its parameters are static const */
    STACK_LIBM = 32,        /* expf / tanhf frames (newlib-nano), an allowance */
    STACK_RUN_Q = 40,       /* the int8 NAME_run's frame: every callee-saved register and
                               lr (36), 8-aligned; add's and concat's pointer arrays beside */
};

/* Bytes of the const parameter block a step of this kind keeps in flash. */
static long long params_block(LayerKind k)
{
    switch (k) {
    case LK_CONV:
        return 84;
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

static const RuntimeCost *cost_of(const char *name)
{
    for (size_t i = 0; i < sizeof runtime_costs / sizeof runtime_costs[0]; i++)
        if (strcmp(runtime_costs[i].name, name) == 0)
            return &runtime_costs[i];
    diag_internal("runtime_costs.h has no entry for %s", name);
}

/* The runtime function of an activation layer kind, or NULL. */
static const char *act_func(LayerKind k)
{
    switch (k) {
    case LK_RELU:
        return "cnn_relu_f32";
    case LK_RELU6:
        return "cnn_relu6_f32";
    case LK_LEAKY_RELU:
        return "cnn_leaky_relu_f32";
    case LK_SIGMOID:
        return "cnn_sigmoid_f32";
    case LK_TANH:
        return "cnn_tanh_f32";
    default:
        return NULL;
    }
}

enum { KIND_FUNCS = 20 };

typedef struct KindCost {
    const char *funcs[KIND_FUNCS];  /* the kernel, its private helpers, its activation;
                                       NULL-terminated */
    int depth[KIND_FUNCS];          /* call depth below the kernel's entry (0); functions at
                                       one depth are alternatives, one of them on the stack */
    bool expf, tanhf;           /* reaches libm's expf / tanhf */
} KindCost;

/* What layer i's step links: the generated code names each activation's own
 * function, fused or stand-alone, so only the activations used are linked,
 * and libm only for sigmoid, tanh and softmax. */
static KindCost step_cost(const Network *net, int i)
{
    const Layer *l = &net->layers[i];
    KindCost c = { { NULL }, { 0 }, false, false };
    for (int f = 0; f < KIND_FUNCS; f++)
        c.depth[f] = f;     /* by default each function calls the next */
    const Layer *act = l;
    switch (l->kind) {
    case LK_CONV:
        if (fuse_conv_pool(net, i) >= 0) {
            /* With the pool after it, one step.  On Cortex-M the entry runs
             * conv.c's tiles (conv_pool.c, cp_tiles_run): entry -> cp_tiles_run
             * -> cnn_conv2d_pool_tiles_X_f32 -> conv_pool_blocks -> one block
             * function (or conv_setup, or the wide pixel) -> the merge into
             * the pooled output and the activation -> conv_pool.c's merge of a
             * chunk for pools whose windows do not tile the conv output. */
            static const char *const tiles[4][5] = {
                { "cnn_conv2d_pool_tiles_any_f32", "conv_pool8_any", "conv_pool4_any",
                  "conv_pool2_any", "conv_pool1_any" },
                { "cnn_conv2d_pool_tiles_k3_f32", "conv_pool8_k3", "conv_pool4_k3",
                  "conv_pool2_k3", "conv_pool1_k3" },
                { "cnn_conv2d_pool_tiles_k4_f32", "conv_pool8_k4", "conv_pool4_k4",
                  "conv_pool2_k4", "conv_pool1_k4" },
                { "cnn_conv2d_pool_tiles_k5_f32", "conv_pool8_k5", "conv_pool4_k5",
                  "conv_pool2_k5", "conv_pool1_k5" },
            };
            static const char *const entry[4] = { "cnn_conv2d_pool_f32", "cnn_conv2d_pool_k3_f32",
                                                  "cnn_conv2d_pool_f32", "cnn_conv2d_pool_k5_f32" };
            /* lower.c's choice of entry point, and conv_pool.c's of tiles */
            bool unit = l->stride[l->nsp - 1] == 1 && l->dilation[l->nsp - 1] == 1 &&
                        !(i == 0 && net->input_channels_last);
            long long kw = l->kernel[l->nsp - 1];
            int v = unit && kw == 3 ? 1 : unit && kw == 4 ? 2 : unit && kw == 5 ? 3 : 0;
            int f = 0;
            c.funcs[f] = entry[v], c.depth[f++] = 0;
            c.funcs[f] = "cp_tiles_run", c.depth[f++] = 1;
            c.funcs[f] = tiles[v][0], c.depth[f++] = 2;
            c.funcs[f] = "conv_pool_blocks", c.depth[f++] = 3;
            for (int k = 1; k < 5; k++)
                c.funcs[f] = tiles[v][k], c.depth[f++] = 4;
            c.funcs[f] = "conv_setup", c.depth[f++] = 4;
            c.funcs[f] = "conv_pixel_wide", c.depth[f++] = 5;
            c.funcs[f] = "conv_pool_merge", c.depth[f++] = 5;
            c.funcs[f] = "conv_pool_act", c.depth[f++] = 5;
            c.funcs[f] = "cp_merge_chunk", c.depth[f++] = 6;
        } else if (lower_is_matvec(l, i == 0 && net->input_channels_last)) {
            c.funcs[0] = "cnn_linear_f32";
        } else if (lower_is_dwconv3x3(l, i == 0 && net->input_channels_last)) {
            /* the entry's table links every channel function: strides 1 and
             * 2 by relu / relu6 / other, and any other stride; each calls
             * dw_checked for the border */
            static const char *const dw[] = {
                "cnn_dwconv3x3_f32", "dw_s1_none", "dw_s1_relu", "dw_s1_relu6",
                "dw_s2_none", "dw_s2_relu", "dw_s2_relu6", "dw_sn", "dw_checked",
                /* Cortex-M: the usual geometry's channel functions, beside them */
                "dwm_s1_none", "dwm_s1_relu", "dwm_s1_relu6", "dwm_s2_none", "dwm_s2_relu",
                "dwm_s2_relu6" };
            static const int dw_depth[] = { 0, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1 };
            for (int f = 0; f < 15; f++)
                c.funcs[f] = dw[f], c.depth[f] = dw_depth[f];
        } else {
            /* The general entry; a fixed-width variant (cnn_conv2d_k3_f32) is
             * about as large. */
            c.funcs[0] = "cnn_conv2d_f32", c.funcs[1] = "conv_blocks", c.funcs[2] = "conv_rows8_any";
            c.funcs[3] = "conv_rows4_any", c.funcs[4] = "conv_rows2_any";
            c.funcs[5] = "conv_rows1_any", c.funcs[6] = "conv_pixel_wide";
            c.funcs[7] = "cnn_act_f32";
            /* entry -> conv_blocks -> one rows function -> a wide pixel or the
             * activation dispatch -> the activation */
            static const int conv_depth[] = { 0, 1, 2, 2, 2, 2, 3, 3 };
            for (int f = 0; f < 8; f++)
                c.depth[f] = conv_depth[f];
        }
        act = NULL;
        break;
    case LK_LINEAR:
        c.funcs[0] = "cnn_linear_f32";
        act = NULL;
        break;
    case LK_MAXPOOL:
        c.funcs[0] = "cnn_maxpool2d_f32", c.funcs[1] = "pool_extreme";
        break;
    case LK_MINPOOL:
        c.funcs[0] = "cnn_minpool2d_f32", c.funcs[1] = "pool_extreme";
        break;
    case LK_AVGPOOL:
        c.funcs[0] = "cnn_avgpool2d_f32";
        break;
    case LK_GLOBAL_MAXPOOL:
        c.funcs[0] = "cnn_global_maxpool_f32";
        break;
    case LK_GLOBAL_AVGPOOL:
        c.funcs[0] = "cnn_global_avgpool_f32";
        break;
    case LK_SOFTMAX:
        c.funcs[0] = "cnn_softmax_f32", c.expf = true;
        break;
    case LK_BATCHNORM:
        c.funcs[0] = "cnn_affine_f32";
        break;
    case LK_PAD:
        c.funcs[0] = "cnn_pad2d_f32";
        break;
    case LK_ADD:
        c.funcs[0] = "cnn_add_f32";
        break;
    case LK_CONCAT:
        c.funcs[0] = "cnn_concat_f32";
        break;
    case LK_MUL:
        c.funcs[0] = "cnn_mul_f32";
        break;
    default:
        break;
    }
    if (!act) {     /* conv, linear: the activation fused after a folded batchnorm, if any */
        int k = i + 1;
        if (k < net->nlayers && net->layers[k].folded)
            k++;
        if (k < net->nlayers && net->layers[k].fused)
            act = &net->layers[k];
    }
    if (l->kind == LK_CONV && plan_dwconv_scratch(net, i) > 0) {
        /* The plan may run it in place: cnn_dwconv_inplace_f32 calls the
         * kernel, one level deeper (counted whether or not it does). */
        int f = 0;
        while (c.funcs[f])
            f++;
        for (int k = f; k > 0; k--) {
            c.funcs[k] = c.funcs[k - 1];
            c.depth[k] = c.depth[k - 1] + 1;
        }
        c.funcs[0] = "cnn_dwconv_inplace_f32";
        c.depth[0] = 0;
    }
    if (act && act_func(act->kind)) {
        int f = 0;
        while (c.funcs[f])
            f++;
        if (f + 1 >= KIND_FUNCS)
            diag_internal("budget: more than %d functions for layer %d", KIND_FUNCS - 2, i);
        c.funcs[f] = act_func(act->kind);
        c.depth[f] = f ? c.depth[f - 1] + 1 : 0;
        if (l->kind == LK_CONV && fuse_conv_pool(net, i) >= 0)
            c.depth[f] = 6;     /* called by the block function's activation pass */
        c.expf |= act->kind == LK_SIGMOID;
        c.tanhf |= act->kind == LK_TANH;
    }
    return c;
}

static bool layer_has_step(const Network *net, int i)
{
    const Layer *l = &net->layers[i];
    if (l->folded || l->fused || l->kind == LK_FLATTEN || l->kind == LK_DROPOUT ||
        l->kind == LK_IDENTITY)
        return false;
    int f = fuse_first(net, i);
    return f < 0 || f == i;     /* a pool fused with its conv runs in the conv's step */
}

long long budget_code_estimate(const Network *net)
{
    const char *linked[32];
    int nlinked = 0;
    bool expf = false, tanhf = false;
    long long code = CODE_RUN;
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        if (!layer_has_step(net, i))
            continue;
        code += CODE_STEP + params_block(l->kind);
        if (fuse_conv_pool(net, i) >= 0)
            code += params_block(LK_MAXPOOL);       /* the pool's half of the block */
        KindCost c = step_cost(net, i);
        expf |= c.expf;
        tanhf |= c.tanhf;
        for (int f = 0; f < KIND_FUNCS && c.funcs[f]; f++) {
            bool seen = false;
            for (int k = 0; k < nlinked; k++)
                seen |= strcmp(linked[k], c.funcs[f]) == 0;
            if (!seen && nlinked < 32) {
                linked[nlinked++] = c.funcs[f];
                code += cost_of(c.funcs[f])->code;
            }
        }
    }
    if (expf)
        code += COST_EXPF_CODE;
    if (tanhf)
        code += COST_TANHF_CODE;
    return code;
}

long long budget_stack_estimate(const Network *net)
{
    long long deepest = 0;
    for (int i = 0; i < net->nlayers; i++) {
        if (!layer_has_step(net, i))
            continue;
        KindCost c = step_cost(net, i);
        /* The deepest chain: at each call depth, the largest frame there. */
        long long frame[KIND_FUNCS] = { 0 }, s = 0;
        for (int f = 0; f < KIND_FUNCS && c.funcs[f]; f++)
            if (cost_of(c.funcs[f])->stack > frame[c.depth[f]])
                frame[c.depth[f]] = cost_of(c.funcs[f])->stack;
        for (int d = 0; d < KIND_FUNCS; d++)
            s += frame[d];
        if (c.expf || c.tanhf)
            s += STACK_LIBM;
        if (s > deepest)
            deepest = s;
    }
    return STACK_RUN + deepest;
}

/* ---- int8: from the runtime's measured call graph ---- */

/* The runtime entry point an int8 step calls (as model_s8.c.m4 writes it),
 * or NULL: a copy loop, a concat whose inputs were written in place. */
static const char *q_entry(const QNet *q, const QStep *s)
{
    switch (s->kind) {
    case QS_CONV:
        return s->pooled ? "cnn_conv2d_pool_s8" : s->kernel;
    case QS_LINEAR:
        return "cnn_linear_s8";
    case QS_MAXPOOL:
        return "cnn_maxpool2d_s8";
    case QS_MINPOOL:
        return "cnn_minpool2d_s8";
    case QS_AVGPOOL:
        return "cnn_avgpool2d_s8";
    case QS_GLOBAL_MAXPOOL:
        return "cnn_global_maxpool_s8";
    case QS_GLOBAL_AVGPOOL:
        return "cnn_global_avgpool_s8";
    case QS_LUT:
        return "cnn_lut_s8";
    case QS_SOFTMAX:
        return "cnn_softmax_s8";
    case QS_PAD:
        return "cnn_pad2d_s8";
    case QS_ADD:
        return "cnn_add_s8";
    case QS_CONCAT:
        return q->plan.layers[s->first].alias ? NULL : "cnn_concat_s8";
    case QS_MUL:
        return "cnn_mul_s8";
    case QS_COPY:
        return NULL;
    }
    return NULL;
}

static const RuntimeEntry *entry_of(const char *name)
{
    for (size_t i = 0; i < sizeof runtime_entries / sizeof runtime_entries[0]; i++)
        if (strcmp(runtime_entries[i].name, name) == 0)
            return &runtime_entries[i];
    diag_internal("runtime_costs.h has no entry point %s", name);
}

/* NAME_run's bytes for one int8 step: the call, and the const parameter
 * block the skeleton writes for it (CnnQConv2dParams, ...). */
static long long q_step_code(const QStep *s)
{
    long long params;
    switch (s->kind) {
    case QS_CONV:
        params = 108 + (s->pooled ? 68 : 0);
        break;
    case QS_LINEAR:
        params = 32;
        break;
    case QS_MAXPOOL:
    case QS_MINPOOL:
    case QS_AVGPOOL:
        params = 64;
        break;
    case QS_PAD:
        params = 40;
        break;
    case QS_ADD:
    case QS_CONCAT:
    case QS_MUL:
        params = 40 + 8 * s->nins;     /* and the inputs' pointer array */
        break;
    case QS_LUT:
        params = s->nluts > 1 ? 24 : 0;     /* the loop over the channels' tables */
        break;
    default:
        params = 0;
        break;
    }
    return CODE_STEP + params;
}

/* The union of what the steps' entry points link (a helper two entries
 * share counted once), and NAME_run. */
long long budget_code_estimate_q(const QNet *q)
{
    enum { NNODES = sizeof runtime_nodes / sizeof runtime_nodes[0] };
    bool linked[NNODES] = { false };
    long long code = CODE_RUN;
    for (int i = 0; i < q->nsteps; i++) {
        const QStep *s = &q->steps[i];
        code += q_step_code(s);
        const char *name = q_entry(q, s);
        if (!name)
            continue;
        const RuntimeEntry *e = entry_of(name);
        for (int k = e->first; k < e->first + e->count; k++)
            linked[runtime_reach[k]] = true;
    }
    for (int k = 0; k < NNODES; k++)
        if (linked[k])
            code += runtime_nodes[k].code;
    return code;
}

/* The deepest entry point's worst call path, and NAME_run's frame (the
 * pointer arrays of add and concat are on it; gcc gives the blocks of two
 * steps the same stack slots, so the largest counts). */
long long budget_stack_estimate_q(const QNet *q)
{
    long long deepest = 0, arrays = 0;
    for (int i = 0; i < q->nsteps; i++) {
        const QStep *s = &q->steps[i];
        const char *name = q_entry(q, s);
        if (name && entry_of(name)->stack > deepest)
            deepest = entry_of(name)->stack;
        if ((s->kind == QS_ADD || s->kind == QS_CONCAT) && 4LL * s->nins > arrays)
            arrays = 4LL * s->nins;
    }
    return STACK_RUN_Q + arrays + deepest;
}

long long budget_flash(const Network *net)
{
    return net_weight_bytes(net) + budget_code_estimate(net);
}

/* The last layer whose output a buffer holds: what it holds at a step. */
static const Layer *holder_at(const Network *net, const Plan *plan, int buf, int step)
{
    const Layer *h = NULL;
    for (int j = 0; j < net->nlayers && j <= step; j++)
        if (plan->layers[j].buffer == buf)
            h = &net->layers[j];
    return h;
}

/* A concat whose inputs are written into its buffer, before it runs. */
static bool assembling(const Plan *plan, const PlanBuffer *pb, int step)
{
    return pb->producer >= step && pb->first <= step && plan->layers[pb->producer].alias;
}

/* The error points at the peak step and notes every tensor alive there: what
 * the peak layer reads, what it writes, and what waits for a later layer. */
static void check_ram(const Network *net, const Plan *plan, long long budget, long long stack)
{
    char b1[32], b2[32], b3[32], b4[32], s1[64];
    if (plan->arena_bytes + stack <= budget)
        return;
    int k = plan->peak_layer;
    if (k < 0) {
        Loc at = net->nlayers ? net->layers[0].loc : net->prog->input_loc;
        diag_error(at, "RAM budget of %s bytes exceeded: arena 0 + stack about %s bytes",
                   count_grouped(budget, b1, sizeof b1), count_grouped(stack, b2, sizeof b2));
        return;
    }
    const Layer *l = &net->layers[k];
    const LayerPlan *lp = &plan->layers[k];
    diag_error(l->loc, "RAM budget of %s bytes exceeded: arena %s + stack about %s = %s bytes; "
               "the arena peaks in %s '%s'", count_grouped(budget, b1, sizeof b1),
               count_grouped(plan->arena_bytes, b2, sizeof b2), count_grouped(stack, b3, sizeof b3),
               count_grouped(plan->arena_bytes + stack, b4, sizeof b4), l->op, l->name);
    layer_note_uses(l);
    if (plan->arena_bytes > plan->lower_bound)
        diag_note(l->loc, "the most bytes alive at one step are %s; the arena adds %s for "
                  "alignment and gaps", count_grouped(plan->lower_bound, b1, sizeof b1),
                  count_grouped(plan->arena_bytes - plan->lower_bound, b2, sizeof b2));
    for (int q = 0; q < plan->npeak_live; q++) {
        int b = plan->peak_live[q];
        const PlanBuffer *pb = &plan->buffers[b];
        count_grouped(pb->bytes, b1, sizeof b1);
        if (assembling(plan, pb, k)) {
            const Layer *c = &net->layers[pb->producer];
            diag_note(c->loc, "alive there: the output %s (%s bytes) of concat '%s', its inputs "
                      "written straight into it", shape_str(&c->out_shape, s1, sizeof s1), b1,
                      c->name);
            continue;
        }
        if (pb->first == k) {
            diag_note(l->loc, "alive there: the output %s (%s bytes) of %s '%s'",
                      shape_str(&l->out_shape, s1, sizeof s1), b1, l->op, l->name);
            continue;
        }
        const Layer *h = holder_at(net, plan, b, k - 1);
        if (!h)
            diag_internal("buffer %d alive at step %d has no writer before it", b, k);
        bool read_here = false;
        for (int i = 0; i < lp->nins; i++)
            read_here |= lp->in_buffers[i] == b;
        shape_str(&h->out_shape, s1, sizeof s1);
        if (read_here)
            diag_note(h->loc, "alive there: the input %s (%s bytes), written by %s '%s'", s1, b1,
                      h->op, h->name);
        else if (pb->last_reader >= 0)
            diag_note(h->loc, "alive there: %s (%s bytes), written by %s '%s', read last by %s "
                      "'%s'", s1, b1, h->op, h->name, net->layers[pb->last_reader].op,
                      net->layers[pb->last_reader].name);
    }
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
               count_grouped(budget, b1, sizeof b1), count_grouped(weights, b2, sizeof b2),
               count_grouped(code, b3, sizeof b3), count_grouped(weights + code, b4, sizeof b4));
    for (int r = 0; r < 3; r++) {
        if (order[r] < 0 || net->layers[order[r]].stored_floats == 0)
            break;
        const Layer *l = &net->layers[order[r]];
        diag_note(l->loc, "%s '%s' keeps %s bytes of weights", l->op, l->name,
                  count_grouped(l->stored_floats * 4, b1, sizeof b1));
    }
}

int budget_check(const Network *net, const Plan *plan, const Budget *b)
{
    return budget_check_stack(net, plan, b, budget_stack_estimate(net));
}

int budget_check_stack(const Network *net, const Plan *plan, const Budget *b, long long stack)
{
    int before = diag_error_count();
    if (b->ram >= 0)
        check_ram(net, plan, b->ram, stack);
    if (b->flash >= 0)
        check_flash(net, b->flash);
    return diag_error_count() == before ? 0 : -1;
}
