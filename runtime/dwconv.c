/*
 * dwconv.c - cnn_dwconv3x3_f32, the depthwise 3x3 fast path, see cnn.h.
 *
 * One channel at a time (one function per stride 1 / 2 and relu / relu6 /
 * other activation, so those are constants inside it), one output row at a
 * time.  A row reads nr = 3 input rows, or 2 where the window reaches into
 * padding 1 at the top or bottom (those kernel rows are left out, not added
 * as zeros).  Its columns:
 *
 *   the interior, where all three taps of a kernel row are inside the input:
 *     a sliding register window runs along the row.  With stride 1 an output
 *     shares two of its three input columns with its left neighbour, with
 *     stride 2 one: each step loads only the new columns (nr or 2*nr loads
 *     per output), adds its 3*nr taps to the bias in registers, applies a
 *     relu/relu6 activation there (CnnAct's kind) and stores once.  The loop
 *     is unrolled by 3 (stride 1) or 2 (stride 2) so that the window turns
 *     by renaming registers, with no moves;
 *   the edge column that padding 1 leaves on each side: its two taps per
 *     row, unrolled, in the same function;
 *   the rest (wider padding, windows with one row inside, strides other than
 *     1 and 2) goes through dw_checked, which checks every tap.
 *
 * Each output is the bias, then the taps (ky, kx) in row-major order with the
 * padded ones left out: the order of cnn_conv2d_ref_f32, its reference twin,
 * so the two agree bit for bit (CNN_MAC: the product rounded, then the sum).
 * Other activations (leaky_relu, sigmoid, tanh) run once per channel plane.
 */
#include <stddef.h>

#include "cnn.h"
#include "cnn_internal.h"
#include "cnn_mac.h"
#include "conv_x86.h"

/* The loops over rows and taps (at most 3) must unroll for the window to
 * stay in registers; -O2 alone does not unroll them. */
#if defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define DW_INLINE static inline __attribute__((always_inline))
#define DW_UNROLL _Pragma("GCC unroll 3")
#else
#define DW_INLINE static inline
#define DW_UNROLL
#endif

/* bias + the taps of columns (A, B, C) of kernel rows [0, NR), (ky, kx) order. */
#define DW_SUM(acc, A, B, C)                                                       \
    do {                                                                           \
        int q_;                                                                    \
        acc = b;                                                                   \
        DW_UNROLL                                                                  \
        for (q_ = 0; q_ < NR; q_++) {                                              \
            acc = CNN_MAC(acc, w[q_][0], A[q_]);                                   \
            acc = CNN_MAC(acc, w[q_][1], B[q_]);                                   \
            acc = CNN_MAC(acc, w[q_][2], C[q_]);                                   \
        }                                                                          \
    } while (0)

#define DW_LOAD(V, col)                                                            \
    do {                                                                           \
        int q_;                                                                    \
        DW_UNROLL                                                                  \
        for (q_ = 0; q_ < NR; q_++)                                                \
            V[q_] = r[q_ * rs + (col)];                                            \
    } while (0)

/*
 * Output columns [lo, hi) of a row that reads NR input rows from r (row
 * stride rs) with the weights wr (NR kernel rows of three), all in the
 * interior; output lo reads columns c .. c+2.  Then, when asked, the edge
 * columns that padding 1 leaves: lo - 1 (left: its taps kx = 1, 2 read
 * columns c - S + 1, c - S + 2) and hi (right: kx = 0, 1).  The register
 * window: stride S = 1 or 2; NR, S and the activation kind are constants.
 */
