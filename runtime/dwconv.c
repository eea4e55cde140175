/*
 * dwconv.c - cnn_dwconv3x3_f32, the depthwise 3x3 fast path, see cnn.h.
 *
 * One channel, one output row at a time.  Columns whose three taps are all
 * inside the input (the interior, found once per call) run a loop with no
 * branch: for stride 1 it reads three unit-stride input rows and vectorizes
 * across output columns; the at most one column at each edge whose window
 * reaches into the zero padding goes through a short checked loop.  When all
 * three input rows exist (every row but the first and last, with padding 1),
 * the nine taps of a column are summed in one pass, in registers; otherwise
 * each existing row is added in a pass of its own.
 *
 * The fused activation runs once per channel plane.
 *
 * Each output is the bias, then the taps (ky, kx) in row-major order with the
 * padded ones left out: the order of cnn_conv2d_f32, its reference twin, so
 * the two agree bit for bit.
 */
#include <stddef.h>

#include "cnn.h"
#include "cnn_internal.h"
#include "cnn_mac.h"
#include "conv_x86.h"

/* o[x] += w[0]*r[x*s + off] + w[1]*r[x*s + off + 1] + w[2]*r[x*s + off + 2],
 * each added in turn, for x in [lo, hi): one kernel row. */
static void dw_row3(float *CNN_RESTRICT o, const float *CNN_RESTRICT r, const float *w,
                    int32_t s, int32_t off, int32_t lo, int32_t hi)
{
    const float w0 = w[0], w1 = w[1], w2 = w[2];
    int32_t x;
    for (x = lo; x < hi; x++) {
        const float *t = r + x * s + off;
        float a = o[x];
        a = CNN_MAC(a, w0, t[0]);
        a = CNN_MAC(a, w1, t[1]);
        a = CNN_MAC(a, w2, t[2]);
        o[x] = a;
    }
}

/* All nine taps of the columns in [lo, hi) in one pass. */
static void dw_rows9(float *CNN_RESTRICT o, const float *CNN_RESTRICT r0,
                     const float *CNN_RESTRICT r1, const float *CNN_RESTRICT r2,
                     const float *w, float b, int32_t s, int32_t off, int32_t lo, int32_t hi)
{
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4];
    const float w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    int32_t x;
    for (x = lo; x < hi; x++) {
        const int32_t k = x * s + off;
        float a = b;
        a = CNN_MAC(a, w0, r0[k]);
        a = CNN_MAC(a, w1, r0[k + 1]);
        a = CNN_MAC(a, w2, r0[k + 2]);
        a = CNN_MAC(a, w3, r1[k]);
        a = CNN_MAC(a, w4, r1[k + 1]);
        a = CNN_MAC(a, w5, r1[k + 2]);
        a = CNN_MAC(a, w6, r2[k]);
        a = CNN_MAC(a, w7, r2[k + 1]);
        a = CNN_MAC(a, w8, r2[k + 2]);
        o[x] = a;
    }
}

/* One output column at the edge: the taps inside the input only.  The
 * valid kx run [ka, kb) is found once, so the tap loop has no check. */
static float dw_edge(const float *const rows[3], const float *w, float b, int32_t in_w,
                     int32_t c0)
{
    const int32_t ka = c0 < 0 ? -c0 : 0;
    const int32_t kb = c0 + 3 > in_w ? in_w - c0 : 3;
    float a = b;
    int32_t ky, kx;
    for (ky = 0; ky < 3; ky++) {
        if (!rows[ky])
            continue;
        for (kx = ka; kx < kb; kx++)
            a = CNN_MAC(a, w[ky * 3 + kx], rows[ky][c0 + kx]);
    }
    return a;
}

void cnn_dwconv3x3_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                       const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                       float *CNN_RESTRICT out)
{
    const int32_t s = p->stride_w, in_h = p->in_h, in_w = p->in_w;
    const int32_t out_h = p->out_h, out_w = p->out_w;
    const int32_t off = -p->pad_left;
    int32_t lo, hi, lo2, hi2, c, y, x, ky;

#if CNN_CONV_X86
    /* x86 with AVX-512 or AVX2: conv_x86.c's depthwise tiles, which fuse
     * each multiply-add like cnn_conv2d_f32 in that build. */
    if (cnn_conv2d_x86_f32(p, in, weight, bias, out, 0, p->out_h))
        return;
#endif
    /* Interior: tap 0 (offset off) and tap 2 (offset off + 2) both inside. */
    cnn_valid_range(off, s, out_w, in_w, &lo, &hi);
    cnn_valid_range(off + 2, s, out_w, in_w, &lo2, &hi2);
    if (lo2 > lo)
        lo = lo2;
    if (hi2 < hi)
        hi = hi2;
    if (hi < lo)
        hi = lo;

    for (c = 0; c < p->out_c; c++) {
        const float *ic = in + c * in_h * in_w;
        const float *w = weight + c * 9;
        const float b = bias ? bias[c] : 0.0f;
        for (y = 0; y < out_h; y++) {
            float *o = out + (c * out_h + y) * out_w;
            const float *rows[3];
            const int32_t r0 = y * p->stride_h - p->pad_top;
            int all = 1;
            for (ky = 0; ky < 3; ky++) {
                const int32_t r = r0 + ky;
                rows[ky] = r >= 0 && r < in_h ? ic + r * in_w : NULL;
                all &= rows[ky] != NULL;
            }
            if (all) {
                dw_rows9(o, rows[0], rows[1], rows[2], w, b, s, off, lo, hi);
            } else {
                for (x = lo; x < hi; x++)
                    o[x] = b;
                for (ky = 0; ky < 3; ky++)
                    if (rows[ky])
                        dw_row3(o, rows[ky], w + ky * 3, s, off, lo, hi);
            }
            for (x = 0; x < lo; x++)
                o[x] = dw_edge(rows, w, b, in_w, x * s + off);
            for (x = hi > lo ? hi : lo; x < out_w; x++)
                o[x] = dw_edge(rows, w, b, in_w, x * s + off);
        }
        /* Once per channel: a depthwise plane is small and still in cache,
         * and one call per row would cost more than the rows do. */
        if (p->act.fn)
            p->act.fn(out + c * out_h * out_w, out + c * out_h * out_w, out_h * out_w,
                      p->act.slope);
    }
}
