/*
 * test_conv_x86.c - the x86 SIMD conv (runtime/conv_x86.c) and linear
 * (runtime/linear.c) against their portable twins, bit for bit.
 *
 * Built twice by tests/runtime/CMakeLists.txt, with -mavx512f -mfma and
 * with -mavx2 -mfma, against a runtime built with the same flags.  conv.c is
 * compiled twice into the test: once as the runtime has it (it hands the
 * convs it can to cnn_conv2d_x86_f32), once with -DCNN_CONV_X86=0 and its
 * entry points renamed twin_conv2d_* (the portable tiles, with the same
 * fused multiply-adds).  On random convs whose sizes leave partial tiles
 * and partial vectors (maps of 1 to 40 columns, 1 to 40 output channels per
 * group, so 1 to 3 vectors and 1 to 3 blocks per tile), strides 1 to 3,
 * dilations, groups, depthwise (2 to 20 groups of one channel), the four
 * padding modes, channels-last input, every activation and the
 * 1x1-as-one-row form, the two must give the same bits, and
 * cnn_conv2d_x86_f32 (and _rows_, into a buffer of its own) on a random
 * range of rows must write those rows and nothing else; and
 * cnn_conv2d_pool_f32 with a random max, min or average pool (padding,
 * dilation, ceil_mode, count_include_pad; rows long enough that it takes
 * the channels in parts) must give the twin's conv pooled by the pool
 * kernels.  It also counts the convs the SIMD path took, so a path
 * that declines everything fails.  Output buffers are NaN-filled with a
 * guard element.  cnn_linear_f32 (built with the same flags, so with its x86
 * pass) is held to cnn_linear_ref_f32 bit for bit on random sizes too.
 *
 * Exits 77 (CTest's skip) with a message when the CPU lacks the
 * instructions the binary was built for.
 *
 *   test_conv_x86 [SEED [COUNT]]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "cnn_pack.h"
#include "cnn_shape.h"
#include "conv_x86.h"

#if !CNN_CONV_X86
#error "build with -mavx512f -mfma or -mavx2 -mfma"
#endif
#if defined(__AVX512F__)
#define ISA "avx512f"
#define LANES 16
#else
#define ISA "avx2"
#define LANES 8
#endif

typedef void ConvFn(const CnnConv2dParams *, const float *, const float *, const float *,
                    float *);
ConvFn twin_conv2d_f32, twin_conv2d_k1_f32, twin_conv2d_k3_f32, twin_conv2d_k5_f32;

static unsigned long long rng_state;

static unsigned rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned)(rng_state >> 33);
}

static int pick(int lo, int hi) /* uniform in [lo, hi] */
{
    return lo + (int)(rnd() % (unsigned)(hi - lo + 1));
}

static float value(void)
{
    return (float)((int)(rnd() % 2001) - 1000) / 256.0f + (float)(rnd() % 1000) * 1e-6f;
}

static float *alloc(size_t n)
{
    float *a = malloc((n + 1) * sizeof *a);
    if (!a) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return a;
}

static float *fill(size_t n)
{
    float *a = alloc(n);
    size_t i;
    for (i = 0; i < n; i++)
        a[i] = value();
    return a;
}

static void nan_fill(float *a, size_t n)
{
    size_t i;
    for (i = 0; i <= n; i++)
        a[i] = NAN;
}

