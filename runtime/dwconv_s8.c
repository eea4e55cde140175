/*
 * dwconv_s8.c - cnn_dwconv3x3_s8, the int8 depthwise 3x3 path, see cnn_int8.h.
 *
 * On the DSP path, maps whose output rows have at most 16 outputs (8 at
 * stride 2) at stride 1 or 2 take the expanded path described further
 * down (the input widened to int16 once, the same code for every output);
 * what follows is the per-row kernel that takes the other convs, channels
 * whose requantization the expanded path does not cover, and the
 * portable C.
 *
 * One channel, one output row at a time.  The weights are PyTorch's
 * [C][1][3][3] (cnn_conv2d_pack_s8 leaves a depthwise conv so) and the
 * packed bias holds -in_zp * sum(w), so the inputs are used raw and a tap
 * in the zero padding must read in_zp: a kernel row that falls wholly in the
 * padding adds in_zp times its three weights once per output row (padsum),
 * and a column in the padding reads in_zp on the checked border path.  The
 * columns whose three taps are inside the input (the interior) are found
 * once per call.
 *
 * On the DSP path (cnn_internal_s8.h) a kernel row's taps (w0, w1, w2) are
 * held as the halves (w0, w2) and w1, and the four input bytes
 * a = (a0, a1, a2, a3) of one 32-bit load as SXTB16's (a0, a2) and (a1, a3):
 *
 *     output at a0:  SMLAD (w0, w2).(a0, a2)  + SMLABB w1 * a1
 *     output at a1:  SMLAD (w0, w2).(a1, a3)  + SMLABT w1 * a2
 *
 * so at stride 1 two neighbouring outputs share each row's load and its two
 * SXTB16s: per kernel row and pair of outputs one load, two SXTB16 and four
 * multiply-adds (6 MACs).  A single output (other strides, an odd column)
 * reads the word at its first tap, or, when that word would pass the row's
 * end, the word one byte before it (its taps are then bytes 1..3, the second
 * formula).  A kernel row in the padding keeps the same loop with zero
 * weights (padsum adds its in_zp terms) and a valid row to read, so the
 * loop has no check.  Border columns make their word from the row's first
 * or last word shifted, in_zp filling the bytes in the padding (byte by
 * byte on rows narrower than 4), and take the first formula.  The
 * requantization's form is chosen once per channel (DW_OUT).  The SMLADs
 * wrap modulo 2^32 like the portable accumulators: both paths give the
 * same bits.
 *
 * (Computing a row's sums into a buffer first and requantizing them in a
 * second loop kept the weights in registers but measured slower on the
 * M4F: the buffer's stores and loads cost more than the spills saved.)
 */
#include <stddef.h>

#include "cnn_int8.h"
#include "cnn_internal.h"
#include "cnn_internal_s8.h"

/* The requantization of one output on the DSP path, the one place this
 * file applies it: the form of the channel's multiplier and shift is
 * chosen once per channel by cnn_s8_rq_init (cnn_internal_s8.h, its bias
 * 0: the sums already hold it), so the channel's loop carries no test of
 * the other forms: DW_FAST (cnn_s8_rq_apply: a small enough negative
 * shift), DW_FAST0 (cnn_s8_rq_apply0: shift 0, usual for a depthwise
 * conv's nine taps) or DW_ANY (cnn_s8_requant). */
enum { DW_ANY = 0, DW_FAST = 1, DW_FAST0 = 2 };

#define DW_OUT(acc, form)                                                                  \
    ((form) == DW_FAST    ? cnn_s8_rq_apply(acc, rq, q->act_min, q->act_max)               \
     : (form) == DW_FAST0 ? cnn_s8_rq_apply0(acc, rq, q->act_min, q->act_max)              \
                          : cnn_s8_requant(acc, mult, shift, q->out_zp, q->act_min,        \
                                           q->act_max))

/* The interior columns [*xlo, *xhi): their three taps are inside the input. */
static void dw_interior(const CnnConv2dParams *p, int32_t *xlo, int32_t *xhi)
{
    int32_t lo1, hi1;
    cnn_valid_range(-p->pad_left, p->stride_w, p->out_w, p->in_w, xlo, xhi);
    cnn_valid_range(2 - p->pad_left, p->stride_w, p->out_w, p->in_w, &lo1, &hi1);
    *xlo = *xlo > lo1 ? *xlo : lo1;
    *xhi = *xhi < hi1 ? *xhi : hi1;
    if (*xhi < *xlo)
        *xhi = *xlo;
}

#if CNN_S8_DSP

#if defined(__GNUC__)
#define DW_INLINE static inline __attribute__((always_inline))
#else
#define DW_INLINE static inline
#endif

/* acc + a.bottom * b.bottom, acc + a.bottom * b.top (wrapping). */
static inline int32_t dw_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return __smlabb(a, b, acc);
}

static inline int32_t dw_smlabt(int32_t a, int32_t b, int32_t acc)
{
    return __smlabt(a, b, acc);
}

/* acc plus a kernel row's taps (w0, w2) = k, w1 = m at the output whose first
 * tap is byte 0 of v (TAP0) or byte 1 (TAP1). */
#define DW_TAP0(v, k, m, acc) \
    acc = dw_smlabb(m, cnn_s8_hi16x2(v), cnn_s8_smlad(k, cnn_s8_lo16x2(v), acc))
#define DW_TAP1(v, k, m, acc) \
    acc = dw_smlabt(m, cnn_s8_lo16x2(v), cnn_s8_smlad(k, cnn_s8_hi16x2(v), acc))
/* The three kernel rows (dw_channel's k0/m0, k1/m1, k2/m2) over their words. */
#define DW_TAPS(TAP, va, vb, vc, acc) \
    do {                              \
        TAP(va, k0, m0, acc);         \
        TAP(vb, k1, m1, acc);         \
        TAP(vc, k2, m2, acc);         \
    } while (0)
/* The same for an output whose taps pass an edge: dw_edge_words's words. */
#define DW_EDGE(s0, acc)                                                    \
    do {                                                                    \
        uint32_t va_, vb_, vc_;                                             \
        dw_edge_words(ra, rb, rc, s0, in_w, zp, zpw, &va_, &vb_, &vc_);     \
        DW_TAPS(DW_TAP0, va_, vb_, vc_, acc);                               \
    } while (0)

/* Bytes s0..s0+2 of one row (bytes 0..2 of the result), in_zp where
 * outside [0, in_w), byte by byte. */
static inline uint32_t dw_edge_word(const int8_t *row, int32_t s0, int32_t in_w, int32_t zp)
{
    uint32_t v = 0;
    int32_t k;
    for (k = 0; k < 3; k++) {
        const int32_t s = s0 + k;
        v |= (uint32_t)(uint8_t)(s >= 0 && s < in_w ? row[s] : zp) << (8 * k);
    }
    return v;
}

/* The same for the three rows at once.  With at least 4 bytes in a row and
 * the window at most 3 bytes past an end, one load of each row's first or
 * last word shifted, the gap filled from zpw (in_zp in every byte). */
DW_INLINE void dw_edge_words(const int8_t *ra, const int8_t *rb, const int8_t *rc, int32_t s0,
                             int32_t in_w, int32_t zp, uint32_t zpw, uint32_t *va,
                             uint32_t *vb, uint32_t *vc)
{
    if (in_w >= 4 && s0 < 0 && s0 >= -3) {
        const int32_t sh = -8 * s0;
        const uint32_t fill = zpw >> (32 - sh);
        *va = (cnn_s8_ld32(ra) << sh) | fill;
        *vb = (cnn_s8_ld32(rb) << sh) | fill;
        *vc = (cnn_s8_ld32(rc) << sh) | fill;
    } else if (in_w >= 4 && s0 > in_w - 4 && s0 <= in_w - 1) {
        const int32_t d = 8 * (s0 - (in_w - 4));
        const uint32_t fill = zpw << (32 - d);
        *va = (cnn_s8_ld32(ra + in_w - 4) >> d) | fill;
        *vb = (cnn_s8_ld32(rb + in_w - 4) >> d) | fill;
        *vc = (cnn_s8_ld32(rc + in_w - 4) >> d) | fill;
    } else {
        *va = dw_edge_word(ra, s0, in_w, zp);
        *vb = dw_edge_word(rb, s0, in_w, zp);
        *vc = dw_edge_word(rc, s0, in_w, zp);
    }
}

