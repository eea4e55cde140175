/*
 * conv_x86.c - the AVX-512 / AVX2 path of cnn_conv2d_f32, cnn_dwconv3x3_f32
 * and cnn_conv2d_pool_f32 (conv_x86.h).
 * Compiles to nothing unless CNN_CONV_X86.
 *
 * The portable tile (conv.c) puts output channels in the SIMD lanes; here
 * the lanes are output PIXELS, and the channels are separate registers:
 *
 *   - A vector is XL consecutive "lanes" q of a virtual output grid of
 *     width vw: lane q is output pixel (y, x) = (q / vw, q % vw) when
 *     x < out_w, and no pixel otherwise.  Its input for tap (ky, kx) is at
 *     (y*stride_h - pad_top + ky*dil_h)*in_w + x*stride_w - pad_left + kx*dil_w,
 *     which is linear in q in two cases: with unit strides and vw = in_w
 *     ("flat": one vector spans several rows, so a 4x4 map fills one zmm),
 *     and within one row when vw is out_w rounded up to XL ("rows").  A tap
 *     then reads one vector per input channel (two and a permute for
 *     stride_w 2), from the channel-first input in place.
 *   - Every (lane, tap) whose input is padding or that is no pixel is masked
 *     off, in the load and in the multiply-add (a masked-off lane keeps its
 *     sum), so zero padding costs no copy and the result is exactly that of
 *     leaving the tap out, which is what the portable code does.
 *   - A tile is nv vectors (up to 3) by the nb (8, 4, 2, 1) channels of one
 *     packed block, or by up to three blocks of 8 when nv is 1: up to 24 sums
 *     in zmm registers.  Per tap and input channel it loads nv vectors and
 *     broadcasts each of the tile's weights (contiguous in the packed
 *     block), for nv*channels masked FMAs.
 *   - The finished sums of a channel go to out[o][y][x]: valid lanes are
 *     consecutive output pixels, so a (compressed) masked store.
 *
 * Around that tile: depthwise convs take tiles of 8 channels that each
 * read their own input plane (the lane masks shared); unpadded convs whose
 * rows would fill less than half their vectors put 16 or 32 channels in
 * the lanes instead (x_ctile, AVX-512); and the fused conv + pool step
 * (cnn_conv2d_pool_f32) computes bands of conv rows into a stack buffer and
 * pools them (x_pool_band, AVX-512; the pool kernels under AVX2).
 *
 * Numerics: each sum starts at the bias and adds its taps in the order
 * (ky, i, kx), one rounding per multiply-add (FMA), like the portable path
 * with CNN_CONV_FMA: the same bits (tests/runtime/test_conv_x86.c).
 */
#include "conv_x86.h"

#if CNN_CONV_X86

#include "cnn_internal.h"
#include "cnn_pack.h"
#include "cnn_shape.h"

#include <immintrin.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__AVX512F__)
#define XL 16                   /* lanes */
#define XNV 3                   /* vectors per tile */
#define XNBLK 3                 /* blocks of 8 per tile (with one vector) */
#define XSTRIDE_MAX 2
typedef __m512 XVec;
typedef __mmask16 XMask;
#define X_ZERO() _mm512_setzero_ps()
#define X_SET1(v) _mm512_set1_ps(v)
#define X_MASK(bits) ((XMask)(bits))
#define X_LOAD(m, ptr) _mm512_maskz_loadu_ps((m), (ptr))
/* acc + x*w where m is set, acc elsewhere: one vfmadd231ps with a mask */
#define X_FMA(acc, x, w, m) _mm512_mask3_fmadd_ps((x), _mm512_set1_ps(w), (acc), (m))
#else
#define XL 8
#define XNV 1
#define XNBLK 1
#define XSTRIDE_MAX 1
typedef __m256 XVec;
typedef __m256i XMask;
#define X_ZERO() _mm256_setzero_ps()
#define X_SET1(v) _mm256_set1_ps(v)
static inline XMask x_mask(uint32_t bits)
{
    const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), sel), sel);
}
#define X_MASK(bits) x_mask(bits)
#define X_LOAD(m, ptr) _mm256_maskload_ps((ptr), (m))
#define X_FMA(acc, x, w, m)                                                                  \
    _mm256_blendv_ps((acc), _mm256_fmadd_ps((x), _mm256_set1_ps(w), (acc)),                  \
                     _mm256_castsi256_ps(m))
#endif

#define XNC (8 * XNBLK)         /* the most channels in a tile */
enum { XK = 16 };               /* the largest kernel_h and kernel_w taken */

/* The tile loops must unroll for the sums to stay in registers; sanitized
 * builds (slow to compile unrolled) get plain loops, as in conv.c. */
#define X_INLINE CNN_TILE_INLINE
#define X_UNROLL CNN_UNROLL(24)

/* What every tile of a call needs. */
typedef struct XConv {
    const CnnConv2dParams *p;
    int32_t cs;                 /* input channel stride: in_h*in_w */
    int32_t icg, k;             /* input channels per group, taps per output channel */
    int32_t ocs;                /* output channel stride */
    int32_t y0;                 /* the first output row asked for */
    int32_t vw;                 /* width of the lane grid */
} XConv;

