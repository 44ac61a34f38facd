"""Steps in a figure over commits: where it got worse than at the commit measured before.

A point is a regression when its value is worse than the previous measured point's beyond the
metric's threshold (the gate's, tinybench.reports.thresholds) and both ran in the same
configuration: across a change of model, tools or options figures are not comparable (the gate's
"x"). Points without a value (not measured, or a broken run) are stepped over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tinybench.reports.thresholds import Threshold


@dataclass(frozen=True)
class Point:
    value: float | None
    config_hash: str


def regressions(points: Sequence[Point], threshold: Threshold) -> list[int]:
    """The indices of the points worse than the previous measured point beyond `threshold`."""
    marked = []
    previous: Point | None = None
    for index, point in enumerate(points):
        if point.value is None:
            continue
        if (previous is not None and previous.config_hash == point.config_hash
                and threshold.verdict(previous.value, point.value) > 0):
            marked.append(index)
        previous = point
    return marked
