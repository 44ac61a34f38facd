"""One benchmark run from a spec to a record: model → backend sources → firmware → simulation.

`prepare` takes a frozen `RunSpec` as far as a linked, measured ELF and the host reference
data; `run` then simulates it and returns a `Record`, and the real-board runner (tinybench.board)
flashes and runs the very same image. In `run` a stage that fails turns into a failed record
naming the stage and the reason: failure is data. A piece that is missing on this machine (a
backend's sources, a simulator) raises ToolNotFoundError before any work, so a matrix can skip
that run with the reason and go on.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinybench import toolchain
from tinybench.analysis.elf import MemoryReport, measure
from tinybench.artifacts import Firmware, Mark, SimResult
from tinybench.backends import BACKENDS
from tinybench.boards import Board, all_boards, check_fit, get_board
from tinybench.errors import ConfigError, SimulationError, TinybenchError, ToolNotFoundError
from tinybench.firmware.build import build_firmware
from tinybench.paths import cache_dir, content_hash
from tinybench.probe import arena_probe
from tinybench.protocol import parse_session, session_script
from tinybench.results import (
    Key,
    Memory,
    OutputCheck,
    Record,
    append_records,
    latest,
    load_records,
)
from tinybench.simulators import SIMULATORS, Simulator
from tinybench.tasks import TASKS
from tinybench.toolchain import find_toolchain

if TYPE_CHECKING:
    from tinybench.models.reference import Golden

INSTRUCTION_BUDGET = 2_000_000_000  # per simulated session: a hang stops here


@dataclass(frozen=True)
class RunSpec:
    """What to run: a task name (or a .tflite path), a backend, a board and a simulator."""

    task: str
    backend: str
    board: str
    simulator: str = "iss"
    inputs: int = 5  # deterministic inputs checked against the host reference
    opt: str = "-O2"  # optimisation level of the firmware build

    @property
    def label(self) -> str:
        return f"{self.task_name}/{self.backend}/{self.board}/{self.simulator}"

    @property
    def key(self) -> Key:
        """The key of the records this spec yields (see Record.key)."""
        return (self.task_name, self.backend, self.board, self.simulator)

    @property
    def task_name(self) -> str:
        return self.task if self.task in TASKS else Path(self.task).stem


def parse_list(text: str, known: Iterable[str], what: str) -> list[str]:
    """Split 'a,b' (or 'all') into names, refusing unknown ones with the known list."""
    names = list(known) if text == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ConfigError(f"unknown {what} '{','.join(unknown)}'; choose from {', '.join(known)}")
    return names


def matrix(tasks: str, backends: str, boards: str, simulators: str = "iss",
           inputs: int = 5, opt: str = "-O2") -> list[RunSpec]:
    """Every combination of comma-separated tasks (or .tflite files), backends, boards…"""
    task_names = [t.strip() for t in tasks.split(",")] if tasks != "all" else list(TASKS)
    for task in task_names:
        if task not in TASKS and not Path(task).suffix == ".tflite":
            raise ConfigError(f"unknown task '{task}'; choose from {', '.join(TASKS)} "
                              "or give a .tflite file")
    return [
        RunSpec(task, backend, board, simulator, inputs, opt)
        for task in task_names
        for backend in parse_list(backends, BACKENDS, "backend")
        for board in parse_list(boards, all_boards(), "board")
        for simulator in parse_list(simulators, SIMULATORS, "simulator")
    ]


def missing(spec: RunSpec) -> str | None:
    """Why `spec` cannot run on this machine (toolchain, backend or simulator absent), or None."""
    return missing_to_build(spec) or SIMULATORS[spec.simulator].missing()


def missing_to_build(spec: RunSpec) -> str | None:
    """Why `spec`'s firmware cannot be prepared here (toolchain or backend absent), or None."""
    return toolchain.missing() or BACKENDS[spec.backend].missing()


@dataclass(frozen=True)
class Prepared:
    """A spec's firmware, built, measured and fitted, with the data its outputs are checked on."""

    spec: RunSpec
    firmware: Firmware
    memory: MemoryReport
    golden: Golden  # seeded inputs and the backend's host reference outputs
    model_hash: str
    versions: dict[str, str]  # the backend's upstream versions, for the record's tools


