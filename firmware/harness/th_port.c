/* The port layer: th_* on top of tb_board.h and tb_backend.h.
 *
 * Timing contract with the simulators: DWT CYCCNT is read exactly twice per
 * tb_backend_invoke() (immediately before and after it, warm-ups included) and otherwise
 * only by th_timestamp_us(). The readings extend into a 64-bit cycle clock, so a reading
 * must come at least every 2^32 cycles (about 20 s at 216 MHz) to keep it monotonic.
 * Times are converted to µs at TB_CLOCK_HZ, the board's nominal clock from boards.toml,
 * which is the clock the simulators model; th_clock_hz() reports the clock actually set up.
 */
#include <stdarg.h>
#include <string.h>

#include "tb_backend.h"
#include "tb_board.h"
#include "th_api.h"
#ifdef TB_PROFILE_LAYERS
#include "tb_profile.h"
#endif

#ifndef TB_CLOCK_HZ
#error "TB_CLOCK_HZ (the board's nominal core clock) must be defined by the build"
#endif

static uint64_t clock_cycles;
static uint32_t clock_last;

static uint64_t advance_clock(uint32_t reading)
{
    clock_cycles += (uint32_t)(reading - clock_last);
    clock_last = reading;
    return clock_cycles;
}

int th_final_initialize(void)
{
    return tb_backend_init();
}

static void put_uint(uint64_t value, unsigned base, int width, char pad)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value != 0);
    while (n < width && n < (int)sizeof digits) {
        digits[n++] = pad;
    }
    while (n > 0) {
        tb_uart_putc(digits[--n]);
    }
}

/* A small printf: %s %c %d %u %x with an optional zero pad, width and l/ll length. */
void th_printf(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    for (; *fmt != '\0'; ++fmt) {
        if (*fmt != '%') {
            tb_uart_putc(*fmt);
            continue;
        }
        char pad = ' ';
        int width = 0;
        int longs = 0;
        if (*++fmt == '0') {
            pad = '0';
            ++fmt;
        }
        for (; *fmt >= '0' && *fmt <= '9'; ++fmt) {
            width = width * 10 + (*fmt - '0');
        }
        for (; *fmt == 'l'; ++fmt) {
            ++longs;
        }
        switch (*fmt) {
        case 'd': {
            int64_t v = longs == 2 ? va_arg(args, long long)
                      : longs == 1 ? va_arg(args, long)
                                   : va_arg(args, int);
            if (v < 0) {
                tb_uart_putc('-');
            }
            put_uint(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = longs == 2 ? va_arg(args, unsigned long long)
                       : longs == 1 ? va_arg(args, unsigned long)
                                    : va_arg(args, unsigned);
            put_uint(v, *fmt == 'x' ? 16 : 10, width, pad);
            break;
        }
        case 's':
            for (const char *s = va_arg(args, const char *); *s != '\0'; ++s) {
                tb_uart_putc(*s);
            }
            break;
        case 'c':
            tb_uart_putc((char)va_arg(args, int));
            break;
        case '\0':
            --fmt; /* a lone '%' at the end: stop at the terminator */
            break;
        default:
            tb_uart_putc(*fmt);
            break;
        }
    }
    va_end(args);
}

int th_getchar(void)
{
    return tb_uart_getc();
}

size_t th_input_size(size_t i)
{
    return tb_backend_input_size(i);
}

int th_load_tensor(size_t i, const uint8_t *data, size_t n)
{
    if (n != tb_backend_input_size(i)) {
        return -1;
    }
    memcpy(tb_backend_input(i), data, n);
    return 0;
}

#ifdef TB_PROFILE_LAYERS
enum { MAX_LAYERS = 256 }; /* layers whose cycles one inference records */

static uint32_t layer_start[MAX_LAYERS];
static uint32_t layer_cycles[MAX_LAYERS];
static size_t layers_marked; /* in the current inference, also beyond MAX_LAYERS */

void tb_layer_begin(void)
{
    uint32_t now = TB_DWT_CYCCNT;
    if (layers_marked < MAX_LAYERS) {
        layer_start[layers_marked] = now;
    }
}

void tb_layer_end(void)
{
    uint32_t now = TB_DWT_CYCCNT;
    if (layers_marked < MAX_LAYERS) {
        layer_cycles[layers_marked] = now - layer_start[layers_marked];
    }
    ++layers_marked;
}

void th_report_layers(void)
{
    if (layers_marked > MAX_LAYERS) {
        th_printf("e-[the model has %lu layers; a profile records at most %d]\r\n",
                  (unsigned long)layers_marked, MAX_LAYERS);
        return;
    }
    th_printf("m-tb-layer-cycles-[");
    for (size_t i = 0; i < layers_marked; ++i) {
        th_printf(i == 0 ? "%lu" : ",%lu", (unsigned long)layer_cycles[i]);
    }
    th_printf("]\r\n");
    const struct tb_buffer *buffers;
    size_t count = tb_backend_plan(&buffers);
    th_printf("m-tb-plan-[");
    for (size_t i = 0; i < count; ++i) {
        th_printf(i == 0 ? "%lu:%lu:%ld:%ld" : ",%lu:%lu:%ld:%ld",
                  (unsigned long)buffers[i].offset, (unsigned long)buffers[i].size,
                  (long)buffers[i].first, (long)buffers[i].last);
    }
    th_printf("]\r\n");
    th_printf("m-tb-persistent-bytes-%lu\r\n", (unsigned long)tb_backend_persistent_bytes());
}
#endif

int th_infer(struct th_lap *lap)
{
#ifdef TB_PROFILE_LAYERS
    layers_marked = 0;
#endif
    uint32_t before = TB_DWT_CYCCNT;
    int status = tb_backend_invoke();
    uint32_t after = TB_DWT_CYCCNT;
    lap->start = advance_clock(before);
    lap->end = advance_clock(after);
    return status;
}

uint64_t th_cycles_to_us(uint64_t cycles)
{
    return cycles / (TB_CLOCK_HZ / 1000000u);
}

uint64_t th_timestamp_us(void)
{
    return th_cycles_to_us(advance_clock(TB_DWT_CYCCNT));
}

void th_results(void)
{
    for (size_t o = 0; o < TB_OUTPUTS; ++o) {
        const int8_t *out = tb_backend_output(o);
        size_t n = tb_backend_output_size(o);
        if (o == 0) {
            th_printf("m-results-[");
        } else {
            th_printf("m-tb-results-%lu-[", (unsigned long)o);
        }
        for (size_t i = 0; i < n; ++i) {
            th_printf(i == 0 ? "%d" : ",%d", out[i]);
        }
        th_printf("]\r\n");
    }
}

const char *th_engine_name(void)
{
    return tb_backend_name();
}

uint32_t th_clock_hz(void)
{
    return tb_board_clock_hz();
}

size_t th_arena_used(void)
{
    return tb_backend_arena_used();
}

size_t th_stack_used(void)
{
    return tb_stack_used();
}
