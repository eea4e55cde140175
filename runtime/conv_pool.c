/*
 * conv_pool.c - cnn_conv2d_pool_f32: a conv (with its activation) and the
 * max / min / average pool after it, in one pass, see cnn.h.
 *
 * The pooled output is the only memory written.  For each block of nb
 * output channels (the packed weight layout's blocks, cnn_pack.h) the conv
 * rows are visited top to bottom; a row that no pooling window reads is
 * skipped, and so is a column.  The pixels of a row are computed as in
 * conv.c: interior pixels (every tap inside the input) in tiles of nb
 * channels x mr pixels whose sums stay in registers, the others one at a
 * time with each tap checked.  Each finished pixel gets the bias and the
 * activation, then is merged into every pooled output whose window holds it
 * (overlapping windows share it: no pixel is computed twice).
 *
 * Since rows are visited in order and columns in order within a row, every
 * pooled output sees its window's pixels in the pool kernel's order (rows,
 * then columns), so the running max / min / sum kept in the output itself
 * equals pool.c's.  Every conv sum starts at the bias and adds its taps in
 * the order (ky, i, kx), as cnn_conv2d_ref_f32 does.  So without fused
 * multiply-adds the result is the reference conv followed by the pool bit
 * for bit (tests/runtime/test_conv_pool_twin.c).
 */
#include <math.h>
#include <stddef.h>

#include "cnn.h"
#include "cnn_internal.h"
#include "cnn_mac.h"
#include "cnn_pack.h"
#include "cnn_shape.h"
#include "conv_x86.h"

/* The multiply-add of conv.c: fmaf where the compiler was told the CPU has
 * it (as conv.c decides), else CNN_MAC. */
#if !defined(CNN_CONV_FMA) && defined(__FMA__)
#define CNN_CONV_FMA 1
#endif
#if defined(CNN_CONV_FMA) && CNN_CONV_FMA
#define CP_MAC(acc, w, v) fmaf((w), (v), (acc))
#else
#define CP_MAC(acc, w, v) CNN_MAC(acc, w, v)
#endif

/* Pixels per tile: conv.c's choice (a SIMD register of nb lanes per pixel;
 * with 32 scalar float registers about 16 accumulators). */
#if (defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || defined(__ARM_NEON)) && \
    !defined(CNN_CONV_SCALAR_TILES)
#define CP_MR(nb) 8
#define CP_TILE_MAX 64          /* floats of the largest tile, mr * nb */
#define CP_KW(kw) 0             /* the width variants run the general tile here */
#else
#define CP_MR(nb) ((nb) >= 8 ? 2 : (nb) == 4 ? 4 : 8)
#define CP_TILE_MAX 16
#define CP_KW(kw) (kw)          /* taps unrolled: neighbouring taps share their loads */
#endif
#define CP_MR_MAX 8

#define CP_INLINE CNN_TILE_INLINE
#define CP_UNROLL CNN_UNROLL(8)

/* Kernel heights up to this get their rows listed once per conv row;
 * taller kernels take the checked pixel path everywhere. */
enum { CP_MAX_KH = 16 };

typedef struct CpCtx {
    const CnnConv2dParams *c;
    const CnnPool2dParams *q;
    CnnPoolKind kind;
    const float *in;            /* the current group's first input channel */
    int32_t cs, rs, es;         /* input strides: channel, row, column */
    int32_t icg, khkw;
    int32_t xlo, xhi;           /* interior conv columns */
    int32_t qplane;             /* pooled plane: q->out_h * q->out_w */
    int32_t qdh, qdw;           /* pool dilation (1 for avg, which has none) */
    int col_gaps;               /* some conv columns between windows are never read */
} CpCtx;

#if !defined(CNN_CONV_POOL_TILES)
/* The conv's input row of kernel row ky for conv row y, or -1 for zero
 * padding (as conv.c). */
static int32_t cp_in_row(const CnnConv2dParams *c, int32_t y, int32_t ky)
{
    int32_t r = y * c->stride_h - c->pad_top + ky * c->dilation_h;
    if (r < 0 || r >= c->in_h)
        return c->pad_mode == CNN_PAD_ZEROS ? -1 : cnn_pad_index(r, c->in_h, c->pad_mode);
    return r;
}

#endif

/*
 * The pooled outputs t along one axis whose windows (start t*s - pad, taps
 * every d, k of them) may hold conv position r: [*lo, *hi).  Such a t holds r
 * when (r + pad - t*s) is a multiple of d (cp_holds).
 */
