"""The built-in simulator with the board's UART on a pseudo-terminal, to test serial hosts.

`SerialSimulation(elf, board)` runs the firmware in the built-in simulator (iss.py) on a
background thread and wires its UART to a pty pair: what a host writes to `port` (the slave
path, e.g. /dev/pts/7) reaches the firmware's receive register, and what the firmware transmits
is written back, so any serial program, tinybench's board runner included, can drive it as if
it were a board. Where the plain simulator stops "idle" when its input is used up, this one
waits for the host; it stops when the port is closed, or when the host stays silent for
`idle_timeout` seconds while the firmware waits for input. The simulator's machine is reused
unchanged: only its UART's host end is `_TerminalUart`.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import time
import tty
from pathlib import Path
from types import TracebackType

from tinybench.artifacts import SimResult
from tinybench.boards import Board
from tinybench.errors import SimulationError, ToolNotFoundError
from tinybench.simulators.devices import Uart
from tinybench.simulators.iss import IssSimulator
from tinybench.simulators.machine import Machine

IDLE_TIMEOUT = 30.0  # seconds a waiting firmware waits for the host before the run ends
WRITE_TIMEOUT = 10.0  # seconds the host may leave the pty full before the run fails
STOP_TIMEOUT = 10.0  # seconds the simulator may take to stop once the port is closed
INSTRUCTION_BUDGET = 100_000_000_000  # over the whole connection, many sessions long
_SLICE = 0.1  # seconds between checks whether the port was closed


class _Terminal:
    """The simulator's end of a pty pair: the master, and the open slave that keeps it alive."""

    def __init__(self, idle_timeout: float) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)  # no echo, no line editing, no newline translation
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self.idle_timeout = idle_timeout
        self.closed = threading.Event()  # set: stop waiting for the host
        self._open = True

    def read(self) -> bytes:
        """Bytes the host wrote; b"" once the port is closed or the host stayed silent."""
        deadline = time.monotonic() + self.idle_timeout
        while not self.closed.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return b""
            ready, _, _ = select.select([self.master], [], [], min(left, _SLICE))
            if ready:
                try:
                    return os.read(self.master, 4096)
                except BlockingIOError:
                    continue
        return b""

    def write(self, data: bytes) -> None:
        """Send firmware output to the host, failing if the host reads nothing for long."""
        view = memoryview(data)
        deadline = time.monotonic() + WRITE_TIMEOUT
        while view and not self.closed.is_set():
            _, ready, _ = select.select([], [self.master], [], _SLICE)
            if ready:
                view = view[os.write(self.master, view) :]
            elif time.monotonic() > deadline:
                raise SimulationError(
                    f"the host has read nothing from {self.port} for {WRITE_TIMEOUT:.0f} s "
                    "while the firmware had output; is it still connected?")

    def close(self) -> None:
        self.closed.set()
        if self._open:
            self._open = False
            os.close(self.master)
            os.close(self.slave)


class _TerminalUart(Uart):
    """The board's UART wired to the terminal: when the firmware is idle, wait for the host."""

    def __init__(self, board: Board, terminal: _Terminal) -> None:
        super().__init__(board.uart, b"")
        self.terminal, self.sent = terminal, 0

    def more_input(self) -> bytes:
        self.flush()
        return self.terminal.read()  # nothing new: the run ends idle, as usual

    def flush(self) -> None:
        self.terminal.write(bytes(self.output[self.sent :]))
        self.sent = len(self.output)


class SerialSimulation:
    """`with SerialSimulation(elf, board) as sim:` drive the firmware through `sim.port`.

    Leaving the block closes the port, waits for the simulator to stop and re-raises its
    error, if any, unless the block itself raised. `result` is the simulator's SimResult.
    """

    def __init__(self, elf: Path, board: Board, idle_timeout: float = IDLE_TIMEOUT,
                 max_instructions: int = INSTRUCTION_BUDGET) -> None:
        self.elf, self.board = Path(elf), board
        self.idle_timeout, self.max_instructions = idle_timeout, max_instructions
        self.result: SimResult | None = None
        self.error: Exception | None = None

    def __enter__(self) -> SerialSimulation:
        reason = IssSimulator().missing()
        if reason:
            raise ToolNotFoundError(reason)
        self._terminal = _Terminal(self.idle_timeout)
        self.port = self._terminal.port
        try:  # built here, so that a firmware that cannot load fails before a host connects
            self._machine = Machine(self.elf, self.board, _TerminalUart(self.board, self._terminal),
                                    self.max_instructions)
        except BaseException:
            self._terminal.close()
            raise
        self._thread = threading.Thread(target=self._serve, name=f"pty {self.port}", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            self.result = self._machine.run()
        except Exception as error:  # handed to the thread that leaves the `with` block
            self.error = error
        finally:
            self._terminal.close()  # the host sees the port go away instead of waiting

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the simulator to stop on its own (idle timeout or a fault)."""
        self._thread.join(timeout)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._terminal.closed.set()
        self._machine.stop()  # a firmware busy computing stops too
        self._thread.join(STOP_TIMEOUT)
        if self._thread.is_alive():
            raise SimulationError(f"the simulator behind {self.port} did not stop")
        self._terminal.close()
        if self.error is not None and kind is None:
            raise self.error
