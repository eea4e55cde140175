/*
 * pool_s8.c - max, min, average and global pooling of int8 tensors, see
 * cnn_int8.h.  The windows are those of pool.c: each window's taps inside
 * the input are found once with cnn_valid_range, so the tap loops carry no
 * bounds check.  Max and min are exact; the averages sum q - zp in int32
 * and divide once, rounding half away from zero.
 */
#include "cnn_int8.h"
#include "cnn_internal.h"
#include "cnn_internal_s8.h"
#include "cnn_shape.h"

/* Max pooling of sign*q: sign = 1 max, sign = -1 min (as -max(-q); -q of
 * -128 is 128, which an int32 holds). */
static void pool_extreme_s8(const CnnPool2dParams *p, const int8_t *CNN_RESTRICT in,
                            int8_t *CNN_RESTRICT out, int32_t sign)
{
    const int32_t in_plane = p->in_h * p->in_w;
    int32_t c, y, x, ky, kx;

    for (c = 0; c < p->channels; c++) {
        const int8_t *in_c = in + c * in_plane;
        int8_t *out_c = out + c * p->out_h * p->out_w;

        for (y = 0; y < p->out_h; y++) {
            const int32_t r0 = y * p->stride_h - p->pad_top;
            int32_t ky_lo, ky_hi;
            cnn_valid_range(r0, p->dilation_h, p->kernel_h, p->in_h, &ky_lo, &ky_hi);

            for (x = 0; x < p->out_w; x++) {
                const int32_t s0 = x * p->stride_w - p->pad_left;
                int32_t kx_lo, kx_hi;
                int32_t m = -129;       /* below every sign*q: an empty window clamps */
                cnn_valid_range(s0, p->dilation_w, p->kernel_w, p->in_w, &kx_lo, &kx_hi);
                for (ky = ky_lo; ky < ky_hi; ky++) {
                    const int8_t *row = in_c + (r0 + ky * p->dilation_h) * p->in_w;
                    for (kx = kx_lo; kx < kx_hi; kx++) {
                        const int32_t v = sign * row[s0 + kx * p->dilation_w];
                        m = v > m ? v : m;
                    }
                }
                m *= sign;
                out_c[y * p->out_w + x] = (int8_t)(m < -128 ? -128 : m > 127 ? 127 : m);
            }
        }
    }
}

/* The common 2x2, stride 2, unpadded max pool (ceil_mode's clipped last
 * window aside): four loads and three compares an output; on the DSP path
 * two outputs from one word of each input row, the bytewise maximum of the
 * two words (SSUB8 sets a flag per byte, SEL picks by them), then of that
 * word and itself shifted by a byte (bytes 0 and 2 are the two outputs). */
static int s8_pool_is_2x2(const CnnPool2dParams *p)
{
    return p->kernel_h == 2 && p->kernel_w == 2 && p->stride_h == 2 && p->stride_w == 2 &&
           p->dilation_h == 1 && p->dilation_w == 1 && p->pad_top == 0 && p->pad_left == 0 &&
           2 * p->out_h <= p->in_h && 2 * p->out_w <= p->in_w;
}

#if CNN_S8_DSP
/* The bytewise signed maximum of two words. */
static inline uint32_t s8_max4(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}
#endif

void cnn_maxpool2d_s8(const CnnPool2dParams *p, const int8_t *CNN_RESTRICT in,
                      int8_t *CNN_RESTRICT out)
{
    int32_t c, y, x;
    if (!s8_pool_is_2x2(p)) {
        pool_extreme_s8(p, in, out, 1);
        return;
    }
    for (c = 0; c < p->channels; c++)
        for (y = 0; y < p->out_h; y++) {
            const int8_t *r0 = in + (c * p->in_h + 2 * y) * p->in_w, *r1 = r0 + p->in_w;
            int8_t *o = out + (c * p->out_h + y) * p->out_w;
            x = 0;
#if CNN_S8_DSP
            for (; x + 1 < p->out_w; x += 2) {  /* bytes 2x..2x+3 of both rows */
                uint32_t m = s8_max4(cnn_s8_ld32(r0 + 2 * x), cnn_s8_ld32(r1 + 2 * x));
                m = s8_max4(m, m >> 8);
                o[x] = (int8_t)(uint8_t)m;
                o[x + 1] = (int8_t)(uint8_t)(m >> 16);
            }
#endif
            for (; x < p->out_w; x++) {
                int8_t a = r0[2 * x] > r0[2 * x + 1] ? r0[2 * x] : r0[2 * x + 1];
                const int8_t b = r1[2 * x] > r1[2 * x + 1] ? r1[2 * x] : r1[2 * x + 1];
                a = a > b ? a : b;
                o[x] = a;
            }
        }
}

void cnn_minpool2d_s8(const CnnPool2dParams *p, const int8_t *CNN_RESTRICT in,
                      int8_t *CNN_RESTRICT out)
{
    pool_extreme_s8(p, in, out, -1);
}

/* cnn_s8_div_round(num, den) for |num| <= 255 den (a window's sum of
 * q - zp over at most den taps), den > 0: in uint32 while den <= 2^23 (one
 * 32-bit division instead of a 64-bit one), else cnn_s8_div_round. */
