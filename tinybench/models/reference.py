"""Golden data: a model run on the host by a reference engine.

A stateful model's state is reset before each input, as the devices do before each inference.
Every device run is checked against these outputs: LiteRT's reference kernels (BUILTIN_REF)
for TVM, TFLM's own interpreter for TFLM and CMSIS-NN (whose int8 kernels agree with TFLM's
reference kernels bit for bit). Any difference on a device is then a bug, not rounding.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from tinybench.errors import ConfigError
from tinybench.models.inspect import TensorInfo, check_runnable, inspect_model
from tinybench.paths import cache_dir, content_hash, intact, locked, write_sealed

Sample = tuple[np.ndarray, ...]  # one array per model input (or output), in the model's order


@dataclass(frozen=True)
class Golden:
    inputs: list[Sample]  # each input in its shape and dtype
    outputs: list[Sample]  # the reference outputs for the inputs at the same index
    # each output's dequantization step if it is a float made by DEQUANTIZE (TensorInfo.step)
    output_steps: tuple[float | None, ...] = ()
    stateful: bool = False  # the model keeps state: reset before each input (ModelInfo.stateful)


def golden(model: Path, count: int = 5, seed: int = 0, engine: str = "litert") -> Golden:
    """`count` seeded random inputs for `model` (see `random_inputs`) and `engine`'s host
    outputs, cached.

    Engines: "litert" (LiteRT's BUILTIN_REF kernels) and "tflm" (TFLM's interpreter with its
    reference kernels, from the tflite-micro package). They agree except where TFLM rounds
    differently (its int8 FULLY_CONNECTED), so each backend is checked against its own engine.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown reference engine '{engine}'; choose from {', '.join(ENGINES)}")
    package, run = ENGINES[engine]
    model = Path(model)
    info = inspect_model(model)
    check_runnable(info)
    key = content_hash(model, str(count), str(seed), engine, version(package), Path(__file__))
    path = cache_dir("golden") / f"{model.stem}-{engine}-{key}.npz"
    with locked(path):
        if not intact(path):
            rng = np.random.default_rng(seed)
            inputs = [tuple(random_inputs(t, rng) for t in info.inputs) for _ in range(count)]
            outputs = run(model, inputs)
            buffer = io.BytesIO()
            np.savez(buffer, **_columns("input", inputs), **_columns("output", outputs))
            write_sealed(path, buffer.getvalue())
        with np.load(path) as saved:
            return Golden(_rows(saved, "input", len(info.inputs)),
                          _rows(saved, "output", len(info.outputs)),
                          tuple(t.step for t in info.outputs), info.stateful)


def _columns(kind: str, samples: list[Sample]) -> dict[str, np.ndarray]:
    """Each tensor over all samples, stacked: "input0", "input1", …"""
    return {f"{kind}{i}": np.stack(column) for i, column in enumerate(zip(*samples, strict=True))}


def _rows(saved: np.lib.npyio.NpzFile, kind: str, tensors: int) -> list[Sample]:
    """The samples `_columns` stacked, one tuple of arrays each."""
    columns = [saved[f"{kind}{i}"] for i in range(tensors)]
    return list(zip(*columns, strict=True))


def host_outputs(model: Path, inputs: list[np.ndarray], engine: str) -> list[np.ndarray]:
    """`engine`'s output for each input of a model with one input and one output, uncached
    (accuracy mode brings its own inputs)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown reference engine '{engine}'; choose from {', '.join(ENGINES)}")
    return [outputs[0] for outputs in ENGINES[engine][1](Path(model), [(x,) for x in inputs])]


FLOAT_RANGE = 1.0  # float inputs are drawn from [-1, 1]: the range the tasks calibrate on


def random_inputs(tensor: TensorInfo, rng: np.random.Generator) -> np.ndarray:
    """A random input for `tensor`: integers over their type's whole range, floats uniform in
    ±FLOAT_RANGE."""
    dtype = np.dtype(tensor.dtype)
    if np.issubdtype(dtype, np.integer):
        bounds = np.iinfo(dtype)
        return rng.integers(bounds.min, bounds.max, size=tensor.shape, dtype=dtype,
                            endpoint=True)
    return rng.uniform(-FLOAT_RANGE, FLOAT_RANGE, size=tensor.shape).astype(dtype)


def _litert(model: Path, inputs: list[Sample]) -> list[Sample]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_path=str(model), experimental_op_resolver_type=OpResolverType.BUILTIN_REF
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0]
        raise ConfigError(f"the host reference cannot run '{model}': {first}") from error
    sources = [d["index"] for d in interpreter.get_input_details()]  # in the model's order
    sinks = [d["index"] for d in interpreter.get_output_details()]
    outputs = []
    for sample in inputs:
        interpreter.reset_all_variables()  # each input from the initial state, as on a device
        for source, x in zip(sources, sample, strict=True):
            interpreter.set_tensor(source, x)
        interpreter.invoke()
        outputs.append(tuple(interpreter.get_tensor(sink).copy() for sink in sinks))
    return outputs


def _tflm(model: Path, inputs: list[Sample]) -> list[Sample]:
    from tflite_micro.python.tflite_micro import runtime

    try:
        interpreter = runtime.Interpreter.from_file(str(model))
    except (ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0]
        raise ConfigError(f"the TFLM host reference cannot run '{model}': {first}") from error
    count = len(inspect_model(model).outputs)
    outputs = []
    for sample in inputs:
        interpreter.reset()  # each input from the initial state, as on a device
        for index, x in enumerate(sample):
            interpreter.set_input(x, index)
        interpreter.invoke()
        outputs.append(tuple(interpreter.get_output(i).copy() for i in range(count)))
    return outputs


Runner = Callable[[Path, list[Sample]], list[Sample]]
ENGINES: dict[str, tuple[str, Runner]] = {  # engine → (its PyPI package, how to run it)
    "litert": ("ai-edge-litert", _litert),
    "tflm": ("tflite-micro", _tflm),
}
