/*
 * conv.c - cnn_conv2d_f32 (and 1-D conv as H = 1), see cnn.h.
 *
 * Loop order: for each output row, the row is first set to the bias, then
 * every (input channel, ky, kx) tap adds weight * shifted input row to it.
 * The innermost loop runs over output columns with one weight held in a
 * register:  out[x] += w * in[x*stride + off].  It has no branch and no
 * reduction, so gcc and clang vectorize it without -ffast-math (contiguous
 * for stride 1).  The columns whose tap falls into the padding are cut off
 * beforehand (cnn_valid_range); for non-zero padding modes they are then
 * done one by one through the index map, outside the hot loop.
 */
#include "cnn.h"
#include "cnn_internal.h"

/* out[x] += sum_kx w[kx] * in[x*stride_w + kx*dilation_w - pad_left] for one
 * input row and one kernel row. */
static void conv_row(const CnnConv2dParams *p, const float *CNN_RESTRICT irow,
                     const float *CNN_RESTRICT wrow, float *CNN_RESTRICT orow)
{
    const int32_t sw = p->stride_w;
    const int32_t out_w = p->out_w;
    int32_t kx;

    for (kx = 0; kx < p->kernel_w; kx++) {
        const float w = wrow[kx];
        const int32_t off = kx * p->dilation_w - p->pad_left;
        int32_t lo, hi, x;

        cnn_valid_range(off, sw, out_w, p->in_w, &lo, &hi);
        for (x = lo; x < hi; x++)
            orow[x] += w * irow[x * sw + off];

        if (p->pad_mode != CNN_PAD_ZEROS) {
            for (x = 0; x < lo; x++)
                orow[x] += w * irow[cnn_pad_index(x * sw + off, p->in_w, p->pad_mode)];
            for (x = hi; x < out_w; x++)
                orow[x] += w * irow[cnn_pad_index(x * sw + off, p->in_w, p->pad_mode)];
        }
    }
}

/* conv_row for an input whose columns are es floats apart: the first layer
 * reading channels-last data ([H][W][C], es = C).  A copy rather than an es
 * parameter of conv_row, so that conv_row's loop keeps its unit stride and
 * vectorizes (depthwise convs and non-zero padding modes run through it). */
static void conv_row_strided(const CnnConv2dParams *p, const float *CNN_RESTRICT irow,
                             int32_t es, const float *CNN_RESTRICT wrow,
                             float *CNN_RESTRICT orow)
{
    const int32_t sw = p->stride_w;
    const int32_t out_w = p->out_w;
    int32_t kx;

    for (kx = 0; kx < p->kernel_w; kx++) {
        const float w = wrow[kx];
        const int32_t off = kx * p->dilation_w - p->pad_left;
        int32_t lo, hi, x;

        cnn_valid_range(off, sw, out_w, p->in_w, &lo, &hi);
        for (x = lo; x < hi; x++)
            orow[x] += w * irow[(x * sw + off) * es];

        if (p->pad_mode != CNN_PAD_ZEROS) {
            for (x = 0; x < lo; x++)
                orow[x] += w * irow[cnn_pad_index(x * sw + off, p->in_w, p->pad_mode) * es];
            for (x = hi; x < out_w; x++)
                orow[x] += w * irow[cnn_pad_index(x * sw + off, p->in_w, p->pad_mode) * es];
        }
    }
}

/* Kernel widths up to this get their column ranges computed once per call. */
enum { CONV_MAX_KW = 16 };

/*
 * Four output channels of one group at once, zero padding, channels-first
 * input: every input value loaded feeds four accumulating rows, and the
 * column range of each kx (lo[kx], hi[kx]) is computed once per call instead
 * of once per row.  Same sums in the same order as the one-channel path.
 */
