/* TVMBackendAllocWorkspace / TVMBackendFreeWorkspace as a stack over a static pool. */
#include "tb_tvm_workspace.h"

#include "tvm/runtime/c_backend_api.h"

#define ALIGN 16u
#define MAX_DEPTH 16

static uint8_t *pool_base;
static size_t pool_size;
static size_t top;
static size_t peak;
static size_t starts[MAX_DEPTH];
static int depth;

void tb_tvm_workspace_init(uint8_t *pool, size_t size) {
    pool_base = pool;
    pool_size = size;
    top = 0;
    depth = 0;
}

size_t tb_tvm_workspace_peak(void) { return peak; }

void *TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint) {
    (void)device_type, (void)device_id, (void)dtype_code_hint, (void)dtype_bits_hint;
    size_t size = ((size_t)nbytes + ALIGN - 1u) & ~(size_t)(ALIGN - 1u);
    if (depth == MAX_DEPTH || size > pool_size - top) return NULL;
    starts[depth++] = top;
    top += size;
    if (top > peak) peak = top;
    return pool_base + starts[depth - 1];
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void *ptr) {
    (void)device_type, (void)device_id;
    if (depth == 0 || (uint8_t *)ptr != pool_base + starts[depth - 1]) return -1;
    top = starts[--depth];
    return 0;
}
