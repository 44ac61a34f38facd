/* Reset and exception entry for every board: vector table, C runtime setup (FPU, .data,
 * .bss, constructors), stack painting, the DWT cycle counter, and a bounded heap for sbrk.
 * Symbols come from firmware/common/sections.ld.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "tb_board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SCB_CPACR REG(0xE000ED88u)
#define DEMCR REG(0xE000EDFCu)
#define DWT_CTRL REG(0xE0001000u)
#define DWT_LAR REG(0xE0001FB0u) /* lock access register: Cortex-M7 needs it unlocked; RAZ/WI where absent */

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];
extern char __heap_start[], __heap_end[];
extern void (*__preinit_array_start[])(void), (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);

int main(void);
void Reset_Handler(void);

void Default_Handler(void)
{
    for (;;) {
    }
}

void HardFault_Handler(void)
{
    for (;;) {
    }
}

void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

/* The 16 Cortex-M system vectors; the harness enables no peripheral interrupts. */
__attribute__((section(".isr_vector"), used)) void (*const tb_vectors[16])(void) = {
    (void (*)(void))__stack_top, Reset_Handler,   NMI_Handler,      HardFault_Handler,
    MemManage_Handler,           BusFault_Handler, UsageFault_Handler, 0,
    0,                           0,               0,                SVC_Handler,
    DebugMon_Handler,            0,               PendSV_Handler,   SysTick_Handler,
};

/* Fill the unused stack with the pattern tb_stack_used() (stack.c) looks for. */
static void paint_stack(void)
{
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_bottom; p < sp - 16; ++p) {
        *p = TB_STACK_PAINT;
    }
}

static void enable_cycle_counter(void)
{
    DEMCR |= 1u << 24; /* TRCENA */
    DWT_LAR = 0xC5ACCE55u;
    TB_DWT_CYCCNT = 0;
    DWT_CTRL |= 1u; /* CYCCNTENA */
}

void Reset_Handler(void)
{
    SCB_CPACR |= 0xFu << 20; /* full access to CP10/CP11 (the FPU) before any float code */
    __asm volatile("dsb\n\tisb" ::: "memory");

    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
    paint_stack();
    enable_cycle_counter();
    tb_board_init();

    for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; ++f) {
        (*f)();
    }
    for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) {
        (*f)();
    }
    main();
    for (;;) {
    }
}

/* malloc's memory: the .heap section (its size is the link-time symbol __heap_size). */
void *_sbrk(ptrdiff_t increment)
{
    static char *brk = __heap_start;
    if (increment > __heap_end - brk || increment < __heap_start - brk) {
        errno = ENOMEM;
        return (void *)-1;
    }
    char *old = brk;
    brk += increment;
    return old;
}
