"""The pipeline's own logic: the matrix, skipping and failure as data, with fake stages."""

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest

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
from tinybench.matrix import matrix, run_matrix
from tinybench.models.reference import Golden
from tinybench.paths import content_hash
from tinybench.pipeline import Measured, Stage, StageFailed, Stages, prepare, run
from tinybench.results import load_records
from tinybench.spec import RunSpec
from tinybench.toolchain import build_jobs


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


class FakeSimulator:
    name = "iss"

    def missing(self) -> str | None:
        return None

    def version(self) -> str:
        return "fake 1"


GOLDEN = Golden(inputs=[(np.zeros(4, np.int8),)] * 2,
                outputs=[(np.array([1, -2, 3], np.int8),)] * 2, output_steps=(None,))


def fail(error: Exception):
    def failing(*args, **kwargs):
        raise error
    return failing


@pytest.fixture
def stages(tmp_path, monkeypatch) -> Stages:
    """Stages that never touch TensorFlow, a compiler or a simulator; a run succeeds."""
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    model = tmp_path / "m.tflite"
    model.write_bytes(b"model")

    def build(sources, board, opt):
        return Firmware(elf=Path("fw.elf"), map=Path("fw.map"), board=board, sources=sources,
                        key="k")

    def measure(firmware, board):
        return MemoryReport(board=board.name, flash_bytes=1000, ram_bytes=200, text_bytes=900,
                            data_bytes=100, bss_bytes=100, flash_sections={}, ram_sections={},
                            flash_components={}, ram_components={})

    def simulate(simulator, firmware, golden):
        return Measured(cycles=500, instructions=400, arena_bytes=64, stack_bytes=32,
                        outputs=[(o[0].astype(np.int16),) for o in golden.outputs])

    backends = {
        "broken": FakeBackend(error=BuildError("kernel generation failed\ndetail\nerror: bad op")),
        "absent": FakeBackend(missing="install the absent backend"),
        "fine": FakeBackend(),
    }
    return Stages(model=lambda task, weights: model, backends=backends, build=build,
                  measure=measure, golden=lambda model, count, engine: GOLDEN,
                  simulators={"iss": FakeSimulator()}, simulate=simulate,
                  toolchain=lambda: None, tools=lambda: {"gcc": "12"})


def test_matrix_expands_all_and_lists():
    specs = matrix("kws01,ad01", "tvm", "all")
    boards = ("stm32f746", "nrf52840", "nucleo-l4r5zi")
    assert [(s.task, s.board) for s in specs] == [(t, b) for t in ("kws01", "ad01") for b in boards]


@pytest.mark.parametrize(
    ("tasks", "backends", "boards", "message"),
    [
        ("kws", "tvm", "all", "unknown task 'kws'; choose from .*Did you mean 'kws01'"),
        ("kws01", "tvm,tlfm", "all", "unknown backend 'tlfm'; .*Did you mean 'tflm'"),
        ("kws01", "tvm", "esp32", "unknown board 'esp32'"),
        ("missing.tflite", "tvm", "all", "model file missing.tflite does not exist"),
    ],
)
def test_matrix_refuses_unknown_names_before_anything_runs(tasks, backends, boards, message):
    with pytest.raises(ConfigError, match=message):
        matrix(tasks, backends, boards)


def test_a_user_model_is_named_by_its_file():
    assert RunSpec("models/my_net.tflite", "tvm", "nrf52840").label == "my_net/tvm/nrf52840/iss"


def test_a_failing_stage_is_a_failed_record_naming_stage_and_cause(stages):
    record = run(RunSpec("kws01", "broken", "nrf52840"), stages)
    assert (record.status, record.stage) == ("failed", "generate")
    assert record.reason == "kernel generation failed … error: bad op"
    assert record.broken.startswith("failed at generate")


def test_a_run_through_every_stage_is_an_ok_record_of_what_was_prepared(stages):
    record = run(RunSpec("kws01", "fine", "nrf52840"), stages)
    assert (record.status, record.stage, record.reason) == ("ok", None, None)
    assert (record.cycles, record.instructions, record.memory.flash_bytes) == (500, 400, 1000)
    assert (record.check.inputs, record.check.max_abs_diff) == (2, 0)
    assert record.tools == {"gcc": "12", "engine": "1.0", "simulator": "fake 1"}
    assert record.model_hash == content_hash(stages.model("kws01", "twin"))
    assert record.environment["python"] and record.environment["numpy"]


def _wrong_size(simulator, firmware, golden):
    return Measured(cycles=1, instructions=1, arena_bytes=None, stack_bytes=None,
                    outputs=[(np.zeros(2, np.int16),)] * 2)


@pytest.mark.parametrize(
    ("stage", "replaced", "reason"),
    [
        ("convert", {"model": fail(ConfigError("no file m.tflite"))}, "no file m.tflite"),
        ("build", {"build": fail(BuildError("compiling failed"))}, "compiling failed"),
        ("analyze", {"measure": fail(FitError("needs 2 MiB of Flash"))}, "needs 2 MiB of Flash"),
        ("reference", {"golden": fail(ConfigError("no reference"))}, "no reference"),
        ("simulate", {"simulate": fail(SimulationError("faulted"))}, "faulted"),
        ("check", {"simulate": _wrong_size},
         "the firmware returned 2 output values, the model has 3"),
        ("build", {"build": fail(KeyError("tvmm"))}, "unexpected KeyError: 'tvmm'"),
        ("simulate", {"simulate": fail(RuntimeError("native hook"))},
         "unexpected RuntimeError: native hook"),
    ],
)
def test_whatever_fails_in_a_stage_is_a_record_naming_it(stages, stage, replaced, reason):
    record = run(RunSpec("kws01", "fine", "nrf52840"), replace(stages, **replaced))
    assert (record.status, record.stage, record.reason) == ("failed", stage, reason)
    simulated = {"simulator": "fake 1"} if stage in ("simulate", "check") else {}
    expected_tools = {} if stage == "convert" else {"gcc": "12", "engine": "1.0", **simulated}
    assert record.tools == expected_tools
    assert bool(record.model_hash) == (stage != "convert")


