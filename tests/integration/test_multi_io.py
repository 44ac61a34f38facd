"""A model with two inputs of different shapes and two outputs, written here as a Keras
functional model and converted full-integer int8 and with float32 I/O (TensorFlow's default
post-training quantization), and one of mixed types (the float-I/O model with the vector input
and the score output left int8, since the converter makes all I/O one type): on tflm, cmsis-nn
and tvm, each output passes its check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinybench.models.convert import flatbuffer
from tinybench.models.inspect import inspect_model
from tinybench.pipeline import run
from tinybench.spec import RunSpec

pytestmark = [pytest.mark.tf, pytest.mark.tflm, pytest.mark.tvm, pytest.mark.toolchain,
              pytest.mark.slow]
BACKENDS = ("tflm", "cmsis-nn", "tvm")
# Its ops are ic01's (with QUANTIZE and DEQUANTIZE for float I/O): the TFLM libraries the
# tasks use serve it too.
BOARD = "nrf52840"
SHAPES = ((1, 8, 8, 3), (1, 16))  # an image and a vector


def two_in_two_out_model(kind: str, seed: int = 0) -> bytes:
    """An image and a vector in; class probabilities from both, and a score from the vector
    alone, out; seeded weights, converted to `kind`."""
    import keras
    from keras import layers

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    image = keras.Input(SHAPES[0][1:], batch_size=1, name="image")
    vector = keras.Input(SHAPES[1][1:], batch_size=1, name="vector")
    features = layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    features = layers.Flatten()(layers.AveragePooling2D(8)(features))
    hidden = layers.Dense(8, activation="relu")(vector)
    classes = layers.Softmax(name="classes")(layers.Dense(4)(layers.Add()([features, hidden])))
    score = layers.Dense(3, name="score")(hidden)
    model = keras.Model([image, vector], [classes, score])
    rng = np.random.default_rng([seed, 1])
    calibration = [tuple(rng.uniform(-1, 1, shape).astype(np.float32) for shape in SHAPES)
                   for _ in range(16)]
    return flatbuffer(model, calibration, kind)


def _mixed(path: Path) -> None:
    """Make the float-I/O model at `path` take its vector as int8 and give its score as int8:
    drop the QUANTIZE after that input and the DEQUANTIZE before that output."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    tree = flatbuffer_utils.read_model(str(path))
    graph = tree.subgraphs[0]

    def edge(op_code: int, tensor: int, side: str):
        return next(op for op in graph.operators
                    if tree.operatorCodes[op.opcodeIndex].builtinCode == op_code
                    and getattr(op, side)[0] == tensor)

    vector = next(i for i in graph.inputs if tuple(graph.tensors[i].shape) == SHAPES[1])
    score = next(i for i in graph.outputs if tuple(graph.tensors[i].shape) == (1, 3))
    quantize = edge(schema.BuiltinOperator.QUANTIZE, vector, "inputs")
    dequantize = edge(schema.BuiltinOperator.DEQUANTIZE, score, "outputs")
    moved = {vector: quantize.outputs[0], score: dequantize.inputs[0]}
    graph.inputs = [moved.get(i, i) for i in graph.inputs]
    graph.outputs = [moved.get(i, i) for i in graph.outputs]
    graph.operators = [op for op in graph.operators if op not in (quantize, dequantize)]
    for signature in tree.signatureDefs or []:
        for tensor in [*signature.inputs, *signature.outputs]:
            tensor.tensorIndex = moved.get(tensor.tensorIndex, tensor.tensorIndex)
    flatbuffer_utils.write_model(tree, str(path))


@pytest.fixture(scope="module", params=("int8", "float-io", "mixed"))
def model(request, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("multi-io") / f"two-{request.param}.tflite"
    path.write_bytes(two_in_two_out_model("float-io" if request.param == "mixed"
                                          else request.param))
    if request.param == "mixed":
        _mixed(path)
        assert {t.dtype for t in inspect_model(path).inputs} == {"int8", "float32"}
        assert {t.dtype for t in inspect_model(path).outputs} == {"int8", "float32"}
    return path


def test_each_input_and_output_runs_and_passes_its_check(model: Path) -> None:
    info = inspect_model(model)
    assert (len(info.inputs), len(info.outputs)) == (2, 2)
    assert {t.shape for t in info.inputs} == set(SHAPES)
    for backend in BACKENDS:
        record = run(RunSpec(task=str(model), backend=backend, board=BOARD, inputs=2))
        assert record.status == "ok", f"{backend}: {record.reason}"
        check = record.check
        assert len(check.outputs) == 2 and check.passed, (backend, check)
        assert [o.dtype for o in check.outputs] == [t.dtype for t in info.outputs]
