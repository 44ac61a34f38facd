"""The regression gate end to end: the CI workflow's commands, a fresh baseline that compares
cleanly, a slowed build caught, and a baseline of other models refused as incomparable.

They run real benchmarks of one small task (ad01 on TVM, nrf52840), some in pytest subprocesses.
"""

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tinybench import deps
from tinybench.backends.tflm_lib import COMPONENTS
from tinybench.cli import main as tinybench
from tinybench.pipeline import missing
from tinybench.results import append_records, load_records
from tinybench.spec import RunSpec

pytestmark = [pytest.mark.slow, pytest.mark.tvm, pytest.mark.tf, pytest.mark.toolchain]

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "benchmarks.yml"
SPEC = RunSpec("ad01", "tvm", "nrf52840", inputs=1)
ONE_RUN = ["--tinybench-task", SPEC.task, "--tinybench-backend", SPEC.backend,
           "--tinybench-board", SPEC.board]  # at the default inputs, like the baseline
ONE_QUICK_RUN = [*ONE_RUN, "--tinybench-inputs", str(SPEC.inputs)]
# A plugin that builds every firmware at -O0 while the run still asks for -O2: a code change
# that slows the build, as a regression would. (A changed --opt is a configuration change:
# the gate marks it "x", not comparable, rather than a regression.)
SLOW_BUILD = """
from tinybench.firmware.build import build_firmware
from tinybench.pipeline import Stages, run


def _build_at_O0(sources, board, opt):
    return build_firmware(sources, board, opt="-O0")


def pytest_tinybench_run(spec):
    return run(spec, Stages(build=_build_at_O0))
"""


def row(mark: str) -> re.Pattern:
    """A Markdown table row of SPEC with `mark` in its first cell."""
    cells = (re.escape(mark), SPEC.task, SPEC.backend, SPEC.board, SPEC.simulator)
    return re.compile(r"^\|" + r"\|".join(rf" *{cell} *" for cell in cells) + r"\|", re.M)


@pytest.fixture(autouse=True)
def _needs_tvm():
    reason = missing(SPEC)
    if reason:
        pytest.skip(reason)


def workflow_commands(job: str) -> list[str]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"][job]["steps"]
    return [step["run"] for step in steps if "run" in step]


# Four runs for three shards; at the default inputs, like the baseline
SHARDED_MATRIX = ("--tinybench-task ad01,kws01 --tinybench-backend tvm "
                  "--tinybench-board stm32f746,nrf52840")


def test_the_shards_and_the_gate_run_the_matrix_once_gate_and_summarise(tmp_path):
    install, *shard_commands = workflow_commands("benchmarks")
    assert install == "scripts/install.sh"  # not run here: it calls apt
    install, *gate_commands = workflow_commands("gate")
    assert install == "python3 -m pip install -q -e ."
    if deps.missing(*COMPONENTS):
        pytest.skip("the TFLM sources are not all present; this test does not download them")
    shards = yaml.safe_load(WORKFLOW.read_text())["jobs"]["benchmarks"]["strategy"]["matrix"][
        "shard"]
    keys = sorted((t, "tvm", b, "iss", "twin") for t in ("ad01", "kws01")
                  for b in ("nrf52840", "stm32f746"))
    work = tmp_path / "gate"  # the gate job's checkout, its shards' artifacts downloaded
    (work / "shards").mkdir(parents=True)
    append_records(work / "results" / "baseline.jsonl",  # the committed one, of this matrix
                   [r for r in load_records(ROOT / "results" / "baseline.jsonl") if r.key in keys])
    for shard in shards:
        results = tmp_path / f"shard-{shard}"
        env = {**os.environ, "RESULTS_DIR": str(results), "SHARD": str(shard),
               "SHARDS": str(len(shards)), "PYTEST_ADDOPTS": SHARDED_MATRIX}
        for command in shard_commands:
            subprocess.run(["bash", "-e", "-c", command], cwd=ROOT, env=env, check=True)
        for file in results.glob("*.jsonl"):  # upload, then download with merge-multiple
            (work / "shards" / file.name).write_bytes(file.read_bytes())
    summary = tmp_path / "summary.md"
    env = {**os.environ, "RESULTS_DIR": str(tmp_path / "merged"),
           "GITHUB_STEP_SUMMARY": str(summary)}
    for command in gate_commands:
        subprocess.run(["bash", "-e", "-c", command], cwd=work, env=env, check=True)
    merged = load_records(tmp_path / "merged" / "results.jsonl")
    assert sorted(r.key for r in merged) == keys
    text = summary.read_text()
    assert "## Against the baseline" in text
    assert "not comparable (x)" not in text, ("the committed baseline was measured with other "
                                              "tools or options: regenerate it (results/README.md)")
    assert "4 of 4 runs comparable with the baseline." in text


