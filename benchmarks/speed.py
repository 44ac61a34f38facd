"""Time the default benchmark matrix serially and in 2 workers, cold (an empty cache) and warm,
as CI runs it, against the simulation floor.

    python benchmarks/speed.py [--warm-only] [pytest options, e.g. --tinybench-backend tvm]

Each way (`pytest benchmarks/`, then `pytest benchmarks/ -n 2`) runs cold with TINYBENCH_CACHE
in a new temporary folder of its own, then warm on that cache (with --warm-only, both on your
usual cache); the pinned upstream sources are reused through their TINYBENCH_<NAME>_DIR
variables, as CI restores them. Prints each wall time, pytest's verdict and the slowest runs,
then the ratios the matrix is held to: 2 workers take at most RATIO of the serial time, cold
and warm, and warm 2 workers at most FLOOR_FACTOR x the simulation floor — the instructions
the matrix simulates ÷ the built-in simulator's MIPS (measured here, now) ÷ 2 workers. The
floor is printed at two speeds: on the simulator's own benchmark (a convolution loop, its
best case) and on the matrix's own sessions (model code that streams weights from Flash,
each read charged by the data-side memory model), so the gap to the floor splits into the
simulator's speed on real code and the work around the simulation.
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
from tinybench.results import load_records

CHECKOUT = Path(__file__).resolve().parent.parent  # this script's; its benchmarks/ run
WORKERS = 2
# pytest-benchmark, when installed, refuses to run under xdist (a warning, an error here)
WAYS = {"serial": [], f"-n {WORKERS}": ["-n", str(WORKERS), "-p", "no:benchmark"]}
RATIO, FLOOR_FACTOR = 0.65, 1.5


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


def _session(label: str, env: dict[str, str], options: list[str]) -> tuple[float, float]:
    """Run one `pytest benchmarks/` session, print how it went; its wall and CPU seconds."""
    command = [sys.executable, "-m", "pytest", "benchmarks/", "-q", "-p", "no:cacheprovider",
               "--durations=5", *options]
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, cwd=CHECKOUT, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    lines = done.stdout.splitlines()
    verdict = next((line.strip("= ") for line in reversed(lines) if " in " in line), "no tests")
    print(f"{label:14} {seconds:7.1f} s, {cpu:7.1f} CPU-s, load {os.getloadavg()[0]:4.1f}; "
          f"pytest: {verdict}")
    slowest = [line for line in lines if " call " in line or " setup " in line]
    print("".join(f"    {line}\n" for line in slowest), end="", flush=True)
    return seconds, cpu


def simulator_mips() -> float:
    """Millions of instructions per CPU second of the built-in simulator, on its benchmark."""
    from tinybench.boards import get_board
    from tinybench.simulators.bench import compare, workload

    elf, script = workload("stm32f746", runs=20)
    _, full_s, result = compare(elf, get_board("stm32f746"), script, repeat=1)
    return result.instructions / full_s / 1e6


def simulated_instructions(results: Path) -> int:
    """The instructions the matrix's runs simulate: per inference x inputs, over every run."""
    return sum(r.instructions * r.check.inputs for r in load_records(results)
               if r.instructions is not None and r.check is not None)


def session_mips(results: Path) -> float:
    """Millions of instructions per CPU second of the built-in simulator on the matrix's own
    sessions (boot, input over the UART, inference): each run of `results` once more in this
    process, on the warm cache, timing only its simulator sessions."""
    from tinybench.pipeline import Stages, run, simulate
    from tinybench.spec import RunSpec

    spent = {"instructions": 0, "seconds": 0.0}

    class Timed:
        def __init__(self, simulator):
            self.simulator = simulator

        def run(self, *args):
            start = time.process_time()
            result = self.simulator.run(*args)
            spent["seconds"] += time.process_time() - start
            spent["instructions"] += result.instructions
            return result

    stages = Stages(simulate=lambda simulator, *args: simulate(Timed(simulator), *args))
    for record in load_records(results):
        if record.simulator == "iss" and record.status == "ok":
            run(RunSpec(record.task, record.backend, record.board, record.simulator,
                        inputs=record.check.inputs, weights=record.weights), stages)
    return spent["instructions"] / spent["seconds"] / 1e6


def main(argv: list[str]) -> None:
    warm_only = "--warm-only" in argv
    options = [arg for arg in argv if arg != "--warm-only"]
    print(f"pytest benchmarks/ {' '.join(options)} on {os.cpu_count()} cores", flush=True)
    times: dict[tuple[str, str], float] = {}
    cpu: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="tinybench-speed-") as scratch:
        records = Path(scratch) / "records.jsonl"
        for way, extra in WAYS.items():
            env = dict(os.environ)
            if not warm_only:
                env |= {**_sources_env(), "TINYBENCH_CACHE": str(Path(scratch) / way)}
                times[way, "cold"], cpu[way, "cold"] = _session(f"{way} cold", env,
                                                                [*options, *extra])
            keep = ["--tinybench-results", str(records)] if way == "serial" else []
            times[way, "warm"], cpu[way, "warm"] = _session(f"{way} warm", env,
                                                            [*options, *extra, *keep])
            if way == "serial":  # the simulator's speed on these runs, on this warm cache
                os.environ.update(env)
                own_mips = session_mips(records)
        instructions = simulated_instructions(records)
    parallel = f"-n {WORKERS}"
    for phase in ("cold", "warm"):
        if ("serial", phase) in times:
            ratio = times[parallel, phase] / times["serial", phase]
            busy = cpu["serial", phase] / times["serial", phase]
            print(f"{phase}: {parallel} takes {ratio:.2f}x the serial time "
                  f"({'within' if ratio <= RATIO else 'OVER'} the {RATIO}x target); the serial "
                  f"session kept {busy:.2f} cores busy, so {WORKERS} workers can reach "
                  f"{busy / WORKERS:.2f}x at best")
    for what, mips in (("its benchmark", simulator_mips()), ("the matrix's sessions", own_mips)):
        floor = instructions / (mips * 1e6) / WORKERS
        factor = times[parallel, "warm"] / floor
        print(f"simulation floor at the simulator's speed on {what}: {instructions / 1e9:.2f} G "
              f"instructions ÷ {mips:.0f} MIPS ÷ {WORKERS} workers = {floor:.1f} s; warm "
              f"{parallel} is {factor:.2f}x it "
              f"({'within' if factor <= FLOOR_FACTOR else 'OVER'} the {FLOOR_FACTOR}x target)")


if __name__ == "__main__":
    main(sys.argv[1:])