static unsigned bits_of(float f)
{
    unsigned u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void describe(const CnnConv2dParams *p)
{
    fprintf(stderr,
            "  in %dx%dx%d%s out %dx%dx%d k %dx%d s %dx%d d %dx%d pad %d,%d,%d,%d "
            "groups %d mode %d act %d\n",
            (int)p->in_c, (int)p->in_h, (int)p->in_w, p->in_hwc ? " (hwc)" : "", (int)p->out_c,
            (int)p->out_h, (int)p->out_w, (int)p->kernel_h, (int)p->kernel_w, (int)p->stride_h,
            (int)p->stride_w, (int)p->dilation_h, (int)p->dilation_w, (int)p->pad_top,
            (int)p->pad_bottom, (int)p->pad_left, (int)p->pad_right, (int)p->groups,
            (int)p->pad_mode, p->act.fn != NULL);
}

/* 0 when fast[lo, hi) has the bits of ref[lo, hi), the rest of fast[0, n)
 * (and the guard fast[n] when guard) is still NaN, and ref has no NaN
 * (every output written). */
static int compare(int index, const char *what, const float *fast, const float *ref, size_t n,
                   size_t lo, size_t hi, int guard)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < n + (guard ? 1 : 0) && bad < 3; i++) {
        const int inside = i >= lo && i < hi;
        const int ok = inside ? bits_of(fast[i]) == bits_of(ref[i]) && !isnan(ref[i])
                              : isnan(fast[i]);
        if (!ok) {
            if (!bad)
                fprintf(stderr, "case %d: %s differs from the portable twin\n", index, what);
            fprintf(stderr, "  [%lu] %s: simd %.9g (0x%08x), portable %.9g (0x%08x)\n",
                    (unsigned long)i, inside ? "output" : "outside the rows asked for",
                    fast[i], bits_of(fast[i]), i < n ? ref[i] : 0.0f,
                    i < n ? bits_of(ref[i]) : 0u);
            bad++;
        }
    }
    return bad ? 1 : 0;
}

static int taken, tried, pooled;

/* One pooling axis over n conv outputs: kernel, stride, dilation, padding
 * (at most half the kernel, PyTorch's rule), ceil_mode; 0 if it does not fit. */
static int pool_axis(int32_t n, int avg, int ceil_mode, int32_t *k, int32_t *s, int32_t *d,
                     int32_t *lo, int32_t *hi, int32_t *out)
{
    *k = pick(1, 4);
    *s = pick(0, 2) ? *k : pick(1, 4);
    *d = avg || pick(0, 3) ? 1 : 2;
    *lo = *hi = pick(0, 2) ? 0 : pick(0, *k / 2);
    *out = (int32_t)cnn_out_size(n, *k, *s, *lo, *hi, *d, ceil_mode);
    return *out >= 1;
}

/*
 * cnn_conv2d_pool_f32 with a random pool over the conv p (whose portable
 * output, ref, the twin computed) against that output pooled by the pool
 * kernels: bit for bit.
 */
static int pool_case(int index, const CnnConv2dParams *p, const float *in, const float *packed,
                     const float *bias, const float *ref)
{
    CnnConvPoolParams cp;
    CnnPool2dParams *q = &cp.pool;
    const int ceil_mode = pick(0, 2) == 0;
    float *fast, *want;
    size_t n_out;
    int bad;

    memset(&cp, 0, sizeof cp);
    cp.conv = *p;
    cp.kind = (CnnPoolKind)pick(0, 2);
    q->channels = p->out_c;
    q->in_h = p->out_h;
    q->in_w = p->out_w;
    if (!pool_axis(q->in_h, cp.kind == CNN_POOL_AVG, ceil_mode, &q->kernel_h, &q->stride_h,
                   &q->dilation_h, &q->pad_top, &q->pad_bottom, &q->out_h) ||
        !pool_axis(q->in_w, cp.kind == CNN_POOL_AVG, ceil_mode, &q->kernel_w, &q->stride_w,
                   &q->dilation_w, &q->pad_left, &q->pad_right, &q->out_w))
        return 0;
    q->count_include_pad = pick(0, 1);
    n_out = (size_t)q->channels * q->out_h * q->out_w;
    fast = alloc(n_out);
    want = alloc(n_out);
    nan_fill(fast, n_out);
    nan_fill(want, n_out);
    (cp.kind == CNN_POOL_MAX   ? cnn_maxpool2d_f32
     : cp.kind == CNN_POOL_MIN ? cnn_minpool2d_f32
                               : cnn_avgpool2d_f32)(q, ref, want);
    cnn_conv2d_pool_f32(&cp, in, packed, bias, fast);
    pooled++;
    bad = compare(index, "cnn_conv2d_pool_f32", fast, want, n_out, 0, n_out, 1);
    if (bad)
        fprintf(stderr, "  pool kind %d k %dx%d s %dx%d d %dx%d pad %d,%d,%d,%d -> %dx%d\n",
                (int)cp.kind, (int)q->kernel_h, (int)q->kernel_w, (int)q->stride_h,
                (int)q->stride_w, (int)q->dilation_h, (int)q->dilation_w, (int)q->pad_top,
                (int)q->pad_bottom, (int)q->pad_left, (int)q->pad_right, (int)q->out_h,
                (int)q->out_w);
    free(fast);
    free(want);
    return bad;
}

