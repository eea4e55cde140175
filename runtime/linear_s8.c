/*
 * linear_s8.c - cnn_linear_s8 and its reference twin, see cnn_int8.h; the
 * weights come in cnn_linear_pack_s8's layout (cnn_pack_s8.h).
 *
 * A block of 4 rows is one pass over the input: each chunk of 4 inputs
 * meets the block's 16 weights, which are adjacent, into 4 accumulators.
 * On the DSP path the input is first widened, once a call, to int16 pairs
 * (x0, x1), (x2, x3) on the stack (S8_LIN_XMAX inputs at most, else each
 * chunk's pairs are made from its word as it comes); a row's 4 weights are
 * one word whose bytes the packing ordered w0 w2 w1 w3, so SXTB16 and its
 * rotated form give the pairs (w0, w1) and (w2, w3): per row and chunk one
 * load, two SXTB16 and two SMLAD, and per two chunks one LDRD of the
 * inputs for the 4 rows (44 instructions for 32 MACs).  The packed bias
 * already holds -in_zp * sum(w), so the inputs are used raw; the
 * requantization's form is chosen once per block (cnn_s8_rq_init).
 * cnn_conv2d_whole_s8 (a window that covers the input) is this kernel.
 *
 * With Helium (CNN_S8_MVE, Cortex-M55) the input is instead copied once a
 * call with each chunk's bytes in the weights' order (x0 x2 x1 x3), and a
 * block takes four chunks a step: one VLD4 of the 64 weight bytes deals the
 * 4 rows' words to 4 vectors (row r's 16 weights for those 16 inputs), one
 * VLDRB loads the 16 inputs, and one VMLADAVA a row adds its 16 products
 * (10 instructions for 64 MACs).  The last one to three chunks take a
 * 4-lane VMLADAVA a row on bytes widened to int32 by their loads.
 */
#include <stddef.h>

#include "cnn_int8.h"
#include "cnn_internal_s8.h"
#include "cnn_pack_s8.h"

/* sum_i w[i] * x[i] over n inputs, both contiguous. */
static int32_t s8_dot(const int8_t *CNN_RESTRICT w, const int8_t *CNN_RESTRICT x, int32_t n)
{
    int32_t acc = 0, i = 0;
#if CNN_S8_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t xw = cnn_s8_ld32(x + i), ww = cnn_s8_ld32(w + i);
        acc = cnn_s8_smlad(cnn_s8_lo16x2(ww), cnn_s8_lo16x2(xw), acc);
        acc = cnn_s8_smlad(cnn_s8_hi16x2(ww), cnn_s8_hi16x2(xw), acc);
    }
#endif
    for (; i < n; i++)
        acc += w[i] * x[i];
    return acc;
}

#if CNN_S8_DSP
/* Inputs widened once a call to int16 pairs on the stack (xw[k] = (x[2k],
 * x[2k+1])), when there are at most this many; more take the pairs from
 * each chunk's word as they come (two PKH more a chunk). */
#define S8_LIN_XMAX 512
#endif

#if CNN_S8_MVE
/* x[0..body) (body a multiple of 4) with each chunk's bytes in the order of
 * the packed rows' words, x0 x2 x1 x3 (CNN_LINEAR_S8_BYTE): 16 a gather. */
static void s8_permute(const int8_t *CNN_RESTRICT x, int32_t body, int8_t *CNN_RESTRICT xp)
{
    static const uint8_t order[16] = {0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15};
    const uint8x16_t off = vldrbq_u8(order);
    int32_t i;
    for (i = 0; i + 16 <= body; i += 16)
        vstrbq_s8(xp + i, vldrbq_gather_offset_s8(x + i, off));
    for (; i < body; i += 4) {
        xp[i] = x[i];
        xp[i + 1] = x[i + 2];
        xp[i + 2] = x[i + 1];
        xp[i + 3] = x[i + 3];
    }
}
#elif CNN_S8_DSP
/* x[0..body) (body a multiple of 4) as int16 pairs. */
static void s8_widen(const int8_t *CNN_RESTRICT x, int32_t body, uint32_t *CNN_RESTRICT xw)
{
    int32_t i;
    for (i = 0; i + 8 <= body; i += 8, xw += 4) {     /* two chunks a step */
        const uint32_t v = cnn_s8_ld32(x + i), u = cnn_s8_ld32(x + i + 4);
        const int32_t lo = cnn_s8_lo16x2(v), hi = cnn_s8_hi16x2(v);
        const int32_t lo2 = cnn_s8_lo16x2(u), hi2 = cnn_s8_hi16x2(u);
        xw[0] = (uint32_t)cnn_s8_pack_lo(lo, hi);
        xw[1] = (uint32_t)cnn_s8_pack_hi(lo, hi);
        xw[2] = (uint32_t)cnn_s8_pack_lo(lo2, hi2);
        xw[3] = (uint32_t)cnn_s8_pack_hi(lo2, hi2);
    }
    if (i < body) {
        const uint32_t v = cnn_s8_ld32(x + i);
        const int32_t lo = cnn_s8_lo16x2(v), hi = cnn_s8_hi16x2(v);
        xw[0] = (uint32_t)cnn_s8_pack_lo(lo, hi);
        xw[1] = (uint32_t)cnn_s8_pack_hi(lo, hi);
    }
}
#endif

