"""The validation tables: anchors from their data file, estimates from the official models' runs,
and README's tables as the committed baseline gives them."""

from dataclasses import replace
from pathlib import Path

from tinybench.reports.validation import (
    TIMES,
    TO,
    Anchor,
    board_table,
    estimates,
    kernel_ratio_table,
    load_anchors,
    validation_markdown,
)
from tinybench.results import load_records

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- tinybench validate: start -->", "<!-- tinybench validate: end -->"


def _anchor(kind: str, value: float, backend: str = "cmsis-nn") -> Anchor:
    return Anchor(name=f"{kind} {value}", board="b", backend=backend, kind=kind, build="",
                  mcycles={"kws01": value})


def test_every_anchor_names_a_board_a_backend_a_kind_and_positive_cycles():
    widen, anchors = load_anchors()
    assert 0 < widen < 1 and anchors
    for anchor in anchors:
        assert anchor.backend in {"tflm", "cmsis-nn", "tvm"}
        assert anchor.kind in {"same kernels", "other engine", "lower bound"}
        assert all(value > 0 for value in anchor.mcycles.values())


def test_an_estimate_inside_the_widened_range_of_the_same_kernels_says_yes():
    anchors = [_anchor("same kernels", 10.0), _anchor("same kernels", 20.0)]
    inside = board_table("b", anchors, 0.25, {("kws01", "cmsis-nn", "b"): 24.9})
    outside = board_table("b", anchors, 0.25, {("kws01", "cmsis-nn", "b"): 25.1})
    assert inside.splitlines()[-1].endswith(f"| 7.50{TO}25.00 | yes |")
    assert outside.splitlines()[-1].endswith(f"| 7.50{TO}25.00 | no |")


def test_each_anchor_shows_the_ratio_of_its_backends_estimate():
    anchors = [_anchor("lower bound", 4.0), _anchor("other engine", 5.0, backend="tvm")]
    row = board_table("b", anchors, 0.25, {("kws01", "cmsis-nn", "b"): 6.0,
                                            ("kws01", "tvm", "b"): 10.0}).splitlines()[-1]
    assert f"| 4 (1.50{TIMES}) | 5 (2.00{TIMES}) |" in row and "range" not in row


def test_only_ok_official_runs_on_the_built_in_simulator_count():
    records = load_records(ROOT / "tests" / "data" / "results" / "baseline.jsonl")
    ok = next(r for r in records if r.status == "ok")
    official = replace(ok, weights="reference")
    found = estimates([ok, official, replace(official, simulator="renode", board="x"),
                       replace(official, status="failed", stage="build", reason="r", board="y")])
    assert found == {(ok.task, ok.backend, ok.board): ok.cycles / 1e6}


def test_the_kernel_ratio_is_reference_kernels_over_cmsis_nn():
    table = kernel_ratio_table({("kws01", "tflm", "nrf52840"): 64.0,
                                ("kws01", "cmsis-nn", "nrf52840"): 10.0})
    assert table.splitlines()[-1] == f"| tinybench, nrf52840 | 6.4{TIMES} |"


def test_readme_holds_the_tables_the_committed_baseline_gives():
    readme = (ROOT / "README.md").read_text()
    shown = readme.split(START)[1].split(END)[0].strip()
    expected = validation_markdown(load_records(ROOT / "results" / "baseline.jsonl")).strip()
    assert shown == expected, "README's validation tables are stale: paste `tinybench validate`"
