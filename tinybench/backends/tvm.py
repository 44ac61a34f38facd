"""The TVM backend: compile an int8 .tflite with TVM 0.27 into plain C kernels plus static glue.

Steps: import with the Relax TFLite frontend, rewrite quantized conv/matmul into integer kernels
(tvm_int8), lower and fuse with the Relax "zero" passes, plan memory statically
(StaticPlanBlockMemory), build the kernels for a C target, read the plan and kernel calls from
the lowered main function and emit the glue (tvm_glue). No TVM runtime runs on the device.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tinybench.artifacts import ArenaProbe, FirmwareSources, io_defines
from tinybench.backends.tvm_glue import (
    Buffer,
    Call,
    Plan,
    Tensor,
    emit,
    nbytes,
    pack,
    workspace_bytes,
)
from tinybench.errors import BuildError, ConfigError
from tinybench.paths import (
    atomic_write,
    cache_dir,
    content_hash,
    intact,
    locked,
    shipped,
    write_sealed,
)

if TYPE_CHECKING:
    import tvm

    from tinybench.boards import Board

KERNELS = "tvm_kernels.c"
GLUE = "tvm_model.c"
FACTS = "tvm_facts.json"
_OWN_SOURCES = ("tvm.py", "tvm_int8.py", "tvm_int8_kernels.py", "tvm_glue.py")
# TVM's C loops have fixed trip counts: unrolled, the innermost MAC loop sheds its compare
# and branch; unswitched, the padding test of a convolution leaves its channel loop
KERNEL_CFLAGS = ("-funroll-loops", "-funswitch-loops")
# What TVM's TFLite importer raises on a model it cannot take: every class in tvm.error
# (OpNotImplemented, OpAttributeInvalid, InternalError, ...) derives from RuntimeError, errors
# from TVM's C++ side arrive through tvm_ffi as builtin types, and the importer asserts.
IMPORT_ERRORS = (RuntimeError, ValueError, TypeError, AttributeError, KeyError, IndexError,
                 AssertionError)
_OPAQUE = 8  # TVM's OpPatternKind kOpaque: never fused with neighbours
_DATA_PAR = 0  # IterVar kind of a spatial (data-parallel) axis


def tvm_include_dirs() -> tuple[Path, ...]:
    """Headers the kernels include (tvm/ffi/c_api.h, c_backend_api.h, dlpack), from the wheels."""
    import tvm
    import tvm_ffi

    return (Path(tvm.__file__).parent / "include", Path(tvm_ffi.__file__).parent / "include")


def runtime_dir() -> Path:
    return shipped("firmware") / "backends" / "tvm"


class TvmBackend:
    name = "tvm"
    # conv, dense, add, softmax and global pools are bit-exact; other pools compute in float
    # between dequantize and quantize and may round one step differently
    reference = "litert"  # its integer kernels follow LiteRT's rounding
    output_tolerance = 1

    def missing(self) -> str | None:
        try:
            import tflite  # noqa: F401
            import tvm  # noqa: F401
            from tvm.relax.frontend.tflite import from_tflite  # noqa: F401
        except ImportError as error:
            return f"TVM backend unavailable ({error}): install tinybench[tvm]"
        return None

    def generate(self, model: Path, board: Board, workdir: Path,
                 probe: ArenaProbe | None = None) -> FirmwareSources:
        """TVM plans the arena when it compiles the model, so it needs no `probe`."""
        from tinybench.models.inspect import builtin_ops, inspect_model

        builtin_ops(model, f"the {self.name} backend")  # refuse custom ops before any work
        info = inspect_model(model)
        if info.stateful:
            raise ConfigError(f"{model.name} keeps state between inferences (variable "
                              f"tensors), which the {self.name} backend cannot reset; use tflm")
        if "int16" in info.dtypes:  # its importer fails on them with an unrelated message
            raise ConfigError(f"{model.name} has int16 tensors (16x8 quantization), which TVM's "
                              f"TFLite importer does not take: the {self.name} backend cannot "
                              "run it; use tflm or cmsis-nn")
        import tvm

        here = Path(__file__).parent
        core = board.core.name
        key = content_hash(model, core, tvm.__version__, *(here / s for s in _OWN_SOURCES))
        cached = cache_dir("tvm", key)
        with locked(cached):
            if not all(intact(cached / name) for name in (KERNELS, GLUE, FACTS)):
                plan, kernels = lower(model, core)
                write_sealed(cached / KERNELS, kernels)
                write_sealed(cached / GLUE, emit(plan, kernels))
                facts = {"tvm_version": tvm.__version__, "arena_bytes": plan.arena_bytes,
                         "workspace_bytes": workspace_bytes(kernels),
                         "kernel_calls": len(plan.calls),
                         "layers": ",".join(call.kernel for call in plan.calls),
                         "input_bytes": sum(nbytes(plan.tensors[i]) for i in plan.inputs),
                         "inputs": len(plan.inputs), "outputs": len(plan.outputs)}
                write_sealed(cached / FACTS, json.dumps(facts))
        workdir.mkdir(parents=True, exist_ok=True)
        for name in (KERNELS, GLUE):
            atomic_write(workdir / name, (cached / name).read_bytes())
        facts = json.loads((cached / FACTS).read_text())
        return FirmwareSources(
            backend=self.name,
            sources=(workdir / KERNELS, workdir / GLUE, runtime_dir() / "tb_tvm_workspace.c"),
            include_dirs=(runtime_dir(), *tvm_include_dirs()),
            defines=(f'TB_MODEL="{model.stem.split("-")[0]}"',
                     f"TB_DB_CAPACITY={facts['input_bytes']}",
                     *io_defines(facts["inputs"], facts["outputs"])),
            cflags=KERNEL_CFLAGS,
            versions={"tvm": facts["tvm_version"]},
            extra={k: str(v) for k, v in facts.items()
                   if k not in ("input_bytes", "inputs", "outputs")},
            components={f"*/{KERNELS}": "kernels", f"*/{GLUE}": "model"},
        )



TVM = TvmBackend()


def lower(model: Path, mcpu: str) -> tuple[Plan, str]:
    """The memory plan and the kernels' C source for `model` on a core named `mcpu`."""
    import tflite
    import tvm
    from tvm import relax
    from tvm.relax.frontend.tflite import from_tflite

    from tinybench.backends.tvm_int8 import integer_kernels

    try:
        mod = from_tflite(tflite.Model.GetRootAsModel(model.read_bytes(), 0))
    except IMPORT_ERRORS as error:
        first = str(error).strip().splitlines()[0]
        raise ConfigError(f"TVM cannot import {model.name}: {first}") from error
    t = relax.transform
    legalize = tvm.transform.Sequential([t.LegalizeOps(), t.AnnotateTIROpPattern()])
    plan = tvm.transform.Sequential([
        t.FoldConstant(), t.FuseOps(), t.FuseTIR(), t.DeadCodeElimination(), t.ToNonDataflow(),
        t.RemovePurityChecking(), t.CallTIRRewrite(), t.StaticPlanBlockMemory(),
        t.AttachGlobalSymbol(),
    ])
    mod = plan(_pads_apart(legalize(integer_kernels(mod))))
    kernels = tvm.IRModule({
        gv: _schedule(f) for gv, f in mod.functions.items() if isinstance(f, tvm.tirx.PrimFunc)
    })
    target = tvm.target.Target({"kind": "c", "mcpu": mcpu})
    with tvm.transform.PassContext(config={"tirx.disable_assert": True}):
        source = tvm.tirx.build(kernels, target=target).inspect_source()
    return read_plan(mod["main"]), source


