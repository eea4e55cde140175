/*
 * test_twins.c - every fast path of the runtime against its portable
 * reference twin, on the same inputs, over random odd sizes that leave
 * partial blocks and edge columns (CTest: runtime_twins, label "runtime").
 *
 *   cnn_dwconv3x3_f32  vs cnn_conv2d_ref_f32 (groups == channels, 3x3), and
 *                      vs cnn_conv2d_f32 (its packed weights are PyTorch's
 *                      layout when every group has one channel)
 *   cnn_linear_f32     vs cnn_linear_ref_f32 (weights packed with
 *                      cnn_linear_packed_index)
 *
 * The twins sum in the same order, so they are required to agree within
 * 1e-6 relative (bit for bit unless the compiler contracted one side into
 * fused multiply-adds and not the other); the summary says how many values
 * were bit-identical.  Inputs come from a fixed xorshift seed (argv[1]
 * overrides it); NaN-filled outputs catch unwritten elements.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "cnn_pack.h"
#include "cnn_shape.h"

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;

static unsigned rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state >> 32);
}

static int rint_in(int lo, int hi)     /* [lo, hi] */
{
    return lo + (int)(rnd() % (unsigned)(hi - lo + 1));
}

static float rfloat(void)
{
    return (float)((double)(rnd() >> 8) / (double)(1u << 24) * 2.0 - 1.0);
}

static float *buf(size_t n, int fill_random)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    size_t i;
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i < n; i++)
        p[i] = fill_random ? rfloat() : NAN;
    return p;
}

static long compared, identical;

static int same(const char *what, const float *fast, const float *ref, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        float d = fabsf(fast[i] - ref[i]);
        float tol = 1e-6f * (fabsf(ref[i]) > 1.0f ? fabsf(ref[i]) : 1.0f);
        if (!(d <= tol)) {
            fprintf(stderr, "FAIL %s: element %lu: fast %.9g, reference %.9g\n", what,
                    (unsigned long)i, fast[i], ref[i]);
            return 0;
        }
        compared++;
        identical += memcmp(&fast[i], &ref[i], sizeof(float)) == 0;
    }
    return 1;
}

static const CnnActFn acts[] = { NULL, cnn_relu_f32, cnn_relu6_f32, cnn_leaky_relu_f32 };

/* A random activation, relu, relu6 and leaky_relu with the kind that lets a kernel apply it
 * in registers (as cnnc passes them), now and then without it (kind CALL:
 * the kernel calls fn). */
static CnnAct pick_act(float slope)
{
    CnnAct a;
    a.fn = acts[rnd() % 4];
    a.slope = slope;
    a.kind = a.fn == cnn_relu_f32 ? CNN_ACT_RELU : a.fn == cnn_relu6_f32 ? CNN_ACT_RELU6
             : a.fn == cnn_leaky_relu_f32 ? CNN_ACT_LEAKY_RELU : CNN_ACT_CALL;
    if (rnd() % 5 == 0)
        a.kind = CNN_ACT_CALL;
    return a;
}