DW_INLINE void dw_window(const float *CNN_RESTRICT wr, float b, const float *CNN_RESTRICT r,
                         int32_t rs, float *CNN_RESTRICT o, int32_t c, int32_t lo, int32_t hi,
                         int left, int right, const int NR, const int S, const CnnActKind kind)
{
    float w[3][3], A[3], B[3], C[3], acc;
    int32_t x = lo;
    int q;
    DW_UNROLL
    for (q = 0; q < NR; q++)
        w[q][0] = wr[q * 3], w[q][1] = wr[q * 3 + 1], w[q][2] = wr[q * 3 + 2];
    if (left) {
        acc = b;
        DW_UNROLL
        for (q = 0; q < NR; q++) {
            acc = CNN_MAC(acc, w[q][1], r[q * rs + c - S + 1]);
            acc = CNN_MAC(acc, w[q][2], r[q * rs + c - S + 2]);
        }
        o[lo - 1] = cnn_clamp_act(acc, kind);
    }
    if (hi > lo) {
        DW_LOAD(A, c);
        if (S == 1) {
            DW_LOAD(B, c + 1);
            for (; x + 3 <= hi; x += 3, c += 3) {
                DW_LOAD(C, c + 2);
                DW_SUM(acc, A, B, C);
                o[x] = cnn_clamp_act(acc, kind);
                DW_LOAD(A, c + 3);
                DW_SUM(acc, B, C, A);
                o[x + 1] = cnn_clamp_act(acc, kind);
                DW_LOAD(B, c + 4);
                DW_SUM(acc, C, A, B);
                o[x + 2] = cnn_clamp_act(acc, kind);
            }
            for (; x < hi; x++, c++) {
                DW_LOAD(C, c + 2);
                DW_SUM(acc, A, B, C);
                o[x] = cnn_clamp_act(acc, kind);
                DW_UNROLL
                for (q = 0; q < NR; q++)
                    A[q] = B[q], B[q] = C[q];
            }
        } else {
            for (; x + 2 <= hi; x += 2, c += 4) {
                DW_LOAD(B, c + 1);
                DW_LOAD(C, c + 2);
                DW_SUM(acc, A, B, C);
                o[x] = cnn_clamp_act(acc, kind);
                DW_LOAD(B, c + 3);
                DW_LOAD(A, c + 4);
                DW_SUM(acc, C, B, A);
                o[x + 1] = cnn_clamp_act(acc, kind);
            }
            if (x < hi) {
                DW_LOAD(B, c + 1);
                DW_LOAD(C, c + 2);
                DW_SUM(acc, A, B, C);
                o[x] = cnn_clamp_act(acc, kind);
                c += S;
            }
        }
    }
    if (right) {
        acc = b;
        DW_UNROLL
        for (q = 0; q < NR; q++) {
            acc = CNN_MAC(acc, w[q][0], r[q * rs + c]);
            acc = CNN_MAC(acc, w[q][1], r[q * rs + c + 1]);
        }
        o[hi] = cnn_clamp_act(acc, kind);
    }
}

/* Geometry of a call. */
typedef struct DwGeom {
    int32_t sw, sh, pad_left, pad_top;
    int32_t in_h, in_w, out_h, out_w;
    int32_t lo, hi;             /* the interior columns */
} DwGeom;

/* Output columns [x0, x1) of a row whose window starts at input row r0
 * (kernel rows outside the input left out), every tap checked: the edge
 * columns, the rows that reach into the top or bottom padding, and every
 * column of a stride other than 1 or 2.  Out of line, to keep the window's
 * functions small. */
static void dw_checked(const DwGeom *g, const float *CNN_RESTRICT in,
                       const float *CNN_RESTRICT w, float b, float *CNN_RESTRICT o,
                       int32_t r0, int32_t x0, int32_t x1)
{
    const int32_t ka = r0 < 0 ? -r0 : 0;
    const int32_t kb = r0 + 3 > g->in_h ? g->in_h - r0 : 3;
    int32_t x, ky, kx;
    for (x = x0; x < x1; x++) {
        const int32_t c0 = x * g->sw - g->pad_left;
        const int32_t ja = c0 < 0 ? -c0 : 0;
        const int32_t jb = c0 + 3 > g->in_w ? g->in_w - c0 : 3;
        float acc = b;
        for (ky = ka; ky < kb; ky++)
            for (kx = ja; kx < jb; kx++)
                acc = CNN_MAC(acc, w[ky * 3 + kx], in[(r0 + ky) * g->in_w + c0 + kx]);
        o[x] = acc;
    }
}

/* Applies a clamp kind to o[x0 .. x1) after dw_checked. */
DW_INLINE void dw_clamp(float *o, int32_t x0, int32_t x1, const CnnActKind kind)
{
    int32_t x;
    if (kind != CNN_ACT_CALL)
        for (x = x0; x < x1; x++)
            o[x] = cnn_clamp_act(o[x], kind);
}

