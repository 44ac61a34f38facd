/* tinybench's CoreMark port: the settings CoreMark's sources (eembc/coremark, fetched by
 * `tinybench deps fetch coremark`, never part of this repository) read from core_portme.h.
 *
 * Timing is the DWT cycle counter, so one tick is one core cycle; output goes to the board's
 * UART through tb_uart_putc. The data block lives on the stack (8 KiB by default) and the
 * seeds are those of CoreMark's 2K performance run, so its CRCs have known values. The
 * iteration count comes from the build (-DITERATIONS=N, see tinybench/coremark.py).
 */
#ifndef CORE_PORTME_H
#define CORE_PORTME_H

#include <stddef.h>
#include <stdint.h>

#include "tb_board.h"

#define HAS_FLOAT 0 /* the report in integers: newlib-nano's printf has no %f */
#define HAS_TIME_H 0
#define USE_CLOCK 0
#define HAS_STDIO 0
#define HAS_PRINTF 0 /* ee_printf below, on the UART */

#define SEED_METHOD SEED_VOLATILE
#define MEM_METHOD MEM_STACK
#define MEM_LOCATION "STACK"
#define MULTITHREAD 1
#define MAIN_HAS_NOARGC 1
#define MAIN_HAS_NORETURN 0

#ifndef ITERATIONS
#error "build with -DITERATIONS=N (tinybench/coremark.py sets it)"
#endif

#define COMPILER_VERSION "GCC " __VERSION__
#define COMPILER_FLAGS "tinybench firmware build (the record's options give the -O level)"

typedef int16_t ee_s16;
typedef uint16_t ee_u16;
typedef int32_t ee_s32;
typedef uint8_t ee_u8;
typedef uint32_t ee_u32;
typedef float ee_f32; /* unused with HAS_FLOAT 0 */
typedef uintptr_t ee_ptr_int;
typedef size_t ee_size_t;
typedef uint32_t CORE_TICKS; /* DWT CYCCNT: core cycles */

/* Round a pointer up to the next 32-bit boundary (CoreMark's matrix set-up needs it). */
#define align_mem(x) (void *)(4 + (((ee_ptr_int)(x)-1) & ~3))

typedef struct CORE_PORTABLE_S {
    ee_u8 portable_id;
} core_portable;

extern ee_u32 default_num_contexts;

void portable_init(core_portable *p, int *argc, char *argv[]);
void portable_fini(core_portable *p);
int ee_printf(const char *fmt, ...);

#if !defined(PROFILE_RUN) && !defined(PERFORMANCE_RUN) && !defined(VALIDATION_RUN)
#define PERFORMANCE_RUN 1
#endif

#endif /* CORE_PORTME_H */