/* (w0, w2) of kernel row k as two halves, or 0 for a row in the padding. */
static inline int32_t dw_pair(const int8_t *w, int32_t k, int inside)
{
    return inside ? (int32_t)((uint32_t)(uint16_t)w[3 * k] |
                              ((uint32_t)(uint16_t)w[3 * k + 2] << 16))
                  : 0;
}

/* One channel, its requantization of the given form (DW_OUT). */
DW_INLINE void dw_channel(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT plane,
                          const int8_t *CNN_RESTRICT w, int32_t bias, int32_t mult,
                          int32_t shift, const CnnS8Rq *rq, int8_t *CNN_RESTRICT oc,
                          int32_t xlo, int32_t xhi, int form)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t sw = p->stride_w, zp = q->in_zp, in_w = p->in_w, in_h = p->in_h;
    const uint32_t zpw = (uint32_t)(uint8_t)zp * 0x01010101u;
    /* the kernel rows' halves and in_zp terms, once a channel */
    const int32_t ka = dw_pair(w, 0, 1), kb = dw_pair(w, 1, 1), kc = dw_pair(w, 2, 1);
    const int32_t za = zp * (w[0] + w[1] + w[2]), zb = zp * (w[3] + w[4] + w[5]);
    const int32_t zc = zp * (w[6] + w[7] + w[8]);
    int32_t y, x;

    for (y = 0; y < p->out_h; y++) {
        const int32_t r0 = y * p->stride_h - p->pad_top;
        int8_t *orow = oc + y * p->out_w;
        const int8_t *ra, *rb, *rc;
        int32_t k0 = ka, k1 = kb, k2 = kc, m0 = w[1], m1 = w[4], m2 = w[7], base = bias;
        if (r0 >= 0 && r0 + 2 < in_h) {         /* the three rows inside */
            ra = plane + r0 * in_w;
            rb = ra + in_w;
            rc = rb + in_w;
        } else {
            /* a row in the padding: zero weights over a valid row, its
             * in_zp terms in base */
            const int in0 = r0 >= 0 && r0 < in_h, in1 = r0 + 1 >= 0 && r0 + 1 < in_h;
            const int in2 = r0 + 2 >= 0 && r0 + 2 < in_h;
            ra = plane + (in0 ? r0 : r0 < 0 ? 0 : in_h - 1) * in_w;
            rb = plane + (in1 ? r0 + 1 : r0 + 1 < 0 ? 0 : in_h - 1) * in_w;
            rc = plane + (in2 ? r0 + 2 : r0 + 2 < 0 ? 0 : in_h - 1) * in_w;
            if (!in0) {
                k0 = m0 = 0;
                base = cnn_s8_add_wrap(base, za);
            }
            if (!in1) {
                k1 = m1 = 0;
                base = cnn_s8_add_wrap(base, zb);
            }
            if (!in2) {
                k2 = m2 = 0;
                base = cnn_s8_add_wrap(base, zc);
            }
        }

        /* the left border */
        for (x = 0; x < xlo; x++) {
            const int32_t s0 = x * sw - p->pad_left;
            int32_t acc = base;
            DW_EDGE(s0, acc);
            orow[x] = DW_OUT(acc, form);
        }
        /* the interior: at stride 1 two outputs per step, taps s0..s0+3 */
        if (sw == 1) {
            const int8_t *a = ra + xlo - p->pad_left, *b = rb + xlo - p->pad_left;
            const int8_t *c = rc + xlo - p->pad_left;
            for (; x + 1 < xhi; x += 2, a += 2, b += 2, c += 2) {
                const uint32_t va = cnn_s8_ld32(a), vb = cnn_s8_ld32(b), vc = cnn_s8_ld32(c);
                int32_t acc0 = base, acc1 = base;
                DW_TAP0(va, k0, m0, acc0);
                DW_TAP1(va, k0, m0, acc1);
                DW_TAP0(vb, k1, m1, acc0);
                DW_TAP1(vb, k1, m1, acc1);
                DW_TAP0(vc, k2, m2, acc0);
                DW_TAP1(vc, k2, m2, acc1);
                orow[x] = DW_OUT(acc0, form);
                orow[x + 1] = DW_OUT(acc1, form);
            }
        }
        for (; x < xhi; x++) {
            const int32_t s0 = x * sw - p->pad_left;
            int32_t acc = base;
            if (s0 + 3 < in_w) {
                const uint32_t va = cnn_s8_ld32(ra + s0), vb = cnn_s8_ld32(rb + s0);
                const uint32_t vc = cnn_s8_ld32(rc + s0);
                DW_TAPS(DW_TAP0, va, vb, vc, acc);
            } else if (s0 >= 1) {
                /* the word would pass the row's end: take it one byte
                 * earlier, the taps are its bytes 1..3 */
                const uint32_t va = cnn_s8_ld32(ra + s0 - 1), vb = cnn_s8_ld32(rb + s0 - 1);
                const uint32_t vc = cnn_s8_ld32(rc + s0 - 1);
                DW_TAPS(DW_TAP1, va, vb, vc, acc);
            } else {
                DW_EDGE(s0, acc);
            }
            orow[x] = DW_OUT(acc, form);
        }
        /* the right border */
        for (; x < p->out_w; x++) {
            const int32_t s0 = x * sw - p->pad_left;
            int32_t acc = base;
            DW_EDGE(s0, acc);
            orow[x] = DW_OUT(acc, form);
        }
    }
}

/*
 * The expanded path.  A band of output rows at a time (the whole map when
 * it fits), the channel's zero-padded input rows are first widened to
 * int16 in a stack buffer (DW_S halfwords a row; the padding holds in_zp,
 * written once a call, so the packed bias's fold stays exact).  Then every
 * output, borders included, runs the same straight-line code: four outputs
 * of a row a step, the kernel rows' weights held doubled in registers as
 * the halves (2w0, 2w1) and (2w1, 2w2).  At stride 1 a kernel row's six
 * inputs are three aligned words P01, P23, P45 and
 *
 *     out0 += SMLAD P01.(w0,w1)  + SMLABT P2*w2      (the halves of P23)
 *     out1 += SMLATB P1*w0       + SMLAD P23.(w1,w2)
 *     out2 += SMLAD P23.(w0,w1)  + SMLABT P4*w2
 *     out3 += SMLATB P3*w0       + SMLAD P45.(w1,w2)
 *
 * (12 MACs: three loads and eight multiply-adds); at stride 2 output i is
 * SMLAD P(2i,2i+1).(w0,w1) + SMLABT P(2i+2)*w2 over five aligned words.
 * The row stride is a constant, so the three kernel rows are immediate
 * offsets from one pointer.  The sums (started at the doubled bias) go to
 * the buffer's second part, and a second loop requantizes them four at a
 * time: CNN_S8_RQ2 of cnn_internal_s8.h (one SMMLAR and one SSAT an output
 * for a shift of 0), four bytes packed by BFI into one word, and the fused
 * clamp as two SSUB8/SEL pairs.  With every shift 0 and rows of a multiple
 * of 4 outputs, the tile itself requantizes its four sums and stores the
 * word (dw_sums_rq: the weights are reloaded a kernel row, so the
 * requantization's constants fit beside the accumulators).  Valid when |bias| < 2^29 (then the doubled sum
 * cannot overflow: |sum w*x| <= 9 * 127 * 128) and the shift is 0 or
 * negative down to -22; other channels and wider maps take dw_channel.
 */
