"""A benchmark matrix: names expanded into run specs, run one after another, resumable."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from tinybench.boards import all_boards
from tinybench.errors import ConfigError, ToolNotFoundError
from tinybench.names import unknown
from tinybench.pipeline import Stages, run
from tinybench.results import Record, append_records, latest, load_records
from tinybench.spec import Key, RunSpec
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
           inputs: int = 5, opt: str = "-O2", stages: Stages | None = None) -> list[RunSpec]:
    """Every combination of comma-separated tasks (or .tflite files), backends, boards…

    Every name and file is checked before anything runs.
    """
    stages = stages or Stages()
    task_names = [t.strip() for t in tasks.split(",")] if tasks != "all" else list(TASKS)
    for task in task_names:
        if task in TASKS:
            continue
        if Path(task).suffix != ".tflite":
            raise unknown("task", task, [*TASKS, "a .tflite file"])
        if not Path(task).is_file():
            raise ConfigError(f"model file {task} does not exist")
    return [
        RunSpec(task, backend, board, simulator, inputs, opt)
        for task in task_names
        for backend in parse_list(backends, stages.backends, "backend")
        for board in parse_list(boards, all_boards(), "board")
        for simulator in parse_list(simulators, stages.simulators, "simulator")
    ]


class MatrixInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a matrix: what finished (its records are kept) and what was left."""

    def __init__(self, finished: list[Record], left: list[RunSpec]) -> None:
        super().__init__(f"{len(finished)} runs finished, {len(left)} left")
        self.finished, self.left = finished, left


def _quiet(index: int, total: int, spec: RunSpec, state: str) -> None:
    """The default progress report: none."""


def run_matrix(specs: list[RunSpec], results: Path | None = None, progress: Progress = _quiet,
               resume: bool = False, runner: Callable[[RunSpec], Record] | None = None,
               ) -> tuple[list[Record], list[tuple[RunSpec, str]]]:
    """Run every spec with `runner` (default: `run`); append each record to `results` as soon
    as it exists.

    Returns the records and the skipped specs with their reasons. An interruption (Ctrl-C)
    raises MatrixInterrupted and loses nothing that finished: every record is already in the
    results file, and with `resume` a spec whose newest record there is "ok" is taken from the
    file instead of run again.
    """
    runner = runner or run
    done = _finished(results) if resume and results is not None else {}
    records: list[Record] = []
    skipped: list[tuple[RunSpec, str]] = []
    for index, spec in enumerate(specs, start=1):
        if spec.key in done:
            records.append(done[spec.key])
            progress(index, len(specs), spec, "done in an earlier run")
            continue
        progress(index, len(specs), spec, "running")
        try:
            record = runner(spec)
        except KeyboardInterrupt:
            raise MatrixInterrupted(records, specs[index - 1:]) from None
        except ToolNotFoundError as error:
            skipped.append((spec, str(error)))
            progress(index, len(specs), spec, f"skipped: {error}")
            continue
        records.append(record)
        if results is not None:
            append_records(results, [record])
        progress(index, len(specs), spec, record.broken or "ok")
    return records, skipped


def _finished(results: Path) -> dict[Key, Record]:
    if not results.exists():
        return {}
    return {r.key: r for r in latest(load_records(results)) if r.status == "ok"}
