/* Board support for the STM32F746NG on the DISCO-F746NG, registers from RM0385.
 *
 * Clock: 216 MHz from the 25 MHz HSE crystal (PLLM 25, PLLN 432, PLLP 2, PLLQ 9), voltage
 * scale 1 with over-drive, Flash 7 wait states + ART + prefetch, AHB 216, APB1 54, APB2
 * 108 MHz. Every ready flag is polled a bounded number of times; if one never comes the
 * core stays on (or falls back to) the 16 MHz HSI and tb_board_clock_hz() says so.
 * Flags polled: RCC_CR HSERDY (bit 17) and PLLRDY (bit 25), PWR_CSR1 ODRDY (bit 16) and
 * ODSWRDY (bit 17), RCC_CFGR SWS (bits 3:2 = 0b10).
 * Caches: L1 I- and D-cache on (code runs from Flash over AXIM at 0x08000000).
 * UART: USART1 on the ST-LINK virtual COM port, PA9 TX / PB7 RX (AF7), 115200 8N1.
 */
#include "tb_board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define RCC 0x40023800u
#define RCC_CR REG(RCC + 0x00u)
#define RCC_PLLCFGR REG(RCC + 0x04u)
#define RCC_CFGR REG(RCC + 0x08u)
#define RCC_AHB1ENR REG(RCC + 0x30u)
#define RCC_APB1ENR REG(RCC + 0x40u)
#define RCC_APB2ENR REG(RCC + 0x44u)
#define PWR_CR1 REG(0x40007000u)
#define PWR_CSR1 REG(0x40007004u)
#define FLASH_ACR REG(0x40023C00u)

#define GPIOA 0x40020000u
#define GPIOB 0x40020400u
#define GPIO_MODER(port) REG((port) + 0x00u)
#define GPIO_PUPDR(port) REG((port) + 0x0Cu)
#define GPIO_AFRL(port) REG((port) + 0x20u)
#define GPIO_AFRH(port) REG((port) + 0x24u)

#define USART1 0x40011000u
#define USART_CR1 REG(USART1 + 0x00u)
#define USART_BRR REG(USART1 + 0x0Cu)
#define USART_ISR REG(USART1 + 0x1Cu)
#define USART_ICR REG(USART1 + 0x20u)
#define USART_RDR REG(USART1 + 0x24u)
#define USART_TDR REG(USART1 + 0x28u)

#define SCB_CCR REG(0xE000ED14u)
#define SCB_CCSIDR REG(0xE000ED80u)
#define SCB_CSSELR REG(0xE000ED84u)
#define SCB_ICIALLU REG(0xE000EF50u)
#define SCB_DCISW REG(0xE000EF60u)

enum {
    HSI_HZ = 16000000u,
    HSE_HZ = 25000000u,
    READY_POLLS = 100000u, /* > 25 ms at 16 MHz: HSE start-up is about 2 ms */
    CR_HSEON = 1u << 16, CR_HSERDY = 1u << 17, CR_PLLON = 1u << 24, CR_PLLRDY = 1u << 25,
    PLLCFGR_FIELDS = 0x3F << 0 | 0x1FFu << 6 | 3u << 16 | 1u << 22 | 0xFu << 24,
    PLL_M = 25, PLL_N = 432, PLL_Q = 9, PLLCFGR_SRC_HSE = 1u << 22, /* PLLP field 0 = /2 */
    CFGR_SW = 3u, CFGR_SW_PLL = 2u, CFGR_SWS = 3u << 2, CFGR_SWS_PLL = 2u << 2,
    CFGR_PRESCALERS = 0xFu << 4 | 7u << 10 | 7u << 13,
    CFGR_APB1_DIV4 = 5u << 10, CFGR_APB2_DIV2 = 4u << 13, /* HPRE 0 = AHB /1 */
    APB1ENR_PWREN = 1u << 28, APB2ENR_USART1EN = 1u << 4,
    AHB1ENR_GPIOAEN = 1u << 0, AHB1ENR_GPIOBEN = 1u << 1,
    PWR_VOS_SCALE1 = 3u << 14, PWR_ODEN = 1u << 16, PWR_ODSWEN = 1u << 17,
    PWR_ODRDY = 1u << 16, PWR_ODSWRDY = 1u << 17,
    FLASH_7WS_ART_PREFETCH = 7u | 1u << 8 | 1u << 9,
    CCR_DC = 1u << 16, CCR_IC = 1u << 17,
    USART_UE = 1u << 0, USART_RE = 1u << 2, USART_TE = 1u << 3,
    ISR_ORE = 1u << 3, ISR_RXNE = 1u << 5, ISR_TXE = 1u << 7,
    BAUD = 115200u,
};

static uint32_t core_hz = HSI_HZ;
static uint32_t apb2_hz = HSI_HZ;

