"""Models users bring that once crashed tinybench: each now runs and passes its output check,
or fails as one record with a one-line reason while the rest of a matrix goes on.

The models are written here from small Keras definitions with tinybench's own converter,
then edited with TensorFlow's flatbuffer tools where a property (no tensor names, a
quantization axis) cannot be asked of the converter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.models.convert import convert
from tinybench.models.inspect import inspect_model
from tinybench.pipeline import run
from tinybench.spec import RunSpec
from tinybench.tasks import Task

pytestmark = [pytest.mark.tf]


def _depthwise_only():
    """DEPTHWISE_CONV_2D and nothing else: no CONV_2D to bring conv_common.cc along."""
    import keras

    inputs = keras.Input((12, 12, 4), batch_size=1)
    return keras.Model(inputs, keras.layers.DepthwiseConv2D(3, activation="relu")(inputs))


@pytest.fixture(scope="module")
def depthwise_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    task = Task(name="dwonly", title="depthwise only", architecture="depthwise",
                input_shape=(1, 12, 12, 4), output_shape=(1, 10, 10, 4), reference_macs=0,
                reference_ops=frozenset({"DEPTHWISE_CONV_2D"}), build=_depthwise_only)
    path = tmp_path_factory.mktemp("models") / "dwonly.tflite"
    path.write_bytes(convert(task))
    return path


def _edited(model: Path, name: str, edit) -> Path:
    """A copy of `model` named `name`, with `edit` applied to its object form."""
    from tensorflow.lite.tools import flatbuffer_utils

    tree = flatbuffer_utils.read_model(str(model))
    edit(tree)
    path = model.with_name(f"{name}.tflite")
    flatbuffer_utils.write_model(tree, str(path))
    return path


def _unnamed(tree) -> None:
    for graph in tree.subgraphs:
        for tensor in graph.tensors:
            tensor.name = None


def _depthwise_axis_0(tree) -> None:
    """Per-channel depthwise weights quantized along axis 0, which TVM's importer refuses."""
    for tensor in tree.subgraphs[0].tensors:
        quant = tensor.quantization
        if quant is not None and quant.scale is not None and len(quant.scale) > 1:
            quant.quantizedDimension = 0


def test_a_model_without_tensor_names_is_read(depthwise_only: Path) -> None:
    info = inspect_model(_edited(depthwise_only, "unnamed", _unnamed))
    assert info.inputs[0].name.startswith("tensor ")
    assert info.ops == {"DEPTHWISE_CONV_2D": 1}


@pytest.mark.tvm
def test_a_model_tvm_cannot_import_fails_as_one_record(depthwise_only: Path) -> None:
    model = _edited(depthwise_only, "axis0", _depthwise_axis_0)
    record = run(RunSpec(task=str(model), backend="tvm", board="nrf52840", inputs=1))
    assert (record.status, record.stage) == ("failed", "generate")
    assert record.reason.startswith("TVM cannot import axis0.tflite: ")
    assert "\n" not in record.reason and "QuantizedDimension" in record.reason


@pytest.mark.tflm
@pytest.mark.toolchain
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tflm", "cmsis-nn", "tvm"])
def test_depthwise_only_and_unnamed_models_pass_their_checks(depthwise_only: Path,
                                                             backend: str) -> None:
    for model in (depthwise_only, _edited(depthwise_only, "unnamed", _unnamed)):
        record = run(RunSpec(task=str(model), backend=backend, board="stm32f746", inputs=2))
        assert record.status == "ok", record.reason
        assert record.check.passed
