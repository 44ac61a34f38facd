/* The harness's port layer: the MLPerf Tiny th_* functions, implemented in th_port.c on top
 * of the board support (tb_board.h) and the inference engine (tb_backend.h). The protocol
 * code in harness.c calls only these.
 */
#ifndef TH_API_H
#define TH_API_H

#include <stddef.h>
#include <stdint.h>

/* The model's inputs and outputs: a backend's build defines the counts (1 each by default). */
#ifndef TB_INPUTS
#define TB_INPUTS 1
#endif
#ifndef TB_OUTPUTS
#define TB_OUTPUTS 1
#endif

/* Two readings of the cycle clock around one inference. */
struct th_lap {
    uint64_t start;
    uint64_t end;
};

/* Initialise the engine; returns tb_backend_init()'s status. */
int th_final_initialize(void);

void th_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int th_getchar(void);

/* Copy `n` bytes into the engine's input `i`; -1 if `n` is not that input's size. */
int th_load_tensor(size_t i, const uint8_t *data, size_t n);
size_t th_input_size(size_t i);

/* One inference between two reads of the DWT cycle counter; returns the engine's status. */
int th_infer(struct th_lap *lap);

/* Microseconds since reset: reads the cycle counter (only the `timestamp` command does). */
uint64_t th_timestamp_us(void);
uint64_t th_cycles_to_us(uint64_t cycles);

/* Print output 0 as `m-results-[v0,v1,...]` and each further output i as
 * `m-tb-results-<i>-[...]` (raw bytes as int8 values). */
void th_results(void);

const char *th_engine_name(void);
uint32_t th_clock_hz(void);
size_t th_arena_used(void);
size_t th_stack_used(void);

#ifdef TB_PROFILE_LAYERS
/* The last inference's per-layer cycles and the engine's activation plan (a profile build). */
void th_report_layers(void);
#endif

#endif /* TH_API_H */
