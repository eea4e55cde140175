/*
 * cnn_shape.h - the output-size arithmetic of cnnc, in one place.
 *
 * Both the compiler (shape checking, tables, memory plan) and the runtime
 * kernels include this header, so the formula that sizes a tensor and the
 * loops that fill it can never disagree.  C99, header-only, no libc.
 *
 * All arithmetic is done in long long so that a compiler checking a silly
 * model (kernel 10^9, padding 10^9) cannot overflow; callers range-check the
 * result before narrowing it.
 */
#ifndef CNN_SHAPE_H
#define CNN_SHAPE_H

/* Extent of a dilated kernel: d*(k-1)+1 input positions from first to last tap. */
static inline long long cnn_dilated_extent(long long k, long long d)
{
    return d * (k - 1) + 1;
}

/*
 * Output length along one spatial axis, as PyTorch computes it for
 * Conv{1,2}d, MaxPool, AvgPool and the min-pool built on max-pool:
 *
 *     out = floor((in + pad_lo + pad_hi - d*(k-1) - 1) / s) + 1
 *
 * With ceil_mode the division rounds up, and then the last window is dropped
 * when it would start inside the right padding only:
 *
 *     if ((out - 1) * s >= in + pad_lo) out -= 1
 *
 * Returns a value < 1 when the (dilated) kernel does not fit the padded input
 * (in floor mode; with ceil_mode a window may overhang it by less than a
 * stride, as PyTorch allows); the compiler turns that into a diagnostic, the
 * runtime never sees it.
 */
static inline long long cnn_out_size(long long in, long long k, long long s,
                                     long long pad_lo, long long pad_hi,
                                     long long d, int ceil_mode)
{
    long long span = in + pad_lo + pad_hi - cnn_dilated_extent(k, d);
    long long out;
    if (ceil_mode)
        span += s - 1;      /* a ceil_mode window may overhang the padded input */
    if (span < 0)
        return 0;
    out = span / s + 1;
    if (ceil_mode && (out - 1) * s >= in + pad_lo)
        out -= 1;
    return out;
}

/*
 * padding=same (stride 1): PyTorch pads d*(k-1) in total, the smaller half
 * before and the larger half after.
 */
static inline long long cnn_same_pad_lo(long long k, long long d)
{
    return (d * (k - 1)) / 2;
}

static inline long long cnn_same_pad_hi(long long k, long long d)
{
    return d * (k - 1) - (d * (k - 1)) / 2;
}

/* Number of elements an avg-pool window divides by when count_include_pad is
 * true: the window clipped to the padded input (PyTorch's rule), for one axis. */
static inline long long cnn_pool_window_padded(long long start, long long k,
                                               long long in, long long pad_hi)
{
    long long end = start + k;
    if (end > in + pad_hi)
        end = in + pad_hi;
    return end - start;
}

#endif /* CNN_SHAPE_H */
