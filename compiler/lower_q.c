/*
 * lower_q.c - from a checked network to the kernel calls of its int8 code.
 *
 *   bind       the weights, as the float lowering binds them (lower_bind_weights)
 *   fold       batchnorm after a conv or linear into its weights and bias,
 *              in double: w' = w*s, b' = (b - mean)*s + beta,
 *              s = gamma / sqrt(var + eps); a batchnorm that cannot be folded
 *              becomes a depthwise 1x1 conv (weight s, bias beta - mean*s)
 *   group      a relu or relu6 after a conv or linear (or its folded
 *              batchnorm) is the step's clamp; any other activation is a step
 *              of its own, a 256-entry lookup table
 *   calibrate  calibrate_ranges runs the steps in float32 (calibrate.c)
 *   quantize   each tensor gets its scale and zero point (quant.c, TFLite's
 *              rules): sigmoid and softmax outputs 1/256 and -128, tanh 1/128
 *              and 0; pools, pad and copies keep their input's; the inputs of
 *              a concat that the plan writes straight into its buffer share
 *              its parameters (their ranges are joined); every other tensor
 *              its calibrated range.  Then the int8 weights per output
 *              channel, int32 biases, multipliers, clamps and tables.
 *
 * Folding and grouping follow the float lowering's rule: only when the later
 * layer is the one reader of the earlier one (shape.c marks the candidates).
 */
#include "cnnc.h"
#include "lower_q.h"
#include "cnn_quant.h"
#include "cnn_pack_s8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The runtime's 2-D view of a layer's windowed attributes. */
static void window_2d(QStep *s, const Layer *l)
{
    const Shape *in = &l->in_shape, *out = &l->out_shape;
    s->in_c = in->dims[0];
    s->out_c = out->dims[0];
    if (l->nsp == 2) {
        s->in_h = in->dims[1], s->in_w = in->dims[2];
        s->out_h = out->dims[1], s->out_w = out->dims[2];
        s->kh = l->kernel[0], s->kw = l->kernel[1];
        s->sh = l->stride[0], s->sw = l->stride[1];
        s->dh = l->dilation[0], s->dw = l->dilation[1];
        s->pad_top = l->pad_lo[0], s->pad_bottom = l->pad_hi[0];
        s->pad_left = l->pad_lo[1], s->pad_right = l->pad_hi[1];
    } else {
        s->in_h = 1, s->in_w = in->dims[1];
        s->out_h = 1, s->out_w = out->dims[1];
        s->kh = 1, s->kw = l->kernel[0];
        s->sh = 1, s->sw = l->stride[0];
        s->dh = 1, s->dw = l->dilation[0];
        s->pad_top = s->pad_bottom = 0;
        s->pad_left = l->pad_lo[0], s->pad_right = l->pad_hi[0];
    }
}

/*
 * The int8 code's fusion rule (PlanFuseFn): the float rule's group
 * (fuse_conv_pool) when its activation is a clamp (any other is a table
 * step of its own, between the conv and the pool), the pool is a max or a
 * min (an average is not monotone after rounding: never), and the runtime's
 * cnn_conv2d_pool_s8_ok takes the pair.  Geometry only: the plan asks it
 * before anything is quantized.
 */
int lower_q_fuse_pool(const Network *net, int i)
{
    int j = fuse_conv_pool(net, i);
    if (j < 0)
        return -1;
    const Layer *l = &net->layers[i], *pl = &net->layers[j];
    if (pl->kind != LK_MAXPOOL && pl->kind != LK_MINPOOL)
        return -1;
    for (int k = i + 1; k < j; k++)
        if (net->layers[k].kind != LK_BATCHNORM && net->layers[k].kind != LK_RELU &&
            net->layers[k].kind != LK_RELU6)
            return -1;
    QStep c = { 0 }, p = { 0 };
    window_2d(&c, l);
    window_2d(&p, pl);
    c.groups = l->groups;
    c.pad_mode = l->padding_mode;
    c.in_hwc = l->inputs[0] < 0 && net->input_channels_last;
    CnnConv2dParams g = qstep_conv_params(&c);
    CnnPool2dParams pp = {
        .channels = (int32_t)p.in_c, .in_h = (int32_t)p.in_h, .in_w = (int32_t)p.in_w,
        .out_h = (int32_t)p.out_h, .out_w = (int32_t)p.out_w,
        .kernel_h = (int32_t)p.kh, .kernel_w = (int32_t)p.kw,
        .stride_h = (int32_t)p.sh, .stride_w = (int32_t)p.sw,
        .dilation_h = (int32_t)p.dh, .dilation_w = (int32_t)p.dw,
        .pad_top = (int32_t)p.pad_top, .pad_bottom = (int32_t)p.pad_bottom,
        .pad_left = (int32_t)p.pad_left, .pad_right = (int32_t)p.pad_right,
    };
    return cnn_conv2d_pool_s8_ok(&g, &pp, pl->kind == LK_MAXPOOL ? CNN_POOL_MAX : CNN_POOL_MIN)
               ? j : -1;
}

/* Layer i + 1 is folded or fused into layer i, and reads nothing else. */
static bool joins(const Network *net, const int *readers, int i)
{
    if (i + 1 >= net->nlayers)
        return false;
    const Layer *next = &net->layers[i + 1];
    return (next->folded || next->fused) && next->ninputs == 1 && next->inputs[0] == i &&
           readers[i] == 1;
}

