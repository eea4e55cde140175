/*
 * cnn_internal.h - helpers shared by the runtime's kernel files.
 * Not installed: generated code includes cnn.h only.
 */
#ifndef CNN_INTERNAL_H
#define CNN_INTERNAL_H

#include "cnn.h"

/*
 * The range [*lo, *hi) of t in [0, count) for which base + t*step lies in
 * [0, n), with step >= 1.  The valid taps form one contiguous run, so the
 * callers can loop over exactly that run with no bounds check inside.
 *   conv:  t = output column, base = kx*dilation - pad_left, step = stride
 *   pool:  t = kernel tap,    base = window start,          step = dilation
 */
static inline void cnn_valid_range(int32_t base, int32_t step, int32_t count,
                                   int32_t n, int32_t *lo, int32_t *hi)
{
    int32_t a = base >= 0 ? 0 : (-base + step - 1) / step;  /* first t with base + t*step >= 0 */
    int32_t b = n - 1 - base >= 0 ? (n - 1 - base) / step + 1 : 0; /* first t past n-1 */
    if (a > count)
        a = count;
    if (b > count)
        b = count;
    if (b < a)
        b = a;
    *lo = a;
    *hi = b;
}

/*
 * Where a padded index i (outside [0, n), n >= 1) reads from, for the
 * non-constant modes.  PyTorch limits reflect padding to n-1 and circular
 * padding to n; these maps keep reflecting / wrapping beyond that, so any i
 * lands in [0, n).  Only border code calls this, never an inner loop.
 */
static inline int32_t cnn_pad_index(int32_t i, int32_t n, CnnPadMode mode)
{
    switch (mode) {
    case CNN_PAD_REFLECT: {
        int32_t period = 2 * (n - 1);
        if (period == 0)
            return 0;
        i %= period;
        if (i < 0)
            i += period;
        return i < n ? i : period - i;
    }
    case CNN_PAD_CIRCULAR:
        i %= n;
        return i < 0 ? i + n : i;
    case CNN_PAD_REPLICATE:
    case CNN_PAD_ZEROS:         /* callers handle zeros themselves; clamp for safety */
    default:
        return i < 0 ? 0 : (i >= n ? n - 1 : i);
    }
}

/*
 * relu and relu6 of one value in registers, the expressions of act.c's
 * cnn_relu_f32 and cnn_relu6_f32 (NaN falls through both comparisons), for
 * the kernels that apply a CNN_ACT_RELU / CNN_ACT_RELU6 activation as the
 * sums leave their registers.  kind is a constant where they are inlined.
 */
static inline float cnn_clamp_act(float v, CnnActKind kind)
{
    if (kind == CNN_ACT_RELU || kind == CNN_ACT_RELU6)
        v = v < 0.0f ? 0.0f : v;
    if (kind == CNN_ACT_RELU6)
        v = v > 6.0f ? 6.0f : v;
    return v;
}

/*
 * Conv + pool with conv.c's tiles, on the scalar-tile path only (neither
 * x86-64 nor AArch64 / NEON, or -DCNN_CONV_SCALAR_TILES): see conv.c.  With
 * merge NULL they take the pools whose windows tile the conv output and
 * return 0, having done nothing, for the others; with a merge they take
 * every pool (the kernel sizes permitting: else 0) and hand each chunk of
 * conv sums, activation applied, to merge: tmp[n * CNN_CONV_POOL_TMP + m]
 * for channel n < nb of the block whose pooled output starts at out, conv
 * pixels (y, x + m) for m < count.  k3 / k4 / k5: kernel_w 3 / 4 / 5, as
 * cnn_conv2d_pool_k3_f32 / _k5 require (k4: cnn_conv2d_pool_f32 picks it).
 */
#if !((defined(__x86_64__) || defined(_M_X64) || defined(__aarch64__) || \
       defined(__ARM_NEON)) && !defined(CNN_CONV_SCALAR_TILES))
#define CNN_CONV_POOL_TILES 1
enum { CNN_CONV_POOL_TMP = 10 };    /* a tile's 8 pixels and one on each side */
typedef void CnnConvPoolMergeFn(void *st, const float *tmp, int32_t y, int32_t x, int32_t count,
                                int nb, float *out);
#define CNN_CONV_POOL_TILES_DECL(NAME)                                                       \
    int cnn_conv2d_pool_tiles_##NAME##_f32(const CnnConvPoolParams *p,                       \
                                           const float *CNN_RESTRICT in,                     \
                                           const float *CNN_RESTRICT weight,                 \
                                           const float *CNN_RESTRICT bias,                   \
                                           float *CNN_RESTRICT out, CnnConvPoolMergeFn *merge, \
                                           void *mst);
CNN_CONV_POOL_TILES_DECL(any)
CNN_CONV_POOL_TILES_DECL(k3)
CNN_CONV_POOL_TILES_DECL(k4)
CNN_CONV_POOL_TILES_DECL(k5)
#endif

/*
 * CNN_TILE_INLINE marks a tile function that the loops around it are built
 * for: always inlined (gcc, clang), so that its loops unroll into registers;
 * CNN_UNROLL(n) is "GCC unroll n".  Both are plain under AddressSanitizer,
 * whose instrumented copies of such loops would not fit.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CNN_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CNN_SANITIZED 1
#endif
#endif
#if defined(__GNUC__) && !defined(CNN_SANITIZED)
#define CNN_TILE_INLINE static inline __attribute__((always_inline))
#define CNN_PRAGMA(x) _Pragma(#x)
#define CNN_UNROLL(n) CNN_PRAGMA(GCC unroll n)
#else
#define CNN_TILE_INLINE static inline
#define CNN_UNROLL(n)
#endif

#endif /* CNN_INTERNAL_H */
