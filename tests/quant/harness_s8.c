/*
 * harness_s8.c - runs one network compiled with `cnnc --int8` over int8
 * inputs: reads N x NET_INPUT_SIZE bytes from argv[1], writes N x
 * NET_OUTPUT_SIZE bytes to argv[2].  Built by tests/quant/check_int8.py with
 * -DNET_HEADER="name.h" -DNET_RUN=name_run -DNET_IN=NAME_INPUT_SIZE
 * -DNET_OUT=NAME_OUTPUT_SIZE.  With argv[3] and the generated file compiled
 * with -DCNNC_S8_TRACE=trace_s8, every step's output is written there too:
 * int32 step, int32 n, then n bytes, per step per input.
 */
#include <stdint.h>
#include <stdio.h>

#include NET_HEADER

static int8_t in_buf[NET_IN];
static int8_t out_buf[NET_OUT];
static FILE *trace_fp;

void trace_s8(int32_t step, const int8_t *out, int32_t n);
void trace_s8(int32_t step, const int8_t *out, int32_t n)
{
    if (!trace_fp)
        return;
    fwrite(&step, sizeof step, 1, trace_fp);
    fwrite(&n, sizeof n, 1, trace_fp);
    fwrite(out, 1, (size_t)n, trace_fp);
}

int main(int argc, char **argv)
{
    FILE *fi, *fo;
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: harness_s8 IN.bin OUT.bin [TRACE.bin]\n");
        return 2;
    }
    fi = fopen(argv[1], "rb");
    fo = fopen(argv[2], "wb");
    if (argc == 4)
        trace_fp = fopen(argv[3], "wb");
    if (!fi || !fo || (argc == 4 && !trace_fp)) {
        fprintf(stderr, "harness_s8: cannot open the files\n");
        return 2;
    }
    while (fread(in_buf, 1, sizeof in_buf, fi) == sizeof in_buf) {
        NET_RUN(in_buf, out_buf);
        if (fwrite(out_buf, 1, sizeof out_buf, fo) != sizeof out_buf) {
            fprintf(stderr, "harness_s8: cannot write\n");
            return 2;
        }
    }
    fclose(fi);
    if (trace_fp && fclose(trace_fp) != 0)
        return 2;
    return fclose(fo) == 0 ? 0 : 2;
}
