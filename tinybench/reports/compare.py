"""Comparisons: backend vs backend, board vs board, and the regression gate (run vs baseline).

The gate joins a run with its baseline by key (task, backend, board, simulator) and marks each key:
"+" worse beyond a threshold, "-" better beyond it, "" within, "!" broken (failed or wrong
outputs), "x" not comparable (the configuration changed), "new" or "missing". Thresholds are
written `metric:+limit` in the metric's unit or in percent (`cycles:+2%`, `flash_bytes:+1024`);
they are parsed in tinybench.reports.thresholds. A gate that compared nothing must not pass:
`check_coverage` fails when fewer baseline runs than required were compared.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from tinybench.errors import NothingComparable, RegressionFound
from tinybench.reports.table import IDENTITY, format_value
from tinybench.reports.thresholds import Threshold
from tinybench.results import Record, latest
from tinybench.spec import Key, key_label

REGENERATE = "tinybench baseline"  # the command that measures the baseline again
REFERENCE_SIMULATOR = "iss"  # other simulators are cross-checked against the built-in one
# Cycles may differ a little between simulators: they cut straight-line code into blocks at
# different places (e.g. at a 4 KiB page), and where a block falls through into the next the
# cycle model looks back over that one block only.
CROSS_CHECK_CYCLES = 0.005


@dataclass(frozen=True)
class Regression:
    key: Key
    metric: str  # a name from METRICS, or "status" for a run that broke
    message: str

    def __str__(self) -> str:
        return f"{key_label(self.key)}: {self.message}"


@dataclass(frozen=True)
class Change:
    metric: str
    base: float | None
    head: float | None
    verdict: int  # as Threshold.verdict; 0 when either value is missing

    @property
    def delta(self) -> float | None:
        return None if self.base is None or self.head is None else self.head - self.base

    @property
    def percent(self) -> float | None:
        return None if self.delta is None or not self.base else 100 * self.delta / self.base

    def summary(self) -> str:
        """The new value with its change, e.g. `1,030,000 (+30,000, +3.0 %)`; "—" if unmeasured."""
        if self.delta is None:
            return "—"
        if self.delta == 0:
            return f"{format_value(self.metric, self.head)} (±0)"
        percent = "" if self.percent is None else f", {self.percent:+.1f} %"
        delta = format_value(self.metric, self.delta, signed=True)
        return f"{format_value(self.metric, self.head)} ({delta}{percent})"


@dataclass(frozen=True)
class Outcome:
    """The verdict on one key: its mark, why, the thresholded changes and the regressions."""

    key: Key
    mark: str
    note: str
    changes: tuple[Change, ...] = ()
    regressions: tuple[Regression, ...] = ()
    in_baseline: bool = True
    # Why a run of the baseline was not compared: each configuration change, or "not run".
    incomparable: tuple[str, ...] = ()

    @property
    def compared(self) -> bool:
        """Whether this baseline run was checked against a run of the same configuration."""
        return self.in_baseline and not self.incomparable


def _config_changes(base: Record, head: Record) -> list[str]:
    """What differs between the configurations of two runs of the same key, in words."""
    changes = []
    if base.model_hash != head.model_hash:
        changes.append("model changed")
    if base.clock_hz != head.clock_hz:
        changes.append(f"clock {base.clock_hz:,} → {head.clock_hz:,} Hz")
    for kind, old, new in (("tool", base.tools, head.tools),
                           ("option", base.options, head.options)):
        for name in sorted(old.keys() | new.keys()):
            was, now = old.get(name, "(none)"), new.get(name, "(none)")
            if was != now:
                changes.append(f"{kind} {name} {was} → {now}")
    return changes


def _change(threshold: Threshold, base: Record, head: Record) -> Change:
    old, new = base.metrics()[threshold.metric], head.metrics()[threshold.metric]
    verdict = 0 if old is None or new is None else threshold.verdict(old, new)
    return Change(threshold.metric, old, new, verdict)


def _outcome(
    key: Key, base: Record | None, head: Record | None, thresholds: tuple[Threshold, ...]
) -> Outcome:
    if head is None:
        return Outcome(key, "missing", "in the baseline only", incomparable=("not run",))
    if base is None:
        if head.broken:
            return Outcome(key, "!", f"new and broken: {head.broken}", in_baseline=False)
        return Outcome(key, "new", "not in the baseline", in_baseline=False)
    if head.broken:
        if base.broken:
            return Outcome(key, "!", f"still broken: {head.broken}")
        return Outcome(key, "!", head.broken, regressions=(Regression(key, "status", head.broken),))
    if base.broken:
        return Outcome(key, "", f"fixed; the baseline {base.broken}")
    if base.config_hash != head.config_hash:
        changes = tuple(_config_changes(base, head))
        return Outcome(key, "x", "not comparable: " + "; ".join(changes), incomparable=changes)
    changes = tuple(_change(t, base, head) for t in thresholds)
    regressions = tuple(
        Regression(key, c.metric,
                   f"{c.metric} {format_value(c.metric, c.base)} → {c.summary()}, limit {t}"
                   + (slower_layers(base, head) if c.metric in ("cycles", "latency_ms") else ""))
        for c, t in zip(changes, thresholds, strict=True) if c.verdict > 0
    )
    mark = "+" if regressions else "-" if any(c.verdict < 0 for c in changes) else ""
    return Outcome(key, mark, "", changes, regressions)


def slower_layers(base: Record, head: Record, top: int = 3) -> str:
    """"; slower layers: …": the `top` layers whose cycles grew most, when both runs carry a
    profile of the same layers ("" otherwise)."""
    if base.profile is None or head.profile is None:
        return ""
    pairs = list(zip(base.profile.layers, head.profile.layers, strict=False))
    if len(base.profile.layers) != len(head.profile.layers) or any(
            (b.op, b.kernel) != (h.op, h.kernel) for b, h in pairs):
        return ""
    slower = sorted((p for p in pairs if p[1].cycles > p[0].cycles),
                    key=lambda p: (p[0].cycles - p[1].cycles, p[1].index))[:top]
    named = (f"{h.index} {h.op} {b.cycles:,} → {h.cycles:,} "
             f"(+{100 * (h.cycles - b.cycles) / max(b.cycles, 1):.1f} %)" for b, h in slower)
    return f"; slower layers: {', '.join(named)}" if slower else ""


def compare_runs(
    baseline: Iterable[Record], current: Iterable[Record], thresholds: tuple[Threshold, ...]
) -> list[Outcome]:
    """The outcome of every key in either set (the newest record of each key), sorted by key."""
    base = {r.key: r for r in latest(baseline)}
    head = {r.key: r for r in latest(current)}
    return [_outcome(key, base.get(key), head.get(key), thresholds)
            for key in sorted(base.keys() | head.keys())]


def check_regressions(
    baseline: Iterable[Record], current: Iterable[Record], thresholds: tuple[Threshold, ...]
) -> list[Regression]:
    """Every threshold a current run exceeds against its baseline, and every run newly broken."""
    return _regressions(compare_runs(baseline, current, thresholds))


def _regressions(outcomes: list[Outcome]) -> list[Regression]:
    return [regression for outcome in outcomes for regression in outcome.regressions]


def fail_on_regressions(outcomes: list[Outcome]) -> None:
    """Raise RegressionFound naming every regression among `outcomes`, if there is one."""
    regressions = _regressions(outcomes)
    if regressions:
        raise RegressionFound(f"{len(regressions)} regression(s): "
                              + "; ".join(map(str, regressions)))


@dataclass(frozen=True)
class Coverage:
    """How many of the baseline's runs were compared, and why the others were not."""

    compared: int
    baseline: int  # runs of the baseline among the outcomes
    reasons: tuple[tuple[str, int], ...]  # (why not compared, how many runs), most common first

    def summary(self) -> str:
        why = "; ".join(f"{count} {reason}" for reason, count in self.reasons)
        return (f"{self.compared} of {self.baseline} runs comparable with the baseline"
                + (f": {why}" if why else ""))