/* The vectors of one tile: which lanes are pixels and which taps they read. */
typedef struct XTile {
    int32_t nv;
    int32_t base[XNV];          /* input offset of lane 0's tap (0, 0), may be < 0 */
    int32_t first[XNV];         /* output index of the first pixel lane */
    uint32_t lane[XNV];         /* the lanes that are output pixels */
    uint32_t row[XNV][XK];      /* pixel lanes whose kernel row ky is inside the input */
    uint32_t col[XNV][XK];      /* pixel lanes whose kernel column kx is inside the input */
} XTile;

/* nv vectors from lane q0 on (q0 < q1, the end of the lanes asked for). */
static void x_tile_masks(const XConv *c, XTile *t, int32_t q0, int32_t q1, int nv)
{
    const CnnConv2dParams *p = c->p;
    int v, j;
    int32_t ky, kx;

    t->nv = nv;
    for (v = 0; v < nv; v++) {
        const int32_t qv = q0 + v * XL;
        int32_t y = qv / c->vw, x = qv % c->vw;
        t->base[v] = (y * p->stride_h - p->pad_top) * p->in_w + x * p->stride_w - p->pad_left;
        t->first[v] = -1;
#if defined(__AVX512F__)
        {
            /* Each lane's (y, x) and a compare per kernel row and column. */
            const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                   13, 14, 15);
            const __m512i vw = _mm512_set1_epi32(c->vw);
            __m512i xs = _mm512_add_epi32(_mm512_set1_epi32(x), iota);
            __m512i ys = _mm512_set1_epi32(y), rs, ss;
            __mmask16 wrap, lane;
            int32_t yj[XL], xj[XL];
            while ((wrap = _mm512_cmpge_epi32_mask(xs, vw)) != 0) {
                xs = _mm512_mask_sub_epi32(xs, wrap, xs, vw);
                ys = _mm512_mask_add_epi32(ys, wrap, ys, _mm512_set1_epi32(1));
            }
            lane = _mm512_cmplt_epi32_mask(xs, _mm512_set1_epi32(p->out_w)) &
                   _mm512_cmplt_epi32_mask(_mm512_add_epi32(_mm512_set1_epi32(qv), iota),
                                           _mm512_set1_epi32(q1));
            t->lane[v] = lane;
            rs = _mm512_sub_epi32(_mm512_mullo_epi32(ys, _mm512_set1_epi32(p->stride_h)),
                                  _mm512_set1_epi32(p->pad_top));
            ss = _mm512_sub_epi32(_mm512_mullo_epi32(xs, _mm512_set1_epi32(p->stride_w)),
                                  _mm512_set1_epi32(p->pad_left));
            for (ky = 0; ky < p->kernel_h; ky++) {
                const __m512i r = _mm512_add_epi32(rs, _mm512_set1_epi32(ky * p->dilation_h));
                t->row[v][ky] = _mm512_mask_cmpge_epi32_mask(lane, r, _mm512_setzero_si512()) &
                                _mm512_cmplt_epi32_mask(r, _mm512_set1_epi32(p->in_h));
            }
            for (kx = 0; kx < p->kernel_w; kx++) {
                const __m512i s = _mm512_add_epi32(ss, _mm512_set1_epi32(kx * p->dilation_w));
                t->col[v][kx] = _mm512_mask_cmpge_epi32_mask(lane, s, _mm512_setzero_si512()) &
                                _mm512_cmplt_epi32_mask(s, _mm512_set1_epi32(p->in_w));
            }
            if (lane) {
                _mm512_storeu_si512(yj, ys);
                _mm512_storeu_si512(xj, xs);
                for (j = 0; !(lane >> j & 1); j++)
                    ;
                t->first[v] = (yj[j] - c->y0) * p->out_w + xj[j];
            }
        }
#else
        t->lane[v] = 0;
        for (ky = 0; ky < p->kernel_h; ky++)
            t->row[v][ky] = 0;
        for (kx = 0; kx < p->kernel_w; kx++)
            t->col[v][kx] = 0;
        for (j = 0; j < XL; j++, x++) {
            if (x == c->vw)
                x = 0, y++;
            if (qv + j >= q1 || x >= p->out_w)
                continue;
            if (t->first[v] < 0)
                t->first[v] = (y - c->y0) * p->out_w + x;
            t->lane[v] |= 1u << j;
            for (ky = 0; ky < p->kernel_h; ky++) {
                const int32_t r = y * p->stride_h - p->pad_top + ky * p->dilation_h;
                if (r >= 0 && r < p->in_h)
                    t->row[v][ky] |= 1u << j;
            }
            for (kx = 0; kx < p->kernel_w; kx++) {
                const int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
                if (s >= 0 && s < p->in_w)
                    t->col[v][kx] |= 1u << j;
            }
        }
#endif
    }
}

/* Lane j of a stride-2 vector reads element 2j of a 2*XL run: the load
 * masks of its two halves. */
static inline uint32_t x_spread8(uint32_t m)
{
    m &= 0xFF;
    m = (m | m << 4) & 0x0F0F;
    m = (m | m << 2) & 0x3333;
    return (m | m << 1) & 0x5555;
}

