/*
 * conv_first_s8.c - cnn_conv2d_first_s8 (cnn_int8.h): an int8 conv with
 * 3 input channels (an RGB first layer), with the weights packed by
 * cnn_conv2d_pack_s8 for CNN_CONV_S8_FIRST (cnn_pack_s8.h).
 *
 * The row path pairs the taps of a kernel row and the channel-pair path
 * pairs input channels: with 3 channels and a 3-wide kernel each wastes a
 * quarter of its SMLAD slots on a zero weight (4 pairs for 3 taps, or 2
 * pairs for 3 channels).  Here a kernel row's kw x 3 taps are one run:
 * each input row that enters the window is widened once into int16 with
 * the channels interleaved per padded column,
 *     h[x*3 + c] = in[c][row][x - pad_left]    (in_zp in the padding),
 * so the taps of kernel row ky under output pixel p are the kw*3
 * consecutive halfwords from p*stride_w*3: kw*3 = 9 taps in 5 words (one
 * zero weight, a tenth of the slots), 15 in 8 for kw 5.  At stride 2 a
 * pixel's run starts on a word (halfword 6p); at stride 1 every other
 * pixel's starts on a halfword, an unaligned LDR (legal on M3/M4/M7/M55).
 * A row's halfwords run on one past the last window (an odd kw*3) as 0.
 *
 * The weights are int16 pairs (no SXTB16 in the loop): for each output
 * channel pair j, kernel row ky and word k, two words, channel 2j's taps
 * (2k, 2k+1) then channel 2j+1's, so one pixel's activation word meets
 * both with two SMLAD.  The tile is 2 channels x 4 pixels: per word of a
 * kernel row one LDRD of the two weight words (word-aligned weights; else
 * the portable tiles), four activation loads and 8 SMLAD (13 instructions
 * for 16 multiply-adds).  The sums of a run of pixels are
 * requantized a channel at a time with the forms of cnn_internal_s8.h.
 *
 * The widened rows live in a stack buffer of CNN_CONV_FIRST_S8_WORDS words
 * (kernel_h rows at least; with stride_h <= kernel_h the window slides and
 * only the rows entering it are widened).  The inputs are multiplied raw:
 * the packed bias holds -in_zp * sum(w) and the padding reads in_zp.  A
 * conv outside the buffer (not given the kind by cnn_conv2d_s8_kind) is
 * computed pixel by pixel from the same weights.
 */
#include <stddef.h>
#include <stdint.h>

#include "cnn_int8.h"
#include "cnn_internal.h"
#include "cnn_internal_s8.h"
#include "cnn_pack_s8.h"

#define FS_UNROLL CNN_UNROLL(8)

/* Output pixels per run of sums, and output channels whose requantization
 * constants are computed at once (even). */
enum { FS_RUN = 16, FS_EPI = 8 };

typedef struct FsCtx {
    const CnnQConv2dParams *q;
    const int8_t *in;
    int32_t wr;         /* padded columns of a widened row */
    int32_t rh;         /* halfwords of a widened row (even) */
    int32_t nw;         /* words of a kernel row's taps */
    int32_t step;       /* halfwords from a pixel's run to the next's */
} FsCtx;

/* The packed int16 weight at byte offset b of the packed weights. */
static inline int32_t fs_w16(const int8_t *w, long long b)
{
    return (int32_t)(int16_t)(uint16_t)((uint16_t)(uint8_t)w[b] |
                                        (uint16_t)((uint16_t)(uint8_t)w[b + 1] << 8));
}

/* The requantization of FS_EPI output channels, computed once: each
 * channel's form (FS_RQ2_*: the doubled-sum forms on the DSP path, else
 * cnn_s8_rq_apply, cnn_s8_rq_apply0 or the reference arithmetic). */
enum { FS_RQ2_ZERO, FS_RQ2_SHIFT, FS_RQ_FAST, FS_RQ_ZERO, FS_RQ_REF };

typedef struct FsEpi {
    uint8_t form[FS_EPI];
    CnnS8Rq rq[FS_EPI];         /* FS_RQ2_*: m, off, sh in mult, off, sh */
} FsEpi;