#define DW_S 20                         /* halfwords per buffer row */
#define DW_SCRATCH_BYTES 1024           /* the stack buffer: rows and sums */
#define DW_BIAS_MAX (1 << 29)

static inline uint32_t dw_ld(const int16_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

static inline void dw_st(int16_t *p, uint32_t v)
{
    __builtin_memcpy(p, &v, 4);
}

/* The expanded path's geometry, once a call: stride, output width and the
 * same rounded up to 4, buffer columns in use, output rows per band, the
 * input columns' place in a buffer row, and the clamp words. */
typedef struct DwGeom {
    int32_t s, out_w, ow4, wn, band, nbands, pl, cw;
    uint32_t lo4, hi4;
} DwGeom;

/* Word k of a row at src widened into dst + 4 k. */
#define DW_WIDEN_WORD(k)                                                  \
    do {                                                                  \
        const uint32_t v_ = cnn_s8_ld32(src + 4 * (k));                   \
        const int32_t lo_ = cnn_s8_lo16x2(v_), hi_ = cnn_s8_hi16x2(v_);   \
        dw_st(dst + 4 * (k), (uint32_t)cnn_s8_pack_lo(lo_, hi_));         \
        dw_st(dst + 4 * (k) + 2, (uint32_t)cnn_s8_pack_hi(lo_, hi_));     \
    } while (0)
/* All rows, of 1 + w1 + w2 + w3 words. */
#define DW_WIDEN_ROWS(w1, w2, w3)                                         \
    for (; dst < last; dst += DW_S, src += in_w) {                        \
        DW_WIDEN_WORD(0);                                                 \
        if (w1)                                                           \
            DW_WIDEN_WORD(1);                                             \
        if (w2)                                                           \
            DW_WIDEN_WORD(2);                                             \
        if (w3)                                                           \
            DW_WIDEN_WORD(3);                                             \
    }

/* Input rows [r0, r1) of a channel widened into buffer rows from dst on
 * (DW_S halfwords a row; columns [pl, pl + cw) of the buffer). */
DW_INLINE void dw_widen(const int8_t *CNN_RESTRICT src, int32_t in_w,
                                               int32_t nrows, int32_t cw,
                                               int16_t *CNN_RESTRICT dst)
{
    const int32_t body = cw & ~3;
    int16_t *const last = dst + nrows * DW_S;
    if ((cw & 3) == 0 && cw >= 4 && cw <= 16) {
        /* rows of one to four words: no inner loop */
        switch (cw) {
        case 4:
            DW_WIDEN_ROWS(0, 0, 0);
            break;
        case 8:
            DW_WIDEN_ROWS(1, 0, 0);
            break;
        case 12:
            DW_WIDEN_ROWS(1, 1, 0);
            break;
        default:
            DW_WIDEN_ROWS(1, 1, 1);
        }
        return;
    }
    for (; dst < last; dst += DW_S, src += in_w) {
        int32_t j;
        for (j = 0; j < body; j += 4) {
            const uint32_t v = cnn_s8_ld32(src + j);
            const int32_t lo = cnn_s8_lo16x2(v), hi = cnn_s8_hi16x2(v);
            dw_st(dst + j, (uint32_t)cnn_s8_pack_lo(lo, hi));
            dw_st(dst + j + 2, (uint32_t)cnn_s8_pack_hi(lo, hi));
        }
        for (; j < cw; j++)
            dst[j] = src[j];
    }
}

/* Padded rows [u0, u0 + n) of a channel into buf (DW_S halfwords a row).
 * The buffer's columns outside [pl, pl + cw) hold in_zp from dw_prefill,
 * which no call writes; rows in the padding are (re)filled here only when
 * there are several bands (with one, dw_prefill's stay). */
static void dw_expand(const CnnQConv2dParams *q, const DwGeom *d, const int8_t *plane,
                      int32_t u0, int32_t n, int16_t *buf)
{
    const CnnConv2dParams *p = &q->g;
    /* the rows of the input: [ra, rb) */
    int32_t ra = u0 - p->pad_top, rb = ra + n;
    if (d->nbands > 1) {
        const uint32_t zz = (uint32_t)(uint16_t)(int16_t)q->in_zp * 0x00010001u;
        int32_t u, j;
        for (u = 0; u < n; u++) {
            const int32_t r = ra + u;
            if (r < 0 || r >= p->in_h)
                for (j = 0; j < d->wn; j += 2)
                    dw_st(buf + u * DW_S + j, zz);
        }
    }
    if (ra < 0) {
        buf -= ra * DW_S;
        ra = 0;
    }
    if (rb > p->in_h)
        rb = p->in_h;
    if (rb > ra)
        dw_widen(plane + ra * p->in_w, p->in_w, rb - ra, d->cw, buf + d->pl);
}

/* in_zp in columns [0, wn) of the first rows rows. */
static void dw_prefill(int16_t *buf, int32_t rows, int32_t wn, int32_t zp)
{
    const uint32_t zz = (uint32_t)(uint16_t)(int16_t)zp * 0x00010001u;
    int32_t u, j;
    for (u = 0; u < rows; u++, buf += DW_S)
        for (j = 0; j < wn; j += 2)
            dw_st(buf + j, zz);
}

/* acc (+)= the two products of the halves, or the top half of a times the
 * bottom of b: the first kernel row (F = 1) starts the sums at b2. */
#define DW_D(F, a, b, acc) ((acc) = (int32_t)__smlad(a, b, (F) ? b2 : (acc)))
#define DW_TB(F, a, b, acc) ((acc) = __smlatb(a, b, (F) ? b2 : (acc)))
#define DW_BT(F, a, b, acc) ((acc) = __smlabt(a, b, (F) ? b2 : (acc)))

/* One kernel row's four outputs: stride 1 or 2 (see above). */
#define DW_ROW1(F, r, wa, wb)                                                \
    do {                                                                     \
        const int32_t p01 = (int32_t)dw_ld(r), p23 = (int32_t)dw_ld(r + 2);  \
        const int32_t p45 = (int32_t)dw_ld(r + 4);                           \
        DW_D(F, p01, wa, a0);                                                \
        DW_BT(0, p23, wb, a0);                                               \
        DW_TB(F, p01, wa, a1);                                               \
        DW_D(0, p23, wb, a1);                                                \
        DW_D(F, p23, wa, a2);                                                \
        DW_BT(0, p45, wb, a2);                                               \
        DW_TB(F, p23, wa, a3);                                               \
        DW_D(0, p45, wb, a3);                                                \
    } while (0)
#define DW_ROW2(F, r, wa, wb)                                                \
    do {                                                                     \
        const int32_t p01 = (int32_t)dw_ld(r), p23 = (int32_t)dw_ld(r + 2);  \
        const int32_t p45 = (int32_t)dw_ld(r + 4), p67 = (int32_t)dw_ld(r + 6); \
        const int32_t p89 = (int32_t)dw_ld(r + 8);                           \
        DW_D(F, p01, wa, a0);                                                \
        DW_BT(0, p23, wb, a0);                                               \
        DW_D(F, p23, wa, a1);                                                \
        DW_BT(0, p45, wb, a1);                                               \
        DW_D(F, p45, wa, a2);                                                \
        DW_BT(0, p67, wb, a2);                                               \
        DW_D(F, p67, wa, a3);                                                \
        DW_BT(0, p89, wb, a3);                                               \
    } while (0)
#if defined(__GNUC__) && !defined(__clang__) && !defined(CNN_S8_DW_C)
/*
 * The tile in one asm block (gcc; clang, which reserves r7, and
 * CNN_S8_DW_C take the C below): the weight pairs and the doubled bias
 * read from wp (wp[0..5], wp[6]) by one LDRD a kernel row, the inputs
 * through two registers, so the block needs 12 and nothing spills: per
 * kernel row one LDRD of the weights, three loads of inputs and eight
 * multiply-adds, per tile 36 instructions with the two STRD of the sums
 * (39 at stride 2; 52 and 55 with dw_sums_rq's requantization instead).
 * The first kernel row starts the sums at b (the doubled bias).
 */
#define DW_ASM_ROW1(ro, wo, c0, c1, c2, c3)                                  \
    "ldrd %[wa], %[wb], [%[wp], #" wo "]\n\t"                                \
    "ldrd %[p0], %[p1], [%[r], #" ro "]\n\t"                                 \
    "smlad %[a0], %[p0], %[wa], %[" c0 "]\n\t"                              \
    "smlatb %[a1], %[p0], %[wa], %[" c1 "]\n\t"                             \
    "smlabt %[a0], %[p1], %[wb], %[a0]\n\t"                                 \
    "smlad %[a1], %[p1], %[wb], %[a1]\n\t"                                  \
    "smlad %[a2], %[p1], %[wa], %[" c2 "]\n\t"                              \
    "smlatb %[a3], %[p1], %[wa], %[" c3 "]\n\t"                             \
    "ldr %[p0], [%[r], #" ro "+8]\n\t"                                       \
    "smlabt %[a2], %[p0], %[wb], %[a2]\n\t"                                 \
    "smlad %[a3], %[p0], %[wb], %[a3]\n\t"
#define DW_ASM_ROW2(ro, wo, c0, c1, c2, c3)                                  \
    "ldrd %[wa], %[wb], [%[wp], #" wo "]\n\t"                                \
    "ldrd %[p0], %[p1], [%[r], #" ro "]\n\t"                                 \
    "smlad %[a0], %[p0], %[wa], %[" c0 "]\n\t"                              \
    "smlabt %[a0], %[p1], %[wb], %[a0]\n\t"                                 \
    "smlad %[a1], %[p1], %[wa], %[" c1 "]\n\t"                              \
    "ldrd %[p0], %[p1], [%[r], #" ro "+8]\n\t"                               \
    "smlabt %[a1], %[p0], %[wb], %[a1]\n\t"                                 \
    "smlad %[a2], %[p0], %[wa], %[" c2 "]\n\t"                              \
    "smlabt %[a2], %[p1], %[wb], %[a2]\n\t"                                 \
    "smlad %[a3], %[p1], %[wa], %[" c3 "]\n\t"                              \
    "ldr %[p0], [%[r], #" ro "+16]\n\t"                                      \
    "smlabt %[a3], %[p0], %[wb], %[a3]\n\t"
#define DW_ASM_TILE(ROW)                                                     \
    __asm__ volatile("ldr %[b], [%[wp], #24]\n\t"                                     \
            ROW("0", "0", "b", "b", "b", "b")                               \
            ROW("40", "8", "a0", "a1", "a2", "a3")                          \
            ROW("80", "16", "a0", "a1", "a2", "a3")                         \
            "strd %[a0], %[a1], [%[o]]\n\t"                                  \
            "strd %[a2], %[a3], [%[o], #8]\n\t"                              \
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), \
              [wa] "=&r"(wa), [wb] "=&r"(wb), [p0] "=&r"(p0), [p1] "=&r"(p1), \
              [b] "=&r"(b)                                                  \
            : [r] "r"(r), [wp] "r"(wp), [o] "r"(o)                          \
            : "memory")