/* Vector v of a tap whose lane 0 reads s[t->base[v]]: its lanes m, or for
 * stride_w 2 the even elements of a double run (load masks lo, hi). */
static inline XVec x_load(const XTile *t, const float *s, int v, XMask m, XMask lo, XMask hi,
                          const int sw)
{
#if XSTRIDE_MAX > 1
    if (sw == 2) {
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                               26, 28, 30);
        return _mm512_permutex2var_ps(X_LOAD(lo, s + t->base[v]),
                                      even, X_LOAD(hi, s + t->base[v] + XL));
    }
#endif
    (void)lo, (void)hi, (void)sw;
    return X_LOAD(m, s + t->base[v]);
}

/* The pixel lanes of acc into out (the channel's first float). */
static inline void x_store(float *out, const XTile *t, int v, XVec acc)
{
    const uint32_t m = t->lane[v];
    if (!m)
        return;
#if defined(__AVX512F__)
    if (((m + 1) & m) == 0) {       /* lanes 0 .. n-1: consecutive pixels */
        _mm512_mask_storeu_ps(out + t->first[v], X_MASK(m), acc);
    } else {                        /* a row's end and the next's start */
        uint32_t n = 0, b;
        for (b = m; b; b &= b - 1)
            n++;
        _mm512_mask_storeu_ps(out + t->first[v], X_MASK((1u << n) - 1),
                              _mm512_maskz_compress_ps(X_MASK(m), acc));
    }
#else
    {
        float tmp[XL];
        int j, n = 0;
        _mm256_storeu_ps(tmp, acc);
        for (j = 0; j < XL; j++)
            if (m >> j & 1)
                out[t->first[v] + n++] = tmp[j];
    }
#endif
}

/*
 * The micro-kernel: the nv vectors of t by nblk blocks of nb channels; w is
 * the first block's packed weights (the others follow, nb*k floats apart),
 * bias and out the first channel's; in the group's first input channel.
 * sw: stride_w (1 or 2).
 */
X_INLINE void x_tile(const XConv *c, const XTile *t, const float *in, const float *w,
                     const float *bias, float *out, const int nb, const int nblk, const int nv,
                     const int sw, const int dw)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    /* dw: nb depthwise channels, channel n reading input channel n (cs
     * apart) with its own kh*kw weights (c->k apart) */
    const int32_t wblk = nb * c->k, wi = kh * kw * nb;
    const int32_t wn = dw ? c->k : 1, ws = dw ? 1 : nb;
    XVec acc[XNV][XNC];
    int v, n, b;
    int32_t ky, kx, i;

    (void)sw;
    X_UNROLL
    for (v = 0; v < nv; v++)
        X_UNROLL
        for (n = 0; n < nb * nblk; n++)
            acc[v][n] = bias ? X_SET1(bias[n]) : X_ZERO();
    for (ky = 0; ky < kh; ky++) {
        XMask m[XNV][XK];
        XMask mlo[XNV][XK], mhi[XNV][XK];   /* stride 2's load masks */
        const float *src = in + ky * p->dilation_h * p->in_w;
        const float *wk = w + ky * kw * ws;
        uint32_t any = 0;
        for (v = 0; v < nv; v++)
            for (kx = 0; kx < kw; kx++) {
                const uint32_t bits = t->row[v][ky] & t->col[v][kx];
                any |= bits;
                m[v][kx] = X_MASK(bits);
                if (sw == 2) {
                    mlo[v][kx] = X_MASK(x_spread8(bits));
                    mhi[v][kx] = X_MASK(x_spread8(bits >> 8));
                } else {
                    mlo[v][kx] = mhi[v][kx] = m[v][kx];
                }
            }
        if (!any)
            continue;
        for (i = 0; i < c->icg; i++, src += c->cs, wk += wi) {
            for (kx = 0; kx < kw; kx++) {
                const float *s = src + kx * p->dilation_w;
                const float *wt = wk + kx * ws;
                XVec x[XNV];
                if (dw) {
                    X_UNROLL
                    for (n = 0; n < nb; n++) {
                        const float wv = wt[n * wn];
                        X_UNROLL
                        for (v = 0; v < nv; v++)
                            acc[v][n] = X_FMA(acc[v][n], x_load(t, s + n * c->cs, v, m[v][kx],
                                                                mlo[v][kx], mhi[v][kx], sw),
                                              wv, m[v][kx]);
                    }
                    continue;
                }
                X_UNROLL
                for (v = 0; v < nv; v++)
                    x[v] = x_load(t, s, v, m[v][kx], mlo[v][kx], mhi[v][kx], sw);
                X_UNROLL
                for (b = 0; b < nblk; b++)
                    X_UNROLL
                    for (n = 0; n < nb; n++) {
                        const float wv = wt[b * wblk + n];
                        X_UNROLL
                        for (v = 0; v < nv; v++)
                            acc[v][b * nb + n] = X_FMA(acc[v][b * nb + n], x[v], wv, m[v][kx]);
                    }
            }
        }
    }
    X_UNROLL
    for (v = 0; v < nv; v++)
        X_UNROLL
        for (n = 0; n < nb * nblk; n++)
            x_store(out + n * c->ocs, t, v, acc[v][n]);
}

