/*
 * plan.c - the activation memory plan.
 *
 * For a layer stack only a layer's input and output must coexist, so two
 * regions at opposite ends of one arena suffice: each new tensor goes to the
 * end its input does not occupy.  The arena is then exactly the lower bound,
 * the largest input+output pair held in the arena.  With an alignment above
 * 4 bytes each tensor is rounded up to it, and the arena may exceed the
 * bound by that rounding.  The network's input and
 * output stay in the caller's buffers (the input is read-only), flatten and
 * dropout alias their input, and element-wise ops run in place on any
 * writable buffer.
 */
#include "cnnc.h"

typedef enum OpClass { OC_ALIAS, OC_ELEMWISE, OC_PRODUCER } OpClass;

static OpClass op_class(LayerKind k)
{
    switch (k) {
    case LK_FLATTEN:
    case LK_DROPOUT:
        return OC_ALIAS;
    case LK_RELU:
    case LK_RELU6:
    case LK_LEAKY_RELU:
    case LK_SIGMOID:
    case LK_TANH:
    case LK_SOFTMAX:
    case LK_BATCHNORM:
        return OC_ELEMWISE;
    default:
        return OC_PRODUCER;
    }
}

static long long round_up(long long v, long long align)
{
    return (v + align - 1) / align * align;
}

/* A graph, until the graph planner: every tensor gets its own aligned
 * region (no reuse, nothing in place), aliases share their input's buffer,
 * the last layer writes the caller's output.  Correct, not small. */
static int plan_graph(Pool *pool, const Network *net, long long align, Plan *out)
{
    int n = net->nlayers;
    int *last_read = pool_alloc(pool, (size_t)n * sizeof *last_read);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < net->layers[i].ninputs; k++)
            if (net->layers[i].inputs[k] >= 0)
                last_read[net->layers[i].inputs[k]] = i;
    BufRef input = { BUF_INPUT, 0, shape_elems(&net->input) * 4 };
    for (int i = 0; i < n; i++) {
        const Layer *l = &net->layers[i];
        LayerPlan *lp = &out->layers[i];
        lp->ins = pool_alloc(pool, (size_t)l->ninputs * sizeof *lp->ins);
        for (int k = 0; k < l->ninputs; k++)
            lp->ins[k] = l->inputs[k] < 0 ? input : out->layers[l->inputs[k]].out;
        lp->in = lp->ins[0];
        long long bytes = shape_elems(&l->out_shape) * 4;
        if (i + 1 < n && op_class(l->kind) == OC_ALIAS) {
            lp->alias = true;
            lp->out = lp->in;
        } else if (i + 1 == n) {
            lp->out.kind = BUF_OUTPUT;
        } else {
            lp->out.kind = BUF_ARENA;
            lp->out.offset = out->arena_bytes;
            out->arena_bytes += round_up(bytes, align);
        }
        lp->out.bytes = bytes;
    }
    /* The bound: the most arena bytes live at one step (written, still to be read). */
    for (int t = 0; t < n; t++) {
        long long live = 0;
        for (int i = 0; i <= t; i++)
            if (out->layers[i].out.kind == BUF_ARENA && !out->layers[i].alias &&
                (i == t || last_read[i] >= t))
                live += out->layers[i].out.bytes;
        if (live > out->lower_bound) {
            out->lower_bound = live;
            out->peak_layer = t;
        }
    }
    return 0;
}

int plan_arena(Pool *pool, const Network *net, long long align, Plan *out)
{
    int n = net->nlayers;
    out->align = align;
    out->layers = pool_alloc(pool, (size_t)(n ? n : 1) * sizeof(LayerPlan));
    out->arena_bytes = 0;
    out->lower_bound = 0;
    out->peak_layer = -1;
    if (!net->ok)
        return -1;
    if (net_first_branch(net) >= 0)
        return plan_graph(pool, net, align, out);

    /* The last layer that must write a new buffer: after it, only aliases and
     * in-place ops, which can all work on the caller's output. */
    int last_writer = -1;
    for (int i = 0; i < n; i++) {
        OpClass c = op_class(net->layers[i].kind);
        if (c == OC_PRODUCER || (c == OC_ELEMWISE && last_writer < 0))
            last_writer = i;
    }
    if (last_writer < 0)
        last_writer = n - 1;    /* only aliases: the last one copies into the output */

    /* Pass 1: which layers write where, and the largest pair. */
    BufRef cur = { BUF_INPUT, 0, shape_elems(&net->input) * 4 };
    for (int i = 0; i < n; i++) {
        const Layer *l = &net->layers[i];
        LayerPlan *lp = &out->layers[i];
        long long bytes = shape_elems(&l->out_shape) * 4;
        OpClass c = op_class(l->kind);
        lp->in = cur;
        if (i != last_writer && (c == OC_ALIAS || (c == OC_ELEMWISE && cur.kind != BUF_INPUT))) {
            lp->alias = c == OC_ALIAS;
            lp->in_place = c == OC_ELEMWISE;
            lp->out = cur;
            lp->out.bytes = bytes;
        } else {
            lp->out.kind = i == last_writer ? BUF_OUTPUT : BUF_ARENA;
            lp->out.bytes = bytes;
            long long pair = (cur.kind == BUF_ARENA ? cur.bytes : 0) +
                             (lp->out.kind == BUF_ARENA ? bytes : 0);
            long long used = (cur.kind == BUF_ARENA ? round_up(cur.bytes, align) : 0) +
                             (lp->out.kind == BUF_ARENA ? round_up(bytes, align) : 0);
            if (pair > out->lower_bound)
                out->lower_bound = pair;
            if (used > out->arena_bytes) {
                out->arena_bytes = used;
                out->peak_layer = i;
            }
        }
        cur = lp->out;
    }

    /* Pass 2: place arena tensors at alternating ends. */
    long long arena = out->arena_bytes;
    bool at_bottom = false;         /* where the current tensor lives */
    cur.kind = BUF_INPUT;
    for (int i = 0; i < n; i++) {
        LayerPlan *lp = &out->layers[i];
        if (lp->alias || lp->in_place) {
            lp->in = cur;
            lp->out.kind = cur.kind;
            lp->out.offset = cur.offset;
        } else {
            lp->in = cur;
            if (lp->out.kind == BUF_ARENA) {
                bool bottom = cur.kind == BUF_ARENA ? !at_bottom : true;
                lp->out.offset = bottom ? 0 : arena - round_up(lp->out.bytes, align);
                at_bottom = bottom;
            }
        }
        cur = lp->out;
    }
    for (int i = 0; i < n; i++) {
        LayerPlan *lp = &out->layers[i];
        lp->ins = pool_alloc(pool, sizeof *lp->ins);
        lp->ins[0] = lp->in;
    }
    return 0;
}