#if CNN_S8_DSP
/* The 4-pixel tiles' own epilogue, for a channel pair whose two channels
 * take the doubled-sum forms: per channel 2 * bias, m, off, sh and the
 * form; the fused clamp in every byte. */
typedef struct FsRq4 {
    int32_t b2, m, off, sh, zero;
} FsRq4;

typedef struct FsFuse {
    FsRq4 a, b;
    uint32_t lo4, hi4;
} FsFuse;

/* The pair of channels h, h + 1 of the epilogue as an FsFuse; 0 if either
 * channel takes another form. */
static int fs_fuse_init(const FsEpi *e, const CnnQConv2dParams *q, int32_t h, FsFuse *f)
{
    int32_t i;
    for (i = 0; i < 2; i++) {
        FsRq4 *r = i ? &f->b : &f->a;
        const CnnS8Rq *c = &e->rq[h + i];
        if (e->form[h + i] != FS_RQ2_ZERO && e->form[h + i] != FS_RQ2_SHIFT)
            return 0;
        r->b2 = 2 * c->bias;
        r->m = c->mult;
        r->off = c->off;
        r->sh = c->sh;
        r->zero = e->form[h + i] == FS_RQ2_ZERO;
    }
    f->lo4 = 0x01010101u * (uint8_t)q->act_min;
    f->hi4 = 0x01010101u * (uint8_t)q->act_max;
    return 1;
}

/* Four sums of a channel requantized, clamped and stored as one word. */
CNN_TILE_INLINE void fs_put4(const FsRq4 *r, uint32_t lo4, uint32_t hi4, int32_t s0, int32_t s1,
                             int32_t s2, int32_t s3, int8_t *out)
{
    int32_t v0, v1, v2, v3;
    uint32_t w;
    if (r->zero) {
        v0 = CNN_S8_RQ2(2 * s0 + r->b2, r->m, r->off, r->sh, CNN_S8_RQ2_ZERO);
        v1 = CNN_S8_RQ2(2 * s1 + r->b2, r->m, r->off, r->sh, CNN_S8_RQ2_ZERO);
        v2 = CNN_S8_RQ2(2 * s2 + r->b2, r->m, r->off, r->sh, CNN_S8_RQ2_ZERO);
        v3 = CNN_S8_RQ2(2 * s3 + r->b2, r->m, r->off, r->sh, CNN_S8_RQ2_ZERO);
    } else {
        v0 = CNN_S8_RQ2(2 * s0 + r->b2, r->m, r->off, r->sh, CNN_S8_RQ2_SHIFT);
        v1 = CNN_S8_RQ2(2 * s1 + r->b2, r->m, r->off, r->sh, CNN_S8_RQ2_SHIFT);
        v2 = CNN_S8_RQ2(2 * s2 + r->b2, r->m, r->off, r->sh, CNN_S8_RQ2_SHIFT);
        v3 = CNN_S8_RQ2(2 * s3 + r->b2, r->m, r->off, r->sh, CNN_S8_RQ2_SHIFT);
    }
    w = (uint32_t)v0;
    CNN_S8_BFI(w, v1, 1);
    CNN_S8_BFI(w, v2, 2);
    CNN_S8_BFI(w, v3, 3);
    w = cnn_s8_clamp4(w, lo4, hi4);
    __builtin_memcpy(out, &w, 4);
}
#endif