def _pads_apart(mod: tvm.IRModule) -> tvm.IRModule:
    """Keep pad kernels out of fusion.

    Fused behind a conv, a pad writes a larger domain than the conv computes, and scheduling
    the fused epilogue into the conv's loops would drop the border it fills.
    """
    for gv, func in mod.functions.items():
        if gv.name_hint.startswith("pad") and "op_pattern" in func.attrs:
            mod[gv] = func.with_attr("op_pattern", _OPAQUE)
    return mod


def _schedule(func: tvm.tirx.PrimFunc) -> tvm.tirx.PrimFunc:
    """Compute each kernel element by element instead of stage by stage.

    Unscheduled, every stage of a fused kernel (pad copy, int32 accumulator, float epilogue)
    is a full-size workspace buffer. Inlining the injective stages and computing the epilogue
    inside the reduction's spatial loops leaves one scalar accumulator, zeroed before the
    reduction loops.
    """
    from tvm import s_tir

    from tinybench.backends.tvm_int8_kernels import MATERIALIZE

    sch = s_tir.Schedule(func)
    root = sch.get_sblock("root")

    def attempt(primitive, *args) -> None:
        with contextlib.suppress(s_tir.schedule.ScheduleError):
            primitive(*args)

    def inlinable() -> list:
        """The stages, less those a kernel asks to keep (tvm_int8_kernels.MATERIALIZE)."""
        return [b for b in sch.get_child_blocks(root) if MATERIALIZE not in sch.get(b).annotations]

    for block in inlinable():
        attempt(sch.compute_inline, block)
    for block in reversed(inlinable()):
        attempt(sch.reverse_compute_inline, block)
    for block in sch.get_child_blocks(root):
        spatial = [iv.iter_type == _DATA_PAR for iv in sch.get(block).iter_vars]
        if all(spatial) or not spatial[0]:
            continue
        loops = sch.get_loops(block)
        first_reduction = spatial.index(False)
        shape = _written_shape(sch.get(block))
        for consumer in sch.get_consumers(block):
            if _written_shape(sch.get(consumer)) == shape:
                attempt(sch.reverse_compute_at, consumer, loops[first_reduction - 1])
        # zero the accumulator once before the reduction loops, not by a test in them
        attempt(sch.decompose_reduction, block, loops[first_reduction])
    return sch.mod["main"]


