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


@dataclass(frozen=True)
class Golden:
    inputs: list[np.ndarray]  # each in the model's input shape and dtype
    outputs: list[np.ndarray]  # the reference output for the input at the same index
    output_step: float | None = None  # a float output's dequantization step (TensorInfo.step)
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
            inputs = [random_inputs(info.inputs[0], rng) for _ in range(count)]
            buffer = io.BytesIO()
            np.savez(buffer, inputs=np.stack(inputs), outputs=np.stack(run(model, inputs)))
            write_sealed(path, buffer.getvalue())
        with np.load(path) as saved:
            return Golden(list(saved["inputs"]), list(saved["outputs"]), info.outputs[0].step,
                          info.stateful)


def host_outputs(model: Path, inputs: list[np.ndarray], engine: str) -> list[np.ndarray]:
    """`engine`'s outputs for each int8 input, uncached (accuracy mode brings its own inputs)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown reference engine '{engine}'; choose from {', '.join(ENGINES)}")
    return ENGINES[engine][1](Path(model), inputs)


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


def _litert(model: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_path=str(model), experimental_op_resolver_type=OpResolverType.BUILTIN_REF
        )
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0]
        raise ConfigError(f"the host reference cannot run '{model}': {first}") from error
    source = interpreter.get_input_details()[0]["index"]
    sink = interpreter.get_output_details()[0]["index"]
    outputs = []
    for x in inputs:
        interpreter.reset_all_variables()  # each input from the initial state, as on a device
        interpreter.set_tensor(source, x)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(sink).copy())
    return outputs


def _tflm(model: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime

    try:
        interpreter = runtime.Interpreter.from_file(str(model))
    except (ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0]
        raise ConfigError(f"the TFLM host reference cannot run '{model}': {first}") from error
    outputs = []
    for x in inputs:
        interpreter.reset()  # each input from the initial state, as on a device
        interpreter.set_input(x, 0)
        interpreter.invoke()
        outputs.append(interpreter.get_output(0).copy())
    return outputs


Runner = Callable[[Path, list[np.ndarray]], list[np.ndarray]]
ENGINES: dict[str, tuple[str, Runner]] = {  # engine → (its PyPI package, how to run it)
    "litert": ("ai-edge-litert", _litert),
    "tflm": ("tflite-micro", _tflm),
}
