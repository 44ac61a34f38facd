"""Read any .tflite: ops, tensors, quantization, MACs per layer and weight bytes.

The flatbuffer is parsed with the `tflite` package (generated from TensorFlow's schema), so
nothing needs to run. Any valid flatbuffer is read (optional fields such as tensor names may
be absent); `check_runnable` then says whether tinybench can feed and check the model's
inputs and outputs. MACs are counted for the layers that multiply: convolutions (plain,
depthwise, transposed) and fully connected layers; every other op counts zero.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from math import prod
from pathlib import Path

import tflite

from tinybench.errors import ConfigError

_OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if k.isupper()}
_TYPE_NAMES = {v: k.lower() for k, v in vars(tflite.TensorType).items() if k.isupper()}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy-style: "int8", "float32", ...
    scale: float | None  # per-tensor quantization; None when not quantized
    zero_point: int | None
    # a dimension is -1 in the shape signature (sized at run time); a -1 batch (the leading
    # dimension) stored as 1 is not: Keras marks every export's batch so, and a single-stream
    # run is a batch of one
    dynamic: bool = False
    # a float output made by DEQUANTIZE: the scale of the integer tensor it comes from
    step: float | None = None


@dataclass(frozen=True)
class LayerInfo:
    index: int
    op: str  # builtin name such as "CONV_2D", or "CUSTOM:<code>"
    output_shape: tuple[int, ...]
    macs: int
    weight_bytes: int  # constant inputs: weights, biases


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    size_bytes: int
    ops: dict[str, int]  # op name -> number of layers, most frequent first
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    layers: tuple[LayerInfo, ...]
    macs: int
    weight_bytes: int  # every constant buffer, counted once
    stateful: bool = False  # it keeps state between inferences (variable tensors, variables)
    dtypes: frozenset[str] = frozenset()  # the types of all its tensors (weights included)


def inspect_model(path: Path) -> ModelInfo:
    """Parse `path`; ConfigError if it is not an intact TFLite flatbuffer."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read model '{path}': {error.strerror}") from error
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ConfigError(f"'{path}' is not a TFLite flatbuffer; give a .tflite file")
    try:
        if len(data) % 4:  # a finished flatbuffer is padded to its alignment
            raise ValueError("the file size is not a multiple of 4")
        info = _parse(path, _Bounded(data))
    except (struct.error, IndexError, ValueError, UnicodeDecodeError) as error:
        message = f"'{path}' is truncated or damaged; export or convert it again"
        raise ConfigError(message) from error
    return info


IO_DTYPES = ("int8", "int16", "float32")  # input and output types tinybench feeds and checks


def check_runnable(info: ModelInfo) -> None:
    """ConfigError, in one line, unless tinybench can feed `info`'s inputs and check its
    outputs: at least one of each, each of a type in IO_DTYPES, with a fixed shape."""
    name = info.path.name
    if not info.inputs or not info.outputs:
        raise ConfigError(f"{name} has {len(info.inputs)} inputs and {len(info.outputs)} "
                          "outputs; tinybench runs models with at least one of each")
    tensors = [*(("input", t) for t in info.inputs), *(("output", t) for t in info.outputs)]
    for kind, tensor in tensors:
        if tensor.dtype not in IO_DTYPES:
            raise ConfigError(f"{name}: {kind} '{tensor.name}' is {tensor.dtype}, which no "
                              f"backend runs; convert with {' or '.join(IO_DTYPES)} {kind}s")
        if tensor.dynamic:
            raise ConfigError(f"{name}: {kind} '{tensor.name}' has a dynamic (-1) dimension; "
                              "convert with a fixed batch size and shape")


def builtin_ops(path: Path, backend: str) -> tuple[str, ...]:
    """The builtin op names `path` uses, sorted; ConfigError naming any custom op, which
    `backend` (e.g. "the tvm backend") cannot run."""
    ops = tuple(sorted(inspect_model(path).ops))
    custom = [op for op in ops if op.startswith("CUSTOM:")]
    if custom:
        raise ConfigError(f"{Path(path).name} uses {', '.join(custom)}, which {backend} "
                          "cannot run; use a model made of builtin ops")
    return ops


