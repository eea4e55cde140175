/*
 * shape.c - shape propagation through the layer graph.
 *
 * Walks the layers in execution order (every producer comes before its
 * readers), expands spatial attributes per axis,
 * computes every output shape with the formulas of runtime/cnn_shape.h (the
 * same header the kernels use), and fills in parameters, MACs and the weight
 * tensors each layer expects.  Every error says what is wrong with the numbers
 * and how to fix it.
 */
#include "cnnc.h"
#include "cnn_shape.h"

#include <string.h>

/* "5x5" or "5" for per-axis values. */
static char *axes_str(const long long *v, int n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "x" : "", v[i]);
    return buf;
}

static const char *spatial_word(int nsp)
{
    return nsp == 2 ? "(height, width)" : "(length)";
}

/* Expand a Spatial to nsp axes, or report a tuple of the wrong length. */
static bool expand(const Layer *l, const char *key, const Spatial *s, long long dflt, int nsp,
                   long long *out)
{
    if (s->n == 0) {
        for (int i = 0; i < nsp; i++)
            out[i] = dflt;
        return true;
    }
    if (s->n == 1) {
        for (int i = 0; i < nsp; i++)
            out[i] = s->v[0];
        return true;
    }
    if (s->n != nsp) {
        diag_error(layer_attr_loc(l, key), "%s '%s': %s has %d values, but the input has %d "
                   "spatial ax%s; give one number or %d values %s", l->op, l->name, key, s->n,
                   nsp, nsp == 1 ? "is" : "es", nsp, spatial_word(nsp));
        return false;
    }
    for (int i = 0; i < nsp; i++)
        out[i] = s->v[i];
    return true;
}

/* Where input k of a layer comes from, for messages. */
static const char *producer_k(const Network *net, const Layer *l, int k, char *buf, size_t size)
{
    int p = l->inputs[k];
    if (p < 0)
        snprintf(buf, size, "the input");
    else
        snprintf(buf, size, "%s '%s' (line %d)", net->layers[p].op, net->layers[p].name,
                 net->layers[p].loc.line);
    return buf;
}

static const char *producer(const Network *net, int i, char *buf, size_t size)
{
    return producer_k(net, &net->layers[i], 0, buf, size);
}

/* The layer whose output channel count is what layer i sees, for a note:
 * back along first inputs through the layers that keep the channels. */
static const Layer *channel_source(const Network *net, int i)
{
    for (int j = net->layers[i].inputs[0]; j >= 0; j = net->layers[j].inputs[0]) {
        LayerKind k = net->layers[j].kind;
        if (k == LK_CONV || k == LK_LINEAR || k == LK_FLATTEN || k == LK_CONCAT)
            return &net->layers[j];
    }
    return NULL;
}

static void check_in(const Network *net, int i, Layer *l, long long have, const char *unit)
{
    if (l->in_check < 0 || l->in_check == have)
        return;
    char buf[200];
    diag_error(layer_attr_loc(l, "in"), "%s '%s': in=%lld, but %s produces %lld %s", l->op,
               l->name, l->in_check, producer(net, i, buf, sizeof buf), have, unit);
    const Layer *src = channel_source(net, i);
    if (src && src->kind == LK_CONCAT)
        diag_note(src->loc, "concat '%s' joins the channels of its inputs", src->name);
    else if (src && src->kind != LK_FLATTEN)
        diag_note(layer_attr_loc(src, "out"), "%s '%s' makes %lld %s; change its out= or this "
                  "layer's in=", src->op, src->name, have, unit);
    else if (!src)
        diag_note(net->prog->input_loc, "the input has %lld %s", have, unit);
    l->ok = false;
}

static void add_tensor(Pool *pool, Layer *l, const char *suffix, int ndim, const long long *shape,
                       bool is_param)
{
    TensorSpec *t = &l->tensors[l->ntensors++];
    t->name = pool_printf(pool, "%s.%s", l->name, suffix);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->is_param = is_param;
}