typedef void XTileFn(const XConv *c, const XTile *t, const float *in, const float *w,
                     const float *bias, float *out);

#define X_TILE_FN(NB, NBLK, NV, SW)                                                          \
    static void x_tile_##NB##_##NBLK##_##NV##_##SW(const XConv *c, const XTile *t,           \
                                                   const float *in, const float *w,          \
                                                   const float *bias, float *out)            \
    {                                                                                        \
        x_tile(c, t, in, w, bias, out, NB, NBLK, NV, SW, 0);                                 \
    }

/* Depthwise (one input and one output channel per group): NB groups. */
#define X_DW_FN(NB, NV, SW)                                                                  \
    static void x_dw_##NB##_##NV##_##SW(const XConv *c, const XTile *t, const float *in,     \
                                        const float *w, const float *bias, float *out)       \
    {                                                                                        \
        x_tile(c, t, in, w, bias, out, NB, 1, NV, SW, 1);                                    \
    }

/* Every (block width, blocks, vectors) a call can ask for, per stride. */
#define X_TILE_FNS(SW)                                                                       \
    X_TILE_FN(8, 1, 1, SW)                                                                   \
    X_TILE_FN(4, 1, 1, SW)                                                                   \
    X_TILE_FN(2, 1, 1, SW)                                                                   \
    X_TILE_FN(1, 1, 1, SW)                                                                   \
    X_TILE_FNS_WIDE(SW)

#if XNV > 1
#define X_TILE_FNS_WIDE(SW)                                                                  \
    X_TILE_FN(8, 1, 2, SW)                                                                   \
    X_TILE_FN(8, 1, 3, SW)                                                                   \
    X_TILE_FN(8, 2, 1, SW)                                                                   \
    X_TILE_FN(8, 3, 1, SW)                                                                   \
    X_TILE_FN(4, 1, 2, SW)                                                                   \
    X_TILE_FN(4, 1, 3, SW)                                                                   \
    X_TILE_FN(2, 1, 2, SW)                                                                   \
    X_TILE_FN(2, 1, 3, SW)                                                                   \
    X_TILE_FN(1, 1, 2, SW)                                                                   \
    X_TILE_FN(1, 1, 3, SW)
#else
#define X_TILE_FNS_WIDE(SW)
#endif

#if XNV > 1
#define X_DW_FNS(SW)                                                                         \
    X_DW_FN(8, 3, SW) X_DW_FN(8, 2, SW) X_DW_FN(8, 1, SW) X_DW_FN(1, 3, SW)                  \
    X_DW_FN(1, 2, SW) X_DW_FN(1, 1, SW)
#else
#define X_DW_FNS(SW) X_DW_FN(8, 1, SW) X_DW_FN(1, 1, SW)
#endif

X_TILE_FNS(1)
X_DW_FNS(1)
#if XSTRIDE_MAX > 1
X_TILE_FNS(2)
X_DW_FNS(2)
#endif

