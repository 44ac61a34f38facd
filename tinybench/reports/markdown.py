"""Markdown for people: the results report and the regression gate's explanation table."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from tinybench.analysis.layers import format_profile
from tinybench.boards import all_boards
from tinybench.reports.compare import (
    CROSS_CHECK_CYCLES,
    REFERENCE_SIMULATOR,
    Outcome,
    compared_cycles,
    coverage,
    cross_checks,
    versus,
)
from tinybench.reports.table import IDENTITY, runs_frame
from tinybench.reports.thresholds import Threshold
from tinybench.results import Record, latest
from tinybench.spec import DEFAULT_WEIGHTS

REFERENCE_BACKEND = "tflm"  # speed-ups are against TFLM's reference kernels when it ran
MARKS = {
    "+": "regressed (+)",
    "-": "improved (-)",
    "!": "broken (!)",
    "x": "not comparable (x)",
    "new": "new",
    "missing": "missing",
    "": "unchanged",
}
# text columns; the others align right
_LEFT = {"", "note", "cross-check", "metric", "differing samples", "core", "opt",
         "compiler (published)", *IDENTITY}


def _one_line(text: str, limit: int = 200) -> str:
    """A cell for a Markdown table: no line breaks, pipes escaped, long text cut."""
    flat = " ".join(text.split())
    flat = flat if len(flat) <= limit else flat[: limit - 1] + "…"
    return flat.replace("|", "\\|")


def _table(frame: pd.DataFrame) -> str:
    if "weights" in frame.columns and frame["weights"].eq(DEFAULT_WEIGHTS).all():
        frame = frame.drop(columns="weights")  # only twins ran: the usual table, nothing to tell
    align = tuple("left" if c in _LEFT else "right" for c in frame.columns)
    cells = frame.map(lambda v: _one_line(v) if isinstance(v, str) else v)
    return cells.to_markdown(index=False, disable_numparse=True, colalign=align)


def _cells(values: pd.Series, fmt: str) -> list[str]:
    return ["—" if pd.isna(v) else format(v, fmt) for v in values]


def _max_diff(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The outputs' largest difference from the host reference: in LSB for integer outputs,
    absolute for float ones (the header says so when there are any)."""
    floats = frame["output_dtype"].fillna("").str.startswith("float")
    cells = ["—" if pd.isna(v) else format(v, ".2g") if f else format(int(v), "d")
             for v, f in zip(frame["output_max_diff"], floats, strict=True)]
    return {"max diff (LSB; float: absolute)" if floats.any() else "max diff (LSB)": cells}


def _runs(frame: pd.DataFrame) -> pd.DataFrame:
    broken = frame["broken"]
    return pd.DataFrame({
        "": ["!" if pd.notna(b) else "" for b in broken],
        **{c: frame[c] for c in IDENTITY},
        "cycles": _cells(frame["cycles"], ","),
        "instructions": _cells(frame["instructions"], ","),
        "latency (ms)": _cells(frame["latency_ms"], ",.3f"),
        "Flash (KiB)": _cells(frame["flash_bytes"] / 1024, ",.1f"),
        "RAM (KiB)": _cells(frame["ram_bytes"] / 1024, ",.1f"),
        "arena (KiB)": _cells(frame["arena_bytes"] / 1024, ",.1f"),
        "stack (B)": _cells(frame["stack_bytes"], ","),
        **_max_diff(frame),
        "energy (µJ, estimate)": _cells(frame["energy_uj"], ",.1f"),
        "inferences/J (estimate)": _cells(frame["inferences_per_j"], ",.0f"),
        **({"energy (µJ, measured)": _cells(frame["measured_energy_uj"], ",.1f")}
           if frame["measured_energy_uj"].notna().any() else {}),
        "note": broken.fillna(""),
    })


ENERGY_NOTE = ("Energy is an estimate: the board's datasheet run current times its supply "
               "voltage times the latency, each figure's source in tinybench/boards.toml "
               "(`tinybench boards` lists them); "
               "a measured value appears beside it when `board run --energy-uj` gave one.")


