"""The pipeline's own logic: the matrix, skipping, and failure as data (stages faked)."""

from dataclasses import replace
from pathlib import Path

import pytest

from tinybench import pipeline
from tinybench.errors import BuildError, ConfigError
from tinybench.pipeline import RunSpec, matrix, run, run_matrix
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

    def generate(self, model, board, workdir):
        raise self._error


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
    }
    monkeypatch.setattr(pipeline, "BACKENDS", backends)
    return backends


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
