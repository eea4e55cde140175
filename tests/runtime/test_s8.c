/*
 * test_s8.c - the int8 kernels against their reference twins, bit for bit,
 * on random int8 data and random quantization parameters (CTest:
 * runtime_s8, label "runtime"; under qemu: runtime_s8_mcu, label "mcu").
 *
 *   cnn_conv2d_s8        vs cnn_conv2d_ref_s8: odd sizes, partial tiles and
 *                        blocks, every padding mode, stride, dilation,
 *                        groups, depthwise, 1-D, in_hwc, kernels wider than
 *                        32 (the checked path); the row path's shapes
 *                        (conv_rows_case)
 *   cnn_conv2d_1x1_s8, cnn_conv2d_whole_s8, cnn_dwconv3x3_s8
 *                        vs the same, where cnn_conv2d_s8_kind picks them
 *   cnn_linear_s8        vs cnn_linear_ref_s8
 *   cnn_add_s8           vs cnn_add_ref_s8 (2 and 3 inputs, in place)
 *   cnn_maxpool2d_s8     2x2 stride 2, vs the window maximum computed here
 *   cnn_s8_rq_apply(0), cnn_q_mul_fast, cnn_s8_hi_nudged, cnn_s8_mul_fast0
 *                        (the conv epilogue's fast requantization,
 *                        cnn_internal_s8.h) vs
 *                        cnn_s8_requant, cnn_q_mul_by_multiplier and
 *                        cnn_q_hi_nudged: every shift, edge and random
 *                        accumulators, multipliers and zero points, ties
 *
 * Zero points include the edges -128 and 127, shifts the extremes (every
 * output saturated), biases the int32 limits (the accumulator wraps), and
 * clamps the fused relu/relu6 ranges.  The output buffers are filled with a
 * canary first, so an unwritten element differs from the reference.
 *
 * Every case's fast outputs also go into one FNV-1a hash, printed at the
 * end: the same program built for a Cortex-M4 (its DSP path) and run under
 * qemu must print the same hash as the host (tests/runtime/check_s8_mcu.py).
 *
 *   test_s8 [SEED [CASES]]      run, print "s8-hash HEX" and a summary
 *   test_s8 --dump FILE SEED    (host) write a few cases of every kernel with
 *                               their outputs for check_s8_ref.py, which
 *                               recomputes them from TFLite's arithmetic
 *
 * Built with -DS8_MCU for the Cortex-M images: no stdio, no malloc, output
 * through mcu_puts (tests/mcu/mcu_io.h).
 */
#include <stdint.h>
#include <string.h>

#include "cnn_int8.h"
#include "cnn_internal_s8.h"
#include "cnn_pack_s8.h"
#include "cnn_shape.h"
#include "mcu_io.h"

#ifndef S8_MCU
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#endif

/* ---- random numbers, output ---------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

static int32_t rint_in(int32_t lo, int32_t hi) /* [lo, hi] */
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

static int8_t rand_s8(void)
{
    return (int8_t)((int32_t)(rnd() & 0xff) - 128);
}

/* A zero point: the edges a quarter of the time. */
static int32_t rand_zp(void)
{
    switch (rnd() % 8) {
    case 0:
        return -128;
    case 1:
        return 127;
    default:
        return rint_in(-128, 127);
    }
}

static char *put_int(char *p, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    if (v < 0)
        *p++ = '-';
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (n)
        *p++ = tmp[--n];
    *p = 0;
    return p;
}

static char *put_hex(char *p, uint32_t v)
{
    int i;
    for (i = 7; i >= 0; i--)
        *p++ = "0123456789abcdef"[(v >> (4 * i)) & 15];
    *p = 0;
    return p;
}

static void say(const char *a, long long n, const char *b)
{
    char line[160], *p = line;
    size_t la = strlen(a), lb = strlen(b);
    if (la > 100)
        la = 100;
    if (lb > 50)
        lb = 50;
    memcpy(p, a, la);
    p = put_int(p + la, n);
    memcpy(p, b, lb);
    p[lb] = 0;
    mcu_puts(line);
}

/* ---- buffers and comparison ---------------------------------------------- */

enum { IN_MAX = 8192, W_MAX = 16384, OUT_MAX = 16384, CH_MAX = 64 };

static int8_t in_buf[IN_MAX], in2_buf[IN_MAX], in3_buf[IN_MAX];
static int8_t w_buf[W_MAX], wp_buf[W_MAX];
static int8_t out_fast[OUT_MAX], out_ref[OUT_MAX];
static int32_t bias_buf[CH_MAX], biasp_buf[CH_MAX], mult_buf[CH_MAX];
static int8_t shift_buf[CH_MAX];

static uint32_t hash = 2166136261u;
static long cases, compared, failures;

static void hash_bytes(const int8_t *p, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++) {
        hash ^= (uint8_t)p[i];
        hash *= 16777619u;
    }
}

static void canary(int8_t *p, int32_t n, int8_t v)
{
    int32_t i;
    for (i = 0; i < n; i++)
        p[i] = v;
}

static void compare(const char *what, const int8_t *fast, const int8_t *ref, int32_t n)
{
    int32_t i;
    hash_bytes(fast, n);
    for (i = 0; i < n; i++)
        if (fast[i] != ref[i]) {
            char msg[128], *p = msg;
            memcpy(p, "FAIL ", 5);
            p += 5;
            memcpy(p, what, strlen(what));
            p += strlen(what);
            memcpy(p, ": element ", 10);
            p = put_int(p + 10, i);
            memcpy(p, ", fast ", 7);
            p = put_int(p + 7, fast[i]);
            memcpy(p, ", reference ", 12);
            p = put_int(p + 12, ref[i]);
            memcpy(p, " (case ", 7);
            p = put_int(p + 7, cases);
            memcpy(p, ")\n", 3);
            mcu_puts(msg);
            failures++;
            return;
        }
    compared += n;
}

/* Per-channel requantization for a sum of K products of magnitude ~ 2^13:
 * outputs mostly in range, sometimes all saturated or all zero. */
static void rand_requant(int32_t n, int32_t k)
{
    int32_t o, bits = 0;
    const int all_zero = rnd() % 8 == 0;      /* every shift 0: the kind 2 epilogue */
    while ((1 << bits) < k && bits < 30)
        bits++;
    for (o = 0; o < n; o++) {
        mult_buf[o] = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
        if (all_zero) {
            shift_buf[o] = 0;
            continue;
        }
        switch (rnd() % 16) {
        case 0:
            shift_buf[o] = (int8_t)rint_in(0, 30);     /* saturates */
            break;
        case 1:
            shift_buf[o] = -31;                         /* rounds to 0 */
            break;
        default:
            shift_buf[o] = (int8_t)(-7 - bits / 2 + rint_in(-2, 2));
        }
    }
}

static void rand_bias(int32_t n)
{
    int32_t o;
    int kind = (int)(rnd() % 8);
    for (o = 0; o < n; o++)
        bias_buf[o] = kind == 0   ? (rnd() & 1 ? INT32_MAX - rint_in(0, 1000)
                                               : INT32_MIN + rint_in(0, 1000))
                      : kind == 1 ? 0
                                  : rint_in(-100000, 100000);
}

/* The fused activation's clamp: none, relu or relu6-like, or random. */
static void rand_clamp(int32_t zp, int32_t *lo, int32_t *hi)
{
    switch (rnd() % 4) {
    case 0:
        *lo = -128;
        *hi = 127;
        break;
    case 1:
        *lo = zp;
        *hi = 127;
        break;
    case 2:
        *lo = zp;
        *hi = zp + rint_in(0, 127 - zp);
        break;
    default:
        *lo = rint_in(-128, 0);
        *hi = rint_in(*lo, 127);
    }
}

static void fill(int8_t *p, int32_t n)
{
    int32_t i;
    int kind = (int)(rnd() % 8);
    for (i = 0; i < n; i++)
        p[i] = kind == 0 ? (rnd() & 1 ? 127 : -128) : rand_s8();
}

/* ---- conv ------------------------------------------------------------------ */

#ifndef S8_MCU
static FILE *dump;
static void dump_arr8(const char *name, const int8_t *p, int32_t n)
{
    int32_t i;
    fprintf(dump, "%s %ld", name, (long)n);
    for (i = 0; i < n; i++)
        fprintf(dump, " %d", p[i]);
    fputc('\n', dump);
}
static void dump_arr32(const char *name, const int32_t *p, int32_t n)
{
    int32_t i;
    fprintf(dump, "%s %ld", name, (long)n);
    for (i = 0; i < n; i++)
        fprintf(dump, " %ld", (long)p[i]);
    fputc('\n', dump);
}
static void dump_shift(int32_t n)
{
    int32_t i;
    fprintf(dump, "shift %ld", (long)n);
    for (i = 0; i < n; i++)
        fprintf(dump, " %d", shift_buf[i]);
    fputc('\n', dump);
}
#define DUMP(...) (dump ? (void)fprintf(dump, __VA_ARGS__) : (void)0)
#else
#define DUMP(...) ((void)0)
#endif

/* shape: 0 any, 1 pointwise, 2 whole window, 3 depthwise 3x3, 4 wide kernel */
static int conv_case(int shape)
{
    CnnQConv2dParams q;
    CnnConv2dParams *g = &q.g;
    int32_t icg, ocg, k_n, n_in, n_out, n_w, plane;
    int one_d = shape != 4 && rnd() % 6 == 0;
    CnnConvS8Kind kind;

    memset(&q, 0, sizeof q);
    g->groups = shape == 3 ? rint_in(1, 12) : rnd() % 4 == 0 ? rint_in(1, 4) : 1;
    icg = shape == 3 ? 1 : rint_in(1, g->groups > 1 ? 4 : 9);
    ocg = shape == 3 ? 1 : rint_in(1, g->groups > 1 ? 6 : 19);
    if (rnd() % 5 == 0 && shape != 3) {         /* depthwise with a multiplier */
        g->groups = rint_in(2, 9);
        icg = 1;
        ocg = rint_in(1, 3);
    }
    if (g->groups == 1 && shape <= 1 && rnd() % 6 == 0) {
        /* more channels than one epilogue run (S8_EPI = 32), or more input
         * channels than the 1x1 DSP path's buffer (192) */
        if (rnd() % 2) {
            ocg = rint_in(33, 64);
            icg = rint_in(1, 6);
        } else {
            icg = rint_in(180, 230);
            ocg = rint_in(1, 5);
        }
    }
    g->in_c = icg * g->groups;
    g->out_c = ocg * g->groups;
    g->in_h = one_d ? 1 : rint_in(1, 13);
    g->in_w = rint_in(1, shape == 4 ? 48 : 17);
    g->kernel_h = one_d ? 1 : rint_in(1, 5);
    g->kernel_w = rint_in(1, 5);
    g->stride_h = one_d ? 1 : rint_in(1, 3);
    g->stride_w = rint_in(1, 3);
    g->dilation_h = one_d ? 1 : rint_in(1, 2);
    g->dilation_w = rint_in(1, 2);
    g->pad_mode = (CnnPadMode)(rnd() % 4);
    g->in_hwc = rnd() % 5 == 0;
    if (shape == 1) {
        g->kernel_h = g->kernel_w = 1;
        g->stride_h = g->stride_w = 1;
        g->in_hwc = 0;
    } else if (shape == 2) {
        g->kernel_h = g->in_h;
        g->kernel_w = g->in_w;
        g->dilation_h = g->dilation_w = 1;
        g->in_hwc = 0;
    } else if (shape == 3) {
        g->in_h = rint_in(1, 13);
        g->kernel_h = g->kernel_w = 3;
        g->dilation_h = g->dilation_w = 1;
        g->pad_mode = CNN_PAD_ZEROS;
        g->in_hwc = 0;
    } else if (shape == 4) {
        g->in_h = 1;
        g->kernel_h = 1;
        g->stride_h = g->dilation_h = 1;
        g->in_w = rint_in(34, 48);
        g->kernel_w = rint_in(33, g->in_w);
        g->dilation_w = 1;
    }
    /* padding: PyTorch's limits (reflect < size, circular <= size) */
    {
        int32_t maxh = g->pad_mode == CNN_PAD_REFLECT ? g->in_h - 1
                       : g->pad_mode == CNN_PAD_CIRCULAR ? g->in_h
                                                         : g->kernel_h;
        int32_t maxw = g->pad_mode == CNN_PAD_REFLECT ? g->in_w - 1
                       : g->pad_mode == CNN_PAD_CIRCULAR ? g->in_w
                                                         : g->kernel_w;
        if (maxh > 3)
            maxh = 3;
        if (maxw > 3)
            maxw = 3;
        if (shape == 1 || shape == 2 || one_d || rnd() % 4 == 0)
            maxh = 0;
        if (shape == 1 || shape == 2 || rnd() % 4 == 0)
            maxw = 0;
        if (shape == 4 && maxw > 1)
            maxw = 1;
        g->pad_top = rint_in(0, maxh);
        g->pad_bottom = rint_in(0, maxh);
        g->pad_left = rint_in(0, maxw);
        g->pad_right = rint_in(0, maxw);
    }
    g->out_h = (int32_t)cnn_out_size(g->in_h, g->kernel_h, g->stride_h, g->pad_top,
                                     g->pad_bottom, g->dilation_h, 0);
    g->out_w = (int32_t)cnn_out_size(g->in_w, g->kernel_w, g->stride_w, g->pad_left,
                                     g->pad_right, g->dilation_w, 0);
    if (g->out_h < 1 || g->out_w < 1)
        return 0;               /* does not fit: draw again */
    k_n = icg * g->kernel_h * g->kernel_w;
    n_in = g->in_c * g->in_h * g->in_w;
    plane = g->out_h * g->out_w;
    n_out = g->out_c * plane;
    n_w = g->out_c * k_n;
    if (n_in > IN_MAX || n_out > OUT_MAX || n_w > W_MAX || g->out_c > CH_MAX)
        return 0;
    if (cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_ANY) > W_MAX ||
        cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_1X1) > W_MAX)
        return 0;

    kind = cnn_conv2d_s8_kind(g);
    if ((shape == 1 && kind != CNN_CONV_S8_1X1) || (shape == 2 && kind != CNN_CONV_S8_WHOLE) ||
        (shape == 3 && kind != CNN_CONV_S8_DW3X3))
        return 0;
    cases++;
    q.in_zp = rand_zp();
    q.out_zp = rand_zp();
    rand_clamp(q.out_zp, &q.act_min, &q.act_max);
    q.mult = mult_buf;
    q.shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, n_w);
    {
        int32_t i;          /* symmetric weights: -128 never appears */
        for (i = 0; i < n_w; i++)
            w_buf[i] = w_buf[i] == -128 ? -127 : w_buf[i];
    }
    rand_bias(g->out_c);
    rand_requant(g->out_c, k_n);

    canary(out_ref, n_out, 0x5a);
    cnn_conv2d_ref_s8(&q, in_buf, w_buf, bias_buf, out_ref);

    cnn_conv2d_pack_s8(g, CNN_CONV_S8_ANY, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_ANY, w_buf, bias_buf, q.in_zp, biasp_buf);
    canary(out_fast, n_out, (int8_t)0xa5);
    cnn_conv2d_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_conv2d_s8", out_fast, out_ref, n_out);

    if (kind != CNN_CONV_S8_ANY) {
        cnn_conv2d_pack_s8(g, kind, w_buf, wp_buf);
        cnn_conv2d_pack_bias_s8(g, kind, w_buf, bias_buf, q.in_zp, biasp_buf);
        canary(out_fast, n_out, (int8_t)0xa5);
        if (kind == CNN_CONV_S8_1X1)
            cnn_conv2d_1x1_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
        else if (kind == CNN_CONV_S8_WHOLE)
            cnn_conv2d_whole_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
        else if (kind == CNN_CONV_S8_CP)
            cnn_conv2d_cp_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
        else if (kind == CNN_CONV_S8_FIRST)
            cnn_conv2d_first_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
        else
            cnn_dwconv3x3_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
        compare(cnn_conv2d_s8_kind_name(kind), out_fast, out_ref, n_out);
    }
