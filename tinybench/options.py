"""Options shared by the `tinybench` command and the pytest plugin, declared once for both.

Each `add_*` function takes argparse's `add_argument` or pytest's `addoption` and a prefix
(`tinybench-` in pytest), as pytest-benchmark shares its options with its own command. Reading
them back goes through the same prefix. Declaring them stays cheap: no pipeline, no pandas.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tinybench.boards import all_boards
from tinybench.reports.thresholds import DEFAULT_THRESHOLDS
from tinybench.spec import DEFAULT_WEIGHTS, WEIGHTS
from tinybench.tasks import TASKS

if TYPE_CHECKING:
    from tinybench.spec import RunSpec

AddOption = Callable[..., object]
# The baseline committed beside this package in a checkout: the same file for every shard.
DEFAULT_SHARD_BY = Path(__file__).resolve().parent.parent / "results" / "baseline.jsonl"


def _names(names: object) -> str:
    return ", ".join(names)


def add_matrix_options(add_option: AddOption, prefix: str = "", backend: str = "all") -> None:
    """Declare the axes of a benchmark matrix: tasks, backends, boards, simulators, the tasks'
    weights, inputs, opt."""
    from tinybench.backends import BACKENDS
    from tinybench.simulators import SIMULATORS

    add_option(f"--{prefix}task", default="all",
               help=f"tasks ({_names(TASKS)}), .tflite files, or 'all' (default); "
                    "'coremark' runs CoreMark instead of a model")
    add_option(f"--{prefix}backend", default=backend,
               help=f"{_names(BACKENDS)}, or 'all' (default {backend})")
    add_option(f"--{prefix}board", default="all",
               help=f"{_names(all_boards())}, or 'all' (default)")
    add_option(f"--{prefix}simulator", default="iss",
               help=f"{_names(SIMULATORS)}, or 'all' (default iss, the built-in one)")
    add_weights_option(add_option, prefix)
    add_option(f"--{prefix}inputs", type=int, default=5,
               help="inputs checked against the host reference (default 5)")
    add_option(f"--{prefix}opt", default="-O2",
               help="optimisation flag of the firmware builds (default -O2)")
    add_option(f"--{prefix}shard", metavar="K/N", default=None,
               help="run only part K of N of the matrix (deterministic, balanced by the run "
                    f"times in --{prefix}shard-by); the N parts cover it exactly once")
    add_option(f"--{prefix}shard-by", metavar="FILE", default=None,
               help="results whose run times balance the shards (default: the committed "
                    "results/baseline.jsonl when it has every run's time, else an estimate "
                    "from the models' MACs); give every shard the same file")


def add_weights_option(add_option: AddOption, prefix: str = "") -> None:
    """Declare `--weights`: which model of a task runs, its twin or the official one."""
    add_option(f"--{prefix}weights", default=DEFAULT_WEIGHTS,
               help="the tasks' models: " + "; ".join(f"{name}: {what}" for name, what in
                                                      WEIGHTS.items())
                    + f" (default {DEFAULT_WEIGHTS}; a .tflite file runs its own)")


def matrix_from_options(values: argparse.Namespace, prefix: str = "") -> list[RunSpec]:
    """The run specs the matrix options in `values` select (names checked, one-line errors),
    only those of the shard when one is given."""
    from tinybench.matrix import matrix

    def get(name: str) -> object:
        return getattr(values, (prefix + name).replace("-", "_"))

    specs = matrix(get("task"), get("backend"), get("board"), get("simulator"), get("inputs"),
                   get("opt"), weights=get("weights"))
    if get("shard") is None:
        return specs
    from tinybench.results import load_records
    from tinybench.shard import parse_shard, shard

    part, parts = parse_shard(get("shard"))
    if get("shard_by"):
        earlier = load_records(Path(get("shard_by")))
    else:
        earlier = load_records(DEFAULT_SHARD_BY) if DEFAULT_SHARD_BY.is_file() else []
    return shard(specs, part, parts, earlier)


def add_compare_options(add_option: AddOption, prefix: str = "") -> None:
    """Declare the regression gate's options: baseline, thresholds, how much must compare."""
    add_option(f"--{prefix}baseline", metavar="FILE", default=None,
               help="results (.jsonl file or folder) to compare against")
    add_option(f"--{prefix}fail-on", metavar="METRIC:±LIMIT", action="append", default=None,
               help="fail when METRIC gets worse beyond LIMIT (e.g. cycles:+2%%, "
                    "flash_bytes:+1024, accuracy:-0.5%%); "
                    "replaces that metric's default; defaults: "
                    + ", ".join(DEFAULT_THRESHOLDS).replace("%", "%%"))
    add_option(f"--{prefix}min-comparable", metavar="N", type=int, default=None,
               help="fail unless at least N baseline runs are compared (default: every run the "
                    "baseline has for what was selected)")
    add_option(f"--{prefix}allow-incomparable", action="store_true", default=False,
               help="pass even when runs could not be compared with the baseline (a changed "
                    "model, tool or option; a run missing): same as --min-comparable 0")


def minimum_comparable(min_comparable: int | None, allow_incomparable: bool) -> int | None:
    """The least number of compared runs the gate accepts; None means all of the baseline's."""
    return 0 if allow_incomparable else min_comparable
