/* host_io.c - mcu_io.h on the host: the same program, printing to stdout. */
#include <stdio.h>
#include <stdlib.h>

#include "mcu_io.h"

void mcu_puts(const char *s)
{
    fputs(s, stdout);
}

void mcu_exit(int status)
{
    fflush(stdout);
    exit(status);
}