/*
 * One channel: in its first input row, w its nine weights, out its first
 * output row.  Each row runs the window over its interior with the kernel
 * rows inside the input (3, or 2 next to padding 1 at the top or bottom),
 * and over the edge columns of padding 1; what is left (wider padding, a
 * window with one row inside) goes through dw_checked.
 */
DW_INLINE void dw_channel(const DwGeom *g, const float *CNN_RESTRICT in,
                          const float *CNN_RESTRICT w, float b, float *CNN_RESTRICT out,
                          const int S, const CnnActKind kind)
{
    const int32_t lo = g->lo, hi = g->hi, rs = g->in_w;
    /* Padding 1 on a side leaves one edge column whose taps are a pair of
     * columns inside the input. */
    const int left = lo == 1 && g->pad_left == 1 && g->in_w >= 2;
    const int right = hi == g->out_w - 1 && hi * S - g->pad_left + 2 == g->in_w;
    const int32_t x0 = lo - left, x1 = hi + right;
    const int32_t c = lo * S - g->pad_left;
    int32_t y;
    for (y = 0; y < g->out_h; y++) {
        const int32_t r0 = y * g->sh - g->pad_top;
        const int32_t ka = r0 < 0 ? -r0 : 0;
        const int32_t kb = r0 + 3 > g->in_h ? g->in_h - r0 : 3;
        float *o = out + y * g->out_w;
        if (kb - ka < 2) {
            dw_checked(g, in, w, b, o, r0, 0, g->out_w);
            dw_clamp(o, 0, g->out_w, kind);
            continue;
        }
        if (kb - ka == 3)
            dw_window(w, b, in + r0 * rs, rs, o, c, lo, hi, left, right, 3, S, kind);
        else
            dw_window(w + ka * 3, b, in + (r0 + ka) * rs, rs, o, c, lo, hi, left, right, 2, S,
                      kind);
        if (x0 > 0) {
            dw_checked(g, in, w, b, o, r0, 0, x0);
            dw_clamp(o, 0, x0, kind);
        }
        if (x1 < g->out_w) {
            dw_checked(g, in, w, b, o, r0, x1, g->out_w);
            dw_clamp(o, x1, g->out_w, kind);
        }
    }
}

#if (defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || defined(__ARM_NEON)) && \
    !defined(CNN_CONV_SCALAR_TILES)
#define DW_SCALAR 0
#else
/* Cortex-M (and the host under -DCNN_CONV_SCALAR_TILES): padding 1 at the
 * top and left takes dwm_channel below. */
#define DW_SCALAR 1
#endif

#if DW_SCALAR
/*
 * The scalar-register path for the usual depthwise geometry: padding 1 at
 * the top and left, at most 1 at the bottom and right, stride 1 or 2, every
 * output row with at least two kernel rows inside (dwm_fits).  A channel's
 * nine weights are loaded once; each row has its left edge column (taps
 * kx = 1, 2), its interior window and, when padding 1 leaves one, its right
 * edge column (kx = 0, 1) in straight-line code with no check.  With stride
 * 1 the rows whose three kernel rows are all inside go two at a time: four
 * input rows per column feed both outputs, so a column costs 4 loads for 18
 * multiply-adds.  Same order of sums as dw_window (the reference's), so the
 * same bits.
 */

/* acc = b + the taps (ky, kx), ky in [KA, KA + NR), of columns (A, B, C)
 * whose rows start at input row I0 of the window; X: 0 all three columns,
 * 1 without A (left edge), 2 without C (right edge). */
#define DWM_SUM(acc, A, B, C, I0, KA, NR, X)                                        \
    do {                                                                           \
        int q_;                                                                    \
        acc = b;                                                                   \
        DW_UNROLL                                                                  \
        for (q_ = 0; q_ < (NR); q_++) {                                            \
            if ((X) != 1)                                                          \
                acc = CNN_MAC(acc, wv[((KA) + q_) * 3], A[(I0) + q_]);             \
            acc = CNN_MAC(acc, wv[((KA) + q_) * 3 + 1], B[(I0) + q_]);             \
            if ((X) != 2)                                                          \
                acc = CNN_MAC(acc, wv[((KA) + q_) * 3 + 2], C[(I0) + q_]);         \
        }                                                                          \
    } while (0)