@dataclass
class Trail:
    """How far `prepare` got: the stage under way and what a record of the run knows so far."""

    stage: str = "convert"
    model_hash: str = ""
    versions: dict[str, str] = field(default_factory=dict)


def prepare(spec: RunSpec, trail: Trail | None = None) -> Prepared:
    """Convert, generate, build, measure, check the fit and make the golden data (all cached).

    Ask `missing_to_build` first. Errors propagate as raised; `trail`, when given, is kept up
    to date with the stage that raised them.
    """
    trail = Trail() if trail is None else trail
    board = get_board(spec.board)
    backend = BACKENDS[spec.backend]
    model = model_file(spec.task)
    trail.model_hash = content_hash(model)
    trail.stage = "generate"  # a backend refuses what it cannot run here, before any long work
    workdir = cache_dir("work", spec.backend, board.name, trail.model_hash)
    sources = backend.generate(model, board, workdir, arena_probe)
    trail.versions = dict(sources.versions)
    trail.stage = "build"
    firmware = build_firmware(sources, board, opt=spec.opt)
    trail.stage = "analyze"
    memory = measure(firmware, board)
    check_fit(board, memory.flash_bytes, memory.ram_bytes)
    trail.stage = "reference"
    golden = golden_data(model, spec.inputs, backend.reference)
    return Prepared(spec, firmware, memory, golden, trail.model_hash, trail.versions)


def run(spec: RunSpec) -> Record:
    """Run one benchmark; a failing stage gives a failed record (ToolNotFoundError propagates)."""
    reason = missing(spec)
    if reason:
        raise ToolNotFoundError(reason)
    board = get_board(spec.board)
    trail = Trail()
    try:
        prepared = prepare(spec, trail)
        trail.stage = "simulate"
        measured = _simulate(SIMULATORS[spec.simulator], prepared.firmware, prepared.golden)
        trail.stage = "check"
        check = output_check(prepared, measured.outputs)
    except ToolNotFoundError:
        raise  # something vanished mid-run: a skip with its reason, not a broken benchmark
    except TinybenchError as error:
        return make_record(spec, board, trail.model_hash, trail.versions, status="failed",
                           stage=trail.stage, reason=_one_line(error))
    return make_record(spec, board, prepared.model_hash, prepared.versions,
                       cycles=measured.cycles, instructions=measured.instructions,
                       memory=Memory.from_report(prepared.memory),
                       arena_bytes=measured.arena_bytes, stack_bytes=measured.stack_bytes,
                       check=check)


def model_file(task: str) -> Path:
    """The int8 .tflite of a task (exported, cached) or a user's file, checked to be usable."""
    from tinybench.models import export
    from tinybench.models.inspect import inspect_model

    if task in TASKS:
        return export(task)
    path = Path(task)
    if not path.is_file():
        raise ConfigError(f"model file {path} does not exist")
    inspect_model(path)  # refuses files that are not int8 .tflite models, with the reason
    return path


def golden_data(model: Path, count: int, engine: str) -> Golden:
    """Seeded inputs and `engine`'s host outputs, which every device run is checked against."""
    from tinybench.models.reference import golden

    return golden(model, count=count, engine=engine)


@dataclass(frozen=True)
class _Measured:
    cycles: int  # per inference: the median over the inputs
    instructions: int
    arena_bytes: int | None
    stack_bytes: int | None
    outputs: list[np.ndarray]


def _simulate(simulator: Simulator, firmware: Firmware, golden: Golden) -> _Measured:
    """One session per golden input: load it, infer once, read the outputs and counters."""
    cycles, instructions, sessions = [], [], []
    for tensor in golden.inputs:
        result = simulator.run(firmware.elf, firmware.board,
                               session_script(tensor.astype(np.int8).tobytes()),
                               INSTRUCTION_BUDGET)
        session = parse_session(result.uart_output)
        if session.errors or not session.infer_done:
            problem = "; ".join(session.errors) or "no m-infer-done"
            raise SimulationError(f"the firmware did not complete an inference: {problem}")
        start, end = _inference_marks(result)
        cycles.append(end.cycles - start.cycles)
        instructions.append(end.instructions - start.instructions)
        sessions.append(session)
    return _Measured(cycles=int(statistics.median(cycles)),
                     instructions=int(statistics.median(instructions)),
                     arena_bytes=sessions[-1].arena_bytes, stack_bytes=sessions[-1].stack_bytes,
                     outputs=[np.array(s.outputs, dtype=np.int16) for s in sessions])


