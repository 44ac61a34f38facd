"""The pytest plugin with a faked pipeline: parametrisation, skips, the gate, files, summary.

Each test runs benchmarks/test_matrix.py in an inner pytest session (pytester) whose conftest
answers the plugin's `pytest_tinybench_run` hook with the golden records of
tests/data/results/current.jsonl.
"""

from dataclasses import replace
from pathlib import Path

import pytest

import tinybench.pipeline  # noqa: F401  (loaded once here: numpy cannot load twice in a process)
from tinybench.errors import NothingComparable
from tinybench.results import append_records, load_records

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "results"
TWO_BOARDS = "stm32f746,nrf52840"  # the boards the recorded runs cover
FAKE_PIPELINE = """
from pathlib import Path

from tinybench.errors import ToolNotFoundError
from tinybench.results import load_records

CURRENT = {{r.key: r for r in load_records(Path({records!r}))}}


def pytest_tinybench_run(spec):
    if spec.key not in CURRENT:
        raise ToolNotFoundError(f"{{spec.backend}} is not installed here")
    return CURRENT[spec.key]
"""


@pytest.fixture
def bench(pytester: pytest.Pytester):
    """Run benchmarks/test_matrix.py in process, its pipeline giving the records of a file."""
    pytester.makepyfile(test_matrix=(ROOT / "benchmarks" / "test_matrix.py").read_text())

    def run(*options: str, records: Path = DATA / "current.jsonl") -> pytest.RunResult:
        pytester.makeconftest(FAKE_PIPELINE.format(records=str(records)))
        # hypothesis, when installed, adds a second to every session for nothing used here
        return pytester.runpytest("-p", "no:hypothesispytest", *options)

    return run


def test_the_matrix_is_parametrised_by_label(bench):
    result = bench("--collect-only", "-q", "--tinybench-task", "kws01,ad01",
                             "--tinybench-board", "nrf52840")
    labels = [f"{t}/{b}/nrf52840/iss" for t in ("kws01", "ad01") for b in ("tvm", "tflm",
                                                                            "cmsis-nn")]
    result.stdout.fnmatch_lines([f"test_matrix.py::test_benchmark[[]{label}[]]"
                                 for label in labels])


def test_the_gate_fails_regressed_and_broken_runs_and_writes_files(bench, tmp_path):
    results, report = tmp_path / "out" / "results.jsonl", tmp_path / "out" / "report.md"
    result = bench("-rs", "--tinybench-task", "kws01", "--tinybench-board", TWO_BOARDS,
                             "--tinybench-baseline", str(DATA / "baseline.jsonl"),
                             "--tinybench-results", str(results), "--tinybench-report", str(report))
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    result.stdout.fnmatch_lines([
        "*AssertionError: kws01/tflm/nrf52840/iss: flash_bytes 112,500 → 114,000*",
        "*AssertionError: kws01/cmsis-nn/stm32f746/iss: cycles 3,050,000 → 3,200,000*",
        "*AssertionError: outputs differ from the reference by 3 LSB (tolerance 0)*",
        "*= tinybench =*",
        "5 runs in the baseline or now: 2 regressed (+), 1 improved (-), 1 broken (!), "
        "1 unchanged. 5 of 5 runs comparable with the baseline.",
        "| +*| kws01*| cmsis-nn*| stm32f746*| iss*| **3,200,000 (+150,000, +4.9 %)** |*",
        "SKIPPED*tvm is not installed here",
    ])
    assert "ic01" not in result.stdout.str(), "baseline runs outside the matrix are not compared"
    assert len(load_records(results)) == 5
    text = report.read_text()
    assert text.startswith("# tinybench results\n\n5 runs, 1 broken (!).")
    assert "## Against the baseline\n\n5 runs in the baseline or now" in text


def test_with_xdist_the_controller_gates_and_writes_the_workers_records(bench, tmp_path):
    pytest.importorskip("xdist")
    results, report = tmp_path / "out" / "results.jsonl", tmp_path / "out" / "report.md"
    result = bench("-n", "2", "-p", "no:benchmark", "--tinybench-task", "kws01",
                   "--tinybench-board", TWO_BOARDS,
                   "--tinybench-baseline", str(DATA / "baseline.jsonl"),
                   "--tinybench-results", str(results), "--tinybench-report", str(report))
    result.assert_outcomes(passed=2, failed=3, skipped=1)
    result.stdout.fnmatch_lines([
        "*= tinybench =*",
        "5 runs in the baseline or now: 2 regressed (+), 1 improved (-), 1 broken (!), "
        "1 unchanged. 5 of 5 runs comparable with the baseline.",
    ])
    assert sorted(r.key for r in load_records(results)) == sorted(
        r.key for r in load_records(DATA / "current.jsonl") if r.key[0] == "kws01")
    assert "## Against the baseline\n\n5 runs in the baseline or now" in report.read_text()


def test_fail_on_replaces_a_default_threshold(bench):
    result = bench("--tinybench-task", "kws01", "--tinybench-board", "stm32f746",
                             "--tinybench-baseline", str(DATA / "baseline.jsonl"),
                             "--tinybench-fail-on", "cycles:+5%")
    result.assert_outcomes(passed=3)


