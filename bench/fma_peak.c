/*
 * fma_peak.c - the measured single-core peak of float32 fused multiply-adds
 * (used by bench/run.py for its "% of peak" column).
 *
 *   fma_peak [SECONDS]      prints "gflops G" and "lanes L"
 *
 * Built by run.py with -O3 -march=native -ffp-contract=fast.  CHAINS
 * independent accumulators, each a vector of LANES floats (GCC/clang vector
 * extension: the widest the target has, 16 floats under AVX-512, 8 under
 * AVX2), are updated a = a*m + c in a loop.  With enough chains every FMA
 * unit has a new independent operation each cycle, so the loop runs at the
 * core's FMA throughput: 2 flops per lane per FMA.  The best of several
 * timed runs is reported (a peak is a best case; noise only slows it).
 * m is just below 1 and c small, so the values stay normal.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__) || defined(__ARM_NEON)
#define LANES 8
#else
#define LANES 4
#endif
#define CHAINS 12      /* >= FMA latency x FMA units (4 x 2 on current x86), and with
                           m and c within the 16 vector registers of AVX2 */

typedef float vec __attribute__((vector_size(LANES * sizeof(float))));

static double now(void)
{
    struct timespec ts;
    /* CNNC_BENCH_CLOCK=cpu (run.py --clock cpu): the process's CPU time, which
     * time spent waiting for a shared machine's other jobs does not inflate */
    static int cpu = -1;
    if (cpu < 0) {
        const char *e = getenv("CNNC_BENCH_CLOCK");
        cpu = e && strcmp(e, "cpu") == 0;
    }
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds for n iterations of CHAINS vector FMAs; sink keeps the result live. */
static double run(long n, float *sink)
{
    vec a[CHAINS], m, c;
    long i;
    int k, j;
    double t0;
    for (j = 0; j < LANES; j++) {
        m[j] = 0.9999999f;
        c[j] = 1e-7f;
    }
    for (k = 0; k < CHAINS; k++)
        for (j = 0; j < LANES; j++)
            a[k][j] = (float)(k + j) * 0.01f;
    t0 = now();
    for (i = 0; i < n; i++) {
        /* written out: the compiler keeps all chains in registers */
        a[0] = a[0] * m + c; a[1] = a[1] * m + c; a[2] = a[2] * m + c; a[3] = a[3] * m + c;
        a[4] = a[4] * m + c; a[5] = a[5] * m + c; a[6] = a[6] * m + c; a[7] = a[7] * m + c;
        a[8] = a[8] * m + c; a[9] = a[9] * m + c; a[10] = a[10] * m + c; a[11] = a[11] * m + c;
    }
    t0 = now() - t0;
    for (k = 1; k < CHAINS; k++)
        a[0] += a[k];
    for (j = 0; j < LANES; j++)
        *sink += a[0][j];
    return t0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.3, best = 0.0, t;
    float sink = 0.0f;
    long n = 1 << 16;
    int r;
    while ((t = run(n, &sink)) < seconds / 5 && n < (1L << 40))
        n *= 2;
    for (r = 0; r < 5; r++) {
        double gflops = 2.0 * LANES * CHAINS * (double)n / run(n, &sink) * 1e-9;
        if (gflops > best)
            best = gflops;
    }
    printf("gflops %.1f\nlanes %d\nsink %g\n", best, LANES, (double)sink);
    return 0;
}