class _Bounded(bytes):
    """File contents whose slices refuse to run past the end.

    The flatbuffers runtime reads strings by slicing, which would silently shorten a string
    cut off by truncation; its other reads already fail past the end.
    """

    def __getitem__(self, key):
        if isinstance(key, slice) and key.stop is not None and key.stop > len(self):
            raise IndexError("a string runs past the end of the file")
        return super().__getitem__(key)


def _parse(path: Path, data: bytes) -> ModelInfo:
    model = tflite.Model.GetRootAsModel(data, 0)
    buffer_sizes = [_buffer_size(model.Buffers(i), len(data)) for i in range(model.BuffersLength())]
    op_names = [_op_name(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]
    if model.SubgraphsLength() == 0:
        raise ValueError("the model has no subgraph")

    layers: list[LayerInfo] = []
    used_buffers: set[int] = set()
    variables = False
    dtypes: set[str] = set()
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        tensors = [graph.Tensors(i) for i in range(graph.TensorsLength())]
        variables |= any(t.IsVariable() for t in tensors)
        dtypes |= {_dtype(t) for t in tensors}
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            inputs = [tensors[i] if i >= 0 else None for i in _indices(op.Inputs, op.InputsLength)]
            outputs = [tensors[i] for i in _indices(op.Outputs, op.OutputsLength)]
            constants = {b for b in (t.Buffer() for t in inputs if t is not None)
                         if b < len(buffer_sizes) and buffer_sizes[b]}
            used_buffers |= constants
            name = op_names[op.OpcodeIndex()]
            layers.append(LayerInfo(
                index=len(layers),
                op=name,
                output_shape=_shape(outputs[0]) if outputs else (),
                macs=_macs(name, inputs, outputs),
                weight_bytes=sum(buffer_sizes[b] for b in constants),
            ))

    main = model.Subgraphs(0)
    ops = Counter(layer.op for layer in layers)
    steps = _dequantized_steps(main, op_names)
    return ModelInfo(
        path=path,
        size_bytes=len(data),
        ops=dict(ops.most_common()),
        inputs=tuple(_tensor(main, i) for i in _indices(main.Inputs, main.InputsLength)),
        outputs=tuple(_tensor(main, i, steps.get(i))
                      for i in _indices(main.Outputs, main.OutputsLength)),
        layers=tuple(layers),
        macs=sum(layer.macs for layer in layers),
        weight_bytes=sum(buffer_sizes[b] for b in used_buffers),
        stateful=variables or not ops.keys().isdisjoint(_STATE_OPS),
        dtypes=frozenset(dtypes),
    )


_STATE_OPS = ("VAR_HANDLE", "ASSIGN_VARIABLE", "READ_VARIABLE")  # resource variables


def _indices(get: Callable[[int], int], length: Callable[[], int]) -> list[int]:
    """A vector of tensor indices; the generated numpy accessors return 0 for an absent one."""
    return [get(j) for j in range(length())]


def _buffer_size(buffer: tflite.Buffer, file_size: int) -> int:
    """Bytes of a constant buffer, checked to lie inside the file."""
    if buffer.Offset() > 1:  # stored outside the flatbuffer, after it (models over 2 GB)
        if buffer.Offset() + buffer.Size() > file_size:
            raise ValueError("a buffer ends past the end of the file")
        return buffer.Size()
    if buffer.DataLength() == 0:
        return 0
    return buffer.DataAsNumpy().size  # numpy refuses to read past the end of the file


def _op_name(code: tflite.OperatorCode) -> str:
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == tflite.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{(code.CustomCode() or b'?').decode()}"
    return _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")


def _shape(tensor: tflite.Tensor) -> tuple[int, ...]:
    return tuple(tensor.Shape(i) for i in range(tensor.ShapeLength()))


def _tensor(graph: tflite.SubGraph, index: int, step: float | None = None) -> TensorInfo:
    """Tensor `index` of `graph`; one without a name (the field is optional) is named by index."""
    tensor = graph.Tensors(index)
    name = tensor.Name()
    scale, zero_point = _quantization(tensor)
    signature = [tensor.ShapeSignature(i) for i in range(tensor.ShapeSignatureLength())]
    return TensorInfo(
        name=name.decode() if name else f"tensor {index}",
        shape=_shape(tensor),
        dtype=_dtype(tensor),
        scale=scale,
        zero_point=zero_point,
        dynamic=_dynamic(signature, _shape(tensor)),
        step=step,
    )


def _dynamic(signature: list[int], shape: tuple[int, ...]) -> bool:
    """Whether a dimension is sized at run time, a batch of one (see TensorInfo.dynamic) aside."""
    batch_of_one = bool(signature) and signature[0] == -1 and shape[:1] == (1,)
    return -1 in signature[1:] if batch_of_one else -1 in signature


def _dtype(tensor: tflite.Tensor) -> str:
    return _TYPE_NAMES.get(tensor.Type(), f"type{tensor.Type()}")


def _quantization(tensor: tflite.Tensor) -> tuple[float | None, int | None]:
    """The per-tensor scale and zero point (the first, if per channel); None if not quantized."""
    quant = tensor.Quantization()
    if quant is None or quant.ScaleLength() == 0:
        return None, None
    return float(quant.Scale(0)), int(quant.ZeroPoint(0)) if quant.ZeroPointLength() else None


def _dequantized_steps(graph: tflite.SubGraph, op_names: list[str]) -> dict[int, float]:
    """Tensor index → the scale of the integer tensor a DEQUANTIZE op made it from."""
    steps = {}
    for op in (graph.Operators(o) for o in range(graph.OperatorsLength())):
        if op_names[op.OpcodeIndex()] == "DEQUANTIZE" and op.InputsLength() and op.OutputsLength():
            scale, _ = _quantization(graph.Tensors(op.Inputs(0)))
            if scale is not None:
                steps[op.Outputs(0)] = scale
    return steps


def _macs(op: str, inputs: list, outputs: list) -> int:
    """Multiply-accumulates of one layer, from its weight and output shapes."""
    if op == "CONV_2D":  # filter [out_ch, kh, kw, in_ch]
        _, kh, kw, in_ch = _shape(inputs[1])
        return prod(_shape(outputs[0])) * kh * kw * in_ch
    if op == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, out_ch]
        _, kh, kw, _ = _shape(inputs[1])
        return prod(_shape(outputs[0])) * kh * kw
    if op == "FULLY_CONNECTED":  # weights [units, depth]
        return prod(_shape(outputs[0])) * _shape(inputs[1])[-1]
    if op == "TRANSPOSE_CONV":  # inputs: output shape, filter [out_ch, kh, kw, in_ch], input
        out_ch, kh, kw, _ = _shape(inputs[1])
        return prod(_shape(inputs[2])) * kh * kw * out_ch
    return 0


def format_model(info: ModelInfo) -> str:
    """A human-readable report of `info`: tensors, op histogram, layer table, totals."""
    lines = [f"{info.path}  ({info.size_bytes:,} bytes)", ""]
    for kind, tensors in (("input", info.inputs), ("output", info.outputs)):
        for t in tensors:
            quant = (f"scale {t.scale:.6g} zero point {t.zero_point}" if t.scale
                     else f"dequantized, step {t.step:.6g}" if t.step else "not quantized")
            lines.append(f"{kind:6}  {t.name}  {t.dtype}{list(t.shape)}  {quant}")
    lines += ["", "ops:"]
    lines += [f"  {name:24} {count:4}" for name, count in info.ops.items()]
    lines += ["", f"{'#':>4}  {'op':24} {'output':18} {'MACs':>12} {'weight bytes':>13}"]
    lines += [
        f"{layer.index:4}  {layer.op:24} {list(layer.output_shape)!s:18} "
        f"{layer.macs:12,} {layer.weight_bytes:13,}"
        for layer in info.layers
    ]
    lines += [
        "",
        f"total MACs    {info.macs:,} ({info.macs / 1e6:.3f} M)",
        f"weight bytes  {info.weight_bytes:,}",
    ]
    return "\n".join(lines)
