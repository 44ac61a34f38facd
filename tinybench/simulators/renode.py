"""Renode as a second simulator: the same ELFs on Renode's Cortex-M models.

Each run starts `renode-test` (Renode's Robot Framework front end) on renode/run.robot with a
private TMPDIR. The robot file loads the board's offline platform description (renode/*.repl),
the ELF and renode/tinybench_monitor.py, whose `tinybench_run` command feeds the UART input,
counts the executed blocks (renode/EdgeCounter.cs) and stops on idle, fault or budget.
Renode itself counts instructions only; the cycles come from the built-in cycle model
(tinybench.simulators.cycles) applied to Renode's own block edge counts.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tinybench import deps
from tinybench.analysis.profile import FunctionMap, by_function, stretches
from tinybench.artifacts import Mark, SimResult
from tinybench.boards import Board
from tinybench.errors import SimulationError, ToolNotFoundError
from tinybench.paths import shipped
from tinybench.simulators.cycles import CycleModel
from tinybench.simulators.devices import CCSIDR, CYCCNT, IDLE_POLLS, SCS_PAGE

COMPONENT = deps.get("renode")  # Renode's folder: $TINYBENCH_RENODE_DIR, else the deps cache
HOW_TO_GET = (
    f"run `tinybench deps fetch renode` (downloads the portable release), or set {COMPONENT.env} "
    f"to a {COMPONENT.title} folder (portable or built from source), or put renode-test on PATH"
)
PYTHON_MODULES = ("robot", "psutil", "yaml")  # what renode-test imports
TIMEOUT_S = 1800  # wall-clock limit of one run
RENODE_DIR = shipped("renode")  # platforms, robot file, monitor command, edge counter


def find_renode_test() -> Path | None:
    """renode-test in Renode's folder (through deps), else on PATH; None if not executable."""
    found = deps.status(COMPONENT)
    if found.state == "invalid":  # the user's folder, not silently another Renode
        return None
    script = found.path / "renode-test" if found.path else shutil.which("renode-test")
    return Path(script) if script and os.access(script, os.X_OK) else None


Block = tuple[int, int]  # (address, instructions): a block cut short shares its address
Edge = tuple[int, int, int]  # (previous block's address, address, instructions)


@dataclass(frozen=True)
class Trace:
    """What tinybench_monitor.py reports about one run."""

    exit_reason: str  # "idle", "fault", "budget" or "timeout"
    instructions: int  # Renode's own count for the whole run
    uart_output: bytes
    stop: tuple[int, int, int]  # (block address, its instructions, pc) where the run stopped
    marks: tuple[tuple[int, int, int], ...]  # the same at each DWT CYCCNT read
    segments: tuple[dict[Edge, int], ...]  # edge counts before each mark, and after the last

    def block_total(self) -> int:
        """Instructions in all blocks entered (a block stopped in counts whole)."""
        return sum(n * count for seg in self.segments for (_, _, n), count in seg.items())


def parse_trace(text: str) -> Trace:
    """Read the result file written by tinybench_monitor.py."""
    fields: dict[str, str] = {}
    marks: list[tuple[int, int, int]] = []
    segments: list[dict[Edge, int]] = []

    def numbers(text: str) -> tuple[int, ...]:
        return tuple(int(word) for word in text.split())

    for line in text.splitlines():
        key, _, rest = line.partition(" ")
        if key == "mark":
            marks.append(numbers(rest))
        elif key == "segment":
            segments.append({})
        elif key == "edge":
            prev, address, instructions, count = numbers(rest)
            segments[-1][prev, address, instructions] = count
        elif key:
            fields[key] = rest
    return Trace(
        exit_reason=fields["exit"],
        instructions=int(fields["instructions"]),
        uart_output=bytes(numbers(fields.get("uart", ""))),
        stop=numbers(fields["stop"]),
        marks=tuple(marks),
        segments=tuple(segments),
    )


