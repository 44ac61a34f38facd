"""A benchmark matrix: names expanded into run specs, run one at a time or in worker
processes, resumable."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path

from tinybench import coremark
from tinybench.boards import all_boards
from tinybench.errors import ConfigError, ToolNotFoundError
from tinybench.names import lookup, unknown
from tinybench.pipeline import Stages, run
from tinybench.results import Record, append_records, latest, load_records
from tinybench.spec import DEFAULT_WEIGHTS, WEIGHTS, Key, RunSpec
from tinybench.tasks import TASKS
from tinybench.toolchain import JOBS, shared_jobs
from tinybench.workers import in_workers

Progress = Callable[[int, int, RunSpec, str], None]


def parse_list(text: str, known: Iterable[str], what: str) -> list[str]:
    """Split 'a,b' (or 'all') into names, refusing an unknown one with a did-you-mean."""
    known = list(known)
    names = known if text == "all" else [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"no {what} given; choose from {', '.join(known)} or 'all'")
    for name in names:
        if name not in known:
            raise unknown(what, name, known)
    return names


def matrix(tasks: str, backends: str, boards: str, simulators: str = "iss",
           inputs: int = 5, opt: str = "-O2", stages: Stages | None = None,
           weights: str = DEFAULT_WEIGHTS) -> list[RunSpec]:
    """Every combination of comma-separated tasks (or .tflite files), backends, boards…, the
    tasks with `weights`.

    CoreMark runs no backend: it gets one spec per board and simulator, with backend "none".
    Every name and file is checked before anything runs, and so are the official models when
    `weights` asks for them (ToolNotFoundError naming the component and how to fetch it).
    """
    stages = stages or Stages()
    lookup("weights", weights, WEIGHTS)
    task_names = [t.strip() for t in tasks.split(",")] if tasks != "all" else list(TASKS)
    for task in task_names:
        if task in TASKS or task == coremark.NAME:
            continue
        if Path(task).suffix != ".tflite":
            raise unknown("task", task, [*TASKS, coremark.NAME, "a .tflite file"])
        if not Path(task).is_file():
            raise ConfigError(f"model file {task} does not exist")
    backend_names = parse_list(backends, stages.backends, "backend")
    if any(task in TASKS for task in task_names):
        _check_weights(weights)
    return [
        RunSpec(task, backend, board, simulator, inputs, opt, weights=weights)
        for task in task_names
        for backend in ([coremark.BACKEND] if task == coremark.NAME else backend_names)
        for board in parse_list(boards, all_boards(), "board")
        for simulator in parse_list(simulators, stages.simulators, "simulator")
    ]


def _check_weights(weights: str) -> None:
    """ToolNotFoundError, in one line, when the models `weights` names are not here."""
    from tinybench.models.export import missing_weights

    reason = missing_weights(weights)
    if reason:
        raise ToolNotFoundError(reason)


class MatrixInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a matrix: what finished (its records are kept) and what was left."""

    def __init__(self, finished: list[Record], left: list[RunSpec]) -> None:
        super().__init__(f"{len(finished)} runs finished, {len(left)} left")
        self.finished, self.left = finished, left


def _quiet(index: int, total: int, spec: RunSpec, state: str) -> None:
    """The default progress report: none."""


Runner = Callable[[RunSpec], Record]
Outcome = Record | ToolNotFoundError  # a run's record, or why it was skipped


def run_matrix(specs: list[RunSpec], results: Path | None = None, progress: Progress = _quiet,
               resume: bool = False, runner: Runner | None = None, jobs: int = 1,
               ) -> tuple[list[Record], list[tuple[RunSpec, str]]]:
    """Run every spec with `runner` (default: `run`), `jobs` at a time; append each record to
    `results` as soon as it exists, with its wall time in `seconds`.

    Returns the records and the skipped specs with their reasons, both in the order of `specs`
    whatever order the runs finished in. `progress` hears of each run as it starts ("running")
    and ends, with the run's 1-based place in `specs`. With `jobs` > 1 the runs go to that many
    worker processes, started by a fork server (TensorFlow and Unicorn do not survive a fork of
    a process that has used them), whose builds share the jobs (`jobs` // workers objects at a
    time each), and `runner` must be picklable. An interruption (Ctrl-C)
    stops the workers, raises MatrixInterrupted and loses nothing that finished: every record
    is already in the results file, and with `resume` a spec whose newest record there is "ok"
    is taken from the file instead of run again.
    """
    runner = runner or run
    done = _finished(results) if resume and results is not None else {}
    outcomes: dict[int, Outcome] = {}
    pending = []
    for index, spec in enumerate(specs):
        if spec.key in done:
            outcomes[index] = done[spec.key]
            progress(index + 1, len(specs), spec, "done in an earlier run")
        else:
            pending.append(index)

    def started(index: int) -> None:
        progress(index + 1, len(specs), specs[index], "running")

    def finished(index: int, outcome: Outcome) -> None:
        outcomes[index] = outcome
        if isinstance(outcome, Record) and results is not None:
            append_records(results, [outcome])
        state = (f"skipped: {outcome}" if isinstance(outcome, ToolNotFoundError)
                 else outcome.broken or "ok")
        progress(index + 1, len(specs), specs[index], state)

    try:
        if jobs > 1 and len(pending) > 1:
            workers = min(jobs, len(pending))
            in_workers(partial(_in_worker, shared_jobs(jobs, workers), runner), specs, pending,
                       workers, started, finished, [spec.label for spec in specs],
                       preload=["tinybench.pipeline"])
        else:
            for index in pending:
                started(index)
                finished(index, timed(runner, specs[index]))
    except KeyboardInterrupt:
        kept = [o for _, o in sorted(outcomes.items()) if isinstance(o, Record)]
        raise MatrixInterrupted(kept, [s for i, s in enumerate(specs) if i not in outcomes]
                                ) from None
    ordered = [outcomes[index] for index in sorted(outcomes)]
    records = [o for o in ordered if isinstance(o, Record)]
    skipped = [(specs[i], str(o)) for i, o in sorted(outcomes.items())
               if isinstance(o, ToolNotFoundError)]
    return records, skipped


def timed(runner: Runner, spec: RunSpec) -> Outcome:
    """Run `spec`: its record with the wall time it took, or why it was skipped."""
    start = time.monotonic()
    try:
        record = runner(spec)
    except ToolNotFoundError as error:
        return error
    return replace(record, seconds=round(time.monotonic() - start, 2))


def _in_worker(compiles: int, runner: Runner, spec: RunSpec) -> Outcome:
    """`timed` in a worker process, whose builds compile `compiles` objects at a time: the
    workers share the jobs, so that compilers do not outnumber the cores."""
    os.environ[JOBS] = str(compiles)
    return timed(runner, spec)


def _finished(results: Path) -> dict[Key, Record]:
    if not results.exists():
        return {}
    return {r.key: r for r in latest(load_records(results)) if r.status == "ok"}