def _pytest_benchmarks(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "pytest", "benchmarks/", "-p", "no:cacheprovider",
                           *ONE_QUICK_RUN, *options], cwd=ROOT, env=env, capture_output=True,
                          text=True)


def _baseline(path: Path) -> None:
    assert tinybench(["baseline", "--task", SPEC.task, "--backend", SPEC.backend, "--board",
                      SPEC.board, "--inputs", str(SPEC.inputs), "--output", str(path)]) == 0


def test_a_fresh_baseline_compares_cleanly_with_a_fresh_run(tmp_path, capsys):
    base, fresh = tmp_path / "base.jsonl", tmp_path / "fresh.jsonl"
    _baseline(base)
    assert tinybench(["run", "--task", SPEC.task, "--backend", SPEC.backend, "--board",
                      SPEC.board, "--inputs", str(SPEC.inputs), "--results", str(fresh)]) == 0
    capsys.readouterr()
    assert tinybench(["compare", str(fresh), "--baseline", str(base)]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 runs comparable with the baseline." in out
    assert row("").search(out), out


def test_a_baseline_of_other_models_fails_the_gate_in_one_line(tmp_path, capsys):
    base, other = tmp_path / "base.jsonl", tmp_path / "other.jsonl"
    _baseline(base)
    append_records(other, [replace(r, model_hash="0" * 16) for r in load_records(base)])
    capsys.readouterr()
    assert tinybench(["compare", str(base), "--baseline", str(other)]) == 11
    assert capsys.readouterr().err.startswith(
        "tinybench: error: 0 of 1 runs comparable with the baseline: 1 model changed;")
    gated = _pytest_benchmarks(tmp_path, "--tinybench-baseline", str(other))
    assert gated.returncode == 11, gated.stdout
    assert "1 passed" in gated.stdout
    assert "tinybench: 0 of 1 runs comparable with the baseline: 1 model changed;" in gated.stdout


def test_a_slowed_build_fails_compare_and_the_benchmarks_then_passes_again(tmp_path, capsys):
    (tmp_path / "slow_build.py").write_text(SLOW_BUILD)
    base, slow, fixed = (tmp_path / f"{name}.jsonl" for name in ("base", "slow", "fixed"))
    _baseline(base)
    gate = ["--tinybench-baseline", str(base)]

    slowed = _pytest_benchmarks(tmp_path, *gate, "-p", "slow_build", "--tinybench-results",
                                str(slow))
    assert slowed.returncode == 1, slowed.stdout
    assert "1 regressed (+)" in slowed.stdout
    assert row("+").search(slowed.stdout), slowed.stdout
    capsys.readouterr()
    assert tinybench(["compare", str(slow), "--baseline", str(base)]) == 10
    assert row("+").search(capsys.readouterr().out)

    restored = _pytest_benchmarks(tmp_path, *gate, "--tinybench-results", str(fixed))
    assert restored.returncode == 0, restored.stdout
    assert "1 unchanged" in restored.stdout
    assert tinybench(["compare", str(fixed), "--baseline", str(base)]) == 0