/* One random case; returns 0 when every path agrees, -1 to draw again. */
static int one_case(int index)
{
    CnnConv2dParams p;
    const int dwise = pick(0, 5) == 0;      /* depthwise: one channel per group */
    const int groups = dwise ? pick(2, 20) : pick(1, 4) == 1 ? pick(2, 4) : 1;
    const int icg = dwise ? 1 : pick(1, 6);
    const int ocg = dwise ? 1 : pick(0, 2) ? pick(1, 12) : pick(13, 40);
    const int one_by_one = pick(0, 5) == 0;
    size_t n_in, n_w, n_out, plane;
    float *in, *w, *packed, *bias, *fast, *ref;
    int bad = 0, y0, y1;

    memset(&p, 0, sizeof p);
    p.groups = groups;
    p.in_c = groups * icg;
    p.out_c = groups * ocg;
    p.in_h = pick(1, 12);
    p.in_w = pick(0, 3) ? pick(1, 20) : pick(21, 40);
    if (pick(0, 11) == 0) {     /* long rows: the fused conv+pool takes channels in parts */
        p.in_h = pick(1, 4);
        p.in_w = pick(100, 300);
    }
    if (one_by_one) {
        p.kernel_h = p.kernel_w = 1;
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
        if (pick(0, 1)) { /* cnnc's GEMM form: the plane as one row */
            p.in_w *= p.in_h;
            p.in_h = 1;
        }
    } else {
        p.kernel_h = pick(0, 30) ? pick(1, 5) : pick(15, 17);
        p.kernel_w = pick(0, 30) ? pick(1, 5) : pick(15, 17);
        p.stride_h = pick(0, 2) ? 1 : pick(2, 3);
        p.stride_w = pick(0, 2) ? 1 : pick(2, 3);
        p.dilation_h = pick(0, 3) ? 1 : 2;
        p.dilation_w = pick(0, 3) ? 1 : pick(2, 3);
        p.pad_mode = pick(0, 3) ? CNN_PAD_ZEROS : (CnnPadMode)pick(1, 3);
        p.pad_top = pick(0, p.kernel_h);
        p.pad_bottom = pick(0, p.kernel_h);
        p.pad_left = pick(0, p.kernel_w + 1);
        p.pad_right = pick(0, p.kernel_w);
        if (pick(0, 3) == 0)    /* unpadded: where short rows put channels in the lanes */
            p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 0;
        if (p.pad_mode != CNN_PAD_ZEROS) {
            int lim_h = p.pad_mode == CNN_PAD_REFLECT ? p.in_h - 1 : p.in_h;
            int lim_w = p.pad_mode == CNN_PAD_REFLECT ? p.in_w - 1 : p.in_w;
            p.pad_top = p.pad_top > lim_h ? lim_h : p.pad_top;
            p.pad_bottom = p.pad_bottom > lim_h ? lim_h : p.pad_bottom;
            p.pad_left = p.pad_left > lim_w ? lim_w : p.pad_left;
            p.pad_right = p.pad_right > lim_w ? lim_w : p.pad_right;
        }
        p.in_hwc = groups == 1 && pick(0, 9) == 0;
    }
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
    if (p.out_h < 1 || p.out_w < 1)
        return -1;

    plane = (size_t)p.out_h * p.out_w;
    n_in = (size_t)p.in_c * p.in_h * p.in_w;
    n_w = (size_t)p.out_c * icg * p.kernel_h * p.kernel_w;
    n_out = (size_t)p.out_c * plane;
    in = fill(n_in);
    w = fill(n_w);
    bias = pick(0, 3) ? fill((size_t)p.out_c) : NULL;
    packed = alloc(n_w);
    fast = alloc(n_out);
    ref = alloc(n_out);
    cnn_conv2d_pack_f32(p.out_c, p.in_c, p.groups, p.kernel_h, p.kernel_w, w, packed);

    nan_fill(ref, n_out);
    twin_conv2d_f32(&p, in, packed, bias, ref);

    /* The entry point, which dispatches into the SIMD path. */
    nan_fill(fast, n_out);
    cnn_conv2d_f32(&p, in, packed, bias, fast);
    bad += compare(index, "cnn_conv2d_f32", fast, ref, n_out, 0, n_out, 1);

    /* The fixed-width variant where cnnc would call it, against its twin. */
    if (p.stride_w == 1 && p.dilation_w == 1 && !p.in_hwc &&
        (p.kernel_w == 1 || p.kernel_w == 3 || p.kernel_w == 5)) {
        ConvFn *f = p.kernel_w == 1 ? cnn_conv2d_k1_f32
                    : p.kernel_w == 3 ? cnn_conv2d_k3_f32 : cnn_conv2d_k5_f32;
        ConvFn *tf = p.kernel_w == 1 ? twin_conv2d_k1_f32
                     : p.kernel_w == 3 ? twin_conv2d_k3_f32 : twin_conv2d_k5_f32;
        float *ref2 = alloc(n_out);
        nan_fill(ref2, n_out);
        tf(&p, in, packed, bias, ref2);
        bad += compare(index, "fixed-width twin vs general twin", ref2, ref, n_out, 0, n_out, 1);
        nan_fill(fast, n_out);
        f(&p, in, packed, bias, fast);
        bad += compare(index, "fixed-width variant", fast, ref, n_out, 0, n_out, 1);
        free(ref2);
    }

    /* A random range of rows, as a conv+pool fusion asks for them. */
    y0 = pick(0, p.out_h - 1);
    y1 = pick(y0 + 1, p.out_h);
    nan_fill(fast, n_out);
    tried++;
    if (cnn_conv2d_x86_f32(&p, in, packed, bias, fast, y0, y1)) {
        int32_t o;
        taken++;
        for (o = 0; o < p.out_c && !bad; o++)
            bad += compare(index, "cnn_conv2d_x86_f32 (rows)", fast + o * plane, ref + o * plane,
                           plane, (size_t)y0 * p.out_w, (size_t)y1 * p.out_w, 0);
        if (!bad && !isnan(fast[n_out])) {
            fprintf(stderr, "case %d: cnn_conv2d_x86_f32 wrote past its output\n", index);
            bad++;
        }
        /* The same rows into a buffer of their own, channels out_cs apart. */
        if (!bad) {
            const size_t rows = (size_t)(y1 - y0) * p.out_w, cs = rows + (size_t)pick(0, 5);
            const size_t n_rows = (size_t)p.out_c * cs;
            float *part = alloc(n_rows);
            nan_fill(part, n_rows);
            if (!cnn_conv2d_x86_rows_f32(&p, in, packed, bias, part, (int32_t)cs, y0, y1)) {
                fprintf(stderr, "case %d: cnn_conv2d_x86_rows_f32 declined\n", index);
                bad++;
            }
            for (o = 0; o < p.out_c && !bad; o++)
                bad += compare(index, "cnn_conv2d_x86_rows_f32", part + o * cs,
                               ref + o * plane + (size_t)y0 * p.out_w, cs, 0, rows, 0);
            if (!bad && !isnan(part[n_rows])) {
                fprintf(stderr, "case %d: cnn_conv2d_x86_rows_f32 wrote past its output\n",
                        index);
                bad++;
            }
            free(part);
        }
        if (bad)
            fprintf(stderr, "  rows %d .. %d\n", y0, y1);
    } else {
        size_t i;
        for (i = 0; i <= n_out; i++)
            if (!isnan(fast[i])) {
                fprintf(stderr, "case %d: cnn_conv2d_x86_f32 declined but wrote\n", index);
                bad++;
                break;
            }
    }
    if (!bad && pick(0, 1))
        bad += pool_case(index, &p, in, packed, bias, ref);
    if (bad)
        describe(&p);
    free(in);
    free(w);
    free(bias);
    free(packed);
    free(fast);
    free(ref);
    return bad ? 1 : 0;
}

