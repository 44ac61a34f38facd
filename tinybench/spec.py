"""What to run: a frozen RunSpec per task, backend, board and simulator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinybench.tasks import TASKS

Key = tuple[str, str, str, str]  # (task, backend, board, simulator): what runs are compared by


@dataclass(frozen=True)
class RunSpec:
    """What to run: a task name (or a .tflite path), a backend, a board and a simulator."""

    task: str
    backend: str
    board: str
    simulator: str = "iss"
    inputs: int = 5  # deterministic inputs checked against the host reference
    opt: str = "-O2"  # optimisation level of the firmware build
    profile: bool = False  # also run the profile build: per-layer cycles and memory

    @property
    def label(self) -> str:
        return f"{self.task_name}/{self.backend}/{self.board}/{self.simulator}"

    @property
    def key(self) -> Key:
        """The key of the records this spec yields (see Record.key)."""
        return (self.task_name, self.backend, self.board, self.simulator)

    @property
    def task_name(self) -> str:
        return self.task if self.task in TASKS else Path(self.task).stem
