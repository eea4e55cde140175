/*
 * test_conv_pool_twin.c - cnn_conv2d_pool_f32 (conv + activation + pool in
 * one pass) against its reference twin: cnn_conv2d_ref_f32 into a buffer,
 * then cnn_maxpool2d_f32 / cnn_minpool2d_f32 / cnn_avgpool2d_f32.  Random
 * cases with odd sizes that leave partial tiles and blocks: groups, strides,
 * dilations, the four padding modes, the channels-last input, every
 * activation, 1-D (H = 1) and 2-D, and pools of every kind with any
 * kernel, stride (overlapping windows and gaps between them), padding,
 * dilation, ceil_mode and count_include_pad.
 *
 * Both form every conv sum and every window's reduction in the same order,
 * so without fused multiply-adds they must agree bit for bit; with them
 * (CNN_CONV_FMA, -mfma builds) within 1e-5 relative.  The output buffer is
 * NaN-filled and one float longer than needed, so a missed or a stray write
 * fails.
 *
 * Then COUNT/2 depthwise convs run in place by cnn_dwconv_inplace_f32 (the
 * output over the input, one scratch plane), against the reference into a
 * buffer of its own.
 *
 *   test_conv_pool_twin [SEED [COUNT]]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "cnn_pack.h"
#include "cnn_shape.h"

#if defined(CNN_CONV_FMA) || defined(__FMA__)
#define TOL 1e-5
#else
#define TOL 0.0
#endif

static unsigned long long rng_state;

static unsigned rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng_state >> 33);
}

static int pick(int lo, int hi)     /* uniform in [lo, hi] */
{
    return lo + (int)(rnd() % (unsigned)(hi - lo + 1));
}

static float value(void)
{
    return (float)((int)(rnd() % 2001) - 1000) / 256.0f;
}

static float *fill(size_t n)
{
    float *a = malloc(n * sizeof *a);
    size_t i;
    if (!a) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i < n; i++)
        a[i] = value();
    return a;
}

static float *nan_buf(size_t n)
{
    float *a = malloc((n + 1) * sizeof *a);
    size_t i;
    if (!a) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i <= n; i++)
        a[i] = NAN;
    return a;
}

static const char *const kind_names[] = { "max", "min", "avg" };

static void describe(const CnnConvPoolParams *cp)
{
    const CnnConv2dParams *p = &cp->conv;
    const CnnPool2dParams *q = &cp->pool;
    fprintf(stderr,
            "  conv in %dx%dx%d%s out %dx%dx%d k %dx%d s %dx%d d %dx%d pad %d,%d,%d,%d "
            "groups %d mode %d act %d\n",
            (int)p->in_c, (int)p->in_h, (int)p->in_w, p->in_hwc ? " (hwc)" : "", (int)p->out_c,
            (int)p->out_h, (int)p->out_w, (int)p->kernel_h, (int)p->kernel_w, (int)p->stride_h,
            (int)p->stride_w, (int)p->dilation_h, (int)p->dilation_w, (int)p->pad_top,
            (int)p->pad_bottom, (int)p->pad_left, (int)p->pad_right, (int)p->groups,
            (int)p->pad_mode, p->act.fn != NULL);
    fprintf(stderr,
            "  %spool out %dx%d k %dx%d s %dx%d d %dx%d pad %d,%d,%d,%d include_pad %d\n",
            kind_names[cp->kind], (int)q->out_h, (int)q->out_w, (int)q->kernel_h,
            (int)q->kernel_w, (int)q->stride_h, (int)q->stride_w, (int)q->dilation_h,
            (int)q->dilation_w, (int)q->pad_top, (int)q->pad_bottom, (int)q->pad_left,
            (int)q->pad_right, (int)q->count_include_pad);
}

static int compare(int index, const float *fast, const float *ref, size_t n)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < n && bad < 3; i++) {
        double r = ref[i], f = fast[i];
        double lim = TOL * (fabs(r) > 1.0 ? fabs(r) : 1.0);
        int same = r == f || (r != r && f != f);
        if (!same && !(fabs(r - f) <= lim)) {
            if (!bad)
                fprintf(stderr, "case %d: cnn_conv2d_pool_f32 differs from conv + pool\n", index);
            fprintf(stderr, "  [%lu] fused %.9g, reference %.9g\n", (unsigned long)i, f, r);
            bad++;
        }
    }
    if (!isnan(fast[n])) {
        fprintf(stderr, "case %d: cnn_conv2d_pool_f32 wrote past its output\n", index);
        bad++;
    }
    return bad ? 1 : 0;
}

/* One pooling axis: kernel, stride, dilation, padding (at most half the
 * kernel, PyTorch's rule) and ceil_mode; 0 when the window does not fit. */
