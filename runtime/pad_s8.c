/*
 * pad_s8.c - cnn_pad2d_s8, F.pad on int8 feature maps, see cnn_int8.h.
 * Each output row is the mapped (or constant) left border, one copy of the
 * input row, and the right border.
 */
#include "cnn_int8.h"
#include "cnn_internal.h"

void cnn_pad2d_s8(const CnnQPadParams *q, const int8_t *CNN_RESTRICT in,
                  int8_t *CNN_RESTRICT out)
{
    const CnnPadParams *p = &q->g;
    const int32_t out_h = p->in_h + p->pad_top + p->pad_bottom;
    const int32_t out_w = p->in_w + p->pad_left + p->pad_right;
    int32_t c, y, x;

    for (c = 0; c < p->channels; c++) {
        const int8_t *in_c = in + c * p->in_h * p->in_w;
        for (y = 0; y < out_h; y++) {
            int8_t *o = out + (c * out_h + y) * out_w;
            int32_t r = y - p->pad_top;
            const int8_t *row;
            if (r < 0 || r >= p->in_h) {
                if (p->mode == CNN_PAD_ZEROS) {
                    for (x = 0; x < out_w; x++)
                        o[x] = q->value;
                    continue;
                }
                r = cnn_pad_index(r, p->in_h, p->mode);
            }
            row = in_c + r * p->in_w;
            for (x = 0; x < p->pad_left; x++)
                o[x] = p->mode == CNN_PAD_ZEROS
                           ? q->value
                           : row[cnn_pad_index(x - p->pad_left, p->in_w, p->mode)];
            for (x = 0; x < p->in_w; x++)
                o[p->pad_left + x] = row[x];
            for (x = p->pad_left + p->in_w; x < out_w; x++)
                o[x] = p->mode == CNN_PAD_ZEROS
                           ? q->value
                           : row[cnn_pad_index(x - p->pad_left, p->in_w, p->mode)];
        }
    }
}