#ifndef S8_MCU
    if (dump) {
        DUMP("case conv\n");
        DUMP("geom %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %d %ld\n",
             (long)g->in_c, (long)g->in_h, (long)g->in_w, (long)g->out_c, (long)g->out_h,
             (long)g->out_w, (long)g->kernel_h, (long)g->kernel_w, (long)g->stride_h,
             (long)g->stride_w, (long)g->dilation_h, (long)g->dilation_w, (long)g->pad_top,
             (long)g->pad_bottom, (long)g->pad_left, (long)g->pad_right, (long)g->groups,
             (int)g->pad_mode, (long)g->in_hwc);
        DUMP("quant %ld %ld %ld %ld\n", (long)q.in_zp, (long)q.out_zp, (long)q.act_min,
             (long)q.act_max);
        dump_arr8("in", in_buf, n_in);
        dump_arr8("w", w_buf, n_w);
        dump_arr32("bias", bias_buf, g->out_c);
        dump_arr32("mult", mult_buf, g->out_c);
        dump_shift(g->out_c);
        dump_arr8("out", out_ref, n_out);
    }
#endif
    /* no bias: the reference with NULL, the packed bias from NULL */
    if (rnd() % 4 == 0) {
        cnn_conv2d_ref_s8(&q, in_buf, w_buf, NULL, out_ref);
        cnn_conv2d_pack_s8(g, CNN_CONV_S8_ANY, w_buf, wp_buf);
        cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_ANY, w_buf, NULL, q.in_zp, biasp_buf);
        cnn_conv2d_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
        compare("cnn_conv2d_s8 (no bias)", out_fast, out_ref, n_out);
    }
    return 1;
}

/*
 * cnn_conv2d_s8's row path (conv_s8.c, Cortex-M with DSP): channels first,
 * dilation_w 1, stride_w 1 or 2, kernel widths 3 to 6, the expanded rows
 * within S8_RBUF = 512 halfwords; on the host the same cases check the
 * portable path.  Shapes: LeNet-5's c1 and c3 (c3 fills the buffer to 480
 * of 512: the window copied back every 2 rows), mobilenet_tiny's stem,
 * kws_1d-like 1-D convs of 24 to 40 channels (rows too wide for the buffer:
 * runs of pixels), and random ones: every pad mode, out_w 1
 * and 2 (a tile of which only 1 or 2 pixels are stored), odd channel
 * counts (a last block of 1), more than 32 channels (two epilogue runs),
 * groups, dilation_h 2, zero points at -128 and 127, every clamp and
 * epilogue kind (rand_requant), saturating and wrapping biases.
 */
static int conv_rows_case(void)
{
    CnnQConv2dParams q;
    CnnConv2dParams *g = &q.g;
    int32_t icg, ocg, k_n, n_in, n_out, n_w, pmax;
    const int pick = (int)(rnd() % 8);

    memset(&q, 0, sizeof q);
    g->groups = rnd() % 6 == 0 ? rint_in(2, 3) : 1;
    g->dilation_w = 1;
    g->stride_h = rint_in(1, 2);
    g->dilation_h = rnd() % 5 == 0 ? 2 : 1;
    g->stride_w = rint_in(1, 2);
    g->kernel_h = rint_in(1, 5);
    g->kernel_w = rint_in(3, 6);
    g->pad_mode = (CnnPadMode)(rnd() % 4);
    icg = rint_in(1, 6);
    ocg = rnd() % 8 == 0 ? rint_in(33, 40) : rint_in(2, 19);
    g->in_h = rint_in(1, 12);
    g->in_w = rint_in(1, rnd() % 4 == 0 ? 40 : 17);
    pmax = g->kernel_w - 1;
    if (pick == 0) {            /* LeNet-5 c1 */
        g->groups = 1, icg = 1, ocg = 6;
        g->in_h = g->in_w = 28;
        g->kernel_h = g->kernel_w = 5;
        g->stride_h = g->stride_w = g->dilation_h = 1;
        g->pad_mode = CNN_PAD_ZEROS;
    } else if (pick == 1) {     /* LeNet-5 c3 */
        g->groups = 1, icg = 6, ocg = 16;
        g->in_h = g->in_w = 14;
        g->kernel_h = g->kernel_w = 5;
        g->stride_h = g->stride_w = g->dilation_h = 1;
        pmax = 0;
    } else if (pick == 2) {     /* mobilenet_tiny's stem */
        g->groups = 1, icg = 3, ocg = 8;
        g->in_h = g->in_w = 32;
        g->kernel_h = g->kernel_w = 3;
        g->stride_h = g->stride_w = 2;
        g->dilation_h = 1;
        g->pad_mode = CNN_PAD_ZEROS;
        pmax = 1;
    } else if (pick == 3) {     /* kws_1d's 1-D convs: runs of a row */
        g->groups = 1, icg = rint_in(24, 40), ocg = rint_in(2, 33);
        g->in_h = 1, g->in_w = rint_in(20, 49);
        g->kernel_h = 1, g->kernel_w = rint_in(3, 4);
        g->stride_h = 1, g->stride_w = rint_in(1, 2);
        g->dilation_h = 1;
        pmax = 2;
    }
    g->in_c = icg * g->groups;
    g->out_c = ocg * g->groups;
    {
        const int32_t mh = g->pad_mode == CNN_PAD_REFLECT ? g->in_h - 1
                           : g->pad_mode == CNN_PAD_CIRCULAR ? g->in_h
                                                             : 3;
        const int32_t mw = g->pad_mode == CNN_PAD_REFLECT ? g->in_w - 1
                           : g->pad_mode == CNN_PAD_CIRCULAR ? g->in_w
                                                             : pmax;
        const int32_t lh = mh < 0 ? 0 : mh > 3 ? 3 : mh, lw = mw < 0 ? 0 : mw > pmax ? pmax : mw;
        if (pick <= 2) {
            g->pad_top = g->pad_bottom = g->pad_left = g->pad_right = pmax == 4 ? 2 : pmax;
        } else if (pick == 3) {
            g->pad_top = g->pad_bottom = 0;
            g->pad_left = rint_in(0, lw);
            g->pad_right = rint_in(0, lw);
        } else {
            g->pad_top = rint_in(0, lh);
            g->pad_bottom = rint_in(0, lh);
            g->pad_left = rint_in(0, lw);
            g->pad_right = rint_in(0, lw);
        }
    }
    g->out_h = (int32_t)cnn_out_size(g->in_h, g->kernel_h, g->stride_h, g->pad_top,
                                     g->pad_bottom, g->dilation_h, 0);
    g->out_w = (int32_t)cnn_out_size(g->in_w, g->kernel_w, g->stride_w, g->pad_left,
                                     g->pad_right, g->dilation_w, 0);
    if (g->out_h < 1 || g->out_w < 1)
        return 0;
    k_n = icg * g->kernel_h * g->kernel_w;
    n_in = g->in_c * g->in_h * g->in_w;
    n_out = g->out_c * g->out_h * g->out_w;
    n_w = g->out_c * k_n;
    if (n_in > IN_MAX || n_out > OUT_MAX || n_w > W_MAX || g->out_c > CH_MAX ||
        cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_ANY) > W_MAX ||
        cnn_conv2d_s8_kind(g) != CNN_CONV_S8_ANY)
        return 0;
    cases++;
    q.in_zp = rnd() % 3 == 0 ? (rnd() & 1 ? -128 : 127) : rand_zp();
    q.out_zp = rand_zp();
    rand_clamp(q.out_zp, &q.act_min, &q.act_max);
    q.mult = mult_buf;
    q.shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, n_w);
    {
        int32_t i;
        for (i = 0; i < n_w; i++)
            w_buf[i] = w_buf[i] == -128 ? -127 : w_buf[i];
    }
    rand_bias(g->out_c);
    rand_requant(g->out_c, k_n);
    if (rnd() % 3 == 0) {
        /* shift 0 with multipliers below 2^30, as cnnc gives small real
         * multipliers: the SMMULR epilogue (2^30 - 1 its edge) */
        int32_t o;
        for (o = 0; o < g->out_c; o++) {
            shift_buf[o] = 0;
            mult_buf[o] = rnd() % 8 == 0 ? 0x3fffffff : rint_in(0, 1 << (12 + rnd() % 14));
        }
    }

    canary(out_ref, n_out, 0x5a);
    cnn_conv2d_ref_s8(&q, in_buf, w_buf, bias_buf, out_ref);
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_ANY, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_ANY, w_buf, bias_buf, q.in_zp, biasp_buf);
    canary(out_fast, n_out, (int8_t)0xa5);
    cnn_conv2d_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_conv2d_s8 (rows)", out_fast, out_ref, n_out);
    return 1;
}

/*
 * cnn_conv2d_cp_s8 (conv_cp_s8.c): the input channels paired.  Shapes:
 * LeNet-5's c3 (the window slides and is copied back), mobilenet_tiny's
 * stem (in_c 3: a zero channel; stride 2, pad 1), and random ones: in_c
 * and out_c odd and even (an odd last output channel, more than 16: two
 * epilogue runs), kernel widths 1 to 7 (3 and 5 take the unrolled tiles),
 * out_w not a multiple of 3 (the 1- and 2-pixel tiles) and past a run of
 * 24, stride_h above kernel_h (no slide), pads on every side, zero points
 * at -128 and 127, every clamp and epilogue kind, wrapping biases; and
 * geometries outside the buffer (rows too wide, dilation 2, stride_w 3,
 * no padding in another mode) that take the pixel-by-pixel path.
 */
