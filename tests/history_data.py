"""Made-up histories for the history and dashboard tests, from 24 records of the real baseline
(its runs of the four original tasks on the STM32F746 and the nRF52840, so a new board or task
does not change the tests).

Every series drifts a little from commit to commit (0.1 % fewer cycles, 8 more bytes of Flash:
within the gate's thresholds), and one series can be made 5 % slower from a given commit on.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tinybench.artifacts import Layer, LayerProfile
from tinybench.results import Key, Record, load_records

BASELINE = Path(__file__).resolve().parents[1] / "results" / "baseline.jsonl"
SLOWED: Key = ("kws01", "tvm", "nrf52840", "iss", "twin")
TASKS = ("kws01", "vww01", "ic01", "ad01")
BOARDS = ("stm32f746", "nrf52840")


def baseline_records() -> list[Record]:
    """The 24 baseline records the histories are made of: the twins' runs of the four original
    tasks on the two original boards."""
    return [record for record in load_records(BASELINE)
            if record.task in TASKS and record.board in BOARDS and record.weights == "twin"]


def sha(commit: int) -> str:
    """The made-up short sha of commit number `commit`."""
    return hashlib.sha1(f"commit {commit}".encode()).hexdigest()[:7]


def history(commits: int, slower_from: int | None = None,
            records: list[Record] | None = None) -> list[Record]:
    """Each record (default: the baseline's) at `commits` commits an hour apart; SLOWED takes
    5 % more cycles from commit `slower_from` on."""
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    records = records or baseline_records()
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


def with_layers(record: Record, layers: list[dict]) -> Record:
    """`record` with a profile of `layers` (dicts with name, op, cycles and maybe macs)."""
    rows = tuple(Layer(index=i, op=layer["op"], kernel=layer["name"], output_shape=(),
                       macs=layer.get("macs", 0), weight_bytes=0, cycles=layer["cycles"],
                       instructions=None, activation_bytes=0)
                 for i, layer in enumerate(layers))
    total = sum(layer.cycles for layer in rows)
    return replace(record, profile=LayerProfile(rows, cycles=total, overhead_cycles=0,
                                                persistent_bytes=0, arena_bytes=0))
