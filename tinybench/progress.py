"""A matrix's progress on the terminal: one line per run, and on a terminal a bar below them."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tinybench.spec import RunSpec

BAR_WIDTH = 20


class ProgressReport:
    """A `run_matrix` progress callback that writes to `stream` (default stderr).

    Each run that ends gets one line, `[place/total] label: state`, in the order runs end. On a
    terminal the runs under way show only in a bar redrawn below those lines, with the count
    of finished runs and an estimate of the time left; elsewhere (a log, a pipe) each start
    gets a line too, so a log shows what was running when it stopped.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.ended = 0  # runs ended in this process (not taken from an earlier run)
        self.earlier = 0
        self.running: list[str] = []

    def __call__(self, index: int, total: int, spec: RunSpec, state: str) -> None:
        if state == "running":
            self.running.append(spec.label)
            if not self.terminal:
                self._write(f"[{index}/{total}] {spec.label}: running\n")
        else:
            if spec.label in self.running:
                self.running.remove(spec.label)
                self.ended += 1
            else:
                self.earlier += 1
            self._write(f"{self._clear()}[{index}/{total}] {spec.label}: {state}\n")
        if self.terminal:
            self._write(self._clear() + self.bar(total))

    def bar(self, total: int) -> str:
        """`[####......] 5/24 runs, 2 running, about 1:23 left` (the time once a run ended)."""
        done = self.ended + self.earlier
        filled = BAR_WIDTH * done // max(total, 1)
        text = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} runs"
        if self.running:
            text += f", {len(self.running)} running"
        if self.ended and done < total:
            left = (time.monotonic() - self.started) / self.ended * (total - done)
            text += f", about {int(left // 60)}:{int(left % 60):02d} left"
        return text

    def _clear(self) -> str:
        return "\r\033[K" if self.terminal else ""

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line, so what is printed next starts on its own."""
        if self.terminal:
            self._write(self._clear())
