/* Per-layer profiling, compiled in only when the build defines TB_PROFILE_LAYERS.
 *
 * A backend marks each layer of an inference with tb_layer_begin() / tb_layer_end(); each
 * reads DWT CYCCNT once, so the harness can report every layer's cycles and the cycles spent
 * between layers (the engine's overhead and the marks themselves) add up to the inference's.
 * The backend also describes its activation plan: every buffer of the arena it plans, with
 * its offset, size and the layers it lives over, and the arena bytes outside that plan.
 */
#ifndef TB_PROFILE_H
#define TB_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One planned buffer: `size` bytes at `offset`, live from layer `first` to layer `last`. */
struct tb_buffer {
    uint32_t offset;
    uint32_t size;
    int32_t first;
    int32_t last;
};

/* Implemented by the harness: the marks around one layer's work. */
void tb_layer_begin(void);
void tb_layer_end(void);

/* Implemented by the backend: its planned buffers (count returned, array in *buffers) and the
 * arena bytes it holds outside them (persistent allocations, alignment). */
size_t tb_backend_plan(const struct tb_buffer **buffers);
size_t tb_backend_persistent_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* TB_PROFILE_H */