static void fold_bn(Pool *pool, QStep *s, const Layer *bn, const float *const bnd[4])
{
    float *w = pool_alloc(pool, (size_t)s->nw * sizeof *w);
    float *b = pool_alloc(pool, (size_t)s->out_c * sizeof *b);
    for (long long o = 0; o < s->out_c; o++) {
        double scale = (double)bnd[0][o] / sqrt((double)bnd[3][o] + bn->eps);
        for (long long k = 0; k < s->per; k++)
            w[o * s->per + k] = (float)((double)s->w[o * s->per + k] * scale);
        double bias = s->b ? (double)s->b[o] : 0.0;
        b[o] = (float)((bias - (double)bnd[2][o]) * scale + (double)bnd[1][o]);
    }
    s->w = w;
    s->b = b;
}

/* A linear reading a flattened channels-last input: column (c, p) moves to p*C + c. */
static const float *channels_last_columns(Pool *pool, const float *w, long long out,
                                          const Shape *in)
{
    long long c_n = in->dims[0], p_n = shape_elems(in) / c_n, cols = c_n * p_n;
    float *d = pool_alloc(pool, (size_t)(out * cols) * sizeof *d);
    for (long long o = 0; o < out; o++)
        for (long long c = 0; c < c_n; c++)
            for (long long p = 0; p < p_n; p++)
                d[o * cols + p * c_n + c] = w[o * cols + c * p_n + p];
    return d;
}

/* The steps, with float data, before calibration. */
static int build_steps(Pool *pool, const Network *net, const float *(*data)[4], QNet *q)
{
    int *readers = pool_alloc(pool, (size_t)(net->nlayers + 1) * sizeof *readers);
    for (int i = 0; i < net->nlayers; i++)
        for (int k = 0; k < net->layers[i].ninputs; k++)
            if (net->layers[i].inputs[k] >= 0)
                readers[net->layers[i].inputs[k]]++;
    q->ntensors = net->nlayers + 1;
    q->canon = pool_alloc(pool, (size_t)q->ntensors * sizeof *q->canon);
    /* Up to two steps a layer: a conv and its own activation table. */
    q->steps = pool_alloc(pool, (size_t)(2 * net->nlayers + 1) * sizeof(QStep));
    q->nsteps = 0;
    for (int i = 0; i < net->nlayers; i++) {
        const Layer *l = &net->layers[i];
        const LayerPlan *lp = &q->plan.layers[i];
        q->canon[i + 1] = i + 1;
        if (lp->alias && l->kind != LK_CONCAT) {
            q->canon[i + 1] = q->canon[l->inputs[0] + 1];
            continue;
        }
        QStep *s = &q->steps[q->nsteps++];
        memset(s, 0, sizeof *s);
        s->first = s->last = i;
        s->nins = l->ninputs;
        s->ins = pool_alloc(pool, (size_t)l->ninputs * sizeof *s->ins);
        s->in_bufs = pool_alloc(pool, (size_t)l->ninputs * sizeof *s->in_bufs);
        for (int k = 0; k < l->ninputs; k++) {
            s->ins[k] = q->canon[l->inputs[k] + 1];
            s->in_bufs[k] = lp->ins[k];
        }
        s->in_c = l->in_shape.dims[0];
        s->out_c = l->out_shape.dims[0];
        s->sym = pool_printf(pool, "%s_%s", net->name, l->cname);
        switch (l->kind) {
        case LK_CONV:
        case LK_LINEAR: {
            s->kind = l->kind == LK_CONV ? QS_CONV : QS_LINEAR;
            if (l->kind == LK_CONV)
                window_2d(s, l);
            s->in_hwc = l->kind == LK_CONV && lp->in.kind == BUF_INPUT && net->input_channels_last;
            s->groups = l->kind == LK_CONV ? l->groups : 1;
            s->pad_mode = l->padding_mode;
            s->w = data[i][0];
            s->nw = 1;
            for (int d = 0; d < l->tensors[0].ndim; d++)
                s->nw *= l->tensors[0].shape[d];
            s->per = s->nw / l->out;
            s->b = l->bias ? data[i][1] : NULL;
            /* A conv whose one window is its whole input is a matrix-vector product. */
            if (l->kind == LK_CONV && !s->in_hwc && s->groups == 1 && s->out_h == 1 &&
                s->out_w == 1 && s->kh == s->in_h && s->kw == s->in_w && s->dh == 1 &&
                s->dw == 1 && s->pad_top + s->pad_bottom + s->pad_left + s->pad_right == 0) {
                s->kind = QS_LINEAR;
                s->in_c = s->in_c * s->in_h * s->in_w;
            }
            if (l->kind == LK_LINEAR && lp->in.kind == BUF_INPUT && net->input_channels_last)
                s->w = channels_last_columns(pool, s->w, l->out, &net->input);
            if (joins(net, readers, i) && net->layers[i + 1].folded) {
                fold_bn(pool, s, &net->layers[i + 1], data[i + 1]);
                s->last = ++i;
                q->canon[i + 1] = i + 1;
            }
            if (joins(net, readers, i) && net->layers[i + 1].fused &&
                (net->layers[i + 1].kind == LK_RELU || net->layers[i + 1].kind == LK_RELU6)) {
                s->act = layer_act_kind(net->layers[i + 1].kind);
                s->last = ++i;
                q->canon[i + 1] = i + 1;
            }
            break;
        }
        case LK_BATCHNORM: {
            /* Not folded: y = x*scale + shift per channel, one table per
             * channel (in place, as the plan may put it). */
            long long c = l->in_shape.dims[0];
            float *w = pool_alloc(pool, (size_t)c * sizeof *w);
            float *b = pool_alloc(pool, (size_t)c * sizeof *b);
            for (long long k = 0; k < c; k++) {
                double sc = (double)data[i][0][k] / sqrt((double)data[i][3][k] + l->eps);
                w[k] = (float)sc;
                b[k] = (float)((double)data[i][1][k] - (double)data[i][2][k] * sc);
            }
            s->kind = QS_LUT;
            s->w = w, s->b = b, s->nw = c, s->per = 1;
            s->nluts = (int)c;
            s->count = l->in_shape.rank == 1 ? 1 : shape_spatial(&l->in_shape);
            break;
        }
        case LK_MAXPOOL:
        case LK_MINPOOL:
        case LK_AVGPOOL:
            s->kind = l->kind == LK_MAXPOOL ? QS_MAXPOOL : l->kind == LK_MINPOOL ? QS_MINPOOL
                                                                                  : QS_AVGPOOL;
            window_2d(s, l);
            s->count_include_pad = l->count_include_pad;
            break;
        case LK_GLOBAL_MAXPOOL:
        case LK_GLOBAL_AVGPOOL:
            s->kind = l->kind == LK_GLOBAL_MAXPOOL ? QS_GLOBAL_MAXPOOL : QS_GLOBAL_AVGPOOL;
            s->count = shape_spatial(&l->in_shape);
            break;
        case LK_PAD:
            s->kind = QS_PAD;
            window_2d(s, l);
            s->pad_mode = l->padding_mode;
            s->pad_value = l->value;
            break;
        case LK_SOFTMAX:
            s->kind = QS_SOFTMAX;
            s->count = l->in_shape.rank == 1 ? 1 : shape_spatial(&l->in_shape);
            break;
        case LK_ADD:
        case LK_CONCAT:
        case LK_MUL:
            s->kind = l->kind == LK_ADD ? QS_ADD : l->kind == LK_CONCAT ? QS_CONCAT : QS_MUL;
            s->count = shape_elems(&l->out_shape);
            s->in_sizes = pool_alloc(pool, (size_t)l->ninputs * sizeof *s->in_sizes);
            for (int k = 0; k < l->ninputs; k++)
                s->in_sizes[k] = shape_elems(layer_in_shape(net, l, k));
            if (l->kind == LK_MUL) {
                s->count /= s->out_c;
                s->gate_spatial = s->in_sizes[1] / s->out_c;
            }
            break;
        case LK_FLATTEN:
        case LK_DROPOUT:
        case LK_IDENTITY:
            s->kind = QS_COPY;
            s->count = shape_elems(&l->in_shape);
            break;
        default:
            s->kind = QS_LUT;
            s->nluts = 1;
            s->act = layer_act_kind(l->kind);
            s->slope = s->act == ACT_LEAKY_RELU ? l->slope : 0.0;
            s->count = shape_elems(&l->in_shape);
            if (s->act == ACT_NONE)
                diag_internal("layer %d '%s' has no int8 kernel", i, l->name);
            break;
        }
        s->out = q->canon[s->last + 1];
        s->out_buf = q->plan.layers[s->last].out;
        /* A conv step followed by an activation that is not a clamp: the
         * activation is a table of its own, the step after. */
    }
    return 0;
}