static int conv_cp_case(void)
{
    CnnQConv2dParams q;
    CnnConv2dParams *g = &q.g;
    int32_t k_n, n_in, n_out, n_w;
    const int pick = (int)(rnd() % 8);

    memset(&q, 0, sizeof q);
    g->groups = 1;
    g->in_c = rint_in(1, 9);
    g->out_c = rnd() % 6 == 0 ? rint_in(17, 35) : rint_in(1, 20);
    g->kernel_h = rint_in(1, 5);
    g->kernel_w = rnd() % 2 ? (rnd() % 2 ? 3 : 5) : rint_in(1, 7);
    g->stride_h = rint_in(1, 3);
    g->stride_w = rint_in(1, 2);
    g->dilation_h = g->dilation_w = 1;
    g->pad_mode = CNN_PAD_ZEROS;
    g->in_h = rint_in(1, 12);
    g->in_w = rint_in(1, rnd() % 4 == 0 ? 60 : 20);
    g->pad_top = rint_in(0, 2);
    g->pad_bottom = rint_in(0, 2);
    g->pad_left = rint_in(0, 2);
    g->pad_right = rint_in(0, 2);
    if (pick == 0) {            /* LeNet-5 c3 */
        g->in_c = 6, g->out_c = 16;
        g->in_h = g->in_w = 14;
        g->kernel_h = g->kernel_w = 5;
        g->stride_h = g->stride_w = 1;
        g->pad_top = g->pad_bottom = g->pad_left = g->pad_right = 0;
    } else if (pick == 1) {     /* mobilenet_tiny's stem */
        g->in_c = 3, g->out_c = 8;
        g->in_h = g->in_w = 32;
        g->kernel_h = g->kernel_w = 3;
        g->stride_h = g->stride_w = 2;
        g->pad_top = g->pad_bottom = g->pad_left = g->pad_right = 1;
    } else if (pick == 2) {     /* outside the fast path */
        switch (rnd() % 4) {
        case 0:
            g->dilation_h = 2;
            break;
        case 1:
            g->dilation_w = 2;
            break;
        case 2:
            g->stride_w = 3;
            break;
        default:
            g->pad_mode = (CnnPadMode)rint_in(1, 3);
            g->pad_top = g->pad_bottom = g->pad_left = g->pad_right = 0;
        }
    }
    g->out_h = (int32_t)cnn_out_size(g->in_h, g->kernel_h, g->stride_h, g->pad_top,
                                     g->pad_bottom, g->dilation_h, 0);
    g->out_w = (int32_t)cnn_out_size(g->in_w, g->kernel_w, g->stride_w, g->pad_left,
                                     g->pad_right, g->dilation_w, 0);
    if (g->out_h < 1 || g->out_w < 1)
        return 0;
    k_n = g->in_c * g->kernel_h * g->kernel_w;
    n_in = g->in_c * g->in_h * g->in_w;
    n_out = g->out_c * g->out_h * g->out_w;
    n_w = g->out_c * k_n;
    if (n_in > IN_MAX || n_out > OUT_MAX || n_w > W_MAX || g->out_c > CH_MAX ||
        cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_CP) > W_MAX)
        return 0;
    cases++;
    q.in_zp = rnd() % 3 == 0 ? (rnd() & 1 ? -128 : 127) : rand_zp();
    q.out_zp = rand_zp();
    rand_clamp(q.out_zp, &q.act_min, &q.act_max);
    q.mult = mult_buf;
    q.shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, n_w);
    {
        int32_t i;
        for (i = 0; i < n_w; i++)
            w_buf[i] = w_buf[i] == -128 ? -127 : w_buf[i];
    }
    rand_bias(g->out_c);
    rand_requant(g->out_c, k_n);

    canary(out_ref, n_out, 0x5a);
    cnn_conv2d_ref_s8(&q, in_buf, w_buf, bias_buf, out_ref);
    canary(wp_buf, (int32_t)cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_CP) + 4, 0x33);
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_CP, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_CP, w_buf, bias_buf, q.in_zp, biasp_buf);
    canary(out_fast, n_out + 4, (int8_t)0xa5);
    cnn_conv2d_cp_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
    compare(cnn_conv2d_cp_fits_s8(g) ? "cnn_conv2d_cp_s8" : "cnn_conv2d_cp_s8 (per pixel)",
            out_fast, out_ref, n_out);
    {
        int32_t i;
        for (i = n_out; i < n_out + 4; i++)
            if (out_fast[i] != (int8_t)0xa5) {
                mcu_puts("FAIL cnn_conv2d_cp_s8: wrote past the output\n");
                failures++;
                break;
            }
    }
    return 1;
}

/*
 * cnn_conv2d_pool_s8 of a channel-pair conv (cnn_conv2d_cp_pool_s8,
 * conv_cp_s8.c), against cnn_conv2d_ref_s8 then a plain max or min pool:
 * LeNet-5's c3 + 2x2/2 pool, and random channel-pair convs (in_c 2 to 9,
 * kernel widths 3 and 5, strides 1 and 2, pads on every side, conv rows
 * past a run of 24, more than 16 channels or pooled rows too wide for 16
 * channels' kept maxima: smaller blocks) with pools 2x2/2, 3x3/3, 2x2/3
 * (conv rows and columns between windows), 1x3/1x1 (overlapping columns,
 * windows cut across runs), 1x1 and random ones with stride_h >= kernel_h
 * and the conv's edge left over; zero points at -128 and 127, every clamp,
 * saturated outputs, negative multipliers (max and min trade places) and
 * biases that wrap (the bytes pooled, not the sums).
 */
static int conv_cp_pool_case(void)
{
    CnnQConvPoolParams pp;
    CnnQConv2dParams *q = &pp.conv;
    CnnConv2dParams *g = &q->g;
    CnnPool2dParams *pl = &pp.pool;
    int32_t k_n, n_in, n_out, n_conv, n_w, c, y, x;
    const int pick = (int)(rnd() % 6), pk = (int)(rnd() % 7);

    memset(&pp, 0, sizeof pp);
    g->groups = 1;
    g->in_c = rint_in(2, 9);
    g->out_c = rnd() % 5 == 0 ? rint_in(17, 34) : rint_in(2, 17);
    g->kernel_h = rint_in(1, 5);
    g->kernel_w = rnd() % 2 ? 3 : 5;
    g->stride_h = rint_in(1, 3);
    g->stride_w = rint_in(1, 2);
    g->dilation_h = g->dilation_w = 1;
    g->pad_mode = CNN_PAD_ZEROS;
    g->in_h = rint_in(2, 14);
    g->in_w = rint_in(3, rnd() % 3 == 0 ? 60 : 20);
    g->pad_top = rint_in(0, 2);
    g->pad_bottom = rint_in(0, 2);
    g->pad_left = rint_in(0, 2);
    g->pad_right = rint_in(0, 2);
    if (pick == 0) {            /* LeNet-5 c3 */
        g->in_c = 6, g->out_c = 16;
        g->in_h = g->in_w = 14;
        g->kernel_h = g->kernel_w = 5;
        g->stride_h = g->stride_w = 1;
        g->pad_top = g->pad_bottom = g->pad_left = g->pad_right = 0;
    } else if (pick == 1) {     /* tiny maps */
        g->in_h = rint_in(1, 4), g->in_w = rint_in(1, 6);
    }
    g->out_h = (int32_t)cnn_out_size(g->in_h, g->kernel_h, g->stride_h, g->pad_top,
                                     g->pad_bottom, g->dilation_h, 0);
    g->out_w = (int32_t)cnn_out_size(g->in_w, g->kernel_w, g->stride_w, g->pad_left,
                                     g->pad_right, g->dilation_w, 0);
    if (g->out_h < 1 || g->out_w < 1)
        return 0;
    pl->channels = g->out_c;
    pl->in_h = g->out_h;
    pl->in_w = g->out_w;
    pl->dilation_h = pl->dilation_w = 1;
    switch (pick == 0 ? 0 : pk) {
    case 0: pl->kernel_h = pl->kernel_w = pl->stride_h = pl->stride_w = 2; break;
    case 1: pl->kernel_h = pl->kernel_w = pl->stride_h = pl->stride_w = 3; break;
    case 2: pl->kernel_h = pl->kernel_w = 2, pl->stride_h = pl->stride_w = 3; break;
    case 3: pl->kernel_h = 1, pl->kernel_w = 3, pl->stride_h = pl->stride_w = 1; break;
    case 4: pl->kernel_h = pl->kernel_w = pl->stride_h = pl->stride_w = 1; break;
    default:
        pl->kernel_h = rint_in(1, 4), pl->kernel_w = rint_in(1, 4);
        pl->stride_h = rint_in(pl->kernel_h, 5), pl->stride_w = rint_in(1, 3);
    }
    if (pl->kernel_h > pl->in_h || pl->kernel_w > pl->in_w)
        return 0;
    pl->out_h = (pl->in_h - pl->kernel_h) / pl->stride_h + 1;
    pl->out_w = (pl->in_w - pl->kernel_w) / pl->stride_w + 1;
    pp.kind = rnd() % 3 == 0 ? CNN_POOL_MIN : CNN_POOL_MAX;
    k_n = g->in_c * g->kernel_h * g->kernel_w;
    n_in = g->in_c * g->in_h * g->in_w;
    n_conv = g->out_c * g->out_h * g->out_w;
    n_out = g->out_c * pl->out_h * pl->out_w;
    n_w = g->out_c * k_n;
    if (n_in > IN_MAX || n_conv > OUT_MAX || n_out + 16 > OUT_MAX || n_w > W_MAX ||
        g->out_c > CH_MAX || cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_CP) > W_MAX ||
        !cnn_conv2d_cp_pool_fits_s8(g, pl) || !cnn_conv2d_pool_s8_ok(g, pl, pp.kind))
        return 0;
    cases++;
    q->in_zp = rnd() % 3 == 0 ? (rnd() & 1 ? -128 : 127) : rand_zp();
    q->out_zp = rnd() % 4 == 0 ? (rnd() & 1 ? -128 : 127) : rand_zp();
    rand_clamp(q->out_zp, &q->act_min, &q->act_max);
    q->mult = mult_buf;
    q->shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, n_w);
    for (c = 0; c < n_w; c++)
        w_buf[c] = w_buf[c] == -128 ? -127 : w_buf[c];
    rand_bias(g->out_c);
    rand_requant(g->out_c, k_n);
    if (rnd() % 5 == 0)
        for (c = 0; c < g->out_c; c++)     /* decreasing: max and min swap */
            if (rnd() & 1)
                mult_buf[c] = -mult_buf[c];

    cnn_conv2d_ref_s8(q, in_buf, w_buf, bias_buf, out_fast);      /* the conv, then the pool */
    for (c = 0; c < g->out_c; c++)
        for (y = 0; y < pl->out_h; y++)
            for (x = 0; x < pl->out_w; x++) {
                int32_t dy, dx, m = 0;
                for (dy = 0; dy < pl->kernel_h; dy++)
                    for (dx = 0; dx < pl->kernel_w; dx++) {
                        const int32_t v = out_fast[(c * g->out_h + y * pl->stride_h + dy) *
                                                   g->out_w + x * pl->stride_w + dx];
                        if ((dy == 0 && dx == 0) ||
                            (pp.kind == CNN_POOL_MAX ? v > m : v < m))
                            m = v;
                    }
                out_ref[(c * pl->out_h + y) * pl->out_w + x] = (int8_t)m;
            }
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_CP, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_CP, w_buf, bias_buf, q->in_zp, biasp_buf);
    canary(out_fast, n_out + 16, (int8_t)0xa5);
    cnn_conv2d_pool_s8(&pp, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_conv2d_pool_s8 (channel pairs)", out_fast, out_ref, n_out);
    compare("cnn_conv2d_pool_s8 (channel pairs, past the end)", out_fast + n_out,
            out_fast + n_out + 8, 8);
    return 1;
}

/*
 * cnn_conv2d_first_s8 (conv_first_s8.c): 3 input channels, a kernel row's
 * taps and channels in one run.  Shapes: mobilenet_tiny's stem (stride 2,
 * pad 1, the window slides and is copied back), its 5x5 and stride-1
 * variants, and random ones: out_c odd and even (an odd last channel, more
 * than 8: several epilogue runs), kernel widths 3 and 5 (the DSP tiles)
 * and 1 to 7 (the portable tiles), out_w not a multiple of 4 (the 1- to
 * 3-pixel tiles) and past a run of 16, stride_h above kernel_h (no slide),
 * pads on every side, maps smaller than the kernel, zero points at -128
 * and 127, every clamp and epilogue kind, wrapping biases; and geometries
 * outside the buffer (rows too wide, dilation 2, stride_w 3, channels
 * last, no padding in another mode) that take the pixel-by-pixel path.
 */
static void conv_first_offsets(const CnnQConv2dParams *q, int32_t n_out);

static int conv_first_case(void)
{
    CnnQConv2dParams q;
    CnnConv2dParams *g = &q.g;
    int32_t k_n, n_in, n_out, n_w, i;
    const int pick = (int)(rnd() % 6);
    const char *name;

    memset(&q, 0, sizeof q);
    g->groups = 1;
    g->in_c = 3;
    g->out_c = rnd() % 6 == 0 ? rint_in(9, 24) : rint_in(1, 9);
    g->kernel_h = rint_in(1, 5);
    g->kernel_w = rnd() % 3 ? (rnd() % 2 ? 3 : 5) : rint_in(1, 7);
    g->stride_h = rint_in(1, 3);
    g->stride_w = rint_in(1, 2);
    g->dilation_h = g->dilation_w = 1;
    g->pad_mode = CNN_PAD_ZEROS;
    g->in_h = rint_in(1, 12);
    g->in_w = rint_in(1, rnd() % 4 == 0 ? 60 : 20);
    g->pad_top = rint_in(0, 2);
    g->pad_bottom = rint_in(0, 2);
    g->pad_left = rint_in(0, 2);
    g->pad_right = rint_in(0, 2);
    if (pick == 0) {            /* mobilenet_tiny's stem, or its 5x5 / stride 1 kin */
        g->out_c = 8;
        g->in_h = g->in_w = 32;
        g->kernel_h = g->kernel_w = rnd() % 4 ? 3 : 5;
        g->stride_h = g->stride_w = rnd() % 4 ? 2 : 1;
        g->pad_top = g->pad_bottom = g->pad_left = g->pad_right = g->kernel_w / 2;
        if (g->stride_w == 1 || g->kernel_w == 5)
            g->in_h = rint_in(3, 12);
    } else if (pick == 1) {     /* outside the fast path */
        switch (rnd() % 5) {
        case 0:
            g->dilation_h = 2;
            break;
        case 1:
            g->dilation_w = 2;
            break;
        case 2:
            g->stride_w = 3;
            break;
        case 3:
            g->in_hwc = 1;
            break;
        default:
            g->pad_mode = (CnnPadMode)rint_in(1, 3);
            g->pad_top = g->pad_bottom = g->pad_left = g->pad_right = 0;
        }
    }
    g->out_h = (int32_t)cnn_out_size(g->in_h, g->kernel_h, g->stride_h, g->pad_top,
                                     g->pad_bottom, g->dilation_h, 0);
    g->out_w = (int32_t)cnn_out_size(g->in_w, g->kernel_w, g->stride_w, g->pad_left,
                                     g->pad_right, g->dilation_w, 0);
    if (g->out_h < 1 || g->out_w < 1)
        return 0;
    k_n = g->in_c * g->kernel_h * g->kernel_w;
    n_in = g->in_c * g->in_h * g->in_w;
    n_out = g->out_c * g->out_h * g->out_w;
    n_w = g->out_c * k_n;
    if (n_in > IN_MAX || n_out > OUT_MAX || n_w > W_MAX || g->out_c > CH_MAX ||
        cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_FIRST) + 4 > W_MAX)
        return 0;
    cases++;
    q.in_zp = rnd() % 3 == 0 ? (rnd() & 1 ? -128 : 127) : rand_zp();
    q.out_zp = rnd() % 5 == 0 ? (rnd() & 1 ? -128 : 127) : rand_zp();
    rand_clamp(q.out_zp, &q.act_min, &q.act_max);
    q.mult = mult_buf;
    q.shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, n_w);
    for (i = 0; i < n_w; i++)
        w_buf[i] = w_buf[i] == -128 ? -127 : w_buf[i];
    rand_bias(g->out_c);
    rand_requant(g->out_c, k_n);

    canary(out_ref, n_out, 0x5a);
    cnn_conv2d_ref_s8(&q, in_buf, w_buf, bias_buf, out_ref);
    canary(wp_buf, (int32_t)cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_FIRST) + 4, 0x33);
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_FIRST, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_FIRST, w_buf, bias_buf, q.in_zp, biasp_buf);
    canary(out_fast, n_out + 4, (int8_t)0xa5);
    cnn_conv2d_first_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
    name = !cnn_conv2d_first_fits_s8(g) ? "cnn_conv2d_first_s8 (per pixel)"
           : g->kernel_w == 3 || g->kernel_w == 5 ? "cnn_conv2d_first_s8"
                                                  : "cnn_conv2d_first_s8 (portable tiles)";
    compare(name, out_fast, out_ref, n_out);
    for (i = n_out; i < n_out + 4; i++)
        if (out_fast[i] != (int8_t)0xa5) {
            mcu_puts("FAIL cnn_conv2d_first_s8: wrote past the output\n");
            failures++;
            break;
        }
    for (i = (int32_t)cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_FIRST);
         i < (int32_t)cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_FIRST) + 4; i++)
        if (wp_buf[i] != 0x33) {
            mcu_puts("FAIL cnn_conv2d_pack_s8 (first): wrote past the packed weights\n");
            failures++;
            break;
        }
    if (pick == 0 || rnd() % 8 == 0)
        conv_first_offsets(&q, n_out);
    return 1;
}

