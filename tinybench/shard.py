"""One part of a benchmark matrix: `--shard K/N` splits any matrix into N balanced parts.

The split is deterministic (the same matrix and times give the same parts on every machine)
and every spec falls in exactly one part. Parts are balanced by the run times of earlier
records of the same keys when some are given (`Record.seconds`), else by an estimate of a
run's cost: the model's multiply-accumulates times the inputs it runs, plus one for the build
(CoreMark: its instructions, counted as MACs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from tinybench import coremark
from tinybench.errors import ConfigError
from tinybench.results import Record
from tinybench.spec import Key, RunSpec
from tinybench.tasks import TASKS


def parse_shard(text: str) -> tuple[int, int]:
    """'2/3' → (2, 3); a one-line ConfigError for anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ConfigError(f"--shard {text}: give K/N with 1 <= K <= N, e.g. 2/3")
    return int(match.group(1)), int(match.group(2))


def shard(specs: list[RunSpec], part: int, parts: int,
          earlier: Iterable[Record] = ()) -> list[RunSpec]:
    """The specs of part `part` (1-based) of `parts`, in the matrix's order.

    Longest first, each spec goes to the part with the least work so far (the first such
    part on a tie), with work measured as described in the module's docstring.
    """
    costs = _costs(specs, earlier)
    load = [0.0] * parts
    owner: dict[int, int] = {}
    for index in sorted(range(len(specs)), key=lambda i: (-costs[i], i)):
        lightest = min(range(parts), key=lambda p: (load[p], p))
        owner[index] = lightest
        load[lightest] += costs[index]
    return [spec for index, spec in enumerate(specs) if owner[index] == part - 1]


def _costs(specs: list[RunSpec], earlier: Iterable[Record]) -> list[float]:
    """Seconds from earlier records where every spec has one; else the estimate for all
    (mixing seconds with estimates would weigh two different units)."""
    seconds: dict[Key, float] = {}
    for record in earlier:
        if record.seconds is not None:
            seconds[record.key] = record.seconds
    if all(spec.key in seconds for spec in specs):
        return [seconds[spec.key] for spec in specs]
    return [estimate(spec) for spec in specs]


def estimate(spec: RunSpec) -> float:
    """A run's cost in millions of MACs simulated, plus one for building it."""
    if spec.task == coremark.NAME:
        return 1 + coremark.ITERATIONS * coremark.INSTRUCTIONS_PER_ITERATION / 1e6
    if spec.task in TASKS:
        macs = TASKS[spec.task].reference_macs
    else:
        from tinybench.models.inspect import inspect_model

        macs = inspect_model(Path(spec.task)).macs
    return 1 + macs / 1e6 * spec.inputs
