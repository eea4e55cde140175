/*
 * pad.c - cnn_pad2d_f32 (F.pad, 1-D as H = 1), see cnn.h.
 *
 * Row by row: a row of the top/bottom padding is either the constant or a
 * copy of the mapped input row; inside a row the middle is a straight copy
 * and only the left/right borders go through the index map.
 */
#include "cnn.h"
#include "cnn_internal.h"

void cnn_pad2d_f32(const CnnPadParams *p, const float *CNN_RESTRICT in,
                   float *CNN_RESTRICT out)
{
    const int32_t in_w = p->in_w;
    const int32_t out_h = p->in_h + p->pad_top + p->pad_bottom;
    const int32_t out_w = in_w + p->pad_left + p->pad_right;
    const int32_t in_plane = p->in_h * in_w;
    int32_t c, y, x;

    for (c = 0; c < p->channels; c++) {
        const float *in_c = in + c * in_plane;

        for (y = 0; y < out_h; y++) {
            float *orow = out + (c * out_h + y) * out_w;
            int32_t r = y - p->pad_top;
            const float *irow;

            if (r < 0 || r >= p->in_h) {
                if (p->mode == CNN_PAD_ZEROS) {
                    for (x = 0; x < out_w; x++)
                        orow[x] = p->value;
                    continue;
                }
                r = cnn_pad_index(r, p->in_h, p->mode);
            }
            irow = in_c + r * in_w;

            for (x = 0; x < in_w; x++)
                orow[p->pad_left + x] = irow[x];
            if (p->mode == CNN_PAD_ZEROS) {
                for (x = 0; x < p->pad_left; x++)
                    orow[x] = p->value;
                for (x = p->pad_left + in_w; x < out_w; x++)
                    orow[x] = p->value;
            } else {
                for (x = 0; x < p->pad_left; x++)
                    orow[x] = irow[cnn_pad_index(x - p->pad_left, in_w, p->mode)];
                for (x = p->pad_left + in_w; x < out_w; x++)
                    orow[x] = irow[cnn_pad_index(x - p->pad_left, in_w, p->mode)];
            }
        }
    }
}