/* The depthwise tile of (8 or 1 groups, nv, sw). */
static XTileFn *x_dw_fn(int nb, int nv, int sw)
{
#if XNV > 1
#define X_DW_PICK(SW)                                                                        \
    return nb == 8 ? (nv == 3 ? x_dw_8_3_##SW : nv == 2 ? x_dw_8_2_##SW : x_dw_8_1_##SW)      \
                   : (nv == 3 ? x_dw_1_3_##SW : nv == 2 ? x_dw_1_2_##SW : x_dw_1_1_##SW);
#else
#define X_DW_PICK(SW) return nb == 8 ? x_dw_8_1_##SW : x_dw_1_1_##SW;
#endif
#if XSTRIDE_MAX > 1
    if (sw == 2)
        X_DW_PICK(2)
#endif
    (void)sw, (void)nv;
    X_DW_PICK(1)
#undef X_DW_PICK
}

/* The tile function of (nb, nblk, nv, sw); nblk > 1 only with nb 8, nv 1. */
static XTileFn *x_tile_fn(int nb, int nblk, int nv, int sw)
{
#define X_PICK(SW)                                                                           \
    switch (nb * 100 + nblk * 10 + nv) {                                                     \
    case 811: return x_tile_8_1_1_##SW;                                                      \
    case 411: return x_tile_4_1_1_##SW;                                                      \
    case 211: return x_tile_2_1_1_##SW;                                                      \
    case 111: return x_tile_1_1_1_##SW;                                                      \
    X_PICK_WIDE(SW)                                                                          \
    default: return 0;                                                                       \
    }
#if XNV > 1
#define X_PICK_WIDE(SW)                                                                      \
    case 812: return x_tile_8_1_2_##SW;                                                      \
    case 813: return x_tile_8_1_3_##SW;                                                      \
    case 821: return x_tile_8_2_1_##SW;                                                      \
    case 831: return x_tile_8_3_1_##SW;                                                      \
    case 412: return x_tile_4_1_2_##SW;                                                      \
    case 413: return x_tile_4_1_3_##SW;                                                      \
    case 212: return x_tile_2_1_2_##SW;                                                      \
    case 213: return x_tile_2_1_3_##SW;                                                      \
    case 112: return x_tile_1_1_2_##SW;                                                      \
    case 113: return x_tile_1_1_3_##SW;
#else
#define X_PICK_WIDE(SW)
#endif
#if XSTRIDE_MAX > 1
    if (sw == 2)
        X_PICK(2)
#endif
    (void)sw;
    X_PICK(1)
#undef X_PICK
#undef X_PICK_WIDE
}

#if defined(__AVX512F__)
/*
 * Channels in the lanes, for rows too short to fill pixel vectors (a 1-D
 * conv with stride 2 whose rows are 3 or 7 pixels long): 16 output channels
 * (two packed blocks of 8, one zmm: a 256-bit load and an insert) by mr
 * pixels of one row, nz zmm of channels (nz*mr sums).  Per tap: nz weight
 * vectors and mr broadcast inputs.  Only for convs without padding, where
 * every tap of every pixel is inside the input; the sums keep the (ky, i,
 * kx) order and one rounding per multiply-add.
 */
X_INLINE void x_ctile(const XConv *c, const float *in, const float *w, const float *bias,
                      float *out, int32_t y, int32_t x, const int nz, const int mr)
{
    const CnnConv2dParams *p = c->p;
    const int32_t kh = p->kernel_h, kw = p->kernel_w, sw = p->stride_w;
    const int32_t wz = 16 * c->k;       /* from one pair of blocks to the next */
    const __m512i chan = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                              10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(c->ocs));
    __m512 acc[2][8];
    int z, m;
    int32_t ky, kx, i;

    X_UNROLL
    for (z = 0; z < nz; z++)
        X_UNROLL
        for (m = 0; m < mr; m++)
            acc[z][m] = bias ? _mm512_loadu_ps(bias + 16 * z) : _mm512_setzero_ps();
    for (ky = 0; ky < kh; ky++) {
        const float *src = in + (y * p->stride_h + ky * p->dilation_h) * p->in_w + x * sw;
        for (i = 0; i < c->icg; i++, src += c->cs) {
            const float *wt = w + ((i * kh + ky) * kw) * 8;
            for (kx = 0; kx < kw; kx++, wt += 8) {
                const float *s = src + kx * p->dilation_w;
                __m512 wv[2];
                X_UNROLL
                for (z = 0; z < nz; z++)
                    wv[z] = _mm512_castpd_ps(_mm512_insertf64x4(
                        _mm512_castps_pd(_mm512_castps256_ps512(_mm256_loadu_ps(wt + z * wz))),
                        _mm256_castps_pd(_mm256_loadu_ps(wt + z * wz + 8 * c->k)), 1));
                X_UNROLL
                for (m = 0; m < mr; m++) {
                    const __m512 v = _mm512_set1_ps(s[m * sw]);
                    X_UNROLL
                    for (z = 0; z < nz; z++)
                        acc[z][m] = _mm512_fmadd_ps(wv[z], v, acc[z][m]);
                }
            }
        }
    }
    X_UNROLL
    for (z = 0; z < nz; z++)
        X_UNROLL
        for (m = 0; m < mr; m++)
            _mm512_i32scatter_ps(out + 16 * z * c->ocs + (y - c->y0) * p->out_w + x + m, chan,
                                 acc[z][m], 4);
}

typedef void XCTileFn(const XConv *c, const float *in, const float *w, const float *bias,
                      float *out, int32_t y, int32_t x);

#define X_CTILE_FN(NZ, MR)                                                                   \
    static void x_ctile_##NZ##_##MR(const XConv *c, const float *in, const float *w,         \
                                    const float *bias, float *out, int32_t y, int32_t x)     \
    {                                                                                        \
        x_ctile(c, in, w, bias, out, y, x, NZ, MR);                                          \
    }
X_CTILE_FN(2, 1) X_CTILE_FN(2, 2) X_CTILE_FN(2, 3) X_CTILE_FN(2, 4)
X_CTILE_FN(2, 5) X_CTILE_FN(2, 6) X_CTILE_FN(2, 7) X_CTILE_FN(2, 8)
X_CTILE_FN(1, 1) X_CTILE_FN(1, 2) X_CTILE_FN(1, 3) X_CTILE_FN(1, 4)
X_CTILE_FN(1, 5) X_CTILE_FN(1, 6) X_CTILE_FN(1, 7) X_CTILE_FN(1, 8)

static XCTileFn *const x_ctile_fns[2][8] = {
    { x_ctile_1_1, x_ctile_1_2, x_ctile_1_3, x_ctile_1_4, x_ctile_1_5, x_ctile_1_6,
      x_ctile_1_7, x_ctile_1_8 },
    { x_ctile_2_1, x_ctile_2_2, x_ctile_2_3, x_ctile_2_4, x_ctile_2_5, x_ctile_2_6,
      x_ctile_2_7, x_ctile_2_8 },
};