/* the asm's row offsets (40, 80 bytes) are DW_S halfwords */
typedef char dw_asm_rows_are_dw_s[DW_S == 20 ? 1 : -1];

static inline __attribute__((always_inline)) void dw_tile(const int16_t *r, int32_t *o,
                                                         const int32_t *wp, int32_t stride)
{
    int32_t a0, a1, a2, a3, wa, wb, p0, p1, b;
    if (stride == 1)
        DW_ASM_TILE(DW_ASM_ROW1);
    else
        DW_ASM_TILE(DW_ASM_ROW2);
}
/* The tile's sums requantized in the block (CNN_S8_RQ2's shift-0 form:
 * SMMLAR by the multiplier wp[7] onto out_zp wp[8], SSAT), packed by BFI,
 * clamped by wp[9], wp[10] (cnn_s8_clamp4) and stored as one word. */
#define DW_ASM_RQ                                                            \
    "ldrd %[wa], %[wb], [%[wp], #28]\n\t"                                    \
    "smmlar %[a0], %[a0], %[wa], %[wb]\n\t"                                  \
    "smmlar %[a1], %[a1], %[wa], %[wb]\n\t"                                  \
    "smmlar %[a2], %[a2], %[wa], %[wb]\n\t"                                  \
    "smmlar %[a3], %[a3], %[wa], %[wb]\n\t"                                  \
    "ssat %[a0], #8, %[a0]\n\t"                                              \
    "ssat %[a1], #8, %[a1]\n\t"                                              \
    "ssat %[a2], #8, %[a2]\n\t"                                              \
    "ssat %[a3], #8, %[a3]\n\t"                                              \
    "bfi %[a0], %[a1], #8, #8\n\t"                                           \
    "bfi %[a0], %[a2], #16, #8\n\t"                                          \
    "bfi %[a0], %[a3], #24, #8\n\t"                                          \
    "ldrd %[wa], %[wb], [%[wp], #36]\n\t"                                    \
    "ssub8 %[p0], %[a0], %[wa]\n\t"                                          \
    "sel %[a0], %[a0], %[wa]\n\t"                                            \
    "ssub8 %[p0], %[wb], %[a0]\n\t"                                          \
    "sel %[a0], %[a0], %[wb]\n\t"                                            \
    "str %[a0], [%[o]]\n\t"
#define DW_ASM_TILE_RQ(ROW)                                                  \
    __asm__ volatile("ldr %[b], [%[wp], #24]\n\t"                            \
            ROW("0", "0", "b", "b", "b", "b")                               \
            ROW("40", "8", "a0", "a1", "a2", "a3")                          \
            ROW("80", "16", "a0", "a1", "a2", "a3")                         \
            DW_ASM_RQ                                                       \
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), \
              [wa] "=&r"(wa), [wb] "=&r"(wb), [p0] "=&r"(p0), [p1] "=&r"(p1), \
              [b] "=&r"(b)                                                  \
            : [r] "r"(r), [wp] "r"(wp), [o] "r"(o)                          \
            : "cc", "memory")

static inline __attribute__((always_inline)) void dw_tile_rq(const int16_t *r, int8_t *o,
                                                            const int32_t *wp, int32_t stride)
{
    int32_t a0, a1, a2, a3, wa, wb, p0, p1, b;
    if (stride == 1)
        DW_ASM_TILE_RQ(DW_ASM_ROW1);
    else
        DW_ASM_TILE_RQ(DW_ASM_ROW2);
}
/*
 * Eight outputs of a row at stride 1 with their requantization: per kernel
 * row one LDRD of the weights, the inputs P01..P89 by two LDRD and one LDR
 * through the same two registers, sixteen multiply-adds (20 instructions
 * for 24 MACs); the doubled bias is held in a7 until a7's own first
 * multiply-add, the last of the first row.  The output's address, which
 * has no register left (a0..a7, two inputs, two weights, r and wp: 14), is
 * read from wp[11] at the end.  96 instructions for eight outputs, against
 * 2 x 51 for two DW_ASM_TILE_RQ.
 */
