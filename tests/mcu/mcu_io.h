/*
 * mcu_io.h - the two things the test program needs from its platform:
 * startup.c provides them on the Cortex-M images (semihosting), host_io.c
 * on the host build of the same program (stdio).
 */
#ifndef MCU_IO_H
#define MCU_IO_H

void mcu_puts(const char *s);
__attribute__((noreturn)) void mcu_exit(int status);

#endif
