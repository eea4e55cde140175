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
 * reading channels-last data ([H][W][C], es = C).  Not the hot path of a
 * network, so one loop with the index map at the borders. */
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

    for (o = 0; o < p->out_c; o++) {
        const float *in_g = in + (o / ocg) * icg * cs;
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

            if (p->act.kind != CNN_ACT_NONE)
                cnn_act_f32(&p->act, orow, orow, p->out_w);
        }
    }
}
