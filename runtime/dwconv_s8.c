/*
 * dwconv_s8.c - cnn_dwconv3x3_s8, the int8 depthwise 3x3 path, see cnn_int8.h.
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

void cnn_dwconv3x3_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                      const int8_t *CNN_RESTRICT w_packed,
                      const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *p = &q->g;
    int32_t ch, xlo, xhi;

    dw_interior(p, &xlo, &xhi);
    for (ch = 0; ch < p->out_c; ch++) {
        const int8_t *plane = in + ch * p->in_h * p->in_w;
        int8_t *oc = out + ch * p->out_h * p->out_w;
        const int32_t mult = q->mult[ch], shift = q->shift[ch];
        const int32_t zero = 0;
        CnnS8Rq rq;
        const int form = cnn_s8_rq_init(&rq, &zero, q->mult + ch, q->shift + ch, q->out_zp, 1);
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
