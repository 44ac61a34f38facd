"""Time the default benchmark matrix one thing at a time and with 2 jobs, cold (an empty cache)
and warm, against the simulation floor.

    python benchmarks/speed.py [--warm-only] [tinybench run options, e.g. --task kws01]

Each way (`tinybench run --backend all -j 1`, then `-j 2`) runs cold with TINYBENCH_CACHE in a
new temporary folder of its own, then warm on that cache (with --warm-only, both on your usual
cache); the pinned upstream sources are reused through their TINYBENCH_<NAME>_DIR variables,
as CI restores them. `-j N` is N runs at a time and N objects at a time in each build, so
`-j 1` is the serial baseline: one run, one compiler at a time. Prints each wall time, the
runs' verdict and the slowest runs, then the ratios the matrix is held to: `-j 2` takes at
most RATIO of the `-j 1` time, cold and warm, and warm `-j 2` at most FLOOR_FACTOR x the
simulation floor — the instructions the matrix simulates (its sessions whole) ÷ the built-in
simulator's MIPS (measured here, now) ÷ 2 workers. The floor is printed at two speeds: on
the simulator's own benchmark (a convolution loop in RAM, its best case) and on the matrix's
own sessions (model code that streams weights from Flash, each read charged by the data-side
memory model), so the gap to the floor splits into the simulator's speed on real code and
the work around the simulation.
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

CHECKOUT = Path(__file__).resolve().parent.parent  # this script's; run from it
WORKERS = 2
WAYS = {"-j 1": ["-j", "1"], f"-j {WORKERS}": ["-j", str(WORKERS)]}
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


def _session(label: str, env: dict[str, str], options: list[str], results: Path
             ) -> tuple[float, float]:
    """Run the matrix once with `options` into `results`, print how it went; its wall and CPU
    seconds (the CPU of the -j 1 process and its compilers; not of workers, which a fork
    server starts)."""
    command = [sys.executable, "-m", "tinybench", "run", "--backend", "all",
               "--results", str(results), *options]
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, cwd=CHECKOUT, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    records = load_records(results) if results.exists() else []
    ok = sum(record.status == "ok" for record in records)
    print(f"{label:12} {seconds:7.1f} s, {cpu:7.1f} CPU-s, load {os.getloadavg()[0]:4.1f}; "
          f"{ok} of {len(records)} runs ok, exit {done.returncode}")
    if done.returncode:
        print("".join(f"    {line}\n" for line in done.stderr.splitlines()[-5:]), end="")
    slowest = sorted((r for r in records if r.seconds is not None), key=lambda r: -r.seconds)
    print("".join(f"    {r.seconds:6.1f} s  {r.label}\n" for r in slowest[:4]), end="", flush=True)
    return seconds, cpu


def simulator_mips() -> float:
    """Millions of instructions per CPU second of the built-in simulator, on its benchmark."""
    from tinybench.boards import get_board
    from tinybench.simulators.bench import compare, workload

    elf, script = workload("stm32f746", runs=20)
    _, full_s, result = compare(elf, get_board("stm32f746"), script, repeat=1)
    return result.instructions / full_s / 1e6


def simulator_sessions(results: Path) -> tuple[int, float]:
    """The instructions the matrix simulates (every session whole: boot, input over the UART,
    inference) and the CPU seconds the built-in simulator takes for them: each run of
    `results` once more in this process, on the warm cache, timing only its sessions."""
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
    return spent["instructions"], spent["seconds"]


def main(argv: list[str]) -> None:
    warm_only = "--warm-only" in argv
    options = [arg for arg in argv if arg != "--warm-only"]
    print(f"tinybench run --backend all {' '.join(options)} on {os.cpu_count()} cores",
          flush=True)
    times: dict[tuple[str, str], float] = {}
    cpu: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="tinybench-speed-") as scratch:
        serial = Path(scratch) / "-j 1 warm.jsonl"
        for way, extra in WAYS.items():
            env = dict(os.environ)
            phases = ["warm"] if warm_only else ["cold", "warm"]
            if not warm_only:
                env |= {**_sources_env(), "TINYBENCH_CACHE": str(Path(scratch) / way)}
            for phase in phases:
                times[way, phase], cpu[way, phase] = _session(
                    f"{way} {phase}", env, [*options, *extra],
                    Path(scratch) / f"{way} {phase}.jsonl")
            if way == "-j 1":  # the simulator's work on these runs, on this warm cache
                os.environ.update(env)
                instructions, simulating = simulator_sessions(serial)
    parallel = f"-j {WORKERS}"
    for phase in ("cold", "warm"):
        if ("-j 1", phase) in times:
            ratio = times[parallel, phase] / times["-j 1", phase]
            print(f"{phase}: {parallel} takes {ratio:.2f}x the -j 1 time "
                  f"({'within' if ratio <= RATIO else 'OVER'} the {RATIO}x target); -j 1 kept "
                  f"{cpu['-j 1', phase] / times['-j 1', phase]:.2f} cores busy")
    own_mips = instructions / simulating / 1e6
    for what, mips in (("its benchmark", simulator_mips()), ("the matrix's sessions", own_mips)):
        floor = instructions / (mips * 1e6) / WORKERS
        factor = times[parallel, "warm"] / floor
        print(f"simulation floor at the simulator's speed on {what}: {instructions / 1e9:.2f} G "
              f"instructions ÷ {mips:.0f} MIPS ÷ {WORKERS} workers = {floor:.1f} s; warm "
              f"{parallel} is {factor:.2f}x it "
              f"({'within' if factor <= FLOOR_FACTOR else 'OVER'} the {FLOOR_FACTOR}x target)")


if __name__ == "__main__":
    main(sys.argv[1:])