/* Output size of each axis of a windowed op (conv or pool); false on error. */
static bool windowed_out(Layer *l, const Shape *in, Shape *out, bool is_pool)
{
    int nsp = in->rank - 1;
    char kb[48], pb[48], ib[48], ob[48];
    long long span[CNNC_MAX_SPATIAL], padded[CNNC_MAX_SPATIAL];
    bool ok = true;
    out->rank = in->rank;
    for (int a = 0; a < nsp; a++) {
        long long n = in->dims[1 + a];
        span[a] = cnn_dilated_extent(l->kernel[a], l->dilation[a]);
        padded[a] = n + l->pad_lo[a] + l->pad_hi[a];
        long long o = cnn_out_size(n, l->kernel[a], l->stride[a], l->pad_lo[a], l->pad_hi[a],
                                   l->dilation[a], is_pool && l->ceil_mode);
        out->dims[1 + a] = o;
        if (o < 1)
            ok = false;
    }
    if (ok)
        return true;
    long long insz[CNNC_MAX_SPATIAL];
    for (int a = 0; a < nsp; a++)
        insz[a] = in->dims[1 + a];
    bool dilated = false;
    for (int a = 0; a < nsp; a++)
        dilated |= l->dilation[a] > 1;
    bool padded_any = false;
    for (int a = 0; a < nsp; a++)
        padded_any |= l->pad_lo[a] + l->pad_hi[a] > 0;
    if (dilated)
        snprintf(kb, sizeof kb, "%s (dilated to %s)", axes_str(l->kernel, nsp, ib, sizeof ib),
                 axes_str(span, nsp, ob, sizeof ob));
    else
        axes_str(l->kernel, nsp, kb, sizeof kb);
    if (padded_any)
        snprintf(pb, sizeof pb, "padded input %s", axes_str(padded, nsp, ib, sizeof ib));
    else
        snprintf(pb, sizeof pb, "input %s", axes_str(insz, nsp, ib, sizeof ib));
    diag_error(layer_attr_loc(l, "kernel"), "%s '%s': kernel %s does not fit the %s, so the "
               "output would be empty; use a smaller kernel%s or more padding", l->op, l->name,
               kb, pb, dilated ? ", less dilation," : "");
    l->ok = false;
    out->rank = 0;
    return false;
}

static bool resolve_window(Layer *l, int nsp, bool is_pool)
{
    bool ok = expand(l, "kernel", &l->kernel_attr, 1, nsp, l->kernel);
    ok &= expand(l, "dilation", &l->dilation_attr, 1, nsp, l->dilation);
    if (is_pool && l->stride_attr.n == 0)
        memcpy(l->stride, l->kernel, sizeof l->stride);   /* PyTorch: stride defaults to kernel */
    else
        ok &= expand(l, "stride", &l->stride_attr, 1, nsp, l->stride);
    ok &= expand(l, "padding", &l->padding_attr, 0, nsp, l->pad_lo);
    memcpy(l->pad_hi, l->pad_lo, sizeof l->pad_hi);
    return ok;
}

