/*
 * conv_cp_s8.c - cnn_conv2d_cp_s8 (cnn_int8.h): an int8 conv whose
 * reduction pairs input channels, with the weights packed by
 * cnn_conv2d_pack_s8 for CNN_CONV_S8_CP (cnn_pack_s8.h): for each output
 * channel pair, kernel row, input channel pair and column, one word
 * [w_a[i], w_b[i], w_a[i+1], w_b[i+1]].
 *
 * The generic conv pairs the taps of a kernel row, so an odd kernel width
 * pays an SMLAD slot for a zero weight (6 for 5 taps, 4 for 3).  Pairing
 * the input channels instead wastes nothing when in_c is even (one zero
 * channel in in_c when it is odd).
 *
 * For each output row, the kernel_h input rows its windows cover are
 * widened once into a stack buffer (CNN_CONV_CP_S8_WORDS words): for each
 * input row, each channel pair i and each padded column x, one aligned
 * word holding the int16 pair (channel 2i at x, channel 2i+1 at x), the
 * zero padding as (in_zp, in_zp).  So the window is kernel_h * pairs rows
 * of wr words, in the order of the packed weights.  With stride_h at most
 * kernel_h the window slides down: only the rows that enter it are widened
 * (the kept ones are copied back to the start when it reaches the buffer's
 * end).
 *
 * The tiles are 2 output channels by 3 pixels: for each (kernel row,
 * channel pair) row of the window and each tap t, one weight word and two
 * SXTB16 give both channels' pairs, and pixel p's activation pair is word
 * p*stride + t of the row: one load per word, shared across pixels and
 * taps (at stride 1 tap t+1 of pixel p is tap t of pixel p+1); 6 SMLAD per
 * tap, 12 multiply-adds.  A row's last 1 or 2 pixels take a narrower tile.
 * The sums of a run of pixels are requantized a channel at a time with the
 * forms of cnn_internal_s8.h.
 *
 * The inputs are multiplied raw: the packed bias holds -in_zp * sum(w), and
 * the zero padding reads in_zp, so the fold stays exact at the borders.  A
 * conv whose window does not fit the buffer (not given this kind by
 * cnn_conv2d_s8_kind) is computed pixel by pixel from the same weights.
 */
#include <stddef.h>

#include "cnn_int8.h"
#include "cnn_internal.h"
#include "cnn_internal_s8.h"
#include "cnn_pack_s8.h"

#define CHP_INLINE CNN_TILE_INLINE
#define CHP_UNROLL CNN_UNROLL(8)

/* Output channels whose requantization constants are computed at once (even),
 * and output pixels per run of sums. */
enum { CHP_EPI = 16, CHP_RUN = CNN_CONV_CP_S8_RUN };

typedef struct CpCtx {
    const CnnQConv2dParams *q;
    const int8_t *in;
    int32_t np;         /* input channel pairs */
    int32_t wr;         /* words of a widened row of one pair */
    int32_t rw;         /* words of a widened input row: np * wr */
    int32_t nrows;      /* rows of the window: kernel_h * np */
    int32_t kw, sw;
} CpCtx;

typedef struct CpEpi {
    const CnnQConv2dParams *q;
    const int32_t *bias;
    int32_t o, lo, hi;
    int fast;
    CnnS8Rq rq[CHP_EPI];
#if CNN_S8_DSP
    CnnS8Rq2 c2[CHP_EPI];       /* the doubled-sum forms (CHP_RQ2_LOOP) */
    int8_t f2[CHP_EPI];         /* each channel's form, CNN_S8_RQ2_NONE: none */
#endif
} CpEpi;

/* The requantization of channels o .. o+n-1 (n <= CHP_EPI). */
static void chp_epi_init(CpEpi *e, const CnnQConv2dParams *q, const int32_t *bias, int32_t o,
                        int32_t n)
{
    e->q = q;
    e->bias = bias + o;
    e->o = o;
    e->lo = q->act_min;
    e->hi = q->act_max;
    e->fast = cnn_s8_rq_init(e->rq, bias + o, q->mult + o, q->shift + o, q->out_zp, (int)n);
#if CNN_S8_DSP
    {
        /* a2 = 2 (acc + bias) stays inside int32 when |bias| < 2^29 and the
         * reduction has fewer than 2^14 products of at most 2^14 each */
        const CnnConv2dParams *g = &q->g;
        const int small = (long)g->in_c * g->kernel_h * g->kernel_w < 16384;
        int32_t h;
        for (h = 0; h < n; h++) {
            const int32_t b = bias[o + h];
            e->f2[h] = (int8_t)(small && b < (1 << 29) && b > -(1 << 29)
                                    ? cnn_s8_rq2_init(q->mult[o + h], q->shift[o + h],
                                                      q->out_zp, &e->c2[h])
                                    : CNN_S8_RQ2_NONE);
        }
    }
#endif
}

#if CNN_S8_DSP
/* The doubled-sum forms of cnn_internal_s8.h (one SMMLAR and one SSAT an
 * output; chp_epi_init chose them), the clamp after the SSAT. */
