/* Board support for the nRF52840 (nRF52840-DK): 64 MHz core clock (fixed on this chip),
 * the Flash instruction cache on, and the legacy UART0 on the J-Link virtual COM port
 * (P0.06 TX, P0.08 RX) at 115200 8N1. Registers from the nRF52840 Product Specification v1.7.
 * The UART runs from the internal HFCLK source (HFINT); the crystal is not started.
 */
#include "tb_board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define NVMC_ICACHECNF REG(0x4001E540u)
#define P0_OUTSET REG(0x50000508u)
#define P0_PIN_CNF(pin) REG(0x50000700u + 4u * (pin))

#define UART0 0x40002000u
#define UART_TASKS_STARTRX REG(UART0 + 0x000u)
#define UART_TASKS_STARTTX REG(UART0 + 0x008u)
#define UART_EVENTS_RXDRDY REG(UART0 + 0x108u)
#define UART_EVENTS_TXDRDY REG(UART0 + 0x11Cu)
#define UART_ENABLE REG(UART0 + 0x500u)
#define UART_PSEL_TXD REG(UART0 + 0x50Cu)
#define UART_PSEL_RXD REG(UART0 + 0x514u)
#define UART_RXD REG(UART0 + 0x518u)
#define UART_TXD REG(UART0 + 0x51Cu)
#define UART_BAUDRATE REG(UART0 + 0x524u)
#define UART_CONFIG REG(UART0 + 0x56Cu)

enum {
    TX_PIN = 6,
    RX_PIN = 8,
    ICACHE_ENABLE = 1u,
    PIN_OUTPUT_NO_INPUT = 3u, /* DIR=output, INPUT=disconnect */
    PIN_INPUT = 0u,
    UART_ENABLE_UART = 4u,
    BAUD_115200 = 0x01D7E000u,
};

void tb_board_init(void)
{
    NVMC_ICACHECNF = ICACHE_ENABLE;

    P0_OUTSET = 1u << TX_PIN; /* idle line high before the UART takes the pin */
    P0_PIN_CNF(TX_PIN) = PIN_OUTPUT_NO_INPUT;
    P0_PIN_CNF(RX_PIN) = PIN_INPUT;

    UART_PSEL_TXD = TX_PIN;
    UART_PSEL_RXD = RX_PIN;
    UART_BAUDRATE = BAUD_115200;
    UART_CONFIG = 0; /* no parity, no flow control */
    UART_ENABLE = UART_ENABLE_UART;
    UART_EVENTS_RXDRDY = 0;
    UART_EVENTS_TXDRDY = 0;
    UART_TASKS_STARTRX = 1;
    UART_TASKS_STARTTX = 1;
}

uint32_t tb_board_clock_hz(void)
{
    return 64000000u;
}

void tb_uart_putc(char c)
{
    UART_EVENTS_TXDRDY = 0;
    UART_TXD = (uint8_t)c;
    while (!UART_EVENTS_TXDRDY) {
    }
}

int tb_uart_getc(void)
{
    while (!UART_EVENTS_RXDRDY) {
    }
    UART_EVENTS_RXDRDY = 0;
    return (int)(UART_RXD & 0xFFu);
}