static int pool_axis(int32_t in, int avg, int32_t *k, int32_t *s, int32_t *d, int32_t *lo,
                     int32_t *hi, int ceil_mode, int32_t *out)
{
    *k = pick(1, 4);
    *s = pick(0, 2) ? *k : pick(1, 4);      /* mostly k = s; else overlaps or gaps */
    *d = avg || pick(0, 3) ? 1 : 2;
    *lo = pick(0, 2) ? 0 : pick(0, *k / 2);
    *hi = *lo;                              /* PyTorch pads a pool symmetrically */
    *out = (int32_t)cnn_out_size(in, *k, *s, *lo, *hi, *d, ceil_mode);
    return *out >= 1;
}

static int one_case(int index)
{
    CnnConvPoolParams cp;
    CnnConv2dParams *p = &cp.conv;
    CnnPool2dParams *q = &cp.pool;
    int groups = pick(1, 4) == 1 ? pick(1, 4) : 1;
    int icg = pick(1, 5), ocg = pick(1, 21);
    int one_d = pick(0, 3) == 0;
    int ceil_mode = pick(0, 2) == 0;
    size_t n_in, n_w, n_conv, n_out;
    float *in, *w, *packed, *bias, *conv, *fast, *ref;
    int bad = 0;

    memset(&cp, 0, sizeof cp);
    p->groups = groups;
    p->in_c = groups * icg;
    p->out_c = groups * ocg;
    p->in_h = one_d ? 1 : pick(1, 11);
    p->in_w = pick(1, 25);
    p->kernel_h = one_d ? 1 : pick(1, 5);
    p->kernel_w = pick(1, 5);
    if (pick(0, 30) == 0) {     /* wider than the kernels list their taps */
        p->kernel_w = 33;
        p->in_w = pick(30, 40);
    }
    p->stride_h = one_d ? 1 : pick(1, 2);
    p->stride_w = pick(0, 2) ? 1 : pick(2, 3);
    p->dilation_h = one_d ? 1 : pick(0, 3) ? 1 : 2;
    p->dilation_w = pick(0, 3) ? 1 : pick(2, 3);
    p->pad_mode = (CnnPadMode)pick(0, 3);
    p->pad_top = one_d ? 0 : pick(0, p->kernel_h);
    p->pad_bottom = one_d ? 0 : pick(0, p->kernel_h);
    p->pad_left = pick(0, p->kernel_w);
    p->pad_right = pick(0, p->kernel_w);
    if (p->pad_mode != CNN_PAD_ZEROS) {
        int lim_h = p->pad_mode == CNN_PAD_REFLECT ? p->in_h - 1 : p->in_h;
        int lim_w = p->pad_mode == CNN_PAD_REFLECT ? p->in_w - 1 : p->in_w;
        p->pad_top = p->pad_top > lim_h ? lim_h : p->pad_top;
        p->pad_bottom = p->pad_bottom > lim_h ? lim_h : p->pad_bottom;
        p->pad_left = p->pad_left > lim_w ? lim_w : p->pad_left;
        p->pad_right = p->pad_right > lim_w ? lim_w : p->pad_right;
    }
    p->in_hwc = groups == 1 && pick(0, 4) == 0;
    {
        static const CnnActFn fns[] = { NULL, cnn_relu_f32, cnn_relu6_f32, cnn_leaky_relu_f32,
                                        cnn_sigmoid_f32, cnn_tanh_f32 };
        static const CnnActKind kinds[] = { CNN_ACT_CALL, CNN_ACT_RELU, CNN_ACT_RELU6,
                                            CNN_ACT_LEAKY_RELU, CNN_ACT_CALL, CNN_ACT_CALL };
        const int a = pick(0, 5);
        p->act.fn = fns[a];
        /* Mostly the kind cnnc gives (in registers), sometimes only the call. */
        p->act.kind = pick(0, 3) ? kinds[a] : CNN_ACT_CALL;
    }
    p->act.slope = pick(0, 3) ? 0.125f : -0.5f;     /* a negative slope is not monotone */
    p->out_h = (int32_t)cnn_out_size(p->in_h, p->kernel_h, p->stride_h, p->pad_top,
                                     p->pad_bottom, p->dilation_h, 0);
    p->out_w = (int32_t)cnn_out_size(p->in_w, p->kernel_w, p->stride_w, p->pad_left,
                                     p->pad_right, p->dilation_w, 0);
    if (p->out_h < 1 || p->out_w < 1)
        return -1;                          /* kernel does not fit: draw again */

    cp.kind = (CnnPoolKind)pick(0, 2);
    q->channels = p->out_c;
    q->in_h = p->out_h;
    q->in_w = p->out_w;
    if (one_d) {
        q->kernel_h = q->stride_h = q->dilation_h = 1;
        q->out_h = 1;
    } else if (!pool_axis(q->in_h, cp.kind == CNN_POOL_AVG, &q->kernel_h, &q->stride_h,
                          &q->dilation_h, &q->pad_top, &q->pad_bottom, ceil_mode, &q->out_h)) {
        return -1;
    }
    if (!pool_axis(q->in_w, cp.kind == CNN_POOL_AVG, &q->kernel_w, &q->stride_w, &q->dilation_w,
                   &q->pad_left, &q->pad_right, ceil_mode, &q->out_w))
        return -1;
    if (pick(0, 3) == 0) {
        /* Windows that tile the conv output (LeNet's and VGG's 2x2 pools):
         * on Cortex-M these take conv.c's tiles, with partial tiles at the
         * row's end and a last partial window under ceil_mode. */
        q->kernel_w = q->stride_w = pick(1, 2);
        q->kernel_h = q->stride_h = one_d ? 1 : pick(1, 3);
        q->dilation_h = q->dilation_w = 1;
        q->pad_top = q->pad_bottom = q->pad_left = q->pad_right = 0;
        q->out_h = (int32_t)cnn_out_size(q->in_h, q->kernel_h, q->stride_h, 0, 0, 1, ceil_mode);
        q->out_w = (int32_t)cnn_out_size(q->in_w, q->kernel_w, q->stride_w, 0, 0, 1, ceil_mode);
        if (q->out_h < 1 || q->out_w < 1)
            return -1;
    }
    q->count_include_pad = pick(0, 1);

    n_in = (size_t)p->in_c * p->in_h * p->in_w;
    n_w = (size_t)p->out_c * icg * p->kernel_h * p->kernel_w;
    n_conv = (size_t)p->out_c * p->out_h * p->out_w;
    n_out = (size_t)p->out_c * q->out_h * q->out_w;
    in = fill(n_in);
    w = fill(n_w);
    bias = pick(0, 3) ? fill((size_t)p->out_c) : NULL;
    packed = nan_buf(n_w);
    conv = nan_buf(n_conv);
    fast = nan_buf(n_out);
    ref = nan_buf(n_out);

    cnn_conv2d_pack_f32(p->out_c, p->in_c, p->groups, p->kernel_h, p->kernel_w, w, packed);
    cnn_conv2d_ref_f32(p, in, w, bias, conv);
    if (cp.kind == CNN_POOL_MAX)
        cnn_maxpool2d_f32(q, conv, ref);
    else if (cp.kind == CNN_POOL_MIN)
        cnn_minpool2d_f32(q, conv, ref);
    else
        cnn_avgpool2d_f32(q, conv, ref);
    cnn_conv2d_pool_f32(&cp, in, packed, bias, fast);
    bad = compare(index, fast, ref, n_out);
    /* The fixed-width entry points where cnnc would call them. */
    if (p->stride_w == 1 && p->dilation_w == 1 && !p->in_hwc &&
        (p->kernel_w == 3 || p->kernel_w == 5)) {
        size_t i;
        for (i = 0; i <= n_out; i++)
            fast[i] = NAN;
        (p->kernel_w == 3 ? cnn_conv2d_pool_k3_f32 : cnn_conv2d_pool_k5_f32)(&cp, in, packed,
                                                                           bias, fast);
        bad += compare(index, fast, ref, n_out);
    }
    if (bad)
        describe(&cp);
    free(in);
    free(w);
    free(bias);
    free(packed);
    free(conv);
    free(fast);
    free(ref);
    return bad;
}

