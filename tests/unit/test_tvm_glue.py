"""The C glue emitted from a TVM memory plan (pure text generation, no TVM needed)."""

import re
from dataclasses import replace

import numpy as np

from tinybench.backends.tvm_glue import (
    Buffer,
    Call,
    Plan,
    Tensor,
    align,
    emit,
    nbytes,
    pack,
    workspace_bytes,
)

KERNELS = """\
TVM_DLL int32_t __tvm_ffi_first(void* self_handle, void* args, int32_t num_args, void* result) {
  float* a = ((float*)TVMBackendAllocWorkspace(1, dev_id, (uint64_t)100ULL, 2, 32));
  int8_t* b = ((int8_t*)TVMBackendAllocWorkspace(1, dev_id, (uint64_t)20ULL, 0, 8));
  return 0;
}
TVM_DLL int32_t __tvm_ffi_second(void* self_handle, void* args, int32_t num_args, void* result) {
  float* c = ((float*)TVMBackendAllocWorkspace(1, dev_id, (uint64_t)130ULL, 2, 32));
  return 0;
}
"""


def plan() -> Plan:
    weights = np.arange(6, dtype=np.int8).reshape(2, 3)
    return Plan(
        tensors=(
            Tensor((1, 3), "int8", offset=0),  # input
            Tensor((2, 3), "int8", const=0),  # weights
            Tensor((1, 2), "float32", offset=16),  # intermediate
            Tensor((1, 2), "int8", offset=32),  # output
        ),
        constants=(weights.tobytes(),),
        calls=(Call("dense", (0, 1, 2)), Call("quantize", (2, 3))),
        arena_bytes=48,
        inputs=(0,),
        outputs=(3,),
    )


def test_sizes_are_aligned_to_sixteen_bytes():
    assert [align(n) for n in (0, 1, 16, 17)] == [0, 16, 16, 32]
    assert nbytes(Tensor((2, 5), "float32")) == 40
    assert nbytes(Tensor((), "int8")) == 1


def test_the_workspace_is_the_largest_sum_one_kernel_holds():
    assert workspace_bytes(KERNELS) == max(112 + 32, 144)
    assert workspace_bytes("no kernels here") == 0


def test_glue_places_tensors_in_the_arena_and_weights_in_flash():
    c = emit(plan(), KERNELS)
    assert "static uint8_t arena[48]" in c
    assert "static uint8_t workspace[144]" in c
    assert re.search(r"static const uint8_t const0\[6\][^=]*= \{\s*0x00, 0x01, 0x02, 0x03, 0x04, "
                     r"0x05\s*\};", c)
    assert "static const DLTensor tensor2 = {(void *)(arena + 16), {kDLCPU, 0}, 2, {2, 32, 1}" in c
    assert "static const DLTensor tensor1 = {(void *)const0, {kDLCPU, 0}, 2, {0, 8, 1}" in c


def test_glue_calls_the_kernels_in_plan_order_with_their_tensors():
    c = emit(plan(), KERNELS)
    assert "args0[] = {{.type_index = kTVMFFIDLTensorPtr, .v_ptr = (void *)&tensor0}, " in c
    calls = re.findall(r"__tvm_ffi_(\w+)\(NULL, \(void \*\)args(\d), (\d), &result\)", c)
    assert calls == [("dense", "0", "3"), ("quantize", "1", "2")]


def test_glue_exposes_the_input_and_output_tensors():
    c = emit(plan(), KERNELS, name="tvm")
    assert "static const DLTensor *const input_tensors[] = {&tensor0};" in c
    assert "static const size_t input_sizes[] = {3};" in c
    assert "static const DLTensor *const output_tensors[] = {&tensor3};" in c
    assert "static const size_t output_sizes[] = {2};" in c
    assert 'return "tvm";' in c


def test_glue_exposes_every_input_and_output_in_the_models_order():
    two = replace(plan(), inputs=(0, 2), outputs=(3, 2))
    c = emit(two, KERNELS)
    assert "input_tensors[] = {&tensor0, &tensor2};" in c
    assert "input_sizes[] = {3, 8};" in c
    assert "output_tensors[] = {&tensor3, &tensor2};" in c
    assert "output_sizes[] = {2, 8};" in c


def test_blocks_alive_at_the_same_call_never_share_bytes():
    sizes = [100, 40, 60, 30]
    lives = [(0, 1), (1, 2), (2, 3), (0, 3)]
    offsets, total = pack(sizes, lives)
    for a in range(4):
        for b in range(a):
            if lives[a][0] <= lives[b][1] and lives[b][0] <= lives[a][1]:
                ends = (offsets[a] + align(sizes[a]), offsets[b] + align(sizes[b]))
                assert ends[0] <= offsets[b] or ends[1] <= offsets[a]
    # the 60-byte block reuses the 100-byte block's bytes once that one is dead
    assert offsets[2] == offsets[0]
    assert total == 112 + 48 + 32
    assert all(o % 16 == 0 for o in offsets)


def test_an_empty_plan_needs_no_arena():
    assert pack([], []) == ([], 0)


def test_a_profile_build_marks_every_call_and_reports_the_packed_blocks():
    blocks = (Buffer(0, 3, -1, 2), Buffer(16, 8, 0, 1), Buffer(32, 2, 1, 2))
    c = emit(replace(plan(), buffers=blocks), KERNELS)
    profile = c[c.index("#ifdef TB_PROFILE_LAYERS"):c.index("int tb_backend_invoke")]
    # lifetimes are clamped to the calls: the input lives before the first, the output after
    assert "plan_buffers[3] = {{0, 3, 0, 1}, {16, 8, 0, 1}, {32, 2, 1, 1}};" in profile
    assert "return tb_backend_arena_used() - 34;" in profile
    invoke = c[c.index("int tb_backend_invoke"):]
    assert invoke.count("TB_LAYER_BEGIN();") == invoke.count("TB_LAYER_END();") == 2
    assert re.search(r"#else\n#define TB_LAYER_BEGIN\(\)\n#define TB_LAYER_END\(\)\n#endif", c)