def _written_shape(block) -> list[int]:
    return [int(d) for d in block.writes[0].source.shape]


def read_plan(main: tvm.relax.Function) -> Plan:
    """List the kernel calls in order and pack the planned storages into one arena."""
    import tvm
    from tvm import relax

    from tinybench.backends.tvm_int8 import op_name

    tensors: list[Tensor] = []  # offsets relative to their block until the arena is packed
    block_of: list[int | None] = []  # per tensor: its block, None for a constant
    sizes: list[int] = []  # per block: bytes
    constants: list[bytes] = []
    calls: list[Call] = []
    where: dict[relax.Var, int] = {}  # variable → index in tensors
    grouped: dict[relax.Var, tuple[int, ...]] = {}  # a tuple variable → its tensors (outputs)
    storage: dict[relax.Var, int] = {}  # storage variable → block

    def add(tensor: Tensor, block: int | None) -> int:
        tensors.append(tensor)
        block_of.append(block)
        return len(tensors) - 1

    def block(size: int) -> int:
        sizes.append(size)
        return len(sizes) - 1

    def own(shape: tuple[int, ...], dtype: str) -> int:
        """A tensor with a block of its own (the input, the output)."""
        return add(Tensor(shape, dtype), block(nbytes(Tensor(shape, dtype))))

    def operand(arg: relax.Expr) -> int:
        if isinstance(arg, tvm.ir.expr.GenericConst):
            value = arg.value.numpy()
            constants.append(value.tobytes())
            return add(Tensor(value.shape, str(value.dtype), const=len(constants) - 1), None)
        if isinstance(arg, relax.Var) and arg in where:
            return where[arg]
        raise BuildError(f"the TVM plan passes an unsupported argument to a kernel: {arg}")

    for param in main.params:
        where[param] = own(tuple(int(d) for d in param.ty.shape), str(param.ty.dtype))
    for binding in (b for blk in main.body.blocks for b in blk.bindings):
        var, value = binding.var, binding.value
        op = op_name(value)
        if op == "relax.memory.alloc_storage":
            storage[var] = block(int(value.args[0].values[0]))
        elif op == "relax.memory.alloc_tensor":
            shape = tuple(int(d) for d in value.args[2].values)
            tensor = Tensor(shape, str(value.args[3].value), int(value.args[1].value))
            where[var] = add(tensor, storage[value.args[0]])
        elif op == "relax.builtin.alloc_tensor":
            where[var] = own(tuple(int(d) for d in value.args[0].values), str(value.args[1].value))
        elif op == "relax.reshape":
            source = where[value.args[0]]
            shape = tuple(int(d) for d in value.args[1].values)
            where[var] = add(replace(tensors[source], shape=shape), block_of[source])
        elif isinstance(value, relax.Call) and isinstance(value.op, tvm.ir.GlobalVar):
            calls.append(Call(value.op.name_hint, tuple(operand(a) for a in value.args)))
        elif isinstance(value, relax.Var):
            where[var] = where[value]
        elif isinstance(value, relax.Tuple):
            grouped[var] = tuple(operand(field) for field in value.fields)
        else:
            raise BuildError(f"TVM lowered part of the model to a {type(value).__name__} "
                             f"({value}), which tinybench's TVM backend cannot emit; use tflm")
    result = main.body.body
    if isinstance(result, relax.Tuple):
        outputs = tuple(operand(field) for field in result.fields)
    else:
        outputs = grouped.get(result) or (operand(result),)

    # a block lives from the first to the last call that touches it; the inputs must survive
    # every inference and the outputs the end of one
    end = len(calls)
    lives = [[end, -1] for _ in sizes]
    for index, call in enumerate(calls):
        for b in (block_of[t] for t in call.args if block_of[t] is not None):
            lives[b] = [min(lives[b][0], index), max(lives[b][1], index)]
    inputs = tuple(where[param] for param in main.params)
    for tensor in inputs:
        lives[block_of[tensor]] = [-1, end]
    for tensor in outputs:
        if block_of[tensor] is None:
            raise BuildError("an output of the model is a constant; tinybench cannot emit it")
        lives[block_of[tensor]][1] = end
    offsets, arena = pack(sizes, [tuple(live) for live in lives])
    placed = tuple(
        t if b is None else replace(t, offset=offsets[b] + t.offset)
        for t, b in zip(tensors, block_of, strict=True)
    )
    buffers = tuple(Buffer(offsets[b], sizes[b], *lives[b]) for b in range(len(sizes)))
    return Plan(placed, tuple(constants), tuple(calls), arena, inputs, outputs, buffers)
