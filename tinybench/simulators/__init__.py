"""Simulators: run a firmware ELF on a board model and report what it did."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tinybench.artifacts import SimResult
    from tinybench.boards import Board


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


SIMULATORS: dict[str, Simulator]  # name → simulator, made on first use (see __getattr__)


def __getattr__(name: str) -> dict[str, Simulator]:
    """SIMULATORS, made when first asked for: importing one simulator (which runs this
    package first) does not import them all."""
    if name != "SIMULATORS":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from tinybench.simulators.iss import IssSimulator
    from tinybench.simulators.renode import RenodeSimulator

    registry = {sim.name: sim for sim in (IssSimulator(), RenodeSimulator())}
    globals()["SIMULATORS"] = registry  # later lookups find it without coming here
    return registry
