/*
 * quant_check.c - test driver for compiler/quant.c, runtime/cnn_quant.h and
 * compiler/calib.c.
 *
 *   quant_check arith SEED COUNT   print COUNT random cases of each function
 *                                  (and the edge cases) with cnnc's results,
 *                                  one per line, for check_quant.py to redo
 *   quant_check calib FILE SHAPE   calib_load(FILE) for an input SHAPE (1x28x28);
 *                                  print "ok N SIZE FORMAT" and every value's bits
 *
 * Floats are printed in C99 hex (%a) so nothing is lost on the way.
 * Exit status: 0 done, 1 the reader reported errors, 3 a contract broken, 2 usage.
 */
#include "cnnc.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int32_t rt_srdhm(int32_t a, int32_t b);
int32_t rt_rounding_div_pot(int32_t x, int e);
int32_t rt_mul_by_multiplier(int32_t x, int32_t m, int shift);

/* splitmix64: the same cases on every machine. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static int32_t rnd_i32(void)
{
    /* Half the time a full-range value, else one of a random bit length. */
    uint32_t u = (uint32_t)rnd();
    if (rnd() & 1)
        u >>= rnd() % 32;
    int32_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}
static double rnd_unit(void)            /* [0, 1) */
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}
static float rnd_float(void)            /* sign * [0, 1) * 2^[-30, 30], or an edge */
{
    switch (rnd() % 16) {
    case 0: return 0.0f;
    case 1: return 1e-40f;              /* subnormal */
    case 2: return -6.0f;
    case 3: return 6.0f;
    default: break;
    }
    double v = ldexp(rnd_unit(), (int)(rnd() % 61) - 30);
    return (float)((rnd() & 1) ? -v : v);
}

static const int32_t EDGES[] = {
    INT32_MIN, INT32_MIN + 1, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1, -3, -2, -1, 0,
    1, 2, 3, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, INT32_MAX - 1, INT32_MAX,
};
#define NEDGES ((int)(sizeof EDGES / sizeof EDGES[0]))