static void cp_windows(int32_t r, int32_t k, int32_t s, int32_t d, int32_t pad, int32_t n,
                       int32_t *lo, int32_t *hi)
{
    const int32_t a = r + pad;          /* >= 0 */
    const int32_t b = a - (k - 1) * d;  /* t*s must lie in [b, a] */
    int32_t first = b <= 0 ? 0 : (b + s - 1) / s;
    int32_t last = a / s + 1;
    if (last > n)
        last = n;
    *lo = first;
    *hi = last > first ? last : first;
}

static int cp_holds(int32_t r, int32_t t, int32_t s, int32_t d, int32_t pad)
{
    return d == 1 || (r + pad - t * s) % d == 0;
}

/*
 * The pooled columns whose windows may hold conv column x, [lo, hi), kept
 * as x runs left to right: both ends only move right, so no division.
 */
typedef struct CpCols {
    int32_t lo, hi;
} CpCols;

static inline void cp_cols_at(const CpCtx *cx, CpCols *st, int32_t x)
{
    const CnnPool2dParams *q = cx->q;
    const int32_t a = x + q->pad_left;                  /* px*s must lie in [b, a] */
    const int32_t b = a - (q->kernel_w - 1) * cx->qdw;
    while (st->hi < q->out_w && st->hi * q->stride_w <= a)
        st->hi++;
    while (st->lo < st->hi && st->lo * q->stride_w < b)
        st->lo++;
}

#if !defined(CNN_CONV_POOL_TILES)
/* Does some pooling window read conv column x?  (The caller has checked
 * that one reads the row.)  st is not moved. */
static int cp_column_read(const CpCtx *cx, CpCols st, int32_t x)
{
    const CnnPool2dParams *q = cx->q;
    int32_t px;
    cp_cols_at(cx, &st, x);
    for (px = st.lo; px < st.hi; px++)
        if (cp_holds(x, px, q->stride_w, cx->qdw, q->pad_left))
            return 1;
    return 0;
}

#endif

/* Merge conv pixels (r, x .. x+count-1) of nb channels, v[m*nb + n], into
 * every pooled output of rows [ylo, yhi) whose window holds them.  out is
 * the block's first channel of the pooled output; st follows x. */
static void cp_merge(const CpCtx *cx, float *CNN_RESTRICT out, const float *v, int count,
                     int32_t r, int32_t x, int32_t ylo, int32_t yhi, CpCols *st, int nb)
{
    const CnnPool2dParams *q = cx->q;
    const int32_t plane = cx->qplane;
    int32_t py, px;
    int n, m;

    for (m = 0; m < count; m++, x++, v += nb) {
        cp_cols_at(cx, st, x);
        for (py = ylo; py < yhi; py++) {
            if (!cp_holds(r, py, q->stride_h, cx->qdh, q->pad_top))
                continue;
            for (px = st->lo; px < st->hi; px++) {
                float *o = out + py * q->out_w + px;
                if (!cp_holds(x, px, q->stride_w, cx->qdw, q->pad_left))
                    continue;
                switch (cx->kind) {
                case CNN_POOL_MAX:
                    for (n = 0; n < nb; n++) {
                        const float a = o[n * plane], e = v[n];
                        o[n * plane] = (e > a || e != e) ? e : a;
                    }
                    break;
                case CNN_POOL_MIN:
                    for (n = 0; n < nb; n++) {
                        const float a = o[n * plane], e = v[n];
                        o[n * plane] = (e < a || e != e) ? e : a;
                    }
                    break;
                default:
                    for (n = 0; n < nb; n++)
                        o[n * plane] += v[n];
                    break;
                }
            }
        }
    }
}

#if !defined(CNN_CONV_POOL_TILES)
/* One conv pixel of nb channels anywhere: each tap checked (conv.c's
 * conv_pixel_wide order: ky, i, kx; zero padding left out).  Border pixels
 * (and every pixel of a kernel taller than CP_MAX_KH). */
