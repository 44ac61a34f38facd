"""Regression thresholds: how much a metric may grow before the gate calls it a regression.

A threshold is written `metric:+limit`, in the metric's unit or in percent of the baseline
(`cycles:+2%`, `flash_bytes:+1024`). This module stays free of pandas so that declaring the
options that use it costs nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tinybench.errors import ConfigError
from tinybench.results import METRICS

_LIMIT = re.compile(r"\+?(\d+(?:\.\d+)?)(%?)")  # a growth: a plain number, maybe percent
DEFAULT_THRESHOLDS = ("cycles:+2%", "flash_bytes:+1024", "ram_bytes:+1024")


@dataclass(frozen=True)
class Threshold:
    """How much `metric` may grow: `limit` in the metric's unit, or in percent of the baseline."""

    metric: str
    limit: float
    percent: bool

    def __str__(self) -> str:
        return f"{self.metric}:+{self.limit:g}{'%' if self.percent else ''}"

    def verdict(self, base: float, head: float) -> int:
        """+1 when `head` is worse than `base` beyond the limit, -1 when better beyond, else 0."""
        allowed = abs(base) * self.limit / 100 if self.percent else self.limit
        delta = head - base
        return 1 if delta > allowed else -1 if delta < -allowed else 0


def parse_threshold(text: str) -> Threshold:
    """Parse `metric:+limit[%]`, e.g. `cycles:+2%` or `flash_bytes:+1024`."""
    metric, _, limit = text.partition(":")
    if metric not in METRICS:
        hint = difflib.get_close_matches(metric, METRICS, n=1)
        more = f" Did you mean '{hint[0]}'?" if hint else f" Known: {', '.join(METRICS)}."
        raise ConfigError(f"--fail-on {text}: unknown metric '{metric}'.{more}")
    match = _LIMIT.fullmatch(limit.replace(" ", ""))
    if match is None:
        raise ConfigError(f"--fail-on {text}: write the allowed growth like cycles:+2% or "
                          "flash_bytes:+1024")
    return Threshold(metric, float(match[1]), percent=bool(match[2]))


def thresholds_from_options(values: Iterable[str] | None) -> tuple[Threshold, ...]:
    """The default thresholds, each replaced by a `--fail-on` given for the same metric."""
    chosen = {t.metric: t for t in map(parse_threshold, DEFAULT_THRESHOLDS)}
    chosen.update((t.metric, t) for t in map(parse_threshold, values or ()))
    return tuple(chosen.values())
