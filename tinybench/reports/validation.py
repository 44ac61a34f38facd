"""The validation tables: estimates for the official models next to measured silicon.

The anchors are data (tinybench/anchors.toml); the estimates are the `--weights reference` runs
of a results file on the built-in simulator. README's tables are this module's output for the
committed baseline, and a test keeps them so.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from tinybench.boards import all_boards
from tinybench.results import Record
from tinybench.tasks import TASKS

ANCHORS = Path(__file__).resolve().parents[1] / "anchors.toml"
WEIGHTS = "reference"
SIMULATOR = "iss"
BACKENDS = ("tflm", "cmsis-nn", "tvm")
TIMES, TO = "\u00d7", "\u2013"  # the ratio sign and the range dash of the tables


@dataclass(frozen=True)
class Anchor:
    """One measured result per task on one board (anchors.toml)."""

    name: str
    board: str
    backend: str  # the tinybench backend it is compared with
    kind: str  # "same kernels", "other engine" or "lower bound"
    build: str
    mcycles: dict[str, float]


def load_anchors(path: Path = ANCHORS) -> tuple[float, list[Anchor]]:
    """The widening of the same-kernel range, and every anchor."""
    data = tomllib.loads(path.read_text())
    return data["widen"], [Anchor(**entry) for entry in data["anchor"]]


def estimates(records: list[Record]) -> dict[tuple[str, str, str], float]:
    """Million cycles per inference of each ok official-model run, by (task, backend, board)."""
    return {(r.task, r.backend, r.board): r.cycles / 1e6 for r in records
            if r.weights == WEIGHTS and r.simulator == SIMULATOR and r.status == "ok"
            and r.cycles is not None}


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> str:
    rule = ["---" if i == 0 else "---:" for i in range(len(header))]
    return "\n".join([_row(header), _row(rule), *map(_row, rows)])


def _estimate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def board_table(board: str, anchors: list[Anchor], widen: float,
                found: dict[tuple[str, str, str], float]) -> str:
    """Per task: tinybench's three backends, each anchor with tinybench's ratio to it, and
    whether the estimate lies in the range the same-kernel anchors span, widened."""
    ours = [a for a in anchors if a.board == board]
    tasks = list(dict.fromkeys(t for a in ours for t in a.mcycles))
    same = [a for a in ours if a.kind == "same kernels"]
    header = ["task", *(f"tinybench {b}" for b in BACKENDS),
              *(f"{a.name} ({a.kind})" for a in ours)]
    if same:
        header += [f"{same[0].backend} range ±{widen:.0%}", "inside"]
    rows = []
    for task in tasks:
        row = [task, *(_estimate(found.get((task, b, board))) for b in BACKENDS)]
        for anchor in ours:
            value, estimate = anchor.mcycles[task], found.get((task, anchor.backend, board))
            ratio = "" if estimate is None else f" ({estimate / value:.2f}{TIMES})"
            row.append(f"{value:g}{ratio}")
        if same:
            low = min(a.mcycles[task] for a in same) * (1 - widen)
            high = max(a.mcycles[task] for a in same) * (1 + widen)
            estimate = found.get((task, same[0].backend, board))
            inside = "—" if estimate is None else ("yes" if low <= estimate <= high else "no")
            row += [f"{low:.2f}{TO}{high:.2f}", inside]
        rows.append(row)
    return _table(header, rows)


def kernel_ratio_table(found: dict[tuple[str, str, str], float]) -> str:
    """Reference kernels' cycles over CMSIS-NN's, per board and task."""
    tasks = [task for task in TASKS if any(key[0] == task for key in found)]
    boards = [board for board in all_boards() if any(key[2] == board for key in found)]
    rows = []
    for board in boards:
        cells = []
        for task in tasks:
            tflm, cmsis = found.get((task, "tflm", board)), found.get((task, "cmsis-nn", board))
            cells.append("—" if tflm is None or cmsis is None else f"{tflm / cmsis:.1f}{TIMES}")
        rows.append([f"tinybench, {board}", *cells])
    return _table(["reference kernels / CMSIS-NN, cycles", *tasks], rows)


def validation_markdown(records: list[Record], path: Path = ANCHORS) -> str:
    """Every board's table with its anchors, then the reference-kernel/CMSIS-NN ratios."""
    widen, anchors = load_anchors(path)
    found = estimates(records)
    parts = [f"**{board}**, million cycles per inference; in brackets, tinybench's estimate with "
             f"the anchor's backend over the anchor\n\n"
             + board_table(board, anchors, widen, found)
             for board in dict.fromkeys(a.board for a in anchors)]
    return "\n\n".join([*parts, kernel_ratio_table(found)]) + "\n"