#define CHP_RQ2_LOOP(FORM)                                                                    \
    do {                                                                                     \
        if (lo == CNN_Q_MIN && hi == CNN_Q_MAX)                                              \
            for (x = 0; x < n; x++)                                                          \
                out[x] = (int8_t)CNN_S8_RQ2(2 * (acc[x] + b), c2.m, c2.off, c2.sh, FORM);    \
        else if (hi == CNN_Q_MAX)                                                            \
            for (x = 0; x < n; x++) {                                                        \
                const int32_t v = CNN_S8_RQ2(2 * (acc[x] + b), c2.m, c2.off, c2.sh, FORM);   \
                out[x] = (int8_t)(v < lo ? lo : v);                                          \
            }                                                                                \
        else                                                                                 \
            for (x = 0; x < n; x++) {                                                        \
                const int32_t v = CNN_S8_RQ2(2 * (acc[x] + b), c2.m, c2.off, c2.sh, FORM);   \
                out[x] = (int8_t)(v < lo ? lo : v > hi ? hi : v);                            \
            }                                                                                \
    } while (0)
#endif

/* out[0 .. n-1] = the requantized acc[0 .. n-1] of the epilogue's channel h. */
static void chp_store(const CpEpi *e, int32_t h, const int32_t *CNN_RESTRICT acc, int32_t n,
                     int8_t *CNN_RESTRICT out)
{
    const int32_t lo = e->lo, hi = e->hi;
    int32_t x;
#if CNN_S8_DSP
    if (e->f2[h] != CNN_S8_RQ2_NONE) {
        const int32_t b = e->bias[h];
        const CnnS8Rq2 c2 = e->c2[h];
        if (e->f2[h] == CNN_S8_RQ2_ZERO)
            CHP_RQ2_LOOP(CNN_S8_RQ2_ZERO);
        else
            CHP_RQ2_LOOP(CNN_S8_RQ2_SHIFT);
        return;
    }
#endif
    if (e->fast == 1) {
        const CnnS8Rq r = e->rq[h];
        for (x = 0; x < n; x++)
            out[x] = cnn_s8_rq_apply(acc[x], &r, lo, hi);
    } else if (e->fast == 2) {
        const CnnS8Rq r = e->rq[h];
        for (x = 0; x < n; x++)
            out[x] = cnn_s8_rq_apply0(acc[x], &r, lo, hi);
    } else {
        const CnnQConv2dParams *q = e->q;
        const int32_t o = e->o + h;
        for (x = 0; x < n; x++)
            out[x] = cnn_s8_requant(cnn_s8_add_wrap(acc[x], e->bias[h]), q->mult[o],
                                    q->shift[o], q->out_zp, lo, hi);
    }
}

/* The word of the int16 pair (a, b), a in the low half. */
static inline uint32_t chp_word(int32_t a, int32_t b)
{
    return ((uint32_t)a & 0xffffu) | ((uint32_t)b << 16);
}

/* The two int16 halves of a word, as the portable tile reads them. */
static inline int32_t chp_lo(uint32_t v)
{
    return (int32_t)(v & 0xffffu) - (int32_t)((v & 0x8000u) << 1);
}

static inline int32_t chp_hi(uint32_t v)
{
    return (int32_t)(v >> 16) - (int32_t)((v >> 15) & 0x10000u);
}

/* Input row r (outside the input: a zero-padding row) widened into
 * dst[0 .. rw-1]: for pair i, words dst[i*wr + k] = (channel 2i, channel
 * 2i+1) at padded column k (input column k - pad_left); an odd in_c's
 * missing channel reads 0 (its weights are 0). */
static void chp_expand(const CpCtx *c, uint32_t *CNN_RESTRICT dst, int32_t r)
{
    const CnnConv2dParams *p = &c->q->g;
    const uint32_t zz = chp_word(c->q->in_zp, c->q->in_zp);
    const int32_t wr = c->wr, plane = p->in_h * p->in_w;
    const int32_t pl = p->pad_left < wr ? p->pad_left : wr;
    const int32_t ie = p->pad_left + p->in_w < wr ? p->pad_left + p->in_w : wr;
    int32_t i, k;

    if (r < 0 || r >= p->in_h) {
        for (k = 0; k < c->rw; k++)
            dst[k] = zz;
        return;
    }
    for (i = 0; i < c->np; i++, dst += wr) {
        const int8_t *a = c->in + 2 * i * plane + r * p->in_w - p->pad_left;
        const int8_t *b = a + plane;
        for (k = 0; k < pl; k++)
            dst[k] = zz;
        if (2 * i + 1 < p->in_c) {
#if CNN_S8_DSP
            for (; k + 4 <= ie; k += 4) {
                const uint32_t va = cnn_s8_ld32(a + k), vb = cnn_s8_ld32(b + k);
                const int32_t la = cnn_s8_lo16x2(va), ha = cnn_s8_hi16x2(va);
                const int32_t lb = cnn_s8_lo16x2(vb), hb = cnn_s8_hi16x2(vb);
                dst[k] = (uint32_t)cnn_s8_pack_lo(la, lb);
                dst[k + 1] = (uint32_t)cnn_s8_pack_lo(ha, hb);
                dst[k + 2] = (uint32_t)cnn_s8_pack_hi(la, lb);
                dst[k + 3] = (uint32_t)cnn_s8_pack_hi(ha, hb);
            }
#endif
            for (; k < ie; k++)
                dst[k] = chp_word(a[k], b[k]);
        } else {
            for (; k < ie; k++)
                dst[k] = chp_word(a[k], 0);
        }
        for (; k < wr; k++)
            dst[k] = zz;
    }
}