/* ---- quantization ---- */

static QParams fixed_params(float scale, int32_t zp)
{
    QParams p = { scale, zp };
    return p;
}

/* Union-find over tensor ids: the tensors that must share their scale and zero point. */
static int find(int *up, int t)
{
    while (up[t] != t)
        t = up[t] = up[up[t]];
    return t;
}

/* The output parameters a step fixes whatever the ranges (TFLite's rules). */
static bool fixed_output(const QStep *s, QParams *p)
{
    if (s->kind == QS_SOFTMAX || (s->kind == QS_LUT && !s->w && s->act == ACT_SIGMOID)) {
        *p = fixed_params(1.0f / 256, -128);
        return true;
    }
    if (s->kind == QS_LUT && !s->w && s->act == ACT_TANH) {
        *p = fixed_params(1.0f / 128, 0);
        return true;
    }
    return false;
}

/*
 * Every tensor's parameters.  Pools, pad and copies keep their input's (their
 * output joins the input's group); a concat that the plan writes in place (its
 * inputs' producers write straight into its buffer) joins its inputs' groups.
 * A group with a fixed member (a sigmoid, tanh or softmax output) takes the
 * fixed parameters; any other group those of its members' joined range.  Two
 * different fixed members in one group cannot be: an error.
 */
static int assign_params(const Network *net, QNet *q)
{
    int nt = q->ntensors;
    int *up = calloc((size_t)nt, sizeof *up);
    int *fixed_by = calloc((size_t)nt, sizeof *fixed_by);       /* step + 1, per root */
    float *lo = calloc((size_t)nt, sizeof *lo), *hi = calloc((size_t)nt, sizeof *hi);
    bool *has = calloc((size_t)nt, sizeof *has);
    if (!up || !fixed_by || !lo || !hi || !has)
        diag_internal("out of memory");
    for (int t = 0; t < nt; t++)
        up[t] = t;
    for (int i = 0; i < q->nsteps; i++) {
        const QStep *s = &q->steps[i];
        bool tie = s->kind == QS_MAXPOOL || s->kind == QS_MINPOOL || s->kind == QS_AVGPOOL ||
                   s->kind == QS_GLOBAL_MAXPOOL || s->kind == QS_GLOBAL_AVGPOOL ||
                   s->kind == QS_PAD || s->kind == QS_COPY ||
                   (s->kind == QS_CONCAT && q->plan.layers[s->first].alias);
        for (int k = 0; tie && k < s->nins; k++)
            up[find(up, s->out)] = find(up, s->ins[k]);
    }
    int errors = 0;
    for (int i = 0; i < q->nsteps; i++) {
        QParams p;
        const QStep *s = &q->steps[i];
        if (!fixed_output(s, &p))
            continue;
        int r = find(up, s->out);
        QParams had;
        if (fixed_by[r] && fixed_output(&q->steps[fixed_by[r] - 1], &had) &&
            (had.scale != p.scale || had.zero_point != p.zero_point)) {
            const Layer *l = &net->layers[s->last];
            diag_error(l->loc, "--int8: %s '%s' fixes its output's scale to %g, but a concat "
                       "that reads it in place also reads %s '%s', whose scale is fixed to %g; "
                       "put a conv between one of them and the concat", l->op, l->name,
                       (double)p.scale, net->layers[q->steps[fixed_by[r] - 1].last].op,
                       net->layers[q->steps[fixed_by[r] - 1].last].name, (double)had.scale);
            errors++;
        }
        fixed_by[r] = i + 1;
    }
    for (int t = 0; t < nt; t++) {
        if (!q->has_range[t])
            continue;
        int r = find(up, t);
        lo[r] = has[r] ? fminf(lo[r], q->lo[t]) : q->lo[t];
        hi[r] = has[r] ? fmaxf(hi[r], q->hi[t]) : q->hi[t];
        has[r] = true;
    }
    q->qp = pool_alloc(q->pool, (size_t)nt * sizeof *q->qp);
    for (int t = 0; t < nt; t++) {
        int r = find(up, q->canon[t]);
        if (fixed_by[r])
            fixed_output(&q->steps[fixed_by[r] - 1], &q->qp[t]);
        else if (has[r])
            q->qp[t] = quant_activation_params(lo[r], hi[r]);
        else
            q->qp[t] = fixed_params(1.0f, -128);     /* not materialised */
    }
    free(up);
    free(fixed_by);
    free(lo);
    free(hi);
    free(has);
    return errors ? -1 : 0;
}

