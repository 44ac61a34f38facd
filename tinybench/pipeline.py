"""One benchmark run, from a spec to a record: model → backend sources → firmware → simulation.

Each stage of a run is named by `Stage` and done by a plain callable of `Stages`: the real
ones by default, fakes in tests. `prepare` takes a `RunSpec` as far as a linked, measured ELF
and the host reference data; `run` then simulates it and returns a `Record`, and the real-board
runner flashes and runs the very same image. A stage that fails raises `StageFailed` from
`prepare` and becomes a failed record in `run`, naming the stage and the reason — whatever the
error, so one broken run never ends a matrix. A piece that is missing on this machine (a
backend's sources, a simulator) raises ToolNotFoundError before any work, so a matrix can skip
that run with the reason and go on.
"""

from __future__ import annotations

import dataclasses
import re
import signal
import statistics
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinybench import coremark, toolchain
from tinybench.analysis.elf import MemoryReport, measure
from tinybench.analysis.layers import build_profile, layers_of
from tinybench.artifacts import (
    ArenaProbe,
    DataAccess,
    Firmware,
    FirmwareSources,
    LayerProfile,
    Mark,
    SimResult,
)
from tinybench.boards import Board, check_fit, get_board
from tinybench.errors import ConfigError, SimulationError, TinybenchError, ToolNotFoundError
from tinybench.firmware.build import build_firmware
from tinybench.names import lookup
from tinybench.paths import cache_dir, content_hash, locked
from tinybench.probe import arena_probe
from tinybench.protocol import Session, completed_session, output_tensors, session_script
from tinybench.provenance import common_tools, make_record
from tinybench.results import CoreMarkScore, Memory, OutputCheck, Record
from tinybench.spec import DEFAULT_WEIGHTS, WEIGHTS, RunSpec
from tinybench.tasks import TASKS

if TYPE_CHECKING:
    from tinybench.backends import Backend
    from tinybench.models.reference import Golden, Sample
    from tinybench.simulators import Simulator

INSTRUCTION_BUDGET = 2_000_000_000  # per simulated session: a hang stops here
PROFILE_DEFINE = "TB_PROFILE_LAYERS"  # the firmware's layer marks and plan report


class Stage(StrEnum):
    """The stages of a run, in order; a failed record names the one it stopped in."""

    SETUP = "setup"  # names checked
    CONVERT = "convert"  # the task's model, or the user's file checked
    GENERATE = "generate"  # the backend's sources
    BUILD = "build"  # the firmware ELF
    ANALYZE = "analyze"  # Flash and RAM, and the fit to the board
    REFERENCE = "reference"  # the host reference outputs
    SIMULATE = "simulate"
    CHECK = "check"  # the device outputs against the reference


@dataclass(frozen=True)
class Measured:
    """What a simulation measured of the inferences of one spec."""

    cycles: int  # per inference: the median over the inputs
    instructions: int
    arena_bytes: int | None
    stack_bytes: int | None
    outputs: list[Sample]  # per golden input: one array per model output
    flash_data: DataAccess | None = None  # per inference, each count the median over the inputs


def _backends() -> Mapping[str, Backend]:
    from tinybench.backends import BACKENDS

    return BACKENDS


def _simulators() -> Mapping[str, Simulator]:
    from tinybench.simulators import SIMULATORS

    return SIMULATORS


def model_file(task: str, weights: str = DEFAULT_WEIGHTS) -> Path:
    """The .tflite of a task with `weights` (its twin or the official model) or a user's file,
    checked to be usable."""
    from tinybench.models.export import task_model
    from tinybench.models.inspect import check_runnable, inspect_model

    if task in TASKS:
        return task_model(task, weights)
    path = Path(task)
    if not path.is_file():
        raise ConfigError(f"model file {path} does not exist")
    check_runnable(inspect_model(path))  # refuses what cannot be fed or checked, with the reason
    return path


def golden_data(model: Path, count: int, engine: str) -> Golden:
    """Seeded inputs and `engine`'s host outputs, which every device run is checked against."""
    from tinybench.models.reference import golden

    return golden(model, count=count, engine=engine)