/* The packed weights of conv_first_case (in wp_buf) moved 1, 2 and 3 bytes
 * off a word: cnn_conv2d_first_s8 takes the portable tiles there (its asm
 * tile loads weight pairs with LDRD) and gives the same bytes as the
 * reference in out_ref; wp_buf is put back at the end. */
static void conv_first_offsets(const CnnQConv2dParams *q, int32_t n_out)
{
    const int32_t nb = (int32_t)cnn_conv2d_packed_bytes_s8(&q->g, CNN_CONV_S8_FIRST);
    int32_t off;
    if (nb + 3 > W_MAX)
        return;
    for (off = 1; off <= 3; off++) {
        memmove(wp_buf + off, wp_buf + off - 1, (size_t)nb);
        canary(out_fast, n_out, (int8_t)0xa5);
        cnn_conv2d_first_s8(q, in_buf, wp_buf + off, biasp_buf, out_fast);
        compare("cnn_conv2d_first_s8 (weights off a word)", out_fast, out_ref, n_out);
    }
    memmove(wp_buf, wp_buf + 3, (size_t)nb);
}

/*
 * cnn_conv2d_pool_s8 against cnn_conv2d_ref_s8, the requantization and a
 * plain max or min pool: LeNet-5's c1 + 2x2 pool, the row path's shapes
 * (stride_w 1 and 2, kernel widths 3 to 6, every pad mode, odd channel
 * counts, chunks of channels whose rings do not fit at once) and others
 * that take the portable path (dilation, in_hwc, groups, kernel widths 1,
 * 2 and 7); pools 2x2/2, 3x3/2, 2x2/1, 1x1/1, 3x1/3 and random ones with
 * the conv's edge left over; zero points at -128 and 127, every clamp,
 * saturated outputs, negative multipliers (max and min trade places).
 */
static int8_t fz_conv_out[OUT_MAX];

/* conv_pool_w16_cases: the shapes of the DSP path's int16 weight stream
 * (1), and with its one-pass 2x2 max pool and SMMULR epilogue (2) */
static int pool_w16_force;

static int conv_pool_case(void)
{
    CnnQConvPoolParams pp;
    CnnQConv2dParams *q = &pp.conv;
    CnnConv2dParams *g = &q->g;
    CnnPool2dParams *pl = &pp.pool;
    int32_t icg, ocg, k_n, n_in, n_out, n_conv, n_w, c, y, x, pmax;
    const int pick = (int)(rnd() % 6), pk = (int)(rnd() % 6);

    memset(&pp, 0, sizeof pp);
    g->groups = rnd() % 6 == 0 ? rint_in(2, 3) : 1;
    g->dilation_w = rnd() % 6 == 0 ? 2 : 1;
    g->dilation_h = rnd() % 5 == 0 ? 2 : 1;
    g->stride_h = rint_in(1, 2);
    g->stride_w = rint_in(1, 2);
    g->kernel_h = rint_in(1, 5);
    g->kernel_w = rnd() % 5 == 0 ? rint_in(1, 7) : rint_in(3, 6);
    g->pad_mode = (CnnPadMode)(rnd() % 4);
    g->in_hwc = rnd() % 8 == 0;
    icg = rint_in(1, 6);
    ocg = rnd() % 6 == 0 ? rint_in(17, 40) : rint_in(1, 19);
    g->in_h = rint_in(2, 14);
    g->in_w = rint_in(2, rnd() % 4 == 0 ? 40 : 20);
    pmax = g->kernel_w - 1;
    if (pick == 0) {            /* LeNet-5 c1 */
        g->groups = 1, icg = 1, ocg = 6;
        g->in_h = g->in_w = 28;
        g->kernel_h = g->kernel_w = 5;
        g->stride_h = g->stride_w = g->dilation_h = g->dilation_w = 1;
        g->pad_mode = CNN_PAD_ZEROS;
        g->in_hwc = 0;
        pmax = 2;
    }
    if (pick == 1) {            /* SqueezeNet's stem: the row in runs, a block in passes */
        g->groups = 1, icg = 3, ocg = rint_in(9, 17);
        g->in_h = rint_in(6, 40);
        g->in_w = rint_in(57, 62);
        g->kernel_h = g->kernel_w = 3;
        g->stride_h = g->stride_w = 2;
        g->dilation_h = g->dilation_w = 1;
        g->in_hwc = 0;
        pmax = 1;
    }
    if (pool_w16_force && pick != 0) {
        g->groups = 1, g->in_hwc = 0;
        g->dilation_w = 1, g->stride_w = 1;
        g->kernel_w = rint_in(3, 6);
        pmax = g->kernel_w - 1;
        icg = rnd() % 2 ? 1 : rint_in(2, 3);
        ocg = rnd() % 4 == 0 ? rint_in(7, 12) : rint_in(2, 7);
        g->in_w = rint_in(g->kernel_w + 3, 32);
    }
    g->in_c = icg * g->groups;
    g->out_c = ocg * g->groups;
    {
        const int32_t mh = g->pad_mode == CNN_PAD_REFLECT ? g->in_h - 1
                           : g->pad_mode == CNN_PAD_CIRCULAR ? g->in_h : 3;
        const int32_t mw = g->pad_mode == CNN_PAD_REFLECT ? g->in_w - 1
                           : g->pad_mode == CNN_PAD_CIRCULAR ? g->in_w : pmax;
        const int32_t lh = mh < 0 ? 0 : mh > 3 ? 3 : mh, lw = mw < 0 ? 0 : mw > pmax ? pmax : mw;
        if (pick == 0) {
            g->pad_top = g->pad_bottom = g->pad_left = g->pad_right = 2;
        } else {
            g->pad_top = rint_in(0, lh);
            g->pad_bottom = rint_in(0, lh);
            g->pad_left = rint_in(0, lw);
            g->pad_right = rint_in(0, lw);
        }
    }
    g->out_h = (int32_t)cnn_out_size(g->in_h, g->kernel_h, g->stride_h, g->pad_top,
                                     g->pad_bottom, g->dilation_h, 0);
    g->out_w = (int32_t)cnn_out_size(g->in_w, g->kernel_w, g->stride_w, g->pad_left,
                                     g->pad_right, g->dilation_w, 0);
    if (g->out_h < 1 || g->out_w < 1)
        return 0;
    pl->channels = g->out_c;
    pl->in_h = g->out_h;
    pl->in_w = g->out_w;
    pl->dilation_h = pl->dilation_w = 1;
    switch (pick == 0 || pool_w16_force == 2 ? 0 : pick == 1 && pk < 3 ? 1 : pk) {
    case 0: pl->kernel_h = pl->kernel_w = pl->stride_h = pl->stride_w = 2; break;
    case 1: pl->kernel_h = pl->kernel_w = 3, pl->stride_h = pl->stride_w = 2; break;
    case 2: pl->kernel_h = pl->kernel_w = 2, pl->stride_h = pl->stride_w = 1; break;
    case 3: pl->kernel_h = pl->kernel_w = pl->stride_h = pl->stride_w = 1; break;
    case 4: pl->kernel_h = 3, pl->kernel_w = 1, pl->stride_h = 3, pl->stride_w = 1; break;
    default:
        pl->kernel_h = rint_in(1, 4), pl->kernel_w = rint_in(1, 4);
        pl->stride_h = rint_in(1, 3), pl->stride_w = rint_in(1, 3);
    }
    if (pl->kernel_h > pl->in_h || pl->kernel_w > pl->in_w)
        return 0;
    pl->out_h = (pl->in_h - pl->kernel_h) / pl->stride_h + 1;
    pl->out_w = (pl->in_w - pl->kernel_w) / pl->stride_w + 1;
    pp.kind = rnd() % 3 == 0 ? CNN_POOL_MIN : CNN_POOL_MAX;
    if (pool_w16_force == 2)
        pp.kind = CNN_POOL_MAX;
    k_n = icg * g->kernel_h * g->kernel_w;
    n_in = g->in_c * g->in_h * g->in_w;
    n_conv = g->out_c * g->out_h * g->out_w;
    n_out = g->out_c * pl->out_h * pl->out_w;
    n_w = g->out_c * k_n;
    if (n_in > IN_MAX || n_conv > OUT_MAX || n_out + 16 > OUT_MAX || n_w > W_MAX ||
        g->out_c > CH_MAX || cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_ANY) > W_MAX ||
        !cnn_conv2d_pool_s8_ok(g, pl, pp.kind) || cnn_conv2d_cp_pool_fits_s8(g, pl))
        return 0;
    cases++;
    q->in_zp = rnd() % 3 == 0 ? (rnd() & 1 ? -128 : 127) : rand_zp();
    q->out_zp = rnd() % 4 == 0 ? (rnd() & 1 ? -128 : 127) : rand_zp();
    rand_clamp(q->out_zp, &q->act_min, &q->act_max);
    if (pool_w16_force == 2)
        q->act_min = -128, q->act_max = 127;
    q->mult = mult_buf;
    q->shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, n_w);
    for (c = 0; c < n_w; c++)
        w_buf[c] = w_buf[c] == -128 ? -127 : w_buf[c];
    rand_bias(g->out_c);
    rand_requant(g->out_c, k_n);
    if (rnd() % 3 == 0 || pool_w16_force == 2)
        for (c = 0; c < g->out_c; c++) {   /* the SMMULR epilogue */
            shift_buf[c] = 0;
            mult_buf[c] = rnd() % 8 == 0 ? 0x3fffffff : rint_in(0, 1 << (12 + rnd() % 14));
        }
    if (rnd() % 6 == 0)
        for (c = 0; c < g->out_c; c++)     /* decreasing: max and min swap */
            if (rnd() & 1)
                mult_buf[c] = -mult_buf[c];

    cnn_conv2d_ref_s8(q, in_buf, w_buf, bias_buf, fz_conv_out);
    for (c = 0; c < g->out_c; c++)
        for (y = 0; y < pl->out_h; y++)
            for (x = 0; x < pl->out_w; x++) {
                int32_t dy, dx, m = 0;
                for (dy = 0; dy < pl->kernel_h; dy++)
                    for (dx = 0; dx < pl->kernel_w; dx++) {
                        const int32_t v = fz_conv_out[(c * g->out_h + y * pl->stride_h + dy) *
                                                      g->out_w + x * pl->stride_w + dx];
                        if ((dy == 0 && dx == 0) ||
                            (pp.kind == CNN_POOL_MAX ? v > m : v < m))
                            m = v;
                    }
                out_ref[(c * pl->out_h + y) * pl->out_w + x] = (int8_t)m;
            }
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_ANY, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_ANY, w_buf, bias_buf, q->in_zp, biasp_buf);
    canary(out_fast, n_out + 16, (int8_t)0xa5);
    cnn_conv2d_pool_s8(&pp, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_conv2d_pool_s8", out_fast, out_ref, n_out);
    compare("cnn_conv2d_pool_s8 (past the end)", out_fast + n_out, out_fast + n_out + 8, 8);
    return 1;
}

/*
 * cnn_conv2d_pool_s8 on the shapes of its DSP path's int16 weight stream
 * (stride_w 1, kernel widths 3 to 6: the odd last tap alone, in_c 1 to 3,
 * 2 to 12 channels: an odd last channel, streams too big for S8_W16, rows
 * of 4-pixel tiles with or without 3-pixel ones), every pool of
 * conv_pool_case, its zero points, clamps and multipliers; every other
 * case the 2x2/2 max pool with the full clamp and shift 0 (the one-pass
 * pool and SMMULR epilogue, s8_pool22_store; a negative multiplier takes
 * the two-pass path).
 */
