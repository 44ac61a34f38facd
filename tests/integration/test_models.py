"""The five task models, converted for real: reference op sets, MACs, determinism, golden data.

Converting takes TensorFlow about 45 s for the first four tasks on a cold cache and 5 s more
for sww01; the exports are shared by every test here through one session fixture.
"""

import numpy as np
import pytest

from tinybench.cli import main
from tinybench.errors import ConfigError
from tinybench.models.convert import convert
from tinybench.models.export import export
from tinybench.models.inspect import inspect_model
from tinybench.models.reference import golden
from tinybench.tasks import TASKS

pytestmark = [pytest.mark.slow, pytest.mark.tf]


@pytest.fixture(scope="session")
def exported():
    return {name: export(name) for name in TASKS}


@pytest.mark.parametrize("task", TASKS.values(), ids=lambda t: t.name)
def test_export_has_the_reference_ops_shapes_and_macs(exported, task):
    info = inspect_model(exported[task.name])
    assert set(info.ops) == task.reference_ops
    assert info.macs == pytest.approx(task.reference_macs, rel=0.02)
    assert [(t.shape, t.dtype) for t in info.inputs] == [(task.input_shape, "int8")]
    assert [(t.shape, t.dtype) for t in info.outputs] == [(task.output_shape, "int8")]
    assert 0 < info.weight_bytes < info.size_bytes


@pytest.mark.parametrize("name", TASKS)
def test_conversion_is_byte_identical(exported, name):
    # On a warm cache the export came from an earlier process, so this also checks that
    # nothing process-specific (hash seeds, Keras name counters) leaks into the file.
    assert convert(TASKS[name], seed=0) == exported[name].read_bytes()


@pytest.mark.parametrize("name", TASKS)
def test_golden_outputs_depend_on_the_inputs(exported, name):
    data = golden(exported[name], count=4, seed=0)
    assert [x.shape for (x,) in data.inputs] == [TASKS[name].input_shape] * 4
    assert [y.shape for (y,) in data.outputs] == [TASKS[name].output_shape] * 4
    assert all(y.dtype == np.int8 for (y,) in data.outputs)
    assert len({y.tobytes() for (y,) in data.outputs}) > 1


@pytest.mark.parametrize("name", TASKS)
def test_the_two_reference_engines_differ_only_on_fully_connected_rounding(exported, name):
    litert = golden(exported[name], count=5, seed=0, engine="litert")
    tflm = golden(exported[name], count=5, seed=0, engine="tflm")
    worst = max(int(np.abs(a.astype(int) - b.astype(int)).max())
                for (a,), (b,) in zip(litert.outputs, tflm.outputs, strict=True))
    # ad01's ten int8 FULLY_CONNECTED layers round differently in TFLM (4 steps at most here,
    # compounded over the layers); the other models agree exactly
    assert (worst > 0) == (name == "ad01") and worst <= 4


def test_truncated_exports_are_refused(exported, tmp_path):
    data = exported["kws01"].read_bytes()
    broken = tmp_path / "broken.tflite"
    for size in (16, len(data) // 3, len(data) // 2, len(data) - 64, len(data) - 4):
        broken.write_bytes(data[:size])
        with pytest.raises(ConfigError, match="truncated or damaged"):
            inspect_model(broken)


def test_cli_exports_and_inspects(exported, tmp_path, capsys):
    out = tmp_path / "kws.tflite"
    assert main(["models", "export", "kws01", "-o", str(out)]) == 0
    assert out.read_bytes() == exported["kws01"].read_bytes()
    assert main(["models", "inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "DEPTHWISE_CONV_2D" in text
    assert "total MACs    2,656,768" in text