#define DW_ASM_ROW8(ro, wo, c0, c1, c2, c3, c4, c5, c6, c7)                  \
    "ldrd %[wa], %[wb], [%[wp], #" wo "]\n\t"                                \
    "ldrd %[p0], %[p1], [%[r], #" ro "]\n\t"                                 \
    "smlad %[a0], %[p0], %[wa], %[" c0 "]\n\t"                              \
    "smlatb %[a1], %[p0], %[wa], %[" c1 "]\n\t"                             \
    "smlabt %[a0], %[p1], %[wb], %[a0]\n\t"                                 \
    "smlad %[a1], %[p1], %[wb], %[a1]\n\t"                                  \
    "smlad %[a2], %[p1], %[wa], %[" c2 "]\n\t"                              \
    "smlatb %[a3], %[p1], %[wa], %[" c3 "]\n\t"                             \
    "ldrd %[p0], %[p1], [%[r], #" ro "+8]\n\t"                               \
    "smlabt %[a2], %[p0], %[wb], %[a2]\n\t"                                 \
    "smlad %[a3], %[p0], %[wb], %[a3]\n\t"                                  \
    "smlad %[a4], %[p0], %[wa], %[" c4 "]\n\t"                              \
    "smlatb %[a5], %[p0], %[wa], %[" c5 "]\n\t"                             \
    "smlabt %[a4], %[p1], %[wb], %[a4]\n\t"                                 \
    "smlad %[a5], %[p1], %[wb], %[a5]\n\t"                                  \
    "smlad %[a6], %[p1], %[wa], %[" c6 "]\n\t"                              \
    "smlatb %[a7], %[p1], %[wa], %[" c7 "]\n\t"                             \
    "ldr %[p0], [%[r], #" ro "+16]\n\t"                                      \
    "smlabt %[a6], %[p0], %[wb], %[a6]\n\t"                                 \
    "smlad %[a7], %[p0], %[wb], %[a7]\n\t"
#define DW_ASM_RQ8_HALF(x0, x1, x2, x3)                                      \
    "smmlar %[" x0 "], %[" x0 "], %[wa], %[wb]\n\t"                          \
    "smmlar %[" x1 "], %[" x1 "], %[wa], %[wb]\n\t"                          \
    "smmlar %[" x2 "], %[" x2 "], %[wa], %[wb]\n\t"                          \
    "smmlar %[" x3 "], %[" x3 "], %[wa], %[wb]\n\t"                          \
    "ssat %[" x0 "], #8, %[" x0 "]\n\t"                                      \
    "ssat %[" x1 "], #8, %[" x1 "]\n\t"                                      \
    "ssat %[" x2 "], #8, %[" x2 "]\n\t"                                      \
    "ssat %[" x3 "], #8, %[" x3 "]\n\t"                                      \
    "bfi %[" x0 "], %[" x1 "], #8, #8\n\t"                                   \
    "bfi %[" x0 "], %[" x2 "], #16, #8\n\t"                                  \
    "bfi %[" x0 "], %[" x3 "], #24, #8\n\t"
#define DW_ASM_CLAMP(x)                                                      \
    "ssub8 %[p0], %[" x "], %[wa]\n\t"                                       \
    "sel %[" x "], %[" x "], %[wa]\n\t"                                      \
    "ssub8 %[p0], %[wb], %[" x "]\n\t"                                       \
    "sel %[" x "], %[" x "], %[wb]\n\t"