CP_INLINE void cp_pixel(const CpCtx *cx, const float *CNN_RESTRICT w,
                        const float *CNN_RESTRICT bias, float *acc, int32_t y, int32_t x,
                        const int nb)
{
    const CnnConv2dParams *p = cx->c;
    float a[CNN_CONV_NR];       /* local, so the sums stay in registers */
    int32_t ky, i, kx;
    int n;

    CP_UNROLL
    for (n = 0; n < nb; n++)
        a[n] = bias ? bias[n] : 0.0f;
    for (ky = 0; ky < p->kernel_h; ky++) {
        const int32_t r = cp_in_row(p, y, ky);
        if (r < 0)
            continue;
        for (i = 0; i < cx->icg; i++) {
            const float *row = cx->in + i * cx->cs + r * cx->rs;
            const float *wt = w + (i * cx->khkw + ky * p->kernel_w) * nb;
            for (kx = 0; kx < p->kernel_w; kx++) {
                int32_t s = x * p->stride_w - p->pad_left + kx * p->dilation_w;
                float e;
                if (s < 0 || s >= p->in_w) {
                    if (p->pad_mode == CNN_PAD_ZEROS)
                        continue;
                    s = cnn_pad_index(s, p->in_w, p->pad_mode);
                }
                e = row[s * cx->es];
                CP_UNROLL
                for (n = 0; n < nb; n++)
                    a[n] = CP_MAC(a[n], wt[kx * nb + n], e);
            }
        }
    }
    CP_UNROLL
    for (n = 0; n < nb; n++)
        acc[n] = a[n];
}

/* mr interior pixels x .. x+mr-1 of conv row y, nb channels, into
 * acc[m*nb + n]: the rows that read the input are listed in off / wo. */
CP_INLINE void cp_tile(const CpCtx *cx, int32_t nrows, const int32_t *off, const int32_t *wo,
                       const float *CNN_RESTRICT w, const float *CNN_RESTRICT bias,
                       float *CNN_RESTRICT acc, int32_t x, const int nb, const int mr,
                       const int kwc)
{
    /* kwc > 0 (Cortex-M): kernel_w == kwc with unit column steps and a
     * channels-first input, so the taps unroll and share their loads. */
    const CnnConv2dParams *p = cx->c;
    const int32_t cstep = p->stride_w * cx->es, dstep = p->dilation_w * cx->es;
    const float *col = cx->in + (x * p->stride_w - p->pad_left) * cx->es;
    float a[CP_TILE_MAX];
    int32_t t, i, kx;
    int m, n;

    CP_UNROLL
    for (m = 0; m < mr; m++)
        CP_UNROLL
        for (n = 0; n < nb; n++)
            a[m * nb + n] = bias ? bias[n] : 0.0f;
    for (t = 0; t < nrows; t++) {
        const float *src = col + off[t];
        const float *wk = w + wo[t];
        for (i = 0; i < cx->icg; i++, src += cx->cs, wk += cx->khkw * nb) {
            const float *s = src;
            const float *wt = wk;
            if (kwc) {
                CP_UNROLL
                for (kx = 0; kx < kwc; kx++)
                    CP_UNROLL
                    for (m = 0; m < mr; m++)
                        CP_UNROLL
                        for (n = 0; n < nb; n++)
                            a[m * nb + n] = CP_MAC(a[m * nb + n], wt[kx * nb + n], s[kx + m]);
                continue;
            }
            for (kx = 0; kx < p->kernel_w; kx++, s += dstep, wt += nb) {
                float e[CP_MR_MAX];
                CP_UNROLL
                for (m = 0; m < mr; m++)
                    e[m] = s[m * cstep];
                CP_UNROLL
                for (m = 0; m < mr; m++)
                    CP_UNROLL
                    for (n = 0; n < nb; n++)
                        a[m * nb + n] = CP_MAC(a[m * nb + n], wt[n], e[m]);
            }
        }
    }
    CP_UNROLL
    for (m = 0; m < mr; m++)
        CP_UNROLL
        for (n = 0; n < nb; n++)
            acc[m * nb + n] = a[m * nb + n];
}

#endif

/* Average pooling's last step: each window's sum over PyTorch's divisor
 * (pool.c's); an empty window keeps its 0. */