/* The channels [0, n16) of every group (n16 a multiple of 16), rows [y0, y1). */
static void x_channel_lanes(const XConv *c, const float *in, const float *weight,
                            const float *bias, float *out, int32_t n16, int32_t y0, int32_t y1)
{
    const CnnConv2dParams *p = c->p;
    const int32_t ocg = p->out_c / p->groups;
    int32_t g, j, y, x;

    for (g = 0; g < p->groups; g++)
        for (j = 0; j < n16; j += 32) {
            const int nz = n16 - j >= 32 ? 2 : 1;
            const int32_t o = g * ocg + j;
            for (y = y0; y < y1; y++)
                for (x = 0; x < p->out_w; x += 8) {
                    const int mr = p->out_w - x >= 8 ? 8 : (int)(p->out_w - x);
                    x_ctile_fns[nz - 1][mr - 1](c, in + g * c->icg * c->cs, weight + o * c->k,
                                                bias ? bias + o : NULL, out + o * c->ocs, y, x);
                }
        }
}
#endif

/* Whether the path takes the conv p. */
static int x_takes(const CnnConv2dParams *p)
{
    const int padded = p->pad_top || p->pad_bottom || p->pad_left || p->pad_right;
    return !(padded && p->pad_mode != CNN_PAD_ZEROS) && !p->in_hwc && p->kernel_h <= XK &&
           p->kernel_w <= XK && p->stride_w <= XSTRIDE_MAX;
}

/* Rows [y0, y1) of output channels [o0, o1) (o0 and o1 multiples of 8 or
 * out_c; with groups, all channels); out is channel o0's row y0. */
static void x_rows(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                   const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                   float *CNN_RESTRICT out, int32_t out_cs, int32_t y0, int32_t y1, int32_t o0,
                   int32_t o1)
{
    const int32_t ocg = p->out_c / p->groups;
    int32_t g, j, j0, q, qs, qe, o;
    int32_t n_flat, n_rows;
    XConv c;
    XTile t;

    c.p = p;
    c.cs = p->in_h * p->in_w;
    c.icg = p->in_c / p->groups;
    c.k = c.icg * p->kernel_h * p->kernel_w;
    c.ocs = out_cs;
    c.y0 = y0;
    /* Flat lanes (rows of in_w, vectors across rows) where they are linear
     * and take fewer vectors than rows of out_w rounded up. */
    n_rows = (y1 - y0) * ((p->out_w + XL - 1) / XL);
    n_flat = ((y1 - y0 - 1) * p->in_w + p->out_w + XL - 1) / XL;
    if (p->stride_h == 1 && p->stride_w == 1 && p->out_w <= p->in_w && n_flat < n_rows)
        c.vw = p->in_w;
    else
        c.vw = (p->out_w + XL - 1) / XL * XL;
    qs = y0 * c.vw;
    qe = (y1 - 1) * c.vw + p->out_w;
    j0 = 0;
#if defined(__AVX512F__)
    /* Rows that fill less than half of their vectors, no padding and
     * blocks of 8 to pair: channels in the lanes for those blocks. */
    if (!(p->pad_top | p->pad_bottom | p->pad_left | p->pad_right) && ocg >= 16 && o0 == 0 && o1 == p->out_c &&
        2 * (y1 - y0) * p->out_w < ((qe - qs + XL - 1) / XL) * XL) {
        j0 = ocg / 16 * 16;
        x_channel_lanes(&c, in, weight, bias, out, j0, y0, y1);
    }
#endif

    if (c.icg == 1 && ocg == 1 && p->groups > 1) {
        /* Depthwise: the lanes' masks once, tiles of 8 channels. */
        for (q = qs; q < qe; q += t.nv * XL) {
            int nv = (int)((qe - q + XL - 1) / XL);
            if (nv > XNV)
                nv = XNV;
            x_tile_masks(&c, &t, q, qe, nv);
            for (g = 0; g < p->groups; g += j) {
                j = p->groups - g >= 8 ? 8 : 1;
                x_dw_fn((int)j, nv, p->stride_w)(&c, &t, in + g * c.cs, weight + g * c.k,
                                                 bias ? bias + g : NULL, out + g * out_cs);
            }
        }
        goto act;
    }
    for (g = 0; g < p->groups; g++) {
        const float *in_g = in + g * c.icg * c.cs;
        for (q = qs; q < qe; q += t.nv * XL) {
            int nv = (int)((qe - q + XL - 1) / XL);
            if (nv > XNV)
                nv = XNV;
            x_tile_masks(&c, &t, q, qe, nv);
            /* this group's channels in [o0, o1) (with groups, all) */
            const int32_t jend = o1 - g * ocg < ocg ? o1 - g * ocg : ocg;
            for (j = j0 > o0 - g * ocg ? j0 : o0 - g * ocg; j < jend;) {
                const int nb = cnn_conv_block_width(ocg - j);
                int nblk = 1;
                if (nb == 8 && nv == 1)
                    nblk = (jend - j) / 8 > XNBLK ? XNBLK : (int)((jend - j) / 8);
                o = g * ocg + j;
                x_tile_fn(nb, nblk, nv, p->stride_w)(&c, &t, in_g, weight + o * c.k,
                                                     bias ? bias + o : NULL,
                                                     out + (o - o0) * out_cs);
                j += nb * nblk;
            }
        }
    }
act:
    if (p->act.fn)
        for (o = o0; o < o1; o++)
            cnn_act_f32(&p->act, out + (o - o0) * out_cs, out + (o - o0) * out_cs,
                        (y1 - y0) * p->out_w);
}