static inline __attribute__((always_inline)) void dw_tile8_rq(const int16_t *r, int8_t *o,
                                                             int32_t *wp)
{
    int32_t a0, a1, a2, a3, a4, a5, a6, a7, wa, wb, p0, p1;
    wp[11] = (int32_t)(intptr_t)o;
    __asm__ volatile("ldr %[a7], [%[wp], #24]\n\t"
            DW_ASM_ROW8("0", "0", "a7", "a7", "a7", "a7", "a7", "a7", "a7", "a7")
            DW_ASM_ROW8("40", "8", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7")
            DW_ASM_ROW8("80", "16", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7")
            "ldrd %[wa], %[wb], [%[wp], #28]\n\t"
            DW_ASM_RQ8_HALF("a0", "a1", "a2", "a3")
            DW_ASM_RQ8_HALF("a4", "a5", "a6", "a7")
            "ldrd %[wa], %[wb], [%[wp], #36]\n\t"
            DW_ASM_CLAMP("a0")
            DW_ASM_CLAMP("a4")
            "ldr %[p1], [%[wp], #44]\n\t"
            "str %[a0], [%[p1]]\n\t"
            "str %[a4], [%[p1], #4]\n\t"
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),
              [a4] "=&r"(a4), [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7),
              [wa] "=&r"(wa), [wb] "=&r"(wb), [p0] "=&r"(p0), [p1] "=&r"(p1)
            : [r] "r"(r), [wp] "r"(wp)
            : "cc", "memory");
}
#define DW_TILE(r, o, stride) dw_tile(r, o, wp, stride)
#define DW_TILE_RQ(r, o, stride) dw_tile_rq(r, o, wp, stride)
/* Eight outputs with their requantization (rq-in-tile loops only). */
#define DW_TILE8_RQ(r, o, stride)                                            \
    do {                                                                     \
        if ((stride) == 1) {                                                 \
            dw_tile8_rq(r, o, wp);                                           \
        } else {                                                             \
            DW_TILE_RQ(r, o, stride);                                        \
            DW_TILE_RQ((r) + 4 * (stride), (o) + 4, stride);                 \
        }                                                                    \
    } while (0)
#define DW_TILE_WEIGHTS (void)0
#else
#define DW_TILE_WEIGHTS                                                      \
    const int32_t w01a = wp[0], w12a = wp[1], w01b = wp[2], w12b = wp[3];    \
    const int32_t w01c = wp[4], w12c = wp[5], b2 = wp[6]
/* Four outputs' sums from the window at r into o[0..3]. */
#define DW_TILE(r, o, stride)                                                \
    do {                                                                     \
        int32_t a0, a1, a2, a3;                                              \
        if ((stride) == 1) {                                                 \
            DW_ROW1(1, r, w01a, w12a);                                       \
            DW_ROW1(0, (r) + DW_S, w01b, w12b);                              \
            DW_ROW1(0, (r) + 2 * DW_S, w01c, w12c);                          \
        } else {                                                             \
            DW_ROW2(1, r, w01a, w12a);                                       \
            DW_ROW2(0, (r) + DW_S, w01b, w12b);                              \
            DW_ROW2(0, (r) + 2 * DW_S, w01c, w12c);                          \
        }                                                                    \
        (o)[0] = a0;                                                         \
        (o)[1] = a1;                                                         \
        (o)[2] = a2;                                                         \
        (o)[3] = a3;                                                         \
    } while (0)
#define DW_TILE_RQ(r, o, stride)                                             \
    do {                                                                     \
        int32_t t_[4];                                                       \
        uint32_t v_;                                                         \
        int32_t v1_, v2_, v3_;                                               \
        DW_TILE(r, t_, stride);                                              \
        v_ = (uint32_t)CNN_S8_RQ2(t_[0], wp[7], wp[8], 0, CNN_S8_RQ2_ZERO);  \
        v1_ = CNN_S8_RQ2(t_[1], wp[7], wp[8], 0, CNN_S8_RQ2_ZERO);           \
        v2_ = CNN_S8_RQ2(t_[2], wp[7], wp[8], 0, CNN_S8_RQ2_ZERO);           \
        v3_ = CNN_S8_RQ2(t_[3], wp[7], wp[8], 0, CNN_S8_RQ2_ZERO);           \
        CNN_S8_BFI(v_, v1_, 1);                                              \
        CNN_S8_BFI(v_, v2_, 2);                                              \
        CNN_S8_BFI(v_, v3_, 3);                                              \
        v_ = cnn_s8_clamp4(v_, (uint32_t)wp[9], (uint32_t)wp[10]);           \
        __builtin_memcpy((o), &v_, 4);                                       \
    } while (0)
#define DW_TILE8_RQ(r, o, stride)                                            \
    do {                                                                     \
        DW_TILE_RQ(r, o, stride);                                            \
        DW_TILE_RQ((r) + 4 * (stride), (o) + 4, stride);                     \
    } while (0)
#endif
/* Eight sums (the loops without requantization). */
#define DW_TILE8(r, o, stride)                                               \
    do {                                                                     \
        DW_TILE(r, o, stride);                                               \
        DW_TILE((r) + 4 * (stride), (o) + 4, stride);                        \
    } while (0)

/* The doubled sums (b2: the doubled bias) of output rows [0, nrows) of a band
 * (buffer row 0 = its first padded row), each row's from sums + y * ow4
 * (ow4: out_w rounded up to 4).  Rows of one, two or four groups of four
 * (maps of 4, 8 or 16 columns) take one loop over the rows, rows of three
 * a loop over each row's groups; eight outputs at a time where a row has
 * them (TILE8).  At stride 2 ow4 is 4 or 8 (dw_geom: wn <= DW_S). */
#define DW_SUMS_BODY(T, TILE, TILE8)                                         \
    const int16_t *r = buf;                                                  \
    T *const last = sums + nrows * ow4;                                      \
    DW_TILE_WEIGHTS;                                                         \
    if (ow4 == 4) {                                                          \
        for (; sums < last; sums += 4, r += stride * DW_S)                   \
            TILE(r, sums, stride);                                           \
    } else if (ow4 == 8) {                                                   \
        for (; sums < last; sums += 8, r += stride * DW_S)                   \
            TILE8(r, sums, stride);                                          \
    } else if (stride == 1 && ow4 == 16) {                                   \
        for (; sums < last; sums += 16, r += DW_S) {                         \
            TILE8(r, sums, 1);                                               \
            TILE8(r + 8, sums + 8, 1);                                       \
        }                                                                    \
    } else if (stride == 1) {   /* ow4 12; at stride 2 ow4 is 4 or 8 */      \
        int32_t y;                                                           \
        for (y = 0; y < nrows; y++) {                                        \
            T *const end = sums + ow4;                                       \
            r = buf + y * stride * DW_S;                                     \
            for (; sums + 8 <= end; sums += 8, r += 8 * stride)              \
                TILE8(r, sums, stride);                                      \
            if (sums < end) {                                                \
                TILE(r, sums, stride);                                       \
                sums += 4;                                                   \
            }                                                                \
        }                                                                    \
    }

DW_INLINE void dw_sums(const int16_t *CNN_RESTRICT buf, int32_t *CNN_RESTRICT sums, int32_t ow4,
                       int32_t nrows, int32_t stride, const int32_t *wp)
{
    DW_SUMS_BODY(int32_t, DW_TILE, DW_TILE8)
}

/* The channels of a call that the rq-in-tile path runs in one loop
 * (dw_run1): where each one's input, weights, bias and multiplier are, and
 * where its input rows go in the buffer. */
typedef struct DwChans {
    const int8_t *in, *w;
    const int32_t *bias, *mult;
    int32_t nch, in_plane, out_plane, in_w, nin, cw;
    int16_t *dst;
} DwChans;

DW_INLINE void dw_chan_prep(const DwChans *cs, int32_t ch, int32_t *wp);

/* The same with each tile's four sums requantized at once into the output
 * bytes (rows of a multiple of 4 outputs, the shift-0 form: wp[7..10] hold
 * the multiplier, out_zp and the clamp words). */
DW_INLINE void dw_sums_rq(const int16_t *CNN_RESTRICT buf, int8_t *CNN_RESTRICT sums,
                          int32_t ow4, int32_t nrows, int32_t stride, int32_t *wp)
{
    DW_SUMS_BODY(int8_t, DW_TILE_RQ, DW_TILE8_RQ)
}

/* The two loops for either stride, one copy each (flash: every copy holds
 * six tiles).  dw_sums_rq_x with cs runs every channel of cs in turn (at
 * least one), each one's rows widened and wp[0..7] set by dw_chan_prep
 * first, so the set-up and the call are once a call, not once a channel;
 * without, the one channel whose rows and wp are ready. */
__attribute__((noinline)) static void dw_sums_x(const int16_t *CNN_RESTRICT buf,
                                                int32_t *CNN_RESTRICT sums, int32_t ow4,
                                                int32_t nrows, int32_t stride, const int32_t *wp)
{
    if (stride == 1)
        dw_sums(buf, sums, ow4, nrows, 1, wp);
    else
        dw_sums(buf, sums, ow4, nrows, 2, wp);
}

__attribute__((noinline)) static void dw_sums_rq_x(const int16_t *CNN_RESTRICT buf,
                                                   int8_t *CNN_RESTRICT out, int32_t ow4,
                                                   int32_t nrows, int32_t stride,
                                                   int32_t *wp, const DwChans *cs)
{
    int32_t ch = 0;
    do {
        if (cs)
            dw_chan_prep(cs, ch, wp);
        if (stride == 1)
            dw_sums_rq(buf, out, ow4, nrows, 1, wp);
        else
            dw_sums_rq(buf, out, ow4, nrows, 2, wp);
        if (cs)
            out += cs->out_plane;
    } while (cs && ++ch < cs->nch);
}

/* The requantized byte of a doubled sum (cnn_internal_s8.h). */
#define DW_RQ(a, form) CNN_S8_RQ2(a, m, off, sh, form)

/* n outputs (a multiple of 4) from their doubled sums, four bytes a step. */
DW_INLINE void dw_requant(const int32_t *CNN_RESTRICT sums, int8_t *CNN_RESTRICT o, int32_t n,
                          int32_t m, int32_t off, int32_t sh, uint32_t lo4, uint32_t hi4,
                          int form)
{
    const int32_t *const end = sums + n;
    for (; sums < end; sums += 4, o += 4) {
        const int32_t a0 = sums[0], a1 = sums[1], a2 = sums[2], a3 = sums[3];
        uint32_t v = (uint32_t)DW_RQ(a0, form);
        const int32_t v1 = DW_RQ(a1, form), v2 = DW_RQ(a2, form), v3 = DW_RQ(a3, form);
        CNN_S8_BFI(v, v1, 1);
        CNN_S8_BFI(v, v2, 2);
        CNN_S8_BFI(v, v3, 3);
        v = cnn_s8_clamp4(v, lo4, hi4);
        __builtin_memcpy(o, &v, 4);
    }
}

/* The channel's requantization: multiplier, offset, shift, clamp words
 * and form. */
typedef struct DwRq {
    int32_t m, off, sh;
    uint32_t lo4, hi4;
    int form;
} DwRq;

DW_INLINE void dw_requant_n(const int32_t *CNN_RESTRICT sums, int8_t *CNN_RESTRICT o, int32_t n,
                         const DwRq *r)
{
    if (r->form == DW_FAST0)
        dw_requant(sums, o, n, r->m, r->off, 0, r->lo4, r->hi4, DW_FAST0);
    else
        dw_requant(sums, o, n, r->m, r->off, r->sh, r->lo4, r->hi4, DW_FAST);
}

/* The channel's weight pairs (the halves (2w0, 2w1) and (2w1, 2w2) of each
 * kernel row as int16 halves) from three loads of its nine bytes: a
 * row's SXTB16 pair (w0, w2), its rotated one (w1, w3), both doubled, then
 * packed; the last row is read from w + 5 and shifted down a byte, so no
 * load passes the channel's ninth weight. */
static inline void dw_pairs_row(uint32_t v, int32_t *wp)
{
    const int32_t e = (int32_t)__sadd16(cnn_s8_lo16x2(v), cnn_s8_lo16x2(v));
    const int32_t o = (int32_t)__sadd16(cnn_s8_hi16x2(v), cnn_s8_hi16x2(v));
    wp[0] = cnn_s8_pack_lo(e, o);
    wp[1] = cnn_s8_pack_lohi(o, e);
}

static inline void dw_pairs(const int8_t *w, int32_t *wp)
{
    dw_pairs_row(cnn_s8_ld32(w), wp);
    dw_pairs_row(cnn_s8_ld32(w + 3), wp + 2);
    dw_pairs_row(cnn_s8_ld32(w + 5) >> 8, wp + 4);
}

/* Channel ch of cs: its input rows widened into the buffer, its weight
 * pairs, doubled bias and multiplier into wp[0..7]. */
DW_INLINE void dw_chan_prep(const DwChans *cs, int32_t ch, int32_t *wp)
{
    const int8_t *const w = cs->w + 9 * ch;
    if (cs->nin > 0)
        dw_widen(cs->in + ch * cs->in_plane, cs->in_w, cs->nin, cs->cw, cs->dst);
    dw_pairs(w, wp);
    wp[6] = cs->bias[ch] * 2;
    wp[7] = cs->mult[ch];
}

/* Output rows per band: its padded rows (DW_S halfwords each) and its sums
 * (ow4 words a row) within DW_SCRATCH_BYTES. */
static int32_t dw_band_rows(int32_t s, int32_t ow4)
{
    /* ((n - 1) * s + 3) * 2 * DW_S + n * 4 * ow4 <= DW_SCRATCH_BYTES */
    return (DW_SCRATCH_BYTES - (3 - s) * 2 * DW_S) / (s * 2 * DW_S + 4 * ow4);
}

/* The bands when every channel's sums are requantized in the tiles
 * (dw_sums_rq): no sums kept, so the buffer holds only padded rows and
 * more of them fit (a 16x16 map at stride 1 in one band). */
static void dw_band_rows_rq(DwGeom *d, int32_t out_h)
{
    d->band = (DW_SCRATCH_BYTES / (2 * DW_S) - 3) / d->s + 1;
    if (d->band > out_h)
        d->band = out_h;
    d->nbands = (out_h + d->band - 1) / d->band;
}

/* 1 and the geometry if the expanded path takes this conv, else 0. */
static int dw_geom(const CnnQConv2dParams *q, DwGeom *d)
{
    const CnnConv2dParams *p = &q->g;
    d->s = p->stride_w;
    d->out_w = p->out_w;
    d->ow4 = (p->out_w + 3) & ~3;
    d->wn = d->ow4 * d->s + 2;
    if (p->stride_h != d->s || (d->s != 1 && d->s != 2) || d->wn > DW_S || p->out_h < 1 ||
        q->out_zp < CNN_Q_MIN || q->out_zp > CNN_Q_MAX)
        return 0;
    d->band = dw_band_rows(d->s, d->ow4);
    if (d->band < 1)
        return 0;
    if (d->band > p->out_h)
        d->band = p->out_h;
    d->nbands = (p->out_h + d->band - 1) / d->band;
    d->pl = p->pad_left < d->wn ? p->pad_left : d->wn;
    d->cw = p->in_w < d->wn - d->pl ? p->in_w : d->wn - d->pl;
    d->lo4 = (uint32_t)(uint8_t)q->act_min * 0x01010101u;
    d->hi4 = (uint32_t)(uint8_t)q->act_max * 0x01010101u;
    return 1;
}

/* The channel's requantization on the expanded path: its form (DW_FAST0,
 * DW_FAST, or DW_ANY when the path cannot take it: cnn_s8_rq2_init's
 * forms, and a bias that keeps the doubled sums inside int32) and
 * constants. */
static int dw_rq(const CnnQConv2dParams *q, int32_t bias, int32_t mult, int32_t shift, DwRq *r)
{
    CnnS8Rq2 c = {0, 0, 0};
    int form;
    if (bias >= DW_BIAS_MAX || bias <= -DW_BIAS_MAX)
        return DW_ANY;
    form = cnn_s8_rq2_init(mult, shift, q->out_zp, &c);
    r->m = c.m;
    r->off = c.off;
    r->sh = c.sh;
    return form;
}

/* Channel ch's constants into r, of form r.form (all channels' form): for
 * shift 0 (cnn_s8_rq2_init's CNN_S8_RQ2_ZERO) the multiplier and out_zp,
 * else dw_rq. */
#define DW_RQ_SET(ch)                                                   \
    do {                                                                \
        if (r.form == DW_FAST0) {                                       \
            r.m = q->mult[ch];                                          \
            r.off = q->out_zp;                                          \
            r.sh = 0;                                                   \
        } else {                                                        \
            dw_rq(q, bias[ch], q->mult[ch], q->shift[ch], &r);          \
        }                                                               \
    } while (0)

/* dw_sums_rq's constants after the weight pairs and the doubled bias. */
#define DW_RQ_WORDS(wp, rr)                     \
    do {                                        \
        (wp)[7] = (rr)->m;                      \
        (wp)[8] = (rr)->off;                    \
        (wp)[9] = (int32_t)(rr)->lo4;           \
        (wp)[10] = (int32_t)(rr)->hi4;          \
    } while (0)

/* One channel by the expanded path, its requantization r set (dw_rq). */
__attribute__((noinline)) static void dw_channel_x(const CnnQConv2dParams *q, const DwGeom *d, uint32_t *store,
                            const int8_t *plane, const int8_t *w, int32_t bias, const DwRq *r,
                            int8_t *oc)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t s = d->s, out_w = d->out_w, ow4 = d->ow4;
    int16_t *buf = (int16_t *)(void *)store;
    int32_t *const sums0 = (int32_t *)(void *)(store + ((d->band - 1) * s + 3) * DW_S / 2);
    /* the weight pairs, the doubled bias, then dw_sums_rq's constants */
    int32_t wp[12];
    int32_t y0;

    dw_pairs(w, wp);
    wp[6] = bias * 2;
    DW_RQ_WORDS(wp, r);
    for (y0 = 0; y0 < p->out_h; y0 += d->band) {
        const int32_t nrows = p->out_h - y0 < d->band ? p->out_h - y0 : d->band;
        const int32_t nin = (nrows - 1) * s + 3;
        int32_t *sums = sums0;
        int8_t *o = oc + y0 * out_w;
        dw_expand(q, d, plane, y0 * s, nin, buf);
        if (r->form == DW_FAST0 && ow4 == out_w) {
            /* sums requantized in the tiles */
            dw_sums_rq_x(buf, o, ow4, nrows, s, wp, NULL);
            continue;
        }
        dw_sums_x(buf, sums, ow4, nrows, s, wp);
        if (ow4 == out_w) {             /* the band's outputs are contiguous */
            dw_requant_n(sums, o, nrows * out_w, r);
        } else {
            int8_t tail[4];
            int32_t y, k;
            const int32_t body = out_w & ~3;
            for (y = 0; y < nrows; y++, sums += ow4, o += out_w) {
                dw_requant_n(sums, o, body, r);
                dw_requant_n(sums + body, tail, 4, r);
                for (k = body; k < out_w; k++)
                    o[k] = tail[k - body];
            }
        }
    }
}

