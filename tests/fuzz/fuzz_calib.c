/*
 * fuzz_calib.c - libFuzzer target: arbitrary bytes as a calibration file
 * (--int8 --calibrate=FILE), read for three input shapes, once under a raw
 * name and once under a .npy name; when a read succeeds, the values go
 * through the range and quantization functions the calibration feeds.
 */
#include "cnnc.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const Shape SHAPES[] = {
        { 3, { 1, 4, 4 } },
        { 2, { 2, 3, 0 } },
        { 1, { 1, 0, 0 } },
    };
    static const char *const PATHS[] = { "fuzz.bin", "fuzz.npy" };
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++)
        for (size_t p = 0; p < 2; p++) {
            Pool pool = { 0 };
            CalibSet cs;
            diag_reset();
            if (calib_load_bytes(&pool, PATHS[p], data, size, &SHAPES[s], &cs) == 0) {
                long long n = cs.n * cs.size;
                float *scratch = pool_alloc(&pool, (size_t)n * sizeof *scratch);
                ClipMethod m = { CLIP_PERCENTILE, 99.0 };
                float lo, hi;
                quant_range(cs.data, n, &m, scratch, &lo, &hi);
                QParams q = quant_activation_params(lo, hi);
                for (long long i = 0; i < n; i++)
                    (void)quant_value(cs.data[i], q);
                int8_t *w = pool_alloc(&pool, (size_t)n);
                float *scales = pool_alloc(&pool, (size_t)cs.n * sizeof *scales);
                quant_weights(cs.data, cs.n, cs.size, scales, w);
                QMultiplier qm;
                quant_multiplier((double)q.scale * scales[0] / 0.05, &qm);
                (void)quant_bias(cs.data[0], q.scale, scales[0]);
            }
            pool_free_all(&pool);
        }
    return 0;
}
