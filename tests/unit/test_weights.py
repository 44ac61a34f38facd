"""The official MLPerf Tiny models as a pinned component, and choosing them per run."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from tinybench import deps
from tinybench.cli import main
from tinybench.errors import ConfigError, ToolNotFoundError
from tinybench.matrix import matrix
from tinybench.models.export import REFERENCE_COMPONENT, task_model
from tinybench.pipeline import model_file
from tinybench.reports.compare import compare_runs
from tinybench.reports.markdown import markdown_report
from tinybench.reports.thresholds import thresholds_from_options
from tinybench.results import OutputCheck, Record, parse_record
from tinybench.spec import RunSpec
from tinybench.tasks import TASKS

MODELS = deps.get(REFERENCE_COMPONENT)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(MODELS.env, raising=False)


def _checkout(folder: Path, contents: dict[str, bytes]) -> Path:
    """A copy of the component at `folder` holding `contents` (task → bytes) at the pinned paths."""
    for task, data in contents.items():
        path = folder / MODELS.files[task].path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def _pinned_to(monkeypatch: pytest.MonkeyPatch, contents: dict[str, bytes]) -> None:
    """Pin the component's files to `contents`, so tests need not carry the real models."""
    files = {task: replace(MODELS.files[task], sha256=hashlib.sha256(data).hexdigest())
             for task, data in contents.items()}
    pinned = replace(MODELS, files=files)
    real = deps.get
    monkeypatch.setattr(deps, "get", lambda name: pinned if name == MODELS.name else real(name))


def test_each_task_and_sww01_has_its_official_int8_model_pinned_by_sha256() -> None:
    assert MODELS.repo == "mlcommons/tiny" and MODELS.env == "TINYBENCH_MLPERF_TINY_MODELS_DIR"
    assert MODELS.url == f"https://github.com/mlcommons/tiny/archive/{MODELS.commit}.zip"
    assert set(MODELS.files) == {*TASKS, "sww01"}
    for pinned in MODELS.files.values():
        assert pinned.path.startswith("benchmark/training/")
        assert "/trained_models/" in pinned.path and pinned.path.endswith(".tflite")
        assert len(pinned.sha256) == 64 and int(pinned.sha256, 16) >= 0
    assert MODELS.marker == MODELS.files["kws01"].path


def test_a_pinned_file_is_checked_at_every_use(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _pinned_to(monkeypatch, {"kws01": b"official kws"})
    monkeypatch.setenv(MODELS.env, str(_checkout(tmp_path / "tiny", {"kws01": b"official kws"})))
    assert task_model("kws01", "reference").read_bytes() == b"official kws"
    assert model_file("kws01", "reference").read_bytes() == b"official kws"
    _checkout(tmp_path / "tiny", {"kws01": b"a retrained kws"})
    with pytest.raises(ToolNotFoundError, match=r"the pin says .*tinybench deps fetch mlperf"):
        task_model("kws01", "reference")


def test_fetch_checks_every_pinned_file_unless_told_not_to(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _pinned_to(monkeypatch, {"kws01": b"kws", "ad01": b"ad"})
    archive = tmp_path / "tiny.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(f"tiny-x/{MODELS.files['kws01'].path}", b"kws")
        z.writestr(f"tiny-x/{MODELS.files['ad01'].path}", b"damaged")
    with pytest.raises(ConfigError, match=r"anomaly_detection.*differs from its pinned sha256"):
        deps.fetch(MODELS.name, archive)
    path = deps.fetch(MODELS.name, archive, verify=False)
    assert json.loads((path / deps.PIN_FILE).read_text())["commit"] == MODELS.commit
    assert task_model("kws01", "reference").read_bytes() == b"kws"
    assert task_model("kws01", "reference").name.startswith("kws01-reference-")
    with pytest.raises(ToolNotFoundError, match=r"differs|the pin says"):
        task_model("ad01", "reference")  # what --no-verify let in is still caught at use


def test_the_twin_stays_the_default_and_a_file_runs_its_own_weights() -> None:
    twin, official = RunSpec("kws01", "tflm", "nrf52840"), RunSpec(
        "kws01", "tflm", "nrf52840", weights="reference")
    assert twin.key == ("kws01", "tflm", "nrf52840", "iss", "twin")
    assert twin.label == "kws01/tflm/nrf52840/iss"  # as before weights existed
    assert official.label == "kws01/tflm/nrf52840/iss/reference"
    assert RunSpec("nets/my.tflite", "tvm", "nrf52840", weights="reference").key[-1] == "file"
    assert task_model("kws01") == task_model("kws01", "twin")


def test_without_the_component_reference_weights_stop_in_one_line_before_any_work(capsys) -> None:
    with pytest.raises(ToolNotFoundError, match=r"mlperf-tiny-models.*tinybench deps fetch "
                                                r"mlperf-tiny-models.*TINYBENCH_MLPERF_TINY"):
        matrix("kws01", "tflm", "nrf52840", weights="reference")
    assert main(["run", "--task", "kws01", "--weights", "reference", "--backend", "tflm",
                 "--board", "nrf52840", "--results", "/nonexistent/never-written.jsonl"]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "deps fetch mlperf-tiny-models" in err
    assert matrix("kws01", "tflm", "nrf52840")  # twins need nothing


def test_unknown_weights_get_a_did_you_mean() -> None:
    with pytest.raises(ConfigError, match=r"unknown weights 'refrence'.*Did you mean 'reference'"):
        matrix("kws01", "tflm", "nrf52840", weights="refrence")


def _record(weights: str, cycles: int) -> Record:
    return Record(task="kws01", model_hash=weights, weights=weights, backend="tflm",
                  board="nrf52840", simulator="iss", clock_hz=64_000_000, cycles=cycles,
                  check=OutputCheck(inputs=1, max_abs_diff=0))


def test_a_reference_run_is_never_compared_with_a_twin_run() -> None:
    twin, official = _record("twin", 1_000), _record("reference", 5_000)
    outcomes = compare_runs([twin], [official], thresholds_from_options(None))
    assert sorted(o.mark for o in outcomes) == ["missing", "new"]
    both = compare_runs([twin, official], [twin, official], thresholds_from_options(None))
    assert [o.mark for o in both] == ["", ""]


def test_tables_show_the_weights_where_a_run_did_not_use_the_twin() -> None:
    assert "weights" not in markdown_report([_record("twin", 1_000)])
    report = markdown_report([_record("twin", 1_000), _record("reference", 5_000)])
    assert "| weights" in report and "reference" in report


def test_records_before_weights_existed_ran_twins_or_files() -> None:
    raw = json.loads(_record("twin", 1).to_json())
    del raw["weights"]
    raw["schema_version"] = 3
    assert parse_record(json.dumps(raw), "old.jsonl:1").weights == "twin"
    raw["task"] = "my_net"
    assert parse_record(json.dumps(raw), "old.jsonl:2").key[-1] == "file"


def test_models_list_shows_both_models_of_each_task_with_macs(tmp_path: Path, capsys) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert out.count("       twin  ") == len(TASKS) and "2.657 M MACs" in out
    assert out.count("reference  absent: ") == len(TASKS)
    assert "tinybench deps fetch mlperf-tiny-models" in out
