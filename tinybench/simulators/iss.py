"""The built-in simulator: the board's ELF on Unicorn, exact block counts, modelled cycles.

The machine (machine.py) runs the firmware with the board's memory map and devices
(devices.py): its UART, SysTick, SCB and a DWT whose CYCCNT reads the cycle model (cycles.py).
A run ends when the firmware polls its UART with no input left; faults and an exhausted
instruction budget raise SimulationError naming the PC and function.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tinybench.artifacts import SimResult
from tinybench.boards import Board
from tinybench.simulators.native import unavailable


class IssSimulator:
    """The built-in simulator (Unicorn + native block counts + the cycle model)."""

    name = "iss"

    def __init__(self, data_side: bool = True) -> None:
        self.data_side = data_side  # charge Flash data reads (off: the cycles Renode models)

    def missing(self) -> str | None:
        for module in ("unicorn", "capstone"):
            if importlib.util.find_spec(module) is None:
                return f"the built-in simulator needs {module}: pip install tinybench"
        return unavailable()

    def version(self) -> str:
        from importlib.metadata import version

        return f"unicorn {version('unicorn')}, capstone {version('capstone')}"

    def run(self, elf: Path, board: Board, uart_input: bytes, max_instructions: int,
            functions_between_marks: bool = False) -> SimResult:
        """Run `elf` until it idles waiting for input; faults and timeouts raise."""
        from tinybench.simulators.devices import Uart
        from tinybench.simulators.machine import Machine  # Unicorn and NumPy: only to run

        return Machine(Path(elf), board, Uart(board.uart, uart_input), max_instructions,
                       data_side=self.data_side,
                       functions_between_marks=functions_between_marks).run()


ISS = IssSimulator()