/* V[0 .. NI) = input column col of the window's NI rows. */
#define DWM_LOAD(V, col, NI)                                                       \
    do {                                                                           \
        int q_;                                                                    \
        DW_UNROLL                                                                  \
        for (q_ = 0; q_ < (NI); q_++)                                              \
            V[q_] = r[q_ * rs + (col)];                                            \
    } while (0)

/* NO output rows (1, or 2 with stride 1: rows y and y+1) of a window of
 * NI = NR + NO - 1 input rows starting at r, kernel rows [KA, KA + NR) per
 * output row.  Output x in [1, hi) is interior, x = 0 the left edge, x = hi
 * the right edge when right is set. */
#define DWM_OUT(A, B, C, X, x)                                                     \
    do {                                                                           \
        float acc_;                                                                \
        DWM_SUM(acc_, A, B, C, 0, KA, NR, X);                                      \
        o[x] = cnn_clamp_act(acc_, kind);                                          \
        if (NO == 2) {                                                             \
            DWM_SUM(acc_, A, B, C, 1, KA, NR, X);                                  \
            o[ow + (x)] = cnn_clamp_act(acc_, kind);                               \
        }                                                                          \
    } while (0)

DW_INLINE void dwm_rows(const float *CNN_RESTRICT wv, float b, const float *CNN_RESTRICT r,
                        int32_t rs, float *CNN_RESTRICT o, int32_t ow, int32_t hi, int right,
                        const int KA, const int NR, const int NO, const int S,
                        const CnnActKind kind)
{
    enum { NI = 4 };            /* at most NR + NO - 1 rows used */
    float A[NI], B[NI], C[NI];
    int32_t x = 1, c = S - 1;   /* output x reads columns c .. c + 2, c = x*S - 1 */
    if (S == 1) {
        /* A = column c, B = c + 1; the left edge reads them (its A is unused) */
        DWM_LOAD(A, 0, NR + NO - 1);
        DWM_LOAD(B, 1, NR + NO - 1);
        DWM_OUT(A, A, B, 1, 0);
        for (; x + 3 <= hi; x += 3, c += 3) {
            DWM_LOAD(C, c + 2, NR + NO - 1);
            DWM_OUT(A, B, C, 0, x);
            DWM_LOAD(A, c + 3, NR + NO - 1);
            DWM_OUT(B, C, A, 0, x + 1);
            DWM_LOAD(B, c + 4, NR + NO - 1);
            DWM_OUT(C, A, B, 0, x + 2);
        }
        if (x < hi) {
            DWM_LOAD(C, c + 2, NR + NO - 1);
            DWM_OUT(A, B, C, 0, x);
            x++, c++;
            if (x < hi) {
                DWM_LOAD(A, c + 2, NR + NO - 1);
                DWM_OUT(B, C, A, 0, x);
                x++, c++;
            }
        }
    } else {
        /* C = column c (column 1, which the left edge reads with column 0) */
        DWM_LOAD(B, 0, NR);
        DWM_LOAD(C, 1, NR);
        DWM_OUT(A, B, C, 1, 0);
        for (; x + 2 <= hi; x += 2, c += 4) {
            DWM_LOAD(A, c + 1, NR);
            DWM_LOAD(B, c + 2, NR);
            DWM_OUT(C, A, B, 0, x);
            DWM_LOAD(A, c + 3, NR);
            DWM_LOAD(C, c + 4, NR);
            DWM_OUT(B, A, C, 0, x + 1);
        }
        if (x < hi) {
            DWM_LOAD(A, c + 1, NR);
            DWM_LOAD(B, c + 2, NR);
            DWM_OUT(C, A, B, 0, x);
            x++, c += 2;
        }
    }
    if (right) {
        DWM_LOAD(A, c, NR + NO - 1);
        DWM_LOAD(B, c + 1, NR + NO - 1);
        DWM_OUT(A, B, C, 2, x);
    }
}