class _Image:
    """The loadable bytes of an ELF and its function symbols."""

    def __init__(self, elf: Path) -> None:
        from elftools.elf.elffile import ELFFile

        with elf.open("rb") as f:
            self.segments = [(s["p_vaddr"], s.data()) for s in ELFFile(f).iter_segments()
                             if s["p_type"] == "PT_LOAD" and s["p_filesz"]]
        self.functions = FunctionMap.from_elf(elf)

    def read(self, address: int, size: int) -> bytes:
        for start, data in self.segments:
            if start <= address and address + size <= start + len(data):
                return data[address - start:address - start + size]
        raise SimulationError(f"Renode executed code at {address:#x}, outside the ELF's image")

    def block_size(self, address: int, instructions: int) -> int:
        """Bytes taken by `instructions` Thumb-2 instructions from `address`."""
        size = 0
        for _ in range(instructions):
            half = int.from_bytes(self.read(address + size, 2), "little")
            size += 4 if half & 0xF800 >= 0xE800 else 2
        return size


    def fault_handlers(self, board: Board) -> list[int]:
        """NMI, HardFault, MemManage, BusFault and UsageFault entry points (vector table)."""
        table = self.read(board.flash.origin, 28)
        vectors = [int.from_bytes(table[i:i + 4], "little") for i in range(8, 28, 4)]
        return list(dict.fromkeys(v & ~1 for v in vectors if v))


def spec_text(board: Board, faults: list[int], paths: dict[str, Path], budget: int) -> str:
    """The key=value file tinybench_run reads."""
    uart = board.uart
    status, rx, tx = (uart.base + offset for offset in (uart.status, uart.rx, uart.tx))
    ready = [f"{f.address:x}:{f.source:x}:{f.mask:x}:{f.shift:x}" for f in board.ready_flags]
    values = []  # registers Renode reads as zero: Renode's NVIC has no cache geometry
    if board.dcache and board.dcache.ccsidr is not None:
        values.append(f"{SCS_PAGE + CCSIDR:x}:{board.dcache.ccsidr:x}")
    entries = {
        "uart": "sysbus.uart", "status": f"{status:x}", "rx": f"{rx:x}", "tx": f"{tx:x}",
        "cyccnt": f"{CYCCNT:x}", "faults": ",".join(f"{a:x}" for a in faults),
        "ready": ",".join(ready), "read_value": ",".join(values),
        "idle_polls": IDLE_POLLS, "budget": budget, "timeout_s": TIMEOUT_S,
        "counter_source": RENODE_DIR / "EdgeCounter.cs",
        **{key: str(path) for key, path in paths.items()},
    }
    return "".join(f"{key}={value}\n" for key, value in entries.items())


class RenodeSimulator:
    name = "renode"

    def missing(self) -> str | None:
        if find_renode_test() is None:
            configured = os.environ.get(COMPONENT.env)
            where = (f"{COMPONENT.env}={configured} has no executable renode-test" if configured
                     else f"{COMPONENT.title} was not found")
            return f"{where}: {HOW_TO_GET}"
        absent = [m for m in PYTHON_MODULES if importlib.util.find_spec(m) is None]
        if absent:
            return f"renode-test needs {', '.join(absent)}: pip install 'tinybench[renode]'"
        return None

    def version(self) -> str:
        return f"{COMPONENT.title} ({COMPONENT.commit[:12]})"

    def run(self, elf: Path, board: Board, uart_input: bytes, max_instructions: int,
            functions_between_marks: bool = False) -> SimResult:
        reason = self.missing()
        if board.renode_platform is None:
            reason = (f"{COMPONENT.title} models no SoC of {board.name} "
                      f"({board.title}); it runs in the built-in simulator only (--simulator iss)")
        if reason:
            raise ToolNotFoundError(reason)
        image = _Image(elf)
        with tempfile.TemporaryDirectory(prefix="tinybench-renode-") as tmp:
            trace = _run_renode(find_renode_test(), Path(tmp), elf, board, image, uart_input,
                                max_instructions)
        problem = {
            "fault": lambda: "HardFault: the firmware entered a fault handler from "
                             f"{image.functions.name_at(_came_from(trace))}",
            "budget": lambda: f"timeout: the instruction budget of {max_instructions:,} ran out",
            "timeout": lambda: f"no idle after {TIMEOUT_S} s of wall-clock time",
        }.get(trace.exit_reason)
        if problem:
            tail = trace.uart_output[-120:].decode("ascii", "replace")
            raise SimulationError(
                f"{elf.name} on Renode ({board.name}): {problem()} after "
                f"{trace.instructions:,} instructions; UART output ended with {tail!r}")
        return _result(trace, board, image, functions_between_marks)



RENODE = RenodeSimulator()


