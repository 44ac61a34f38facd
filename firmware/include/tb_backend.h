/* The seam between the benchmark harness and an inference engine.
 *
 * The harness (firmware/harness) speaks the MLPerf Tiny serial protocol and never
 * knows which engine runs the model; each backend (TFLM, TFLM + CMSIS-NN, TVM, or the
 * minimal test backend) implements these functions. Tensors are raw bytes in the model's
 * own type (int8, int16, float32, ...), layout and quantisation; the host checks the types
 * before it builds. Inputs and outputs are numbered in the model's order from 0; the
 * backend's build tells the harness how many there are (TB_INPUTS, TB_OUTPUTS in th_api.h).
 */
#ifndef TB_BACKEND_H
#define TB_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Prepare the engine (allocate tensors, bind the arena). Returns 0 on success. */
int tb_backend_init(void);

/* Input `i`: a writable buffer of tb_backend_input_size(i) bytes. */
int8_t *tb_backend_input(size_t i);
size_t tb_backend_input_size(size_t i);

/* Run one inference on the current input. Returns 0 on success. */
int tb_backend_invoke(void);

/* Output `i` after tb_backend_invoke(). */
const int8_t *tb_backend_output(size_t i);
size_t tb_backend_output_size(size_t i);

/* Bytes of the tensor arena the engine actually uses (0 if it cannot tell). */
size_t tb_backend_arena_used(void);

/* A short engine name for the `name` reply, for example "tvm" or "tflm". */
const char *tb_backend_name(void);

#ifdef __cplusplus
}
#endif

#endif /* TB_BACKEND_H */