#if CNN_S8_DSP
/* One row's chunk: its word (bytes w0 w2 w1 w3, cnn_pack_s8.h) against the
 * pairs (x0, x1) and (x2, x3): one load, two SXTB16, two SMLAD. */
#define S8_ROW(wp, xa, xb, acc)                                   \
    do {                                                          \
        const uint32_t ww_ = cnn_s8_ld32(wp);                     \
        acc = cnn_s8_smlad(cnn_s8_lo16x2(ww_), xa, acc);          \
        acc = cnn_s8_smlad(cnn_s8_hi16x2(ww_), xb, acc);          \
    } while (0)
/* The same in the asm block: the word in t, u a scratch register. */
#define S8_ASM_ROW(a, xa, xb)                                   \
    "sxtb16 %[u], %[t]\n\t"                                    \
    "smlad %[" a "], %[u], %[" xa "], %[" a "]\n\t"            \
    "sxtb16 %[u], %[t], ror #8\n\t"                            \
    "smlad %[" a "], %[u], %[" xb "], %[" a "]\n\t"
/* One chunk of a block on the aligned path: its two input pairs by one
 * LDRD, the 4 rows' words by one LDM (18 instructions for 16 MACs). */
#define S8_ASM_CHUNK4                                               \
    "ldrd %[x0], %[x1], [%[xw]], #8\n\t"                           \
    "ldm %[w]!, {%[t0], %[t1], %[t2], %[t3]}\n\t"                  \
    S8_ASM_ROW2("a0", "t0") S8_ASM_ROW2("a1", "t1")                 \
    S8_ASM_ROW2("a2", "t2") S8_ASM_ROW2("a3", "t3")
#define S8_ASM_ROW2(a, t)                                           \
    "sxtb16 %[u], %[" t "]\n\t"                                    \
    "smlad %[" a "], %[u], %[x0], %[" a "]\n\t"                    \
    "sxtb16 %[u], %[" t "], ror #8\n\t"                            \
    "smlad %[" a "], %[u], %[x1], %[" a "]\n\t"
#define S8_CHUNK(w, xa, xb)             \
    do {                                \
        S8_ROW(w, xa, xb, a0);          \
        S8_ROW((w) + 4, xa, xb, a1);    \
        S8_ROW((w) + 8, xa, xb, a2);    \
        S8_ROW((w) + 12, xa, xb, a3);   \
    } while (0)
#endif

/* Rows o..o+3 of a packed block w: acc[r] = sum_i w[o + r][i] * x[i].  On
 * the DSP path xw holds x widened (s8_widen) or is NULL; two chunks a step. */