static void arith(uint64_t seed, long count)
{
    rng_state = seed;
    /* srdhm: every pair of edges, ties (odd multiples of 2^30 as products), random. */
    for (int i = 0; i < NEDGES; i++)
        for (int j = 0; j < NEDGES; j++)
            printf("srdhm %ld %ld %ld\n", (long)EDGES[i], (long)EDGES[j],
                   (long)rt_srdhm(EDGES[i], EDGES[j]));
    for (long k = 0; k < count; k++) {
        int32_t a = rnd_i32(), b = rnd_i32();
        if (k % 4 == 0) {               /* a tie: a * b = (2t + 1) * 2^30 */
            int p = (int)(rnd() % 31);
            int64_t t = (int64_t)(rnd() % ((uint64_t)1 << p));
            int64_t v = (2 * t + 1) * ((int64_t)1 << (30 - p));
            a = (int32_t)((rnd() & 1) ? -v : v);
            b = (int32_t)1 << p;
        }
        printf("srdhm %ld %ld %ld\n", (long)a, (long)b, (long)rt_srdhm(a, b));
    }
    /* rounding_div_pot: every exponent 0..31 on edges, ties and random values. */
    for (int e = 0; e <= 31; e++) {
        for (int i = 0; i < NEDGES; i++)
            printf("rdpot %ld %d %ld\n", (long)EDGES[i], e,
                   (long)rt_rounding_div_pot(EDGES[i], e));
        for (long k = 0; k < count / 32 + 4; k++) {
            int32_t x = rnd_i32();
            if (k % 3 == 0 && e > 0) {  /* a tie: x = (2t + 1) * 2^(e-1) */
                int64_t t = (int64_t)(rnd() % ((uint64_t)1 << (31 - e))) * 2 + 1;
                int64_t v = t << (e - 1);
                if (rnd() & 1)
                    v = -v;
                if (v >= INT32_MIN && v <= INT32_MAX)
                    x = (int32_t)v;
            }
            printf("rdpot %ld %d %ld\n", (long)x, e, (long)rt_rounding_div_pot(x, e));
        }
    }
    /* mul_by_multiplier: multipliers in [2^30, 2^31), shifts -31..30. */
    for (long k = 0; k < count; k++) {
        int32_t x = k % 8 == 0 ? EDGES[rnd() % NEDGES] : rnd_i32();
        int32_t m = (int32_t)((1u << 30) | ((uint32_t)rnd() & ((1u << 30) - 1)));
        if (k % 16 == 1)
            m = k % 32 == 1 ? 1 << 30 : INT32_MAX;
        int shift = (int)(rnd() % 62) - 31;
        if (k % 16 == 2)
            shift = k % 32 == 2 ? -31 : 0;
        printf("mbqm %ld %ld %d %ld\n", (long)x, (long)m, shift,
               (long)rt_mul_by_multiplier(x, m, shift));
    }
    /* quant_multiplier: reals over a wide range, and the edges of frexp. */
    static const double REALS[] = { 0.0, 1.0, 0.5, 0.25, 1e-300, 0x1p-32, 0x1p-33,
                                    0x1.fffffffp-33, 0x1.ffffffffp-1, 0x1.ffffffffp-32,
                                    0x1p30, 0x1p31, 1e30, 0x1.fffffffe8p-1, 0x1.ffffffff8p-1,
                                    0x1.00000001p-1, 0x1.00000000cp-1, 0x1.000000014p-1 };
    for (size_t i = 0; i < sizeof REALS / sizeof REALS[0]; i++) {
        QMultiplier q;
        int rc = quant_multiplier(REALS[i], &q);
        printf("mult %a %d %ld %d\n", REALS[i], rc, (long)q.multiplier, q.shift);
    }
    for (long k = 0; k < count; k++) {
        double real = ldexp(0.5 + rnd_unit() / 2, (int)(rnd() % 80) - 45);
        if (k % 8 == 0)                 /* a tie of the 31-bit rounding */
            real = ldexp((double)((1LL << 30) + (long long)(rnd() % (1LL << 30))) * 2 + 1,
                         (int)(rnd() % 40) - 72);
        QMultiplier q;
        int rc = quant_multiplier(real, &q);
        printf("mult %a %d %ld %d\n", real, rc, (long)q.multiplier, q.shift);
    }
    QMultiplier q;
    printf("multbad %d %d %d\n", quant_multiplier(-1.0, &q), quant_multiplier(NAN, &q),
           quant_multiplier(INFINITY, &q));
    /* activation parameters, values and clamps. */
    for (long k = 0; k < count; k++) {
        float lo = rnd_float(), hi = rnd_float();
        if (lo > hi) {
            float t = lo;
            lo = hi;
            hi = t;
        }
        if (k % 10 == 0)
            lo = 0.0f;
        if (k % 10 == 1)
            hi = 0.0f;
        QParams p = quant_activation_params(lo, hi);
        float x = rnd_float() * 4;
        int32_t rl, rh, sl, sh;
        quant_act_clamp(ACT_RELU, p, &rl, &rh);
        quant_act_clamp(ACT_RELU6, p, &sl, &sh);
        int32_t nl, nh;
        quant_act_clamp(ACT_SIGMOID, p, &nl, &nh);
        if (nl != -128 || nh != 127) {
            fprintf(stderr, "contract broken: an activation that is not relu clamps\n");
            exit(3);
        }
        printf("act %a %a %a %ld %a %d %ld %ld %ld %ld\n", lo, hi, p.scale, (long)p.zero_point,
               x, quant_value(x, p), (long)rl, (long)rh, (long)sl, (long)sh);
    }
    /* weights: rows of random length and magnitude (an all-zero row too). */
    for (long k = 0; k < count / 8 + 2; k++) {
        float w[9], s;
        int8_t qw[9];
        int n = 1 + (int)(rnd() % 9);
        double mag = ldexp(1.0, (int)(rnd() % 40) - 20);
        for (int i = 0; i < n; i++)
            w[i] = k == 0 ? 0.0f : (float)((rnd_unit() * 2 - 1) * mag);
        if (k % 5 == 1)
            w[0] = (float)-mag;         /* the extreme is negative */
        quant_weights(w, 1, n, &s, qw);
        printf("wq %a %d", s, n);
        for (int i = 0; i < n; i++)
            printf(" %a %d", w[i], qw[i]);
        printf("\n");
    }
    for (long k = 0; k < count; k++) {
        float b = rnd_float() * (float)(1 << (rnd() % 20));
        float si = ldexp(0.5 + rnd_unit(), -(int)(rnd() % 20)), sw = rnd_float();
        if (sw < 0)
            sw = -sw;
        printf("bias %a %a %a %ld\n", b, si, sw, (long)quant_bias(b, si, sw));
    }
    /* the weight scale tuned for the one-rounding requantization: in and
     * out scales of activations, weight scales of weights */
    for (long k = 0; k < count; k++) {
        float si = (float)ldexp(0.5 + rnd_unit(), -(int)(rnd() % 12));
        float so = (float)ldexp(0.5 + rnd_unit(), -(int)(rnd() % 8));
        float sw = (float)ldexp(0.5 + rnd_unit(), -(int)(rnd() % 14));
        printf("tune %a %a %a %a\n", sw, si, so, quant_weight_scale_tune(sw, si, so));
    }
    /* ranges: min/max and percentiles of small sets. */
    static const double PCT[] = { 100.0, 99.99, 99.0, 90.0, 75.0, 50.5 };
    for (long k = 0; k < count / 16 + 6; k++) {
        float v[64], scratch[64], lo, hi;
        int n = 1 + (int)(rnd() % 64);
        for (int i = 0; i < n; i++)
            v[i] = rnd_float();
        ClipMethod m = { k % 6 == 0 ? CLIP_MINMAX : CLIP_PERCENTILE, PCT[k % 6] };
        quant_range(v, n, &m, m.kind == CLIP_MINMAX ? NULL : scratch, &lo, &hi);
        printf("range %d %a %a %a %d", (int)m.kind, m.percentile, lo, hi, n);
        for (int i = 0; i < n; i++)
            printf(" %a", v[i]);
        printf("\n");
    }
    /* the --calibrate-clip spellings */
    static const char *const CLIPS[] = { "minmax", "percentile:99.99", "percentile:100",
                                         "percentile:50", "percentile:50.5", "percentile:",
                                         "percentile:101", "percentile:99x", "percentile:nan",
                                         "max", "" };
    for (size_t i = 0; i < sizeof CLIPS / sizeof CLIPS[0]; i++) {
        ClipMethod m = { CLIP_MINMAX, 0 };
        int rc = quant_parse_clip(CLIPS[i], &m);
        printf("clip '%s' %d %d %a\n", CLIPS[i], rc, rc == 0 ? (int)m.kind : -1,
               rc == 0 ? m.percentile : 0.0);
    }
}

