/* The board's UART for the built-in simulator, as Unicorn MMIO callbacks on its register page.
 *
 * A session sends the firmware its input a byte at a time, and the firmware polls the receive
 * status before each byte: done in Python, those two register reads a byte were a quarter of a
 * warm benchmark's time (a VWW input is some 80,000 characters of the MLPerf Tiny protocol).
 * Here they cost what any MMIO read costs.
 *
 * The page reads back what was written, except: the status register reads `tx_ready`, plus
 * `rx_ready` while input is left; the receive register reads the next input byte (0 with none
 * left); a write to the transmit register appends its low byte to the output and, when the
 * UART has one (`tx_done`), sets its transmit-done event register to 1. Polling the status
 * with no input left `idle_polls` times in a row, with nothing received or sent in between,
 * marks the UART idle and stops the run. Before the last of those polls, and whenever the
 * output buffer is full, the host (Python: tinybench.simulators.native) is called: it takes
 * the output and may give more input.
 *
 * Built with blockcount.c into one library by tinybench.simulators.native.
 */
#include <stdint.h>

#define UART_PAGE 0x1000
#define NO_REGISTER 0xFFFFFFFFu

typedef int (*emu_stop_fn)(void *uc);
enum { OUTPUT_FULL = 0, INPUT_EMPTY = 1 }; /* why the host is called */
typedef void (*host_fn)(uint32_t why);

typedef struct {
    emu_stop_fn emu_stop;
    host_fn host;
    const uint8_t *input;
    uint64_t input_size;
    uint64_t position;
    uint8_t *output;
    uint64_t output_size;
    uint64_t output_capacity;
    uint32_t status, rx, tx, tx_done; /* register offsets in the page; tx_done may be NO_REGISTER */
    uint32_t rx_ready, tx_ready;      /* the status bits */
    uint32_t empty_polls;
    uint32_t idle_polls;
    uint32_t idle;
    uint32_t values[UART_PAGE]; /* what was last written, by byte offset */
} tb_uart;

static int receive_ready(void *uc, tb_uart *u) {
    if (u->position == u->input_size && u->empty_polls + 1 >= u->idle_polls) u->host(INPUT_EMPTY);
    if (u->position < u->input_size) {
        u->empty_polls = 0;
        return 1;
    }
    if (++u->empty_polls >= u->idle_polls && !u->idle) {
        u->idle = 1;
        u->emu_stop(uc);
    }
    return 0;
}

static uint32_t receive(tb_uart *u) {
    u->empty_polls = 0;
    return u->position < u->input_size ? u->input[u->position++] : 0;
}

static void send(tb_uart *u, uint64_t value) {
    u->empty_polls = 0;
    if (u->output_size == u->output_capacity) u->host(OUTPUT_FULL);
    u->output[u->output_size++] = (uint8_t)value;
}

uint64_t tb_uart_read(void *uc, uint64_t offset, unsigned size, void *user_data) {
    tb_uart *u = user_data;
    (void)size;
    if (offset == u->status) return u->tx_ready | (receive_ready(uc, u) ? u->rx_ready : 0);
    if (offset == u->rx) return receive(u);
    return offset < UART_PAGE ? u->values[offset] : 0;
}

void tb_uart_write(void *uc, uint64_t offset, unsigned size, uint64_t value, void *user_data) {
    tb_uart *u = user_data;
    (void)uc, (void)size;
    if (offset >= UART_PAGE) return;
    if (offset == u->tx) {
        send(u, value);
        if (u->tx_done != NO_REGISTER) u->values[u->tx_done] = 1;
    }
    u->values[offset] = (uint32_t)value;
}
