/* Workspace for TVM-built kernels: a LIFO allocator over one static pool.
 *
 * Kernels built by TVM ask for scratch memory (padded inputs, accumulators) through
 * TVMBackendAllocWorkspace and give it back with TVMBackendFreeWorkspace in reverse
 * order, so a stack over a pool sized at generation time is all they need.
 */
#ifndef TB_TVM_WORKSPACE_H
#define TB_TVM_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

/* Hand the allocator its pool; forgets every allocation but not the peak. */
void tb_tvm_workspace_init(uint8_t *pool, size_t size);

/* The most workspace bytes held at once since boot. */
size_t tb_tvm_workspace_peak(void);

#endif /* TB_TVM_WORKSPACE_H */
