"""The dashboard's data: each series (task, backend, board, simulator, weights) over the commits.

Per series: the trend metrics (those with a default regression threshold: cycles, Flash, RAM) at
each commit that measured it; the commits where one got worse (tinybench.reports.steps), where the
configuration changed and where a run broke; its latest run's figures, and its per-layer cycles
when the record has them. Figures only, no per-input data, so the page stays small.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tinybench.history import commits, runs_by_commit
from tinybench.reports.steps import Point, regressions
from tinybench.reports.thresholds import thresholds_from_options
from tinybench.results import METRICS, Key, Record
from tinybench.spec import key_label

TREND = thresholds_from_options(None)  # the gate's defaults: cycles, flash_bytes, ram_bytes


def dashboard_data(records: Iterable[Record], repo_url: str | None) -> dict:
    """Everything the page shows, as JSON-ready values; commits are referred to by index."""
    records = list(records)
    order = commits(records)
    position = {commit.sha: index for index, commit in enumerate(order)}
    by_key: dict[Key, list[tuple[int, Record]]] = defaultdict(list)
    for (sha, key), record in runs_by_commit(records).items():
        by_key[key].append((position[sha], record))
    return {
        "repo_url": repo_url,
        "commits": [[commit.sha, commit.time] for commit in order],
        "metrics": {t.metric: {"unit": METRICS[t.metric], "threshold": str(t)} for t in TREND},
        "series": [_series(key, sorted(runs, key=lambda run: run[0]))
                   for key, runs in sorted(by_key.items())],
    }


def _series(key: Key, runs: list[tuple[int, Record]]) -> dict:
    at = [index for index, _ in runs]
    figures = [None if record.broken else record.metrics() for _, record in runs]
    configs = [record.config_hash for _, record in runs]
    values = {t.metric: [None if f is None else f[t.metric] for f in figures] for t in TREND}
    marks = {t.metric: [at[i] for i in regressions(
        [Point(v, c) for v, c in zip(values[t.metric], configs, strict=True)], t)]
        for t in TREND}
    last_index, last = runs[-1]
    return {
        "key": list(key),
        "label": key_label(key),  # as the command line labels the key
        "at": at,
        "values": values,
        "marks": marks,
        "config_changes": [at[i] for i in range(1, len(runs)) if configs[i] != configs[i - 1]],
        "broken": [[index, record.broken] for index, record in runs if record.broken],
        "latest": {"commit": last_index, "broken": last.broken, **_rounded(last.metrics())},
        "layers": _layers(last),
    }


def _rounded(figures: dict[str, float | None]) -> dict[str, float | None]:
    return {name: round(value, 3) if isinstance(value, float) else value
            for name, value in figures.items()}


def _layers(record: Record) -> list[dict] | None:
    """Per-layer cycles of a record with a profile: the engine's name, the op and the cycles."""
    if record.profile is None:
        return None
    return [{"name": layer.kernel, "op": layer.op, "cycles": layer.cycles}
            for layer in record.profile.layers]
