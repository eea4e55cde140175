/*
 * calibrate.c - activation ranges for int8: the float network run in process
 * over the calibration inputs.
 *
 * The int8 lowering (lower_q.c) hands over its steps with float32 weights
 * (batchnorm folded, PyTorch's layout).  Each step is run here with the
 * runtime's reference kernels (cnn_conv2d_ref_f32, cnn_linear_ref_f32, the
 * pools, pad, softmax, activations and merges of runtime/, linked into cnnc),
 * every tensor in a buffer of its own, so a value is recorded exactly as the
 * int8 code will materialise it: after a fused relu or relu6, before nothing
 * else.  The network's input range is that of the calibration data.
 *
 *   minmax          a running min and max per tensor
 *   percentile:P    the tensor's values over all inputs are kept (every k-th
 *                   one above CALIB_KEEP values) and clipped by quant_range
 */
#include "cnnc.h"
#include "cnn.h"
#include "lower_q.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Values kept per tensor for a percentile. */
#define CALIB_KEEP (1LL << 20)

typedef struct Kept {
    float *v;
    long long n, cap;
    long long every;        /* keep one value in this many */
    long long seen;
} Kept;

static CnnActFn act_fn(ActKind a)
{
    switch (a) {
    case ACT_RELU:
        return cnn_relu_f32;
    case ACT_RELU6:
        return cnn_relu6_f32;
    case ACT_LEAKY_RELU:
        return cnn_leaky_relu_f32;
    case ACT_SIGMOID:
        return cnn_sigmoid_f32;
    case ACT_TANH:
        return cnn_tanh_f32;
    default:
        return NULL;
    }
}

static CnnPool2dParams pool_params(const QStep *s)
{
    CnnPool2dParams p = {
        .channels = (int32_t)s->in_c, .in_h = (int32_t)s->in_h, .in_w = (int32_t)s->in_w,
        .out_h = (int32_t)s->out_h, .out_w = (int32_t)s->out_w,
        .kernel_h = (int32_t)s->kh, .kernel_w = (int32_t)s->kw,
        .stride_h = (int32_t)s->sh, .stride_w = (int32_t)s->sw,
        .dilation_h = (int32_t)s->dh, .dilation_w = (int32_t)s->dw,
        .pad_top = (int32_t)s->pad_top, .pad_bottom = (int32_t)s->pad_bottom,
        .pad_left = (int32_t)s->pad_left, .pad_right = (int32_t)s->pad_right,
        .count_include_pad = s->count_include_pad,
    };
    return p;
}

/* One step in float32: the tensors it reads are in v[ins[k]], it writes v[out]. */
static void run_step(const QStep *s, float **v)
{
    const float *in = v[s->ins[0]];
    float *out = v[s->out];
    switch (s->kind) {
    case QS_CONV: {
        CnnConv2dParams p = qstep_conv_params(s);
        p.act = (CnnAct){ act_fn(s->act), (float)s->slope, CNN_ACT_CALL };
        cnn_conv2d_ref_f32(&p, in, s->w, s->b, out);
        break;
    }
    case QS_LINEAR: {
        CnnLinearParams p = {
            .in_features = (int32_t)s->in_c, .out_features = (int32_t)s->out_c,
            .act = { act_fn(s->act), (float)s->slope, CNN_ACT_CALL },
        };
        cnn_linear_ref_f32(&p, in, s->w, s->b, out);
        break;
    }
    case QS_MAXPOOL:
    case QS_MINPOOL:
    case QS_AVGPOOL: {
        CnnPool2dParams p = pool_params(s);
        if (s->kind == QS_MAXPOOL)
            cnn_maxpool2d_f32(&p, in, out);
        else if (s->kind == QS_MINPOOL)
            cnn_minpool2d_f32(&p, in, out);
        else
            cnn_avgpool2d_f32(&p, in, out);
        break;
    }
    case QS_GLOBAL_MAXPOOL:
        cnn_global_maxpool_f32(in, out, (int32_t)s->in_c, (int32_t)s->count);
        break;
    case QS_GLOBAL_AVGPOOL:
        cnn_global_avgpool_f32(in, out, (int32_t)s->in_c, (int32_t)s->count);
        break;
    case QS_LUT:
        if (s->w)
            cnn_affine_f32(in, out, s->w, s->b, s->nluts, (int32_t)s->count);
        else
            act_fn(s->act)(in, out, (int32_t)s->count, (float)s->slope);
        break;
    case QS_SOFTMAX:
        cnn_softmax_f32(in, out, (int32_t)s->in_c, (int32_t)s->count);
        break;
    case QS_PAD: {
        CnnPadParams p = {
            .channels = (int32_t)s->in_c, .in_h = (int32_t)s->in_h, .in_w = (int32_t)s->in_w,
            .pad_top = (int32_t)s->pad_top, .pad_bottom = (int32_t)s->pad_bottom,
            .pad_left = (int32_t)s->pad_left, .pad_right = (int32_t)s->pad_right,
            .mode = qstep_pad_mode(s->pad_mode), .value = (float)s->pad_value,
        };
        cnn_pad2d_f32(&p, in, out);
        break;
    }
    case QS_ADD: {
        const float *ins[CNNC_MAX_INPUTS];
        for (int k = 0; k < s->nins; k++)
            ins[k] = v[s->ins[k]];
        cnn_add_f32(ins, s->nins, out, (int32_t)s->count);
        break;
    }
    case QS_CONCAT: {
        const float *ins[CNNC_MAX_INPUTS];
        int32_t sizes[CNNC_MAX_INPUTS];
        for (int k = 0; k < s->nins; k++) {
            ins[k] = v[s->ins[k]];
            sizes[k] = (int32_t)s->in_sizes[k];
        }
        cnn_concat_f32(ins, sizes, s->nins, out);
        break;
    }
    case QS_MUL:
        cnn_mul_f32(in, v[s->ins[1]], out, (int32_t)s->out_c, (int32_t)s->count,
                    (int32_t)s->gate_spatial);
        break;
    case QS_COPY:
        memcpy(out, in, (size_t)s->count * sizeof *out);
        break;
    }
}