def test_without_a_baseline_only_broken_runs_fail_and_the_report_is_printed(bench):
    result = bench("--tinybench-task", "kws01", "--tinybench-board", TWO_BOARDS)
    result.assert_outcomes(passed=4, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*= tinybench =*", "# tinybench results", "5 runs, 1 broken (!)."])


def test_a_run_on_another_simulator_must_agree_with_the_built_in_one(bench, tmp_path):
    ran = {r.key: r for r in load_records(DATA / "current.jsonl")}
    iss = ran["kws01", "tvm", "stm32f746", "iss", "twin"]
    records = tmp_path / "records.jsonl"
    append_records(records, [
        iss, replace(iss, simulator="renode"),
        replace(iss, board="nrf52840"), replace(iss, board="nrf52840", simulator="renode",
                                                cycles=int(iss.cycles * 1.01)),
    ])
    result = bench("--tinybench-task", "kws01", "--tinybench-backend", "tvm",
                   "--tinybench-board", TWO_BOARDS, "--tinybench-simulator", "renode",
                   records=records)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: cycles * vs * (limit ±0.5%)*"])
    result.stdout.fnmatch_lines(["*| renode *| agrees *|*"])


def _other_models(tmp_path: Path) -> Path:
    """The golden baseline as if every model had been converted to other bytes."""
    baseline = tmp_path / "other-models.jsonl"
    append_records(baseline, [replace(r, model_hash="0" * 16)
                              for r in load_records(DATA / "baseline.jsonl")])
    return baseline


def test_a_gate_that_can_compare_nothing_fails_with_its_own_exit_code(bench, tmp_path):
    result = bench("--tinybench-task", "kws01", "--tinybench-board", "stm32f746",
                   "--tinybench-baseline", str(_other_models(tmp_path)))
    result.assert_outcomes(passed=3)
    assert result.ret == NothingComparable.exit_code
    result.stdout.fnmatch_lines(["tinybench: 0 of 3 runs comparable with the baseline: "
                                 "3 model changed; if that change is meant, regenerate the "
                                 "baseline with `tinybench baseline`*"])


def test_allow_incomparable_keeps_a_gate_that_compared_nothing_passing(bench, tmp_path):
    result = bench("--tinybench-task", "kws01", "--tinybench-board", "stm32f746",
                   "--tinybench-baseline", str(_other_models(tmp_path)),
                   "--tinybench-allow-incomparable")
    assert result.ret == pytest.ExitCode.OK
    assert "tinybench: 0 of 3" not in result.stdout.str()


def test_a_skipped_run_of_the_baseline_counts_as_not_compared(bench, tmp_path):
    ran = [r for r in load_records(DATA / "current.jsonl") if r.backend != "tvm"]
    records = tmp_path / "without-tvm.jsonl"
    append_records(records, ran)
    result = bench("--tinybench-task", "kws01", "--tinybench-board", "stm32f746",
                   "--tinybench-baseline", str(DATA / "baseline.jsonl"),
                   "--tinybench-fail-on", "cycles:+5%", records=records)
    result.assert_outcomes(passed=2, skipped=1)
    assert result.ret == NothingComparable.exit_code
    result.stdout.fnmatch_lines(["tinybench: 2 of 3 runs comparable with the baseline: "
                                 "1 not run;*"])


def test_deselected_runs_are_not_required(bench, tmp_path):
    result = bench("--tinybench-task", "kws01", "--tinybench-board", "stm32f746",
                   "--tinybench-baseline", str(DATA / "baseline.jsonl"),
                   "--tinybench-fail-on", "cycles:+5%", "-k", "not tvm")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize(("option", "message"), [
    (("--tinybench-backend", "nope"), "tinybench: unknown backend 'nope'; choose from *"),
    (("--tinybench-baseline", "missing.jsonl"), "tinybench: no results at missing.jsonl*"),
])
def test_bad_options_are_one_line_errors(bench, option, message):
    result = bench(*option)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()


def test_other_test_runs_do_not_load_the_pipeline(pytester):
    pytester.makepyfile("import sys\n\ndef test_light():\n"
                        "    assert 'tinybench.pipeline' not in sys.modules\n")
    pytester.runpytest_subprocess("-p", "no:hypothesispytest").assert_outcomes(passed=1)


def test_weights_reference_names_the_component_to_fetch_when_it_is_absent(bench, tmp_path,
                                                                          monkeypatch):
    from tinybench import deps

    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(deps.get("mlperf-tiny-models").env, raising=False)
    result = bench("--collect-only", "-q", "--tinybench-task", "kws01",
                   "--tinybench-weights", "reference")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*tinybench: --weights reference needs the official models: "
                                 "*`tinybench deps fetch mlperf-tiny-models`*"])


def test_weights_reference_runs_are_labelled_with_their_weights(bench, monkeypatch):
    from tinybench import deps

    monkeypatch.setattr(deps, "missing", lambda *names: None)  # as if it were fetched
    result = bench("--collect-only", "-q", "--tinybench-task", "ad01", "--tinybench-backend",
                   "tflm", "--tinybench-board", "nrf52840", "--tinybench-weights", "reference")
    result.stdout.fnmatch_lines(["test_matrix.py::test_benchmark[[]ad01/tflm/nrf52840/iss/"
                                 "reference[]]"])