static inline void s8_block4(const int8_t *CNN_RESTRICT w, const int8_t *CNN_RESTRICT x,
                             const uint32_t *CNN_RESTRICT xw, int32_t n, int32_t acc[4])
{
    const int32_t body = n - n % CNN_LINEAR_S8_CHUNK;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, i = 0;

#if CNN_S8_MVE
    if (xw) {
        /* xw holds x permuted (s8_permute): every chunk here */
        const int8_t *CNN_RESTRICT xp = (const int8_t *)(const void *)xw;
        if (((uintptr_t)(const void *)w & 3) == 0) {    /* VLD4.32 wants words */
            for (; i + 16 <= body; i += 16, w += 64) {
                const int8x16_t xv = vldrbq_s8(xp + i);
                const int32x4x4_t q = vld4q_s32((const int32_t *)(const void *)w);
                a0 = vmladavaq_s8(a0, vreinterpretq_s8_s32(q.val[0]), xv);
                a1 = vmladavaq_s8(a1, vreinterpretq_s8_s32(q.val[1]), xv);
                a2 = vmladavaq_s8(a2, vreinterpretq_s8_s32(q.val[2]), xv);
                a3 = vmladavaq_s8(a3, vreinterpretq_s8_s32(q.val[3]), xv);
            }
        }
        for (; i < body; i += 4, w += 16) {
            /* one chunk: its 4 inputs and each row's 4 weights widened to
             * int32 lanes (VLDRB.S32), a 4-lane VMLADAVA a row */
            const int32x4_t xv = vldrbq_s32(xp + i);
            a0 = vmladavaq_s32(a0, vldrbq_s32(w), xv);
            a1 = vmladavaq_s32(a1, vldrbq_s32(w + 4), xv);
            a2 = vmladavaq_s32(a2, vldrbq_s32(w + 8), xv);
            a3 = vmladavaq_s32(a3, vldrbq_s32(w + 12), xv);
        }
    }
#endif
#if CNN_S8_DSP
#if !defined(__clang__) && !defined(CNN_S8_LIN_C) && !CNN_S8_MVE
    if (xw && ((uintptr_t)(const void *)w & 3) == 0 && body >= 16) {
        /* groups of four chunks, two a step (an odd one first enters the
         * loop at its second half), each chunk one LDRD of its input pairs
         * and one LDM of the block's 4 row words (t0..t3 in ascending
         * registers, as LDM wants them); the loop's end and the odd group
         * are read from memory, so the asm keeps 13 registers */
        const int32_t groups = body / 16, odd = groups & 1;
        const uint32_t *const xend = xw + 8 * groups;
        register uint32_t t0 __asm__("r8"), t1 __asm__("r9"), t2 __asm__("r10"),
            t3 __asm__("r11");
        int32_t x0, x1, u;
        __asm__("ldr %[u], %[odd]\n\t"
                "cmp %[u], #0\n\t"
                "bne 2f\n\t"
                "1:\n\t"
                S8_ASM_CHUNK4 S8_ASM_CHUNK4 S8_ASM_CHUNK4 S8_ASM_CHUNK4
                "2:\n\t"
                S8_ASM_CHUNK4 S8_ASM_CHUNK4 S8_ASM_CHUNK4 S8_ASM_CHUNK4
                "ldr %[u], %[xend]\n\t"
                "cmp %[xw], %[u]\n\t"
                "bne 1b\n\t"
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                  [w] "+r"(w), [xw] "+r"(xw), [x0] "=&r"(x0), [x1] "=&r"(x1),
                  [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3),
                  [u] "=&r"(u)
                : [xend] "m"(xend), [odd] "m"(odd)
                : "cc", "memory");
        i = body - body % 16;
    }
#endif
    if (!xw) {
        for (; i < body; i += 4, w += 16) {
            const uint32_t v = cnn_s8_ld32(x + i);
            const int32_t lo = cnn_s8_lo16x2(v), hi = cnn_s8_hi16x2(v);
            S8_CHUNK(w, cnn_s8_pack_lo(lo, hi), cnn_s8_pack_hi(lo, hi));
        }
    } else if (i < body) {
        /* two chunks a step in one asm block: gcc's scheduling of the C
         * (all weight loads first) spills the accumulators */
        const int32_t steps = (int32_t)((uint32_t)(body - i) >> 3);
        const uint32_t *const xend = xw + 4 * steps;
        for (; xw < xend;) {
            int32_t x0, x1, t, u;
            __asm__("ldrd %[x0], %[x1], [%[xw]], #16\n\t"
                    "ldr %[t], [%[w]], #32\n\t"
                    S8_ASM_ROW("a0", "x0", "x1")
                    "ldr %[t], [%[w], #-28]\n\t"
                    S8_ASM_ROW("a1", "x0", "x1")
                    "ldr %[t], [%[w], #-24]\n\t"
                    S8_ASM_ROW("a2", "x0", "x1")
                    "ldr %[t], [%[w], #-20]\n\t"
                    S8_ASM_ROW("a3", "x0", "x1")
                    "ldrd %[x0], %[x1], [%[xw], #-8]\n\t"
                    "ldr %[t], [%[w], #-16]\n\t"
                    S8_ASM_ROW("a0", "x0", "x1")
                    "ldr %[t], [%[w], #-12]\n\t"
                    S8_ASM_ROW("a1", "x0", "x1")
                    "ldr %[t], [%[w], #-8]\n\t"
                    S8_ASM_ROW("a2", "x0", "x1")
                    "ldr %[t], [%[w], #-4]\n\t"
                    S8_ASM_ROW("a3", "x0", "x1")
                    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3),
                      [w] "+r"(w), [xw] "+r"(xw), [x0] "=&r"(x0), [x1] "=&r"(x1),
                      [t] "=&r"(t), [u] "=&r"(u)
                    :
                    : "memory");
        }
        i += 8 * steps;
        if (i < body) {
            S8_CHUNK(w, (int32_t)xw[0], (int32_t)xw[1]);
            i += 4;
            w += 16;
        }
    }