/* A depthwise conv run in place (cnn_dwconv_inplace_f32) against the
 * reference into a buffer of its own; the kernel per channel is
 * cnn_dwconv3x3_f32 where cnnc would choose it, else cnn_conv2d_f32. */
static int one_inplace(int index)
{
    CnnConv2dParams p;
    size_t n_in, n_out, n_w, plane, i;
    float *in, *w, *bias, *buf, *ref, *scratch;
    int dw3, bad = 0;

    memset(&p, 0, sizeof p);
    p.in_c = p.out_c = p.groups = pick(1, 13);
    p.in_h = pick(1, 11);
    p.in_w = pick(1, 25);
    p.kernel_h = pick(1, 4);
    p.kernel_w = pick(1, 4);
    p.stride_h = pick(1, 2);
    p.stride_w = pick(1, 2);
    p.dilation_h = pick(0, 3) ? 1 : 2;
    p.dilation_w = pick(0, 3) ? 1 : 2;
    p.pad_mode = (CnnPadMode)(pick(0, 2) ? 0 : pick(1, 3));
    p.pad_top = p.pad_bottom = pick(0, p.kernel_h / 2);
    p.pad_left = p.pad_right = pick(0, p.kernel_w / 2);
    if (pick(0, 2) == 0) {
        p.kernel_h = p.kernel_w = 3;
        p.dilation_h = p.dilation_w = 1;
        p.pad_mode = CNN_PAD_ZEROS;
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = pick(0, 1);
    }
    if (p.pad_mode != CNN_PAD_ZEROS && (p.pad_top >= p.in_h || p.pad_left >= p.in_w))
        return -1;
    {
        static const CnnActFn fns[] = { NULL, cnn_relu_f32, cnn_relu6_f32, cnn_leaky_relu_f32,
                                        cnn_sigmoid_f32, cnn_tanh_f32 };
        p.act.fn = fns[pick(0, 5)];
    }
    p.act.slope = 0.125f;
    p.out_h = (int32_t)cnn_out_size(p.in_h, p.kernel_h, p.stride_h, p.pad_top, p.pad_bottom,
                                    p.dilation_h, 0);
    p.out_w = (int32_t)cnn_out_size(p.in_w, p.kernel_w, p.stride_w, p.pad_left, p.pad_right,
                                    p.dilation_w, 0);
    if (p.out_h < 1 || p.out_w < 1 || p.out_h * p.out_w > p.in_h * p.in_w)
        return -1;
    plane = (size_t)p.in_h * p.in_w;
    n_in = p.in_c * plane;
    n_out = (size_t)p.out_c * p.out_h * p.out_w;
    n_w = (size_t)p.out_c * p.kernel_h * p.kernel_w;
    in = fill(n_in);
    w = fill(n_w);
    bias = pick(0, 3) ? fill((size_t)p.out_c) : NULL;
    buf = nan_buf(n_in);
    ref = nan_buf(n_out);
    scratch = nan_buf(plane);
    for (i = 0; i < n_in; i++)
        buf[i] = in[i];
    dw3 = p.kernel_h == 3 && p.kernel_w == 3 && p.dilation_h == 1 && p.dilation_w == 1 &&
          p.pad_mode == CNN_PAD_ZEROS;
    cnn_conv2d_ref_f32(&p, in, w, bias, ref);
    /* One channel per group: the packed weights are PyTorch's. */
    cnn_dwconv_inplace_f32(&p, dw3 ? cnn_dwconv3x3_f32 : cnn_conv2d_f32, buf, w, bias, scratch);
    /* buf[n_out..] is input the kernel left behind; the guard is past n_in. */
    for (i = 0; i < n_out && bad < 3; i++) {
        double r = ref[i], f = buf[i];
        if (!(r == f || (r != r && f != f)) && !(fabs(r - f) <= TOL * (fabs(r) > 1 ? fabs(r) : 1))) {
            if (!bad)
                fprintf(stderr, "in-place case %d: cnn_dwconv_inplace_f32 differs\n", index);
            fprintf(stderr, "  [%lu] in place %.9g, reference %.9g\n", (unsigned long)i, f, r);
            bad++;
        }
    }
    if (!isnan(buf[n_in]) || !isnan(scratch[plane])) {
        fprintf(stderr, "in-place case %d: wrote past its buffer or scratch\n", index);
        bad++;
    }
    if (bad)
        fprintf(stderr, "  C %d in %dx%d k %dx%d s %dx%d d %dx%d pad %d,%d mode %d\n",
                (int)p.in_c, (int)p.in_h, (int)p.in_w, (int)p.kernel_h, (int)p.kernel_w,
                (int)p.stride_h, (int)p.stride_w, (int)p.dilation_h, (int)p.dilation_w,
                (int)p.pad_top, (int)p.pad_left, (int)p.pad_mode);
    free(in);
    free(w);
    free(bias);
    free(buf);
    free(ref);
    free(scratch);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    unsigned long long seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 14;
    int count = argc > 2 ? atoi(argv[2]) : 3000;
    int done = 0, failed = 0, tries = 0;

    rng_state = seed;
    while (done < count && tries < count * 20) {
        int r = one_case(done);
        tries++;
        if (r < 0)
            continue;
        done++;
        failed += r;
    }
    printf("conv + pool twin: %d cases (seed %llu), %d failed\n", done, seed, failed);
    {
        int idone = 0, ifailed = 0;
        tries = 0;
        while (idone < count / 2 && tries < count * 20) {
            int r = one_inplace(idone);
            tries++;
            if (r < 0)
                continue;
            idone++;
            ifailed += r;
        }
        printf("depthwise in place: %d cases, %d failed\n", idone, ifailed);
        failed += ifailed;
        done = idone < count / 2 ? 0 : done;
    }
    return failed || done < count ? 1 : 0;
}
