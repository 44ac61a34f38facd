"""Golden data: an int8 model run on the host by a reference engine.

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
from tinybench.models.inspect import inspect_model
from tinybench.paths import cache_dir, content_hash, intact, locked, write_sealed


@dataclass(frozen=True)
class Golden:
    inputs: list[np.ndarray]  # int8, each in the model's input shape
    outputs: list[np.ndarray]  # int8, the reference output for the input at the same index


def golden(model: Path, count: int = 5, seed: int = 0, engine: str = "litert") -> Golden:
    """`count` seeded random int8 inputs for `model` and `engine`'s host outputs, cached.

    Engines: "litert" (LiteRT's BUILTIN_REF kernels) and "tflm" (TFLM's interpreter with its
    reference kernels, from the tflite-micro package). They agree except where TFLM rounds
    differently (its int8 FULLY_CONNECTED), so each backend is checked against its own engine.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown reference engine '{engine}'; choose from {', '.join(ENGINES)}")
    package, run = ENGINES[engine]
    model = Path(model)
    info = inspect_model(model)
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise ConfigError(
            f"'{model}' has {len(info.inputs)} inputs and {len(info.outputs)} outputs; "
            "tinybench benchmarks models with one of each"
        )
    key = content_hash(model, str(count), str(seed), engine, version(package), Path(__file__))
    path = cache_dir("golden") / f"{model.stem}-{engine}-{key}.npz"
    with locked(path):
        if not intact(path):
            rng = np.random.default_rng(seed)
            shape = info.inputs[0].shape
            inputs = [rng.integers(-128, 128, size=shape, dtype=np.int8) for _ in range(count)]
            buffer = io.BytesIO()
            np.savez(buffer, inputs=np.stack(inputs), outputs=np.stack(run(model, inputs)))
            write_sealed(path, buffer.getvalue())
        with np.load(path) as saved:
            return Golden(list(saved["inputs"]), list(saved["outputs"]))


def host_outputs(model: Path, inputs: list[np.ndarray], engine: str) -> list[np.ndarray]:
    """`engine`'s outputs for each int8 input, uncached (accuracy mode brings its own inputs)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown reference engine '{engine}'; choose from {', '.join(ENGINES)}")
    return ENGINES[engine][1](Path(model), inputs)


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
        interpreter.set_input(x, 0)
        interpreter.invoke()
        outputs.append(interpreter.get_output(0).copy())
    return outputs


Runner = Callable[[Path, list[np.ndarray]], list[np.ndarray]]
ENGINES: dict[str, tuple[str, Runner]] = {  # engine → (its PyPI package, how to run it)
    "litert": ("ai-edge-litert", _litert),
    "tflm": ("tflite-micro", _tflm),
}
