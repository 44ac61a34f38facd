"""The TVM backend's generated C against LiteRT's reference kernels.

First on the host (the generated sources, compiled with gcc and a tiny driver), for one small
model per operator and for the four tasks; then cross-compiled into the harness for both
boards; then end to end in the simulator.
"""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinybench.backends.tvm import KERNELS, TvmBackend
from tinybench.boards import all_boards, get_board
from tinybench.models.reference import golden

BACKEND = TvmBackend()
HOST_MAIN = Path(__file__).with_name("tvm_host_main.c")
FIRMWARE_INCLUDE = Path(__file__).parents[2] / "firmware" / "include"
pytestmark = [pytest.mark.tvm, pytest.mark.tf, pytest.mark.usefixtures("private_cache")]


def _layers(kind: str):
    import keras

    layers = keras.layers
    inp = keras.Input((10, 12, 3), batch_size=1)
    if kind == "conv":
        x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    elif kind == "depthwise":
        x = layers.DepthwiseConv2D(3, padding="same", activation="relu")(inp)
    elif kind == "dense":
        x = layers.Dense(7)(layers.Reshape((360,))(inp))
    elif kind == "add":
        x = layers.Add()([layers.Conv2D(3, 1)(inp), inp])
    elif kind == "avgpool":
        x = layers.AveragePooling2D((5, 6))(inp)
    else:  # softmax
        x = layers.Softmax()(layers.Dense(10)(layers.Reshape((360,))(inp)))
    return keras.Model(inp, x)


