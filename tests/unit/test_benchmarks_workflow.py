"""The CI workflow runs the matrix in shards, gates their merged records, summarises and uploads
them, then keeps the history of main and publishes its dashboard; actionlint finds no fault.

tests/integration/test_benchmarks_gate.py runs its commands; this checks how they fit together.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
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


@pytest.mark.parametrize("name", ["benchmarks", "renode"])
def test_the_matrix_runs_in_shards_that_together_cover_it(name):
    job = _job(name)
    shards = job["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, len(shards) + 1))
    assert job["env"]["SHARDS"] == len(shards) and job["env"]["SHARD"] == "${{ matrix.shard }}"
    assert job["strategy"]["fail-fast"] is False  # every shard's records reach the gate
    run = _step(job, "pytest benchmarks/")["run"]
    assert '--tinybench-shard "$SHARD/$SHARDS"' in run
    assert '--tinybench-results "$RESULTS_DIR/shard-$SHARD.jsonl"' in run
    upload = _step(job, "actions/upload-artifact@")
    assert upload["if"] == "always()" and upload["with"]["name"].endswith("${{ matrix.shard }}")


def test_it_installs_fetches_runs_then_a_gate_merges_and_reports():
    runs = [s["run"] for s in _job()["steps"] if "run" in s]
    assert runs[:2] == ["scripts/install.sh", "tinybench deps fetch"]
    gate = _job("gate")
    assert gate["needs"] == "benchmarks" and gate["if"] == "${{ !cancelled() }}"
    download = _step(gate, "actions/download-artifact@")["with"]
    assert download["pattern"] == "tinybench-results-shard-*" and download["merge-multiple"]
    merge = _step(gate, "mkdir")["run"]
    assert f"cat {download['path']}/*.jsonl" in merge
    compare = _step(gate, "{")["run"]
    assert "tinybench compare \"$RESULTS_DIR/results.jsonl\" --baseline results/baseline.jsonl" in (
        compare)
    summary = _step(gate, "cat \"$RESULTS_DIR/report.md\"")
    assert summary["run"] == 'cat "$RESULTS_DIR/report.md" >> "$GITHUB_STEP_SUMMARY"'
    upload = _step(gate, "actions/upload-artifact@")
    assert upload["with"] == {"name": "tinybench-results", "path": "${{ env.RESULTS_DIR }}",
                              "if-no-files-found": "warn"}
    assert summary["if"] == upload["if"] == "always()"  # a failing gate still reports


def test_actionlint_finds_no_fault_in_the_workflow():
    actionlint = shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(Path(sys.executable).parent))
    if actionlint is None:
        pytest.skip("actionlint is not installed: pip install -e '.[dev]'")
    done = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_it_runs_where_the_baseline_was_measured():
    assert _job()["container"] == "python:3.11-bookworm"  # Debian's arm-none-eabi-gcc 12.2


def test_a_second_job_cross_checks_every_run_on_renode():
    job = _job("renode")
    assert _step(job, "tinybench deps fetch")["run"].endswith("tinybench deps fetch renode")
    gate = _step(job, "pytest benchmarks/")["run"]
    assert "--tinybench-simulator renode" in gate  # each run checked against iss (test_matrix.py)
    assert not _step(job, "actions/upload-artifact@")["with"]["name"].startswith(
        "tinybench-results")  # not one of the gate's shards


def test_the_records_name_their_commit_although_root_does_not_own_the_checkout():
    for name in ("benchmarks", "history"):  # the gate reads the records, it makes none
        env = _job(name)["env"]
        assert (env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) == ("safe.directory", "*")


def test_each_push_to_main_is_filed_in_the_history_even_when_the_gate_failed():
    job = _job("history")
    assert job["needs"] == "gate"
    assert job["if"] == ("${{ !cancelled() && github.event_name == 'push' "
                         "&& github.ref == 'refs/heads/main' }}")
    assert job["permissions"] == {"contents": "write"}  # it pushes the history branch
    download = _step(job, "actions/download-artifact@")["with"]
    assert download["name"] == _step(_job("gate"), "actions/upload-artifact@")["with"]["name"]
    add = _step(job, "tinybench history add")["run"]
    assert add == f"tinybench history add {download['path']}/results.jsonl --history history"
    assert "push -q origin HEAD:refs/heads/benchmark-history" in _step(job, "git -C history add")[
        "run"]


def test_the_dashboard_of_the_history_is_published_on_pages():
    history = _job("history")
    dashboard = _step(history, "tinybench dashboard")["run"]
    assert dashboard.startswith("tinybench dashboard history -o site ")
    assert _step(history, "actions/upload-pages-artifact@")["with"]["path"] == "site"
    pages = _job("pages")
    assert pages["needs"] == "history"
    assert pages["permissions"] == {"pages": "write", "id-token": "write"}
    assert pages["environment"]["name"] == "github-pages"
    assert _step(pages, "actions/deploy-pages@")["id"] == "deployment"
