"""kws01 converted 16x8 (int16 activations and I/O, int8 weights), built here from the task's
Keras definition: TFLM's and CMSIS-NN's s16 kernels run it bit-exact with TFLM's interpreter;
the tvm backend, whose TFLite importer does not take int16 tensors, refuses it before building."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.models.convert import convert
from tinybench.pipeline import run
from tinybench.spec import RunSpec
from tinybench.tasks import TASKS

pytestmark = [pytest.mark.tf, pytest.mark.tflm, pytest.mark.toolchain, pytest.mark.slow]
BOARD = "nrf52840"  # kws01's op set: the TFLM libraries the int8 task uses serve it too


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("int16x8") / "kws01-int16x8.tflite"
    path.write_bytes(convert(TASKS["kws01"], kind="int16x8"))
    return path


@pytest.mark.parametrize("backend", ["tflm", "cmsis-nn"])
def test_int16x8_runs_on_the_tflm_backends_and_passes_its_check(model: Path, backend: str) -> None:
    record = run(RunSpec(task=str(model), backend=backend, board=BOARD, inputs=2))
    assert record.status == "ok", record.reason
    assert record.check.dtype == "int16" and record.check.passed, record.check
    assert record.check.tolerance == 0  # bit-exact


@pytest.mark.tvm
def test_tvm_refuses_int16_in_one_line_before_building(model: Path) -> None:
    record = run(RunSpec(task=str(model), backend="tvm", board=BOARD, inputs=1))
    assert (record.status, record.stage) == ("failed", "generate")
    assert "int16" in record.reason and "tvm backend" in record.reason