static void cp_average(const CpCtx *cx, float *CNN_RESTRICT out, int nb)
{
    const CnnPool2dParams *q = cx->q;
    int32_t y, px;
    int n;
    for (y = 0; y < q->out_h; y++) {
        const int32_t r0 = y * q->stride_h - q->pad_top;
        const int32_t win_h = (int32_t)cnn_pool_window_padded(r0, q->kernel_h, q->in_h,
                                                              q->pad_bottom);
        const int32_t r_lo = r0 > 0 ? r0 : 0;
        const int32_t r_hi = r0 + q->kernel_h < q->in_h ? r0 + q->kernel_h : q->in_h;
        for (px = 0; px < q->out_w; px++) {
            const int32_t s0 = px * q->stride_w - q->pad_left;
            const int32_t win_w = (int32_t)cnn_pool_window_padded(s0, q->kernel_w, q->in_w,
                                                                  q->pad_right);
            const int32_t s_lo = s0 > 0 ? s0 : 0;
            const int32_t s_hi = s0 + q->kernel_w < q->in_w ? s0 + q->kernel_w : q->in_w;
            int32_t divisor;
            if (r_lo >= r_hi || s_lo >= s_hi)
                continue;
            divisor = q->count_include_pad ? win_h * win_w : (r_hi - r_lo) * (s_hi - s_lo);
            for (n = 0; n < nb; n++)
                out[n * cx->qplane + y * q->out_w + px] /= (float)divisor;
        }
    }
}

#if !defined(CNN_CONV_POOL_TILES)
/* One block of nb channels: out is its first pooled channel. */
CP_INLINE void cp_block(const CpCtx *cx, const float *CNN_RESTRICT w,
                        const float *CNN_RESTRICT bias, float *CNN_RESTRICT out, const int nb,
                        const int kwc)
{
    const CnnConv2dParams *p = cx->c;
    const CnnPool2dParams *q = cx->q;
    const int mr = CP_MR(nb);
    const float init = cx->kind == CNN_POOL_MAX ? -INFINITY
                     : cx->kind == CNN_POOL_MIN ? INFINITY : 0.0f;
    const int listed = p->kernel_h <= CP_MAX_KH;
    float acc[CP_TILE_MAX];
    int32_t off[CP_MAX_KH], wo[CP_MAX_KH];
    int32_t y, x, k, ylo, yhi;
    CpCols cols;
    int m, n;

    for (n = 0; n < nb; n++)
        for (k = 0; k < cx->qplane; k++)
            out[n * cx->qplane + k] = init;

    for (y = 0; y < p->out_h; y++) {
        int32_t nrows = 0, py;
        int any = 0;
        cp_windows(y, q->kernel_h, q->stride_h, cx->qdh, q->pad_top, q->out_h, &ylo, &yhi);
        for (py = ylo; py < yhi; py++)
            any |= cp_holds(y, py, q->stride_h, cx->qdh, q->pad_top);
        if (!any)
            continue;       /* no window reads this conv row */
        if (listed)
            for (k = 0; k < p->kernel_h; k++) {
                const int32_t r = cp_in_row(p, y, k);
                if (r < 0)
                    continue;
                off[nrows] = r * cx->rs;
                wo[nrows++] = k * p->kernel_w * nb;
            }
        cols.lo = cols.hi = 0;
        for (x = 0; x < p->out_w;) {
            if (listed && x >= cx->xlo && x + mr <= cx->xhi) {
                int need = !cx->col_gaps;
                for (m = 0; m < mr && !need; m++)
                    need = cp_column_read(cx, cols, x + m);
                if (need) {
                    cp_tile(cx, nrows, off, wo, w, bias, acc, x, nb, mr, kwc);
                    if (p->act.fn)
                        p->act.fn(acc, acc, mr * nb, p->act.slope);
                    cp_merge(cx, out, acc, mr, y, x, ylo, yhi, &cols, nb);
                }
                x += mr;
                continue;
            }
            if (cp_column_read(cx, cols, x)) {
                if (listed && x >= cx->xlo && x < cx->xhi)
                    cp_tile(cx, nrows, off, wo, w, bias, acc, x, nb, 1, kwc);   /* no checks */
                else
                    cp_pixel(cx, w, bias, acc, y, x, nb);
                if (p->act.fn)
                    p->act.fn(acc, acc, nb, p->act.slope);
                cp_merge(cx, out, acc, 1, y, x, ylo, yhi, &cols, nb);
            }
            x++;
        }
    }

    if (cx->kind == CNN_POOL_AVG)
        cp_average(cx, out, nb);
}

#endif

#if !defined(CNN_CONV_POOL_TILES)
typedef void CpBlockFn(const CpCtx *cx, const float *w, const float *b, float *out);

/* The setup of a call, then every block with the function of its width. */
static void cp_run(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                   const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                   float *CNN_RESTRICT out, CpBlockFn *b8, CpBlockFn *b4, CpBlockFn *b2,
                   CpBlockFn *b1);