/* Whether dwm_channel takes the call (g as cnn_dwconv3x3_f32 sets it up). */
static int dwm_fits(const DwGeom *g, int S)
{
    return g->sw == S && g->sh == S && g->pad_left == 1 && g->pad_top == 1 && g->lo == 1 &&
           g->in_w >= 2 && g->in_h >= 2 &&
           (g->hi == g->out_w || (g->hi == g->out_w - 1 && g->hi * S == g->in_w - 1)) &&
           (g->out_h - 1) * S + 1 <= g->in_h;
}

/* One channel of a dwm_fits geometry. */
DW_INLINE void dwm_channel(const DwGeom *g, const float *CNN_RESTRICT in,
                           const float *CNN_RESTRICT w, float b, float *CNN_RESTRICT out,
                           const int S, const CnnActKind kind)
{
    const int32_t ow = g->out_w, hi = g->hi, rs = g->in_w, ih = g->in_h;
    const int right = hi < ow;
    float wv[9];
    int32_t y = 1;
    /* written out, so that the array becomes nine registers */
    wv[0] = w[0], wv[1] = w[1], wv[2] = w[2];
    wv[3] = w[3], wv[4] = w[4], wv[5] = w[5];
    wv[6] = w[6], wv[7] = w[7], wv[8] = w[8];
    /* row 0: kernel rows 1, 2 */
    dwm_rows(wv, b, in, rs, out, ow, hi, right, 1, 2, 1, S, kind);
    if (S == 1)
        for (; y + 2 <= g->out_h && y + 2 < ih; y += 2)
            dwm_rows(wv, b, in + (y - 1) * rs, rs, out + y * ow, ow, hi, right, 0, 3, 2, 1,
                     kind);
    for (; y < g->out_h; y++) {
        const float *r = in + (y * S - 1) * rs;
        if (y * S + 1 < ih)
            dwm_rows(wv, b, r, rs, out + y * ow, ow, hi, right, 0, 3, 1, S, kind);
        else
            dwm_rows(wv, b, r, rs, out + y * ow, ow, hi, right, 0, 2, 1, S, kind);
    }
}
#endif /* DW_SCALAR */

/* One function per (stride, activation kind) runs every channel; other
 * activations run on each channel's plane after it, by their function (a
 * depthwise plane is small and still in cache). */
typedef void DwFn(const CnnConv2dParams *p, const DwGeom *g, const float *CNN_RESTRICT in,
                  const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                  float *CNN_RESTRICT out);

DW_INLINE void dw_all(const CnnConv2dParams *p, const DwGeom *g, const float *CNN_RESTRICT in,
                      const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                      float *CNN_RESTRICT out, const int S, const CnnActKind kind)
{
    const int32_t plane = g->out_h * g->out_w, in_plane = g->in_h * g->in_w;
    int32_t c;
    for (c = 0; c < p->out_c; c++) {
        float *o = out + c * plane;
        if (S)
            dw_channel(g, in + c * in_plane, weight + c * 9, bias ? bias[c] : 0.0f, o, S, kind);
        else {
            int32_t y;
            for (y = 0; y < g->out_h; y++)
                dw_checked(g, in + c * in_plane, weight + c * 9, bias ? bias[c] : 0.0f,
                           o + y * g->out_w, y * g->sh - g->pad_top, 0, g->out_w);
        }
        if (kind == CNN_ACT_CALL && p->act.fn)
            p->act.fn(o, o, plane, p->act.slope);
    }
}

/* NAME: ALL (dw_all or dwm_all) for one (stride, kind), a DwFn of its own. */
#define DW_FN(ALL, S, KIND, NAME)                                                          \
    static void NAME(const CnnConv2dParams *p, const DwGeom *g, const float *CNN_RESTRICT in, \
                     const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,      \
                     float *CNN_RESTRICT out)                                               \
    {                                                                                      \
        ALL(p, g, in, weight, bias, out, S, KIND);                                         \
    }

DW_FN(dw_all, 1, CNN_ACT_CALL, dw_s1_none)
DW_FN(dw_all, 1, CNN_ACT_RELU, dw_s1_relu)
DW_FN(dw_all, 1, CNN_ACT_RELU6, dw_s1_relu6)
DW_FN(dw_all, 2, CNN_ACT_CALL, dw_s2_none)
DW_FN(dw_all, 2, CNN_ACT_RELU, dw_s2_relu)
DW_FN(dw_all, 2, CNN_ACT_RELU6, dw_s2_relu6)
DW_FN(dw_all, 0, CNN_ACT_CALL, dw_sn)       /* any other stride: every tap checked */

