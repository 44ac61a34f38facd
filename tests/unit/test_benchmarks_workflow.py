"""The CI workflow caches, gates, summarises and uploads what `pytest benchmarks/` writes.

tests/integration/test_benchmarks_gate.py runs its commands; this checks how they fit together.
"""

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "benchmarks.yml"


def _job(name: str = "benchmarks") -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"][name]


def _step(job: dict, start: str) -> dict:
    return next(s for s in job["steps"] if s.get("run", s.get("uses", "")).startswith(start))


def test_builds_are_cached_by_the_sources_they_come_from():
    cache = _step(_job(), "actions/cache@")["with"]
    assert cache["path"] == "~/.cache/tinybench"
    assert "hashFiles('firmware/**', 'tinybench/**')" in cache["key"]


def test_it_installs_fetches_gates_then_reports_what_the_gate_wrote():
    job = _job()
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs[:2] == ["scripts/install.sh", "tinybench deps fetch"]
    gate = _step(job, "pytest benchmarks/")["run"]
    assert '--tinybench-results "$RESULTS_DIR/results.jsonl"' in gate
    assert '--tinybench-report "$RESULTS_DIR/report.md"' in gate
    summary = _step(job, "cat ")
    assert summary["run"] == 'cat "$RESULTS_DIR/report.md" >> "$GITHUB_STEP_SUMMARY"'
    upload = _step(job, "actions/upload-artifact@")
    assert upload["with"]["path"] == "${{ env.RESULTS_DIR }}"
    assert summary["if"] == upload["if"] == "always()"  # a failing gate still reports


def test_it_runs_where_the_baseline_was_measured():
    assert _job()["container"] == "python:3.11-bookworm"  # Debian's arm-none-eabi-gcc 12.2


def test_a_second_job_cross_checks_every_run_on_renode():
    job = _job("renode")
    assert _step(job, "tinybench deps fetch")["run"].endswith("tinybench deps fetch renode")
    gate = _step(job, "pytest benchmarks/")["run"]
    assert "--tinybench-simulator renode" in gate  # each run checked against iss (test_matrix.py)
    assert _step(job, "actions/upload-artifact@")["with"]["name"] != _step(
        _job(), "actions/upload-artifact@")["with"]["name"]