/*
 * The window of output row y at buf + *base * rw: input rows y*stride_h -
 * pad_top + ky, ky < kernel_h.  prev is the row whose window the buffer
 * holds (-1: none).  Row ky of y is row ky - s of prev (s = (y - prev) *
 * stride_h, when at most kernel_h): the window slides s rows down and only
 * its last s rows are widened; when it would pass cap rows, its kept rows
 * are copied back to the start.
 */
static void chp_window(const CpCtx *c, uint32_t *CNN_RESTRICT buf, int32_t cap, int32_t y,
                      int32_t prev, int32_t *base)
{
    const CnnConv2dParams *p = &c->q->g;
    const int32_t kh = p->kernel_h, r0 = y * p->stride_h - p->pad_top;
    const int32_t sh = prev >= 0 ? (y - prev) * p->stride_h : kh + 1;
    int32_t ky;

    if (sh <= kh) {
        int32_t b = *base + sh;
        if (b + kh > cap) {
            __builtin_memmove(buf, buf + b * c->rw, (size_t)((kh - sh) * c->rw) * sizeof *buf);
            b = 0;
        }
        *base = b;
        for (ky = kh - sh; ky < kh; ky++)
            chp_expand(c, buf + (b + ky) * c->rw, r0 + ky);
        return;
    }
    *base = 0;
    for (ky = 0; ky < kh; ky++)
        chp_expand(c, buf + ky * c->rw, r0 + ky);
}

/* The tiles of 3 pixels for a kernel width and stride, and of the last 1
 * or 2 (cnn_conv2d_cp_s8). */
typedef void CpTileFn(const uint32_t *pa, const int8_t *pw, int32_t nrows, int32_t wr,
                      int32_t nt, int32_t *ra, int32_t *rb);
typedef void CpTile12Fn(const uint32_t *pa, const int8_t *pw, int32_t nrows, int32_t wr,
                        int32_t sw, int n, int32_t *ra, int32_t *rb);

#if CNN_S8_DSP
/*
 * n pixels (1 to 3) of a channel pair on SMLAD: pa the window at the first
 * pixel's column, pw the pair's packed weights; the first channel's sums to
 * ra, the second's to rb.  kw, sw and n constants where it is inlined.
 */
CHP_INLINE void chp_tile_dsp(const uint32_t *pa, const int8_t *pw, int32_t nrows, int32_t wr,
                           const int32_t kw, const int32_t sw, const int n, int32_t *ra,
                           int32_t *rb)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, r, t;
    for (r = 0; r < nrows; r++, pa += wr)
        CHP_UNROLL
        for (t = 0; t < kw; t++, pw += 4) {
            const uint32_t wv = cnn_s8_ld32(pw);
            const int32_t wl = cnn_s8_lo16x2(wv), wh = cnn_s8_hi16x2(wv);
            const int32_t v0 = (int32_t)pa[t];
            a0 = cnn_s8_smlad(wl, v0, a0);
            a1 = cnn_s8_smlad(wh, v0, a1);
            if (n > 1) {
                const int32_t v1 = (int32_t)pa[sw + t];
                a2 = cnn_s8_smlad(wl, v1, a2);
                a3 = cnn_s8_smlad(wh, v1, a3);
            }
            if (n > 2) {
                const int32_t v2 = (int32_t)pa[2 * sw + t];
                a4 = cnn_s8_smlad(wl, v2, a4);
                a5 = cnn_s8_smlad(wh, v2, a5);
            }
        }
    ra[0] = a0, rb[0] = a1;
    if (n > 1)
        ra[1] = a2, rb[1] = a3;
    if (n > 2)
        ra[2] = a4, rb[2] = a5;
}

#if defined(__clang__) || defined(CNN_S8_CP_C)
/* clang reserves r7 and the tile below needs 14 registers: the same steps
 * in C, the registers left to it (CNN_S8_CP_C selects it under gcc). */
#define CHP_TILE3(NAME, KW, SW, BODY)                                                         \
    static void NAME(const uint32_t *pa, const int8_t *pw, int32_t nrows, int32_t wr,       \
                     int32_t nt, int32_t *ra, int32_t *rb)                                   \
    {                                                                                        \
        for (; nt > 0; nt--, pa += 3 * SW, ra += 3, rb += 3)                                 \
            chp_tile_dsp(pa, pw, nrows, wr, KW, SW, 3, ra, rb);                               \
    }
