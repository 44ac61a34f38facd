"""Each task's model as TensorFlow's default post-training int8 quantization makes it (float32
input and output behind QUANTIZE and DEQUANTIZE) and as a plain float32 model, built here from
the tasks' Keras definitions, on every backend (boards as listed): they pass their output
checks, or, where the model nearly fills the board's Flash by itself, fail as one record saying
so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.boards import get_board
from tinybench.models.convert import convert
from tinybench.pipeline import run
from tinybench.spec import RunSpec
from tinybench.tasks import TASKS

pytestmark = [pytest.mark.tf, pytest.mark.tflm, pytest.mark.tvm, pytest.mark.toolchain,
              pytest.mark.slow]
BACKENDS = ("tflm", "cmsis-nn", "tvm")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("kinds")
    made: dict[tuple[str, str], Path] = {}

    def model(task: str, kind: str) -> Path:
        if (task, kind) not in made:
            path = folder / f"{task}-{kind}.tflite"
            path.write_bytes(convert(TASKS[task], kind=kind))
            made[task, kind] = path
        return made[task, kind]

    return model


KINDS = ("float-io", "float32")
# The combinations run here so far. vww01 is left out: its float32 model does not fit and its
# float-I/O model needs TFLM libraries of its own (minutes each, cold); ic01 and ad01 were run on
# the nRF52840 only.
CASES = [*(("kws01", kind, board) for kind in KINDS for board in ("nrf52840", "stm32f746")),
         *((task, kind, "nrf52840") for task in ("ic01", "ad01") for kind in KINDS)]


@pytest.mark.parametrize(("task", "kind", "board"), CASES)
def test_float_io_and_float32_models_run_on_every_backend(models, task: str, kind: str,
                                                          board: str) -> None:
    model = models(task, kind)
    for backend in BACKENDS:
        record = run(RunSpec(task=str(model), backend=backend, board=board, inputs=2))
        if record.status == "failed" and "of Flash" in record.reason:  # float32 AD and VWW
            assert model.stat().st_size > 0.75 * get_board(board).flash.size, record.reason
            continue
        assert record.status == "ok", f"{backend}: {record.reason}"
        assert record.check.dtype == "float32" and record.check.passed, (backend, record.check)