static void fs_epi_init(FsEpi *e, const CnnQConv2dParams *q, const int32_t *bias, int32_t o0,
                        int32_t n)
{
    int32_t h;
    for (h = 0; h < n; h++) {
        const int32_t o = o0 + h;
#if CNN_S8_DSP
        const CnnConv2dParams *g = &q->g;
        const int32_t b = bias[o];
        if ((long)g->in_c * g->kernel_h * g->kernel_w < 16384 && b < (1 << 29) &&
            b > -(1 << 29)) {
            CnnS8Rq2 c2;
            const int f = cnn_s8_rq2_init(q->mult[o], q->shift[o], q->out_zp, &c2);
            if (f == CNN_S8_RQ2_ZERO || f == CNN_S8_RQ2_SHIFT) {
                e->form[h] = f == CNN_S8_RQ2_ZERO ? FS_RQ2_ZERO : FS_RQ2_SHIFT;
                e->rq[h].bias = b;
                e->rq[h].mult = c2.m;
                e->rq[h].off = c2.off;
                e->rq[h].sh = c2.sh;
                continue;
            }
        }
#endif
        switch (cnn_s8_rq_init(&e->rq[h], bias + o, q->mult + o, q->shift + o, q->out_zp, 1)) {
        case 1:
            e->form[h] = FS_RQ_FAST;
            break;
        case 2:
            e->form[h] = FS_RQ_ZERO;
            break;
        default:
            e->form[h] = FS_RQ_REF;
        }
    }
}

/* out[0 .. n-1] = the requantized acc[0 .. n-1] of output channel o0 + h. */
static void fs_store(const FsEpi *e, const CnnQConv2dParams *q, const int32_t *bias,
                     int32_t o0, int32_t h, const int32_t *CNN_RESTRICT acc, int32_t n,
                     int8_t *CNN_RESTRICT out)
{
    const int32_t lo = q->act_min, hi = q->act_max, o = o0 + h;
    const CnnS8Rq r = e->rq[h];
    int32_t x;
    switch (e->form[h]) {
#if CNN_S8_DSP
    case FS_RQ2_ZERO:
        for (x = 0; x < n; x++) {
            const int32_t v =
                CNN_S8_RQ2(2 * (acc[x] + r.bias), r.mult, r.off, r.sh, CNN_S8_RQ2_ZERO);
            out[x] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
        }
        break;
    case FS_RQ2_SHIFT:
        for (x = 0; x < n; x++) {
            const int32_t v =
                CNN_S8_RQ2(2 * (acc[x] + r.bias), r.mult, r.off, r.sh, CNN_S8_RQ2_SHIFT);
            out[x] = (int8_t)(v < lo ? lo : v > hi ? hi : v);
        }
        break;
#endif
    case FS_RQ_FAST:
        for (x = 0; x < n; x++)
            out[x] = cnn_s8_rq_apply(acc[x], &r, lo, hi);
        break;
    case FS_RQ_ZERO:
        for (x = 0; x < n; x++)
            out[x] = cnn_s8_rq_apply0(acc[x], &r, lo, hi);
        break;
    default:
        for (x = 0; x < n; x++)
            out[x] = cnn_s8_requant(cnn_s8_add_wrap(acc[x], bias[o]), q->mult[o], q->shift[o],
                                    q->out_zp, lo, hi);
    }
}

#if CNN_S8_DSP
/* Two halfwords stored as one word at any halfword address (STR accepts
 * unaligned addresses where LDR does). */
static inline void fs_st32(int16_t *p, int32_t v)
{
    __builtin_memcpy(p, &v, 4);
}
#endif

/* Input row r (outside the input: a zero-padding row) widened into
 * dst[0 .. rh-1]: the 3 channels interleaved per padded column, in_zp in
 * the padding, 0 past the last column. */
