/*
 * stack_main_s8.c - the stack an int8 network's NAME_run really uses on a
 * Cortex-M core (tests/quant/check_int8_costs.py): paint the stack below
 * main's with a pattern, run the network once, and find the lowest word the
 * run overwrote.  Prints
 *
 *   stack-used N
 *
 * in bytes below main's stack pointer (NAME_run's frame and every kernel's
 * below it), or "stack-overflow" when the run went past the painted region.
 * Built with tests/mcu/startup.c; the same headers as mcu_main_s8.c.
 */
#include <stdint.h>
#include <string.h>

#include "mcu_io.h"
#include "mcu_net_s8.h"
#include "mcu_input_s8.h"

#define PAINT_WORDS 16384u          /* 64 KiB below main's frame */
#define PAINT_GAP 64u               /* bytes left to paint()'s own frame */
#define PAINT 0x5aa5c33cu

static int8_t output[MCU_OUTPUT_SIZE];

static uint32_t stack_pointer(void)
{
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Fills [top - 4 PAINT_WORDS, top); top is well below this frame. */
__attribute__((noinline)) static void paint(uint32_t top)
{
    volatile uint32_t *p = (volatile uint32_t *)(top - 4u * PAINT_WORDS);
    while ((uint32_t)p < top)
        *p++ = PAINT;
}

__attribute__((noinline)) static uint32_t lowest_written(uint32_t top)
{
    const volatile uint32_t *p = (const volatile uint32_t *)(top - 4u * PAINT_WORDS);
    while ((uint32_t)p < top && *p == PAINT)
        p++;
    return (uint32_t)p;
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
    char line[40];
    char *p;
    uint32_t sp = stack_pointer(), top = sp - PAINT_GAP, low;
    paint(top);
    MCU_RUN(mcu_input, output);
    low = lowest_written(top);
    if (low == top - 4u * PAINT_WORDS) {
        mcu_puts("stack-overflow\n");
        return 0;
    }
    memcpy(line, "stack-used ", 11);
    p = put_dec(line + 11, (unsigned long)(sp - low));
    *p++ = '\n';
    *p = '\0';
    mcu_puts(line);
    return 0;
}