/*
 * One entry point: cnn_conv2d_pool_NAME_f32 with its four block functions,
 * one per block width.  KW = 0: any kernel width, stride and dilation;
 * KW > 0: kernel_w == KW, stride_w == dilation_w == 1, channels-first input
 * (cnnc calls it only then), so on Cortex-M the taps unroll.
 */
#define CP_VARIANT(NAME, KW)                                                                 \
    static void cp_block8_##NAME(const CpCtx *cx, const float *w, const float *b, float *out) \
    {                                                                                        \
        cp_block(cx, w, b, out, 8, CP_KW(KW));                                               \
    }                                                                                        \
    static void cp_block4_##NAME(const CpCtx *cx, const float *w, const float *b, float *out) \
    {                                                                                        \
        cp_block(cx, w, b, out, 4, CP_KW(KW));                                               \
    }                                                                                        \
    static void cp_block2_##NAME(const CpCtx *cx, const float *w, const float *b, float *out) \
    {                                                                                        \
        cp_block(cx, w, b, out, 2, CP_KW(KW));                                               \
    }                                                                                        \
    static void cp_block1_##NAME(const CpCtx *cx, const float *w, const float *b, float *out) \
    {                                                                                        \
        cp_block(cx, w, b, out, 1, CP_KW(KW));                                               \
    }                                                                                        \
    void cnn_conv2d_pool_##NAME##_f32(const CnnConvPoolParams *p, const float *CNN_RESTRICT in, \
                                      const float *CNN_RESTRICT weight,                      \
                                      const float *CNN_RESTRICT bias, float *CNN_RESTRICT out) \
    {                                                                                        \
        cp_run(p, in, weight, bias, out, cp_block8_##NAME, cp_block4_##NAME,                 \
               cp_block2_##NAME, cp_block1_##NAME);                                         \
    }

CP_VARIANT(k3, 3)
CP_VARIANT(k5, 5)
/* The general entry point; its name has no variant part. */
#define cnn_conv2d_pool_any_f32 cnn_conv2d_pool_f32
CP_VARIANT(any, 0)

static void cp_run(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                   const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                   float *CNN_RESTRICT out, CpBlockFn *b8, CpBlockFn *b4, CpBlockFn *b2,
                   CpBlockFn *b1)
{
    const CnnConv2dParams *c = &p->conv;
    const int32_t ocg = c->out_c / c->groups;
    int32_t g, j, lo0, hi0, lo1, hi1;
    int nb;
    CpCtx cx;

#if CNN_CONV_X86
    /* x86 with AVX-512 or AVX2: conv_x86.c's rows, pooled (the same bits). */
    if (cnn_conv2d_pool_x86_f32(p, in, weight, bias, out))
        return;
#endif
    cx.c = c;
    cx.q = &p->pool;
    cx.kind = p->kind;
    cx.cs = c->in_hwc ? 1 : c->in_h * c->in_w;
    cx.rs = c->in_hwc ? c->in_w * c->in_c : c->in_w;
    cx.es = c->in_hwc ? c->in_c : 1;
    cx.icg = c->in_c / c->groups;
    cx.khkw = c->kernel_h * c->kernel_w;
    cx.qplane = p->pool.out_h * p->pool.out_w;
    cx.qdh = p->kind == CNN_POOL_AVG ? 1 : p->pool.dilation_h;
    cx.qdw = p->kind == CNN_POOL_AVG ? 1 : p->pool.dilation_w;
    cx.col_gaps = cx.qdw > 1 || p->pool.stride_w > p->pool.kernel_w;
    /* The interior: where the first and the last tap of a row are inside. */
    cnn_valid_range(-c->pad_left, c->stride_w, c->out_w, c->in_w, &lo0, &hi0);
    cnn_valid_range((c->kernel_w - 1) * c->dilation_w - c->pad_left, c->stride_w, c->out_w,
                    c->in_w, &lo1, &hi1);
    cx.xlo = lo0 > lo1 ? lo0 : lo1;
    cx.xhi = hi0 < hi1 ? hi0 : hi1;
    if (cx.xhi < cx.xlo)
        cx.xhi = cx.xlo;
    for (g = 0; g < c->groups; g++) {
        cx.in = in + g * cx.icg * cx.cs;
        for (j = 0; j < ocg; j += nb) {
            const int32_t o = g * ocg + j;
            const float *w = weight + o * cx.icg * cx.khkw;
            const float *b = bias ? bias + o : NULL;
            nb = cnn_conv_block_width(ocg - j);
            (nb == 8 ? b8 : nb == 4 ? b4 : nb == 2 ? b2 : b1)(&cx, w, b, out + o * cx.qplane);
        }
    }
}
#else /* CNN_CONV_POOL_TILES */

/*
 * The scalar-tile path (Cortex-M): conv.c's tiles compute the conv
 * (cnn_conv2d_pool_tiles_*_f32, the same tiles as cnn_conv2d_f32's).  The
 * pools whose windows tile the conv output are merged there; the others
 * here: each chunk of conv sums goes through cp_merge into every window
 * that holds it, the output doubling as the running max / min / sum as
 * above.
 */
typedef struct CpChunks {
    CpCtx cx;
    CpCols cols;                /* follows x along the current conv row */
} CpChunks;

static void cp_merge_chunk(void *st, const float *tmp, int32_t y, int32_t x, int32_t count,
                           int nb, float *out)
{
    CpChunks *k = (CpChunks *)st;
    const CnnPool2dParams *q = k->cx.q;
    float v[CNN_CONV_POOL_TMP * CNN_CONV_NR];
    int32_t ylo, yhi;
    int m, n;

    if (x == 0)
        k->cols.lo = k->cols.hi = 0;
    cp_windows(y, q->kernel_h, q->stride_h, k->cx.qdh, q->pad_top, q->out_h, &ylo, &yhi);
    for (m = 0; m < count; m++)
        for (n = 0; n < nb; n++)
            v[m * nb + n] = tmp[n * CNN_CONV_POOL_TMP + m];
    cp_merge(&k->cx, out, v, count, y, x, ylo, yhi, &k->cols, nb);
}

typedef int CpTilesFn(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                      const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                      float *CNN_RESTRICT out, CnnConvPoolMergeFn *merge, void *mst);

static void cp_tiles_run(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                         const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                         float *CNN_RESTRICT out, CpTilesFn *tiles)
{
    const float init = p->kind == CNN_POOL_MAX ? -INFINITY
                     : p->kind == CNN_POOL_MIN ? INFINITY : 0.0f;
    const int32_t n = p->conv.out_c * p->pool.out_h * p->pool.out_w;
    CpChunks k;
    int32_t i;

    if (tiles(p, in, weight, bias, out, NULL, NULL))
        return;                 /* windows that tile the conv output */
    k.cx.c = &p->conv;
    k.cx.q = &p->pool;
    k.cx.kind = p->kind;
    k.cx.qplane = p->pool.out_h * p->pool.out_w;
    k.cx.qdh = p->kind == CNN_POOL_AVG ? 1 : p->pool.dilation_h;
    k.cx.qdw = p->kind == CNN_POOL_AVG ? 1 : p->pool.dilation_w;
    k.cols.lo = k.cols.hi = 0;
    for (i = 0; i < n; i++)
        out[i] = init;
    tiles(p, in, weight, bias, out, cp_merge_chunk, &k);
    if (p->kind == CNN_POOL_AVG)
        cp_average(&k.cx, out, p->conv.out_c);
}

void cnn_conv2d_pool_f32(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                         const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                         float *CNN_RESTRICT out)
{
    const CnnConv2dParams *c = &p->conv;
    /* A 4-wide kernel (kws_1d's c3) has no entry point of its own: its
     * unrolled tiles are chosen here. */
    cp_tiles_run(p, in, weight, bias, out,
                 c->kernel_w == 4 && c->stride_w == 1 && c->dilation_w == 1 && !c->in_hwc
                     ? cnn_conv2d_pool_tiles_k4_f32
                     : cnn_conv2d_pool_tiles_any_f32);
}

void cnn_conv2d_pool_k3_f32(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                            const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                            float *CNN_RESTRICT out)
{
    cp_tiles_run(p, in, weight, bias, out, cnn_conv2d_pool_tiles_k3_f32);
}

void cnn_conv2d_pool_k5_f32(const CnnConvPoolParams *p, const float *CNN_RESTRICT in,
                            const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                            float *CNN_RESTRICT out)
{
    cp_tiles_run(p, in, weight, bias, out, cnn_conv2d_pool_tiles_k5_f32);
}
#endif /* CNN_CONV_POOL_TILES */