/* The element-wise functions of a LUT step, in double (cnn_lut_s8_fill). */
static double f_plus(double x, double shift)
{
    return x + shift;
}

static double f_relu(double x, double arg)
{
    (void)arg;
    return x > 0 ? x : 0;
}

static double f_relu6(double x, double arg)
{
    (void)arg;
    return x < 0 ? 0 : x > 6 ? 6 : x;
}

static double f_leaky(double x, double slope)
{
    return x > 0 ? x : slope * x;
}

static double f_sigmoid(double x, double arg)
{
    (void)arg;
    return 1.0 / (1.0 + exp(-x));
}

static double f_tanh(double x, double arg)
{
    (void)arg;
    return tanh(x);
}

/*
 * The multiplier and shift of a real M.  For 2^-12 <= M < 1 the shift is 0
 * and the multiplier round(M * 2^31), 20 to 31 bits: then the doubling high
 * multiply of cnn_q_mul_by_multiplier is the only rounding.  quant.c's
 * normalised form (multiplier in [2^30, 2^31), shift -r) rounds twice, first
 * to 2^-r of an output step, then by the right shift, and so misses the real
 * result's rounding on about M of all values; the shift-0 form misses it on
 * about |v| / (M 2^31), v the result: fewer for any M above 2^-12.  Outside
 * that range, or if M rounds to 2^31, the normalised form.
 */
static void set_multiplier(const Layer *l, double real, int32_t *m, int32_t *sh)
{
    if (real >= QUANT_ONE_ROUNDING_MIN && real < 1.0) {
        double r = round(real * 2147483648.0);
        if (r < 2147483648.0) {
            *m = (int32_t)r;
            *sh = 0;
            return;
        }
    }
    QMultiplier qm;
    if (quant_multiplier(real, &qm) != 0)
        diag_internal("layer '%s': multiplier %g", l->name, real);
    *m = qm.multiplier;
    *sh = qm.shift;
}

CnnPadMode qstep_pad_mode(PadMode m)
{
    static const CnnPadMode rt[] = {
        CNN_PAD_ZEROS, CNN_PAD_REFLECT, CNN_PAD_REPLICATE, CNN_PAD_CIRCULAR,
    };
    return rt[m];
}