static void fs_expand(const FsCtx *c, int16_t *CNN_RESTRICT dst, int32_t r)
{
    const CnnConv2dParams *p = &c->q->g;
    const int16_t zp = (int16_t)c->q->in_zp;
    const int32_t wr = c->wr, plane = p->in_h * p->in_w;
    const int32_t pl = p->pad_left < wr ? p->pad_left : wr;
    const int32_t ie = p->pad_left + p->in_w < wr ? p->pad_left + p->in_w : wr;
    int32_t k;

    if (r < 0 || r >= p->in_h) {
        for (k = 0; k < 3 * wr; k++)
            dst[k] = zp;
    } else {
        const int8_t *a = c->in + r * p->in_w - p->pad_left;
        const int8_t *b = a + plane, *d = b + plane;
        for (k = 0; k < 3 * pl; k++)
            dst[k] = zp;
        k = pl;
#if CNN_S8_DSP
        /* Four columns of each channel (three loads, six SXTB16) into six
         * words of interleaved halfwords (six PKHBT/PKHTB). */
        for (; k + 4 <= ie; k += 4) {
            const uint32_t va = cnn_s8_ld32(a + k), vb = cnn_s8_ld32(b + k),
                           vd = cnn_s8_ld32(d + k);
            const int32_t a02 = cnn_s8_lo16x2(va), a13 = cnn_s8_hi16x2(va);
            const int32_t b02 = cnn_s8_lo16x2(vb), b13 = cnn_s8_hi16x2(vb);
            const int32_t d02 = cnn_s8_lo16x2(vd), d13 = cnn_s8_hi16x2(vd);
            int16_t *o = dst + 3 * k;
            fs_st32(o, cnn_s8_pack_lo(a02, b02));       /* a0 b0 */
            fs_st32(o + 2, cnn_s8_pack_lo(d02, a13));   /* d0 a1 */
            fs_st32(o + 4, cnn_s8_pack_lo(b13, d13));   /* b1 d1 */
            fs_st32(o + 6, cnn_s8_pack_hi(a02, b02));   /* a2 b2 */
            fs_st32(o + 8, cnn_s8_pack_hi(d02, a13));   /* d2 a3 */
            fs_st32(o + 10, cnn_s8_pack_hi(b13, d13));  /* b3 d3 */
        }
#endif
        for (; k < ie; k++) {
            dst[3 * k] = a[k];
            dst[3 * k + 1] = b[k];
            dst[3 * k + 2] = d[k];
        }
        for (k *= 3; k < 3 * wr; k++)
            dst[k] = zp;
    }
    for (k = 3 * wr; k < c->rh; k++)
        dst[k] = 0;
}

/*
 * The window of output row y at buf + *base * rh: input rows y*stride_h -
 * pad_top + ky, ky < kernel_h.  With stride_h <= kernel_h it slides down
 * stride_h rows and only its last stride_h rows are widened; when it would
 * pass cap rows, its kept rows are copied back to the start.
 */
static void fs_window(const FsCtx *c, int16_t *CNN_RESTRICT buf, int32_t cap, int32_t y,
                      int32_t *base)
{
    const CnnConv2dParams *p = &c->q->g;
    const int32_t kh = p->kernel_h, sh = p->stride_h, r0 = y * sh - p->pad_top;
    int32_t ky;

    if (y > 0 && sh <= kh) {
        int32_t b = *base + sh;
        if (b + kh > cap) {
            __builtin_memmove(buf, buf + b * c->rh, (size_t)((kh - sh) * c->rh) * sizeof *buf);
            b = 0;
        }
        *base = b;
        for (ky = kh - sh; ky < kh; ky++)
            fs_expand(c, buf + (b + ky) * c->rh, r0 + ky);
        return;
    }
    *base = 0;
    for (ky = 0; ky < kh; ky++)
        fs_expand(c, buf + ky * c->rh, r0 + ky);
}

/*
 * n pixels (1 to 4) of a channel pair: pa the window at the first pixel's
 * run, pw the pair's packed weights; channel 2j's sums to ra, 2j+1's to
 * rb.  The same integers on both paths (SMLAD wraps as the uint32 sums).
 */
