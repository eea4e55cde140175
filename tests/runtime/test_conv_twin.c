/*
 * test_conv_twin.c - the packed, blocked cnn_conv2d_f32 against its
 * reference twin cnn_conv2d_ref_f32 (PyTorch's weight layout, one element at
 * a time), on random convs whose sizes leave partial tiles: every block
 * width (out_c/groups from 1 to 21), rows that are not a multiple of the
 * tile, borders wider than the interior, strides, dilations, groups, the four
 * padding modes, the channels-last input, every activation, and 1x1 convs run
 * as one long row (the GEMM form cnnc gives them).
 *
 * Both sum each output in the same order, so without fused multiply-adds
 * they must agree bit for bit; with them (CNN_CONV_FMA, -mfma builds) within
 * 1e-5 relative.  Output buffers are NaN-filled and one float longer than
 * needed, so a missed or a stray write fails.
 *
 *   test_conv_twin [SEED [COUNT]]
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

/* 0 when fast (n + 1 floats, the last a NaN guard) equals ref. */
static int compare(int index, const char *what, const float *fast, const float *ref, size_t n)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < n && bad < 3; i++) {
        double r = ref[i], f = fast[i];
        double lim = TOL * (fabs(r) > 1.0 ? fabs(r) : 1.0);
        int same = r == f || (r != r && f != f);
        if (!same && !(fabs(r - f) <= lim)) {
            if (!bad)
                fprintf(stderr, "case %d: %s differs from the reference twin\n", index, what);
            fprintf(stderr, "  [%lu] packed %.9g, reference %.9g\n", (unsigned long)i, f, r);
            bad++;
        }
    }
    if (!isnan(fast[n])) {
        fprintf(stderr, "case %d: %s wrote past its output\n", index, what);
        bad++;
    }
    return bad ? 1 : 0;
}

