/* Board support for the STM32L4R5ZI on the NUCLEO-L4R5ZI, registers from RM0432.
 *
 * Clock: 120 MHz from the PLL fed by the 4 MHz MSI (the reset clock; PLLM 1, PLLN 60, PLLR 2),
 * voltage range 1 in boost mode (PWR_CR5.R1MODE cleared), Flash 5 wait states, the ART
 * accelerator's instruction and data caches on and prefetch off (as ST's HAL configures them by
 * default), AHB and APB at 120 MHz. Going above 80 MHz the AHB runs at half speed for at least
 * 1 us first (RM0432, system clock switch in range 1 boost mode). If PLLRDY or the switch never
 * comes, the core stays on the MSI and tb_board_clock_hz() says so.
 * UART: LPUART1 on the ST-LINK virtual COM port, PG7 TX / PG8 RX (AF8; UM2179), clocked from
 * PCLK1, 115200 8N1. Port G is powered from VDDIO2, which PWR_CR2.IOSV makes valid.
 */
#include "tb_board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define RCC 0x40021000u
#define RCC_CR REG(RCC + 0x00u)
#define RCC_CFGR REG(RCC + 0x08u)
#define RCC_PLLCFGR REG(RCC + 0x0Cu)
#define RCC_AHB2ENR REG(RCC + 0x4Cu)
#define RCC_APB1ENR1 REG(RCC + 0x58u)
#define RCC_APB1ENR2 REG(RCC + 0x5Cu)
#define PWR_CR2 REG(0x40007004u)
#define PWR_SR2 REG(0x40007014u)
#define PWR_CR5 REG(0x40007080u)
#define FLASH_ACR REG(0x40022000u)

#define GPIOG 0x48001800u
#define GPIO_MODER(port) REG((port) + 0x00u)
#define GPIO_PUPDR(port) REG((port) + 0x0Cu)
#define GPIO_AFRL(port) REG((port) + 0x20u)
#define GPIO_AFRH(port) REG((port) + 0x24u)

#define LPUART1 0x40008000u
#define LPUART_CR1 REG(LPUART1 + 0x00u)
#define LPUART_BRR REG(LPUART1 + 0x0Cu)
#define LPUART_ISR REG(LPUART1 + 0x1Cu)
#define LPUART_ICR REG(LPUART1 + 0x20u)
#define LPUART_RDR REG(LPUART1 + 0x24u)
#define LPUART_TDR REG(LPUART1 + 0x28u)

enum {
    MSI_HZ = 4000000u,
    PLL_HZ = 120000000u,
    READY_POLLS = 100000u, /* > 25 ms at 4 MHz: the PLL locks within 40 us */
    ONE_US_AT_60MHZ = 60u,
    CR_PLLON = 1u << 24, CR_PLLRDY = 1u << 25,
    PLLCFGR_SRC_MSI = 1u, PLL_N = 60, PLLCFGR_REN = 1u << 24, /* PLLM 0 = /1, PLLR 0 = /2 */
    CFGR_SW = 3u, CFGR_SW_PLL = 3u, CFGR_SWS = 3u << 2, CFGR_SWS_PLL = 3u << 2,
    CFGR_HPRE = 0xFu << 4, CFGR_HPRE_DIV2 = 8u << 4,
    AHB2ENR_GPIOGEN = 1u << 6, APB1ENR1_PWREN = 1u << 28, APB1ENR2_LPUART1EN = 1u << 0,
    PWR_CR2_IOSV = 1u << 9, PWR_SR2_VOSF = 1u << 10, PWR_CR5_R1MODE = 1u << 8,
    FLASH_5WS_ICACHE_DCACHE = 5u | 1u << 9 | 1u << 10,
    LPUART_UE = 1u << 0, LPUART_RE = 1u << 2, LPUART_TE = 1u << 3,
    ISR_ORE = 1u << 3, ISR_RXNE = 1u << 5, ISR_TXE = 1u << 7,
    BAUD = 115200u,
    PIN_TX = 7, PIN_RX = 8, AF_LPUART1 = 8u,
};