def measure_and_fit(firmware: Firmware, board: Board) -> MemoryReport:
    """Flash and RAM of the firmware; FitError when it does not fit the board."""
    memory = measure(firmware, board)
    check_fit(board, memory.flash_bytes, memory.ram_bytes)
    return memory


def simulate(simulator: Simulator, firmware: Firmware, golden: Golden) -> Measured:
    """One session per golden input: load it, infer once, read the outputs and counters."""
    cycles, instructions, sessions, data = [], [], [], []
    dtypes = [x.dtype for x in golden.outputs[0]]
    for sample in golden.inputs:
        result = simulator.run(firmware.elf, firmware.board,
                               session_script([x.tobytes() for x in sample]),
                               INSTRUCTION_BUDGET)
        sessions.append(completed_session(result.uart_output, "the firmware"))
        start, end = inference_marks(result)
        cycles.append(end.cycles - start.cycles)
        instructions.append(end.instructions - start.instructions)
        if start.data is not None and end.data is not None:
            data.append(end.data - start.data)
    return Measured(cycles=int(statistics.median(cycles)),
                    instructions=int(statistics.median(instructions)),
                    arena_bytes=sessions[-1].arena_bytes, stack_bytes=sessions[-1].stack_bytes,
                    outputs=[output_tensors(s, dtypes) for s in sessions],
                    flash_data=_median_data(data) if data else None)


def _median_data(data: list[DataAccess]) -> DataAccess:
    """Each count's median over the inputs."""
    return DataAccess(*(int(statistics.median(getattr(d, f.name) for d in data))
                        for f in dataclasses.fields(DataAccess)))


def inference_marks(result: SimResult) -> tuple[Mark, Mark]:
    """The two CYCCNT reads around the one inference of a session (the harness contract)."""
    if len(result.marks) != 2:
        raise SimulationError(f"expected 2 cycle-counter reads around the inference, the "
                              f"firmware made {len(result.marks)}; is it the tinybench harness?")
    start, end = result.marks
    return start, end


@dataclass(frozen=True)
class Stages:
    """What each stage does, as plain callables: the real work by default, fakes in tests."""

    model: Callable[[str, str], Path] = model_file  # CONVERT: task or path, weights → .tflite
    backends: Mapping[str, Backend] = field(default_factory=_backends)  # GENERATE
    probe: ArenaProbe = arena_probe  # GENERATE: measures the arena engines size by running
    build: Callable[[FirmwareSources, Board, str], Firmware] = build_firmware  # BUILD (opt)
    measure: Callable[[Firmware, Board], MemoryReport] = measure_and_fit  # ANALYZE
    golden: Callable[[Path, int, str], Golden] = golden_data  # REFERENCE (count, engine)
    simulators: Mapping[str, Simulator] = field(default_factory=_simulators)
    simulate: Callable[[Simulator, Firmware, Golden], Measured] = simulate  # SIMULATE
    toolchain: Callable[[], str | None] = toolchain.missing  # why the compiler is absent
    tools: Callable[[], dict[str, str]] = common_tools  # versions of compiler and cycle model
    coremark: Callable[[], FirmwareSources] = coremark.coremark_sources  # GENERATE for CoreMark


class StageFailed(TinybenchError):
    """A stage of one run failed; it carries what a record of the run knows so far."""

    def __init__(self, stage: Stage, error: Exception, model_hash: str = "",
                 tools: dict[str, str] | None = None) -> None:
        super().__init__(_one_line(error))
        self.stage, self.error = stage, error
        self.model_hash, self.tools = model_hash, dict(tools or {})
        self.exit_code = getattr(error, "exit_code", TinybenchError.exit_code)