def _accuracy(frame: pd.DataFrame) -> str | None:
    """Accuracy runs: the metric on the device and on the host, and the samples that differ."""
    if "accuracy_metric" not in frame.columns:
        return None
    rows = frame[frame["accuracy_metric"].notna()]
    table = pd.DataFrame({
        **{c: rows[c] for c in IDENTITY},
        "metric": rows["accuracy_metric"],
        "device": _cells(rows["accuracy"], ".4f"),
        "host": _cells(rows["accuracy_host"], ".4f"),
        "samples": _cells(rows["samples"], ","),
        "differing": _cells(rows["disagreements"], ","),
        "differing samples": rows["differing"].fillna(""),
    })
    return ("## Accuracy\n\nThe task's metric over a data set (top-1: fraction of samples whose "
            "top class is their label; auc: ROC AUC of the anomaly score, the mean "
            "reconstruction error over a file's windows) on the device and on the host "
            f"reference; differing: samples whose device result is not the host's.\n\n"
            f"{_table(table)}")


def _coremark(records: list[Record]) -> str | None:
    """CoreMark runs: the score next to the published figure of the board's core."""
    rows = []
    for record in latest(records):
        if record.coremark is None:
            continue
        board = all_boards().get(record.board)
        published = board.core.coremark if board else None
        rows.append({
            **{c: getattr(record, c) for c in ("board", "simulator")},
            "core": board.core.name if board else "—",
            "opt": record.options.get("opt", "—"),
            "iterations": f"{record.coremark.iterations:,}",
            "cycles / iteration": f"{record.cycles:,}",
            "CoreMark/MHz": f"{record.coremark.per_mhz:.2f}",
            "published": f"{published.per_mhz:.2f}" if published else "—",
            "compiler (published)": published.compiler if published else "—",
            "ratio": f"{record.coremark.per_mhz / published.per_mhz:.2f}" if published else "—",
        })
    if not rows:
        return None
    return ("## CoreMark\n\nCoreMark/MHz = iterations per million cycles of the timed run, "
            "simulated; CoreMark's list, matrix and state CRCs were the known ones (a run "
            "whose CRCs are not is a failed record). Published: the core's figure in "
            f"boards.toml; ratio = tinybench / published.\n\n{_table(pd.DataFrame(rows))}")


def _versus(frame: pd.DataFrame, axis: str, reference: str | None) -> str | None:
    table = versus(frame, axis, "latency_ms", reference)
    values = [c for c in table.columns if c not in IDENTITY]
    if not any(c.endswith(" speed-up") for c in values):
        return None  # fewer than two values of `axis` have a latency: nothing to compare
    for c in values:
        table[c] = _cells(table[c], ".2f" if c.endswith(" speed-up") else ",.3f")
    return (f"## {axis.capitalize()}s\n\nLatency in ms per inference at the board clock; "
            f"speed-up = {table.attrs['reference']} latency / latency.\n\n{_table(table)}")


def _simulators(records: list[Record]) -> str | None:
    """Each other simulator's run against the reference simulator's run of the same firmware."""
    rows = []
    for base, other, problems in cross_checks(records):
        rows.append({
            **dict(zip(IDENTITY, other.key, strict=True)),
            f"{REFERENCE_SIMULATOR} instructions": f"{base.instructions:,}",
            "instructions": f"{other.instructions:,}",
            "Δ instructions": f"{other.instructions - base.instructions:+,}",
            f"{REFERENCE_SIMULATOR} cycles": f"{compared_cycles(base, other):,}",
            "cycles": f"{other.cycles:,}",
            "Δ cycles": f"{other.cycles / compared_cycles(base, other) - 1:+.3%}",
            "max diff (LSB)": (f"{base.check.max_abs_diff} / {other.check.max_abs_diff}"
                               if base.check and other.check else "—"),
            "cross-check": "; ".join(problems) or "agrees",
        })
    if not rows:
        return None
    return (f"## Simulators\n\nThe same firmware in each simulator against {REFERENCE_SIMULATOR}, "
            "per inference; max diff: each one's outputs against the host reference. They agree "
            f"when instructions, outputs, arena and stack are equal and cycles are within "
            f"±{CROSS_CHECK_CYCLES:.1%}; a simulator that does not see data addresses (Renode) "
            f"is compared with {REFERENCE_SIMULATOR}'s cycles without the Flash data stalls."
            f"\n\n{_table(pd.DataFrame(rows))}")