def _run_renode(renode_test: Path, tmp: Path, elf: Path, board: Board, image: _Image,
                uart_input: bytes, budget: int) -> Trace:
    paths = {"input": tmp / "uart.in", "result": tmp / "result.txt"}
    paths["input"].write_bytes(uart_input)
    spec = tmp / "spec.txt"
    spec.write_text(spec_text(board, image.fault_handlers(board), paths, budget))
    (tmp / "tmp").mkdir()  # Renode deletes other runs' renode-* folders in a shared TMPDIR
    variables = {
        "PLATFORM": RENODE_DIR / board.renode_platform,
        "ELF": elf.resolve(),
        "SPEC": spec,
        "MIPS": board.clock_hz // 1_000_000,
    }
    args = [str(renode_test), str(RENODE_DIR / "run.robot"), "-r", str(tmp / "out")]
    for key, value in variables.items():
        args += ["--variable", f"{key}:{value}"]
    proc = subprocess.run(args, cwd=tmp, env={**os.environ, "TMPDIR": str(tmp / "tmp")},
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT_S + 120)
    if proc.returncode != 0 or not paths["result"].exists():
        tail = "\n".join(proc.stdout.splitlines()[-20:])
        raise SimulationError(f"renode-test failed (exit {proc.returncode}):\n{tail}")
    return parse_trace(paths["result"].read_text())


def _came_from(trace: Trace) -> int:
    """The block that ran before the one the run stopped in."""
    block = trace.stop[0]
    return next((prev for seg in trace.segments for prev, b, _ in seg if b == block), block)


def _result(trace: Trace, board: Board, image: _Image, functions_between_marks: bool = False
            ) -> SimResult:
    """Counts and modelled cycles up to each CYCCNT read and to where the run stopped, and
    when asked the function profile between the reads."""
    model = CycleModel.for_board(board, icache=board.icache is not None)  # the harness turns it on
    run = _Counts(model, image)
    marks = []
    for segment, place in zip(trace.segments, trace.marks, strict=False):
        run.edges.update(segment)
        marks.append(Mark(*run.before(*place)))
    run.edges.update(trace.segments[-1])
    instructions, cycles = run.before(*trace.stop)
    so_far: list[dict[str, tuple[int, int]]] = []
    if functions_between_marks:
        seen: Counter[Edge] = Counter()
        for segment in trace.segments:
            seen.update(segment)
            so_far.append(by_function(model.blocks(run.rows(seen), image.read),
                                      image.functions))
    estimate = model.estimate(run.rows(), image.read)
    entered: Counter[int] = Counter()
    done: Counter[int] = Counter()
    for (_, address, n), count in run.edges.items():
        entered[address] += count
        done[address] += n * count
    last = trace.stop[0]
    left, left_cycles = run.left(*trace.stop)
    done[last] -= left
    blocks = {a: (done[a], estimate.by_block.get(a, 0) - (left_cycles if a == last else 0))
              for a in entered}
    return SimResult(
        uart_output=trace.uart_output,
        instructions=instructions,
        cycles=cycles,
        exit_reason=trace.exit_reason,
        marks=tuple(marks),
        functions=by_function(blocks, image.functions),
        blocks=dict(entered),
        functions_between_marks=stretches(so_far),
    )


class _Counts:
    """Renode's block edges so far, read through the cycle model."""

    def __init__(self, model: CycleModel, image: _Image) -> None:
        self.model, self.image = model, image
        self.edges: Counter[Edge] = Counter()
        self.sizes: dict[Block, int] = {}

    def size(self, address: int, instructions: int) -> int:
        block = (address, instructions)
        if block not in self.sizes:
            self.sizes[block] = self.image.block_size(address, instructions)
        return self.sizes[block]

    def rows(self, edges: Mapping[Edge, int] | None = None) -> list[tuple[int, int, int, int]]:
        """(prev address, address, size, count) of `edges`, by default all so far."""
        edges = self.edges if edges is None else edges
        return [(prev, a, self.size(a, n), count) for (prev, a, n), count in edges.items()]

    def left(self, address: int, instructions: int, pc: int) -> tuple[int, int]:
        """(instructions, cycles) of a block from the instruction at `pc` to its end."""
        timing = self.model.block(address, self.size(address, instructions), self.image.read)
        if pc not in timing.addresses:
            raise SimulationError(f"Renode stopped at {pc:#x}, not an instruction of the "
                                  f"block at {address:#x}; the trace is inconsistent")
        done, cycles = timing.before(pc)
        return timing.instructions - done, timing.cycles - cycles

    def before(self, address: int, instructions: int, pc: int) -> tuple[int, int]:
        """(instructions, cycles) executed before the instruction at `pc` in that block."""
        whole = sum(n * count for (_, _, n), count in self.edges.items())
        left = self.left(address, instructions, pc)
        cycles = self.model.estimate(self.rows(), self.image.read).cycles
        return whole - left[0], cycles - left[1]