@contextmanager
def stage_errors(stage: Stage, model_hash: str = "", tools: dict[str, str] | None = None
                 ) -> Iterator[None]:
    """Turn any error of `stage` into StageFailed; a missing piece still propagates as is.

    An error that follows a Ctrl-C is the interrupt: native code (TVM's compiler) turns the
    KeyboardInterrupt it was handed into an error of its own, which must not become a record.
    """
    previous = signal.getsignal(signal.SIGINT)
    watching = threading.current_thread() is threading.main_thread() and callable(previous)
    interrupted = []

    def note(signum: int, frame: object) -> None:
        interrupted.append(signum)
        previous(signum, frame)

    if watching:
        signal.signal(signal.SIGINT, note)
    try:
        yield
    except ToolNotFoundError:
        raise  # something vanished mid-run: a skip with its reason, not a broken benchmark
    except Exception as error:
        if interrupted:
            raise KeyboardInterrupt from error
        raise StageFailed(stage, error, model_hash, tools) from error
    finally:
        if watching:
            signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True)
class Prepared:
    """A spec's firmware, built, measured and fitted, with the data its outputs are checked on."""

    spec: RunSpec
    firmware: Firmware
    memory: MemoryReport
    golden: Golden  # seeded inputs and the backend's host reference outputs
    model_hash: str
    tools: dict[str, str]  # versions that shape the figures: compiler, cycle model, engine
    model: Path | None = None  # the .tflite the firmware runs


def missing(spec: RunSpec, stages: Stages | None = None) -> str | None:
    """Why `spec` cannot run here (toolchain, backend or simulator absent), or None."""
    stages = stages or Stages()
    return missing_to_build(spec, stages) or stages.simulators[spec.simulator].missing()


def missing_to_build(spec: RunSpec, stages: Stages | None = None) -> str | None:
    """Why `spec`'s firmware cannot be prepared here (toolchain, backend, CoreMark or the official
    models absent), or None."""
    from tinybench.models.export import missing_weights

    stages = stages or Stages()
    if spec.task == coremark.NAME:
        return stages.toolchain() or coremark.missing()
    return (stages.toolchain() or stages.backends[spec.backend].missing()
            or missing_weights(spec.model_weights))


def check_names(spec: RunSpec, stages: Stages | None = None) -> Board:
    """The spec's board; ConfigError with a did-you-mean for any unknown name."""
    stages = stages or Stages()
    if spec.task != coremark.NAME:
        lookup("backend", spec.backend, stages.backends)
    elif spec.backend != coremark.BACKEND:
        raise ConfigError(f"CoreMark runs no inference engine: its backend is "
                          f"'{coremark.BACKEND}', not '{spec.backend}'")
    lookup("simulator", spec.simulator, stages.simulators)
    lookup("weights", spec.weights, WEIGHTS)
    return get_board(spec.board)


def prepare(spec: RunSpec, stages: Stages | None = None) -> Prepared:
    """Convert, generate, build, measure, check the fit and make the golden data (all cached).

    Ask `missing_to_build` first. A failing stage raises StageFailed naming it.
    """
    stages = stages or Stages()
    with stage_errors(Stage.SETUP):
        board = check_names(spec, stages)
        if spec.task == coremark.NAME:
            raise ConfigError("CoreMark has no model to prepare or profile: run it with "
                              "`tinybench run --task coremark`")
        backend = stages.backends[spec.backend]
    with stage_errors(Stage.CONVERT):
        model = stages.model(spec.task, spec.weights)
        model_hash = content_hash(model)
    tools = stages.tools()
    workdir = cache_dir("work", spec.backend, board.name, model_hash)
    with locked(workdir):  # runs on other simulators share its sources and firmware
        with stage_errors(Stage.GENERATE, model_hash, tools):
            sources = backend.generate(model, board, workdir, stages.probe)
        tools = {**tools, **sources.versions}
        with stage_errors(Stage.BUILD, model_hash, tools):
            firmware = stages.build(sources, board, spec.opt)
    with stage_errors(Stage.ANALYZE, model_hash, tools):
        memory = stages.measure(firmware, board)
    with stage_errors(Stage.REFERENCE, model_hash, tools):
        golden = stages.golden(model, spec.inputs, backend.reference)
    return Prepared(spec, firmware, memory, golden, model_hash, tools, model)