#else
/*
 * The 3-pixel tile in assembly, so that nothing spills: 6 sums, the three
 * activation words x, y, z, the weight word's two halves wl, wh, pa, pw and
 * the row count sc, 14 registers.  For each row of the window (kernel row,
 * channel pair) and tap t: one weight load and two SXTB16, then pixel p's
 * word (p*SW + t) meets both, two SMLAD a pixel.  The activation words are
 * loaded once a row and slide: at stride 1, tap t+1 of pixel p is tap t of
 * pixel p+1, so a word is reloaded with the next tap's last as soon as its
 * first pixel has used it (kw + 2 words, kw + 1 loads with the LDRD); at
 * stride 2 the odd taps run first (words 1, 3, 5, then 3, 5, 7), then the
 * even ones (0, 2, 4, then 2, 4, 6, ...).  The row loop is three
 * instructions: UXTAH adds the row stride (sc's low half) to pa, and the
 * negated row count in sc's high half ends the loop when it carries out.
 * For kw = 5 at stride 1: 6 loads, 5 x 3 for the weights, 30 SMLAD and 3
 * for the loop, 54 instructions for 60 multiply-adds.
 */
#define CHP_WP "ldr %[wh], [%[pw]], #4\n\tsxtb16 %[wl], %[wh]\n\tsxtb16 %[wh], %[wh], ror #8\n\t"
#define CHP_WO(OFF)                                                                           \
    "ldr %[wh], [%[pw], #" OFF "]\n\tsxtb16 %[wl], %[wh]\n\tsxtb16 %[wh], %[wh], ror #8\n\t"
#define CHP_L(V, OFF) "ldr %[" V "], [%[pa], #" OFF "]\n\t"
#define CHP_M(A, B, V)                                                                        \
    "smlad %[" A "], %[wl], %[" V "], %[" A "]\n\t"                                          \
    "smlad %[" B "], %[wh], %[" V "], %[" B "]\n\t"
#define CHP_TAP(W, X, Y, Z, LX, LY, LZ) W CHP_M("a0", "a1", X) LX CHP_M("a2", "a3", Y) LY \
    CHP_M("a4", "a5", Z) LZ

#define CHP_S1_K3                                                                             \
    "ldrd %[x], %[y], [%[pa]]\n\t" CHP_L("z", "8")                                            \
    CHP_TAP(CHP_WP, "x", "y", "z", CHP_L("x", "12"), "", "")                                    \
    CHP_TAP(CHP_WP, "y", "z", "x", CHP_L("y", "16"), "", "")                                    \
    CHP_TAP(CHP_WP, "z", "x", "y", "", "", "")
#define CHP_S1_K5                                                                             \
    "ldrd %[x], %[y], [%[pa]]\n\t" CHP_L("z", "8")                                            \
    CHP_TAP(CHP_WP, "x", "y", "z", CHP_L("x", "12"), "", "")                                    \
    CHP_TAP(CHP_WP, "y", "z", "x", CHP_L("y", "16"), "", "")                                    \
    CHP_TAP(CHP_WP, "z", "x", "y", CHP_L("z", "20"), "", "")                                    \
    CHP_TAP(CHP_WP, "x", "y", "z", CHP_L("x", "24"), "", "")                                    \
    CHP_TAP(CHP_WP, "y", "z", "x", "", "", "")
#define CHP_S2_K3                                                                             \
    CHP_L("x", "4") CHP_L("y", "12") CHP_L("z", "20")                                           \
    CHP_TAP(CHP_WO("4"), "x", "y", "z", CHP_L("x", "0"), CHP_L("y", "8"), CHP_L("z", "16"))       \
    CHP_TAP(CHP_WO("0"), "x", "y", "z", CHP_L("x", "24"), "", "")                               \
    CHP_TAP(CHP_WO("8"), "y", "z", "x", "", "", "")                                            \
    "add %[pw], %[pw], #12\n\t"
#define CHP_S2_K5                                                                             \
    CHP_L("x", "4") CHP_L("y", "12") CHP_L("z", "20")                                           \
    CHP_TAP(CHP_WO("4"), "x", "y", "z", CHP_L("x", "28"), "", "")                               \
    CHP_TAP(CHP_WO("12"), "y", "z", "x", CHP_L("y", "0"), CHP_L("z", "8"), CHP_L("x", "16"))      \
    CHP_TAP(CHP_WO("0"), "y", "z", "x", CHP_L("y", "24"), "", "")                               \
    CHP_TAP(CHP_WO("8"), "z", "x", "y", CHP_L("z", "32"), "", "")                               \
    CHP_TAP(CHP_WO("16"), "x", "y", "z", "", "", "")                                           \
    "add %[pw], %[pw], #20\n\t"

#define CHP_TILE3(NAME, KW, SW, BODY)                                                         \
    static void NAME(const uint32_t *pa, const int8_t *pw, int32_t nrows, int32_t wr,       \
                     int32_t nt, int32_t *ra, int32_t *rb)                                   \
    {                                                                                        \
        const uint32_t sc0 = ((uint32_t)-nrows << 16) | (uint32_t)(wr * 4);                  \
        for (; nt > 0; nt--, pa += 3 * SW, ra += 3, rb += 3) {                               \
            const uint32_t *a = pa;                                                          \
            const int8_t *w = pw;                                                            \
            uint32_t sc = sc0;                                                               \
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, x, y, z, wl, wh;        \
            __asm__ volatile("1:\n\t" BODY                                                   \
                             "uxtah %[pa], %[pa], %[sc]\n\t"                                 \
                             "adds %[sc], %[sc], #65536\n\t"                                 \
                             "bcc 1b\n\t"                                                    \
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),   \
                               [a4] "+r"(a4), [a5] "+r"(a5), [pa] "+r"(a), [pw] "+r"(w),     \
                               [sc] "+r"(sc), [x] "=&r"(x), [y] "=&r"(y), [z] "=&r"(z),      \
                               [wl] "=&r"(wl), [wh] "=&r"(wh)                                \
                             :                                                               \
                             : "cc", "memory");                                              \
            ra[0] = a0, ra[1] = a2, ra[2] = a4;                                              \
            rb[0] = a1, rb[1] = a3, rb[2] = a5;                                              \
        }                                                                                    \
    }
