"""The benchmark tasks: the five MLPerf Tiny reference models, by name.

Listing tasks is cheap; Keras is imported only when a task's model is built.
"""

from __future__ import annotations

from tinybench.names import lookup
from tinybench.tasks import ad, ic, kws, sww, vww
from tinybench.tasks.base import Task

TASKS: dict[str, Task] = {m.TASK.name: m.TASK for m in (kws, vww, ic, ad, sww)}

__all__ = ["TASKS", "Task", "format_tasks", "get_task"]


def get_task(name: str) -> Task:
    return lookup("task", name, TASKS)


def format_tasks() -> str:
    """One line per task: name, what it does, architecture, input shape, MACs published for
    the MLPerf Tiny reference model."""
    return "\n".join(
        f"{t.name:6} {t.title:22} {t.architecture:18} input {'x'.join(map(str, t.input_shape)):12}"
        f" {t.reference_macs / 1e6:6.3f} M MACs published"
        for t in TASKS.values()
    )
