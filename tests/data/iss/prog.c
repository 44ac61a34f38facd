/* A small bare-metal program for the built-in simulator's tests.
 *
 * It starts like real firmware (vector table, .data copy, .bss zeroing, FPU and DWT enable),
 * talks over the board's UART and obeys one-letter commands read from it:
 *   w  run a deterministic workload between two DWT CYCCNT reads, print its result
 *   u  execute an undefined instruction      m  read an unmapped address
 *   h  call the fault handler                s  spin forever
 *   t  time one SysTick period (1000 cycles) with the DWT cycle counter
 * Then it polls the UART for more input, which is where the simulator stops it ("idle").
 * Built with -DUART_STM32 and -DUART_BASE=<the USART's base> or -DUART_NRF (legacy UART0).
 */
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(addr))
#define DWT_CTRL REG(0xE0001000u)
#define DWT_CYCCNT REG(0xE0001004u)
#define DEMCR REG(0xE000EDFCu)
#define CPACR REG(0xE000ED88u)
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)

#if defined(UART_STM32) /* USART1 or LPUART1: UART_BASE */
static void uart_init(void) { REG(UART_BASE + 0x0C) = 0xD; }
static void put(char c) {
    while (!(REG(UART_BASE + 0x1C) & (1u << 7))) {}
    REG(UART_BASE + 0x28) = (uint8_t)c;
}
static char get(void) {
    while (!(REG(UART_BASE + 0x1C) & (1u << 5))) {}
    return (char)REG(UART_BASE + 0x24);
}
#elif defined(UART_NRF)
#define UART0 0x40002000u
static void uart_init(void) {
    REG(UART0 + 0x500) = 4; /* ENABLE */
    REG(UART0 + 0x000) = 1; /* TASKS_STARTRX */
    REG(UART0 + 0x008) = 1; /* TASKS_STARTTX */
}
static void put(char c) {
    REG(UART0 + 0x11C) = 0;
    REG(UART0 + 0x51C) = (uint8_t)c;
    while (!REG(UART0 + 0x11C)) {}
}
static char get(void) {
    while (!REG(UART0 + 0x108)) {}
    REG(UART0 + 0x108) = 0;
    return (char)REG(UART0 + 0x518);
}
#else
#error "define UART_STM32 or UART_NRF"
#endif

static void puts_(const char *s) {
    while (*s) put(*s++);
}

static void put_hex(uint32_t v) {
    for (int shift = 28; shift >= 0; shift -= 4) put("0123456789abcdef"[(v >> shift) & 0xF]);
}

/* Initialised data, so the startup's copy from the load address matters. */
int8_t weights[16] = {3, -1, 4, -1, 5, -9, 2, -6, 5, 3, -5, 8, -9, 7, -9, 3};
float gain = 0.75f;
static int8_t activations[256];

static uint32_t crc32(const uint8_t *data, unsigned n) {
    uint32_t crc = 0xFFFFFFFFu;
    for (unsigned i = 0; i < n; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
    }
    return ~crc;
}

static int32_t dense(const int8_t *x, unsigned n) {
    int32_t acc = 0;
    for (unsigned i = 0; i < n; i++) acc += x[i] * weights[i % 16];
    return acc;
}

static uint32_t workload(void) {
    for (unsigned i = 0; i < sizeof activations; i++) activations[i] = (int8_t)(i * 37 + 11);
    int32_t acc = dense(activations, sizeof activations);
    float scaled = (float)acc * gain;
    for (int i = 0; i < 10; i++) scaled = scaled * 0.5f + (float)(i - 3);
    int32_t q = (int32_t)scaled;
    return crc32((const uint8_t *)activations, sizeof activations) ^ (uint32_t)q ^ (uint32_t)acc;
}

__attribute__((noinline)) void HardFault_Handler(void) {
    for (;;) {}
}

int main(void) {
    uart_init();
    DEMCR |= 1u << 24;
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;
    puts_("ready\n");
    for (;;) {
        char c = get();
        if (c == 'w') {
            uint32_t start = DWT_CYCCNT;
            uint32_t result = workload();
            uint32_t cycles = DWT_CYCCNT - start;
            puts_("result ");
            put_hex(result);
            puts_(" cycles ");
            put_hex(cycles);
            put('\n');
        } else if (c == 'u') {
            __asm volatile("udf #7");
        } else if (c == 'm') {
            put_hex(REG(0x70000000u));
        } else if (c == 'h') {
            void (*volatile handler)(void) = HardFault_Handler;
            handler();
        } else if (c == 't') {
            SYST_RVR = 999;
            SYST_CVR = 0;
            SYST_CSR = 5; /* enable, core clock */
            while (!(SYST_CSR & (1u << 16))) {}
            uint32_t start = DWT_CYCCNT;
            while (!(SYST_CSR & (1u << 16))) {}
            put_hex(DWT_CYCCNT - start);
            put('\n');
        } else if (c == 's') {
            for (volatile int i = 0;; i++) {}
        }
    }
}

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

void Reset_Handler(void) {
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
    CPACR |= 0xFu << 20;
    main();
}

__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&_estack, Reset_Handler, HardFault_Handler, HardFault_Handler,
    HardFault_Handler, HardFault_Handler, HardFault_Handler,
};
