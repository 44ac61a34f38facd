"""Regression thresholds: how far a metric may get worse before the gate calls it a regression.

A threshold is written `metric:+limit` for a metric that gets worse when it grows (cycles, bytes)
and `metric:-limit` for one that gets worse when it drops (accuracy), in the metric's unit or in
percent of the baseline (`cycles:+2%`, `flash_bytes:+1024`, `accuracy:-0.5%`); without a sign the
metric's own direction is meant. This module stays free of pandas so that declaring the options
that use it costs nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tinybench.errors import ConfigError
from tinybench.results import HIGHER_IS_BETTER, METRICS

_LIMIT = re.compile(r"([+-]?)(\d+(?:\.\d+)?)(%?)")  # a signed number, maybe percent
DEFAULT_THRESHOLDS = ("cycles:+2%", "flash_bytes:+1024", "ram_bytes:+1024")


@dataclass(frozen=True)
class Threshold:
    """How far `metric` may get worse: `limit` in the metric's unit, or in percent of the
    baseline; worse is a drop for the metrics in HIGHER_IS_BETTER, a growth for the others."""

    metric: str
    limit: float
    percent: bool

    @property
    def sign(self) -> str:
        return "-" if self.metric in HIGHER_IS_BETTER else "+"

    def __str__(self) -> str:
        return f"{self.metric}:{self.sign}{self.limit:g}{'%' if self.percent else ''}"

    def verdict(self, base: float, head: float) -> int:
        """+1 when `head` is worse than `base` beyond the limit, -1 when better beyond, else 0."""
        allowed = abs(base) * self.limit / 100 if self.percent else self.limit
        worse = (head - base) * (-1 if self.sign == "-" else 1)
        return 1 if worse > allowed else -1 if worse < -allowed else 0


def parse_threshold(text: str) -> Threshold:
    """Parse `metric:±limit[%]`, e.g. `cycles:+2%`, `flash_bytes:+1024` or `accuracy:-0.5%`."""
    metric, _, limit = text.partition(":")
    if metric not in METRICS:
        hint = difflib.get_close_matches(metric, METRICS, n=1)
        more = f" Did you mean '{hint[0]}'?" if hint else f" Known: {', '.join(METRICS)}."
        raise ConfigError(f"--fail-on {text}: unknown metric '{metric}'.{more}")
    match = _LIMIT.fullmatch(limit.replace(" ", ""))
    if match is None:
        raise ConfigError(f"--fail-on {text}: write how far it may get worse like cycles:+2%, "
                          "flash_bytes:+1024 or accuracy:-0.5%")
    threshold = Threshold(metric, float(match[2]), percent=bool(match[3]))
    if match[1] and match[1] != threshold.sign:
        growth = "drops" if threshold.sign == "-" else "grows"
        raise ConfigError(f"--fail-on {text}: {metric} gets worse when it {growth}; write "
                          f"{metric}:{threshold.sign}{limit.lstrip('+-')}")
    return threshold


def thresholds_from_options(values: Iterable[str] | None) -> tuple[Threshold, ...]:
    """The default thresholds, each replaced by a `--fail-on` given for the same metric."""
    chosen = {t.metric: t for t in map(parse_threshold, DEFAULT_THRESHOLDS)}
    chosen.update((t.metric, t) for t in map(parse_threshold, values or ()))
    return tuple(chosen.values())