static void conv_pool_w16_cases(int n)
{
    int k;
    for (k = 0; k < n; k++) {
        pool_w16_force = 1 + (k & 1);
        while (!conv_pool_case())
            ;
    }
    pool_w16_force = 0;
}

/*
 * cnn_conv2d_1x1_s8 on chosen shapes: the DSP path's tile (2 channels by 4
 * pixels, kp == 4 unrolled or a loop of four entered anywhere), its partial
 * last quad, several pixel groups (the expansion buffer holds 256 words),
 * every block width and an odd last channel, in_c past the DSP path's
 * limit (192), the three epilogue kinds (req: 1 every shift <= -2, 2 every
 * shift 0, 0 random, some channels outside the fast forms), the zero
 * points' edges, no clamp, relu, relu6 and random clamps, saturated
 * outputs and biases at the int32 limits.
 */
/* req 3 of pw_one: cnnc's shift-0 multipliers round(M 2^31) for
 * 2^-12 <= M < 1/2 (the 1x1 DSP path's registers form), their edges 0,
 * 2^30 - 1 and 2^30, and now and then a channel of another form (shift -1,
 * -5 or 1, a multiplier from 2^30): its pair takes the generic epilogue. */
static void pw_small_mult(int32_t o)
{
    shift_buf[o] = 0;
    switch (rnd() % 16) {
    case 0:
        mult_buf[o] = 0x3fffffff;
        break;
    case 1:
        mult_buf[o] = rnd() % 2 ? 0 : 1 << 19;
        break;
    case 2:
        mult_buf[o] = 0x40000000 + (rnd() % 2 ? 0 : (int32_t)(rnd() & 0xffff));
        break;
    case 3:
        shift_buf[o] = (int8_t)(rnd() % 3 == 0 ? 1 : rnd() % 2 ? -1 : -5);
        break;
    default:
        mult_buf[o] = (int32_t)(rnd() >> (2 + rnd() % 10));
    }
}

static void pw_one(int32_t in_c, int32_t out_c, int32_t h, int32_t w, int req, int edge)
{
    CnnQConv2dParams q;
    CnnConv2dParams *g = &q.g;
    const int32_t plane = h * w;
    int32_t o, n_in = in_c * plane, n_out = out_c * plane, n_w = out_c * in_c;

    if (n_in > IN_MAX || n_out > OUT_MAX || n_w > W_MAX || out_c > CH_MAX)
        return;
    memset(&q, 0, sizeof q);
    g->in_c = in_c;
    g->out_c = out_c;
    g->in_h = g->out_h = h;
    g->in_w = g->out_w = w;
    g->kernel_h = g->kernel_w = 1;
    g->stride_h = g->stride_w = g->dilation_h = g->dilation_w = 1;
    g->groups = 1;
    g->pad_mode = CNN_PAD_ZEROS;
    if (cnn_conv2d_s8_kind(g) != CNN_CONV_S8_1X1 ||
        cnn_conv2d_packed_bytes_s8(g, CNN_CONV_S8_1X1) > W_MAX)
        return;
    cases++;
    q.in_zp = edge == 1 ? -128 : edge == 2 ? 127 : rand_zp();
    q.out_zp = edge == 1 ? 127 : edge == 2 ? -128 : rand_zp();
    switch (rnd() % 5) {
    case 0:                     /* no clamp */
        q.act_min = -128;
        q.act_max = 127;
        break;
    case 1:                     /* relu */
        q.act_min = q.out_zp;
        q.act_max = 127;
        break;
    case 2:                     /* relu6-like */
        q.act_min = q.out_zp;
        q.act_max = q.out_zp + rint_in(0, 127 - q.out_zp);
        break;
    default:
        rand_clamp(q.out_zp, &q.act_min, &q.act_max);
    }
    q.mult = mult_buf;
    q.shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, n_w);
    for (o = 0; o < n_w; o++)
        w_buf[o] = w_buf[o] == -128 ? -127 : w_buf[o];
    rand_bias(out_c);
    rand_requant(out_c, in_c);
    for (o = 0; o < out_c; o++) {
        if (req == 2)
            shift_buf[o] = 0;
        else if (req == 1 && (shift_buf[o] > -2 || shift_buf[o] < -22))
            shift_buf[o] = (int8_t)rint_in(-22, -2);
        if (req == 1 && rnd() % 8 == 0)
            shift_buf[o] = (int8_t)(rnd() % 2 ? -2 : -22);  /* the fast form's edges */
        if (req == 3)
            pw_small_mult(o);
    }

    canary(out_ref, n_out, 0x5a);
    cnn_conv2d_ref_s8(&q, in_buf, w_buf, bias_buf, out_ref);
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_1X1, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_1X1, w_buf, bias_buf, q.in_zp, biasp_buf);
    canary(out_fast, n_out, (int8_t)0xa5);
    cnn_conv2d_1x1_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_conv2d_1x1_s8 (shapes)", out_fast, out_ref, n_out);
}

static void pw_cases(void)
{
    /* in_c: kp == 4, odd and even pair counts, one pair, the DSP limit */
    static const int16_t ins[] = {1, 2, 3, 7, 8, 9, 16, 17, 32, 33, 64, 127, 128, 191, 192, 193};
    /* out_c: blocks of 8, 4 and 2, an odd last channel, two epilogue runs */
    static const int16_t outs[] = {1, 2, 3, 6, 8, 13, 16, 40};
    /* maps: 1x1, 2x2, partial quads, several pixel groups */
    static const int16_t maps[][2] = {{1, 1}, {1, 2}, {2, 2}, {1, 3}, {3, 5},
                                      {4, 4}, {8, 8}, {7, 9}, {16, 16}, {11, 13}};
    size_t i;
    for (i = 0; i < sizeof ins / sizeof ins[0]; i++) {
        const int32_t in_c = ins[i], out_c = outs[i % 8];
        const int16_t *m = maps[(i * 3) % 10];
        pw_one(in_c, out_c, m[0], m[1], (int)(i % 3), (int)(i % 4));
        pw_one(in_c, outs[(i + 3) % 8], maps[i % 10][0], maps[i % 10][1], 1, 0);
        pw_one(in_c, outs[(i + 5) % 8], maps[(i + 7) % 10][0], maps[(i + 7) % 10][1], 2,
               (int)((i + 1) % 3));
    }
    for (i = 0; i < 10; i++)    /* pw1 and pw3 of mobilenet_tiny, any epilogue */
        pw_one(i % 2 ? 8 : 32, i % 2 ? 16 : 32, i % 2 ? 16 : 8, i % 2 ? 16 : 8, (int)(i % 3),
               (int)(i % 3));
}

/*
 * cnn_conv2d_1x1_s8 with the shift-0 multipliers below 2^30 that cnnc makes
 * (pw_small_mult), whose channel pairs the DSP path requantizes in registers
 * (s8_pw_rq4): odd and even pair counts, kp == 4, every block width, partial
 * quads and several pixel groups, the zero points' edges and every clamp,
 * biases at the int32 limits (sums that wrap), saturated outputs.
 */
static void pw_small_cases(void)
{
    static const int16_t ins[] = {1, 2, 3, 5, 8, 9, 15, 16, 31, 32, 64, 65, 96, 191, 192};
    static const int16_t outs[] = {2, 3, 4, 6, 8, 10, 16, 32, 40, 64};
    static const int16_t maps[][2] = {{1, 1}, {1, 2}, {2, 3}, {4, 4}, {3, 5},
                                      {8, 8}, {5, 7}, {16, 16}, {12, 13}, {1, 37}};
    size_t i;
    for (i = 0; i < 3 * sizeof ins / sizeof ins[0]; i++) {
        const int16_t *m = maps[(i * 7) % 10];
        pw_one(ins[i % 15], outs[(i * 3) % 10], m[0], m[1], 3, (int)(i % 3));
    }
    for (i = 0; i < 6; i++)     /* pw1 .. pw5 of mobilenet_tiny */
        pw_one(i % 3 == 0 ? 8 : i % 3 == 1 ? 32 : 64, i % 3 == 0 ? 16 : 64, i % 3 ? 4 : 16,
               i % 3 ? 4 : 16, 3, (int)(i % 3));
}

/* cnn_dwconv3x3_s8 on the shapes of its expanded path (stride 1 or 2 on
 * both axes, rows of up to 16 outputs, bands of rows) and just outside it:
 * zero paddings 0..3, 1x1 and 2x2 maps, odd widths (a partial last group of
 * four), zero points at the edges, every clamp, the requantization forms
 * (shift 0, small negative shifts, and per channel the forms that take the
 * other path: shift -1, positive shifts, biases of 2^29 and beyond). */
static void dwconv3x3_case(void)
{
    CnnQConv2dParams q;
    CnnConv2dParams *g = &q.g;
    int32_t n_in, n_out, o, i;
    const int mode = (int)(rnd() % 4);

    memset(&q, 0, sizeof q);
    g->in_c = g->out_c = g->groups = rint_in(1, 9);
    g->in_h = rnd() % 5 == 0 ? rint_in(1, 2) : rint_in(1, 40);
    g->in_w = rnd() % 5 == 0 ? rint_in(1, 2) : rint_in(1, rnd() % 2 ? 20 : 44);
    g->kernel_h = g->kernel_w = 3;
    g->dilation_h = g->dilation_w = 1;
    g->stride_w = rint_in(1, 2);
    g->stride_h = rnd() % 8 == 0 ? rint_in(1, 3) : g->stride_w;
    g->pad_mode = CNN_PAD_ZEROS;
    g->pad_top = rint_in(0, 3);
    g->pad_bottom = rint_in(0, 3);
    g->pad_left = rint_in(0, 3);
    g->pad_right = rint_in(0, 3);
    g->out_h = (int32_t)cnn_out_size(g->in_h, 3, g->stride_h, g->pad_top, g->pad_bottom, 1, 0);
    g->out_w = (int32_t)cnn_out_size(g->in_w, 3, g->stride_w, g->pad_left, g->pad_right, 1, 0);
    if (g->out_h < 1 || g->out_w < 1)
        return;
    n_in = g->in_c * g->in_h * g->in_w;
    n_out = g->out_c * g->out_h * g->out_w;
    if (n_in > IN_MAX || n_out > OUT_MAX || cnn_conv2d_s8_kind(g) != CNN_CONV_S8_DW3X3)
        return;
    cases++;
    q.in_zp = rand_zp();
    q.out_zp = rand_zp();
    rand_clamp(q.out_zp, &q.act_min, &q.act_max);
    q.mult = mult_buf;
    q.shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, 9 * g->out_c);
    for (i = 0; i < 9 * g->out_c; i++)
        w_buf[i] = w_buf[i] == -128 ? -127 : w_buf[i];
    rand_bias(g->out_c);
    rand_requant(g->out_c, 9);
    for (o = 0; o < g->out_c; o++) {
        if (mode == 0)
            shift_buf[o] = 0;
        else if (mode == 2)
            shift_buf[o] = -1;
        else if (mode == 1 && rnd() % 3 == 0)
            shift_buf[o] = (int8_t)rint_in(-3, 2);
        if (rnd() % 6 == 0)
            bias_buf[o] = (rnd() % 2 ? 1 : -1) * (int32_t)((1u << 29) - 146304u + rint_in(-2, 2));
        if (rnd() % 8 == 0)
            mult_buf[o] = rnd() % 2 ? 0x7fffffff : 0x40000000;
    }
    canary(out_ref, n_out, 0x5a);
    cnn_conv2d_ref_s8(&q, in_buf, w_buf, bias_buf, out_ref);
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_DW3X3, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_DW3X3, w_buf, bias_buf, q.in_zp, biasp_buf);
    canary(out_fast, n_out + 4, (int8_t)0xa5);
    cnn_dwconv3x3_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_dwconv3x3_s8", out_fast, out_ref, n_out);
    for (i = n_out; i < n_out + 4; i++)
        if (out_fast[i] != (int8_t)0xa5) {
            mcu_puts("FAIL cnn_dwconv3x3_s8: wrote past its output\n");
            failures++;
            break;
        }
}

/* cnn_dwconv3x3_s8 on small maps of many channels (mobilenet's later
 * depthwise layers): rows of 1..4 words widened without an inner loop
 * (widths 4, 8, 12, 16) and the widths beside them, stride 1 or 2, zero
 * paddings 0..2, zero points at -128 and 127, every shift 0 (the weight
 * pairs and constants of the shift-0 form) or random, every clamp. */