#if CNN_S8_DSP
CNN_TILE_INLINE void fs_tile_dsp(const int16_t *pa, const int8_t *pw, int32_t kh, int32_t rh,
                                 const int32_t nw, const int32_t step, const int n, int32_t *ra,
                                 int32_t *rb)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, r, k;
    const int8_t *s = (const int8_t *)pa;
    for (r = 0; r < kh; r++, s += 2 * rh)
        FS_UNROLL
        for (k = 0; k < nw; k++, pw += 8) {
            const int32_t wa = (int32_t)cnn_s8_ld32(pw), wb = (int32_t)cnn_s8_ld32(pw + 4);
            const int32_t v0 = (int32_t)cnn_s8_ld32(s + 4 * k);
            a0 = cnn_s8_smlad(wa, v0, a0);
            a1 = cnn_s8_smlad(wb, v0, a1);
            if (n > 1) {
                const int32_t v1 = (int32_t)cnn_s8_ld32(s + 2 * step + 4 * k);
                a2 = cnn_s8_smlad(wa, v1, a2);
                a3 = cnn_s8_smlad(wb, v1, a3);
            }
            if (n > 2) {
                const int32_t v2 = (int32_t)cnn_s8_ld32(s + 4 * step + 4 * k);
                a4 = cnn_s8_smlad(wa, v2, a4);
                a5 = cnn_s8_smlad(wb, v2, a5);
            }
            if (n > 3) {
                const int32_t v3 = (int32_t)cnn_s8_ld32(s + 6 * step + 4 * k);
                a6 = cnn_s8_smlad(wa, v3, a6);
                a7 = cnn_s8_smlad(wb, v3, a7);
            }
        }
    ra[0] = a0, rb[0] = a1;
    if (n > 1)
        ra[1] = a2, rb[1] = a3;
    if (n > 2)
        ra[2] = a4, rb[2] = a5;
    if (n > 3)
        ra[3] = a6, rb[3] = a7;
}

#if defined(__clang__) || defined(CNN_S8_FIRST_C)
/* clang reserves r7 and the tile below needs 14 registers: the same steps
 * in C (CNN_S8_FIRST_C selects it under gcc). */
#define FS_TILE4(NW, STEP, BODY, PUT)                                                         \
    do {                                                                                     \
        int32_t t[4], u[4];                                                                  \
        fs_tile_dsp(pa, pw, kh, rh, NW, STEP, 4, t, u);                                      \
        PUT(t[0], u[0], t[1], u[1], t[2], u[2], t[3], u[3]);                                 \
    } while (0)
#else
/*
 * The 4-pixel tile in assembly, so that nothing spills: 8 sums, the two
 * weight words wa, wb, one activation word v, pa, pw and the row count sc,
 * 14 registers.  Per word k of a kernel row: the two channels' weight
 * words (one LDRD: the caller takes this tile only for word-aligned packed
 * weights, whose pairs are 8 kh nw bytes apart), then each pixel's
 * activation word (4k bytes into its run, SB bytes between pixels) and two
 * SMLAD: 13 instructions for 16 multiply-adds.  The row loop is four: pw
 * steps over the row's weights, UXTAH adds the row stride (sc's low half)
 * to pa, and the negated row count in sc's high half ends the loop when it
 * carries out.
 */
#define FS_PX(K, P, SB, A, B)                                                                 \
    "ldr %[v], [%[pa], #(4*" K "+" P "*" SB ")]\n\t"                                          \
    "smlad %[" A "], %[wa], %[v], %[" A "]\n\t"                                              \
    "smlad %[" B "], %[wb], %[v], %[" B "]\n\t"
#define FS_K(K, SB)                                                                           \
    "ldrd %[wa], %[wb], [%[pw], #(8*" K ")]\n\t"                                              \
    FS_PX(K, "0", SB, "a0", "a1") FS_PX(K, "1", SB, "a2", "a3")                               \
    FS_PX(K, "2", SB, "a4", "a5") FS_PX(K, "3", SB, "a6", "a7")
/* Word 0 of the first kernel row sets the sums (SMUAD: no accumulator to
 * clear), then the loop is entered at word 1 (label 2). */
#define FS_PX0(P, SB, A, B)                                                                   \
    "ldr %[v], [%[pa], #(" P "*" SB ")]\n\t"                                                  \
    "smuad %[" A "], %[wa], %[v]\n\t"                                                        \
    "smuad %[" B "], %[wb], %[v]\n\t"
#define FS_K0(SB)                                                                             \
    "ldrd %[wa], %[wb], [%[pw]]\n\t"                                                          \
    FS_PX0("0", SB, "a0", "a1") FS_PX0("1", SB, "a2", "a3")                                   \
    FS_PX0("2", SB, "a4", "a5") FS_PX0("3", SB, "a6", "a7") "b 2f\n\t"
