/* The stack's high-water mark: how much of the pattern painted at reset (startup.c) is gone.
 * In a file of its own, below the harness: startup.c calls main(), so code the harness calls
 * must not live there. Symbols come from firmware/common/sections.ld.
 */
#include <stddef.h>
#include <stdint.h>

#include "tb_board.h"

extern uint32_t __stack_bottom[], __stack_top[];

size_t tb_stack_used(void)
{
    const uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == TB_STACK_PAINT) {
        ++p;
    }
    return (size_t)((const char *)__stack_top - (const char *)p);
}