#endif

#if !defined(__clang__) && !defined(CNN_S8_CP_C)
/*
 * Stride 1, 4 pixels: 8 sums, the weight's halves, pa, pw and two
 * activation words A, B: 14 registers, so the row loop reads its stride
 * and end from the stack (5 instructions a row).  Per tap one weight load,
 * two SXTB16, two LDRD (the 4 pixels' words, consecutive at stride 1) and
 * 8 SMLAD: 13 instructions for 16 multiply-adds; a 5-wide row 70 for 80.
 */
#define CHP_Q_TAP(OA, OB)                                                                     \
    CHP_WP "ldrd %[va], %[vb], [%[pa], #" OA "]\n\t"                                          \
    "smlad %[a0], %[wl], %[va], %[a0]\n\t"                                                   \
    "smlad %[a1], %[wh], %[va], %[a1]\n\t"                                                   \
    "smlad %[a2], %[wl], %[vb], %[a2]\n\t"                                                   \
    "smlad %[a3], %[wh], %[vb], %[a3]\n\t"                                                   \
    "ldrd %[va], %[vb], [%[pa], #" OB "]\n\t"                                                \
    "smlad %[a4], %[wl], %[va], %[a4]\n\t"                                                   \
    "smlad %[a5], %[wh], %[va], %[a5]\n\t"                                                   \
    "smlad %[a6], %[wl], %[vb], %[a6]\n\t"                                                   \
    "smlad %[a7], %[wh], %[vb], %[a7]\n\t"
#define CHP_Q_K3 CHP_Q_TAP("0", "8") CHP_Q_TAP("4", "12") CHP_Q_TAP("8", "16")
#define CHP_Q_K5 CHP_Q_K3 CHP_Q_TAP("12", "20") CHP_Q_TAP("16", "24")

#define CHP_TILE4(NAME, KW, BODY)                                                             \
    static void NAME(const uint32_t *pa, const int8_t *pw, int32_t nrows, int32_t wr,       \
                     int32_t nt, int32_t *ra, int32_t *rb)                                   \
    {                                                                                        \
        const int32_t rs = wr * 4;                                                           \
        const int8_t *const wend = pw + nrows * KW * 4;                                      \
        for (; nt > 0; nt--, pa += 4, ra += 4, rb += 4) {                                    \
            const uint32_t *a = pa;                                                          \
            const int8_t *w = pw;                                                            \
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;         \
            int32_t va, vb, wl, wh;                                                          \
            __asm__ volatile("1:\n\t" BODY                                                   \
                             "ldr %[wl], %[rs]\n\t"                                          \
                             "add %[pa], %[pa], %[wl]\n\t"                                   \
                             "ldr %[wl], %[we]\n\t"                                          \
                             "cmp %[pw], %[wl]\n\t"                                          \
                             "bne 1b\n\t"                                                    \
                             : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),   \
                               [a4] "+r"(a4), [a5] "+r"(a5), [a6] "+r"(a6), [a7] "+r"(a7),   \
                               [pa] "+r"(a), [pw] "+r"(w), [va] "=&r"(va), [vb] "=&r"(vb),   \
                               [wl] "=&r"(wl), [wh] "=&r"(wh)                                \
                             : [rs] "m"(rs), [we] "m"(wend)                                  \
                             : "cc", "memory");                                              \
            ra[0] = a0, ra[1] = a2, ra[2] = a4, ra[3] = a6;                                  \
            rb[0] = a1, rb[1] = a3, rb[2] = a5, rb[3] = a7;                                  \
        }                                                                                    \
    }

CHP_TILE4(chp_tile4_k3, 3, CHP_Q_K3)
CHP_TILE4(chp_tile4_k5, 5, CHP_Q_K5)
#define CHP_HAVE_TILE4 1
#endif

CHP_TILE3(chp_tile3_k3s1, 3, 1, CHP_S1_K3)
CHP_TILE3(chp_tile3_k3s2, 3, 2, CHP_S2_K3)
CHP_TILE3(chp_tile3_k5s1, 5, 1, CHP_S1_K5)
CHP_TILE3(chp_tile3_k5s2, 5, 2, CHP_S2_K5)

/* A row's last 1 or 2 pixels, kernel width 3 or 5, any stride. */
#define CHP_TILE12(NAME, KW)                                                                  \
    static void NAME(const uint32_t *pa, const int8_t *pw, int32_t nrows, int32_t wr,       \
                     int32_t sw, int n, int32_t *ra, int32_t *rb)                            \
    {                                                                                        \
        if (n == 2)                                                                          \
            chp_tile_dsp(pa, pw, nrows, wr, KW, sw, 2, ra, rb);                               \
        else                                                                                 \
            chp_tile_dsp(pa, pw, nrows, wr, KW, sw, 1, ra, rb);                               \
    }