#define FS_ROW5(SB)                                                                           \
    FS_K0(SB) "1:\n\t" FS_K("0", SB) "2:\n\t" FS_K("1", SB) FS_K("2", SB) FS_K("3", SB)       \
    FS_K("4", SB)
#define FS_ROW8(SB) FS_ROW5(SB) FS_K("5", SB) FS_K("6", SB) FS_K("7", SB)

#define FS_TILE4(NW, STEP, BODY, PUT)                                                         \
    do {                                                                                     \
        const int16_t *a = pa;                                                               \
        const int8_t *w = pw;                                                                \
        uint32_t sc = ((uint32_t)-kh << 16) | (uint32_t)(rh * 2);                            \
        int32_t a0, a1, a2, a3, a4, a5, a6, a7, v, wa, wb;                                  \
        __asm__ volatile(BODY                                                                \
                         "add %[pw], %[pw], #" #NW "*8\n\t"                                   \
                         "uxtah %[pa], %[pa], %[sc]\n\t"                                     \
                         "adds %[sc], %[sc], #65536\n\t"                                     \
                         "bcc 1b\n\t"                                                        \
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3),   \
                           [a4] "=&r"(a4), [a5] "=&r"(a5), [a6] "=&r"(a6), [a7] "=&r"(a7),   \
                           [pa] "+r"(a), [pw] "+r"(w), [sc] "+r"(sc), [v] "=&r"(v),          \
                           [wa] "=&r"(wa), [wb] "=&r"(wb)                                    \
                         :                                                                   \
                         : "cc", "memory");                                                  \
        PUT(a0, a1, a2, a3, a4, a5, a6, a7);                                                 \
    } while (0)
#endif

/* A row's last pixels (fewer than 4), one at a time: shared by every
 * kernel width and stride, since few rows have them. */
static void fs_tail(const int16_t *pa, const int8_t *pw, int32_t kh, int32_t rh, int32_t nw,
                    int32_t step, int32_t n, int32_t *ra, int32_t *rb)
{
    for (; n > 0; n--, pa += step, ra++, rb++)
        fs_tile_dsp(pa, pw, kh, rh, nw, step, 1, ra, rb);
}

/* The sums of a 4-pixel tile (channel a's s0, s2, s4, s6, channel b's s1,
 * s3, s5, s7): requantized and stored when the pair is fused, else kept. */
#define FS_PUT(s0, s1, s2, s3, s4, s5, s6, s7)                                               \
    do {                                                                                     \
        if (fz) {                                                                            \
            fs_put4(&f.a, f.lo4, f.hi4, s0, s2, s4, s6, da + x);                             \
            fs_put4(&f.b, f.lo4, f.hi4, s1, s3, s5, s7, db + x);                             \
        } else {                                                                             \
            ra[x] = s0, ra[x + 1] = s2, ra[x + 2] = s4, ra[x + 3] = s6;                      \
            rb[x] = s1, rb[x + 1] = s3, rb[x + 2] = s5, rb[x + 3] = s7;                      \
        }                                                                                    \
    } while (0)

/*
 * A run of n pixels for one (kw, stride) (nw words a kernel row, step
 * halfwords between pixels): tiles of 4, then the last n % 4.  With fz,
 * the tiles of 4 requantize their sums into da and db (channels a and b)
 * and the function returns how many pixels it stored; the others' sums go
 * to ra and rb at their pixel.  With np > 1 (fz given and n a multiple of
 * 4: nothing is left in ra and rb), np channel pairs one after the other:
 * pair j's weights at pw + j * wstep, fusion constants fz[j] and outputs
 * at da, db + j * ostep, in one call.
 */
