"""Time the default benchmark matrix cold (an empty cache) and warm, as CI runs it.

    python benchmarks/speed.py [--warm-only] [pytest options, e.g. --tinybench-backend tvm]

Cold runs `pytest benchmarks/` with TINYBENCH_CACHE in a new temporary folder; the pinned
upstream sources are reused through their TINYBENCH_<NAME>_DIR variables, as CI restores them.
Warm runs it again on that cache (with --warm-only, on your usual cache). Prints each wall
time against its target, pytest's verdict and the slowest runs.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinybench import deps

CHECKOUT = Path(__file__).resolve().parent.parent  # this script's; its benchmarks/ run
TARGETS = {"cold": 15 * 60, "warm": 90}  # seconds for the whole default matrix on 2 cores


def _sources_env() -> dict[str, str]:
    """TINYBENCH_<NAME>_DIR for every upstream component present now, so a new cache keeps it."""
    env = {}
    for component in deps.components().values():
        path = deps.status(component).path
        if path is not None:
            env[component.env] = str(path)
    return env


def _children_cpu() -> float:
    """User + system seconds of every finished child process (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _session(phase: str, env: dict[str, str], options: list[str]) -> None:
    command = [sys.executable, "-m", "pytest", "benchmarks/", "-q", "-p", "no:cacheprovider",
               "--durations=5", *options]
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, cwd=CHECKOUT, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    lines = done.stdout.splitlines()
    verdict = next((line.strip("= ") for line in reversed(lines) if " in " in line), "no tests")
    within = "within" if seconds <= TARGETS[phase] else "OVER"
    print(f"{phase}: {seconds:7.1f} s ({within} the {TARGETS[phase]} s target), {cpu:.1f} CPU-s "
          f"on a machine with load {os.getloadavg()[0]:.1f}; pytest: {verdict}")
    slowest = [line for line in lines if " call " in line or " setup " in line]
    print("".join(f"    {line}\n" for line in slowest), end="", flush=True)


def main(argv: list[str]) -> None:
    warm_only = "--warm-only" in argv
    options = [arg for arg in argv if arg != "--warm-only"]
    print(f"pytest benchmarks/ {' '.join(options)} on {os.cpu_count()} cores", flush=True)
    if warm_only:
        _session("warm", dict(os.environ), options)
        return
    with tempfile.TemporaryDirectory(prefix="tinybench-cold-") as cache:
        env = {**os.environ, **_sources_env(), "TINYBENCH_CACHE": cache}
        _session("cold", env, options)
        _session("warm", env, options)


if __name__ == "__main__":
    main(sys.argv[1:])
