"""Reports on benchmark results: tables, comparisons, the regression gate and charts.

The modules import pandas and matplotlib; this one stays light so the CLI can list formats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinybench.results import Record

FORMATS = ("md", "csv", "json")


def render(records: list[Record], fmt: str) -> str:
    """The report on `records` in one of FORMATS."""
    from tinybench.reports.markdown import markdown_report
    from tinybench.reports.table import csv_report, json_report

    return {"md": markdown_report, "csv": csv_report, "json": json_report}[fmt](records)
