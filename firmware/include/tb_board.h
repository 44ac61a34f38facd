/* What the harness needs from a board and from the startup code.
 *
 * tb_board_* and tb_uart_* are implemented once per board (firmware/boards/<board>/board.c);
 * tb_stack_used by firmware/common/stack.c; the common startup code (firmware/common/startup.c)
 * paints the stack and starts the cycle counter.
 */
#ifndef TB_BOARD_H
#define TB_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Clocks, caches and the UART (115200 8N1). Called by the startup code before main(). */
void tb_board_init(void);

/* The core clock the board is actually running at, in Hz. */
uint32_t tb_board_clock_hz(void);

/* Send one byte; waits for room in the transmitter. */
void tb_uart_putc(char c);

/* Receive one byte; polls the receive status register until one arrives (no WFI). */
int tb_uart_getc(void);

/* The pattern the startup code fills the unused stack with at reset. */
#define TB_STACK_PAINT 0xA5A5A5A5u

/* Bytes of the stack touched since reset: how much of the pattern is gone (stack.c). */
size_t tb_stack_used(void);

/* The DWT cycle counter (enabled by the startup code). */
#define TB_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

#endif /* TB_BOARD_H */