#define FS_TILES(NAME, NW, STEP, BODY)                                                        \
    static int32_t NAME(const int16_t *pa0, const int8_t *pw, int32_t kh, int32_t rh,        \
                        int32_t n, int32_t *ra, int32_t *rb, const FsFuse *fz, int8_t *da,   \
                        int8_t *db, int32_t np, int32_t wstep, int32_t ostep)                \
    {                                                                                        \
        int32_t j;                                                                           \
        for (j = 0; j < np; j++, pw += wstep, da += ostep, db += ostep) {                    \
            const int32_t n4 = n & ~3;                                                       \
            int32_t x;                                                                       \
            FsFuse f;                                                                        \
            if (fz)                                                                          \
                f = fz[j];                                                                   \
            else                                                                             \
                __builtin_memset(&f, 0, sizeof f);                                           \
            for (x = 0; x < n4; x += 4) {                                                    \
                const int16_t *pa;                                                           \
                __asm__("" : "+r"(x)); /* only x lives across tiles: no spilled pointers */  \
                pa = pa0 + x * STEP;                                                         \
                FS_TILE4(NW, STEP, BODY, FS_PUT);                                            \
            }                                                                                \
            fs_tail(pa0 + n4 * STEP, pw, kh, rh, NW, STEP, n - n4, ra + n4, rb + n4);        \
        }                                                                                    \
        return fz ? n & ~3 : 0;                                                              \
    }

FS_TILES(fs_tiles_k3s1, 5, 3, FS_ROW5("6"))
FS_TILES(fs_tiles_k3s2, 5, 6, FS_ROW5("12"))
FS_TILES(fs_tiles_k5s1, 8, 3, FS_ROW8("6"))
FS_TILES(fs_tiles_k5s2, 8, 6, FS_ROW8("12"))

typedef int32_t FsTilesFn(const int16_t *pa, const int8_t *pw, int32_t kh, int32_t rh,
                          int32_t n, int32_t *ra, int32_t *rb, const FsFuse *fz, int8_t *da,
                          int8_t *db, int32_t np, int32_t wstep, int32_t ostep);
#endif

/* n pixels of a channel pair, portable (and the DSP path's other shapes). */
static void fs_tiles_any(const FsCtx *c, const int16_t *pa, const int8_t *pw, int32_t n,
                         int32_t *ra, int32_t *rb)
{
    const int32_t kh = c->q->g.kernel_h, nh = 2 * c->nw;
    int32_t p, r, t;
    for (p = 0; p < n; p++) {
        const int16_t *s = pa + p * c->step;
        const int8_t *w = pw;
        uint32_t a = 0, b = 0;
        for (r = 0; r < kh; r++, s += c->rh)
            for (t = 0; t < nh; t += 2, w += 8) {
                a += (uint32_t)(fs_w16(w, 0) * s[t] + fs_w16(w, 2) * s[t + 1]);
                b += (uint32_t)(fs_w16(w, 4) * s[t] + fs_w16(w, 6) * s[t + 1]);
            }
        ra[p] = cnn_s8_add_wrap((int32_t)(a >> 1), (int32_t)(a - (a >> 1)));
        rb[p] = cnn_s8_add_wrap((int32_t)(b >> 1), (int32_t)(b - (b >> 1)));
    }
}

/* A conv whose window does not fit the buffer: each output from the input
 * and the packed weights directly. */
static void fs_slow(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
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
                            acc += (uint32_t)(fs_w16(w, cnn_conv2d_first_widx_s8(g, o, i, ky,
                                                                                 kx)) *
                                              v);
                        }
                out[(o * g->out_h + y) * g->out_w + x] =
                    cnn_s8_requant(cnn_s8_add_wrap(cnn_s8_add_wrap((int32_t)(acc >> 1),
                                                                   (int32_t)(acc - (acc >> 1))),
                                                   bias[o]),
                                   q->mult[o], q->shift[o], q->out_zp, q->act_min, q->act_max);
            }
}