def run(spec: RunSpec, stages: Stages | None = None) -> Record:
    """Run one benchmark; any failing stage gives a failed record (ToolNotFoundError propagates)."""
    stages = stages or Stages()
    try:
        with stage_errors(Stage.SETUP):
            board = check_names(spec, stages)
            reason = missing(spec, stages)
    except StageFailed as failed:
        return make_record(spec, None, "", {}, status="failed", stage=failed.stage,
                           reason=str(failed))
    if reason:
        raise ToolNotFoundError(reason)
    if spec.task == coremark.NAME:
        return run_coremark(spec, board, stages)
    try:
        prepared = prepare(spec, stages)
        simulator = stages.simulators[spec.simulator]
        tools = {**prepared.tools, "simulator": simulator.version()}
        with stage_errors(Stage.SIMULATE, prepared.model_hash, tools):
            measured = stages.simulate(simulator, prepared.firmware, prepared.golden)
            layers = simulate_profile(simulator, prepared, stages) if spec.profile else None
        with stage_errors(Stage.CHECK, prepared.model_hash, tools):
            check = output_check(prepared, measured.outputs, stages)
    except StageFailed as failed:
        return make_record(spec, board, failed.model_hash, failed.tools, status="failed",
                           stage=failed.stage, reason=str(failed))
    return make_record(spec, board, prepared.model_hash, tools,
                       cycles=measured.cycles, instructions=measured.instructions,
                       memory=Memory.from_report(prepared.memory),
                       arena_bytes=measured.arena_bytes, stack_bytes=measured.stack_bytes,
                       flash_data=measured.flash_data, check=check, profile=layers)


def run_coremark(spec: RunSpec, board: Board, stages: Stages) -> Record:
    """CoreMark on `board`: build it with the port, run it once, read and check its report.

    Cycles, instructions and Flash data reads are per iteration, between the port's two
    cycle-counter reads; the score comes from the whole timed run.
    """
    tools = stages.tools()
    try:
        with stage_errors(Stage.GENERATE, tools=tools):
            sources = stages.coremark()
        tools = {**tools, **sources.versions}
        with stage_errors(Stage.BUILD, tools=tools):
            firmware = stages.build(sources, board, spec.opt)
        with stage_errors(Stage.ANALYZE, tools=tools):
            memory = stages.measure(firmware, board)
        simulator = stages.simulators[spec.simulator]
        tools = {**tools, "simulator": simulator.version()}
        with stage_errors(Stage.SIMULATE, tools=tools):
            result = simulator.run(firmware.elf, board, b"", INSTRUCTION_BUDGET)
            start, end = inference_marks(result)
        with stage_errors(Stage.CHECK, tools=tools):
            report = coremark.parse_report(result.uart_output.decode(errors="replace"))
    except StageFailed as failed:
        return make_record(spec, board, "", failed.tools, status="failed", stage=failed.stage,
                           reason=str(failed))
    n = report.iterations
    data = None
    if start.data is not None and end.data is not None:
        data = DataAccess(*(round(c / n) for c in dataclasses.astuple(end.data - start.data)))
    return make_record(spec, board, "", tools, options={"iterations": str(n)},
                       cycles=round((end.cycles - start.cycles) / n),
                       instructions=round((end.instructions - start.instructions) / n),
                       memory=Memory.from_report(memory), flash_data=data,
                       coremark=CoreMarkScore.of(n, end.cycles - start.cycles))


def profile_build(prepared: Prepared, stages: Stages | None = None) -> Prepared:
    """`prepared` with the profile build as its firmware: the same sources with the layer marks
    compiled in (PROFILE_DEFINE); `memory` stays the benchmark build's."""
    stages = stages or Stages()
    sources = prepared.firmware.sources
    sources = dataclasses.replace(sources, defines=(*sources.defines, PROFILE_DEFINE))
    return dataclasses.replace(prepared, firmware=stages.build(sources, prepared.firmware.board,
                                                               prepared.spec.opt))