@pytest.mark.parametrize(("spec", "message"), [
    (RunSpec("kws01", "tvmm", "nrf52840"), "unknown backend 'tvmm'"),
    (RunSpec("kws01", "fine", "nrf5284"), "unknown board 'nrf5284'"),
    (RunSpec("kws01", "fine", "nrf52840", simulator="qemu"), "unknown simulator 'qemu'"),
])
def test_a_spec_with_an_unknown_name_is_a_failed_record_not_an_exception(stages, spec, message):
    record = run(spec, stages)
    assert (record.status, record.stage) == ("failed", "setup")
    assert record.reason.startswith(message)


def test_prepare_raises_stage_failed_naming_the_stage_and_what_is_known(stages):
    broken = replace(stages, build=fail(BuildError("compiling failed")))
    with pytest.raises(StageFailed, match="compiling failed") as raised:
        prepare(RunSpec("kws01", "fine", "nrf52840"), broken)
    assert raised.value.stage is Stage.BUILD
    assert raised.value.tools == {"gcc": "12", "engine": "1.0"}
    assert raised.value.exit_code == BuildError.exit_code


def test_a_board_gets_the_firmware_a_run_simulates(stages):
    prepared = build_named("kws01", "fine", "nrf52840", inputs=2, stages=stages)
    assert prepared == prepare(RunSpec("kws01", "fine", "nrf52840", inputs=2), stages)
    assert (prepared.firmware.elf, prepared.golden, prepared.tools) == (
        Path("fw.elf"), GOLDEN, {"gcc": "12", "engine": "1.0"})
    with pytest.raises(ConfigError, match="one task with one backend"):
        build_named("kws01,ad01", "fine", "nrf52840", stages=stages)
    with pytest.raises(ToolNotFoundError, match="install the absent backend"):
        build_named("kws01", "absent", "nrf52840", stages=stages)


def test_matrix_skips_what_is_missing_and_keeps_every_record(stages, tmp_path):
    results = tmp_path / "results.jsonl"
    specs = [RunSpec("kws01", "absent", "nrf52840"), RunSpec("kws01", "broken", "stm32f746")]
    records, skipped = run_matrix(specs, results, runner=partial(run, stages=stages))
    assert skipped == [(specs[0], "install the absent backend")]
    assert [r.board for r in load_records(results)] == [r.board for r in records] == ["stm32f746"]
    assert Path(results).read_text().count("\n") == 1


def test_an_interrupted_matrix_keeps_finished_records_and_resume_runs_only_the_rest(
    stages, tmp_path
):
    results = tmp_path / "results.jsonl"
    specs = [RunSpec("kws01", "fine", board) for board in ("stm32f746", "nrf52840")]

    def interrupted_on_nrf(simulator, firmware, golden):
        if firmware.board.name == "nrf52840":
            raise KeyboardInterrupt
        return stages.simulate(simulator, firmware, golden)

    with pytest.raises(KeyboardInterrupt):
        run_matrix(specs, results,
                   runner=partial(run, stages=replace(stages, simulate=interrupted_on_nrf)))
    assert [r.board for r in load_records(results)] == ["stm32f746"]

    broken = replace(stages, build=fail(BuildError("compiling failed")))
    records, _ = run_matrix(specs, results, resume=True, runner=partial(run, stages=broken))
    assert [r.board for r in records] == ["stm32f746", "nrf52840"]
    assert [r.board for r in load_records(results)] == ["stm32f746", "nrf52840"]
    # the first record comes from the file (a fresh run would fail to build)
    assert records[0].status == "ok" and records[1].status == "failed"


def test_a_missing_toolchain_skips_the_run_with_the_install_hint(stages):
    absent = replace(stages, toolchain=lambda: "apt-get install gcc-arm-none-eabi")
    records, skipped = run_matrix([RunSpec("kws01", "fine", "nrf52840")],
                                  runner=partial(run, stages=absent))
    assert records == []
    assert "apt-get install gcc-arm-none-eabi" in skipped[0][1]


def _compiles(spec: RunSpec):
    """A runner that reports, as its skip reason, how many objects its builds would compile."""
    raise ToolNotFoundError(str(build_jobs()))


def test_workers_share_the_jobs_among_their_builds():
    specs = [RunSpec("kws01", "fine", board) for board in ("stm32f746", "nrf52840", "l4")]
    _, skipped = run_matrix(specs, runner=_compiles, jobs=2)  # 2 workers: one object each
    assert [reason for _, reason in skipped] == ["1", "1", "1"]
    _, skipped = run_matrix(specs[:2], runner=_compiles, jobs=5)  # 2 workers share 5
    assert [reason for _, reason in skipped] == ["2", "2"]
