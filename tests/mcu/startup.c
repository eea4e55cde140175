/*
 * startup.c - bare-metal start-up for the Cortex-M images that run under
 * qemu-system-arm (mps2-an386 = M4F, mps2-an500 = M7, mps3-an547 = M55).
 *
 * newlib's rdimon start-up does not boot on these machines, so the images are
 * linked with -nostartfiles and this file instead: a vector table, a reset
 * handler (copy .data, zero .bss, enable the FPU, main, exit), and the three
 * semihosting calls the harness needs.  No newlib function is used, so the
 * image does not depend on newlib's syscalls at all (libm's expf/tanhf only).
 *
 * Semihosting: `bkpt 0xAB` with the operation in r0 and its argument in r1
 * (Arm "Semihosting for AArch32 and AArch64", v2).  qemu needs
 * -semihosting-config enable=on,target=native.
 */
#include <stdint.h>

#include "mcu_io.h"

int main(void);

/* Symbols of the linker script (mcu_sections.ld). */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_top[];

enum {
    SH_WRITE0 = 0x04,              /* write a NUL-terminated string to the console */
    SH_EXIT_EXTENDED = 0x20,       /* exit with a reason and a status */
    ADP_STOPPED_APPLICATION_EXIT = 0x20026,
    ADP_STOPPED_RUNTIME_ERROR = 0x20023,
};

static uintptr_t semihost(uintptr_t op, const void *arg)
{
    register uintptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void mcu_puts(const char *s)
{
    semihost(SH_WRITE0, s);
}

/* qemu's exit status becomes `status` (SYS_EXIT_EXTENDED's subcode). */
void mcu_exit(int status)
{
    uintptr_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)status };
    semihost(SH_EXIT_EXTENDED, block);
    for (;;)
        ;
}

/* Any fault ends the run with status 98: a test sees it as a failure, never a hang. */
static void fault_handler(void)
{
    mcu_puts("mcu: fault exception\n");
    mcu_exit(98);
}

__attribute__((noreturn)) void reset_handler(void);

/*
 * The first 16 entries (the architectural exceptions) are enough: the harness
 * enables no interrupt.  Entry 0 is the initial stack pointer.
 */
struct VectorTable {
    uint32_t *initial_sp;
    void (*handler[15])(void);
};

__attribute__((section(".vectors"), used))
static const struct VectorTable vector_table = {
    __stack_top,
    {
        reset_handler,
        fault_handler, fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler, fault_handler,
        fault_handler, fault_handler, fault_handler, fault_handler,
    },
};

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

__attribute__((noreturn)) void reset_handler(void)
{
    const uint32_t *src = __data_load;
    for (uint32_t *dst = __data_start; dst < __data_end; )
        *dst++ = *src++;
    for (uint32_t *dst = __bss_start; dst < __bss_end; )
        *dst++ = 0;
#if defined(__ARM_FP)
    /* CP10 and CP11 full access, before the first floating-point instruction. */
    SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    mcu_exit(main());
}
