"""What to run: a frozen RunSpec per task, weights, backend, board and simulator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinybench.tasks import TASKS

# (task, backend, board, simulator, weights): what runs are compared by. The weights are part
# of it, so that a run of the official model and one of the twin can sit side by side in one
# results file, table and baseline, and the gate never compares one with the other.
Key = tuple[str, str, str, str, str]

# The weights a task can run with (`--weights`); a user's .tflite file runs its own ("file").
WEIGHTS = {
    "twin": "tinybench's architecture twin of the task: untrained seed-0 weights, shipped",
    "reference": "the official trained MLPerf Tiny model (component mlperf-tiny-models)",
}
DEFAULT_WEIGHTS, FILE_WEIGHTS = "twin", "file"


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
    weights: str = DEFAULT_WEIGHTS  # a task's model (WEIGHTS); a .tflite file runs its own

    @property
    def label(self) -> str:
        return key_label(self.key)

    @property
    def key(self) -> Key:
        """The key of the records this spec yields (see Record.key)."""
        return (self.task_name, self.backend, self.board, self.simulator, self.model_weights)

    @property
    def task_name(self) -> str:
        return self.task if self.task in TASKS else Path(self.task).stem

    @property
    def model_weights(self) -> str:
        """The weights the run uses: `weights` for a task, FILE_WEIGHTS for a .tflite file."""
        return self.weights if self.task in TASKS else FILE_WEIGHTS


def key_label(key: Key) -> str:
    """A key as `task/backend/board/simulator`, then the weights unless they are the twin's or a
    file's own (so the labels of those runs read as they always did)."""
    *run, weights = key
    return "/".join(run if weights in (DEFAULT_WEIGHTS, FILE_WEIGHTS) else key)