static uint32_t core_hz = MSI_HZ;

static int wait_for(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t n = 0; n < READY_POLLS; ++n) {
        if ((*reg & mask) == value) {
            return 1;
        }
    }
    return 0;
}

static void clock_init(void)
{
    RCC_APB1ENR1 |= APB1ENR1_PWREN;
    (void)RCC_APB1ENR1; /* the enable takes effect after a read-back */
    PWR_CR5 &= ~(uint32_t)PWR_CR5_R1MODE; /* range 1 boost: up to 120 MHz */
    if (!wait_for(&PWR_SR2, PWR_SR2_VOSF, 0)) {
        return;
    }
    FLASH_ACR = FLASH_5WS_ICACHE_DCACHE; /* before raising the clock */

    RCC_PLLCFGR = PLLCFGR_SRC_MSI | PLL_N << 8 | PLLCFGR_REN;
    RCC_CR |= CR_PLLON;
    if (!wait_for(&RCC_CR, CR_PLLRDY, CR_PLLRDY)) {
        return;
    }
    RCC_CFGR = (RCC_CFGR & ~(uint32_t)CFGR_HPRE) | CFGR_HPRE_DIV2;
    RCC_CFGR = (RCC_CFGR & ~(uint32_t)CFGR_SW) | CFGR_SW_PLL;
    if (!wait_for(&RCC_CFGR, CFGR_SWS, CFGR_SWS_PLL)) {
        return;
    }
    for (volatile uint32_t n = 0; n < ONE_US_AT_60MHZ; ++n) {
    }
    RCC_CFGR &= ~(uint32_t)CFGR_HPRE; /* AHB /1 */
    core_hz = PLL_HZ;
}

static void uart_init(void)
{
    RCC_AHB2ENR |= AHB2ENR_GPIOGEN;
    RCC_APB1ENR2 |= APB1ENR2_LPUART1EN;
    (void)RCC_APB1ENR2;
    PWR_CR2 |= PWR_CR2_IOSV;

    GPIO_MODER(GPIOG) = (GPIO_MODER(GPIOG) & ~(3u << 2 * PIN_TX | 3u << 2 * PIN_RX)) |
                        2u << 2 * PIN_TX | 2u << 2 * PIN_RX; /* alternate function */
    GPIO_AFRL(GPIOG) = (GPIO_AFRL(GPIOG) & ~(0xFu << 28)) | AF_LPUART1 << 28;     /* PG7 */
    GPIO_AFRH(GPIOG) = (GPIO_AFRH(GPIOG) & ~0xFu) | AF_LPUART1;                   /* PG8 */
    GPIO_PUPDR(GPIOG) = (GPIO_PUPDR(GPIOG) & ~(3u << 2 * PIN_RX)) | 1u << 2 * PIN_RX; /* pull-up */

    LPUART_CR1 = 0;
    LPUART_BRR = (uint32_t)(((uint64_t)core_hz * 256u + BAUD / 2) / BAUD);
    LPUART_CR1 = LPUART_UE | LPUART_TE | LPUART_RE;
}

void tb_board_init(void)
{
    clock_init();
    uart_init();
}

uint32_t tb_board_clock_hz(void)
{
    return core_hz;
}

void tb_uart_putc(char c)
{
    while (!(LPUART_ISR & ISR_TXE)) {
    }
    LPUART_TDR = (uint8_t)c;
}

int tb_uart_getc(void)
{
    for (;;) {
        uint32_t isr = LPUART_ISR;
        if (isr & ISR_RXNE) {
            return (int)(LPUART_RDR & 0xFFu);
        }
        if (isr & ISR_ORE) {
            LPUART_ICR = ISR_ORE; /* ORECF: clear an overrun so reception continues */
        }
    }
}