CHP_TILE12(chp_tile12_k3, 3)
CHP_TILE12(chp_tile12_k5, 5)

#endif

/* n pixels of a channel pair, portable: the same integers (on a DSP core,
 * the kernel widths other than 3 and 5, which cnnc does not give this kind). */
static void chp_tile_any(const CpCtx *c, const uint32_t *pa, const int8_t *pw, int n,
                        int32_t *ra, int32_t *rb)
{
    const int32_t nrows = c->nrows, wr = c->wr, kw = c->kw, sw = c->sw;
    int p, r, t;
    for (p = 0; p < n; p++) {
        const uint32_t *s = pa + p * sw;
        const int8_t *w = pw;
        int32_t a = 0, b = 0;
        for (r = 0; r < nrows; r++, s += wr)
            for (t = 0; t < kw; t++, w += 4) {
                const int32_t lo = chp_lo(s[t]), hi = chp_hi(s[t]);
                a += w[0] * lo + w[2] * hi;
                b += w[1] * lo + w[3] * hi;
            }
        ra[p] = a;
        rb[p] = b;
    }
}

/* n pixels at stride 1 as n4 tiles of 4 and n3 of 3, the rest (n = 1, 2,
 * 5: 1 or 2 pixels) left to the narrow tile. */
static void chp_split(int32_t n, int32_t *n4, int32_t *n3)
{
    int32_t t;
    for (t = 0; t < 4 && 3 * t <= n; t++)
        if ((n - 3 * t) % 4 == 0) {
            *n4 = (n - 3 * t) / 4;
            *n3 = t;
            return;
        }
    *n4 = n / 4;
    *n3 = 0;
}

/* A conv whose window does not fit the buffer: each output from the input
 * and the packed weights directly. */
static void chp_slow(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                    const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                    int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *g = &q->g;
    int32_t o, y, x, i, ky, kx;
    for (o = 0; o < g->out_c; o++)
        for (y = 0; y < g->out_h; y++)
            for (x = 0; x < g->out_w; x++) {
                uint32_t acc = 0;
                for (i = 0; i < g->in_c; i++)
                    for (ky = 0; ky < g->kernel_h; ky++)
                        for (kx = 0; kx < g->kernel_w; kx++) {
                            const int32_t r = y * g->stride_h - g->pad_top + ky * g->dilation_h;
                            const int32_t s =
                                x * g->stride_w - g->pad_left + kx * g->dilation_w;
                            const int32_t v =
                                r < 0 || r >= g->in_h || s < 0 || s >= g->in_w ? q->in_zp
                                : g->in_hwc ? in[(r * g->in_w + s) * g->in_c + i]
                                            : in[(i * g->in_h + r) * g->in_w + s];
                            acc += (uint32_t)(w[cnn_conv2d_cp_widx_s8(g, o, i, ky, kx)] * v);
                        }
                out[(o * g->out_h + y) * g->out_w + x] =
                    cnn_s8_requant(cnn_s8_add_wrap(cnn_s8_add_wrap((int32_t)(acc >> 1),
                                                                   (int32_t)(acc - (acc >> 1))),
                                                   bias[o]),
                                   q->mult[o], q->shift[o], q->out_zp, q->act_min, q->act_max);
            }
}

/*
 * The fused pool (cnn_conv2d_pool_s8 of a channel-pair conv, the pairs
 * cnn_conv2d_cp_pool_fits_s8 accepts): each conv row lies in one pool
 * window row at most (pool stride_h >= kernel_h).  A run of a conv row's
 * sums is pooled across its columns in place, then against the pooled
 * row's kept values (acc) from the window's earlier conv rows; the window's
 * last row requantizes the pooled sums once.  The requantization is
 * monotone in acc + bias (non-decreasing for a multiplier >= 0,
 * non-increasing for a negative one, where max and min trade places), so
 * this gives the bytes of the conv then the pool, as long as acc + bias
 * cannot wrap: else the channel's sums are requantized first and the bytes
 * pooled (the two steps, literally).
 */
typedef struct CpPool {
    const CnnPool2dParams *p;
    int max;            /* the pool is a max pool */
    int64_t bound;      /* the largest |sum| of the conv */
} CpPool;

/* Pool the int32 sums (1) or the requantized bytes (0) of channel o? */
static int chp_pool_sums(const CpPool *pl, const int32_t *bias, int32_t o)
{
    const int64_t b = bias[o];
    return pl->bound + (b < 0 ? -b : b) <= INT32_MAX;
}

/*
 * The sums s[0 .. (npx-1)*stride_w + kernel_w - 1] of a run of channel h's
 * conv row, which is row ky of pool windows px0 .. px0+npx-1: pooled across
 * the columns, then against acc[0 .. npx-1] (ky > 0); the window's last
 * row requantizes them into dst, the others keep them in acc.  sums: pool
 * the sums (else the requantized bytes); mx: keep the max (else the min).
 */
