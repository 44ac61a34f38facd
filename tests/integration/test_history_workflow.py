"""The workflow's history job, its shell steps run against a local bare repository as origin.

The first push creates the benchmark-history branch, the next ones add their commit's file to
it, a push whose results are there already changes nothing, and the dashboard is built from it.
"""

import os
import subprocess
from pathlib import Path

import yaml

from tests.history_data import history, sha
from tinybench.results import append_records

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "benchmarks.yml"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def history_job_commands() -> list[str]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["history"]["steps"]
    install, *commands = [step["run"] for step in steps if "run" in step]
    assert install == "python3 -m pip install -q -e ."  # not run here: tinybench is installed
    return commands


def push(checkout: Path, commit: int) -> None:
    """What the history job does after the benchmarks of made-up commit `commit`."""
    results = checkout / "benchmark-results" / "results.jsonl"
    results.unlink(missing_ok=True)
    append_records(results, history(commit + 1)[-24:])
    if (checkout / "history").exists():  # each job starts from a fresh checkout
        git("worktree", "remove", "--force", "history", cwd=checkout)
    env = {**os.environ, "GITHUB_SHA": sha(commit), "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "example/tinybench"}
    for command in history_job_commands():
        subprocess.run(["bash", "-e", "-c", command], cwd=checkout, env=env, check=True,
                       capture_output=True)


def test_each_push_adds_its_commit_to_the_history_branch(tmp_path):
    origin, checkout = tmp_path / "origin.git", tmp_path / "checkout"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("init", "-q", str(checkout), cwd=tmp_path)
    git("commit", "-q", "--allow-empty", "-m", "main", cwd=checkout)
    git("remote", "add", "origin", str(origin), cwd=checkout)

    push(checkout, 0)
    assert git("ls-tree", "--name-only", "benchmark-history", cwd=origin).split() == [
        f"{sha(0)}.jsonl"]
    push(checkout, 1)
    push(checkout, 1)  # a rerun: nothing new to keep
    files = git("ls-tree", "--name-only", "benchmark-history", cwd=origin).split()
    assert sorted(files) == sorted([f"{sha(0)}.jsonl", f"{sha(1)}.jsonl"])
    log = git("log", "--format=%s", "benchmark-history", cwd=origin).splitlines()
    assert log == [f"History: the benchmarks of {sha(1)}", f"History: the benchmarks of {sha(0)}"]
    data = (checkout / "site" / "data.js").read_text()
    assert '"repo_url":"https://github.com/example/tinybench"' in data
    assert f'"commits":[["{sha(0)}",' in data
