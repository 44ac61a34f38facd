"""Made-up histories for the history and dashboard tests, from the real baseline's 24 records.

Every series drifts a little from commit to commit (0.1 % fewer cycles, 8 more bytes of Flash:
within the gate's thresholds), and one series can be made 5 % slower from a given commit on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tinybench.results import Key, Record, load_records

BASELINE = Path(__file__).resolve().parents[1] / "results" / "baseline.jsonl"
SLOWED: Key = ("kws01", "tvm", "nrf52840", "iss")


def sha(commit: int) -> str:
    """The made-up short sha of commit number `commit`."""
    return hashlib.sha1(f"commit {commit}".encode()).hexdigest()[:7]


def history(commits: int, slower_from: int | None = None,
            records: list[Record] | None = None) -> list[Record]:
    """Each record (default: the baseline's) at `commits` commits an hour apart; SLOWED takes
    5 % more cycles from commit `slower_from` on."""
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    records = records or load_records(BASELINE)
    runs = []
    for commit in range(commits):
        time = (start + timedelta(hours=commit)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for record in records:
            cycles = record.cycles * (1 - 0.001 * commit)
            if record.key == SLOWED and slower_from is not None and commit >= slower_from:
                cycles *= 1.05
            memory = replace(record.memory, flash_bytes=record.memory.flash_bytes + 8 * commit)
            runs.append(replace(record, commit=sha(commit), time=time, cycles=round(cycles),
                                memory=memory))
    return runs


@dataclass(frozen=True, kw_only=True)
class LayeredRecord(Record):
    """A record with per-layer figures, as the next results schema will have them."""

    layers: list[dict] = field(default_factory=list)


def with_layers(record: Record, layers: list[dict]) -> Record:
    """`record` with per-layer figures (Record itself has no `layers` yet)."""
    return LayeredRecord(**{f.name: getattr(record, f.name) for f in fields(record)},
                         layers=layers)