static void shape_conv(Pool *pool, const Network *net, int i, Layer *l, const Shape *in,
                       Shape *out)
{
    int nsp = in->rank - 1;
    long long cin = in->dims[0];
    check_in(net, i, l, cin, "channels");
    if (!resolve_window(l, nsp, false)) {
        l->ok = false;
        out->rank = 0;
        return;
    }
    if (l->pad_same) {
        bool strided = false;
        for (int a = 0; a < nsp; a++) {
            l->pad_lo[a] = cnn_same_pad_lo(l->kernel[a], l->dilation[a]);
            l->pad_hi[a] = cnn_same_pad_hi(l->kernel[a], l->dilation[a]);
            strided |= l->stride[a] != 1;
        }
        if (strided) {
            diag_error(layer_attr_loc(l, "padding"), "conv '%s': padding=same needs stride 1 "
                       "(as in PyTorch); give the padding as numbers for a strided conv",
                       l->name);
            l->ok = false;
        }
    }
    bool groups_ok = true;
    if (cin % l->groups != 0) {
        diag_error(layer_attr_loc(l, "groups"), "conv '%s': %lld input channels are not "
                   "divisible by groups=%lld", l->name, cin, l->groups);
        groups_ok = false;
    }
    if (l->out % l->groups != 0) {
        diag_error(layer_attr_loc(l, "groups"), "conv '%s': out=%lld is not divisible by "
                   "groups=%lld", l->name, l->out, l->groups);
        groups_ok = false;
    }
    if (!groups_ok)
        l->ok = false;      /* the output shape is still known */
    if (l->padding_mode != PM_ZEROS) {
        for (int a = 0; a < nsp; a++) {
            long long n = in->dims[1 + a];
            long long p = l->pad_lo[a] > l->pad_hi[a] ? l->pad_lo[a] : l->pad_hi[a];
            if ((l->padding_mode == PM_REFLECT && p >= n) ||
                (l->padding_mode == PM_CIRCULAR && p > n)) {
                diag_error(layer_attr_loc(l, "padding"), "conv '%s': %s padding of %lld needs "
                           "an input of at least %lld along that axis, but it is %lld", l->name,
                           pad_mode_name(l->padding_mode), p,
                           l->padding_mode == PM_REFLECT ? p + 1 : p, n);
                l->ok = false;
                break;
            }
        }
    }
    if (!windowed_out(l, in, out, false))
        return;
    out->dims[0] = l->out;

    long long wshape[4] = { l->out, cin / l->groups, l->kernel[0], l->kernel[1] };
    long long taps = 1;
    for (int a = 0; a < nsp; a++)
        taps = count_mul(taps, l->kernel[a]);
    long long per_out = count_mul(cin / l->groups, taps);
    add_tensor(pool, l, "weight", 2 + nsp, wshape, true);
    l->params = count_mul(l->out, per_out);
    if (l->bias) {
        add_tensor(pool, l, "bias", 1, &l->out, true);
        l->params = count_add(l->params, l->out);
    }
    l->macs = count_mul(shape_elems(out), per_out);
}

static void shape_pool(Layer *l, const Shape *in, Shape *out)
{
    int nsp = in->rank - 1;
    if (!resolve_window(l, nsp, true)) {
        l->ok = false;
        out->rank = 0;
        return;
    }
    for (int a = 0; a < nsp; a++) {
        if (l->pad_lo[a] * 2 > l->kernel[a]) {
            diag_error(layer_attr_loc(l, "padding"), "%s '%s': padding %lld is more than half "
                       "the kernel %lld; PyTorch allows at most %lld", l->op, l->name,
                       l->pad_lo[a], l->kernel[a], l->kernel[a] / 2);
            l->ok = false;
            break;
        }
    }
    if (!windowed_out(l, in, out, true))
        return;
    out->dims[0] = in->dims[0];
}

static void shape_pad(Layer *l, const Shape *in, Shape *out)
{
    int nsp = in->rank - 1;
    const Spatial *p = &l->padding_attr;
    /* F.pad order: (left, right) pads the last axis, (.., top, bottom) the one before. */
    long long lo[2] = { 0, 0 }, hi[2] = { 0, 0 };
    if (p->n == 1) {
        for (int a = 0; a < nsp; a++)
            lo[a] = hi[a] = p->v[0];
    } else if (p->n == 2) {
        lo[nsp - 1] = p->v[0];
        hi[nsp - 1] = p->v[1];
    } else if (p->n == 4) {
        if (nsp != 2) {
            diag_error(layer_attr_loc(l, "padding"), "pad '%s': 4 values (left, right, top, "
                       "bottom) need a CxHxW input; this one is 1-D, give (left, right)",
                       l->name);
            l->ok = false;
            out->rank = 0;
            return;
        }
        lo[1] = p->v[0];
        hi[1] = p->v[1];
        lo[0] = p->v[2];
        hi[0] = p->v[3];
    }
    *out = *in;
    for (int a = 0; a < nsp; a++) {
        long long n = in->dims[1 + a];
        long long m = lo[a] > hi[a] ? lo[a] : hi[a];
        if (l->ok && ((l->padding_mode == PM_REFLECT && m >= n) ||
                      (l->padding_mode == PM_CIRCULAR && m > n))) {
            diag_error(layer_attr_loc(l, "padding"), "pad '%s': %s padding of %lld needs an "
                       "input of at least %lld along that axis, but it is %lld", l->name,
                       pad_mode_name(l->padding_mode), m,
                       l->padding_mode == PM_REFLECT ? m + 1 : m, n);
            l->ok = false;
        }
        l->pad_lo[a] = lo[a];
        l->pad_hi[a] = hi[a];
        out->dims[1 + a] = n + lo[a] + hi[a];
    }
}

