"""Emit the C that runs TVM-built kernels in order over a static arena, with no TVM runtime.

Input is a `Plan`: the flat memory plan and kernel calls read from TVM's lowered main
function. Output is one C file implementing firmware/include/tb_backend.h: the weights as
const arrays, one DLTensor per tensor (data in the arena or in the weights) and one packed
argument array per kernel call, all const so they stay in Flash, and tb_backend_invoke()
calling the kernels in order.
The workspace the kernels request comes from firmware/backends/tvm/tb_tvm_workspace.c.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from math import prod

ALIGN = 16
_DLTENSOR = "kTVMFFIDLTensorPtr"
_DL_CODES = {"int": 0, "uint": 1, "float": 2}
_ALLOC = re.compile(r"TVMBackendAllocWorkspace\([^,]+,[^,]+, \(uint64_t\)(\d+)ULL")
_ALIGNED = f"__attribute__((aligned({ALIGN})))"
_KERNEL = re.compile(r"^TVM_DLL int32_t (__tvm_ffi_\w+)\(void\* self_handle.*\{$", re.M)


@dataclass(frozen=True)
class Tensor:
    """A tensor a kernel reads or writes: `offset` bytes into the arena, or constant `const`."""

    shape: tuple[int, ...]
    dtype: str  # numpy-style: "int8", "int32", "float32"
    offset: int = 0
    const: int | None = None  # index into Plan.constants


@dataclass(frozen=True)
class Call:
    kernel: str  # the TIR function name; its C symbol is __tvm_ffi_<kernel>
    args: tuple[int, ...]  # indices into Plan.tensors


@dataclass(frozen=True)
class Buffer:
    """A block of the arena: `size` bytes at `offset`, live from call `first` to call `last`."""

    offset: int
    size: int
    first: int
    last: int


@dataclass(frozen=True)
class Plan:
    tensors: tuple[Tensor, ...]
    constants: tuple[bytes, ...]
    calls: tuple[Call, ...]
    arena_bytes: int
    inputs: tuple[int, ...]  # indices into tensors, in the model's order
    outputs: tuple[int, ...]
    buffers: tuple[Buffer, ...] = ()  # the packed blocks: what a profile build reports


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def nbytes(tensor: Tensor) -> int:
    return prod(tensor.shape) * _dtype(tensor.dtype).itemsize


def pack(sizes: Sequence[int], lives: Sequence[tuple[int, int]]) -> tuple[list[int], int]:
    """Arena offsets for blocks of `sizes` bytes, alive from call lives[i][0] to lives[i][1].

    Blocks alive at a common call never overlap; the others may share bytes. Greedy: largest
    block first, each at the lowest offset where it fits. Returns the offsets and arena size.
    """
    offsets = [0] * len(sizes)
    placed: list[int] = []
    for b in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        start, end = lives[b]
        busy = sorted(
            (offsets[o], offsets[o] + align(sizes[o]))
            for o in placed
            if lives[o][0] <= end and start <= lives[o][1]
        )
        at = 0
        for low, high in busy:
            if at + align(sizes[b]) <= low:
                break
            at = max(at, high)
        offsets[b] = at
        placed.append(b)
    return offsets, max((offsets[b] + align(sizes[b]) for b in placed), default=0)


def workspace_bytes(kernels_c: str) -> int:
    """The most workspace any one kernel holds at once: the sum of its (aligned) requests."""
    starts = [m.start() for m in _KERNEL.finditer(kernels_c)] + [len(kernels_c)]
    bodies = (kernels_c[a:b] for a, b in pairwise(starts))
    return max((sum(align(int(n)) for n in _ALLOC.findall(body)) for body in bodies), default=0)


def _dl_dtype(dtype: str) -> str:
    dt = _dtype(dtype)
    code = _DL_CODES["float" if dt.kind == "f" else "uint" if dt.kind == "u" else "int"]
    return f"{{{code}, {dt.itemsize * 8}, 1}}"


def _dtype(name: str):
    """NumPy's description of a dtype; NumPy is imported only when a model is compiled, so
    that listing the backends (the CLI's and the pytest plugin's help) stays cheap."""
    import numpy as np

    return np.dtype(name)


def _bytes_literal(data: bytes) -> str:
    rows = (", ".join(f"0x{b:02x}" for b in data[i : i + 20]) for i in range(0, len(data), 20))
    return ",\n".join(f"    {row}" for row in rows)


def _profile_plan(plan: Plan) -> list[str]:
    """The layer marks (each kernel call is a layer) and the plan a profile build reports."""
    last = max(len(plan.calls) - 1, 0)
    rows = ", ".join(
        f"{{{b.offset}, {b.size}, {min(max(b.first, 0), last)}, {min(max(b.last, 0), last)}}}"
        for b in plan.buffers
    )
    extent = max((b.offset + b.size for b in plan.buffers), default=0)
    return [
        "#ifdef TB_PROFILE_LAYERS",
        '#include "tb_profile.h"',
        f"static const struct tb_buffer plan_buffers[{max(len(plan.buffers), 1)}] = {{{rows}}};",
        "size_t tb_backend_plan(const struct tb_buffer **buffers) {",
        "    *buffers = plan_buffers;",
        f"    return {len(plan.buffers)};",
        "}",
        "size_t tb_backend_persistent_bytes(void) {",
        f"    return tb_backend_arena_used() - {extent};",
        "}",
        "#define TB_LAYER_BEGIN() tb_layer_begin()",
        "#define TB_LAYER_END() tb_layer_end()",
        "#else",
        "#define TB_LAYER_BEGIN()",
        "#define TB_LAYER_END()",
        "#endif",
    ]


def _tensor_table(plan: Plan, kind: str, indices: tuple[int, ...]) -> list[str]:
    """The model's inputs or outputs, in order: their tensors and sizes in bytes."""
    tensors = ", ".join(f"&tensor{i}" for i in indices)
    sizes = ", ".join(str(nbytes(plan.tensors[i])) for i in indices)
    return [f"static const DLTensor *const {kind}_tensors[] = {{{tensors}}};",
            f"static const size_t {kind}_sizes[] = {{{sizes}}};"]