#if DW_SCALAR
/* The same for dwm_channel's geometries: one function per (stride, kind). */
DW_INLINE void dwm_all(const CnnConv2dParams *p, const DwGeom *g, const float *CNN_RESTRICT in,
                       const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                       float *CNN_RESTRICT out, const int S, const CnnActKind kind)
{
    const int32_t plane = g->out_h * g->out_w, in_plane = g->in_h * g->in_w;
    int32_t c;
    for (c = 0; c < p->out_c; c++) {
        float *o = out + c * plane;
        dwm_channel(g, in + c * in_plane, weight + c * 9, bias ? bias[c] : 0.0f, o, S, kind);
        if (kind == CNN_ACT_CALL && p->act.fn)
            p->act.fn(o, o, plane, p->act.slope);
    }
}

DW_FN(dwm_all, 1, CNN_ACT_CALL, dwm_s1_none)
DW_FN(dwm_all, 1, CNN_ACT_RELU, dwm_s1_relu)
DW_FN(dwm_all, 1, CNN_ACT_RELU6, dwm_s1_relu6)
DW_FN(dwm_all, 2, CNN_ACT_CALL, dwm_s2_none)
DW_FN(dwm_all, 2, CNN_ACT_RELU, dwm_s2_relu)
DW_FN(dwm_all, 2, CNN_ACT_RELU6, dwm_s2_relu6)

static DwFn *const dwm_fns[2][3] = {
    { dwm_s1_none, dwm_s1_relu, dwm_s1_relu6 },
    { dwm_s2_none, dwm_s2_relu, dwm_s2_relu6 },
};
#endif

static DwFn *const dw_fns[2][3] = {
    { dw_s1_none, dw_s1_relu, dw_s1_relu6 },
    { dw_s2_none, dw_s2_relu, dw_s2_relu6 },
};

void cnn_dwconv3x3_f32(const CnnConv2dParams *p, const float *CNN_RESTRICT in,
                       const float *CNN_RESTRICT weight, const float *CNN_RESTRICT bias,
                       float *CNN_RESTRICT out)
{
    const int stride = p->stride_w == 1 ? 1 : p->stride_w == 2 ? 2 : 0;
    /* The kinds applied in registers; any other activation runs after. */
    const int clamp = !stride ? 0 : p->act.kind == CNN_ACT_RELU ? 1
                                  : p->act.kind == CNN_ACT_RELU6 ? 2 : 0;
    DwGeom g;
    int32_t lo2, hi2;

#if CNN_CONV_X86
    /* x86 with AVX-512 or AVX2: conv_x86.c's depthwise tiles, which fuse
     * each multiply-add like cnn_conv2d_f32 in that build. */
    if (cnn_conv2d_x86_f32(p, in, weight, bias, out, 0, p->out_h))
        return;
#endif
    g.sw = p->stride_w, g.sh = p->stride_h, g.pad_left = p->pad_left, g.pad_top = p->pad_top;
    g.in_h = p->in_h, g.in_w = p->in_w, g.out_h = p->out_h, g.out_w = p->out_w;
    /* Interior: tap 0 (column -pad_left) and tap 2 both inside. */
    cnn_valid_range(-g.pad_left, g.sw, g.out_w, g.in_w, &g.lo, &g.hi);
    cnn_valid_range(2 - g.pad_left, g.sw, g.out_w, g.in_w, &lo2, &hi2);
    if (lo2 > g.lo)
        g.lo = lo2;
    if (hi2 < g.hi)
        g.hi = hi2;
    if (g.hi < g.lo)
        g.hi = g.lo;
#if DW_SCALAR
    if (stride && dwm_fits(&g, stride)) {
        dwm_fns[stride - 1][clamp](p, &g, in, weight, bias, out);
        return;
    }
#endif
    (stride ? dw_fns[stride - 1][clamp] : dw_sn)(p, &g, in, weight, bias, out);
}