def tiny_model(kind: str, folder: Path) -> Path:
    """A one-operator int8 model with seeded weights, calibrated on seeded inputs."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = _layers(kind)
    rng = np.random.default_rng(1)
    samples = rng.uniform(-1, 1, (16, 1, 10, 12, 3)).astype(np.float32)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([s] for s in samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    path = folder / f"{kind}.tflite"
    path.write_bytes(converter.convert())
    return path


@pytest.fixture(scope="module")
def softmax_only() -> bytes:
    """An int8 model of one SOFTMAX over 4 rows of 40, converted once for the module."""
    import keras
    import tensorflow as tf

    inp = keras.Input((4, 40), batch_size=1)
    converter = tf.lite.TFLiteConverter.from_keras_model(
        keras.Model(inp, keras.layers.Softmax()(inp)))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    samples = np.random.default_rng(0).uniform(-4, 4, (8, 1, 4, 40)).astype(np.float32)
    converter.representative_dataset = lambda: ([s] for s in samples)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


def with_input_scale(model: bytes, scale: float, folder: Path) -> Path:
    """`model` with its input scale overwritten in the flatbuffer, saved in `folder`."""
    import tflite

    data = bytearray(model)
    graph = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    graph.Tensors(graph.Inputs(0)).Quantization().ScaleAsNumpy()[0] = scale  # a view of data
    path = folder / f"softmax-{scale}.tflite"
    path.write_bytes(data)
    return path


def softmax_input_scale(model: Path) -> float:
    """The input scale of the (one) SOFTMAX in `model`."""
    import tflite

    root = tflite.Model.GetRootAsModel(model.read_bytes(), 0)
    graph = root.Subgraphs(0)
    for op in (graph.Operators(i) for i in range(graph.OperatorsLength())):
        code = root.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == tflite.BuiltinOperator.SOFTMAX:
            return float(graph.Tensors(op.Inputs(0)).Quantization().ScaleAsNumpy()[0])
    raise AssertionError(f"{model.name} has no SOFTMAX")


def run_on_host(model: Path, workdir: Path, inputs: list[np.ndarray]) -> np.ndarray:
    """Generate for the M4, compile the sources with the host gcc and run every input."""
    sources = BACKEND.generate(model, get_board("nrf52840"), workdir)
    exe = workdir / "model"
    includes = [f"-I{d}" for d in (FIRMWARE_INCLUDE, *sources.include_dirs)]
    subprocess.run(["gcc", "-O2", "-o", exe, *sources.sources, HOST_MAIN, *includes, "-lm"],
                   check=True)
    ran = subprocess.run([exe], input=b"".join(x.tobytes() for x in inputs),
                         capture_output=True, check=True)
    return np.frombuffer(ran.stdout, np.int8).reshape(len(inputs), -1)


def max_error(model: Path, workdir: Path) -> int:
    reference = golden(model, count=5)
    outputs = run_on_host(model, workdir, [x for (x,) in reference.inputs])
    expected = np.stack([o.reshape(-1) for (o,) in reference.outputs]).astype(int)
    return int(np.abs(outputs.astype(int) - expected).max())


needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no host gcc")


@needs_gcc
@pytest.mark.parametrize("kind", ["conv", "depthwise", "dense", "add", "avgpool", "softmax"])
def test_each_operator_matches_the_reference_on_the_host(kind, tmp_path):
    assert max_error(tiny_model(kind, tmp_path), tmp_path) <= BACKEND.output_tolerance


@needs_gcc
@pytest.mark.parametrize("scale", [0.001, 0.01, 0.25, 50.0])
def test_the_integer_softmax_is_bit_exact_with_the_reference(scale, softmax_only, tmp_path):
    # from scales where no input falls below diff_min to scales where almost all do; at 50
    # the input multiplier saturates. The tasks' own scales are the next test's.
    model = with_input_scale(softmax_only, scale, tmp_path)
    assert max_error(model, tmp_path) == 0
    assert not re.search(r"float|double|expf", (tmp_path / KERNELS).read_text())


@needs_gcc
@pytest.mark.slow
@pytest.mark.parametrize("task", ["kws01", "vww01", "ic01", "sww01"])
def test_the_integer_softmax_is_bit_exact_at_each_tasks_own_scale(task, softmax_only, tmp_path):
    from tinybench.models.export import export

    model = with_input_scale(softmax_only, softmax_input_scale(export(task)), tmp_path)
    assert max_error(model, tmp_path) == 0


@needs_gcc
@pytest.mark.slow
@pytest.mark.parametrize("task", ["kws01", "vww01", "ic01", "ad01", "sww01"])
def test_each_task_matches_the_reference_on_the_host(task, tmp_path):
    from tinybench.models.export import export

    # every op of the five tasks has an integer kernel (the tolerance is for non-global pools)
    assert max_error(export(task), tmp_path) == 0


def test_a_second_generate_reuses_the_cache(tmp_path):
    model = tiny_model("dense", tmp_path)
    first = BACKEND.generate(model, get_board("stm32f746"), tmp_path / "a")
    cached = sorted(Path(first.sources[0]).parent.iterdir())
    second = BACKEND.generate(model, get_board("stm32f746"), tmp_path / "b")
    assert [p.read_bytes() for p in first.sources] == [p.read_bytes() for p in second.sources]
    assert int(first.extra["arena_bytes"]) > 0
    assert sorted(Path(first.sources[0]).parent.iterdir()) == cached


@pytest.mark.toolchain
@pytest.mark.parametrize("board", all_boards(), ids=str)
def test_the_sources_link_into_the_harness_for_each_board(board, tmp_path):
    from tinybench.firmware import build_firmware

    model = tiny_model("conv", tmp_path)
    sources = BACKEND.generate(model, get_board(board), tmp_path)
    firmware = build_firmware(sources, get_board(board))
    assert firmware.elf.stat().st_size > 0


@pytest.mark.toolchain
@pytest.mark.slow
@pytest.mark.parametrize("board", all_boards(), ids=str)
def test_keyword_spotting_runs_end_to_end_in_the_simulator(board, tmp_path):
    from tinybench.models.export import export
    from tinybench.pipeline import missing, run
    from tinybench.spec import RunSpec

    spec = RunSpec("kws01", "tvm", board, "iss")
    if missing(spec):
        pytest.skip(missing(spec))
    record = run(spec)
    assert record.status == "ok", record.reason
    assert record.check.inputs == 5
    assert record.check.max_abs_diff == 0
    # the harness reports what the glue says it uses: the planned arena, no workspace left
    facts = BACKEND.generate(export("kws01"), get_board(board), tmp_path).extra
    assert record.arena_bytes == int(facts["arena_bytes"])
    assert facts["workspace_bytes"] == "0"
    assert record.tools["tvm"] == facts["tvm_version"]
    assert record.instructions > 1_000_000
    assert record.memory.ram_bytes < get_board(board).ram_size
