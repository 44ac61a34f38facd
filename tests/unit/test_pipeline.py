"""The pipeline's own logic: the matrix, skipping, and failure as data (stages faked)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tinybench import pipeline
from tinybench.analysis.elf import MemoryReport
from tinybench.artifacts import Firmware, FirmwareSources
from tinybench.board import build_named
from tinybench.errors import (
    BuildError,
    ConfigError,
    FitError,
    SimulationError,
    ToolNotFoundError,
)
from tinybench.models.reference import Golden
from tinybench.pipeline import RunSpec, Trail, matrix, prepare, run, run_matrix
from tinybench.results import load_records
from tinybench.toolchain import find_toolchain


class FakeBackend:
    name = "fake"
    output_tolerance = 0
    reference = "litert"

    def __init__(self, missing: str | None = None, error: Exception | None = None) -> None:
        self._missing, self._error = missing, error

    def missing(self) -> str | None:
        return self._missing

    def generate(self, model, board, workdir, probe):
        if self._error:
            raise self._error
        return FirmwareSources(backend=self.name, sources=(), versions={"engine": "1.0"})


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """Register backends that never touch TensorFlow, a compiler or a simulator."""
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "m.tflite"
    model.write_bytes(b"model")
    monkeypatch.setattr(pipeline, "model_file", lambda task: model)
    monkeypatch.setattr(pipeline, "golden_data", lambda model, count, engine: None)
    backends = {
        "broken": FakeBackend(error=BuildError("kernel generation failed\ndetail\nerror: bad op")),
        "absent": FakeBackend(missing="install the absent backend"),
        "fine": FakeBackend(),
    }
    monkeypatch.setattr(pipeline, "BACKENDS", backends)
    return backends


GOLDEN = Golden(inputs=[np.zeros(4, np.int8)] * 2, outputs=[np.array([1, -2, 3], np.int8)] * 2)


@pytest.fixture
def stages(fake, monkeypatch):
    """Fake every stage after generate so that a run succeeds unless a test breaks one."""
    def build(sources, board, opt):
        return Firmware(elf=Path("fw.elf"), map=Path("fw.map"), board=board, sources=sources,
                        key="k")

    def measure(firmware, board):
        return MemoryReport(board=board.name, flash_bytes=1000, ram_bytes=200, text_bytes=900,
                            data_bytes=100, bss_bytes=100, flash_sections={}, ram_sections={},
                            flash_components={}, ram_components={})

    def simulate(simulator, firmware, golden):
        return pipeline._Measured(cycles=500, instructions=400, arena_bytes=64, stack_bytes=32,
                                  outputs=[o.astype(np.int16) for o in golden.outputs])

    monkeypatch.setattr(pipeline, "build_firmware", build)
    monkeypatch.setattr(pipeline, "measure", measure)
    monkeypatch.setattr(pipeline, "golden_data", lambda model, count, engine: GOLDEN)
    monkeypatch.setattr(pipeline, "_simulate", simulate)
    monkeypatch.setattr(pipeline, "_tools", lambda: {"gcc": "12"})


def fail(error: Exception):
    def failing(*args, **kwargs):
        raise error
    return failing


def test_matrix_expands_all_and_lists():
    specs = matrix("kws01,ad01", "tvm", "all")
    assert [(s.task, s.board) for s in specs] == [
        ("kws01", "stm32f746"), ("kws01", "nrf52840"), ("ad01", "stm32f746"), ("ad01", "nrf52840")
    ]


@pytest.mark.parametrize(
    ("tasks", "backends", "boards", "message"),
    [
        ("kws", "tvm", "all", "unknown task 'kws'"),
        ("kws01", "tvm,tlfm", "all", "unknown backend 'tlfm'"),
        ("kws01", "tvm", "esp32", "unknown board 'esp32'"),
    ],
)
def test_matrix_refuses_unknown_names(tasks, backends, boards, message):
    with pytest.raises(ConfigError, match=message):
        matrix(tasks, backends, boards)


def test_a_user_model_is_named_by_its_file():
    assert RunSpec("models/my_net.tflite", "tvm", "nrf52840").label == "my_net/tvm/nrf52840/iss"


def test_a_failing_stage_is_a_failed_record_naming_stage_and_cause(fake):
    record = run(RunSpec("kws01", "broken", "nrf52840"))
    assert record.status == "failed"
    assert record.stage == "generate"
    assert record.reason == "kernel generation failed … error: bad op"
    assert record.broken.startswith("failed at generate")


def test_a_run_through_every_stage_is_an_ok_record_of_what_was_prepared(stages):
    record = run(RunSpec("kws01", "fine", "nrf52840"))
    assert (record.status, record.stage, record.reason) == ("ok", None, None)
    assert (record.cycles, record.instructions, record.memory.flash_bytes) == (500, 400, 1000)
    assert (record.check.inputs, record.check.max_abs_diff) == (2, 0)
    assert record.tools == {"gcc": "12", "engine": "1.0"}
    assert record.model_hash == pipeline.content_hash(pipeline.model_file("kws01"))


@pytest.mark.parametrize(
    ("stage", "replaced", "error"),
    [
        ("convert", "model_file", ConfigError("model file m.tflite does not exist")),
        ("build", "build_firmware", BuildError("compiling failed")),
        ("analyze", "measure", BuildError("the ELF has no .text")),
        ("analyze", "check_fit", FitError("the firmware needs 2 MiB of Flash")),
        ("reference", "golden_data", ConfigError("the host reference failed")),
        ("simulate", "_simulate", SimulationError("the firmware faulted")),
        ("check", "max_diff", SimulationError("the firmware returned 2 output values")),
    ],
)
def test_each_stage_that_fails_is_named_in_the_record(stages, monkeypatch, stage, replaced,
                                                      error):
    monkeypatch.setattr(pipeline, replaced, fail(error))
    record = run(RunSpec("kws01", "fine", "nrf52840"))
    assert (record.status, record.stage, record.reason) == ("failed", stage, str(error))
    assert record.tools == {"gcc": "12", **({} if stage == "convert" else {"engine": "1.0"})}
    assert bool(record.model_hash) == (stage != "convert")


def test_prepare_raises_the_error_itself_and_its_trail_names_the_stage(stages, monkeypatch):
    monkeypatch.setattr(pipeline, "build_firmware", fail(BuildError("compiling failed")))
    trail = Trail()
    with pytest.raises(BuildError, match="compiling failed"):
        prepare(RunSpec("kws01", "fine", "nrf52840"), trail)
    assert (trail.stage, trail.versions) == ("build", {"engine": "1.0"})


def test_a_board_gets_the_firmware_a_run_simulates(stages):
    prepared = build_named("kws01", "fine", "nrf52840", inputs=2)
    assert prepared == prepare(RunSpec("kws01", "fine", "nrf52840", inputs=2))
    assert (prepared.firmware.elf, prepared.golden, prepared.versions) == (
        Path("fw.elf"), GOLDEN, {"engine": "1.0"})
    with pytest.raises(ConfigError, match="one task with one backend"):
        build_named("kws01,ad01", "fine", "nrf52840")
    with pytest.raises(ToolNotFoundError, match="install the absent backend"):
        build_named("kws01", "absent", "nrf52840")


def test_matrix_skips_what_is_missing_and_keeps_every_record(fake, tmp_path):
    results = tmp_path / "results.jsonl"
    specs = [RunSpec("kws01", "absent", "nrf52840"), RunSpec("kws01", "broken", "stm32f746")]
    records, skipped = run_matrix(specs, results)
    assert skipped == [(specs[0], "install the absent backend")]
    assert [r.board for r in load_records(results)] == [r.board for r in records] == ["stm32f746"]
    assert Path(results).read_text().count("\n") == 1


def test_an_interrupted_matrix_keeps_finished_records_and_resume_runs_only_the_rest(
    fake, monkeypatch, tmp_path
):
    results = tmp_path / "results.jsonl"
    specs = [RunSpec("kws01", "broken", board) for board in ("stm32f746", "nrf52840")]
    real_run = pipeline.run

    def interrupted(spec):
        if spec.board == "nrf52840":
            raise KeyboardInterrupt
        return replace(real_run(spec), status="ok", stage=None, reason=None)

    monkeypatch.setattr(pipeline, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_matrix(specs, results)
    assert [r.board for r in load_records(results)] == ["stm32f746"]

    monkeypatch.setattr(pipeline, "run", real_run)
    records, _ = run_matrix(specs, results, resume=True)
    assert [r.board for r in records] == ["stm32f746", "nrf52840"]
    assert [r.board for r in load_records(results)] == ["stm32f746", "nrf52840"]
    # the first record comes from the file (a fresh run of the broken backend would fail)
    assert records[0].status == "ok" and records[1].status == "failed"


def test_a_missing_toolchain_skips_the_run_with_the_install_hint(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TINYBENCH_ARM_GCC", raising=False)
    monkeypatch.delenv("TINYBENCH_ARM_PREFIX", raising=False)
    find_toolchain.cache_clear()
    try:
        records, skipped = run_matrix([RunSpec("kws01", "broken", "nrf52840")])
    finally:
        find_toolchain.cache_clear()
    assert records == []
    assert "apt-get install gcc-arm-none-eabi" in skipped[0][1]