static bool needs_spatial(const Network *net, int i, Layer *l, const Shape *in)
{
    if (in->rank >= 2)
        return true;
    char buf[200], sb[64];
    diag_error(l->loc, "%s '%s' needs a CxL or CxHxW input, but %s produces a vector of %s",
               l->op, l->name, producer(net, i, buf, sizeof buf), shape_str(in, sb, sizeof sb));
    l->ok = false;
    return false;   /* shape_one leaves the output unknown */
}

/* "conv 'a' (line 3) makes 16x8x8, conv 'b' (line 5) makes 16x4x4" */
static void list_inputs(const Network *net, const Layer *l, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < l->ninputs && used < size; k++) {
        char pb[200], sb[64];
        used += (size_t)snprintf(buf + used, size - used, "%s%s makes %s", k ? ", " : "",
                                 producer_k(net, l, k, pb, sizeof pb),
                                 shape_str(layer_in_shape(net, l, k), sb, sizeof sb));
    }
}

/* add: equal shapes; concat: equal rank and spatial size, channels summed;
 * mul: the gate is x's shape or x's channels with size 1 along every
 * spatial axis. */
static void shape_merge(const Network *net, Layer *l, Shape *out)
{
    const Shape *x = layer_in_shape(net, l, 0);
    char list[1200];
    *out = *x;
    if (l->kind == LK_MUL) {
        const Shape *g = layer_in_shape(net, l, 1);
        bool same = g->rank == x->rank, gate = g->rank == x->rank && x->rank >= 2;
        for (int a = 0; a < x->rank && g->rank == x->rank; a++) {
            same &= g->dims[a] == x->dims[a];
            gate &= a == 0 ? g->dims[0] == x->dims[0] : g->dims[a] == 1;
        }
        if (!same && !gate) {
            char sb[64], gb[64];
            list_inputs(net, l, list, sizeof list);
            Shape want = *x;
            for (int a = 1; a < want.rank; a++)
                want.dims[a] = 1;
            diag_error(l->input_locs[1], "mul '%s': the gate must have x's shape %s%s%s, but %s",
                       l->name, shape_str(x, sb, sizeof sb), x->rank >= 2 ? " or " : "",
                       x->rank >= 2 ? shape_str(&want, gb, sizeof gb) : "", list);
            l->ok = false;
        }
        return;
    }
    long long channels = x->dims[0];
    for (int k = 1; k < l->ninputs; k++) {
        const Shape *y = layer_in_shape(net, l, k);
        bool ok = y->rank == x->rank;
        for (int a = l->kind == LK_CONCAT ? 1 : 0; ok && a < x->rank; a++)
            ok = y->dims[a] == x->dims[a];
        if (!ok) {
            list_inputs(net, l, list, sizeof list);
            if (l->kind == LK_ADD)
                diag_error(l->input_locs[k], "add '%s' needs inputs of one shape, but %s", l->name,
                           list);
            else
                diag_error(l->input_locs[k], "concat '%s' joins along channels and needs inputs "
                           "of one %s, but %s", l->name, x->rank == 1 ? "rank" : "spatial size",
                           list);
            l->ok = false;
            return;
        }
        channels = count_add(channels, y->dims[0]);
    }
    if (l->kind == LK_CONCAT)
        out->dims[0] = channels;
}