def session_profile(prepared: Prepared, session: Session, result: SimResult | None = None,
                    plain_cycles: int | None = None) -> LayerProfile:
    """The profile a profile build's session reports, with a simulator's marks and function
    profiles (`result`) and the benchmark build's cycles on the same input where known."""
    if prepared.model is None:
        raise ConfigError(f"{prepared.spec.label}: no model file to name the layers by")
    described, names = layers_of(prepared.model, prepared.firmware.sources)
    if result is None:
        return build_profile(described, names, session, plain_cycles=plain_cycles)
    return build_profile(described, names, session, result.marks, plain_cycles,
                         result.functions_between_marks)


def simulate_profile(simulator: Simulator, prepared: Prepared, stages: Stages | None = None
                     ) -> LayerProfile:
    """The first reference input on the benchmark build and on the profile build: the layers,
    and what the marks cost."""
    board = prepared.firmware.board
    script = session_script([x.tobytes() for x in prepared.golden.inputs[0]])
    plain = simulator.run(prepared.firmware.elf, board, script, INSTRUCTION_BUDGET)
    completed_session(plain.uart_output, "the firmware")
    start, end = inference_marks(plain)
    instrumented = profile_build(prepared, stages)
    result = simulator.run(instrumented.firmware.elf, board, script, INSTRUCTION_BUDGET,
                           functions_between_marks=True)
    session = completed_session(result.uart_output, "the profile firmware")
    return session_profile(instrumented, session, result, end.cycles - start.cycles)


def output_check(prepared: Prepared, outputs: list[Sample],
                 stages: Stages | None = None) -> OutputCheck:
    """How the device's outputs, per golden input, compare with the host reference: each of the
    model's outputs with the tolerance of its dtype."""
    stages = stages or Stages()
    backend = stages.backends[prepared.spec.backend]
    golden = prepared.golden
    checks = []
    for index, step in enumerate(golden.output_steps):
        reference = [sample[index] for sample in golden.outputs]
        checks.append(OutputCheck(
            inputs=len(golden.inputs),
            max_abs_diff=max_diff([sample[index] for sample in outputs], reference),
            tolerance=tolerance(backend.output_tolerance, reference, step),
            reference=backend.reference, dtype=str(reference[0].dtype),
            state="reset" if golden.stateful else "none"))
    return OutputCheck.of_outputs(checks)


# float32 outputs: what float kernels may differ by between the device build and the host
# engine (summation order, fused multiply-add), relative to the largest reference magnitude
FLOAT_RTOL = 1e-5


def tolerance(lsb: int, reference: list[np.ndarray], step: float | None = None) -> float:
    """The largest difference accepted for one output whose host values are `reference`.
    Integer outputs: `lsb` steps. Float outputs: `lsb` steps of the integer tensor they are
    dequantized from (`step`, if any), plus FLOAT_RTOL of the largest reference magnitude."""
    if np.issubdtype(reference[0].dtype, np.integer):
        return lsb
    largest = max(float(np.abs(o).max()) for o in reference)
    return lsb * (step or 0.0) + FLOAT_RTOL * largest


def max_diff(device: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """The largest |device - reference| over every output value: integer steps (LSB) for
    integer outputs, the outputs' own unit for float ones."""
    worst = 0.0
    for got, want in zip(device, reference, strict=True):
        if got.size != want.size:
            raise SimulationError(f"the firmware returned {got.size} output values, "
                                  f"the model has {want.size}")
        difference = np.abs(got.ravel().astype(np.float64) - want.ravel().astype(np.float64))
        worst = max(worst, float(difference.max()))
    return int(worst) if np.issubdtype(reference[0].dtype, np.integer) else worst


def _one_line(error: Exception) -> str:
    """The first line of an error and, for tool output, the first line that names a problem.

    An error that is not tinybench's own (a bug) is named by its type.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or ["(no message)"]
    if not isinstance(error, TinybenchError):
        lines[0] = f"unexpected {type(error).__name__}: {lines[0]}"
    if len(lines) == 1:
        return lines[0]
    cause = next((line for line in lines[1:] if re.search(r"error|undefined|fault", line, re.I)),
                 lines[-1])
    return f"{lines[0]} … {cause}"