static int parse_shape(const char *s, Shape *sh)
{
    memset(sh, 0, sizeof *sh);
    while (*s && sh->rank < 3) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v <= 0)
            return -1;
        sh->dims[sh->rank++] = v;
        s = *end == 'x' ? end + 1 : end;
        if (*end && *end != 'x')
            return -1;
    }
    return *s ? -1 : 0;
}

static int calib(const char *path, const char *shape)
{
    Pool pool = { 0 };
    Shape sh;
    CalibSet cs;
    if (parse_shape(shape, &sh) != 0) {
        fprintf(stderr, "quant_check: bad shape '%s'\n", shape);
        return 2;
    }
    diag_reset();
    int rc = calib_load(&pool, path, &sh, &cs);
    int status = 0;
    if (rc != 0) {
        if (cs.n != 0 || cs.data != NULL || diag_error_count() == 0) {
            fprintf(stderr, "quant_check: contract broken: failure with samples or no message\n");
            status = 3;
        } else {
            status = 1;
        }
    } else if (diag_error_count() != 0 || cs.n < 1 || cs.size != shape_elems(&sh)) {
        fprintf(stderr, "quant_check: contract broken: success with an error or no samples\n");
        status = 3;
    } else {
        printf("ok %lld %lld %s\n", cs.n, cs.size, cs.format);
        for (long long i = 0; i < cs.n * cs.size; i++) {
            uint32_t bits;
            memcpy(&bits, &cs.data[i], sizeof bits);
            printf("%08x\n", (unsigned)bits);
        }
    }
    pool_free_all(&pool);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "arith") == 0) {
        arith(strtoull(argv[2], NULL, 10), strtol(argv[3], NULL, 10));
        return fflush(stdout) == 0 ? 0 : 2;
    }
    if (argc == 4 && strcmp(argv[1], "calib") == 0)
        return calib(argv[2], argv[3]);
    fprintf(stderr, "usage: quant_check arith SEED COUNT | calib FILE SHAPE\n");
    return 2;
}