CnnConv2dParams qstep_conv_params(const QStep *s)
{
    CnnConv2dParams g = {
        .in_c = (int32_t)s->in_c, .in_h = (int32_t)s->in_h, .in_w = (int32_t)s->in_w,
        .out_c = (int32_t)s->out_c, .out_h = (int32_t)s->out_h, .out_w = (int32_t)s->out_w,
        .kernel_h = (int32_t)s->kh, .kernel_w = (int32_t)s->kw,
        .stride_h = (int32_t)s->sh, .stride_w = (int32_t)s->sw,
        .dilation_h = (int32_t)s->dh, .dilation_w = (int32_t)s->dw,
        .pad_top = (int32_t)s->pad_top, .pad_bottom = (int32_t)s->pad_bottom,
        .pad_left = (int32_t)s->pad_left, .pad_right = (int32_t)s->pad_right,
        .groups = (int32_t)s->groups, .pad_mode = qstep_pad_mode(s->pad_mode),
        .in_hwc = s->in_hwc,
    };
    return g;
}

/* The int8 weights and biases in the layout of the kernel the step calls
 * (cnn_pack_s8.h chooses the conv's entry point and packs for it). */
static void pack_step(Pool *pool, QStep *s, int32_t in_zp)
{
    long long oc = s->out_c;
    s->qb_packed = pool_alloc(pool, (size_t)oc * sizeof *s->qb_packed);
    if (s->kind == QS_CONV) {
        CnnConv2dParams g = qstep_conv_params(s);
        CnnConvS8Kind k = cnn_conv2d_s8_kind(&g);
        s->kernel = cnn_conv2d_s8_kind_name(k);
        s->nqw_packed = cnn_conv2d_packed_bytes_s8(&g, k);
        s->qw_packed = pool_alloc(pool, (size_t)s->nqw_packed);
        cnn_conv2d_pack_s8(&g, k, s->qw, s->qw_packed);
        cnn_conv2d_pack_bias_s8(&g, k, s->qw, s->qb, in_zp, s->qb_packed);
    } else {
        s->kernel = "cnn_linear_s8";
        s->nqw_packed = s->nw;
        s->qw_packed = pool_alloc(pool, (size_t)s->nw);
        cnn_linear_pack_s8(s->in_c, oc, s->qw, s->qw_packed);
        cnn_linear_pack_bias_s8(s->in_c, oc, s->qw, s->qb, in_zp, s->qb_packed);
    }
}

static void quantize_step(Pool *pool, const Network *net, QNet *q, QStep *s)
{
    const Layer *l = &net->layers[s->first];
    QParams in = q->qp[s->ins[0]], out = q->qp[s->out];
    s->act_min = CNN_Q_MIN, s->act_max = CNN_Q_MAX;
    switch (s->kind) {
    case QS_CONV:
    case QS_LINEAR: {
        long long oc = s->out_c;
        s->qw = pool_alloc(pool, (size_t)s->nw);
        s->wscale = pool_alloc(pool, (size_t)oc * sizeof *s->wscale);
        s->qb = pool_alloc(pool, (size_t)oc * sizeof *s->qb);
        s->mult = pool_alloc(pool, (size_t)oc * sizeof *s->mult);
        s->shift = pool_alloc(pool, (size_t)oc * sizeof *s->shift);
        quant_weights(s->w, oc, s->per, s->wscale, s->qw);
        for (long long o = 0; o < oc; o++) {
            const float tuned = quant_weight_scale_tune(s->wscale[o], in.scale, out.scale);
            if (tuned != s->wscale[o]) {
                s->wscale[o] = tuned;
                quant_weights_row(s->w + o * s->per, s->per, tuned, s->qw + o * s->per);
            }
            s->qb[o] = s->b ? quant_bias(s->b[o], in.scale, s->wscale[o]) : 0;
            set_multiplier(l, (double)in.scale * (double)s->wscale[o] / (double)out.scale,
                           &s->mult[o], &s->shift[o]);
        }
        quant_act_clamp(s->act, out, &s->act_min, &s->act_max);
        pack_step(pool, s, in.zero_point);
        /* int8 weights; int32 bias and multiplier, int8 shift */
        q->weight_bytes += s->nqw_packed + 9 * oc;
        break;
    }
    case QS_LUT:
        s->lut = pool_alloc(pool, (size_t)s->nluts * 256);
        if (s->w) {
            /* batchnorm: channel c's table is f(x) = x + shift_c on x = real * scale_c */
            for (int c = 0; c < s->nluts; c++)
                cnn_lut_s8_fill(s->lut + 256 * c, f_plus, s->b[c],
                                (double)in.scale * (double)s->w[c], in.zero_point, out.scale,
                                out.zero_point);
        } else {
            double (*f)(double, double) = s->act == ACT_RELU ? f_relu
                                          : s->act == ACT_RELU6 ? f_relu6
                                          : s->act == ACT_LEAKY_RELU ? f_leaky
                                          : s->act == ACT_SIGMOID ? f_sigmoid : f_tanh;
            cnn_lut_s8_fill(s->lut, f, s->slope, in.scale, in.zero_point, out.scale,
                            out.zero_point);
        }
        q->weight_bytes += 256LL * s->nluts;
        break;
    case QS_SOFTMAX:
        s->exp_table = pool_alloc(pool, 256 * sizeof *s->exp_table);
        cnn_softmax_table_s8(in.scale, s->exp_table);
        q->weight_bytes += 256 * 4;
        break;
    case QS_PAD:
        s->pad_q = quant_value((float)s->pad_value, in);
        break;
    case QS_ADD: {
        /* TFLite's add (cnn_int8.h): S = 2 max s_k; inputs by s_k / S, the
         * sum by S / (2^20 s_out). */
        s->mult = pool_alloc(pool, (size_t)(s->nins + 1) * sizeof *s->mult);
        s->shift = pool_alloc(pool, (size_t)(s->nins + 1) * sizeof *s->shift);
        double big = 0;
        for (int k = 0; k < s->nins; k++)
            if (q->qp[s->ins[k]].scale > big)
                big = q->qp[s->ins[k]].scale;
        big *= 2;
        for (int k = 0; k < s->nins; k++)
            set_multiplier(l, (double)q->qp[s->ins[k]].scale / big, &s->mult[k], &s->shift[k]);
        /* TFLite lifts by 2^20; the sum of nin terms of up to 255 * 2^(ls - 1)
         * must stay below 2^31 (cnn_int8.h), so more than 15 inputs lift less. */
        s->left_shift = CNNC_Q_ADD_LEFT_SHIFT;
        while ((long long)s->nins << (s->left_shift + 7) >= (1LL << 31))
            s->left_shift--;
        set_multiplier(l, big / ((double)(1 << s->left_shift) * out.scale),
                       &s->mult[s->nins], &s->shift[s->nins]);
        q->weight_bytes += 9 * s->nins;    /* in_zp, in_mult: int32; in_shift: int8 */
        break;
    }
    case QS_CONCAT:
        if (q->plan.layers[s->first].alias)
            break;      /* its inputs were written in place: no code, no data */
        s->mult = pool_alloc(pool, (size_t)s->nins * sizeof *s->mult);
        s->shift = pool_alloc(pool, (size_t)s->nins * sizeof *s->shift);
        for (int k = 0; k < s->nins; k++)
            set_multiplier(l, (double)q->qp[s->ins[k]].scale / out.scale, &s->mult[k],
                           &s->shift[k]);
        q->weight_bytes += 13 * s->nins;
        break;
    case QS_MUL:
        s->mult = pool_alloc(pool, sizeof *s->mult);
        s->shift = pool_alloc(pool, sizeof *s->shift);
        set_multiplier(l, (double)in.scale * (double)q->qp[s->ins[1]].scale / out.scale,
                       &s->mult[0], &s->shift[0]);
        break;
    default:
        break;
    }
}

