"""Simulators: run a firmware ELF on a board model and report what it did."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tinybench.names import LazyRegistry

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
        self, elf: Path, board: Board, uart_input: bytes, max_instructions: int,
        functions_between_marks: bool = False,
    ) -> SimResult:
        """Run `elf` until it idles waiting for input; raise SimulationError on a fault or
        when `max_instructions` run out. With `functions_between_marks` the result also has
        the function profile between the marks (what a profile build needs; it costs time)."""


# name → simulator; each module is imported when its simulator is first used
SIMULATORS: LazyRegistry[Simulator] = LazyRegistry({
    "iss": "tinybench.simulators.iss:ISS",
    "renode": "tinybench.simulators.renode:RENODE",
})