static int dw_case(int k)
{
    CnnConv2dParams p;
    char what[200];
    float *in, *w, *b, *o1, *o2, *o3;
    size_t n_out;
    int ok;
    memset(&p, 0, sizeof p);
    p.in_c = p.out_c = p.groups = rint_in(1, 7);
    p.in_h = rint_in(1, 13);
    /* past a vector of 16 with a tail; every third case a long row */
    p.in_w = k % 3 == 2 ? rint_in(37, 90) : rint_in(1, 37);
    p.kernel_h = p.kernel_w = 3;
    p.stride_h = rint_in(1, 2);
    p.stride_w = k % 5 == 4 ? rint_in(3, 4) : rint_in(1, 2);
    p.dilation_h = p.dilation_w = 1;
    p.pad_top = rint_in(0, 2);
    p.pad_bottom = rint_in(0, 2);
    p.pad_left = rint_in(0, 2);
    p.pad_right = rint_in(0, 2);
    /* every fourth case the usual geometry (padding 1 at the top and left,
     * equal strides), which the Cortex-M tiling runs on its own path */
    if (k % 4 == 1) {
        p.stride_h = p.stride_w = rint_in(1, 2);
        p.pad_top = p.pad_left = 1;
        p.pad_bottom = rint_in(0, 1);
        p.pad_right = rint_in(0, 1);
    }
    if (p.in_h + p.pad_top + p.pad_bottom < 3 || p.in_w + p.pad_left + p.pad_right < 3)
        p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = 1;
    if (p.in_h + 2 < 3 || p.in_w + 2 < 3)
        return 1;
    p.pad_mode = CNN_PAD_ZEROS;
    p.act = pick_act(0.1f);
    p.out_h = (int32_t)cnn_out_size(p.in_h, 3, p.stride_h, p.pad_top, p.pad_bottom, 1, 0);
    p.out_w = (int32_t)cnn_out_size(p.in_w, 3, p.stride_w, p.pad_left, p.pad_right, 1, 0);
    if (p.out_h < 1 || p.out_w < 1)
        return 1;
    n_out = (size_t)p.out_c * (size_t)(p.out_h * p.out_w);
    in = buf((size_t)(p.in_c * p.in_h * p.in_w), 1);
    w = buf((size_t)p.out_c * 9, 1);
    b = buf((size_t)p.out_c, 1);
    o1 = buf(n_out, 0);
    o2 = buf(n_out, 0);
    o3 = buf(n_out, 0);
    cnn_dwconv3x3_f32(&p, in, w, k % 3 ? b : NULL, o1);
    cnn_conv2d_ref_f32(&p, in, w, k % 3 ? b : NULL, o2);
    cnn_conv2d_f32(&p, in, w, k % 3 ? b : NULL, o3);
    snprintf(what, sizeof what, "dwconv3x3 case %d: c=%d %dx%d stride %dx%d pad t%d b%d l%d r%d",
             k, (int)p.in_c, (int)p.in_h, (int)p.in_w, (int)p.stride_h, (int)p.stride_w,
             (int)p.pad_top, (int)p.pad_bottom, (int)p.pad_left, (int)p.pad_right);
    ok = same(what, o1, o2, n_out) && same(what, o1, o3, n_out);
    free(in), free(w), free(b), free(o1), free(o2), free(o3);
    return ok;
}

/* The first-layer entry points, by (in_c, k, stride_w, hwc). */
typedef void ConvFn(const CnnConv2dParams *, const float *, const float *, const float *,
                    float *);
static const struct {
    int ic, k, s, hwc;
    ConvFn *fn;
    const char *name;
} firsts[] = {
    { 1, 3, 1, 0, cnn_conv2d_first_c1k3s1_f32, "c1k3s1" },
    { 1, 3, 2, 0, cnn_conv2d_first_c1k3s2_f32, "c1k3s2" },
    { 1, 5, 1, 0, cnn_conv2d_first_c1k5s1_f32, "c1k5s1" },
    { 1, 3, 1, 1, cnn_conv2d_first_c1k3s1_f32, "c1k3s1 (hwc)" },
    { 1, 5, 1, 1, cnn_conv2d_first_c1k5s1_f32, "c1k5s1 (hwc)" },
    { 3, 3, 1, 0, cnn_conv2d_first_c3k3s1_f32, "c3k3s1" },
    { 3, 3, 2, 0, cnn_conv2d_first_c3k3s2_f32, "c3k3s2" },
    { 3, 5, 1, 0, cnn_conv2d_first_c3k5s1_f32, "c3k5s1" },
    { 3, 3, 1, 1, cnn_conv2d_first_c3k3s1_hwc_f32, "c3k3s1_hwc" },
    { 3, 3, 2, 1, cnn_conv2d_first_c3k3s2_hwc_f32, "c3k3s2_hwc" },
    { 3, 5, 1, 1, cnn_conv2d_first_c3k5s1_hwc_f32, "c3k5s1_hwc" },
};

/* A first-layer conv (conv_first.c) against the reference twin and the
 * general kernel: odd maps, partial channel blocks and pixel tiles,
 * padding wider than the kernel's reach, stride 2 in either direction. */
