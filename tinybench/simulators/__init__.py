"""Simulators: run a firmware ELF on a board model and report what it did."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tinybench.boards import Board


@dataclass(frozen=True)
class Mark:
    """The counters at one read of the DWT cycle counter by the firmware."""

    instructions: int
    cycles: int


@dataclass(frozen=True)
class SimResult:
    uart_output: bytes
    instructions: int  # executed in the whole run
    cycles: int  # the cycle model's estimate for the whole run
    exit_reason: str  # "idle": waiting for UART input that will not come (faults raise)
    marks: tuple[Mark, ...] = ()  # one per CYCCNT read, in order
    functions: dict[str, tuple[int, int]] = field(default_factory=dict)  # name → (instr, cycles)
    blocks: dict[int, int] = field(default_factory=dict)  # block address → times entered


class Simulator(Protocol):
    name: str

    def missing(self) -> str | None:
        """Why this simulator cannot run on this machine, with what to do; None when it can."""

    def version(self) -> str:
        """The version of what executes the firmware, for a record's tools."""

    def run(
        self, elf: Path, board: Board, uart_input: bytes, max_instructions: int
    ) -> SimResult:
        """Run `elf` until it idles waiting for input; raise SimulationError on a fault or
        when `max_instructions` run out."""


def _registry() -> dict[str, Simulator]:
    from tinybench.simulators.iss import IssSimulator
    from tinybench.simulators.renode import RenodeSimulator

    return {sim.name: sim for sim in (IssSimulator(), RenodeSimulator())}


SIMULATORS: dict[str, Simulator] = _registry()
