"""Each task's model as TensorFlow's default post-training int8 quantization makes it (float32
input and output behind QUANTIZE and DEQUANTIZE) and as a plain float32 model, built here from
the tasks' Keras definitions, on every backend (boards as listed): they pass their output
checks, or, where the model does not fit the board's Flash or RAM, fail as one record saying
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
# A part of the matrix every task and kind is in (all of it, 90 runs, ran here: every model
# passes on every board it fits; float32 AD is over 1 MiB of Flash, float32 VWW needs more RAM
# than the F746 and the nRF52840 have, float-I/O VWW more than the nRF52840 has).
CASES = [*(("kws01", kind, board) for kind in KINDS for board in ("nrf52840", "stm32f746")),
         *((task, kind, "nrf52840") for task in ("ic01", "ad01", "sww01") for kind in KINDS),
         ("vww01", "float-io", "stm32f746"), ("vww01", "float32", "nucleo-l4r5zi"),
         ("vww01", "float32", "nrf52840")]


@pytest.mark.parametrize(("task", "kind", "board"), CASES)
def test_float_io_and_float32_models_run_on_every_backend(models, task: str, kind: str,
                                                          board: str) -> None:
    model = models(task, kind)
    for backend in BACKENDS:
        record = run(RunSpec(task=str(model), backend=backend, board=board, inputs=2))
        if record.status == "failed" and "of Flash" in record.reason:  # float32 AD
            assert model.stat().st_size > 0.75 * get_board(board).flash.size, record.reason
            continue
        if record.status == "failed" and "RAM" in record.reason:  # float VWW on small boards
            assert (task, board) == ("vww01", "nrf52840"), record.reason
            assert "\n" not in record.reason and "bigger board" in record.reason
            continue
        assert record.status == "ok", f"{backend}: {record.reason}"
        assert record.check.dtype == "float32" and record.check.passed, (backend, record.check)
