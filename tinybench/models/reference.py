"""Golden data: an int8 model run on the host with LiteRT's reference kernels.

Every device run is checked against these outputs. The reference kernels (BUILTIN_REF) are
the ones TFLM's and CMSIS-NN's int8 kernels agree with bit for bit, so any difference on a
device is a bug, not rounding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from tinybench.errors import ConfigError
from tinybench.models.inspect import inspect_model
from tinybench.paths import cache_dir, content_hash, intact, write_sealed


@dataclass(frozen=True)
class Golden:
    inputs: list[np.ndarray]  # int8, each in the model's input shape
    outputs: list[np.ndarray]  # int8, the reference output for the input at the same index


def golden(model: Path, count: int = 5, seed: int = 0) -> Golden:
    """`count` seeded random int8 inputs for `model` and its reference outputs, cached."""
    model = Path(model)
    info = inspect_model(model)
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise ConfigError(
            f"'{model}' has {len(info.inputs)} inputs and {len(info.outputs)} outputs; "
            "tinybench benchmarks models with one of each"
        )
    key = content_hash(model, str(count), str(seed), version("ai-edge-litert"), Path(__file__))
    path = cache_dir("golden") / f"{model.stem}-{key}.npz"
    if intact(path):
        with np.load(path) as saved:
            return Golden(list(saved["inputs"]), list(saved["outputs"]))

    rng = np.random.default_rng(seed)
    shape = info.inputs[0].shape
    inputs = [rng.integers(-128, 128, size=shape, dtype=np.int8) for _ in range(count)]
    result = Golden(inputs, _run(model, inputs))
    buffer = io.BytesIO()
    np.savez(buffer, inputs=np.stack(result.inputs), outputs=np.stack(result.outputs))
    write_sealed(path, buffer.getvalue())
    return result


def _run(model: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
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
