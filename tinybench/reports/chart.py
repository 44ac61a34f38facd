"""A PNG chart of latency against RAM, one colour per backend and one marker per board."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from tinybench.errors import ConfigError
from tinybench.paths import atomic_write
from tinybench.reports.table import runs_frame
from tinybench.results import Record
from tinybench.spec import DEFAULT_WEIGHTS

_MARKERS = "osD^v<>p*h"


def latency_ram_chart(records: list[Record], path: Path) -> None:
    """Draw every unbroken run with a latency and a RAM size; write the PNG atomically."""
    frame = runs_frame(records)
    frame = frame[frame["broken"].isna() & frame["latency_ms"].notna() & frame["ram_bytes"].notna()]
    if frame.empty:
        raise ConfigError("no run has both a latency and a RAM size to chart; run the benchmark "
                          "through the simulate stage first")
    markers = {board: _MARKERS[i % len(_MARKERS)]
               for i, board in enumerate(sorted(frame["board"].unique()))}
    colours = {backend: f"C{i}" for i, backend in enumerate(sorted(frame["backend"].unique()))}
    figure = Figure(figsize=(8, 5.5), layout="constrained")  # no pyplot: no GUI backend, no globals
    axes = figure.subplots()
    for (backend, board), runs in frame.groupby(["backend", "board"]):
        axes.scatter(runs["latency_ms"], runs["ram_bytes"] / 1024, marker=markers[board],
                     color=colours[backend], label=f"{backend} on {board}")
        for _, run in runs.iterrows():
            energy = "" if pd.isna(run["energy_uj"]) else f" {run['energy_uj']:,.0f} µJ*"
            weights = "" if run["weights"] == DEFAULT_WEIGHTS else f" ({run['weights']})"
            axes.annotate(run["task"] + weights + energy,
                          (run["latency_ms"], run["ram_bytes"] / 1024),
                          textcoords="offset points", xytext=(4, 4), fontsize=8)
    axes.set_xscale("log")
    axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("latency per inference at the board clock (ms, log scale)")
    axes.set_ylabel("RAM reserved at link time (KiB)")
    axes.set_title("tinybench: latency vs peak RAM")
    if frame["energy_uj"].notna().any():
        figure.text(0.01, 0.005, "* energy per inference, an estimate: datasheet run current x "
                    "supply voltage x latency (sources in tinybench/boards.toml)", fontsize=7)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=120)
    atomic_write(path, png.getvalue())