static int first_case(int k)
{
    const int v = (int)(rnd() % (sizeof firsts / sizeof firsts[0]));
    CnnConv2dParams p;
    char what[200];
    float *in, *w, *packed, *b, *o1, *o2, *o3;
    size_t n_out, n_w;
    int ok, kk = firsts[v].k;
    memset(&p, 0, sizeof p);
    p.in_c = firsts[v].ic;
    p.groups = 1;
    p.out_c = k % 4 == 0 ? rint_in(1, 3) : rint_in(1, 19);
    p.in_h = rint_in(1, 17);
    p.in_w = k % 3 == 2 ? rint_in(20, 45) : rint_in(1, 19);
    p.kernel_h = p.kernel_w = kk;
    p.stride_h = rint_in(1, 2);
    p.stride_w = firsts[v].s;
    p.dilation_h = p.dilation_w = 1;
    p.pad_top = rint_in(0, kk - 1);
    p.pad_bottom = rint_in(0, kk - 1);
    p.pad_left = rint_in(0, kk);
    p.pad_right = rint_in(0, kk - 1);
    p.pad_mode = CNN_PAD_ZEROS;
    p.in_hwc = firsts[v].hwc;
    p.act = pick_act(0.1f);
    if (k % 7 == 3)
        p.act.fn = cnn_sigmoid_f32, p.act.kind = CNN_ACT_CALL;
    p.out_h = (int32_t)cnn_out_size(p.in_h, kk, p.stride_h, p.pad_top, p.pad_bottom, 1, 0);
    p.out_w = (int32_t)cnn_out_size(p.in_w, kk, p.stride_w, p.pad_left, p.pad_right, 1, 0);
    if (p.out_h < 1 || p.out_w < 1)
        return 1;
    n_out = (size_t)p.out_c * (size_t)(p.out_h * p.out_w);
    n_w = (size_t)(p.out_c * p.in_c * kk * kk);
    in = buf((size_t)(p.in_c * p.in_h * p.in_w), 1);
    w = buf(n_w, 1);
    packed = buf(n_w, 0);
    b = buf((size_t)p.out_c, 1);
    o1 = buf(n_out, 0);
    o2 = buf(n_out, 0);
    o3 = buf(n_out, 0);
    cnn_conv2d_first_pack_f32(p.out_c, p.in_c, kk, kk, w, packed);
    firsts[v].fn(&p, in, packed, k % 3 ? b : NULL, o1);
    cnn_conv2d_ref_f32(&p, in, w, k % 3 ? b : NULL, o2);
    cnn_conv2d_pack_f32(p.out_c, p.in_c, 1, kk, kk, w, packed);
    cnn_conv2d_f32(&p, in, packed, k % 3 ? b : NULL, o3);
    snprintf(what, sizeof what,
             "first %s case %d: out_c=%d %dx%d stride %dx%d pad t%d b%d l%d r%d act kind %d",
             firsts[v].name, k, (int)p.out_c, (int)p.in_h, (int)p.in_w, (int)p.stride_h,
             (int)p.stride_w, (int)p.pad_top, (int)p.pad_bottom, (int)p.pad_left,
             (int)p.pad_right, (int)p.act.kind);
    ok = same(what, o1, o2, n_out) && same(what, o1, o3, n_out);
    free(in), free(w), free(packed), free(b), free(o1), free(o2), free(o3);
    return ok;
}

static int linear_case(int k)
{
    CnnLinearParams p;
    char what[120];
    float *in, *w, *packed, *b, *o1, *o2;
    int32_t o, i;
    int ok;
    p.in_features = rint_in(1, 70);
    p.out_features = k % 4 == 0 ? rint_in(1, 9) : rint_in(1, 41);
    p.act = pick_act(0.05f);
    in = buf((size_t)p.in_features, 1);
    w = buf((size_t)(p.in_features * p.out_features), 1);
    packed = buf((size_t)(p.in_features * p.out_features), 0);
    b = buf((size_t)p.out_features, 1);
    o1 = buf((size_t)p.out_features, 0);
    o2 = buf((size_t)p.out_features, 0);
    for (o = 0; o < p.out_features; o++)
        for (i = 0; i < p.in_features; i++)
            packed[cnn_linear_packed_index(p.in_features, p.out_features, o, i)] =
                w[o * p.in_features + i];
    for (i = 0; i < p.in_features * p.out_features; i++)
        if (packed[i] != packed[i]) {
            fprintf(stderr, "FAIL linear case %d: packed index %d never written\n", k, (int)i);
            return 0;
        }
    cnn_linear_f32(&p, in, packed, k % 3 ? b : NULL, o1);
    cnn_linear_ref_f32(&p, in, w, k % 3 ? b : NULL, o2);
    snprintf(what, sizeof what, "linear case %d: in=%d out=%d", k, (int)p.in_features,
             (int)p.out_features);
    ok = same(what, o1, o2, (size_t)p.out_features);
    free(in), free(w), free(packed), free(b), free(o1), free(o2);
    return ok;
}

int main(int argc, char **argv)
{
    int k, fails = 0, cases = 400;
    if (argc > 1)
        rng_state = strtoull(argv[1], NULL, 0) | 1u;
    for (k = 0; k < cases; k++) {
        fails += !dw_case(k);
        fails += !linear_case(k);
        fails += !first_case(k);
    }
    printf("%d dwconv3x3, %d linear and %d first-layer conv cases against their reference "
           "twins: %ld values, %ld bit-identical, %d failures\n", cases, cases, cases, compared,
           identical, fails);
    return fails ? 1 : 0;
}