def _inference_marks(result: SimResult) -> tuple[Mark, Mark]:
    """The two CYCCNT reads around the one inference of a session (the harness contract)."""
    if len(result.marks) != 2:
        raise SimulationError(f"expected 2 cycle-counter reads around the inference, the "
                              f"firmware made {len(result.marks)}; is it the tinybench harness?")
    start, end = result.marks
    return start, end


def output_check(prepared: Prepared, outputs: list[np.ndarray]) -> OutputCheck:
    """How the device's outputs, one array per golden input, compare with the host reference."""
    backend = BACKENDS[prepared.spec.backend]
    return OutputCheck(inputs=len(prepared.golden.inputs),
                       max_abs_diff=max_diff(outputs, prepared.golden.outputs),
                       tolerance=backend.output_tolerance, reference=backend.reference)


def max_diff(device: list[np.ndarray], reference: list[np.ndarray]) -> int:
    """The largest |device - reference| over every output value, in int8 steps."""
    worst = 0
    for got, want in zip(device, reference, strict=True):
        want = want.astype(np.int16).ravel()
        if got.size != want.size:
            raise SimulationError(f"the firmware returned {got.size} output values, "
                                  f"the model has {want.size}")
        worst = max(worst, int(np.abs(got - want).max()))
    return worst


def make_record(spec: RunSpec, board: Board, model_hash: str, versions: dict[str, str],
                **measured) -> Record:
    """A record of `spec` with provenance (tools, options, commit) and what was measured."""
    return Record(task=spec.task_name, model_hash=model_hash, backend=spec.backend,
                  board=board.name, simulator=spec.simulator, clock_hz=board.clock_hz,
                  tools={**_tools(), **versions},
                  options={"opt": spec.opt, "inputs": str(spec.inputs)},
                  commit=_commit(), **measured)


def _tools() -> dict[str, str]:
    from tinybench.simulators import cycles

    return {"gcc": find_toolchain().version,
            "cycle_model": content_hash(Path(cycles.__file__))}


def _one_line(error: Exception) -> str:
    """The first line of an error and, for tool output, the first line that names a problem."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or ["(no message)"]
    if len(lines) == 1:
        return lines[0]
    cause = next((line for line in lines[1:] if re.search(r"error|undefined|fault", line, re.I)),
                 lines[-1])
    return f"{lines[0]} … {cause}"


def _commit() -> str | None:
    """The git commit a run belongs to, "+dirty" when tracked files differ from it: that of
    the checkout in the current directory (the project being benchmarked, or tinybench's own
    in its CI), else that of the source tree an editable tinybench runs from; None when
    neither is a git checkout (an installed tinybench run outside one)."""
    for where in (Path.cwd(), Path(__file__).parent):
        try:
            sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where,
                                 capture_output=True, text=True, check=True).stdout.strip()
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                   cwd=where, capture_output=True, text=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            continue
        return sha + ("+dirty" if dirty else "")
    return None


Progress = Callable[[int, int, RunSpec, str], None]


def _quiet(index: int, total: int, spec: RunSpec, state: str) -> None:
    """The default progress report: none."""


def run_matrix(specs: list[RunSpec], results: Path | None = None, progress: Progress = _quiet,
               resume: bool = False) -> tuple[list[Record], list[tuple[RunSpec, str]]]:
    """Run every spec; append each record to `results` as soon as it exists.

    Returns the records and the skipped specs with their reasons. An interruption loses
    nothing that finished: every record is already in the results file, and with `resume`
    a spec whose newest record there is "ok" is taken from the file instead of run again.
    """
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
            record = run(spec)
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