def _data_access(frame: pd.DataFrame) -> str | None:
    """Each run's data reads from Flash: how many, how many the cache served, what they cost."""
    rows = frame[frame["flash_data_reads"].notna()] if "flash_data_reads" in frame else frame[:0]
    if rows.empty:
        return None
    table = rows[IDENTITY].copy()
    table["Flash data reads"] = _cells(rows["flash_data_reads"], ",")
    table["cache hit rate"] = _cells(rows["flash_data_hit_rate"], ".1%")
    table["stall cycles"] = _cells(rows["data_stall_cycles"], ",")
    table["share of cycles"] = _cells(rows["data_stall_cycles"] / rows["cycles"], ".1%")
    return ("## Data reads from Flash\n\nPer inference: data reads from Flash, the share the "
            "board's data cache served (— without reads), and the wait-state cycles they "
            f"stalled, which the cycles include.\n\n{_table(table)}")


def _components(frame: pd.DataFrame, memory: str) -> str | None:
    columns = [c for c in frame.columns if c.startswith(f"{memory}:")]
    rows = frame[frame[columns].notna().any(axis=1)] if columns else frame.iloc[:0]
    if rows.empty:
        return None
    table = rows[IDENTITY].copy()
    for c in sorted(columns, key=lambda c: -rows[c].sum()):  # the biggest component first
        table[c.partition(":")[2]] = _cells(rows[c] / 1024, ",.1f")
    title = "Flash" if memory == "flash" else "RAM"
    return f"## {title} by component (KiB)\n\n{_table(table)}"


def markdown_report(records: list[Record]) -> str:
    """Runs, speed-ups between backends and between boards, and memory by component."""
    frame = runs_frame(records)
    failed = int(frame["broken"].notna().sum())
    sections = [
        f"# tinybench results\n\n{len(frame)} runs, {failed} broken (!).",
        f"## Runs\n\n{ENERGY_NOTE}\n\n{_table(_runs(frame))}",
    ]
    sections += filter(None, (
        _accuracy(frame),
        _coremark(records),
        _versus(frame, "backend", REFERENCE_BACKEND),
        _versus(frame, "board", None),
        _simulators(records),
        _data_access(frame),
        _components(frame, "flash"),
        _components(frame, "ram"),
        _layers(records),
    ))
    return "\n\n".join(sections) + "\n"


def _layers(records: list[Record]) -> str | None:
    """The per-layer table of every run that carries a profile (the newest of each key)."""
    profiled = [r for r in latest(records) if r.profile is not None]
    if not profiled:
        return None
    tables = (f"### {r.label}\n\n{format_profile(r.profile)}" for r in profiled)
    return ("## Layers\n\nCycles of each layer in the profile build (`tinybench profile`); the "
            "overhead row is the engine's work between layers and the marks themselves.\n\n"
            + "\n\n".join(tables))


def markdown_comparison(outcomes: list[Outcome], thresholds: tuple[Threshold, ...]) -> str:
    """A summary line, the legend and one row per key with each thresholded metric's change."""
    counts = Counter(o.mark for o in outcomes)
    summary = ", ".join(f"{counts[mark]} {label}" for mark, label in MARKS.items() if counts[mark])
    rows = []
    for outcome in outcomes:
        cells = {c.metric: f"**{c.summary()}**" if c.verdict > 0 else c.summary()
                 for c in outcome.changes}
        rows.append({"": outcome.mark, **dict(zip(IDENTITY, outcome.key, strict=True)),
                     **{t.metric: cells.get(t.metric, "") for t in thresholds},
                     "note": outcome.note})
    table = pd.DataFrame(rows, columns=["", *IDENTITY, *(t.metric for t in thresholds), "note"])
    return (f"{len(outcomes)} runs in the baseline or now: {summary or 'nothing'}. "
            f"{coverage(outcomes).summary()}.\n"
            f"Thresholds: {', '.join(map(str, thresholds))}. Marks: + worse beyond a threshold, "
            "- better beyond it, ! broken, x configuration changed.\n\n"
            f"{_table(table)}\n")
