/*
 * pool.c - max, min, average and global pooling, see cnn.h.
 *
 * Each window's valid taps (those inside the input) are found first with
 * cnn_valid_range, so the loops over taps carry no bounds check; padding and
 * the part of a ceil_mode window past the edge are simply never visited.
 */
#include <math.h>

#include "cnn.h"
#include "cnn_internal.h"
#include "cnn_shape.h"

/*
 * Max pooling of sign*in, times sign: sign = 1 is max pooling, sign = -1 is
 * min pooling as -maxpool(-x).  Negation is exact, so both are exact.
 * NaN wins like in PyTorch (v != v).
 */
static void pool_extreme(const CnnPool2dParams *p, const float *CNN_RESTRICT in,
                         float *CNN_RESTRICT out, float sign)
{
    const int32_t in_plane = p->in_h * p->in_w;
    int32_t c, y, x, ky, kx;

    for (c = 0; c < p->channels; c++) {
        const float *in_c = in + c * in_plane;
        float *out_c = out + c * p->out_h * p->out_w;

        for (y = 0; y < p->out_h; y++) {
            const int32_t r0 = y * p->stride_h - p->pad_top;
            int32_t ky_lo, ky_hi;
            cnn_valid_range(r0, p->dilation_h, p->kernel_h, p->in_h, &ky_lo, &ky_hi);

            for (x = 0; x < p->out_w; x++) {
                const int32_t s0 = x * p->stride_w - p->pad_left;
                int32_t kx_lo, kx_hi;
                float m = -INFINITY;
                cnn_valid_range(s0, p->dilation_w, p->kernel_w, p->in_w, &kx_lo, &kx_hi);

                for (ky = ky_lo; ky < ky_hi; ky++) {
                    const float *row = in_c + (r0 + ky * p->dilation_h) * p->in_w;
                    for (kx = kx_lo; kx < kx_hi; kx++) {
                        const float v = sign * row[s0 + kx * p->dilation_w];
                        m = (v > m || v != v) ? v : m;
                    }
                }
                out_c[y * p->out_w + x] = sign * m;
            }
        }
    }
}

void cnn_maxpool2d_f32(const CnnPool2dParams *p, const float *CNN_RESTRICT in,
                       float *CNN_RESTRICT out)
{
    pool_extreme(p, in, out, 1.0f);
}

void cnn_minpool2d_f32(const CnnPool2dParams *p, const float *CNN_RESTRICT in,
                       float *CNN_RESTRICT out)
{
    pool_extreme(p, in, out, -1.0f);
}

/*
 * Average pooling.  PyTorch's divisor: with count_include_pad, the window
 * clipped to the padded input (cnn_pool_window_padded, which is what makes a
 * ceil_mode window past the right padding count less); without, the number
 * of real elements summed.
 */
void cnn_avgpool2d_f32(const CnnPool2dParams *p, const float *CNN_RESTRICT in,
                       float *CNN_RESTRICT out)
{
    const int32_t in_plane = p->in_h * p->in_w;
    int32_t c, y, x, r, s;

    for (c = 0; c < p->channels; c++) {
        const float *in_c = in + c * in_plane;
        float *out_c = out + c * p->out_h * p->out_w;

        for (y = 0; y < p->out_h; y++) {
            const int32_t r0 = y * p->stride_h - p->pad_top;
            const int32_t win_h = (int32_t)cnn_pool_window_padded(r0, p->kernel_h,
                                                                  p->in_h, p->pad_bottom);
            const int32_t r_lo = r0 > 0 ? r0 : 0;
            const int32_t r_hi = r0 + p->kernel_h < p->in_h ? r0 + p->kernel_h : p->in_h;

            for (x = 0; x < p->out_w; x++) {
                const int32_t s0 = x * p->stride_w - p->pad_left;
                const int32_t win_w = (int32_t)cnn_pool_window_padded(s0, p->kernel_w,
                                                                      p->in_w, p->pad_right);
                const int32_t s_lo = s0 > 0 ? s0 : 0;
                const int32_t s_hi = s0 + p->kernel_w < p->in_w ? s0 + p->kernel_w : p->in_w;
                float sum = 0.0f;
                int32_t divisor;

                if (r_lo >= r_hi || s_lo >= s_hi) {
                    out_c[y * p->out_w + x] = 0.0f;
                    continue;
                }
                for (r = r_lo; r < r_hi; r++) {
                    const float *row = in_c + r * p->in_w;
                    for (s = s_lo; s < s_hi; s++)
                        sum += row[s];
                }
                divisor = p->count_include_pad ? win_h * win_w
                                               : (r_hi - r_lo) * (s_hi - s_lo);
                out_c[y * p->out_w + x] = sum / (float)divisor;
            }
        }
    }
}

void cnn_global_maxpool_f32(const float *CNN_RESTRICT in, float *CNN_RESTRICT out,
                            int32_t channels, int32_t spatial)
{
    int32_t c, s;
    for (c = 0; c < channels; c++) {
        const float *in_c = in + c * spatial;
        float m = -INFINITY;
        for (s = 0; s < spatial; s++) {
            const float v = in_c[s];
            m = (v > m || v != v) ? v : m;
        }
        out[c] = m;
    }
}

void cnn_global_avgpool_f32(const float *CNN_RESTRICT in, float *CNN_RESTRICT out,
                            int32_t channels, int32_t spatial)
{
    int32_t c, s;
    for (c = 0; c < channels; c++) {
        const float *in_c = in + c * spatial;
        float sum = 0.0f;
        for (s = 0; s < spatial; s++)
            sum += in_c[s];
        out[c] = sum / (float)spatial;
    }
}