static void chp_pool_run(const CpEpi *e, const CnnPool2dParams *p, int32_t h, int sums, int mx,
                        int32_t *CNN_RESTRICT s, int32_t npx, int32_t ky,
                        int32_t *CNN_RESTRICT acc, int8_t *CNN_RESTRICT dst)
{
    const int32_t kw = p->kernel_w, sw = p->stride_w, n = (npx - 1) * sw + kw;
    const int last = ky == p->kernel_h - 1;
    int32_t x, k;

    if (!sums) {
        int8_t t[CHP_RUN];
        chp_store(e, h, s, n, t);
        for (x = 0; x < n; x++)
            s[x] = t[x];
    }
    for (x = 0; x < npx; x++) {
        int32_t v = s[x * sw];
        for (k = 1; k < kw; k++) {
            const int32_t u = s[x * sw + k];
            v = mx ? (u > v ? u : v) : (u < v ? u : v);
        }
        if (ky > 0)
            v = mx ? (acc[x] > v ? acc[x] : v) : (acc[x] < v ? acc[x] : v);
        s[x] = v;
    }
    if (!last) {
        for (x = 0; x < npx; x++)
            acc[x] = s[x];
    } else if (sums) {
        chp_store(e, h, s, npx, dst);
    } else {
        for (x = 0; x < npx; x++)
            dst[x] = (int8_t)s[x];
    }
}

/*
 * A 2x2/2 pool's row ky of a channel pair's pooled sums, both channels
 * pooled the same way (mx, a constant where it is inlined): the first row
 * into the kept a[], b[]; the second pooled with them in place in sa[],
 * sb[], for the requantization.
 */
CHP_INLINE void chp_pool22(int32_t *sa, int32_t *sb, int32_t *CNN_RESTRICT a,
                          int32_t *CNN_RESTRICT b, int32_t npx, int32_t ky, const int mx)
{
    int32_t x;
#define CHP_P2(u, v) (mx ? ((v) > (u) ? (v) : (u)) : ((v) < (u) ? (v) : (u)))
    if (ky == 0)
        for (x = 0; x < npx; x++) {
            a[x] = CHP_P2(sa[2 * x], sa[2 * x + 1]);
            b[x] = CHP_P2(sb[2 * x], sb[2 * x + 1]);
        }
    else
        for (x = 0; x < npx; x++) {
            const int32_t u = CHP_P2(sa[2 * x], sa[2 * x + 1]);
            const int32_t v = CHP_P2(sb[2 * x], sb[2 * x + 1]);
            sa[x] = CHP_P2(a[x], u);
            sb[x] = CHP_P2(b[x], v);
        }
#undef CHP_P2
}

