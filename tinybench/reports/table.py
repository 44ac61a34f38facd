"""Records as one flat pandas table: identity, status, metrics, then provenance and components."""

from __future__ import annotations

import pandas as pd

from tinybench.results import METRICS, Record, latest

IDENTITY = ["task", "backend", "board", "simulator", "weights"]  # Record.key's fields


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
        "output_dtype": record.check.dtype if record.check else None,
        "inferences_per_j": 1e6 / record.energy_uj if record.energy_uj else None,
        "measured_energy_uj": record.measured_energy_uj,
        **_accuracy(record),
        "flash_data_reads": data.flash_reads if data else None,
        "flash_data_hit_rate": data.hit_rate if data else None,
        "data_stall_cycles": data.stall_cycles if data else None,
        "coremark_per_mhz": record.coremark.per_mhz if record.coremark else None,
        "config_hash": record.config_hash,
        "model_hash": record.model_hash,
        "commit": record.commit,
        "time": record.time,
        **{f"flash:{name}": size for name, size in flash.items()},
        **{f"ram:{name}": size for name, size in ram.items()},
    }


def _accuracy(record: Record) -> dict:
    found = record.accuracy
    if found is None:
        return {}
    return {"accuracy_metric": found.metric, "accuracy_host": found.host,
            "samples": found.samples, "disagreements": found.disagreements,
            "differing": " ".join(found.differing)}


def runs_frame(records: list[Record]) -> pd.DataFrame:
    """One row per key (its newest record), sorted by key; integers stay integers with gaps."""
    frame = pd.DataFrame([_row(record) for record in latest(records)])
    integer = [c for c in frame.columns
               if c.startswith(("flash:", "ram:"))
               or (c in METRICS and c not in ("latency_ms", "energy_uj", "accuracy"))]
    integer += ["samples", "disagreements", "flash_data_reads", "data_stall_cycles"]
    if frame.get("output_dtype", pd.Series()).dropna().str.startswith("int").all():
        integer.append("output_max_diff")  # in LSB; a float output's is in its own unit
    return frame.astype({c: "Int64" for c in integer if c in frame.columns})


def csv_report(records: list[Record]) -> str:
    return runs_frame(records).to_csv(index=False)


def json_report(records: list[Record]) -> str:
    return runs_frame(records).to_json(orient="records", indent=2) + "\n"


def format_value(metric: str, value: float, signed: bool = False) -> str:
    """A metric value for people: milliseconds and microjoules with 3 decimals, accuracy with 4,
    counts and bytes with commas."""
    sign = "+" if signed else ""
    decimals = {"latency_ms": 3, "energy_uj": 3, "accuracy": 4}.get(metric, 0)
    return f"{value:{sign},.{decimals}f}"
