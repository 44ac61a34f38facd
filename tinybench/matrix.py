"""A benchmark matrix: names expanded into run specs, run one at a time or in worker
processes, resumable."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import replace
from multiprocessing.process import BaseProcess
from pathlib import Path

from tinybench.boards import all_boards
from tinybench.errors import ConfigError, TinybenchError, ToolNotFoundError
from tinybench.names import lookup, unknown
from tinybench.pipeline import Stages, run
from tinybench.results import Record, append_records, latest, load_records
from tinybench.spec import DEFAULT_WEIGHTS, WEIGHTS, Key, RunSpec
from tinybench.tasks import TASKS

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

    Every name and file is checked before anything runs, and so are the official models when
    `weights` asks for them (ToolNotFoundError naming the component and how to fetch it).
    """
    stages = stages or Stages()
    lookup("weights", weights, WEIGHTS)
    task_names = [t.strip() for t in tasks.split(",")] if tasks != "all" else list(TASKS)
    for task in task_names:
        if task in TASKS:
            continue
        if Path(task).suffix != ".tflite":
            raise unknown("task", task, [*TASKS, "a .tflite file"])
        if not Path(task).is_file():
            raise ConfigError(f"model file {task} does not exist")
    if any(task in TASKS for task in task_names):
        _check_weights(weights)
    return [
        RunSpec(task, backend, board, simulator, inputs, opt, weights=weights)
        for task in task_names
        for backend in parse_list(backends, stages.backends, "backend")
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
    worker processes (started by a fork server: TensorFlow and Unicorn do not survive a fork of
    a process that has used them), and `runner` must be picklable. An interruption (Ctrl-C)
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
            _in_workers(runner, specs, pending, min(jobs, len(pending)), started, finished)
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


def _in_workers(runner: Runner, specs: list[RunSpec], pending: list[int], jobs: int,
                started: Callable[[int], None], finished: Callable[[int, Outcome], None]) -> None:
    """Run the specs at `pending` in `jobs` worker processes, reporting each start and end."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tinybench.pipeline"])  # each worker starts warm
    todo, events = context.Queue(), context.Queue()
    for index in [*pending, *[None] * jobs]:
        todo.put(index)
    workers = [context.Process(target=_work, args=(runner, specs, todo, events),
                               name=f"tinybench-worker-{n}") for n in range(1, jobs + 1)]
    for worker in workers:
        worker.start()
    left = set(pending)
    try:
        while left:
            try:
                index, kind, payload = events.get(timeout=1)
            except queue.Empty:
                _check_alive(workers, specs, left)
                continue
            if kind == "started":
                started(index)
            elif kind == "crashed":
                raise TinybenchError(f"{specs[index].label}: a worker failed: {payload}")
            else:
                left.discard(index)
                finished(index, payload)
    finally:
        _stop(workers, interrupt=bool(left))


def _work(runner: Runner, specs: list[RunSpec], todo: multiprocessing.Queue,
          events: multiprocessing.Queue) -> None:
    """A worker: run the specs whose places arrive on `todo` until None; report on `events`."""
    try:
        for index in iter(todo.get, None):
            events.put((index, "started", None))
            try:
                outcome = timed(runner, specs[index])
            except Exception:  # a bug, not a failed run (those are records): say where
                events.put((index, "crashed", traceback.format_exc(limit=-3)))
                return
            events.put((index, "finished", outcome))
    except KeyboardInterrupt:  # the main process stops the matrix and says what was left
        events.cancel_join_thread()  # so exit at once, even with reports nobody will read


def _check_alive(workers: list[BaseProcess], specs: list[RunSpec], left: set[int]) -> None:
    """Raise if a worker died (killed, a crash in native code) with runs still to do."""
    dead = [w for w in workers if w.exitcode not in (None, 0)]
    if not dead and not any(w.is_alive() for w in workers):
        dead = workers  # every worker ended, yet runs are unreported
    if dead:
        labels = ", ".join(specs[i].label for i in sorted(left))
        raise TinybenchError(f"{dead[0].name} died (exit code {dead[0].exitcode}) with runs "
                             f"unfinished: {labels}; run them again with -j 1 to see why")


def _stop(workers: list[BaseProcess], interrupt: bool) -> None:
    """Wait for the workers to end; when runs were left, interrupt them first (as Ctrl-C
    would: each stops its tools), and kill one that does not end within a second."""
    for worker in workers:
        if interrupt and worker.is_alive():
            os.kill(worker.pid, signal.SIGINT)
    deadline = time.monotonic() + 1
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()) if interrupt else None)
        if worker.is_alive():
            worker.kill()
            worker.join()


def _finished(results: Path) -> dict[Key, Record]:
    if not results.exists():
        return {}
    return {r.key: r for r in latest(load_records(results)) if r.status == "ok"}