int cnn_conv2d_x86_rows_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                            const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                            float *CNN_RESTRICT out, int32_t out_cs, int32_t y0, int32_t y1)
{
    if (!x_takes(p) || y0 >= y1)
        return 0;
    x_rows(p, in, weight, bias, out, out_cs, y0, y1, 0, p->out_c);
    return 1;
}

int cnn_conv2d_x86_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                       const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                       float *CNN_RESTRICT out, int32_t y0, int32_t y1)
{
    return cnn_conv2d_x86_rows_f32(p, in, weight, bias, out + y0 * p->out_w,
                                   p->out_h * p->out_w, y0, y1);
}

/* Floats of conv rows the fused conv+pool keeps on the stack at a time. */
enum { X_POOL_BUF = 8192 };

/* The conv rows pooled row t's window reads: [*ra, *rb) (may be empty). */
static void x_pool_rows(const CnnConvPoolParams *p, int32_t t, int32_t *ra, int32_t *rb)
{
    const CnnPool2dParams *q = &p->pool;
    const int32_t d = p->kind == CNN_POOL_AVG ? 1 : q->dilation_h;
    const int32_t r0 = t * q->stride_h - q->pad_top;
    const int32_t r1 = r0 + (q->kernel_h - 1) * d + 1;
    *ra = r0 > 0 ? r0 : 0;
    *rb = r1 < q->in_h ? r1 : q->in_h;
    if (*rb < *ra)
        *rb = *ra;
}

#if defined(__AVX512F__)
/*
 * The pool of one channel over a band of its conv rows [ra, rb) (band: row
 * ra), pooled rows [t0, t1) into dst (pooled row t0).  16 pooled columns
 * per vector; each lane visits its window's taps in the pool kernels'
 * order (rows, then columns; taps outside the map masked off) and reduces
 * them as they do: max and min keep a value that is greater (after the
 * sign) or NaN, average adds from 0 and divides by the same divisor.  So
 * the result is pool.c's, bit for bit.
 */
static void x_pool_band(const CnnConvPoolParams *p, const float *band, int32_t ra,
                        int32_t t0, int32_t t1, float *dst)
{
    const CnnPool2dParams *q = &p->pool;
    const int avg = p->kind == CNN_POOL_AVG;
    const __m512 sign = _mm512_set1_ps(p->kind == CNN_POOL_MIN ? -1.0f : 1.0f);
    const int32_t dh = avg ? 1 : q->dilation_h, dw = avg ? 1 : q->dilation_w;
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int32_t t, u0, ky, kx, ky_lo, ky_hi;

    for (t = t0; t < t1; t++) {
        const int32_t r0 = t * q->stride_h - q->pad_top;
        const int32_t win_h = (int32_t)cnn_pool_window_padded(r0, q->kernel_h, q->in_h,
                                                              q->pad_bottom);
        cnn_valid_range(r0, dh, q->kernel_h, q->in_h, &ky_lo, &ky_hi);
        for (u0 = 0; u0 < q->out_w; u0 += 16) {
            const __mmask16 lane = (__mmask16)(q->out_w - u0 >= 16 ? 0xFFFF
                                                                   : (1u << (q->out_w - u0)) - 1);
            const __m512i s0 = _mm512_sub_epi32(
                _mm512_mullo_epi32(_mm512_add_epi32(_mm512_set1_epi32(u0), iota),
                                   _mm512_set1_epi32(q->stride_w)),
                _mm512_set1_epi32(q->pad_left));
            __m512 acc = avg ? _mm512_setzero_ps() : _mm512_set1_ps(-INFINITY);
            for (ky = ky_lo; ky < ky_hi; ky++) {
                const float *row = band + (r0 + ky * dh - ra) * q->in_w;
                for (kx = 0; kx < q->kernel_w; kx++) {
                    const __m512i sx = _mm512_add_epi32(s0, _mm512_set1_epi32(kx * dw));
                    const __mmask16 m =
                        _mm512_mask_cmpge_epi32_mask(lane, sx, _mm512_setzero_si512()) &
                        _mm512_cmplt_epi32_mask(sx, _mm512_set1_epi32(q->in_w));
                    const int32_t b = u0 * q->stride_w - q->pad_left + kx * dw;
                    __m512 v;
                    if (q->stride_w == 1) {         /* consecutive columns */
                        v = _mm512_maskz_loadu_ps(m, row + b);
                    } else if (q->stride_w == 2) {  /* the even ones of a double run */
                        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16,
                                                               18, 20, 22, 24, 26, 28, 30);
                        v = _mm512_permutex2var_ps(
                            _mm512_maskz_loadu_ps((__mmask16)x_spread8(m), row + b), even,
                            _mm512_maskz_loadu_ps((__mmask16)x_spread8(m >> 8), row + b + 16));
                    } else {
                        v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, sx, row, 4);
                    }
                    if (avg) {
                        acc = _mm512_mask_add_ps(acc, m, acc, v);
                    } else {
                        const __m512 sv = _mm512_mul_ps(sign, v);
                        const __mmask16 up = _mm512_cmp_ps_mask(sv, acc, _CMP_GT_OQ) |
                                             _mm512_cmp_ps_mask(sv, sv, _CMP_UNORD_Q);
                        acc = _mm512_mask_mov_ps(acc, (__mmask16)(up & m), sv);
                    }
                }
            }
            if (avg) {
                /* pool.c's divisor, and 0 for a window with no element */
                const __m512i hi = _mm512_add_epi32(s0, _mm512_set1_epi32(q->kernel_w));
                const __m512i s_lo = _mm512_max_epi32(s0, _mm512_setzero_si512());
                const __m512i s_hi = _mm512_min_epi32(hi, _mm512_set1_epi32(q->in_w));
                const int32_t r_lo = r0 > 0 ? r0 : 0;
                const int32_t r_hi = r0 + q->kernel_h < q->in_h ? r0 + q->kernel_h : q->in_h;
                const __m512i div =
                    q->count_include_pad
                        ? _mm512_mullo_epi32(
                              _mm512_set1_epi32(win_h),
                              _mm512_sub_epi32(_mm512_min_epi32(hi, _mm512_set1_epi32(
                                                                        q->in_w + q->pad_right)),
                                               s0))
                        : _mm512_mullo_epi32(_mm512_set1_epi32(r_hi - r_lo),
                                             _mm512_sub_epi32(s_hi, s_lo));
                const __mmask16 some = r_lo < r_hi ? _mm512_cmplt_epi32_mask(s_lo, s_hi) : 0;
                acc = _mm512_maskz_div_ps(some, acc, _mm512_cvtepi32_ps(div));
            } else {
                acc = _mm512_mul_ps(sign, acc);
            }
            _mm512_mask_storeu_ps(dst + (t - t0) * q->out_w + u0, lane, acc);
        }
    }
}
#endif