/* cnn_linear_f32 (its x86 pass over up to 8 blocks) against
 * cnn_linear_ref_f32, bit for bit; returns 0 when they agree. */
static int linear_case(int index)
{
    CnnLinearParams p;
    float *w, *packed, *in, *bias, *fast, *ref;
    int32_t o, i;
    int bad;

    memset(&p, 0, sizeof p);
    p.in_features = pick(1, 300);
    p.out_features = pick(0, 1) ? pick(1, 40) : pick(41, 200);
    p.act.fn = pick(0, 1) ? cnn_relu_f32 : NULL;
    w = fill((size_t)p.in_features * p.out_features);
    packed = alloc((size_t)p.in_features * p.out_features);
    in = fill((size_t)p.in_features);
    bias = pick(0, 2) ? fill((size_t)p.out_features) : NULL;
    fast = alloc((size_t)p.out_features);
    ref = alloc((size_t)p.out_features);
    for (o = 0; o < p.out_features; o++)
        for (i = 0; i < p.in_features; i++)
            packed[cnn_linear_packed_index(p.in_features, p.out_features, o, i)] =
                w[o * p.in_features + i];
    nan_fill(fast, (size_t)p.out_features);
    nan_fill(ref, (size_t)p.out_features);
    cnn_linear_f32(&p, in, packed, bias, fast);
    cnn_linear_ref_f32(&p, in, w, bias, ref);
    bad = compare(index, "cnn_linear_f32", fast, ref, (size_t)p.out_features, 0,
                  (size_t)p.out_features, 1);
    if (bad)
        fprintf(stderr, "  linear %d -> %d\n", (int)p.in_features, (int)p.out_features);
    free(w);
    free(packed);
    free(in);
    free(bias);
    free(fast);
    free(ref);
    return bad;
}