static void dwconv3x3_small_case(void)
{
    static const int32_t widths[] = { 4, 8, 12, 16, 3, 5, 7, 9, 13, 15, 17 };
    CnnQConv2dParams q;
    CnnConv2dParams *g = &q.g;
    int32_t n_in, n_out, o, i;

    memset(&q, 0, sizeof q);
    g->in_w = widths[rnd() % (sizeof widths / sizeof widths[0])];
    g->in_h = rnd() % 2 ? g->in_w : rint_in(1, 17);
    g->in_c = g->out_c = g->groups = rint_in(1, CH_MAX);
    while (g->in_c > 1 && g->in_c * g->in_h * g->in_w > IN_MAX)
        g->in_c = g->out_c = g->groups = g->in_c / 2;
    g->kernel_h = g->kernel_w = 3;
    g->dilation_h = g->dilation_w = 1;
    g->stride_w = g->stride_h = rint_in(1, 2);
    g->pad_mode = CNN_PAD_ZEROS;
    g->pad_top = g->pad_left = rnd() % 4 == 0 ? rint_in(0, 2) : 1;
    g->pad_bottom = g->pad_right = rnd() % 4 == 0 ? rint_in(0, 2) : 1;
    g->out_h = (int32_t)cnn_out_size(g->in_h, 3, g->stride_h, g->pad_top, g->pad_bottom, 1, 0);
    g->out_w = (int32_t)cnn_out_size(g->in_w, 3, g->stride_w, g->pad_left, g->pad_right, 1, 0);
    if (g->out_h < 1 || g->out_w < 1)
        return;
    n_in = g->in_c * g->in_h * g->in_w;
    n_out = g->out_c * g->out_h * g->out_w;
    if (n_in > IN_MAX || n_out + 4 > OUT_MAX || cnn_conv2d_s8_kind(g) != CNN_CONV_S8_DW3X3)
        return;
    cases++;
    q.in_zp = rnd() % 3 == 0 ? (rnd() % 2 ? -128 : 127) : rand_zp();
    q.out_zp = rnd() % 3 == 0 ? (rnd() % 2 ? -128 : 127) : rand_zp();
    rand_clamp(q.out_zp, &q.act_min, &q.act_max);
    q.mult = mult_buf;
    q.shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, 9 * g->out_c);
    for (i = 0; i < 9 * g->out_c; i++)
        w_buf[i] = w_buf[i] == -128 ? -127 : w_buf[i];
    rand_bias(g->out_c);
    rand_requant(g->out_c, 9);
    if (rnd() % 3 != 0)
        for (o = 0; o < g->out_c; o++) {
            shift_buf[o] = 0;
            if (rnd() % 16 == 0)
                bias_buf[o] = (rnd() % 2 ? 1 : -1) * (int32_t)((1u << 29) - 146304u + rint_in(-2, 2));
        }
    canary(out_ref, n_out, 0x5a);
    cnn_conv2d_ref_s8(&q, in_buf, w_buf, bias_buf, out_ref);
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_DW3X3, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_DW3X3, w_buf, bias_buf, q.in_zp, biasp_buf);
    canary(out_fast, n_out + 4, (int8_t)0xa5);
    cnn_dwconv3x3_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_dwconv3x3_s8 (small maps)", out_fast, out_ref, n_out);
    for (i = n_out; i < n_out + 4; i++)
        if (out_fast[i] != (int8_t)0xa5) {
            mcu_puts("FAIL cnn_dwconv3x3_s8: wrote past its output\n");
            failures++;
            break;
        }
}

/* cnn_dwconv3x3_s8's rq-in-tile path, every channel in one loop: every
 * shift 0 with rows of 4, 8, 12 or 16 outputs at stride 1 (eight-output
 * tiles, a four-output tail on rows of 12) and 4 or 8 at stride 2, maps of
 * 1..30 output rows (one band up to 23 rows at stride 1 and 12 at stride
 * 2, several bands beyond), one to 64 channels, zero paddings 0..2 on each
 * side, zero points at -128 and 127, multipliers from 2^21 to 2^31 (small
 * sums and saturation), biases up to the path's bound, every clamp. */