static int wait_for(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t n = 0; n < READY_POLLS; ++n) {
        if ((*reg & mask) == value) {
            return 1;
        }
    }
    return 0;
}

static void barrier(void)
{
    __asm volatile("dsb\n\tisb" ::: "memory");
}

static void clock_init(void)
{
    RCC_APB1ENR |= APB1ENR_PWREN;
    (void)RCC_APB1ENR; /* the enable takes effect after a read-back */
    PWR_CR1 |= PWR_VOS_SCALE1;

    RCC_CR |= CR_HSEON;
    if (!wait_for(&RCC_CR, CR_HSERDY, CR_HSERDY)) {
        return;
    }
    RCC_PLLCFGR = (RCC_PLLCFGR & ~(uint32_t)PLLCFGR_FIELDS) | PLL_M | PLL_N << 6 | PLL_Q << 24 |
                  PLLCFGR_SRC_HSE;
    RCC_CR |= CR_PLLON;
    if (!wait_for(&RCC_CR, CR_PLLRDY, CR_PLLRDY)) {
        return;
    }
    PWR_CR1 |= PWR_ODEN;
    if (!wait_for(&PWR_CSR1, PWR_ODRDY, PWR_ODRDY)) {
        return;
    }
    PWR_CR1 |= PWR_ODSWEN;
    if (!wait_for(&PWR_CSR1, PWR_ODSWRDY, PWR_ODSWRDY)) {
        return;
    }
    FLASH_ACR = FLASH_7WS_ART_PREFETCH; /* before raising the clock */
    RCC_CFGR = (RCC_CFGR & ~(uint32_t)CFGR_PRESCALERS) | CFGR_APB1_DIV4 | CFGR_APB2_DIV2;
    RCC_CFGR = (RCC_CFGR & ~(uint32_t)CFGR_SW) | CFGR_SW_PLL;
    if (!wait_for(&RCC_CFGR, CFGR_SWS, CFGR_SWS_PLL)) {
        return;
    }
    core_hz = HSE_HZ / PLL_M * PLL_N / 2;
    apb2_hz = core_hz / 2;
}

/* ARMv7-M cache maintenance: invalidate, then enable, the Cortex-M7 L1 caches. */
static void caches_enable(void)
{
    barrier();
    SCB_ICIALLU = 0;
    barrier();
    SCB_CCR |= CCR_IC;
    barrier();

    SCB_CSSELR = 0; /* level 1 data cache */
    barrier();
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1;
    uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1;
    for (uint32_t set = 0; set < sets; ++set) {
        for (uint32_t way = 0; way < ways; ++way) {
            SCB_DCISW = set << 5 | way << 30; /* 32-byte lines, 4 ways on the M7 */
        }
    }
    barrier();
    SCB_CCR |= CCR_DC;
    barrier();
}

static void uart_init(void)
{
    RCC_AHB1ENR |= AHB1ENR_GPIOAEN | AHB1ENR_GPIOBEN;
    RCC_APB2ENR |= APB2ENR_USART1EN;
    (void)RCC_APB2ENR;

    GPIO_MODER(GPIOA) = (GPIO_MODER(GPIOA) & ~(3u << 18)) | 2u << 18; /* PA9 alternate */
    GPIO_AFRH(GPIOA) = (GPIO_AFRH(GPIOA) & ~(0xFu << 4)) | 7u << 4;   /* PA9 AF7 */
    GPIO_MODER(GPIOB) = (GPIO_MODER(GPIOB) & ~(3u << 14)) | 2u << 14; /* PB7 alternate */
    GPIO_AFRL(GPIOB) = (GPIO_AFRL(GPIOB) & ~(0xFu << 28)) | 7u << 28; /* PB7 AF7 */
    GPIO_PUPDR(GPIOB) = (GPIO_PUPDR(GPIOB) & ~(3u << 14)) | 1u << 14; /* PB7 pull-up */

    USART_CR1 = 0;
    USART_BRR = (apb2_hz + BAUD / 2) / BAUD; /* oversampling by 16 */
    USART_CR1 = USART_UE | USART_TE | USART_RE;
}

void tb_board_init(void)
{
    clock_init();
    caches_enable();
    uart_init();
}

uint32_t tb_board_clock_hz(void)
{
    return core_hz;
}

void tb_uart_putc(char c)
{
    while (!(USART_ISR & ISR_TXE)) {
    }
    USART_TDR = (uint8_t)c;
}

int tb_uart_getc(void)
{
    for (;;) {
        uint32_t isr = USART_ISR;
        if (isr & ISR_RXNE) {
            return (int)(USART_RDR & 0xFFu);
        }
        if (isr & ISR_ORE) {
            USART_ICR = ISR_ORE; /* ORECF: clear an overrun so reception continues */
        }
    }
}