void cnn_conv2d_first_s8(const CnnQConv2dParams *q, const int8_t *CNN_RESTRICT in,
                         const int8_t *CNN_RESTRICT w, const int32_t *CNN_RESTRICT bias,
                         int8_t *CNN_RESTRICT out)
{
    const CnnConv2dParams *g = &q->g;
    union {
        uint32_t align;
        int16_t h[2 * CNN_CONV_FIRST_S8_WORDS];
    } buf;
    int32_t ra[FS_RUN], rb[FS_RUN];
    int32_t o0, o, y, x0, base = 0, cap, wpair;
    const int32_t plane = g->out_h * g->out_w;
#if CNN_S8_DSP
    FsTilesFn *tiles = NULL;
    FsFuse fz[FS_EPI / 2];
    int fuse[FS_EPI / 2], all;      /* all: every pair of the group fused */
#endif
    FsEpi e;
    FsCtx c;

    if (!cnn_conv2d_first_fits_s8(g)) {
        fs_slow(q, in, w, bias, out);
        return;
    }
    c.q = q;
    c.in = in;
    c.wr = (int32_t)cnn_conv2d_cp_wr_s8(g);
    c.rh = (int32_t)cnn_conv2d_first_rh_s8(g);
    c.nw = (3 * g->kernel_w + 1) / 2;
    c.step = 3 * g->stride_w;
    cap = 2 * CNN_CONV_FIRST_S8_WORDS / c.rh;
    wpair = g->kernel_h * c.nw * 8;
#if CNN_S8_DSP
    if (g->kernel_w == 3)
        tiles = g->stride_w == 1 ? fs_tiles_k3s1 : fs_tiles_k3s2;
    else if (g->kernel_w == 5)
        tiles = g->stride_w == 1 ? fs_tiles_k5s1 : fs_tiles_k5s2;
#if !defined(__clang__) && !defined(CNN_S8_FIRST_C)
    if (((uintptr_t)w & 3) != 0)    /* the asm tile's LDRD: word-aligned weights only */
        tiles = NULL;
#endif
#endif

    for (o0 = 0; o0 < g->out_c; o0 += FS_EPI) {
        const int32_t o1 = g->out_c - o0 < FS_EPI ? g->out_c : o0 + FS_EPI;
        fs_epi_init(&e, q, bias, o0, o1 - o0);
#if CNN_S8_DSP
        for (o = o0; o + 1 < o1; o += 2)
            fuse[(o - o0) >> 1] = fs_fuse_init(&e, q, o - o0, &fz[(o - o0) >> 1]);
        if (o < o1)
            fuse[(o - o0) >> 1] = 0;
        all = tiles && g->out_w % 4 == 0;
        for (o = o0; o < o1; o += 2)
            all &= fuse[(o - o0) >> 1];
#endif
        for (y = 0; y < g->out_h; y++) {
            const int16_t *win;
            fs_window(&c, buf.h, cap, y, &base);
            win = buf.h + base * c.rh;
#if CNN_S8_DSP
            if (all) {  /* the group's pairs in one call, each stored by its tiles */
                int8_t *dst = out + o0 * plane + y * g->out_w;
                tiles(win, w + (o0 >> 1) * wpair, g->kernel_h, c.rh, g->out_w, ra, rb, fz, dst,
                      dst + plane, (o1 - o0) >> 1, wpair, 2 * plane);
                continue;
            }
#endif
            for (o = o0; o < o1; o += 2) {
                const int8_t *wp = w + (o >> 1) * wpair;
                int8_t *dst = out + o * plane + y * g->out_w;
                for (x0 = 0; x0 < g->out_w; x0 += FS_RUN) {
                    const int32_t n = g->out_w - x0 < FS_RUN ? g->out_w - x0 : FS_RUN;
                    const int16_t *pa = win + x0 * c.step;
                    int32_t x = 0;
#if CNN_S8_DSP
                    if (tiles)
                        x = tiles(pa, wp, g->kernel_h, c.rh, n, ra, rb,
                                  fuse[(o - o0) >> 1] ? &fz[(o - o0) >> 1] : NULL, dst + x0,
                                  dst + plane + x0, 1, 0, 0);
                    else
#endif
                        fs_tiles_any(&c, pa, wp, n, ra, rb);
                    if (x < n) {
                        fs_store(&e, q, bias, o0, o - o0, ra + x, n - x, dst + x0 + x);
                        if (o + 1 < o1)
                            fs_store(&e, q, bias, o0, o + 1 - o0, rb + x, n - x,
                                     dst + plane + x0 + x);
                    }
                }
            }
        }
    }
}