def emit(plan: Plan, kernels_c: str, name: str = "tvm") -> str:
    """The C source that implements tb_backend.h for `plan` with the kernels in `kernels_c`."""
    workspace = workspace_bytes(kernels_c)
    lines = [
        "/* Generated by tinybench from a TVM memory plan: do not edit. */",
        '#include "tb_backend.h"',
        '#include "tb_tvm_workspace.h"',
        '#include "tvm/ffi/c_api.h"',
        "",
        f"static uint8_t arena[{max(plan.arena_bytes, 1)}] {_ALIGNED};",
        f"static uint8_t workspace[{max(workspace, 1)}] {_ALIGNED};",
        "",
    ]
    for i, data in enumerate(plan.constants):
        lines += [
            f"static const uint8_t const{i}[{max(len(data), 1)}] {_ALIGNED} = {{",
            _bytes_literal(data) or "    0",
            "};",
        ]
    lines.append("")
    for i, t in enumerate(plan.tensors):
        data = f"(void *)const{t.const}" if t.const is not None else f"(void *)(arena + {t.offset})"
        dims = ", ".join(str(d) for d in t.shape) or "1"
        lines += [
            f"static const int64_t shape{i}[] = {{{dims}}};",
            f"static const DLTensor tensor{i} = {{{data}, {{kDLCPU, 0}}, {len(t.shape)}, "
            f"{_dl_dtype(t.dtype)}, (int64_t *)shape{i}, NULL, 0}};",
        ]
    lines.append("")
    for j, call in enumerate(plan.calls):
        args = ", ".join(
            f"{{.type_index = {_DLTENSOR}, .v_ptr = (void *)&tensor{a}}}" for a in call.args
        )
        lines += [
            f"int32_t __tvm_ffi_{call.kernel}(void *self, void *args, int32_t n, void *result);",
            f"static const TVMFFIAny args{j}[] = {{{args}}};",
        ]
    invoke = [
        f"    TB_LAYER_BEGIN();\n"
        f"    if (__tvm_ffi_{c.kernel}(NULL, (void *)args{j}, {len(c.args)}, &result)) "
        f"return {j + 1};\n"
        "    TB_LAYER_END();"
        for j, c in enumerate(plan.calls)
    ]
    lines += [
        "",
        "int tb_backend_init(void) {",
        "    tb_tvm_workspace_init(workspace, sizeof workspace);",
        "    return 0;",
        "}",
        "",
        *_tensor_table(plan, "input", plan.inputs),
        *_tensor_table(plan, "output", plan.outputs),
        "int8_t *tb_backend_input(size_t i) { return (int8_t *)input_tensors[i]->data; }",
        "size_t tb_backend_input_size(size_t i) { return input_sizes[i]; }",
        "const int8_t *tb_backend_output(size_t i) {",
        "    return (const int8_t *)output_tensors[i]->data;",
        "}",
        "size_t tb_backend_output_size(size_t i) { return output_sizes[i]; }",
        f'const char *tb_backend_name(void) {{ return "{name}"; }}',
        "",
        "size_t tb_backend_arena_used(void) {",
        "    return sizeof arena + tb_tvm_workspace_peak();",
        "}",
        "",
        *_profile_plan(plan),
        "",
        "int tb_backend_invoke(void) {",
        "    TVMFFIAny result = {0};",
        *invoke,
        "    return 0;",
        "}",
        "",
    ]
    return "\n".join(lines)