/*
 * A conv step and the pool step after it that the plan fused
 * (lower_q_fuse_pool) become one cnn_conv2d_pool_s8 step, once both are
 * quantized: the pool keeps its input's scale and zero point, so the
 * conv's requantization is the pooled output's.  Calibration ran them
 * apart (the conv's range is its own, as unfused).
 */
static void merge_pools(const Network *net, QNet *q)
{
    int n = 0;
    for (int i = 0; i < q->nsteps; i++) {
        QStep *s = &q->steps[i];
        const QStep *t = s + 1;
        q->steps[n] = *s;
        if (s->kind == QS_CONV && i + 1 < q->nsteps && q->plan.layers[s->first].fused_into >= 0) {
            if ((t->kind != QS_MAXPOOL && t->kind != QS_MINPOOL) ||
                t->first != lower_q_fuse_pool(net, s->first) ||
                q->plan.layers[s->first].fused_into != t->first)
                diag_internal("layer %d '%s': the plan fuses it, but no pool step follows",
                              s->first, net->layers[s->first].name);
            QStep *m = &q->steps[n];
            m->pooled = true;
            m->pool_kind = t->kind;
            m->pool_kh = t->kh, m->pool_kw = t->kw;
            m->pool_sh = t->sh, m->pool_sw = t->sw;
            m->pool_out_h = t->out_h, m->pool_out_w = t->out_w;
            m->last = t->last;
            m->out = t->out;
            m->out_buf = t->out_buf;
            m->in_bufs = t->in_bufs;        /* the plan: the conv's inputs, at the pool's step */
            i++;
        }
        n++;
    }
    q->nsteps = n;
}

static int quantize(Pool *pool, const Network *net, QNet *q)
{
    q->pool = pool;
    if (assign_params(net, q) != 0)
        return -1;
    for (int i = 0; i < q->nsteps; i++)
        quantize_step(pool, net, q, &q->steps[i]);
    merge_pools(net, q);
    return 0;
}

int lower_q_network(Pool *pool, const Network *net, WeightFile *wf, long long random_seed,
                    const CalibSet *cs, const ClipMethod *clip, long long align, QNet *out)
{
    memset(out, 0, sizeof *out);
    if (plan_arena_elem(pool, net, align, 1, lower_q_fuse_pool, false, &out->plan) != 0)
        diag_internal("no int8 memory plan for a checked network");
    const float *(*data)[4] = pool_alloc(pool, (size_t)net->nlayers * sizeof *data);
    if (lower_bind_weights(pool, net, wf, random_seed, data) != 0)
        return -1;
    if (build_steps(pool, net, data, out) != 0)
        return -1;
    /* Steps in place must be in place in the plan too (as in lower.c). */
    for (int i = 0; i < out->nsteps; i++) {
        const QStep *s = &out->steps[i];
        for (int k = s->first + 1; k <= s->last; k++)
            if (!out->plan.layers[k].in_place && !out->plan.layers[k].alias &&
                out->plan.layers[s->first].fused_into < 0)
                diag_internal("layer %d '%s' runs inside '%s', but the plan does not put it "
                              "in place", k, net->layers[k].name, net->layers[s->first].name);
    }
    if (calibrate_ranges(pool, net, out, cs, clip) != 0)
        return -1;
    out->clip = clip->kind == CLIP_MINMAX
                    ? "minmax" : pool_printf(pool, "percentile:%g", clip->percentile);
    return quantize(pool, net, out);
}