/* Every channel by the expanded path, all of the given form. */
__attribute__((noinline)) static void dw_run(const CnnQConv2dParams *q, const DwGeom *d,
                                             uint32_t *store, const int8_t *in,
                                             const int8_t *w, const int32_t *bias, int8_t *out,
                                             int form)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t in_plane = p->in_h * p->in_w, out_plane = p->out_h * p->out_w;
    int32_t ch;
    DwRq r;
    r.lo4 = d->lo4;
    r.hi4 = d->hi4;
    r.form = form;
    for (ch = 0; ch < p->out_c; ch++, in += in_plane, out += out_plane, w += 9) {
        DW_RQ_SET(ch);
        dw_channel_x(q, d, store, in, w, bias[ch], &r, out);
    }
}

/* The same when the channels' output fits one band: per channel the
 * widening of its input rows, its weight pairs and the two loops, in one
 * function (maps of a few rows spend little in the loops, so their setup
 * counts). */
__attribute__((noinline)) static void dw_run1(const CnnQConv2dParams *q, const DwGeom *d,
                                             uint32_t *store, const int8_t *in,
                                             const int8_t *w, const int32_t *bias, int8_t *out,
                                             int form)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t in_plane = p->in_h * p->in_w, out_plane = p->out_h * p->out_w;
    const int32_t n = p->out_h, s = d->s;
    const int32_t ra = p->pad_top, rb = p->pad_top + p->in_h < (n - 1) * s + 3
                                         ? p->pad_top + p->in_h
                                         : (n - 1) * s + 3;
    int16_t *buf = (int16_t *)(void *)store;
    int32_t *sums = (int32_t *)(void *)(store + ((n - 1) * s + 3) * DW_S / 2);
    int32_t ch;
    DwRq r;

    if (form == DW_FAST0 && d->ow4 == d->out_w) {
        /* sums requantized in the tiles, every channel in one loop */
        int32_t wp[12];
        DwChans cs;
        if (p->out_c < 1)
            return;
        cs.in = in;
        cs.w = w;
        cs.bias = bias;
        cs.mult = q->mult;
        cs.nch = p->out_c;
        cs.in_plane = in_plane;
        cs.out_plane = out_plane;
        cs.in_w = p->in_w;
        cs.nin = rb - ra;
        cs.cw = d->cw;
        cs.dst = buf + ra * DW_S + d->pl;
        wp[8] = q->out_zp;
        wp[9] = (int32_t)d->lo4;
        wp[10] = (int32_t)d->hi4;
        dw_sums_rq_x(buf, out, d->ow4, n, s, wp, &cs);
        return;
    }
    r.lo4 = d->lo4;
    r.hi4 = d->hi4;
    r.form = form;
    for (ch = 0; ch < p->out_c; ch++, in += in_plane, out += out_plane, w += 9) {
        int32_t wp[12];
        DW_RQ_SET(ch);
        if (rb > ra)
            dw_widen(in, p->in_w, rb - ra, d->cw, buf + ra * DW_S + d->pl);
        dw_pairs(w, wp);
        wp[6] = bias[ch] * 2;
        dw_sums_x(buf, sums, d->ow4, n, s, wp);
        if (d->ow4 == d->out_w) {
            dw_requant_n(sums, out, out_plane, &r);
        } else {
            int8_t tail[4];
            int32_t y, k;
            const int32_t body = d->out_w & ~3;
            const int32_t *sr = sums;
            int8_t *o = out;
            for (y = 0; y < n; y++, sr += d->ow4, o += d->out_w) {
                dw_requant_n(sr, o, body, &r);
                dw_requant_n(sr + body, tail, 4, &r);
                for (k = body; k < d->out_w; k++)
                    o[k] = tail[k - body];
            }
        }
    }
}