static void shape_one(Pool *pool, const Network *net, int i, Layer *l, const Shape *in, Shape *out)
{
    char buf[200], sb[64];
    *out = *in;
    l->nsp = in->rank - 1;
    switch (l->kind) {
    case LK_CONV:
    case LK_MAXPOOL:
    case LK_AVGPOOL:
    case LK_MINPOOL:
    case LK_GLOBAL_MAXPOOL:
    case LK_GLOBAL_AVGPOOL:
    case LK_PAD:
        if (!needs_spatial(net, i, l, in)) {
            out->rank = 0;
            break;
        }
        if (l->kind == LK_CONV)
            shape_conv(pool, net, i, l, in, out);
        else if (l->kind == LK_PAD)
            shape_pad(l, in, out);
        else if (l->kind == LK_GLOBAL_MAXPOOL || l->kind == LK_GLOBAL_AVGPOOL)
            for (int a = 1; a < in->rank; a++)
                out->dims[a] = 1;
        else
            shape_pool(l, in, out);
        break;
    case LK_LINEAR:
        if (in->rank != 1) {
            diag_error(l->loc, "linear '%s' needs a vector input, but %s produces %s; add "
                       "'flatten' before it", l->name, producer(net, i, buf, sizeof buf),
                       shape_str(in, sb, sizeof sb));
            l->ok = false;
            out->rank = 1;      /* as if flattened: later layers can still be checked */
            out->dims[0] = l->out;
            return;
        }
        check_in(net, i, l, in->dims[0], "features");
        out->dims[0] = l->out;
        {
            long long ws[2] = { l->out, in->dims[0] };
            add_tensor(pool, l, "weight", 2, ws, true);
        }
        l->params = count_mul(l->out, in->dims[0]);
        if (l->bias) {
            add_tensor(pool, l, "bias", 1, &l->out, true);
            l->params = count_add(l->params, l->out);
        }
        l->macs = count_mul(l->out, in->dims[0]);
        break;
    case LK_FLATTEN:
        out->rank = 1;
        out->dims[0] = shape_elems(in);
        out->dims[1] = out->dims[2] = 0;
        break;
    case LK_BATCHNORM: {
        long long c = in->dims[0];
        add_tensor(pool, l, "weight", 1, &c, true);
        add_tensor(pool, l, "bias", 1, &c, true);
        add_tensor(pool, l, "running_mean", 1, &c, false);
        add_tensor(pool, l, "running_var", 1, &c, false);
        l->params = 2 * c;
        break;
    }
    case LK_ADD:
    case LK_CONCAT:
    case LK_MUL:
        shape_merge(net, l, out);
        break;
    default:
        break;      /* element-wise: same shape */
    }
}

/* One layer whose inputs are known: its output shape, unless an error
 * leaves it unknown. */
static void check_layer(Pool *pool, const Network *net, Layer *l, bool *known)
{
    const Shape *in = layer_in_shape(net, l, 0);
    l->in_shape = *in;
    Shape out;
    shape_one(pool, net, l->index, l, in, &out);
    if (out.rank == 0)
        return;     /* the error leaves the output unknown */
    long long n = shape_elems(&out);
    if (n > CNNC_MAX_ELEMS) {
        char sb[64], nb[32];
        diag_error(l->loc, "%s '%s' produces %s = %s elements; cnnc's limit for one "
                   "tensor is %lld (reduce the sizes)", l->op, l->name,
                   shape_str(&out, sb, sizeof sb), count_str(n, nb, sizeof nb), CNNC_MAX_ELEMS);
        l->ok = false;
        return;
    }
    for (int t = 0; t < l->ntensors; t++) {
        long long cnt = 1;
        for (int d = 0; d < l->tensors[t].ndim; d++)
            cnt = count_mul(cnt, l->tensors[t].shape[d]);
        if (cnt > CNNC_MAX_ELEMS) {
            char nb[32];
            diag_error(l->loc, "%s '%s': tensor %s has %s elements; cnnc's limit for one "
                       "tensor is %lld", l->op, l->name, l->tensors[t].name,
                       count_str(cnt, nb, sizeof nb), CNNC_MAX_ELEMS);
            l->ok = false;
        }
    }
    l->out_shape = out;
    *known = true;
}

/* Whether input k of a layer has a checked shape. */
static bool input_known(const Network *net, const Layer *l, int k, const bool *known)
{
    int p = l->inputs[k];
    return p == -1 ? net->input.rank > 0 : p >= 0 && p < l->index && known[p];
}