def coverage(outcomes: list[Outcome]) -> Coverage:
    """Count the baseline runs among `outcomes` that were compared, with the others' reasons."""
    in_baseline = [o for o in outcomes if o.in_baseline]
    reasons = Counter(reason for o in in_baseline for reason in o.incomparable)
    return Coverage(sum(o.compared for o in in_baseline), len(in_baseline),
                    tuple(reasons.most_common()))


def check_coverage(outcomes: list[Outcome], minimum: int | None = None) -> Coverage:
    """Raise NothingComparable when fewer than `minimum` baseline runs (default: all) compared."""
    found = coverage(outcomes)
    if found.compared < (found.baseline if minimum is None else minimum):
        raise NothingComparable(f"{found.summary()}; if that change is meant, regenerate the "
                                f"baseline with `{REGENERATE}`, else run what is missing "
                                "(--allow-incomparable accepts fewer)")
    return found


def versus(frame: pd.DataFrame, axis: str, metric: str, reference: str | None = None
           ) -> pd.DataFrame:
    """`metric` per value of `axis` (e.g. each backend) side by side, plus speed-ups.

    Rows are the other identity columns; only unbroken runs count. Each `<value> speed-up`
    column is reference / value: above 1 means that value needs less than the reference, which
    is kept in `attrs["reference"]` (the first value when `reference` did not run).
    """
    usable = frame[frame["broken"].isna() & frame[metric].notna()]
    table = usable.pivot(index=[c for c in IDENTITY if c != axis], columns=axis, values=metric)
    values = list(table.columns)
    if reference not in values:
        reference = values[0] if values else None
    for value in values:
        if value != reference:
            table[f"{value} speed-up"] = table[reference] / table[value]
    table = table.reset_index().rename_axis(columns=None)
    table.attrs["reference"] = reference
    return table


