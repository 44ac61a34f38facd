"""Records as one flat pandas table: identity, status, metrics, then provenance and components."""

from __future__ import annotations

import pandas as pd

from tinybench.results import METRICS, Record, latest

IDENTITY = ["task", "backend", "board", "simulator"]


def _row(record: Record) -> dict:
    memory, data = record.memory, record.flash_data
    flash = memory.flash_components if memory else {}
    ram = memory.ram_components if memory else {}
    return {
        **dict(zip(IDENTITY, record.key, strict=True)),
        "status": record.status,
        "broken": record.broken,
        **record.metrics(),
        "output_max_diff": record.check.max_abs_diff if record.check else None,
        "flash_data_reads": data.flash_reads if data else None,
        "flash_data_hit_rate": data.hit_rate if data else None,
        "data_stall_cycles": data.stall_cycles if data else None,
        "config_hash": record.config_hash,
        "model_hash": record.model_hash,
        "commit": record.commit,
        "time": record.time,
        **{f"flash:{name}": size for name, size in flash.items()},
        **{f"ram:{name}": size for name, size in ram.items()},
    }


def runs_frame(records: list[Record]) -> pd.DataFrame:
    """One row per key (its newest record), sorted by key; integers stay integers with gaps."""
    frame = pd.DataFrame([_row(record) for record in latest(records)])
    integer = [c for c in frame.columns
               if c.startswith(("flash:", "ram:")) or (c in METRICS and c != "latency_ms")]
    integer += ["output_max_diff", "flash_data_reads", "data_stall_cycles"]
    return frame.astype({c: "Int64" for c in integer if c in frame.columns})


def csv_report(records: list[Record]) -> str:
    return runs_frame(records).to_csv(index=False)


def json_report(records: list[Record]) -> str:
    return runs_frame(records).to_json(orient="records", indent=2) + "\n"


def format_value(metric: str, value: float, signed: bool = False) -> str:
    """A metric value for people: milliseconds with 3 decimals, counts and bytes with commas."""
    sign = "+" if signed else ""
    return f"{value:{sign},.3f}" if metric == "latency_ms" else f"{value:{sign},.0f}"
