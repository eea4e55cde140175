/*
 * merge_s8.c - add, concat and mul of int8 tensors, see cnn_int8.h.
 *
 * As in merge.c, each output element depends on the input elements at its
 * own index only and is written after they are read, so add and mul may run
 * in place.  cnn_add_ref_s8 is the add's element-at-a-time twin; concat and
 * mul have no faster path than their formula.
 */
#include "cnn_int8.h"

/* One input's term of the add: lifted by 2^left_shift, scaled by its
 * multiplier (|x - zp| <= 255, so the lift cannot overflow for shifts <= 23). */
static inline int32_t s8_add_term(int32_t q, int32_t zp, int32_t ls, int32_t mult, int32_t shift)
{
    return cnn_q_mul_by_multiplier((q - zp) * ((int32_t)1 << ls), mult, (int)shift);
}

void cnn_add_ref_s8(const CnnQAddParams *p, const int8_t *const *ins, int8_t *out, int32_t n)
{
    int32_t i, k;
    for (i = 0; i < n; i++) {
        int32_t acc = 0;
        for (k = 0; k < p->nin; k++)
            acc = cnn_s8_add_wrap(acc, s8_add_term(ins[k][i], p->in_zp[k], p->left_shift,
                                                p->in_mult[k], p->in_shift[k]));
        out[i] = cnn_s8_requant(acc, p->out_mult, p->out_shift, p->out_zp, p->act_min,
                                p->act_max);
    }
}

void cnn_add_s8(const CnnQAddParams *p, const int8_t *const *ins, int8_t *out, int32_t n)
{
    int32_t i;
    if (p->nin == 2) {  /* a residual: the parameters in locals, no inner loop */
        const int8_t *a = ins[0], *b = ins[1];
        const int32_t za = p->in_zp[0], zb = p->in_zp[1], ls = p->left_shift;
        const int32_t ma = p->in_mult[0], mb = p->in_mult[1];
        const int32_t sa = p->in_shift[0], sb = p->in_shift[1];
        for (i = 0; i < n; i++) {
            const int32_t acc = cnn_s8_add_wrap(s8_add_term(a[i], za, ls, ma, sa),
                                                s8_add_term(b[i], zb, ls, mb, sb));
            out[i] = cnn_s8_requant(acc, p->out_mult, p->out_shift, p->out_zp, p->act_min,
                                    p->act_max);
        }
        return;
    }
    cnn_add_ref_s8(p, ins, out, n);
}

void cnn_concat_s8(const CnnQConcatParams *p, const int8_t *const *ins, int8_t *out)
{
    int32_t k, i;
    int8_t *dst = out;

    for (k = 0; k < p->nin; k++) {
        const int8_t *src = ins[k];
        const int32_t n = p->sizes[k], zp = p->in_zp[k], m = p->mult[k], s = p->shift[k];
        if (m == ((int32_t)1 << 30) && s == 1 && zp == p->out_zp) {
            if (src != dst)     /* else the producer already wrote its slice */
                for (i = 0; i < n; i++)
                    dst[i] = src[i];
        } else {
            for (i = 0; i < n; i++)
                dst[i] = cnn_s8_requant(src[i] - zp, m, s, p->out_zp, CNN_Q_MIN, CNN_Q_MAX);
        }
        dst += n;
    }
}

void cnn_mul_s8(const CnnQMulParams *p, const int8_t *x, const int8_t *gate, int8_t *out)
{
    int32_t c, s;
    for (c = 0; c < p->channels; c++) {
        const int8_t *xc = x + c * p->spatial;
        const int8_t *gc = gate + c * p->gate_spatial;
        int8_t *yc = out + c * p->spatial;
        const int32_t gstep = p->gate_spatial == 1 ? 0 : 1;
        for (s = 0; s < p->spatial; s++)
            yc[s] = cnn_s8_requant((xc[s] - p->x_zp) * (gc[s * gstep] - p->gate_zp), p->mult,
                                   p->shift, p->out_zp, p->act_min, p->act_max);
    }
}
