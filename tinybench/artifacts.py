"""What the stages hand each other: a backend's sources, a linked firmware, a simulation,
a per-layer profile.

These types sit below every stage, so a stage imports the ones it receives from here and
never the stage that made them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinybench.boards import Board


@dataclass(frozen=True)
class FirmwareSources:
    """What a backend adds to the harness firmware."""

    backend: str
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...] = ()
    defines: tuple[str, ...] = ()
    libraries: tuple[Path, ...] = ()  # prebuilt static libraries, linked after the sources
    cflags: tuple[str, ...] = ()  # for the backend's own sources only
    # Upstream versions that shape the figures (TVM release, TFLM pin…): they go into a record's
    # tools, so runs built from other versions are not compared with each other.
    versions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # other facts about the build (arena…)
    # Memory-report component of each source or library member, by fnmatch pattern on the
    # source path or on "libname.a(member.o)", first match wins; e.g. {"*/model_data.cc":
    # "model", "libtflm.a(*kernels*)": "kernels"}. Unmatched backend code is "engine".
    components: dict[str, str] = field(default_factory=dict)
    stack_size: int = 0x2000  # bytes reserved for the stack (the harness's 8 KiB default)
    heap_size: int = 0  # bytes for malloc; engines that never allocate need none
    harness: bool = True  # the MLPerf Tiny harness and its th_* port; False: sources bring main()


def io_defines(inputs: int, outputs: int) -> tuple[str, ...]:
    """The defines that tell the harness how many inputs and outputs a model has (it assumes
    one of each, so a model with one of each needs none)."""
    return (*((f"TB_INPUTS={inputs}",) if inputs != 1 else ()),
            *((f"TB_OUTPUTS={outputs}",) if outputs != 1 else ()))


# Builds and runs trial firmware (sources, board, each input's size in bytes) and returns the
# bytes of arena it needed: how a backend that sizes its arena by running it gets that measured.
ArenaProbe = Callable[[FirmwareSources, "Board", tuple[int, ...]], int]


@dataclass(frozen=True)
class Firmware:
    """A linked firmware image and where it came from."""

    elf: Path
    map: Path  # GNU ld map: which object every input section came from
    board: Board
    sources: FirmwareSources
    key: str  # identifies the exact inputs (commands and file contents) of this image
    compiled: tuple[Path, ...] = ()  # sources compiled by the call that returned this
    linked: bool = False  # whether that call had to link


@dataclass(frozen=True)
class DataAccess:
    """Data reads from Flash: how many, how many the data cache served, the cycles they stalled
    (already part of the cycles that go with them)."""

    flash_reads: int = 0
    hits: int = 0
    stall_cycles: int = 0

    @property
    def hit_rate(self) -> float | None:
        """The share of the reads the data cache served; None without reads."""
        return self.hits / self.flash_reads if self.flash_reads else None

    def __sub__(self, other: DataAccess) -> DataAccess:
        return DataAccess(self.flash_reads - other.flash_reads, self.hits - other.hits,
                          self.stall_cycles - other.stall_cycles)


@dataclass(frozen=True)
class Mark:
    """The counters at one read of the DWT cycle counter by the firmware."""

    instructions: int
    cycles: int
    data: DataAccess | None = None  # None: the simulator has no data-side memory model


@dataclass(frozen=True)
class SimResult:
    """What a simulator observed while running a firmware until it idled."""

    uart_output: bytes
    instructions: int  # executed in the whole run
    cycles: int  # the cycle model's estimate for the whole run
    exit_reason: str  # "idle": waiting for UART input that will not come (faults raise)
    marks: tuple[Mark, ...] = ()  # one per CYCCNT read, in order
    functions: dict[str, tuple[int, int]] = field(default_factory=dict)  # name → (instr, cycles)
    blocks: dict[int, int] = field(default_factory=dict)  # block address → times entered
    data: DataAccess | None = None  # Flash data reads of the whole run; None: not modelled
    # `functions` of the blocks entered before the first mark, between each two, after the last
    # (one more than `marks`); () unless the run was asked for it (Simulator.run)
    functions_between_marks: tuple[dict[str, tuple[int, int]], ...] = ()


@dataclass(frozen=True)
class Layer:
    """One layer of a profiled inference (tinybench.analysis.layers)."""

    index: int
    op: str  # the model's op, e.g. "CONV_2D"
    kernel: str  # what the engine ran: the op for TFLM, the fused kernel for TVM
    output_shape: tuple[int, ...]
    macs: int
    weight_bytes: int
    cycles: int
    instructions: int | None  # known in a simulator
    # arena the layer's live buffers span: from its start to the end of the highest of them
    activation_bytes: int
    # the most expensive functions inside the layer, (name, cycles), most first: known in a
    # simulator, from the blocks entered between the layer's marks
    functions: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class LayerProfile:
    """The layers of one profiled inference; their cycles plus the overhead are `cycles`."""

    layers: tuple[Layer, ...]
    cycles: int  # the instrumented inference
    overhead_cycles: int  # cycles outside every layer: the engine between layers, the marks
    persistent_bytes: int  # arena outside the planned buffers
    arena_bytes: int  # what the engine reports using
    plain_cycles: int | None = None  # the same inference in the uninstrumented build

    @property
    def peak(self) -> Layer:
        """The layer that spans the most activation bytes (the first, on a tie)."""
        return max(self.layers, key=lambda layer: layer.activation_bytes)

    @property
    def instrumentation_cycles(self) -> int | None:
        """What the marks cost: the instrumented inference minus the uninstrumented one."""
        return None if self.plain_cycles is None else self.cycles - self.plain_cycles