static void conv_block4(const CnnConv2dParams *p, int32_t o, const float *CNN_RESTRICT in_g,
                        int32_t icg, const float *CNN_RESTRICT weight,
                        const float *CNN_RESTRICT bias, float *CNN_RESTRICT out,
                        const int32_t *lo, const int32_t *hi)
{
    const int32_t ksize = p->kernel_h * p->kernel_w;
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t plane = p->out_h * p->out_w;
    const int32_t sw = p->stride_w;
    int32_t y, x, i, ky, kx, j;

    for (y = 0; y < p->out_h; y++) {
        float *CNN_RESTRICT r0 = out + (o + 0) * plane + y * p->out_w;
        float *CNN_RESTRICT r1 = out + (o + 1) * plane + y * p->out_w;
        float *CNN_RESTRICT r2 = out + (o + 2) * plane + y * p->out_w;
        float *CNN_RESTRICT r3 = out + (o + 3) * plane + y * p->out_w;
        const int32_t y0 = y * p->stride_h - p->pad_top;
        const float b0 = bias ? bias[o] : 0.0f, b1 = bias ? bias[o + 1] : 0.0f;
        const float b2 = bias ? bias[o + 2] : 0.0f, b3 = bias ? bias[o + 3] : 0.0f;

        for (x = 0; x < p->out_w; x++) {
            r0[x] = b0;
            r1[x] = b1;
            r2[x] = b2;
            r3[x] = b3;
        }
        for (i = 0; i < icg; i++) {
            const float *in_c = in_g + i * in_plane;
            const float *w0 = weight + ((o + 0) * icg + i) * ksize;
            const float *w1 = weight + ((o + 1) * icg + i) * ksize;
            const float *w2 = weight + ((o + 2) * icg + i) * ksize;
            const float *w3 = weight + ((o + 3) * icg + i) * ksize;

            for (ky = 0; ky < p->kernel_h; ky++) {
                const int32_t r = y0 + ky * p->dilation_h;
                const float *irow;
                if (r < 0 || r >= p->in_h)
                    continue;
                irow = in_c + r * p->in_w;
                for (kx = 0; kx < p->kernel_w; kx++) {
                    const int32_t k = ky * p->kernel_w + kx;
                    const float a0 = w0[k], a1 = w1[k], a2 = w2[k], a3 = w3[k];
                    const float *src = irow + kx * p->dilation_w - p->pad_left;
                    for (x = lo[kx]; x < hi[kx]; x++) {
                        const float v = src[x * sw];
                        r0[x] += a0 * v;
                        r1[x] += a1 * v;
                        r2[x] += a2 * v;
                        r3[x] += a3 * v;
                    }
                }
            }
        }
        if (p->act.fn) {
            float *rows[4] = { r0, r1, r2, r3 };
            for (j = 0; j < 4; j++)
                cnn_act_f32(&p->act, rows[j], rows[j], p->out_w);
        }
    }
}

void cnn_conv2d_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                    const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                    float *CNN_RESTRICT out)
{
    const int32_t icg = p->in_c / p->groups;        /* input channels per group */
    const int32_t ocg = p->out_c / p->groups;       /* output channels per group */
    const int32_t ksize = p->kernel_h * p->kernel_w;
    /* Strides of the input: channel, row, column. */
    const int32_t cs = p->in_hwc ? 1 : p->in_h * p->in_w;
    const int32_t rs = p->in_hwc ? p->in_w * p->in_c : p->in_w;
    const int32_t es = p->in_hwc ? p->in_c : 1;
    int32_t o, y, x, i, ky;
    int32_t lo[CONV_MAX_KW], hi[CONV_MAX_KW];
    const int blocked = es == 1 && p->pad_mode == CNN_PAD_ZEROS && p->kernel_w <= CONV_MAX_KW;

    if (blocked)
        for (x = 0; x < p->kernel_w; x++)
            cnn_valid_range(x * p->dilation_w - p->pad_left, p->stride_w, p->out_w, p->in_w,
                            &lo[x], &hi[x]);

    for (o = 0; o < p->out_c; o++) {
        const float *in_g = in + (o / ocg) * icg * cs;
        /* Four channels at once while they stay inside one group. */
        if (blocked && o % ocg + 4 <= ocg) {
            conv_block4(p, o, in_g, icg, weight, bias, out, lo, hi);
            o += 3;
            continue;
        }
        const float *w_o = weight + o * icg * ksize;
        const float b = bias ? bias[o] : 0.0f;

        for (y = 0; y < p->out_h; y++) {
            float *orow = out + (o * p->out_h + y) * p->out_w;
            const int32_t y0 = y * p->stride_h - p->pad_top;

            for (x = 0; x < p->out_w; x++)
                orow[x] = b;

            for (i = 0; i < icg; i++) {
                const float *in_c = in_g + i * cs;
                const float *w_c = w_o + i * ksize;

                for (ky = 0; ky < p->kernel_h; ky++) {
                    int32_t r = y0 + ky * p->dilation_h;
                    if (r < 0 || r >= p->in_h) {
                        if (p->pad_mode == CNN_PAD_ZEROS)
                            continue;
                        r = cnn_pad_index(r, p->in_h, p->pad_mode);
                    }
                    if (es == 1)
                        conv_row(p, in_c + r * rs, w_c + ky * p->kernel_w, orow);
                    else
                        conv_row_strided(p, in_c + r * rs, es, w_c + ky * p->kernel_w, orow);
                }
            }

            if (p->act.fn)
                cnn_act_f32(&p->act, orow, orow, p->out_w);
        }
    }
}