int cnn_conv2d_pool_x86_f32(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                            const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                            float *CNN_RESTRICT out)
{
    const CnnConv2dParams *c = &p->conv;
    const CnnPool2dParams *q = &p->pool;
    const int32_t qplane = q->out_h * q->out_w;
    const int32_t kext = (q->kernel_h - 1) * (p->kind == CNN_POOL_AVG ? 1 : q->dilation_h) + 1;
    int32_t chunk, t0, t1, ra, rb, rb1, o0, o;
    float buf[X_POOL_BUF];

    if (!x_takes(c))
        return 0;
    /* Channels per pass: all of them, or (groups == 1) a multiple of 8
     * whose rows of one pooled row fit. */
    chunk = c->out_c;
    if ((int64_t)chunk * kext * c->out_w > X_POOL_BUF) {
        chunk = (int32_t)(X_POOL_BUF / ((int64_t)kext * c->out_w)) / 8 * 8;
        if (c->groups != 1 || chunk < 8)
            return 0;
    }
    for (t0 = 0; t0 < q->out_h; t0 = t1) {
        /* A band of pooled rows [t0, t1) whose conv rows fit, and those rows. */
        x_pool_rows(p, t0, &ra, &rb);
        for (t1 = t0 + 1; t1 < q->out_h; t1++) {
            int32_t a, b;
            x_pool_rows(p, t1, &a, &b);
            rb1 = b > rb ? b : rb;
            if ((int64_t)chunk * (rb1 - ra) * c->out_w > X_POOL_BUF)
                break;
            rb = rb1;
        }
        for (o0 = 0; o0 < c->out_c; o0 += chunk) {
            const int32_t o1 = c->out_c - o0 > chunk ? o0 + chunk : c->out_c;
            const int32_t cs = (rb - ra) * c->out_w;
            /* The pool over the band, which holds conv rows [ra, rb): its row
             * 0 is ra, and the padding moves so that every window, clip and
             * divisor is the whole map's. */
            CnnPool2dParams bq = *q;
            bq.channels = 1;
            bq.in_h = rb - ra;
            bq.out_h = t1 - t0;
            bq.pad_top = q->pad_top - t0 * q->stride_h + ra;
            bq.pad_bottom = q->in_h + q->pad_bottom - rb;
            if (rb > ra)
                x_rows(c, in, weight, bias, buf, cs, ra, rb, o0, o1);
            for (o = o0; o < o1; o++) {
                const float *src = buf + (o - o0) * cs;
                float *dst = out + o * qplane + t0 * q->out_w;
#if defined(__AVX512F__)
                (void)bq;
                x_pool_band(p, src, ra, t0, t1, dst);
                continue;
#endif
                if (p->kind == CNN_POOL_MAX)
                    cnn_maxpool2d_f32(&bq, src, dst);
                else if (p->kind == CNN_POOL_MIN)
                    cnn_minpool2d_f32(&bq, src, dst);
                else
                    cnn_avgpool2d_f32(&bq, src, dst);
            }
        }
    }
    return 1;
}

#else
/* ISO C wants a translation unit to declare something. */
typedef int cnn_conv_x86_unused;
#endif /* CNN_CONV_X86 */