/* The form every channel takes on the expanded path, if they all take the
 * same, else DW_ANY. */
static int dw_form(const CnnQConv2dParams *q, const int32_t *bias)
{
    int32_t ch;
    DwRq r;
    /* every shift 0 (usual for nine taps): DW_FAST0, checked first */
    for (ch = 0; ch < q->g.out_c; ch++)
        if (q->shift[ch] != 0 || q->mult[ch] < 0 ||
            (uint32_t)bias[ch] + (DW_BIAS_MAX - 1u) >= 2u * DW_BIAS_MAX - 1u)
            break;
    if (ch == q->g.out_c)
        return DW_FAST0;
    const int form = dw_rq(q, bias[0], q->mult[0], q->shift[0], &r);
    for (ch = 1; ch < q->g.out_c && form != DW_ANY; ch++)
        if (dw_rq(q, bias[ch], q->mult[ch], q->shift[ch], &r) != form)
            return DW_ANY;
    return form;
}

void cnn_dwconv3x3_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                      const int8_t *CNN_RESTRICT w_packed,
                      const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = &q->g;
    uint32_t store[DW_SCRATCH_BYTES / 4];
    DwGeom d = {0};
    const int fits = dw_geom(q, &d);
    int32_t ch, xlo, xhi;

    if (fits) {
        const int form = dw_form(q, bias_packed);
        if (form == DW_FAST0 && d.ow4 == d.out_w)
            dw_band_rows_rq(&d, p->out_h);
        dw_prefill((int16_t *)(void *)store, (d.band - 1) * d.s + 3, d.wn, q->in_zp);
        if (form != DW_ANY && d.nbands == 1) {
            dw_run1(q, &d, store, in, w_packed, bias_packed, out, form);
            return;
        }
        if (form != DW_ANY) {
            dw_run(q, &d, store, in, w_packed, bias_packed, out, form);
            return;
        }
    }
    dw_interior(p, &xlo, &xhi);
    for (ch = 0; ch < p->out_c; ch++) {
        const int8_t *plane = in + ch * p->in_h * p->in_w;
        int8_t *oc = out + ch * p->out_h * p->out_w;
        const int32_t mult = q->mult[ch], shift = q->shift[ch];
        const int32_t zero = 0;
        CnnS8Rq rq;
        int form;
        if (fits) {
            DwRq r;
            r.lo4 = d.lo4;
            r.hi4 = d.hi4;
            r.form = dw_rq(q, bias_packed[ch], mult, shift, &r);
            if (r.form != DW_ANY) {
                dw_channel_x(q, &d, store, plane, w_packed + ch * 9, bias_packed[ch], &r, oc);
                continue;
            }
        }
        form = cnn_s8_rq_init(&rq, &zero, q->mult + ch, q->shift + ch, q->out_zp, 1);
        if (form == DW_FAST)
            dw_channel(q, plane, w_packed + ch * 9, bias_packed[ch], mult, shift, &rq, oc, xlo,
                       xhi, DW_FAST);
        else if (form == DW_FAST0)
            dw_channel(q, plane, w_packed + ch * 9, bias_packed[ch], mult, shift, &rq, oc, xlo,
                       xhi, DW_FAST0);
        else
            dw_channel(q, plane, w_packed + ch * 9, bias_packed[ch], mult, shift, &rq, oc, xlo,
                       xhi, DW_ANY);
    }
}

#else /* the portable C */

void cnn_dwconv3x3_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                      const int8_t *CNN_RESTRICT w_packed,
                      const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = &q->g;
    const int32_t sw = p->stride_w, zp = q->in_zp;
    int32_t ch, y, x, ky, kx, xlo, xhi;

    dw_interior(p, &xlo, &xhi);
    for (ch = 0; ch < p->out_c; ch++) {
        const int8_t *w = w_packed + ch * 9;
        const int8_t *plane = in + ch * p->in_h * p->in_w;
        const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4];
        const int32_t w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
        const int32_t mult = q->mult[ch], shift = q->shift[ch], bias = bias_packed[ch];
        int8_t *oc = out + ch * p->out_h * p->out_w;

        for (y = 0; y < p->out_h; y++) {
            const int32_t r0 = y * p->stride_h - p->pad_top;
            const int8_t *row[3];
            int32_t padsum = 0;
            int8_t *orow = oc + y * p->out_w;
            for (ky = 0; ky < 3; ky++) {
                const int32_t r = r0 + ky;
                row[ky] = r >= 0 && r < p->in_h ? plane + r * p->in_w : NULL;
                if (!row[ky])
                    padsum += zp * (w[3 * ky] + w[3 * ky + 1] + w[3 * ky + 2]);
            }
            for (x = 0; x < p->out_w; x++) {
                int32_t acc = padsum;
                const int32_t s0 = x * sw - p->pad_left;
                if (x >= xlo && x < xhi) {
                    if (row[0] && row[1] && row[2]) {
                        const int8_t *a = row[0] + s0, *b = row[1] + s0, *d = row[2] + s0;
                        acc = w0 * a[0] + w1 * a[1] + w2 * a[2] + w3 * b[0] + w4 * b[1] +
                              w5 * b[2] + w6 * d[0] + w7 * d[1] + w8 * d[2];
                    } else {
                        for (ky = 0; ky < 3; ky++)
                            if (row[ky])
                                acc += w[3 * ky] * row[ky][s0] + w[3 * ky + 1] * row[ky][s0 + 1] +
                                       w[3 * ky + 2] * row[ky][s0 + 2];
                    }
                } else {
                    for (ky = 0; ky < 3; ky++)
                        if (row[ky])
                            for (kx = 0; kx < 3; kx++) {
                                const int32_t s = s0 + kx;
                                acc += w[3 * ky + kx] * (s >= 0 && s < p->in_w ? row[ky][s] : zp);
                            }
                }
                orow[x] = cnn_s8_requant(cnn_s8_add_wrap(acc, bias), mult, shift, q->out_zp,
                                         q->act_min, q->act_max);
            }
        }
    }
}

#endif
