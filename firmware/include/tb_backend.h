/* The seam between the benchmark harness and an inference engine.
 *
 * The harness (firmware/harness) speaks the MLPerf Tiny serial protocol and never
 * knows which engine runs the model; each backend (TFLM, TFLM + CMSIS-NN, TVM, or the
 * minimal test backend) implements these functions. Tensors are raw bytes in the model's
 * own type (int8, int16, float32, ...), layout and quantisation; the host checks the types
 * before it builds.
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

/* The input tensor: a writable buffer of tb_backend_input_size() bytes. */
int8_t *tb_backend_input(void);
size_t tb_backend_input_size(void);

/* Run one inference on the current input. Returns 0 on success. */
int tb_backend_invoke(void);

/* The output tensor after tb_backend_invoke(). */
const int8_t *tb_backend_output(void);
size_t tb_backend_output_size(void);

/* Bytes of the tensor arena the engine actually uses (0 if it cannot tell). */
size_t tb_backend_arena_used(void);

/* A short engine name for the `name` reply, for example "tvm" or "tflm". */
const char *tb_backend_name(void);

#ifdef __cplusplus
}
#endif

#endif /* TB_BACKEND_H */
