"""`pytest benchmarks/`: the default matrix, gated against the committed results/baseline.jsonl.

The tinybench pytest plugin (tinybench/pytest_plugin.py) brings the options and fixtures; this
file only makes the committed baseline the default one, so a bare `pytest benchmarks/` gates.
"""

from pathlib import Path

import pytest

BASELINE = Path(__file__).resolve().parent.parent / "results" / "baseline.jsonl"


def pytest_configure(config: pytest.Config) -> None:
    if config.option.tinybench_baseline is None:
        config.option.tinybench_baseline = str(BASELINE)