/* One random case; returns 0 when the two kernels agree. */
static int one_case(int index)
{
    CnnConv2dParams p, flat;
    int groups = pick(1, 3) == 1 ? pick(1, 4) : 1;
    int icg = pick(1, 5), ocg = pick(1, 21);
    int one_by_one = pick(0, 5) == 0;
    size_t n_in, n_w, n_out, i;
    float *in, *w, *packed, *bias, *fast, *ref;
    int bad = 0;

    memset(&p, 0, sizeof p);
    p.groups = groups;
    p.in_c = groups * icg;
    p.out_c = groups * ocg;
    p.in_h = pick(1, 9);
    p.in_w = pick(1, 23);
    if (one_by_one) {
        p.kernel_h = p.kernel_w = 1;
        p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
    } else {
        p.kernel_h = pick(1, 4);
        p.kernel_w = pick(1, 5);
        p.stride_h = pick(1, 3);
        p.stride_w = pick(0, 1) ? 1 : pick(2, 3);   /* unit steps: the fixed-width variants */
        p.dilation_h = pick(1, 2);
        p.dilation_w = pick(0, 1) ? 1 : pick(2, 3);
        p.pad_mode = (CnnPadMode)pick(0, 3);
        /* Reflect needs pad < size, circular pad <= size (PyTorch's limits). */
        p.pad_top = pick(0, p.kernel_h);
        p.pad_bottom = pick(0, p.kernel_h);
        p.pad_left = pick(0, p.kernel_w + 1);
        p.pad_right = pick(0, p.kernel_w);
        if (p.pad_mode != CNN_PAD_ZEROS) {
            int lim_h = p.pad_mode == CNN_PAD_REFLECT ? p.in_h - 1 : p.in_h;
            int lim_w = p.pad_mode == CNN_PAD_REFLECT ? p.in_w - 1 : p.in_w;
            p.pad_top = p.pad_top > lim_h ? lim_h : p.pad_top;
            p.pad_bottom = p.pad_bottom > lim_h ? lim_h : p.pad_bottom;
            p.pad_left = p.pad_left > lim_w ? lim_w : p.pad_left;
            p.pad_right = p.pad_right > lim_w ? lim_w : p.pad_right;
        }
        p.in_hwc = groups == 1 && pick(0, 4) == 0;
    }
    {
        static const CnnActFn fns[] = { NULL, cnn_relu_f32, cnn_relu6_f32, cnn_leaky_relu_f32,
                                        cnn_sigmoid_f32, cnn_tanh_f32 };
        p.act.fn = fns[pick(0, 5)];
        p.act.kind = p.act.fn == cnn_relu_f32 ? CNN_ACT_RELU
                     : p.act.fn == cnn_relu6_f32 ? CNN_ACT_RELU6
                     : p.act.fn == cnn_leaky_relu_f32 ? CNN_ACT_LEAKY_RELU : CNN_ACT_CALL;
    }
    p.act.slope = 0.125f;
    p.out_h = (int32_t)cnn_out_size(p.in_h, p.kernel_h, p.stride_h, p.pad_top, p.pad_bottom,
                                    p.dilation_h, 0);
    p.out_w = (int32_t)cnn_out_size(p.in_w, p.kernel_w, p.stride_w, p.pad_left, p.pad_right,
                                    p.dilation_w, 0);
    if (p.out_h < 1 || p.out_w < 1)
        return -1;                          /* kernel does not fit: draw again */

    n_in = (size_t)p.in_c * p.in_h * p.in_w;
    n_w = (size_t)p.out_c * icg * p.kernel_h * p.kernel_w;
    n_out = (size_t)p.out_c * p.out_h * p.out_w;
    in = fill(n_in);
    w = fill(n_w);
    bias = pick(0, 3) ? fill((size_t)p.out_c) : NULL;
    packed = nan_buf(n_w);
    fast = nan_buf(n_out);
    ref = nan_buf(n_out);

    cnn_conv2d_pack_f32(p.out_c, p.in_c, p.groups, p.kernel_h, p.kernel_w, w, packed);
    cnn_conv2d_ref_f32(&p, in, w, bias, ref);
    flat = p;
    if (one_by_one && !p.in_hwc && pick(0, 1)) {
        /* cnnc's GEMM form: the plane as one row. */
        flat.in_w = p.in_h * p.in_w, flat.out_w = p.out_h * p.out_w;
        flat.in_h = flat.out_h = 1;
    }
    cnn_conv2d_f32(&flat, in, packed, bias, fast);
    bad += compare(index, "cnn_conv2d_f32", fast, ref, n_out);
    /* The fixed-width variant where cnnc would call it. */
    if (flat.stride_w == 1 && flat.dilation_w == 1 && !flat.in_hwc && flat.kernel_w <= 5) {
        static void (*const variants[])(const CnnConv2dParams *, const float *, const float *,
                                        const float *, float *) = {
            cnn_conv2d_k1_f32, cnn_conv2d_k2_f32, cnn_conv2d_k3_f32, cnn_conv2d_k4_f32,
            cnn_conv2d_k5_f32
        };
        static const char *const names[] = { "cnn_conv2d_k1_f32", "cnn_conv2d_k2_f32",
                                             "cnn_conv2d_k3_f32", "cnn_conv2d_k4_f32",
                                             "cnn_conv2d_k5_f32" };
        for (i = 0; i <= n_out; i++)
            fast[i] = NAN;
        variants[flat.kernel_w - 1](&flat, in, packed, bias, fast);
        bad += compare(index, names[flat.kernel_w - 1], fast, ref, n_out);
    }
    if (bad)
        describe(&flat);
    free(in);
    free(w);
    free(bias);
    free(packed);
    free(fast);
    free(ref);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    unsigned long long seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 12;
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
    printf("conv twin: %d cases (seed %llu), %d failed\n", done, seed, failed);
    return failed || done < count ? 1 : 0;
}
