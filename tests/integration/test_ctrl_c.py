"""Ctrl-C on a real matrix: it stops within a second or so — between runs, mid-simulation and
mid-build — keeps every finished record, says what was left and exits 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tinybench.cli import main as tinybench
from tinybench.results import load_records

pytestmark = [pytest.mark.slow, pytest.mark.tvm, pytest.mark.toolchain]

PROMPT_S = 5.0  # 0.2 to 1.2 s measured idle; slack for a loaded machine (4.7 s at load 14)
BOARD = "nrf52840"


def _interrupt(tasks: str, results: Path, after: str, delay: float,
               env: dict[str, str] | None = None) -> tuple[int, float, str]:
    """Run a matrix one run at a time (tests/unit/test_reliability.py interrupts workers),
    send SIGINT `delay` s after a progress line containing `after`."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tinybench", "run", "--task", tasks, "--backend", "tvm",
         "--board", BOARD, "--results", str(results), "-j", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})})
    try:
        seen = []
        while not any(after in line for line in seen):
            line = child.stderr.readline()
            assert line, f"the run ended before '{after}': {''.join(seen)}"
            seen.append(line)
        time.sleep(delay)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
        return child.returncode, time.monotonic() - sent, "".join(seen) + stderr
    finally:
        child.kill()


@pytest.fixture(scope="module")
def warm(tmp_path_factory) -> None:
    """Both tasks built once, so that a later run spends its time simulating."""
    results = tmp_path_factory.mktemp("warm") / "r.jsonl"
    assert tinybench(["run", "--task", "ad01,vww01", "--backend", "tvm", "--board", BOARD,
                      "--inputs", "5", "--results", str(results)]) == 0


def test_ctrl_c_mid_simulation_keeps_what_finished_and_says_what_was_left(warm, tmp_path):
    results = tmp_path / "r.jsonl"
    code, took, stderr = _interrupt("ad01,vww01", results, "[2/2] vww01", 1.0)
    assert code == 130 and took < PROMPT_S, stderr
    assert (f"tinybench: interrupted; 1 finished and kept, 1 left: vww01/tvm/{BOARD}/iss"
            in stderr)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert [r.key[0] for r in load_records(results)] == ["ad01"]


def test_ctrl_c_mid_build_stops_promptly(tmp_path):
    # vww01 on an empty cache: TVM compiles it and gcc builds it for well over 2 s
    code, took, stderr = _interrupt("vww01", tmp_path / "r.jsonl", "[1/1] vww01", 2.0,
                                    env={"TINYBENCH_CACHE": str(tmp_path / "cache")})
    assert code == 130 and took < PROMPT_S, stderr
    assert f"0 finished and kept, 1 left: vww01/tvm/{BOARD}/iss" in stderr
    assert not (tmp_path / "r.jsonl").exists()