static void record(QNet *q, Kept *kept, int t, const float *v, long long n, bool percentile)
{
    float lo = q->lo[t], hi = q->hi[t];
    if (!q->has_range[t])
        lo = hi = v[0];
    for (long long i = 0; i < n; i++) {
        if (v[i] < lo)
            lo = v[i];
        if (v[i] > hi)
            hi = v[i];
    }
    q->lo[t] = lo, q->hi[t] = hi;
    q->has_range[t] = true;
    if (!percentile)
        return;
    Kept *k = &kept[t];
    for (long long i = 0; i < n; i++, k->seen++)
        if (k->seen % k->every == 0 && k->n < k->cap)
            k->v[k->n++] = v[i];
}

static long long tensor_elems(const Network *net, int t)
{
    return shape_elems(t == 0 ? &net->input : &net->layers[t - 1].out_shape);
}

int calibrate_ranges(Pool *pool, const Network *net, QNet *q, const CalibSet *cs,
                     const ClipMethod *clip)
{
    int nt = q->ntensors;
    float **v = pool_alloc(pool, (size_t)nt * sizeof *v);
    q->lo = pool_alloc(pool, (size_t)nt * sizeof *q->lo);
    q->hi = pool_alloc(pool, (size_t)nt * sizeof *q->hi);
    q->has_range = pool_alloc(pool, (size_t)nt * sizeof *q->has_range);
    bool percentile = clip->kind == CLIP_PERCENTILE && clip->percentile < 100.0;
    Kept *kept = pool_alloc(pool, (size_t)nt * sizeof *kept);

    bool *written = pool_alloc(pool, (size_t)nt * sizeof *written);
    written[0] = true;
    for (int i = 0; i < q->nsteps; i++)
        written[q->steps[i].out] = true;
    for (int t = 0; t < nt; t++) {
        if (!written[t])
            continue;
        long long n = tensor_elems(net, t);
        if (t > 0)
            v[t] = pool_alloc(pool, (size_t)n * sizeof **v);
        if (percentile) {
            long long total = count_mul(n, cs->n);
            kept[t].every = total > CALIB_KEEP ? (total + CALIB_KEEP - 1) / CALIB_KEEP : 1;
            kept[t].cap = (total + kept[t].every - 1) / kept[t].every;
            kept[t].v = pool_alloc(pool, (size_t)kept[t].cap * sizeof(float));
        }
    }

    for (long long k = 0; k < cs->n; k++) {
        v[0] = cs->data + k * cs->size;
        record(q, kept, 0, v[0], cs->size, percentile);
        for (int i = 0; i < q->nsteps; i++) {
            const QStep *s = &q->steps[i];
            run_step(s, v);
            const float *o = v[s->out];
            long long n = tensor_elems(net, s->out);
            for (long long e = 0; e < n; e++)
                if (!isfinite(o[e])) {
                    const Layer *l = &net->layers[s->last];
                    diag_error(l->loc, "--int8: calibration input %lld makes %s '%s' produce "
                               "%s; the float network overflows on it", k, l->op, l->name,
                               isnan(o[e]) ? "NaN" : "an infinity");
                    return -1;
                }
            record(q, kept, s->out, o, n, percentile);
        }
    }
    if (percentile) {
        for (int t = 0; t < nt; t++) {
            if (!written[t] || kept[t].n == 0)
                continue;
            float *scratch = malloc((size_t)kept[t].n * sizeof *scratch);
            if (!scratch)
                diag_internal("out of memory");
            quant_range(kept[t].v, kept[t].n, clip, scratch, &q->lo[t], &q->hi[t]);
            free(scratch);
        }
    }
    q->samples = cs->n;
    return 0;
}
