/*
 * mcu_main_s8.c - run one network compiled with `cnnc --int8` on an int8
 * input compiled into the image and print its int8 output, so that the host
 * build of the same program can be compared with the Cortex-M images byte
 * for byte (tests/quant/check_int8_mcu.py).  Built with tests/mcu/startup.c
 * for the images and tests/mcu/host_io.c for the host.
 *
 *   mcu_net_s8.h    includes the network's header, defines MCU_RUN,
 *                   MCU_INPUT_SIZE, MCU_OUTPUT_SIZE
 *   mcu_input_s8.h  static const int8_t mcu_input[MCU_INPUT_SIZE]
 *
 * Output, as tests/mcu/mcu_main.c prints it (its parser reads both):
 *
 *   mcu-output N
 *   <index> <the byte, as 8 hex digits>
 *   mcu-end
 *
 * and before it, one line per step of the network (the generated code is
 * built with -DCNNC_S8_TRACE=mcu_trace_s8): "trace <step> <FNV-1a hash of
 * the step's output bytes>", so that every intermediate tensor is compared.
 *
 * -DMCU_SELFTEST_FLIP flips the low bit of the first output: the check must
 * then fail.
 */
#include <stdint.h>
#include <string.h>

#include "mcu_io.h"
#include "mcu_net_s8.h"
#include "mcu_input_s8.h"

#ifndef MCU_RUNS
#define MCU_RUNS 1          /* inferences; counting instructions builds 1 and 2 */
#endif

static int8_t output[MCU_OUTPUT_SIZE];

static void put_hex(char *buf, uint32_t v)
{
    int i;
    for (i = 7; i >= 0; i--) {
        buf[i] = "0123456789abcdef"[v & 0xF];
        v >>= 4;
    }
}

static char *put_dec(char *buf, unsigned long v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *buf++ = tmp[--n];
    return buf;
}

void mcu_trace_s8(int32_t step, const int8_t *out, int32_t n);
void mcu_trace_s8(int32_t step, const int8_t *out, int32_t n)
{
    char line[40];
    char *p;
    uint32_t h = 2166136261u;
    int32_t i;
    for (i = 0; i < n; i++)
        h = (h ^ (uint8_t)out[i]) * 16777619u;
    memcpy(line, "trace ", 6);
    p = put_dec(line + 6, (unsigned long)step);
    *p++ = ' ';
    put_hex(p, h);
    p[8] = '\n';
    p[9] = '\0';
    mcu_puts(line);
}

int main(void)
{
    char line[48];
    char *p;
    unsigned long i;

    /* 0x55 everywhere first: an output the network never writes shows. */
    memset(output, 0x55, sizeof output);
    for (i = 0; i < MCU_RUNS; i++)
        MCU_RUN(mcu_input, output);
#if defined(MCU_SELFTEST_FLIP)
    output[0] ^= 1;
#endif
    p = line;
    memcpy(p, "mcu-output ", 11);
    p = put_dec(p + 11, MCU_OUTPUT_SIZE);
    *p++ = '\n';
    *p = '\0';
    mcu_puts(line);
    for (i = 0; i < MCU_OUTPUT_SIZE; i++) {
        p = put_dec(line, i);
        *p++ = ' ';
        put_hex(p, (uint32_t)(uint8_t)output[i]);
        p[8] = '\n';
        p[9] = '\0';
        mcu_puts(line);
    }
    mcu_puts("mcu-end\n");
    return 0;
}
