/*
 * quant.c - the compile-time side of TensorFlow Lite's int8 scheme: ranges
 * from calibration values, scales and zero points, int8 weights, int32
 * biases, fixed-point multipliers and the clamps of fused activations.
 *
 * Rounding is round-half-away-from-zero everywhere here (TFLite's
 * TfLiteRound / std::round); the run-time side, whose rounding is fixed by the
 * integer arithmetic, is runtime/cnn_quant.h.  docs/int8.md states the scheme.
 */
#include "cnnc.h"
#include "cnn_quant.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int quant_parse_clip(const char *spec, ClipMethod *out)
{
    if (strcmp(spec, "minmax") == 0) {
        out->kind = CLIP_MINMAX;
        out->percentile = 100.0;
        return 0;
    }
    if (strncmp(spec, "percentile:", 11) != 0)
        return -1;
    const char *v = spec + 11;
    char *end;
    errno = 0;
    double p = strtod(v, &end);
    if (end == v || *end || errno || !(p > 50.0 && p <= 100.0))
        return -1;
    out->kind = CLIP_PERCENTILE;
    out->percentile = p;
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void quant_range(const float *v, long long n, const ClipMethod *m, float *scratch, float *lo,
                 float *hi)
{
    if (m->kind == CLIP_PERCENTILE && m->percentile < 100.0) {
        long long k = (long long)floor((double)n * (100.0 - m->percentile) / 100.0);
        memcpy(scratch, v, (size_t)n * sizeof *v);
        qsort(scratch, (size_t)n, sizeof *scratch, cmp_float);
        *lo = scratch[k];
        *hi = scratch[n - 1 - k];
        return;
    }
    float a = v[0], b = v[0];
    for (long long i = 1; i < n; i++) {
        if (v[i] < a)
            a = v[i];
        if (v[i] > b)
            b = v[i];
    }
    *lo = a;
    *hi = b;
}

/* round(x), ties away from zero, clamped to [lo, hi] before any conversion. */
static long long round_clamp(double x, long long lo, long long hi)
{
    if (!(x > (double)lo))
        return lo;
    if (!(x < (double)hi))
        return hi;
    return (long long)round(x);
}

QParams quant_activation_params(float lo, float hi)
{
    double rmin = lo < 0 ? lo : 0, rmax = hi > 0 ? hi : 0;
    QParams p;
    p.scale = (float)((rmax - rmin) / 255.0);
    if (!(p.scale > 0)) {
        /* An all-zero tensor (or a range below float's resolution). */
        p.scale = 1.0f;
        p.zero_point = CNN_Q_MIN;
        return p;
    }
    /* The real zero point, rounded (TFLite's GetAsymmetricQuantizationParams). */
    p.zero_point = (int32_t)round_clamp(CNN_Q_MIN - rmin / p.scale, CNN_Q_MIN, CNN_Q_MAX);
    return p;
}

int8_t quant_value(float x, QParams p)
{
    return (int8_t)round_clamp(round((double)x / p.scale) + p.zero_point, CNN_Q_MIN, CNN_Q_MAX);
}

void quant_weights(const float *w, long long out_c, long long per, float *scales, int8_t *q)
{
    for (long long c = 0; c < out_c; c++) {
        const float *row = w + c * per;
        double maxabs = 0;
        for (long long i = 0; i < per; i++)
            if (fabs(row[i]) > maxabs)
                maxabs = fabs(row[i]);
        float s = (float)(maxabs / 127.0);
        if (!(s > 0))
            s = 1.0f;       /* an all-zero row: every weight is 0 at any scale */
        scales[c] = s;
        quant_weights_row(row, per, s, q + c * per);
    }
}

float quant_weight_scale_tune(float w_scale, float in_scale, float out_scale)
{
    float best = w_scale, s = w_scale;
    double best_d = 1.0;
    for (int k = 0; k <= QUANT_WSCALE_STEPS; k++, s = nextafterf(s, INFINITY)) {
        const double m = (double)in_scale * (double)s / (double)out_scale;
        if (!(m >= QUANT_ONE_ROUNDING_MIN && m < 1.0))
            break;
        const double f = m * 2147483648.0, d = fabs(f - round(f));
        if (round(f) >= 2147483648.0)
            break;
        if (d < best_d)
            best_d = d, best = s;
    }
    return best;
}

void quant_weights_row(const float *w, long long per, float scale, int8_t *q)
{
    for (long long i = 0; i < per; i++)
        q[i] = (int8_t)round_clamp((double)w[i] / scale, -127, 127);
}

int32_t quant_bias(float b, float in_scale, float w_scale)
{
    double s = (double)in_scale * (double)w_scale;
    if (!(s > 0))
        return 0;
    return (int32_t)round_clamp((double)b / s, INT32_MIN, INT32_MAX);
}

int quant_multiplier(double real, QMultiplier *out)
{
    out->multiplier = 0;
    out->shift = 0;
    if (!(real >= 0) || isinf(real))
        return -1;
    if (real == 0)
        return 0;
    int shift;
    double frac = frexp(real, &shift);         /* real = frac * 2^shift, frac in [0.5, 1) */
    long long q = llround(frac * 2147483648.0); /* exact product; ties away from zero */
    if (q == 2147483648LL) {
        q /= 2;
        shift++;
    }
    if (shift < -31)
        return 0;                               /* below 2^-32: the product is 0 */
    if (shift > 30) {
        shift = 30;
        q = INT32_MAX;                          /* saturate: M >= 2^30 is not a scale ratio */
    }
    out->multiplier = (int32_t)q;
    out->shift = shift;
    return 0;
}

void quant_act_clamp(ActKind act, QParams out, int32_t *lo, int32_t *hi)
{
    *lo = CNN_Q_MIN;
    *hi = CNN_Q_MAX;
    if (act == ACT_RELU || act == ACT_RELU6)
        *lo = out.zero_point > CNN_Q_MIN ? out.zero_point : CNN_Q_MIN;
    if (act == ACT_RELU6) {
        int8_t six = quant_value(6.0f, out);
        *hi = six < CNN_Q_MAX ? six : CNN_Q_MAX;
    }
}