#else
    (void)xw;
    for (; i < body; i += 4, w += 16) {
        const int32_t x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        a0 += w[0] * x0 + w[2] * x1 + w[1] * x2 + w[3] * x3;
        a1 += w[4] * x0 + w[6] * x1 + w[5] * x2 + w[7] * x3;
        a2 += w[8] * x0 + w[10] * x1 + w[9] * x2 + w[11] * x3;
        a3 += w[12] * x0 + w[14] * x1 + w[13] * x2 + w[15] * x3;
    }
#endif
    for (; i < n; i++, w += 4) {
        const int32_t xi = x[i];
        a0 += w[0] * xi;
        a1 += w[1] * xi;
        a2 += w[2] * xi;
        a3 += w[3] * xi;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#if CNN_S8_DSP
/* The form every row of the blocks takes on the doubled-sum
 * requantization (cnn_internal_s8.h): CNN_S8_RQ2_ZERO or _SHIFT for all,
 * S8_LIN_MIXED when each row takes one of the two (its shift picks which),
 * with biases and sums that keep 2 (acc + bias) inside int32, else
 * CNN_S8_RQ2_NONE. */
enum { S8_LIN_MIXED = 3 };
/* -2^29 < b < 2^29 */
static inline int s8_lin_bias_ok(int32_t b)
{
    return (uint32_t)b + ((1u << 29) - 1u) < (1u << 30) - 1u;
}

static int s8_lin_form(const int32_t *bias, const int32_t *mult, const int8_t *shift,
                       int32_t out_zp, int32_t n, int32_t rows)
{
    int32_t o;
    CnnS8Rq2 c;
    int form = CNN_S8_RQ2_NONE;
    if (n >= 16384)
        return CNN_S8_RQ2_NONE;
    /* every shift 0 (the usual case), checked first four rows a word */
    for (o = 0; o + 4 <= rows; o += 4) {
        int32_t sh4;
        __builtin_memcpy(&sh4, shift + o, 4);
        if (sh4 != 0 || (mult[o] | mult[o + 1] | mult[o + 2] | mult[o + 3]) < 0 ||
            !s8_lin_bias_ok(bias[o]) || !s8_lin_bias_ok(bias[o + 1]) ||
            !s8_lin_bias_ok(bias[o + 2]) || !s8_lin_bias_ok(bias[o + 3]))
            break;
    }
    if (o == rows)
        return CNN_S8_RQ2_ZERO;
    for (o = 0; o < rows; o++) {
        const int f = cnn_s8_rq2_init(mult[o], shift[o], out_zp, &c);
        if (bias[o] >= (1 << 29) || bias[o] <= -(1 << 29) || f == CNN_S8_RQ2_NONE)
            return CNN_S8_RQ2_NONE;
        form = o == 0 || f == form ? f : S8_LIN_MIXED;
    }
    return form;
}

/* Four rows' bytes from their sums: a block's requantization, its fused
 * clamp on the four bytes at once.  The constants of cnn_s8_rq2_init, made
 * here without its checks (s8_lin_form did them): for a negative shift
 * sh + 1 = -shift and 2 off = (1 + 2 zp) << (-shift - 1). */
#define S8_LIN_RQ(r)                                                                \
    (form == CNN_S8_RQ2_ZERO || (form == S8_LIN_MIXED && shift[r] == 0)             \
         ? CNN_S8_RQ2(2 * acc[r] + 2 * bias[r], mult[r], out_zp, 0, CNN_S8_RQ2_ZERO) \
         : CNN_S8_RQ2(2 * acc[r] + 2 * bias[r], mult[r], zp21 * (1 << (-shift[r] - 1)), \
                      -shift[r], CNN_S8_RQ2_SHIFT))
static inline void s8_lin_out4(const int32_t acc[4], const int32_t *bias, const int32_t *mult,
                               const int8_t *shift, int32_t out_zp, uint32_t lo4, uint32_t hi4,
                               int8_t *out, int form)
{
    const int32_t zp21 = 1 + 2 * out_zp;
    uint32_t v = (uint32_t)S8_LIN_RQ(0);
    const int32_t v1 = S8_LIN_RQ(1), v2 = S8_LIN_RQ(2), v3 = S8_LIN_RQ(3);
    (void)zp21;
    CNN_S8_BFI(v, v1, 1);
    CNN_S8_BFI(v, v2, 2);
    CNN_S8_BFI(v, v3, 3);
    v = cnn_s8_clamp4(v, lo4, hi4);
    __builtin_memcpy(out, &v, 4);
}
#endif

/* The kernel on n inputs, rows outputs, per-row requantization. */
static void s8_linear_core(const int8_t *CNN_RESTRICT in, const int8_t *CNN_RESTRICT w,
                           const int32_t *CNN_RESTRICT bias, int8_t *CNN_RESTRICT out, int32_t n,
                           int32_t rows, const int32_t *mult, const int8_t *shift, int32_t out_zp,
                           int32_t lo, int32_t hi)
{
    const int32_t full = rows - rows % CNN_LINEAR_S8_ROWS;
    int32_t o, r;
    const uint32_t *xw = NULL;
#if CNN_S8_DSP
    uint64_t xbuf[S8_LIN_XMAX / 4];     /* 8-byte aligned: LDRD */
    const int form = s8_lin_form(bias, mult, shift, out_zp, n, full);
    const uint32_t lo4 = (uint32_t)(uint8_t)lo * 0x01010101u;
    const uint32_t hi4 = (uint32_t)(uint8_t)hi * 0x01010101u;
    if (n <= S8_LIN_XMAX && full > 0) {
#if CNN_S8_MVE
        s8_permute(in, n - n % CNN_LINEAR_S8_CHUNK, (int8_t *)(void *)xbuf);
#else
        s8_widen(in, n - n % CNN_LINEAR_S8_CHUNK, (uint32_t *)(void *)xbuf);
#endif
        xw = (const uint32_t *)(const void *)xbuf;
    }
#endif

    for (o = 0; o < full; o += 4) {
        int32_t acc[4];
        s8_block4(w + o * n, in, xw, n, acc);
#if CNN_S8_DSP
        if (form == CNN_S8_RQ2_ZERO) {
            s8_lin_out4(acc, bias + o, mult + o, shift + o, out_zp, lo4, hi4, out + o,
                        CNN_S8_RQ2_ZERO);
            continue;
        }
        if (form == CNN_S8_RQ2_SHIFT) {
            s8_lin_out4(acc, bias + o, mult + o, shift + o, out_zp, lo4, hi4, out + o,
                        CNN_S8_RQ2_SHIFT);
            continue;
        }
        if (form == S8_LIN_MIXED) {
            s8_lin_out4(acc, bias + o, mult + o, shift + o, out_zp, lo4, hi4, out + o,
                        S8_LIN_MIXED);
            continue;
        }
#endif
        for (r = 0; r < 4; r++)
            out[o + r] = cnn_s8_requant(cnn_s8_add_wrap(acc[r], bias[o + r]), mult[o + r],
                                        shift[o + r], out_zp, lo, hi);
    }
    for (; o < rows; o++)
        out[o] = cnn_s8_requant(cnn_s8_add_wrap(s8_dot(w + o * n, in, n), bias[o]), mult[o],
                                shift[o], out_zp, lo, hi);
}

void cnn_linear_s8(const CnnQLinearParams *p, const int8_t *CNN_RESTRICT in,
                   const int8_t *CNN_RESTRICT w_packed, const int32_t *CNN_RESTRICT bias_packed,
                   int8_t *CNN_RESTRICT out)
{
    s8_linear_core(in, w_packed, bias_packed, out, p->in_features, p->out_features, p->mult,
                p->shift, p->out_zp, p->act_min, p->act_max);
}

void cnn_conv2d_whole_s8(const CnnQConv2dParams *p, const int8_t *CNN_RESTRICT in,
                         const int8_t *CNN_RESTRICT w_packed,
                         const int32_t *CNN_RESTRICT bias_packed, int8_t *CNN_RESTRICT out)
{
    s8_linear_core(in, w_packed, bias_packed, out, p->g.in_c * p->g.in_h * p->g.in_w, p->g.out_c,
                p->mult, p->shift, p->out_zp, p->act_min, p->act_max);
}

void cnn_linear_ref_s8(const CnnQLinearParams *p, const int8_t *CNN_RESTRICT in,
                       const int8_t *CNN_RESTRICT weight, const int32_t *CNN_RESTRICT bias,
                       int8_t *CNN_RESTRICT out)
{
    int32_t o, i;
    for (o = 0; o < p->out_features; o++) {
        int32_t acc = 0;
        for (i = 0; i < p->in_features; i++)
            acc = cnn_s8_add_wrap(acc, (in[i] - p->in_zp) * weight[o * p->in_features + i]);
        if (bias)
            acc = cnn_s8_add_wrap(acc, bias[o]);
        out[o] = cnn_s8_requant(acc, p->mult[o], p->shift[o], p->out_zp, p->act_min,
                                p->act_max);
    }
}
