"""Accuracy mode end to end: generated data sets through TFLM firmware in the built-in simulator,
scored against the host reference; one forced difference is counted and named; chunks in worker
processes give the record of one process."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from tinybench.accuracy import run_accuracy, synthetic_dataset
from tinybench.board.runner import accuracy_on_board
from tinybench.models.reference import host_outputs
from tinybench.pipeline import model_file, prepare
from tinybench.simulators.pty import SerialSimulation
from tinybench.spec import RunSpec

pytestmark = [pytest.mark.tflm, pytest.mark.toolchain, pytest.mark.slow]


@pytest.fixture(scope="module", params=["kws01", "ad01"])
def data(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp(request.param)
    synthetic_dataset(request.param, model_file(request.param), folder, 200)
    return request.param, folder


@pytest.mark.parametrize("board", ["nrf52840", "stm32f746"])
def test_the_device_scores_what_the_host_scores(data: tuple[str, Path], board: str,
                                                tmp_path: Path) -> None:
    task, folder = data
    record = run_accuracy(RunSpec(task, "tflm", board, inputs=1), folder, kept=tmp_path)
    assert record.status == "ok", record.reason
    accuracy = record.accuracy
    assert accuracy.samples == 200 and accuracy.metric == ("auc" if task == "ad01" else "top1")
    assert accuracy.device == accuracy.host and accuracy.differing == ()
    assert 0.5 < accuracy.device < 1.0  # the generated labels are neither all right nor random
    assert record.check.passed and record.energy_uj > 0


def test_a_sample_that_differs_is_counted_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "ad01"
    synthetic_dataset("ad01", model_file("ad01"), folder, 12)

    def off_by_one_on_the_fifth_file(model, inputs, engine):
        outputs = host_outputs(model, inputs, engine)
        windows = len(outputs) // 12
        changed = outputs[4 * windows].copy()  # the 5th file's first window, one value 1 LSB off
        changed.flat[0] += 1 if changed.flat[0] < 127 else -1
        outputs[4 * windows] = changed
        return outputs

    record = run_accuracy(RunSpec("ad01", "tflm", "nrf52840", inputs=1), folder,
                          reference=off_by_one_on_the_fifth_file, kept=tmp_path / "kept")
    assert record.accuracy.differing == ("ad01_00004.bin",)
    assert record.accuracy.disagreements == 1
    assert record.broken and "differ from the reference by 1 LSB" in record.broken


def test_board_accuracy_over_the_pty_equals_the_simulated_run(tmp_path: Path) -> None:
    pytest.importorskip("serial", reason="no pyserial: pip install 'tinybench[board]'")
    folder = tmp_path / "ad01"
    synthetic_dataset("ad01", model_file("ad01"), folder, 6)
    spec = RunSpec("ad01", "tflm", "nrf52840", inputs=1)
    simulated = run_accuracy(spec, folder, kept=tmp_path / "simulated")
    target = prepare(spec)
    with SerialSimulation(target.firmware.elf, target.firmware.board, idle_timeout=30) as sim:
        on_board = accuracy_on_board(target, sim.port, folder, timeout=30, chunk=4,
                                     kept=tmp_path / "board")
    assert on_board.simulator == "board" and on_board.accuracy == simulated.accuracy
    assert on_board.cycles == simulated.cycles and on_board.check == simulated.check


def test_chunks_in_two_workers_give_the_record_of_one_process(tmp_path: Path) -> None:
    folder = tmp_path / "kws01"
    synthetic_dataset("kws01", model_file("kws01"), folder, 10)
    spec = RunSpec("kws01", "tflm", "nrf52840", inputs=1)
    serial = run_accuracy(spec, folder, chunk=3, kept=tmp_path / "serial")
    parallel = run_accuracy(spec, folder, chunk=3, kept=tmp_path / "parallel", jobs=2)
    assert serial.status == "ok", serial.reason
    assert parallel.status == "ok", parallel.reason
    assert asdict(replace(parallel, time=serial.time)) == asdict(serial)
    kept = [json.loads(line)["file"]
            for line in next((tmp_path / "parallel").iterdir()).read_text().splitlines()]
    assert sorted(kept) == [f"kws01_{i:05d}.bin" for i in range(10)]