int shape_check(Pool *pool, Network *net)
{
    int errors_before = diag_error_count();
    int n = net->nlayers;
    bool *known = pool_alloc(pool, (size_t)(n ? n : 1) * sizeof *known);
    int *readers = pool_alloc(pool, (size_t)(n ? n : 1) * sizeof *readers);
    bool all_known = true;
    for (int i = 0; i < n; i++) {
        Layer *l = &net->layers[i];
        bool in_known = l->ok;
        for (int k = 0; k < l->ninputs; k++) {
            in_known &= input_known(net, l, k, known);
            if (l->inputs[k] >= 0)
                readers[l->inputs[k]]++;
        }
        if (!in_known) {
            all_known = false;  /* cannot say what this layer sees */
            continue;
        }
        int before = diag_error_count();
        check_layer(pool, net, l, &known[i]);
        if (diag_error_count() != before)
            layer_note_uses(l);
        all_known &= known[i];
    }
    /* A channels-last input is read in place by the first layer: a conv reads
     * it with strides, a linear after flatten gets its columns permuted. */
    if (net->input_channels_last && net->nlayers > 0 && all_known) {
        const Layer *l0 = &net->layers[0];
        bool ok = l0->kind == LK_CONV ||
                  (l0->kind == LK_FLATTEN && net->nlayers > 1 && net->layers[1].kind == LK_LINEAR &&
                   net->layers[1].inputs[0] == 0 && readers[0] == 1);
        if (!ok) {
            diag_error(net->layout_loc, "a channels-last input needs a conv first, or flatten "
                       "then linear; %s '%s' would need the input copied", l0->op, l0->name);
            diag_note(l0->loc, "the first layer is here");
        }
        for (int i = 1; ok && i < n; i++) {
            const Layer *l = &net->layers[i];
            for (int k = 0; k < l->ninputs; k++) {
                if (l->inputs[k] == -1) {
                    diag_error(l->input_locs[k], "%s '%s' reads the channels-last input, which "
                               "only the first layer can read in place; read it after the first "
                               "layer, or give the input layout=%s", l->op, l->name,
                               net->input.rank == 3 ? "chw" : "cl");
                    ok = false;
                    break;
                }
            }
        }
    }

    /* Flash: batchnorm right after a conv or linear folds into its weights
     * and bias (adding a bias if it had none); elsewhere it keeps scale and
     * shift.  "Right after" means: the next layer, reading only it, and the
     * only reader of its output (else the unfolded output is still needed). */
    for (int i = 0; i < n; i++) {
        Layer *l = &net->layers[i];
        const Layer *prev = NULL;
        if (i > 0 && l->ninputs == 1 && l->inputs[0] == i - 1 && readers[i - 1] == 1)
            prev = &net->layers[i - 1];
        if (l->kind == LK_BATCHNORM) {
            l->folded = prev && (prev->kind == LK_CONV || prev->kind == LK_LINEAR);
            l->stored_floats = l->folded ? 0 : 2 * l->in_shape.dims[0];
        } else if (l->kind == LK_RELU || l->kind == LK_RELU6 || l->kind == LK_LEAKY_RELU ||
                   l->kind == LK_SIGMOID || l->kind == LK_TANH) {
            l->fused = prev && (prev->kind == LK_CONV || prev->kind == LK_LINEAR ||
                                (prev->kind == LK_BATCHNORM && prev->folded));
        }
    }
    for (int i = 0; i < n; i++) {
        Layer *l = &net->layers[i];
        if (l->kind == LK_CONV || l->kind == LK_LINEAR) {
            bool gets_bias = i + 1 < n && net->layers[i + 1].kind == LK_BATCHNORM &&
                             net->layers[i + 1].folded;
            l->stored_floats = l->ntensors ? l->params : 0;
            if (!l->bias && gets_bias)
                l->stored_floats += l->out;
        }
    }
    bool all = all_known;
    for (int i = 0; i < n; i++)
        all &= net->layers[i].ok;
    net->ok = all && net->nlayers > 0 && diag_error_count() == errors_before;
    return diag_error_count() == errors_before ? 0 : -1;
}