static inline int32_t s8_div_round32(int32_t num, int32_t den)
{
    uint32_t a;
    if (den > (1 << 23))
        return cnn_s8_div_round(num, den);
    a = num < 0 ? 0u - (uint32_t)num : (uint32_t)num;
    a = (a + (uint32_t)den / 2) / (uint32_t)den;
    return num < 0 ? -(int32_t)a : (int32_t)a;
}

void cnn_avgpool2d_s8(const CnnPool2dParams *p, const int8_t *CNN_RESTRICT in,
                      int8_t *CNN_RESTRICT out, int32_t zp)
{
    const int32_t in_plane = p->in_h * p->in_w;
    int32_t c, y, x, r, s;

    for (c = 0; c < p->channels; c++) {
        const int8_t *in_c = in + c * in_plane;
        int8_t *out_c = out + c * p->out_h * p->out_w;

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
                int32_t sum = 0, divisor, v;

                if (r_lo >= r_hi || s_lo >= s_hi) {
                    out_c[y * p->out_w + x] = (int8_t)zp;
                    continue;
                }
                for (r = r_lo; r < r_hi; r++) {
                    const int8_t *row = in_c + r * p->in_w;
                    for (s = s_lo; s < s_hi; s++)
                        sum += row[s];
                }
                divisor = p->count_include_pad ? win_h * win_w
                                               : (r_hi - r_lo) * (s_hi - s_lo);
                sum -= zp * (r_hi - r_lo) * (s_hi - s_lo);
                v = zp + s8_div_round32(sum, divisor);
                out_c[y * p->out_w + x] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
            }
        }
    }
}

void cnn_global_maxpool_s8(const int8_t *CNN_RESTRICT in, int8_t *CNN_RESTRICT out,
                           int32_t channels, int32_t spatial)
{
    int32_t c, s;
    for (c = 0; c < channels; c++) {
        const int8_t *in_c = in + c * spatial;
        int8_t m = -128;
        for (s = 0; s < spatial; s++)
            m = in_c[s] > m ? in_c[s] : m;
        out[c] = m;
    }
}

/*
 * Global average pool.  Every byte lifted by 128 is in [0, 255], so a
 * channel's t = sum(q + 128) is a uint32 (below 2^32 / 256 elements; a
 * larger spatial takes cnn_s8_div_round) and, with K = zp + 128 in
 * [0, 255] and n = spatial,
 *     zp + round(sum(q - zp) / n) = round(t / n - K) + K - 128
 *                                 = floor((t + h) / n) - 128,
 * h = floor(n / 2) when t >= K * n (ties up, away from zero), else
 * floor((n - 1) / 2) (ties down): the exact byte of cnn_s8_div_round with
 * one unsigned 32-bit division a channel, and the result is in [-128, 127]
 * unclamped (t + h < 256 n).  On the DSP path the sum is one USADA8 per
 * four bytes (XOR 0x80 is q + 128).
 */
#define S8_GAP_MAX_SPATIAL (1 << 23)

void cnn_global_avgpool_s8(const int8_t *CNN_RESTRICT in, int8_t *CNN_RESTRICT out,
                           int32_t channels, int32_t spatial, int32_t zp)
{
    const uint32_t n = (uint32_t)spatial, kn = (uint32_t)(zp + 128) * n;
    const uint32_t h_up = n >> 1, h_down = (n - 1) >> 1;
    int32_t c;

    if (spatial > S8_GAP_MAX_SPATIAL) {
        for (c = 0; c < channels; c++) {
            const int8_t *in_c = in + (long)c * spatial;
            int64_t sum = 0;
            int32_t s;
            for (s = 0; s < spatial; s++)
                sum += in_c[s] - zp;
            out[c] = (int8_t)(zp + (int32_t)(sum >= 0 ? (sum + spatial / 2) / spatial
                                                      : -((-sum + spatial / 2) / spatial)));
        }
        return;
    }
    {
        /* the channels are contiguous: p runs on from one to the next */
        const int8_t *p = in;
        const int32_t n16 = spatial & ~15, n4 = spatial & 12, n1 = spatial & 3;
        for (c = 0; c < channels; c++) {
            const int8_t *e = p + n16;
            uint32_t t = 0;
#if CNN_S8_DSP
            for (; p != e; p += 16) {
                t = __usada8(cnn_s8_ld32(p) ^ 0x80808080u, 0, t);
                t = __usada8(cnn_s8_ld32(p + 4) ^ 0x80808080u, 0, t);
                t = __usada8(cnn_s8_ld32(p + 8) ^ 0x80808080u, 0, t);
                t = __usada8(cnn_s8_ld32(p + 12) ^ 0x80808080u, 0, t);
            }
            for (e += n4; p != e; p += 4)
                t = __usada8(cnn_s8_ld32(p) ^ 0x80808080u, 0, t);
#else
            e += n4;
#endif
            for (e += n1; p != e; p++)
                t += (uint32_t)(*p + 128);
            out[c] = (int8_t)((int32_t)((t + (t >= kn ? h_up : h_down)) / n) - 128);
        }
    }
}