static void dwconv3x3_rq_case(void)
{
    static const int32_t w1[] = { 4, 8, 12, 16 }, w2[] = { 4, 8 };
    CnnQConv2dParams q;
    CnnConv2dParams *g = &q.g;
    int32_t n_in, n_out, o, i;

    memset(&q, 0, sizeof q);
    g->stride_w = g->stride_h = rint_in(1, 2);
    g->out_w = g->stride_w == 1 ? w1[rnd() % 4] : w2[rnd() % 2];
    switch (rnd() % 3) {        /* square, any, or about one band's rows */
    case 0:
        g->out_h = g->out_w;
        break;
    case 1:
        g->out_h = rint_in(1, 30);
        break;
    default:
        g->out_h = g->stride_h == 1 ? rint_in(20, 30) : rint_in(10, 16);
    }
    g->pad_top = rint_in(0, 2);
    g->pad_bottom = rint_in(0, 2);
    g->pad_left = rint_in(0, 2);
    g->pad_right = rint_in(0, 2);
    g->in_w = (g->out_w - 1) * g->stride_w + 3 - g->pad_left - g->pad_right;
    g->in_h = (g->out_h - 1) * g->stride_h + 3 - g->pad_top - g->pad_bottom;
    g->in_c = g->out_c = g->groups = rint_in(1, CH_MAX);
    while (g->in_c > 1 && (g->in_c * g->in_h * g->in_w > IN_MAX ||
                           g->out_c * g->out_h * g->out_w + 4 > OUT_MAX))
        g->in_c = g->out_c = g->groups = g->in_c / 2;
    g->kernel_h = g->kernel_w = 3;
    g->dilation_h = g->dilation_w = 1;
    g->pad_mode = CNN_PAD_ZEROS;
    if (g->in_w < 1 || g->in_h < 1 ||
        (int32_t)cnn_out_size(g->in_h, 3, g->stride_h, g->pad_top, g->pad_bottom, 1, 0) !=
            g->out_h ||
        (int32_t)cnn_out_size(g->in_w, 3, g->stride_w, g->pad_left, g->pad_right, 1, 0) !=
            g->out_w)
        return;
    n_in = g->in_c * g->in_h * g->in_w;
    n_out = g->out_c * g->out_h * g->out_w;
    if (n_in > IN_MAX || n_out + 4 > OUT_MAX || cnn_conv2d_s8_kind(g) != CNN_CONV_S8_DW3X3)
        return;
    cases++;
    q.in_zp = rnd() % 3 == 0 ? (rnd() % 2 ? -128 : 127) : rand_zp();
    q.out_zp = rnd() % 3 == 0 ? (rnd() % 2 ? -128 : 127) : rand_zp();
    rand_clamp(q.out_zp, &q.act_min, &q.act_max);
    q.mult = mult_buf;
    q.shift = shift_buf;
    fill(in_buf, n_in);
    fill(w_buf, 9 * g->out_c);
    for (i = 0; i < 9 * g->out_c; i++)
        w_buf[i] = w_buf[i] == -128 ? -127 : w_buf[i];
    for (o = 0; o < g->out_c; o++) {
        shift_buf[o] = 0;
        mult_buf[o] = (int32_t)((0x40000000u + (rnd() & 0x3fffffffu)) >> rint_in(0, 9));
        bias_buf[o] = rnd() % 16 == 0
                          ? (rnd() % 2 ? 1 : -1) * (int32_t)((1u << 29) - 146304u - rint_in(0, 2))
                          : rint_in(-100000, 100000);
    }
    canary(out_ref, n_out, 0x5a);
    cnn_conv2d_ref_s8(&q, in_buf, w_buf, bias_buf, out_ref);
    cnn_conv2d_pack_s8(g, CNN_CONV_S8_DW3X3, w_buf, wp_buf);
    cnn_conv2d_pack_bias_s8(g, CNN_CONV_S8_DW3X3, w_buf, bias_buf, q.in_zp, biasp_buf);
    canary(out_fast, n_out + 4, (int8_t)0xa5);
    cnn_dwconv3x3_s8(&q, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_dwconv3x3_s8 (rq in the tiles)", out_fast, out_ref, n_out);
    for (i = n_out; i < n_out + 4; i++)
        if (out_fast[i] != (int8_t)0xa5) {
            mcu_puts("FAIL cnn_dwconv3x3_s8: wrote past its output\n");
            failures++;
            break;
        }
}

static void dwconv3x3_rq_cases(int n)
{
    int i;
    for (i = 0; i < n; i++)
        dwconv3x3_rq_case();
}

/* ---- linear ----------------------------------------------------------------- */

static void linear_case(void)
{
    CnnQLinearParams p;
    int32_t n_w;

    p.in_features = rint_in(1, rnd() % 3 == 0 ? 200 : 23);
    p.out_features = rint_in(1, 40);
    n_w = p.in_features * p.out_features;
    if (n_w > W_MAX)
        return;
    cases++;
    p.in_zp = rand_zp();
    p.out_zp = rand_zp();
    rand_clamp(p.out_zp, &p.act_min, &p.act_max);
    p.mult = mult_buf;
    p.shift = shift_buf;
    fill(in_buf, p.in_features);
    fill(w_buf, n_w);
    rand_bias(p.out_features);
    rand_requant(p.out_features, p.in_features);

    canary(out_ref, p.out_features, 0x5a);
    cnn_linear_ref_s8(&p, in_buf, w_buf, bias_buf, out_ref);
    cnn_linear_pack_s8(p.in_features, p.out_features, w_buf, wp_buf);
    cnn_linear_pack_bias_s8(p.in_features, p.out_features, w_buf, bias_buf, p.in_zp, biasp_buf);
    canary(out_fast, p.out_features, (int8_t)0xa5);
    cnn_linear_s8(&p, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_linear_s8", out_fast, out_ref, p.out_features);
#ifndef S8_MCU
    if (dump) {
        DUMP("case linear\nquant %ld %ld %ld %ld %ld %ld\n", (long)p.in_features,
             (long)p.out_features, (long)p.in_zp, (long)p.out_zp, (long)p.act_min,
             (long)p.act_max);
        dump_arr8("in", in_buf, p.in_features);
        dump_arr8("w", w_buf, n_w);
        dump_arr32("bias", bias_buf, p.out_features);
        dump_arr32("mult", mult_buf, p.out_features);
        dump_shift(p.out_features);
        dump_arr8("out", out_fast, p.out_features);
    }
#endif
}

/* cnn_linear_s8 on the shapes and forms of its DSP path: inputs widened on
 * the stack (up to 512) or not (more), two chunks a step with one left over
 * or not, the in % 4 tail, the out % 4 rows; every row's shift 0, or every
 * one negative (-1 and down to -22, the doubled-sum requantization), or
 * each row either (the two forms mixed), or any; biases at the doubled
 * sum's limit (2^29) and past it. */
static void linear_forms_case(void)
{
    CnnQLinearParams p;
    int32_t n_w, o;
    const int mode = (int)(rnd() % 4);

    p.in_features = rnd() % 4 == 0 ? rint_in(500, 600) : rint_in(1, 140);
    p.out_features = rint_in(1, 27);
    n_w = p.in_features * p.out_features;
    if (n_w > W_MAX)
        return;
    cases++;
    p.in_zp = rand_zp();
    p.out_zp = rand_zp();
    rand_clamp(p.out_zp, &p.act_min, &p.act_max);
    p.mult = mult_buf;
    p.shift = shift_buf;
    fill(in_buf, p.in_features);
    fill(w_buf, n_w);
    rand_bias(p.out_features);
    rand_requant(p.out_features, p.in_features);
    for (o = 0; o < p.out_features; o++) {
        if (mode == 0)
            shift_buf[o] = 0;
        else if (mode == 1)
            shift_buf[o] = (int8_t)(rnd() % 4 == 0 ? rint_in(-22, -1) : -1 - (int32_t)(rnd() % 3));
        else if (mode == 2)
            shift_buf[o] = (int8_t)(rnd() % 2 ? 0 : rint_in(-22, -1));
        if (rnd() % 8 == 0)
            bias_buf[o] = (rnd() % 2 ? 1 : -1) * (int32_t)((1u << 29) - 1u - (uint32_t)rint_in(0, 1));
        if (rnd() % 8 == 0)
            mult_buf[o] = rnd() % 2 ? 0x7fffffff : 0x40000000;
    }
    canary(out_ref, p.out_features, 0x5a);
    cnn_linear_ref_s8(&p, in_buf, w_buf, bias_buf, out_ref);
    cnn_linear_pack_s8(p.in_features, p.out_features, w_buf, wp_buf);
    cnn_linear_pack_bias_s8(p.in_features, p.out_features, w_buf, bias_buf, p.in_zp, biasp_buf);
    canary(out_fast, p.out_features + 4, (int8_t)0xa5);
    cnn_linear_s8(&p, in_buf, wp_buf, biasp_buf, out_fast);
    compare("cnn_linear_s8 (forms)", out_fast, out_ref, p.out_features);
    for (o = p.out_features; o < p.out_features + 4; o++)
        if (out_fast[o] != (int8_t)0xa5) {
            mcu_puts("FAIL cnn_linear_s8: wrote past its output\n");
            failures++;
            break;
        }
}

/* cnn_linear_s8's aligned path (four chunks a step, LDM of the block's row
 * words; with Helium, one VLD4 of them) and the unaligned one beside it: in_features around multiples of
 * 16 (0..3 chunks and the in % 4 tail left after the steps), 1..13 rows,
 * weights at an aligned address or 1..3 bytes past it, zero points at
 * -128 and 127, all-extreme inputs and weights (the sums' limits), shift 0
 * (the doubled-sum form) or any, every clamp. */
static void linear_ldm_case(void)
{
    CnnQLinearParams p;
    int32_t n_w, o;
    const uint32_t mis = rnd() % 3 == 0 ? (uint32_t)rint_in(1, 3) : 0u;
    int8_t *wp = wp_buf + ((4u - ((uint32_t)(uintptr_t)wp_buf & 3u)) & 3u) + mis;

    p.in_features = 16 * rint_in(1, rnd() % 4 == 0 ? 33 : 8) + rint_in(0, 15);
    p.out_features = rint_in(1, 13);
    n_w = p.in_features * p.out_features;
    if (n_w + 8 > W_MAX)
        return;
    cases++;
    p.in_zp = rnd() % 3 == 0 ? (rnd() % 2 ? -128 : 127) : rand_zp();
    p.out_zp = rnd() % 3 == 0 ? (rnd() % 2 ? -128 : 127) : rand_zp();
    rand_clamp(p.out_zp, &p.act_min, &p.act_max);
    p.mult = mult_buf;
    p.shift = shift_buf;
    fill(in_buf, p.in_features);
    fill(w_buf, n_w);
    rand_bias(p.out_features);
    rand_requant(p.out_features, p.in_features);
    if (rnd() % 2)
        for (o = 0; o < p.out_features; o++)
            shift_buf[o] = 0;
    canary(out_ref, p.out_features, 0x5a);
    cnn_linear_ref_s8(&p, in_buf, w_buf, bias_buf, out_ref);
    cnn_linear_pack_s8(p.in_features, p.out_features, w_buf, wp);
    cnn_linear_pack_bias_s8(p.in_features, p.out_features, w_buf, bias_buf, p.in_zp, biasp_buf);
    canary(out_fast, p.out_features + 4, (int8_t)0xa5);
    cnn_linear_s8(&p, in_buf, wp, biasp_buf, out_fast);
    compare("cnn_linear_s8 (aligned steps)", out_fast, out_ref, p.out_features);
    for (o = p.out_features; o < p.out_features + 4; o++)
        if (out_fast[o] != (int8_t)0xa5) {
            mcu_puts("FAIL cnn_linear_s8: wrote past its output\n");
            failures++;
            break;
        }
}

/* ---- add -------------------------------------------------------------------- */

static void add_case(void)
{
    CnnQAddParams p;
    int32_t zp[3], m[3], k, n = rint_in(1, 300);
    int8_t sh[3];
    const int8_t *ins[3];

    cases++;
    p.nin = rint_in(2, 3);
    p.left_shift = 20;
    for (k = 0; k < p.nin; k++) {
        zp[k] = rand_zp();
        m[k] = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
        sh[k] = (int8_t)rint_in(-3, 0);
    }
    p.in_zp = zp;
    p.in_mult = m;
    p.in_shift = sh;
    p.out_zp = rand_zp();
    p.out_mult = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
    p.out_shift = rint_in(-21, -17);
    rand_clamp(p.out_zp, &p.act_min, &p.act_max);
    fill(in_buf, n);
    fill(in2_buf, n);
    fill(in3_buf, n);
    ins[0] = in_buf;
    ins[1] = rnd() % 8 == 0 ? in_buf : in2_buf;     /* x + x */
    ins[2] = in3_buf;
    cnn_add_ref_s8(&p, ins, out_ref, n);
    cnn_add_s8(&p, ins, out_fast, n);
    compare("cnn_add_s8", out_fast, out_ref, n);
    /* in place on the first input */
    memcpy(out_fast, in_buf, (size_t)n);
    ins[0] = out_fast;
    if (ins[1] == in_buf)
        ins[1] = out_fast;
    cnn_add_s8(&p, ins, out_fast, n);
    compare("cnn_add_s8 (in place)", out_fast, out_ref, n);
#ifndef S8_MCU
    if (dump) {
        DUMP("case add\nquant %ld %ld %ld %ld %ld %ld %ld\n", (long)p.nin, (long)p.left_shift,
             (long)p.out_zp, (long)p.out_mult, (long)p.out_shift, (long)p.act_min,
             (long)p.act_max);
        dump_arr32("zp", zp, p.nin);
        dump_arr32("mult", m, p.nin);
        {
            int32_t s32[3];
            for (k = 0; k < p.nin; k++)
                s32[k] = sh[k];
            dump_arr32("shift", s32, p.nin);
        }
        dump_arr8("in0", in_buf, n);
        dump_arr8("in1", ins[1] == out_fast ? in_buf : in2_buf, n);
        dump_arr8("in2", in3_buf, n);
        dump_arr8("out", out_ref, n);
    }
#endif
}

#ifndef S8_MCU
/* ---- the kernels with no fast twin, dumped for check_s8_ref.py ----------- */

static double sigmoid_d(double x, double arg)
{
    (void)arg;
    return 1.0 / (1.0 + exp(-x));
}

static void dump_others(void)
{
    int c;
    for (c = 0; c < 40; c++) {
        CnnPool2dParams pp;
        int32_t n_in, n_out, zp = rand_zp();
        int ceil_mode = (int)(rnd() % 2);
        memset(&pp, 0, sizeof pp);
        pp.channels = rint_in(1, 4);
        pp.in_h = rint_in(1, 9);
        pp.in_w = rint_in(1, 9);
        pp.kernel_h = rint_in(1, 4);
        pp.kernel_w = rint_in(1, 4);
        pp.stride_h = rint_in(1, 3);
        pp.stride_w = rint_in(1, 3);
        pp.dilation_h = c % 3 == 0 ? 1 : rint_in(1, 2);
        pp.dilation_w = c % 3 == 0 ? 1 : rint_in(1, 2);
        pp.pad_top = pp.pad_bottom = rint_in(0, pp.kernel_h / 2);
        pp.pad_left = pp.pad_right = rint_in(0, pp.kernel_w / 2);
        pp.count_include_pad = (int32_t)(rnd() % 2);
        if (c % 3 == 0) {       /* avg: no dilation */
            pp.dilation_h = pp.dilation_w = 1;
        }
        if (c % 5 == 1) {       /* the 2x2 stride-2 max pool's own path */
            pp.kernel_h = pp.kernel_w = pp.stride_h = pp.stride_w = 2;
            pp.dilation_h = pp.dilation_w = 1;
            pp.pad_top = pp.pad_bottom = pp.pad_left = pp.pad_right = 0;
        }
        pp.out_h = (int32_t)cnn_out_size(pp.in_h, pp.kernel_h, pp.stride_h, pp.pad_top,
                                         pp.pad_bottom, pp.dilation_h, ceil_mode);
        pp.out_w = (int32_t)cnn_out_size(pp.in_w, pp.kernel_w, pp.stride_w, pp.pad_left,
                                         pp.pad_right, pp.dilation_w, ceil_mode);
        if (pp.out_h < 1 || pp.out_w < 1)
            continue;
        n_in = pp.channels * pp.in_h * pp.in_w;
        n_out = pp.channels * pp.out_h * pp.out_w;
        fill(in_buf, n_in);
        DUMP("case pool\ngeom %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld "
             "%ld %ld\n",
             (long)pp.channels, (long)pp.in_h, (long)pp.in_w, (long)pp.out_h, (long)pp.out_w,
             (long)pp.kernel_h, (long)pp.kernel_w, (long)pp.stride_h, (long)pp.stride_w,
             (long)pp.dilation_h, (long)pp.dilation_w, (long)pp.pad_top, (long)pp.pad_bottom,
             (long)pp.pad_left, (long)pp.pad_right, (long)pp.count_include_pad, (long)zp,
             (long)ceil_mode);
        dump_arr8("in", in_buf, n_in);
        cnn_maxpool2d_s8(&pp, in_buf, out_fast);
        dump_arr8("max", out_fast, n_out);
        cnn_minpool2d_s8(&pp, in_buf, out_fast);
        dump_arr8("min", out_fast, n_out);
        if (c % 3 == 0) {
            cnn_avgpool2d_s8(&pp, in_buf, out_fast, zp);
            dump_arr8("avg", out_fast, n_out);
        }
        cnn_global_maxpool_s8(in_buf, out_fast, pp.channels, pp.in_h * pp.in_w);
        dump_arr8("gmax", out_fast, pp.channels);
        cnn_global_avgpool_s8(in_buf, out_fast, pp.channels, pp.in_h * pp.in_w, zp);
        dump_arr8("gavg", out_fast, pp.channels);
    }
    for (c = 0; c < 20; c++) {      /* concat */
        CnnQConcatParams p;
        int32_t sizes[3], zp[3], m[3], k, total = 0;
        int8_t sh[3];
        const int8_t *ins[3] = { in_buf, in2_buf, in3_buf };
        p.nin = rint_in(1, 3);
        p.out_zp = rand_zp();
        for (k = 0; k < p.nin; k++) {
            sizes[k] = rint_in(1, 50);
            total += sizes[k];
            if (rnd() % 3 == 0) {   /* the output's parameters: a copy */
                zp[k] = p.out_zp;
                m[k] = 1 << 30;
                sh[k] = 1;
            } else {
                zp[k] = rand_zp();
                m[k] = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
                sh[k] = (int8_t)rint_in(-2, 2);
            }
            fill((int8_t *)ins[k], sizes[k]);
        }
        p.sizes = sizes;
        p.in_zp = zp;
        p.mult = m;
        p.shift = sh;
        cnn_concat_s8(&p, ins, out_fast);
        DUMP("case concat\nquant %ld %ld\n", (long)p.nin, (long)p.out_zp);
        {
            int32_t s32[3];
            for (k = 0; k < p.nin; k++)
                s32[k] = sh[k];
            dump_arr32("zp", zp, p.nin);
            dump_arr32("mult", m, p.nin);
            dump_arr32("shift", s32, p.nin);
        }
        for (k = 0; k < p.nin; k++)
            dump_arr8("in", ins[k], sizes[k]);
        dump_arr8("out", out_fast, total);
    }
    for (c = 0; c < 20; c++) {      /* mul */
        CnnQMulParams p;
        p.channels = rint_in(1, 6);
        p.spatial = rint_in(1, 20);
        p.gate_spatial = rnd() % 2 ? 1 : p.spatial;
        p.x_zp = rand_zp();
        p.gate_zp = rand_zp();
        p.out_zp = rand_zp();
        p.mult = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
        p.shift = rint_in(-10, -5);
        rand_clamp(p.out_zp, &p.act_min, &p.act_max);
        fill(in_buf, p.channels * p.spatial);
        fill(in2_buf, p.channels * p.gate_spatial);
        cnn_mul_s8(&p, in_buf, in2_buf, out_fast);
        DUMP("case mul\nquant %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld\n", (long)p.channels,
             (long)p.spatial, (long)p.gate_spatial, (long)p.x_zp, (long)p.gate_zp,
             (long)p.out_zp, (long)p.mult, (long)p.shift, (long)p.act_min, (long)p.act_max);
        dump_arr8("x", in_buf, p.channels * p.spatial);
        dump_arr8("gate", in2_buf, p.channels * p.gate_spatial);
        dump_arr8("out", out_fast, p.channels * p.spatial);
    }
    for (c = 0; c < 10; c++) {      /* sigmoid by table, softmax */
        int8_t table[256];
        int32_t exp_table[256], zp = rand_zp(), ch = rint_in(1, 12), sp = rint_in(1, 5);
        double scale = (double)rint_in(1, 1000) / 4000.0;
        cnn_lut_s8_fill(table, sigmoid_d, 0.0, scale, zp, 1.0 / 256.0, -128);
        fill(in_buf, ch * sp);
        cnn_lut_s8(table, in_buf, out_fast, ch * sp);
        DUMP("case sigmoid\nquant %.17g %ld\n", scale, (long)zp);
        dump_arr8("table", table, 256);
        dump_arr8("in", in_buf, ch * sp);
        dump_arr8("out", out_fast, ch * sp);
        cnn_softmax_table_s8(scale, exp_table);
        cnn_softmax_s8(exp_table, in_buf, out_fast, ch, sp);
        DUMP("case softmax\nquant %.17g %ld %ld\n", scale, (long)ch, (long)sp);
        dump_arr32("table", exp_table, 256);
        dump_arr8("in", in_buf, ch * sp);
        dump_arr8("out", out_fast, ch * sp);
    }
    for (c = 0; c < 20; c++) {      /* pad */
        CnnQPadParams p;
        int32_t oh, ow;
        memset(&p, 0, sizeof p);
        p.g.channels = rint_in(1, 3);
        p.g.in_h = rint_in(1, 6);
        p.g.in_w = rint_in(1, 6);
        p.g.mode = (CnnPadMode)(rnd() % 4);
        p.g.pad_top = rint_in(0, p.g.mode == CNN_PAD_REFLECT ? p.g.in_h - 1 : 3);
        p.g.pad_bottom = rint_in(0, p.g.mode == CNN_PAD_REFLECT ? p.g.in_h - 1 : 3);
        p.g.pad_left = rint_in(0, p.g.mode == CNN_PAD_REFLECT ? p.g.in_w - 1 : 3);
        p.g.pad_right = rint_in(0, p.g.mode == CNN_PAD_REFLECT ? p.g.in_w - 1 : 3);
        if (p.g.mode == CNN_PAD_CIRCULAR) {
            p.g.pad_top = p.g.pad_top > p.g.in_h ? p.g.in_h : p.g.pad_top;
            p.g.pad_bottom = p.g.pad_bottom > p.g.in_h ? p.g.in_h : p.g.pad_bottom;
            p.g.pad_left = p.g.pad_left > p.g.in_w ? p.g.in_w : p.g.pad_left;
            p.g.pad_right = p.g.pad_right > p.g.in_w ? p.g.in_w : p.g.pad_right;
        }
        p.value = rand_s8();
        oh = p.g.in_h + p.g.pad_top + p.g.pad_bottom;
        ow = p.g.in_w + p.g.pad_left + p.g.pad_right;
        fill(in_buf, p.g.channels * p.g.in_h * p.g.in_w);
        cnn_pad2d_s8(&p, in_buf, out_fast);
        DUMP("case pad\nquant %ld %ld %ld %ld %ld %ld %ld %d %d\n", (long)p.g.channels,
             (long)p.g.in_h, (long)p.g.in_w, (long)p.g.pad_top, (long)p.g.pad_bottom,
             (long)p.g.pad_left, (long)p.g.pad_right, (int)p.g.mode, p.value);
        dump_arr8("in", in_buf, p.g.channels * p.g.in_h * p.g.in_w);
        dump_arr8("out", out_fast, p.g.channels * oh * ow);
    }
}
#endif

/* ---- the epilogue's fast requantization ---------------------------------- */

static void put32(int8_t *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (int8_t)(u & 0xff), p[1] = (int8_t)((u >> 8) & 0xff);
    p[2] = (int8_t)((u >> 16) & 0xff), p[3] = (int8_t)(u >> 24);
}

enum { RQ_N = 64 };

/* An accumulator: the int32 edges, small values, and values at and beside
 * the ties of x * m / 2^(31 + e) (e = -shift). */
static int32_t rq_acc(int32_t m, int shift)
{
    const int e = shift < 0 ? -shift : 0;
    switch (rnd() % 8) {
    case 0: {
        static const int32_t edge[] = { INT32_MIN, INT32_MIN + 1, -(1 << 30) - 1, -(1 << 30),
                                        -65536, -2, -1, 0, 1, 2, 65535, (1 << 30),
                                        INT32_MAX - 1, INT32_MAX };
        return edge[rnd() % (sizeof edge / sizeof edge[0])];
    }
    case 1:
    case 2:
        if (m > 0 && e < 31) {
            /* (j + 1/2) * 2^(31 + e) / m, rounded, +- 1 */
            const int32_t lim = e >= 10 ? (1 << (30 - e)) - 1 : 1 << 20;
            const int64_t j = (int64_t)rint_in(-lim, lim);
            const int64_t t = (2 * j + 1) * ((int64_t)1 << (30 + e)) / m + rint_in(-1, 1);
            if (t >= INT32_MIN && t <= INT32_MAX)
                return (int32_t)t;
        }
        return rint_in(-1000, 1000);
    case 3:
        return (int32_t)rnd();
    default:
        return rint_in(-(1 << 22), 1 << 22);
    }
}

/* n accumulators through the fast forms and the reference arithmetic for
 * one (multiplier, shift, zp, bias, clamp). */
static void rq_run(int32_t m, int shift, int32_t zp, int32_t bias, int32_t lo, int32_t hi)
{
    int8_t s8 = (int8_t)shift;
    int32_t off, sh, i;
    CnnS8Rq rq;

    for (i = 0; i < RQ_N; i++) {
        const int32_t x = rq_acc(m, shift);
        put32(out_fast + 4 * i, cnn_s8_hi_nudged(x, m));
        put32(out_ref + 4 * i, cnn_q_hi_nudged(x, m));
    }
    compare("cnn_s8_hi_nudged", out_fast, out_ref, 4 * RQ_N);
    if (shift == 0 && m >= 0) {
        /* kind 2 of cnn_s8_rq_init */
        if (cnn_s8_rq_init(&rq, &bias, &m, &s8, zp, 1) != 2) {
            mcu_puts("FAIL cnn_s8_rq_init: a shift of 0 is not kind 2\n");
            failures++;
            return;
        }
        for (i = 0; i < RQ_N; i++) {
            const int32_t x = rq_acc(m, shift);
            put32(out_fast + 4 * i, cnn_s8_mul_fast0(x, m));
            put32(out_ref + 4 * i, cnn_q_mul_by_multiplier(x, m, 0));
        }
        compare("cnn_s8_mul_fast0", out_fast, out_ref, 4 * RQ_N);
        for (i = 0; i < RQ_N; i++) {
            const int32_t x = rq_acc(m, shift);
            out_fast[i] = cnn_s8_rq_apply0(x, &rq, lo, hi);
            out_ref[i] = cnn_s8_requant(cnn_s8_add_wrap(x, bias), m, shift, zp, lo, hi);
        }
        compare("cnn_s8_rq_apply0", out_fast, out_ref, RQ_N);
        return;
    }
    if (!cnn_q_fast_init(m, shift, zp, &off, &sh) ||
        cnn_s8_rq_init(&rq, &bias, &m, &s8, zp, 1) != 1) {
        /* the fast form must apply to every multiplier and shift of the
         * conv and linear layers cnnc makes */
        if (shift <= -2 && shift >= -22 && m >= 0) {
            mcu_puts("FAIL cnn_q_fast_init refuses a multiplier it must take\n");
            failures++;
        }
        return;
    }
    for (i = 0; i < RQ_N; i++) {
        const int32_t x = rq_acc(m, shift);
        put32(out_fast + 4 * i, cnn_q_mul_fast(x, m, off, sh));
        put32(out_ref + 4 * i, cnn_q_mul_by_multiplier(x, m, shift) + zp);
    }
    compare("cnn_q_mul_fast", out_fast, out_ref, 4 * RQ_N);
    for (i = 0; i < RQ_N; i++) {
        const int32_t x = rq_acc(m, shift);
        out_fast[i] = cnn_s8_rq_apply(x, &rq, lo, hi);
        out_ref[i] = cnn_s8_requant(cnn_s8_add_wrap(x, bias), m, shift, zp, lo, hi);
    }
    compare("cnn_s8_rq_apply", out_fast, out_ref, RQ_N);
}

/* Every shift with the edge multipliers and zero points, then random ones. */
static void requant_cases(int32_t random_cases)
{
    static const int32_t mults[] = { 0, 1 << 30, (1 << 30) + 1, INT32_MAX };
    static const int32_t zps[] = { -128, 0, 127 };
    int32_t shift, k, i, lo, hi, zp;
    for (shift = -31; shift <= 30; shift++)
        for (k = 0; k < 5; k++)
            for (i = 0; i < 3; i++) {
                const int32_t m = k < 4 ? mults[k] : (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
                const int32_t bias = rnd() % 4 ? rint_in(-100000, 100000) : (int32_t)rnd();
                rand_clamp(zps[i], &lo, &hi);
                rq_run(m, (int)shift, zps[i], bias, lo, hi);
            }
    for (k = 0; k < random_cases; k++) {
        /* one random draw a statement: argument order is unspecified */
        const int32_t m = (int32_t)(0x40000000u + (rnd() & 0x3fffffffu));
        const int shift = (int)rint_in(-24, 0);
        const int32_t bias = rint_in(-100000, 100000);
        zp = rand_zp();
        rand_clamp(zp, &lo, &hi);
        rq_run(m, shift, zp, bias, lo, hi);
    }
    cases++;
}

/* ---- driver -------------------------------------------------------------- */

/* ---- 2x2 stride-2 max pool ------------------------------------------------- */

/* cnn_maxpool2d_s8's own 2x2 path (two outputs a word on the DSP path)
 * against the window maximum computed here: odd and even sizes, the last
 * row and column dropped (floor mode). */
static void maxpool2x2_case(void)
{
    CnnPool2dParams pp;
    int32_t c, y, x, n_in, n_out;
    memset(&pp, 0, sizeof pp);
    pp.channels = rint_in(1, 5);
    pp.in_h = rint_in(2, 11);
    pp.in_w = rint_in(2, 21);
    pp.kernel_h = pp.kernel_w = pp.stride_h = pp.stride_w = 2;
    pp.dilation_h = pp.dilation_w = 1;
    pp.out_h = pp.in_h / 2;
    pp.out_w = pp.in_w / 2;
    n_in = pp.channels * pp.in_h * pp.in_w;
    n_out = pp.channels * pp.out_h * pp.out_w;
    if (n_in > IN_MAX || n_out > OUT_MAX)
        return;
    cases++;
    fill(in_buf, n_in);
    for (c = 0; c < pp.channels; c++)
        for (y = 0; y < pp.out_h; y++)
            for (x = 0; x < pp.out_w; x++) {
                const int8_t *r = in_buf + (c * pp.in_h + 2 * y) * pp.in_w + 2 * x;
                int8_t m = r[0];
                m = r[1] > m ? r[1] : m;
                m = r[pp.in_w] > m ? r[pp.in_w] : m;
                m = r[pp.in_w + 1] > m ? r[pp.in_w + 1] : m;
                out_ref[(c * pp.out_h + y) * pp.out_w + x] = m;
            }
    canary(out_fast, n_out, (int8_t)0xa5);
    cnn_maxpool2d_s8(&pp, in_buf, out_fast);
    compare("cnn_maxpool2d_s8 2x2", out_fast, out_ref, n_out);
}

/* cnn_global_avgpool_s8 (its DSP path sums four bytes a USADA8) against
 * the formula of cnn_int8.h: odd and word-multiple sizes, saturated inputs,
 * zero points at the edges. */
static void global_avgpool_edges(void);

static void global_avgpool_case(void)
{
    static int edges_done;
    const int32_t channels = rint_in(1, 9), spatial = rint_in(1, 300);
    const int32_t zp = rand_zp();
    int32_t c, s;
    if (!edges_done) {
        edges_done = 1;
        global_avgpool_edges();
    }
    if (channels * spatial > IN_MAX)
        return;
    cases++;
    fill(in_buf, channels * spatial);
    for (c = 0; c < channels; c++) {
        int32_t sum = 0, v;
        for (s = 0; s < spatial; s++)
            sum += in_buf[c * spatial + s] - zp;
        v = zp + cnn_s8_div_round(sum, spatial);
        out_ref[c] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
    }
    canary(out_fast, channels, (int8_t)0xa5);
    cnn_global_avgpool_s8(in_buf, out_fast, channels, spatial, zp);
    compare("cnn_global_avgpool_s8", out_fast, out_ref, channels);
}

/* cnn_global_avgpool_s8's rounding at its edges, against cnn_s8_div_round:
 * each channel's mean is a tie (half the taps v, half v + 1; n even) or
 * next to one, at zero points -128, 127 and others, both signs, the
 * saturated maps (all -128, all 127), sizes 1 to 67 (word tails 0 to 3). */
static void global_avgpool_edges(void)
{
    static const int32_t zps[] = { -128, 127, 0, -1, 5, -77 };
    static const int32_t sizes[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 16, 17, 18, 30, 64, 67 };
    int32_t zi, si, c, s;
    for (zi = 0; zi < (int32_t)(sizeof zps / sizeof zps[0]); zi++)
        for (si = 0; si < (int32_t)(sizeof sizes / sizeof sizes[0]); si++) {
            const int32_t zp = zps[zi], n = sizes[si], channels = 8;
            cases++;
            for (c = 0; c < channels; c++) {
                /* channel c: the base value v and how the taps split */
                const int32_t v0 = c == 0 ? -128 : c == 1 ? 127 : c == 2 ? zp - 1
                                 : c == 3 ? zp : (int32_t)(rnd() % 255) - 128;
                const int32_t v = v0 < -128 ? -128 : v0;
                const int32_t hi = v < 127 ? v + 1 : v;
                int32_t sum = 0, r;
                for (s = 0; s < n; s++) {
                    int32_t q = c < 2 ? v : s < n / 2 ? v : hi;
                    if (c >= 6 && s == 0)   /* one step off the tie */
                        q = c == 6 ? (v > -128 ? v - 1 : v) : (hi < 127 ? hi + 1 : hi);
                    in_buf[c * n + s] = (int8_t)q;
                    sum += q - zp;
                }
                r = zp + cnn_s8_div_round(sum, n);
                out_ref[c] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
            }
            canary(out_fast, channels, (int8_t)0xa5);
            cnn_global_avgpool_s8(in_buf, out_fast, channels, n, zp);
            compare("cnn_global_avgpool_s8 edges", out_fast, out_ref, channels);
        }
}

static void run(long n)
{
    long i;
    requant_cases((int32_t)(n / 4));
    pw_cases();
    pw_small_cases();
    dwconv3x3_rq_cases((int)(n / 8) + 16);
    conv_pool_w16_cases((int)(n / 8));
    for (i = 0; i < n; i++) {
        if (i % 4 == 1)
            while (!conv_rows_case())
                ;
        if (i % 4 == 3)
            while (!conv_cp_case())
                ;
        if (i % 4 == 1)
            while (!conv_cp_pool_case())
                ;
        if (i % 4 == 1)
            while (!conv_first_case())
                ;
        if (i % 4 == 3)
            while (!conv_pool_case())
                ;
        switch (i % 8) {
        case 0:
        case 1:
        case 2:
            while (!conv_case(0))
                ;
            break;
        case 3:
            while (!conv_case(1 + (int)(rnd() % 3)))
                ;
            break;
        case 4:
            if (i % 64 == 4)
                while (!conv_case(4))
                    ;
            else
                while (!conv_case(3))
                    ;
            break;
        case 5:
        case 6:
            linear_case();
            if (i % 4 == 1)
                dwconv3x3_case();
            else
                linear_forms_case();
            if (i % 8 == 5)
                linear_ldm_case();
            else
                dwconv3x3_small_case();
            break;
        default:
            add_case();
            if (i % 16 == 7)
                maxpool2x2_case();
            else
                global_avgpool_case();
        }
    }
}

static int finish(void)
{
    char line[64], *p = line;
    memcpy(p, "s8-hash ", 8);
    p = put_hex(p + 8, hash);
    memcpy(p, "\n", 2);
    mcu_puts(line);
    say("s8-cases ", cases, "\n");
    say("s8-compared ", compared, " bytes compared\n");
    say("s8-failures ", failures, "\n");
    return failures ? 1 : 0;
}

#ifdef S8_MCU
#ifndef S8_CASES
#define S8_CASES 400
#endif
int main(void)
{
    run(S8_CASES);
    return finish();
}
#else
int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--dump") == 0) {
        long i;
        dump = fopen(argv[2], "w");
        if (!dump) {
            perror(argv[2]);
            return 2;
        }
        rng_state ^= (uint64_t)strtoull(argv[3], NULL, 10) * 0x2545F4914F6CDD1Dull;
        for (i = 0; i < 60; i++) {
            while (!conv_case(i % 10 == 9 ? 4 : (int)(i % 4)))
                ;
            linear_case();
            if (i % 3 == 0)
                add_case();
        }
        dump_others();
        fclose(dump);
        return finish();
    }
    if (argc > 1)
        rng_state ^= (uint64_t)strtoull(argv[1], NULL, 10) * 0x2545F4914F6CDD1Dull;
    run(argc > 2 ? strtol(argv[2], NULL, 10) : 3000);
    return finish();
}
#endif