/* The conv (pl NULL) or the conv and its pool (cnn_conv2d_cp_pool_s8). */
static void chp_run(const CnnQConv2dParams *q, const CpPool *pl, const int8_t *CNN_RESTRICT in,
                   const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                   int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *g = &q->g;
    uint32_t buf[CNN_CONV_CP_S8_WORDS];
    int32_t ra[CHP_RUN], rb[CHP_RUN];
    int32_t pacc[CNN_CONV_CP_POOL_S8_WORDS];
    int32_t o0, o, y, x0, x, base = 0, cap, wpair, prev;
    int32_t sn = -1, n4 = 0, n3 = 0;   /* chp_split(sn) */
    uint32_t msum = 0, mmax = 0;    /* the fused pool's sums and max flags, a bit a channel */
    int p22 = 0;                    /* the fused pool is 2x2/2 (chp_pool22) */
    int32_t blk = CHP_EPI, yend = g->out_h, xend = g->out_w, step = CHP_RUN;
    int32_t pkh = 1, psh = 1, pkw = 1, psw = 1, pw = 0, pplane = 0;
    const int32_t plane = g->out_h * g->out_w;
    CpTileFn *tile3 = NULL, *tile4 = NULL;
    CpTile12Fn *tile12 = NULL;
    CpEpi e;
    CpCtx c;

    c.q = q;
    c.in = in;
    c.np = (g->in_c + 1) / 2;
    c.wr = (int32_t)cnn_conv2d_cp_wr_s8(g);
    c.rw = c.np * c.wr;
    c.nrows = g->kernel_h * c.np;
    c.kw = g->kernel_w;
    c.sw = g->stride_w;
    cap = CNN_CONV_CP_S8_WORDS / c.rw;
    wpair = c.nrows * c.kw * 4;
    if (pl) {
        pkh = pl->p->kernel_h, psh = pl->p->stride_h;
        pkw = pl->p->kernel_w, psw = pl->p->stride_w;
        pw = pl->p->out_w;
        pplane = pl->p->out_h * pw;
        blk = CNN_CONV_CP_POOL_S8_WORDS / pw & ~1;
        blk = blk < CHP_EPI ? blk : CHP_EPI;
        yend = (pl->p->out_h - 1) * psh + pkh;
        step = (CHP_RUN - pkw) / psw + 1;       /* pooled columns a run */
        xend = pw;
        p22 = pkh == 2 && pkw == 2 && psh == 2 && psw == 2;
    }
#if CNN_S8_DSP
    if (c.kw == 3) {
        tile3 = c.sw == 1 ? chp_tile3_k3s1 : chp_tile3_k3s2;
        tile12 = chp_tile12_k3;
    } else if (c.kw == 5) {
        tile3 = c.sw == 1 ? chp_tile3_k5s1 : chp_tile3_k5s2;
        tile12 = chp_tile12_k5;
    }
#ifdef CHP_HAVE_TILE4
    if (c.sw == 1 && (c.kw == 3 || c.kw == 5))
        tile4 = c.kw == 3 ? chp_tile4_k3 : chp_tile4_k5;
#endif
#endif

    for (o0 = 0; o0 < g->out_c; o0 += blk) {
        const int32_t o1 = g->out_c - o0 < blk ? g->out_c : o0 + blk;
        chp_epi_init(&e, q, bias, o0, o1 - o0);
        if (pl)
            for (o = o0, msum = mmax = 0; o < o1; o++) {
                const int s = chp_pool_sums(pl, bias, o);
                msum |= (uint32_t)s << (o - o0);
                mmax |= (uint32_t)(s ? pl->max != (q->mult[o] < 0) : pl->max) << (o - o0);
            }
        prev = -1;
        for (y = 0; y < yend; y++) {
            const uint32_t *win;
            const int32_t py = y / psh, ky = y - py * psh;
            if (ky >= pkh)
                continue;       /* between two pool windows */
            chp_window(&c, buf, cap, y, prev, &base);
            prev = y;
            win = buf + base * c.rw;
            for (o = o0; o < o1; o += 2) {
                const int8_t *wp = w + (o >> 1) * wpair;
                for (x0 = 0; x0 < xend; x0 += step) {
                    /* pl: pooled columns x0 .. x0+npx-1 from conv column x0 * psw */
                    const int32_t npx = xend - x0 < step ? xend - x0 : step;
                    const int32_t n = pl ? (npx - 1) * psw + pkw : npx;
                    const uint32_t *pa = win + (pl ? x0 * psw : x0) * c.sw;
                    if (tile4) {
                        if (n != sn) {      /* the split of the last run's length, kept */
                            chp_split(n, &n4, &n3);
                            sn = n;
                        }
                        tile4(pa, wp, c.nrows, c.wr, n4, ra, rb);
                        tile3(pa + 4 * n4, wp, c.nrows, c.wr, n3, ra + 4 * n4, rb + 4 * n4);
                        x = 4 * n4 + 3 * n3;
                    } else if (tile3) {
                        x = n / 3 * 3;
                        tile3(pa, wp, c.nrows, c.wr, n / 3, ra, rb);
                    } else {
                        for (x = 0; x + 3 <= n; x += 3)
                            chp_tile_any(&c, pa + x * c.sw, wp, 3, ra + x, rb + x);
                    }
                    if (x < n && tile12)
                        tile12(pa + x * c.sw, wp, c.nrows, c.wr, c.sw, (int)(n - x), ra + x,
                               rb + x);
                    else if (x < n)
                        chp_tile_any(&c, pa + x * c.sw, wp, (int)(n - x), ra + x, rb + x);
                    if (pl) {
                        int8_t *dst = out + o * pplane + py * pw + x0;
                        int32_t *acc = pacc + (o - o0) * pw + x0;
                        const int32_t h = o - o0;
                        if (p22 && (msum >> h & 3) == 3 && (mmax >> h & 3) % 3 == 0) {
                            if (mmax >> h & 1)
                                chp_pool22(ra, rb, acc, acc + pw, npx, ky, 1);
                            else
                                chp_pool22(ra, rb, acc, acc + pw, npx, ky, 0);
                            if (ky == 1) {
                                chp_store(&e, h, ra, npx, dst);
                                chp_store(&e, h + 1, rb, npx, dst + pplane);
                            }
                            continue;
                        }
                        chp_pool_run(&e, pl->p, h, msum >> h & 1, mmax >> h & 1, ra, npx, ky,
                                     acc, dst);
                        if (o + 1 < o1)
                            chp_pool_run(&e, pl->p, h + 1, msum >> (h + 1) & 1,
                                         mmax >> (h + 1) & 1, rb, npx, ky, acc + pw,
                                         dst + pplane);
                    } else {
                        int8_t *dst = out + o * plane + y * g->out_w + x0;
                        chp_store(&e, o - o0, ra, n, dst);
                        if (o + 1 < o1)
                            chp_store(&e, o + 1 - o0, rb, n, dst + plane);
                    }
                }
            }
        }
    }
}

void cnn_conv2d_cp_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                      const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                      int8_t *CNN_RESTRICT out)
{
    if (!cnn_conv2d_cp_fits_s8(&q->g)) {
        chp_slow(q, in, w, bias, out);
        return;
    }
    chp_run(q, NULL, in, w, bias, out);
}

void cnn_conv2d_cp_pool_s8(const CnnQConvPoolParams *pp, const int8_t *CNN_RESTRICT in,
                           const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                           int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *g = &pp->conv.g;
    CpPool pl;
    pl.p = &pp->pool;
    pl.max = pp->kind == CNN_POOL_MAX;
    /* 2 * pairs * kernel_h * kernel_w products of at most 128 * 128 */
    pl.bound = (int64_t)2 * ((g->in_c + 1) / 2) * g->kernel_h * g->kernel_w * 16384;
    chp_run(&pp->conv, &pl, in, w, bias, out);
}
