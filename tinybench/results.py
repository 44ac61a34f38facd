"""Benchmark results: one frozen record per run, kept as JSON Lines with a schema version.

A record says what ran (task, model, backend, board, simulator, tool versions, options), what it
measured (cycles, instructions, memory, arena, stack, output check) or where it failed (stage and
reason: failure is data, not an exception). `append_records` adds records to a `.jsonl` file so
that concurrent writers lose nothing and a killed writer leaves the earlier records intact;
`load_records` reads a file or every `.jsonl` file of a folder and refuses unknown schema versions.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from tinybench.artifacts import DataAccess, Layer, LayerProfile
from tinybench.errors import ConfigError
from tinybench.paths import atomic_write, content_hash
from tinybench.spec import DEFAULT_WEIGHTS, FILE_WEIGHTS, Key, key_label

SCHEMA_VERSION = 4
# Older versions this tinybench still reads, each with how its raw record becomes the current
# one. 1 → 2: `environment` was added (it stays empty: version 1 did not record it). 2 → 3:
# `power_mw`, `measured_energy_uj` and `accuracy` were added; `power_mw` is taken from today's
# board data, so older runs get an energy estimate too; the others stay None. 2 → 3 also
# added `seconds`, each run's wall time (it stays None: no earlier version timed its runs), and
# `profile`, the per-layer figures (None: earlier runs made no per-layer profile); and the
# output check says its output's dtype (int8, the only one before), takes float differences
# and tolerances for float outputs, and says how a stateful model's state is set; and
# `flash_data` was added (it stays None: no data-side memory model charged those runs).
# 3 → 4: `coremark` was added (None: no earlier run was a CoreMark run); each profiled layer
# names its top `functions` (empty: version 3 did not attribute a layer's cycles to functions);
# and `weights` was added, part of the key: every earlier run of a task ran its twin, any other
# run a user's file.
# And the output check of a model with several outputs holds each one's check in `outputs`
# (empty before: every model had one output).


def _power_of_board(raw: dict) -> dict:
    from tinybench.boards import all_boards

    board = all_boards().get(raw.get("board", ""))
    return {**raw, "power_mw": board.power.mw if board and board.power else None}


def _layers_without_functions(raw: dict) -> dict:
    if raw.get("profile") is None:
        return raw
    layers = [{**layer, "functions": []} for layer in raw["profile"]["layers"]]
    return {**raw, "profile": {**raw["profile"], "layers": layers}}


def _weights_of_task(raw: dict) -> dict:
    from tinybench.tasks import TASKS

    return {**raw, "weights": DEFAULT_WEIGHTS if raw.get("task") in TASKS else FILE_WEIGHTS}


def _before_3(raw: dict) -> dict:
    return _weights_of_task(_power_of_board(raw))


def _version_3(raw: dict) -> dict:
    return _layers_without_functions(_weights_of_task(raw))


MIGRATIONS = {1: _before_3, 2: _before_3, 3: _version_3}

# The numbers a run yields, with their unit; reports and regression thresholds use these names.
METRICS: dict[str, str] = {
    "cycles": "cycles",
    "instructions": "instructions",
    "latency_ms": "ms",
    "flash_bytes": "B",
    "ram_bytes": "B",
    "arena_bytes": "B",
    "stack_bytes": "B",
    "energy_uj": "µJ",  # an estimate: the board's datasheet run power times latency
    "accuracy": "",  # on a data set: top-1 as a fraction, or ROC AUC
}
HIGHER_IS_BETTER = frozenset({"accuracy"})  # the other metrics get worse when they grow



def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class Memory:
    """Flash and RAM of the firmware ELF, in bytes: totals and splits by section and component.

    Flash counts what is programmed (vector table, code, read-only data, .data's initial values);
    RAM counts what is reserved at link time (.data, .bss with the arena, heap, stack), so it is
    the RAM the board must have. Components are e.g. model, engine, kernels, harness, libc.
    """

    flash_bytes: int
    ram_bytes: int
    flash_sections: dict[str, int] = field(default_factory=dict)
    ram_sections: dict[str, int] = field(default_factory=dict)
    flash_components: dict[str, int] = field(default_factory=dict)
    ram_components: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_report(cls, report: object) -> Memory:
        """Copy these fields from a tinybench.analysis.elf.MemoryReport (other fields ignored)."""
        return cls(**{f.name: getattr(report, f.name) for f in dataclasses.fields(cls)})


@dataclass(frozen=True, kw_only=True)
class OutputCheck:
    """How the device outputs compared with the host reference: in steps (LSB) of an integer
    output, in the output's own unit for a float one (an absolute bound)."""

    inputs: int  # how many inputs were run on both
    max_abs_diff: float  # the largest |device - reference| over every output value
    tolerance: float = 0  # the largest difference accepted; 0 means bit-exact
    reference: str = "litert"  # the host engine that gave the expected outputs
    dtype: str = "int8"  # the output's type
    state: str = "none"  # a stateful model's: "reset" before each inference, on host and device
    # A model with several outputs: each one's check, in the model's order; the fields above
    # are then those of the worst of them (see `of_outputs`)
    outputs: tuple[OutputCheck, ...] = ()

    @property
    def unit(self) -> str:
        return "" if self.dtype.startswith("float") else " LSB"

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance and all(o.passed for o in self.outputs)

    @classmethod
    def of_outputs(cls, checks: Sequence[OutputCheck]) -> OutputCheck:
        """The check of a model whose outputs were checked one by one: a single output's own,
        or the worst of several (a failing one first, then the largest share of its tolerance)
        holding them all."""
        if len(checks) == 1:
            return checks[0]

        def badness(check: OutputCheck) -> tuple[bool, float]:
            if check.tolerance:
                share = check.max_abs_diff / check.tolerance
            else:
                share = math.inf if check.max_abs_diff else 0.0
            return not check.passed, share

        return dataclasses.replace(max(checks, key=badness), outputs=tuple(checks))

    @classmethod
    def from_dict(cls, raw: dict) -> OutputCheck:
        return cls(**{**raw, "outputs": tuple(cls.from_dict(o) for o in raw.get("outputs", ()))})


@dataclass(frozen=True, kw_only=True)
class Accuracy:
    """The task's metric over a labelled data set, on the device and on the host reference."""

    metric: str  # "top1" (a fraction of the samples) or "auc" (ROC AUC of anomaly scores)
    device: float
    host: float
    samples: int  # files of the data set (an ad01 file is several windows, one score)
    data_hash: str  # content hash of the data set's labels and files
    differing: tuple[str, ...] = ()  # samples whose device result differs from the host's

    @property
    def disagreements(self) -> int:
        return len(self.differing)


@dataclass(frozen=True, kw_only=True)
class CoreMarkScore:
    """A CoreMark run (tinybench.coremark): its iterations, the cycles they took, the score."""

    iterations: int
    cycles: int  # of all the timed iterations
    per_mhz: float  # CoreMark/MHz: iterations per second per MHz = iterations * 1e6 / cycles

    @classmethod
    def of(cls, iterations: int, cycles: int) -> CoreMarkScore:
        return cls(iterations=iterations, cycles=cycles, per_mhz=iterations * 1e6 / cycles)


@dataclass(frozen=True, kw_only=True)
class Record:
    """One benchmark run. Only the identity fields and the board clock are required.

    A failed run has status "failed", the `stage` it stopped in (convert, build, simulate,
    analyze…) and a one-line `reason`; the fields it did not reach stay None. `tools` holds the
    versions of everything that shapes the figures (compiler, engine, simulator, cycle model)
    and `options` the knobs given to the run (optimisation level, inputs): with the model hash
    and the clock they make the `config_hash`, and runs whose config_hash differs are not
    compared with each other. `environment` records the rest of what the run used (Python,
    TensorFlow, the host reference engines…): it says how a record was made but does not
    decide comparability, since it does not move the figures; nor does `seconds`, how long
    the run took here (cold or warm cache, a loaded machine), which only balances shards.
    """

    task: str  # an MLPerf Tiny task (kws01 … sww01), "coremark" or the stem of a .tflite
    model_hash: str  # content hash of the .tflite that ran ("" if it was never produced)
    # the task's model: "twin" (tinybench's, untrained), "reference" (the official trained
    # one) or "file" (a user's .tflite); part of the key
    weights: str = DEFAULT_WEIGHTS
    backend: str  # tvm, tflm, cmsis-nn…
    board: str  # a name from boards.toml
    simulator: str  # iss, renode…
    clock_hz: int  # the board clock the latency is computed at
    status: Literal["ok", "failed"] = "ok"
    stage: str | None = None
    reason: str | None = None
    cycles: int | None = None  # per inference (CoreMark: per iteration), from the cycle model
    instructions: int | None = None  # per inference (CoreMark: per iteration)
    memory: Memory | None = None
    arena_bytes: int | None = None  # tensor arena the engine used
    stack_bytes: int | None = None  # stack high-water mark
    check: OutputCheck | None = None
    power_mw: float | None = None  # the board's datasheet run power (V * I): an estimate
    measured_energy_uj: float | None = None  # per inference, from a power monitor if given
    accuracy: Accuracy | None = None  # accuracy mode: the metric over a data set
    # Per-layer figures of the profile build (`tinybench profile`, `run --profile`); the
    # headline cycles above stay the benchmark build's
    profile: LayerProfile | None = None
    # per inference: data reads from Flash, cache hits, stall cycles (within `cycles`); None
    # where the simulator has no data-side memory model (Renode, a board)
    flash_data: DataAccess | None = None
    coremark: CoreMarkScore | None = None  # a CoreMark run's score
    tools: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    commit: str | None = None  # git sha of the checkout run in, "+dirty" when modified
    time: str = field(default_factory=_now)  # when the run finished, ISO 8601 UTC
    seconds: float | None = None  # the run's wall time (build included), to balance shards

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise ValueError(f"status must be 'ok' or 'failed', not {self.status!r}")
        if self.status == "failed" and not (self.stage and self.reason):
            raise ValueError("a failed record needs the stage it failed in and a reason")

    @property
    def key(self) -> Key:
        return (self.task, self.backend, self.board, self.simulator, self.weights)

    @property
    def label(self) -> str:
        return key_label(self.key)

    @property
    def latency_ms(self) -> float | None:
        """Milliseconds per inference at the board clock."""
        return None if self.cycles is None else self.cycles * 1000 / self.clock_hz

    @property
    def energy_uj(self) -> float | None:
        """Estimated microjoules per inference: datasheet run power times latency (mW * ms = µJ)."""
        latency = self.latency_ms
        return None if latency is None or self.power_mw is None else self.power_mw * latency

    @property
    def config_hash(self) -> str:
        """A hash of everything besides the code under test that shapes the figures."""
        config = {
            "key": self.key,
            "model_hash": self.model_hash,
            "clock_hz": self.clock_hz,
            "tools": self.tools,
            "options": self.options,
        }
        return content_hash(json.dumps(config, sort_keys=True))

    @property
    def broken(self) -> str | None:
        """Why this run's figures cannot be trusted (failed, or wrong outputs); None if they can."""
        if self.status == "failed":
            return f"failed at {self.stage}: {self.reason}"
        if self.check is not None and not self.check.passed:
            check = self.check
            return (f"outputs differ from the reference by {check.max_abs_diff:g}{check.unit} "
                    f"(tolerance {check.tolerance:g})")
        return None

    def metrics(self) -> dict[str, float | None]:
        """The values of every metric in METRICS (None where not measured)."""
        memory = self.memory
        return {
            "cycles": self.cycles,
            "instructions": self.instructions,
            "latency_ms": self.latency_ms,
            "flash_bytes": memory.flash_bytes if memory else None,
            "ram_bytes": memory.ram_bytes if memory else None,
            "arena_bytes": self.arena_bytes,
            "stack_bytes": self.stack_bytes,
            "energy_uj": self.energy_uj,
            "accuracy": self.accuracy.device if self.accuracy else None,
        }

    def to_json(self) -> str:
        """One JSON line, schema version first."""
        return json.dumps({"schema_version": SCHEMA_VERSION, **dataclasses.asdict(self)})

    @classmethod
    def from_dict(cls, raw: dict) -> Record:
        """Build a record from a parsed JSON line of the current schema version."""
        raw = dict(raw)
        if raw.get("memory") is not None:
            raw["memory"] = Memory(**raw["memory"])
        if raw.get("check") is not None:
            raw["check"] = OutputCheck.from_dict(raw["check"])
        if raw.get("accuracy") is not None:
            accuracy = raw["accuracy"]
            raw["accuracy"] = Accuracy(**{**accuracy,
                                          "differing": tuple(accuracy.get("differing", ()))})
        if raw.get("profile") is not None:
            layers = tuple(Layer(**{**layer, "output_shape": tuple(layer["output_shape"]),
                                    "functions": tuple(map(tuple, layer["functions"]))})
                           for layer in raw["profile"]["layers"])
            raw["profile"] = LayerProfile(**{**raw["profile"], "layers": layers})
        if raw.get("flash_data") is not None:
            raw["flash_data"] = DataAccess(**raw["flash_data"])
        if raw.get("coremark") is not None:
            raw["coremark"] = CoreMarkScore(**raw["coremark"])
        return cls(**raw)


def latest(records: Iterable[Record]) -> list[Record]:
    """The newest record of each key (ties go to the later one), sorted by key."""
    newest: dict[Key, Record] = {}
    for record in records:
        if record.key not in newest or record.time >= newest[record.key].time:
            newest[record.key] = record
    return [newest[key] for key in sorted(newest)]


def parse_record(line: str, where: str) -> Record:
    """Parse one JSON line; `where` (file:line) goes into the error message."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{where}: not a JSON line ({error.msg}); is this a results file?"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a JSON object per line; is this a results file?")
    version = raw.pop("schema_version", None)
    if version in MIGRATIONS:
        raw, version = MIGRATIONS[version](raw), SCHEMA_VERSION
    if version != SCHEMA_VERSION:
        raise ConfigError(
            f"{where}: results schema_version {version} is not readable by this tinybench "
            f"(it reads {', '.join(map(str, [*MIGRATIONS, SCHEMA_VERSION]))}); use the tinybench "
            "version that wrote it"
        )
    try:
        return Record.from_dict(raw)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: not a valid tinybench record: {error}") from None


def load_records(path: Path) -> list[Record]:
    """Every record of a `.jsonl` file, or of all `.jsonl` files in a folder, in file order.

    Finding none is an error: a report or a gate on nothing would pass silently.
    """
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
    elif path.is_file():
        files = [path]
    else:
        raise ConfigError(f"no results at {path}; give a .jsonl file or a folder of them")
    records = [
        parse_record(line, f"{file}:{number}")
        for file in files
        for number, line in enumerate(file.read_text().splitlines(), start=1)
        if line.strip()
    ]
    if not records:
        raise ConfigError(f"{path} holds no results; run the benchmarks first")
    return records


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (flock on the directory itself: no lock files)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def append_records(path: Path, records: Iterable[Record]) -> None:
    """Add records to a `.jsonl` file: a locked read, then an atomic rewrite with them appended."""
    lines = "".join(record.to_json() + "\n" for record in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.parent):
        old = path.read_text() if path.exists() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        atomic_write(path, old + lines)


def replace_records(path: Path, records: list[Record]) -> int:
    """Put `records` in the `.jsonl` file at `path` in place of its records of the same keys.

    The file's records of other keys stay, before the new ones; the rewrite is atomic and
    under the lock. Returns how many records were kept.
    """
    keys = {record.key for record in records}
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.parent):
        kept = [r for r in load_records(path) if r.key not in keys] if path.is_file() else []
        atomic_write(path, "".join(record.to_json() + "\n" for record in kept + records))
    return len(kept)