int main(int argc, char **argv)
{
    unsigned long long seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 21;
    int count = argc > 2 ? atoi(argv[2]) : 2000;
    int done = 0, failed = 0, tries = 0;

#if defined(__GNUC__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports(ISA) || !__builtin_cpu_supports("fma")) {
        printf("conv x86 twin: SKIPPED: this CPU has no %s and fma, which this test was "
               "built for\n", ISA);
        return 77;
    }
#endif
    rng_state = seed;
    while (done < count && tries < count * 20) {
        int r = one_case(done);
        tries++;
        if (r < 0)
            continue;
        done++;
        failed += r;
    }
    printf("conv x86 twin (%s, %d lanes): %d cases (seed %llu), %d failed; the SIMD path took "
           "%d of %d; %d with a fused pool\n", ISA, LANES, done, seed, failed, taken, tried,
           pooled);
    {
        int k, lfail = 0;
        for (k = 0; k < count / 4; k++)
            lfail += linear_case(k);
        printf("linear x86 twin: %d cases, %d failed\n", count / 4, lfail);
        failed += lfail;
    }
    if (taken * 2 < tried) {
        fprintf(stderr, "the SIMD path took fewer than half of the convs\n");
        failed++;
    }
    return failed || done < count ? 1 : 0;
}