/* ---- the table ---- */

static const char *const qs_names[] = {
    "conv", "linear", "maxpool", "minpool", "avgpool", "global_maxpool", "global_avgpool",
    "lut", "softmax", "pad", "add", "concat", "mul", "copy",
};

static const char *const act_names[] = { "none", "relu", "relu6", "leaky_relu", "sigmoid", "tanh" };

static const char *tensor_name(const Network *net, int t)
{
    return t == 0 ? "input" : net->layers[t - 1].name;
}

void lower_q_table(FILE *fp, const Network *net, const QNet *q, TableFormat fmt)
{
    char b[4][32];
    long long code = budget_code_estimate_q(q);
    /* A layer folded or fused into a conv leaves no tensor of its own. */
    bool *held = calloc((size_t)q->ntensors, sizeof *held);
    if (!held)
        diag_internal("out of memory");
    held[0] = true;
    for (int i = 0; i < q->nsteps; i++)
        held[q->steps[i].out] = true;
    for (int t = 1; t < q->ntensors; t++)
        held[t] = held[q->canon[t]];
    if (fmt == TF_JSON) {
        fprintf(fp, ",\n  \"int8\": {\"calibration_inputs\": %lld, \"clip\": \"%s\", "
                "\"weight_bytes\": %lld, \"arena_bytes\": %lld, \"flash_bytes\": %lld,\n"
                "    \"code_bytes_estimate\": %lld, \"stack_bytes_estimate\": %lld, "
                "\"ram_bytes\": %lld,\n"
                "    \"input\": {\"scale\": %.9g, \"zero_point\": %d}, \"output_tensor\": "
                "\"%s\",\n    \"tensors\": [\n",
                q->samples, q->clip, q->weight_bytes, q->plan.arena_bytes,
                q->weight_bytes + code, code, budget_stack_estimate_q(q),
                q->plan.arena_bytes + budget_stack_estimate_q(q),
                (double)q->qp[0].scale, (int)q->qp[0].zero_point,
                tensor_name(net, q->canon[net->nlayers]));
        for (int i = 0; i < net->nlayers; i++) {
            const QParams *p = &q->qp[i + 1];
            if (!held[i + 1]) {
                int f = q->plan.layers[i].fused_into;
                if (f >= 0)
                    fprintf(fp, "      {\"name\": \"%s\", \"fused\": true, \"fused_into\": "
                            "\"%s\"}%s\n", net->layers[i].name, net->layers[f].name,
                            i + 1 < net->nlayers ? "," : "");
                else
                    fprintf(fp, "      {\"name\": \"%s\", \"fused\": true}%s\n",
                            net->layers[i].name, i + 1 < net->nlayers ? "," : "");
                continue;
            }
            fprintf(fp, "      {\"name\": \"%s\", \"scale\": %.9g, \"zero_point\": %d, "
                    "\"lo\": %.9g, \"hi\": %.9g}%s\n", net->layers[i].name, (double)p->scale,
                    (int)p->zero_point, (double)q->lo[q->canon[i + 1]],
                    (double)q->hi[q->canon[i + 1]], i + 1 < net->nlayers ? "," : "");
        }
        fputs("    ],\n    \"steps\": [\n", fp);
        for (int i = 0; i < q->nsteps; i++) {
            const QStep *s = &q->steps[i];
            fprintf(fp, "      {\"kind\": \"%s\", \"first\": \"%s\", \"last\": \"%s\", "
                    "\"inputs\": [", qs_names[s->kind], net->layers[s->first].name,
                    net->layers[s->last].name);
            for (int k = 0; k < s->nins; k++)
                fprintf(fp, "%s\"%s\"", k ? ", " : "", tensor_name(net, s->ins[k]));
            fprintf(fp, "], \"output\": \"%s\", \"in_place_concat\": %s, \"act\": \"%s\", "
                    "\"slope\": %.17g, \"act_min\": %d, \"act_max\": %d,\n        "
                    "\"in\": [%lld, %lld, %lld], \"out\": [%lld, %lld, %lld], "
                    "\"kernel\": [%lld, %lld], \"stride\": [%lld, %lld], "
                    "\"dilation\": [%lld, %lld], \"pad\": [%lld, %lld, %lld, %lld], "
                    "\"groups\": %lld, \"pad_mode\": \"%s\", \"in_hwc\": %s, "
                    "\"count_include_pad\": %s, \"count\": %lld, \"gate_spatial\": %lld",
                    tensor_name(net, s->out),
                    s->kind == QS_CONCAT && q->plan.layers[s->first].alias ? "true" : "false",
                    act_names[s->act], s->slope, (int)s->act_min, (int)s->act_max,
                    s->in_c, s->in_h, s->in_w, s->out_c, s->out_h, s->out_w, s->kh, s->kw,
                    s->sh, s->sw, s->dh, s->dw, s->pad_top, s->pad_bottom, s->pad_left,
                    s->pad_right, s->groups, pad_mode_name(s->pad_mode),
                    s->in_hwc ? "true" : "false", s->count_include_pad ? "true" : "false",
                    s->count, s->gate_spatial);
            if (s->qw) {
                fputs(", \"weight_scales\": [", fp);
                for (long long o = 0; o < s->out_c; o++)
                    fprintf(fp, "%s%.9g", o ? ", " : "", (double)s->wscale[o]);
                fputs("], \"weights\": [", fp);
                for (long long k = 0; k < s->nw; k++)
                    fprintf(fp, "%s%d", k ? "," : "", s->qw[k]);
                fputs("], \"biases\": [", fp);
                for (long long o = 0; o < s->out_c; o++)
                    fprintf(fp, "%s%ld", o ? "," : "", (long)s->qb[o]);
                fputc(']', fp);
            }
            if (s->mult) {
                /* the requantization's fixed-point multipliers and shifts:
                 * conv, linear per channel; add per input then the sum's;
                 * concat per input; mul one */
                long long nm = s->kind == QS_CONV || s->kind == QS_LINEAR ? s->out_c
                               : s->kind == QS_ADD ? s->nins + 1
                               : s->kind == QS_CONCAT ? s->nins : 1;
                fputs(",\n        \"multipliers\": [", fp);
                for (long long k = 0; k < nm; k++)
                    fprintf(fp, "%s%ld", k ? "," : "", (long)s->mult[k]);
                fputs("], \"shifts\": [", fp);
                for (long long k = 0; k < nm; k++)
                    fprintf(fp, "%s%d", k ? "," : "", (int)s->shift[k]);
                fputc(']', fp);
                if (s->kind == QS_ADD)
                    fprintf(fp, ", \"left_shift\": %d", s->left_shift);
            }
            if (s->kind == QS_LUT && s->w) {
                fputs(", \"affine_scale\": [", fp);
                for (int k = 0; k < s->nluts; k++)
                    fprintf(fp, "%s%.9g", k ? ", " : "", (double)s->w[k]);
                fputs("], \"affine_shift\": [", fp);
                for (int k = 0; k < s->nluts; k++)
                    fprintf(fp, "%s%.9g", k ? ", " : "", (double)s->b[k]);
                fputc(']', fp);
            }
            if (s->kind == QS_PAD)
                fprintf(fp, ", \"pad_value\": %d", s->pad_q);
            if (s->pooled)
                fprintf(fp, ",\n        \"pool\": {\"kind\": \"%s\", \"kernel\": [%lld, %lld], "
                        "\"stride\": [%lld, %lld], \"out\": [%lld, %lld, %lld]}",
                        qs_names[s->pool_kind], s->pool_kh, s->pool_kw, s->pool_sh, s->pool_sw,
                        s->out_c, s->pool_out_h, s->pool_out_w);
            fprintf(fp, "}%s\n", i + 1 < q->nsteps ? "," : "");
        }
        fputs("    ]}", fp);
        free(held);
        return;
    }
    bool md = fmt == TF_MARKDOWN;
    const char *item = md ? "- " : "";
    fprintf(fp, "\n%sint8 (%lld calibration input%s, ranges by %s):\n\n", md ? "### " : "",
            q->samples, q->samples == 1 ? "" : "s", q->clip);
    if (md)
        fputs("| # | name | scale | zero point | range |\n|--:|:---|---:|---:|:---|\n", fp);
    else
        fprintf(fp, "%3s  %-24s %14s %5s  %s\n", "#", "name", "scale", "zp", "range");
    for (int t = 0; t <= net->nlayers; t++) {
        const char *name = t == 0 ? "input" : net->layers[t - 1].name;
        int c = q->canon[t];
        char idx[16];
        snprintf(idx, sizeof idx, "%d", t - 1);
        if (!held[t]) {
            int f = q->plan.layers[t - 1].fused_into;
            const char *why = f >= 0
                ? pool_printf(q->pool, "not stored: conv and pool fused into the step of '%s' "
                              "(int32 sums pooled, requantized once)", net->layers[f].name)
                : "no tensor of its own: runs inside the step with the next layer";
            if (md)
                fprintf(fp, "| %s | %s | | | %s |\n", idx, name, why);
            else
                fprintf(fp, "%3s  %-24s %14s %5s  %s\n", idx, name, "", "", why);
            continue;
        }
        if (md)
            fprintf(fp, "| %s | %s | %.9g | %d | [%.6g, %.6g] |\n", t ? idx : "", name,
                    (double)q->qp[t].scale, (int)q->qp[t].zero_point, (double)q->lo[c],
                    (double)q->hi[c]);
        else
            fprintf(fp, "%3s  %-24s %14.9g %5d  [%.6g, %.6g]\n", t ? idx : "", name,
                    (double)q->qp[t].scale, (int)q->qp[t].zero_point, (double)q->lo[c],
                    (double)q->hi[c]);
    }
    fputc('\n', fp);
    fprintf(fp, "%sint8 flash:   %s bytes: weights %s (int8, int32 biases, multipliers, "
            "tables) + code about %s\n", item,
            count_grouped(q->weight_bytes + code, b[0], sizeof b[0]),
            count_grouped(q->weight_bytes, b[1], sizeof b[1]), count_grouped(code, b[2], sizeof b[2]));
    fprintf(fp, "%sint8 RAM:     %s bytes: arena %s + stack about %s\n", item,
            count_grouped(q->plan.arena_bytes + budget_stack_estimate_q(q), b[0], sizeof b[0]),
            count_grouped(q->plan.arena_bytes, b[1], sizeof b[1]),
            count_grouped(budget_stack_estimate_q(q), b[3], sizeof b[3]));
    free(held);
}
