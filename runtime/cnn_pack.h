/*
 * cnn_pack.h - the packed weight layout of cnn_conv2d_f32, in one place.
 *
 * cnnc packs every conv's weights at compile time with cnn_conv2d_pack_f32
 * (the user's safetensors stays in PyTorch's layout); the runtime tests pack
 * with the same function.  C99, header-only, no libc.
 *
 * PyTorch's layout is [out_c][icg][kh][kw] (icg = in_c/groups).  The packed
 * layout keeps every output channel's K = icg*kh*kw weights at the same place
 * as a block, but interleaves the channels of a block so that the kernel's
 * inner loop reads them in one run:
 *
 *   the ocg = out_c/groups output channels of each group are cut into blocks
 *   of width 8, 4, 2 or 1 from the group's first channel on: as many blocks of
 *   8 as fit, then at most one of 4, one of 2 and one of 1 (ocg = 6: 4 + 2;
 *   ocg = 16: 8 + 8; ocg = 1, depthwise: 1).  A block of width nb that starts
 *   at output channel o begins at float o*K, like channel o in PyTorch's
 *   layout, and holds [K][nb]: tap k = (i*kh + ky)*kw + kx of the block's
 *   channel n is at o*K + k*nb + n.
 *
 * So the packed array has exactly out_c*K floats (no zero-filled tail: every
 * block width has its own micro-kernel), a block of width 1 is PyTorch's
 * layout, and a conv whose groups all have fewer than 2 channels packs to
 * the same bytes.
 */
#ifndef CNN_PACK_H
#define CNN_PACK_H

/* The widest block: the micro-kernel's number of output channels. */
#define CNN_CONV_NR 8

/* Width of the block that starts with 'left' output channels of its group
 * still to go (left >= 1). */
static inline int cnn_conv_block_width(long long left)
{
    return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

/*
 * weight  [out_c][in_c/groups][kh][kw], PyTorch's layout
 * packed  out_c*(in_c/groups)*kh*kw floats, the layout above; must not
 *         overlap weight
 */
static inline void cnn_conv2d_pack_f32(long long out_c, long long in_c, long long groups,
                                       long long kh, long long kw, const float *weight,
                                       float *packed)
{
    const long long ocg = out_c / groups;
    const long long k_n = (in_c / groups) * kh * kw;
    long long g, j, k, n;
    int nb;

    for (g = 0; g < groups; g++)
        for (j = 0; j < ocg; j += nb) {
            const long long o = g * ocg + j;
            nb = cnn_conv_block_width(ocg - j);
            for (k = 0; k < k_n; k++)
                for (n = 0; n < nb; n++)
                    packed[o * k_n + k * nb + n] = weight[(o + n) * k_n + k];
        }
}

/*
 * The first-layer kernels (cnn_conv2d_first_*_f32, conv_first.c) read the
 * same layout with blocks of at most 4 channels: as many blocks of 4 as
 * fit, then at most one of 2 and one of 1 (out_c = 6: 4 + 2; 8: 4 + 4).  A
 * tile of 4 channels holds its sums for 4 pixels in registers; blocks of 8
 * would need a function of their own for each of those kernels, which a
 * first layer rarely uses.  groups == 1.
 */
static inline int cnn_conv_first_block_width(long long left)
{
    return left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

static inline void cnn_conv2d_first_pack_f32(long long out_c, long long in_c, long long kh,
                                             long long kw, const float *weight, float *packed)
{
    const long long k_n = in_c * kh * kw;
    long long o, k, n;
    int nb;

    for (o = 0; o < out_c; o += nb) {
        nb = cnn_conv_first_block_width(out_c - o);
        for (k = 0; k < k_n; k++)
            for (n = 0; n < nb; n++)
                packed[o * k_n + k * nb + n] = weight[(o + n) * k_n + k];
    }
}

#endif /* CNN_PACK_H */
