/*
 * mcu_main.c - run one generated network on an input compiled into the image
 * and print its output so that the host can compare it bit for bit.
 *
 * The same file is built for the host (with host_io.c) and for the Cortex-M
 * images (with startup.c).  run_mcu.py generates the two headers:
 *
 *   mcu_net.h    includes the network's header and defines MCU_RUN (the
 *                network's run function), MCU_INPUT_SIZE, MCU_OUTPUT_SIZE
 *   mcu_input.h  static const float mcu_input[MCU_INPUT_SIZE] as C99 hex
 *                floats (exact)
 *
 * With MCU_INT8 (a network compiled with --int8), mcu_net.h also names the
 * network's MCU_QUANTIZE; the input is quantized with it before the first
 * run, and the int8 outputs are printed as 32-bit two's complement.
 *
 * MCU_RUNS (default 1) is how many inferences run; bench/mcu.py builds with
 * 0, 1 and 2.  Output, one line per value after a header line:
 *
 *   mcu-output N
 *   <index> <IEEE-754 bits, 8 hex digits>
 *   ...
 *   mcu-end
 *
 * mcu_mark_begin() / mcu_mark_end() bracket every inference.  They do nothing;
 * they are out-of-line so that the instruction-counting QEMU plugin can use
 * their addresses as markers (tools/qemu-insn-plugin).
 */
#include <stdint.h>
#include <string.h>

#include "mcu_io.h"
#include "mcu_net.h"
#include "mcu_input.h"

#ifndef MCU_RUNS
#define MCU_RUNS 1
#endif

/* Out of line and not removable: the plugin's markers. */
__attribute__((noinline)) void mcu_mark_begin(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((noinline)) void mcu_mark_end(void) { __asm__ volatile("" ::: "memory"); }

#ifdef MCU_INT8
static int8_t input_q[MCU_INPUT_SIZE];
static int8_t output[MCU_OUTPUT_SIZE];
#define MCU_INPUT input_q
#else
static float output[MCU_OUTPUT_SIZE];
#define MCU_INPUT mcu_input
#endif

static void put_hex(char *buf, uint32_t v)
{
    for (int i = 7; i >= 0; i--) {
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

int main(void)
{
    char line[48];
    char *p;

#ifdef MCU_INT8
    /* The int8 network's input, by its own quantize helper; the outputs start
     * as a pattern the run must overwrite (a test compares them with the host's). */
    for (unsigned long i = 0; i < MCU_INPUT_SIZE; i++)
        input_q[i] = MCU_QUANTIZE(mcu_input[i]);
    memset(output, 0x5a, sizeof output);
#else
    /* NaN, so an output the network never writes cannot pass as a number. */
    for (unsigned long i = 0; i < MCU_OUTPUT_SIZE; i++) {
        uint32_t nan_bits = 0x7fc00001u;
        memcpy(&output[i], &nan_bits, sizeof nan_bits);
    }
#endif

#if defined(MCU_SELFTEST_HANG)      /* run_mcu.py selftest: these must fail */
    for (volatile int forever = 1; forever; )
        ;
#elif defined(MCU_SELFTEST_FAULT)
    (void)*(volatile uint32_t *)0xF0000000u;   /* nothing there: a bus fault */
#endif

    for (int r = 0; r < MCU_RUNS; r++) {
        mcu_mark_begin();
        MCU_RUN(MCU_INPUT, output);
        mcu_mark_end();
    }

#if defined(MCU_SELFTEST_FLIP)
#ifdef MCU_INT8
    output[0] = (int8_t)(output[0] ^ 1);
#else
    {
        uint32_t bits;
        memcpy(&bits, &output[0], sizeof bits);
        bits ^= 1u;
        memcpy(&output[0], &bits, sizeof bits);
    }
#endif
#endif

    p = line;
    memcpy(p, "mcu-output ", 11);
    p = put_dec(p + 11, MCU_OUTPUT_SIZE);
    *p++ = '\n';
    *p = '\0';
    mcu_puts(line);
    for (unsigned long i = 0; i < MCU_OUTPUT_SIZE; i++) {
#ifdef MCU_INT8
        uint32_t bits = (uint32_t)(int32_t)output[i];
#else
        uint32_t bits;
        memcpy(&bits, &output[i], sizeof bits);
#endif
        p = put_dec(line, i);
        *p++ = ' ';
        put_hex(p, bits);
        p[8] = '\n';
        p[9] = '\0';
        mcu_puts(line);
    }
    mcu_puts("mcu-end\n");
    return 0;
}
