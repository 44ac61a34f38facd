/* tinybench's CoreMark port (see core_portme.h): seeds, the DWT cycle counter as CoreMark's
 * clock, printf on the board's UART, and the end of a run.
 *
 * The two CYCCNT reads in start_time and stop_time are the only ones the port makes, so a
 * simulator's marks bracket exactly the timed iterations, as they bracket an inference in
 * the harness. After the report the firmware waits for UART input, which ends a simulation.
 */
#include <stdarg.h>
#include <stdio.h>

#include "coremark.h"

/* The 2K performance run's seeds (0, 0, 0x66), the iterations, and all three algorithms. */
volatile ee_s32 seed1_volatile = 0;
volatile ee_s32 seed2_volatile = 0;
volatile ee_s32 seed3_volatile = 0x66;
volatile ee_s32 seed4_volatile = ITERATIONS;
volatile ee_s32 seed5_volatile = 0;

ee_u32 default_num_contexts = 1;

static CORE_TICKS start_ticks, stop_ticks;

void start_time(void)
{
    start_ticks = TB_DWT_CYCCNT;
}

void stop_time(void)
{
    stop_ticks = TB_DWT_CYCCNT;
}

CORE_TICKS get_time(void)
{
    return stop_ticks - start_ticks;
}

secs_ret time_in_secs(CORE_TICKS ticks)
{
    return ticks / tb_board_clock_hz();
}

int ee_printf(const char *fmt, ...)
{
    char line[160];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(line, sizeof line, fmt, args);
    va_end(args);
    for (const char *c = line; *c; ++c) {
        tb_uart_putc(*c);
    }
    return n;
}

void portable_init(core_portable *p, int *argc, char *argv[])
{
    (void)argc;
    (void)argv;
    if (sizeof(ee_ptr_int) != sizeof(ee_u8 *) || sizeof(ee_u32) != 4) {
        ee_printf("ERROR! the port's ee_ptr_int or ee_u32 has the wrong size\n");
    }
    p->portable_id = 1;
}

void portable_fini(core_portable *p)
{
    p->portable_id = 0;
    (void)tb_uart_getc(); /* idle: the simulator ends the run here */
}