def compared_cycles(reference: Record, other: Record) -> int:
    """`reference`'s cycles as `other` can reproduce them: without the Flash data stalls when
    `other` charges none."""
    if other.flash_data is None and reference.flash_data is not None:
        return reference.cycles - reference.flash_data.stall_cycles
    return reference.cycles


def cross_check(reference: Record, other: Record) -> list[str]:
    """How a run of the same firmware on another simulator disagrees with `reference`, in words.

    Both must finish with the same instructions per inference, cycles within CROSS_CHECK_CYCLES,
    the same outputs (the same largest difference from the host reference; CoreMark runs have no
    output check, their CRCs were checked) and the same arena and stack use. When `other` has no
    data-side memory model (Renode sees block edges, not data addresses), its cycles are compared
    with `reference`'s without the Flash data stalls.
    """
    if reference.broken or other.broken:
        return [f"{r.simulator} {r.broken}" for r in (reference, other) if r.broken]
    problems = []
    if other.instructions != reference.instructions:
        problems.append(f"instructions {other.instructions:,} vs {reference.instructions:,}")
    cycles = compared_cycles(reference, other)
    if abs(other.cycles - cycles) > CROSS_CHECK_CYCLES * cycles:
        problems.append(f"cycles {other.cycles:,} vs {cycles:,} "
                        f"(limit ±{CROSS_CHECK_CYCLES:.1%})")
    for name in ("arena_bytes", "stack_bytes"):
        if getattr(other, name) != getattr(reference, name):
            problems.append(f"{name} {getattr(other, name)} vs {getattr(reference, name)}")
    if other.check and reference.check and other.check.max_abs_diff != reference.check.max_abs_diff:
        problems.append(f"outputs differ: max diff {other.check.max_abs_diff} vs "
                        f"{reference.check.max_abs_diff}")
    return problems


def cross_checks(records: Iterable[Record]) -> list[tuple[Record, Record, list[str]]]:
    """(reference run, other run, its disagreements) for each run on another simulator whose
    firmware also ran on REFERENCE_SIMULATOR, the newest record of each key."""
    ran = [r for r in latest(records) if r.instructions is not None]
    ours = {_firmware(r): r for r in ran if r.simulator == REFERENCE_SIMULATOR}
    return [(ours[_firmware(r)], r, cross_check(ours[_firmware(r)], r)) for r in ran
            if r.simulator != REFERENCE_SIMULATOR and _firmware(r) in ours]


def _firmware(record: Record) -> tuple[str, ...]:
    """What makes the firmware: the key without the simulator."""
    return (record.task, record.backend, record.board, record.weights)
