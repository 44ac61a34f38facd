import argparse
import contextlib
import io
import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from tinybench.artifacts import Layer, LayerProfile
from tinybench.cli import main
from tinybench.errors import ConfigError, NothingComparable, RegressionFound
from tinybench.options import add_compare_options
from tinybench.reports import render
from tinybench.reports.chart import latency_ram_chart
from tinybench.reports.compare import (
    check_regressions,
    compare_runs,
    cross_check,
    fail_on_regressions,
    versus,
)
from tinybench.reports.markdown import markdown_comparison, markdown_report
from tinybench.reports.table import runs_frame
from tinybench.reports.thresholds import (
    Threshold,
    parse_threshold,
    thresholds_from_options,
)
from tinybench.results import Accuracy, OutputCheck, Record, append_records, load_records

DATA = Path(__file__).parent.parent / "data" / "results"
DEFAULTS = thresholds_from_options(None)


@pytest.fixture(scope="module")
def baseline() -> list[Record]:
    return load_records(DATA / "baseline.jsonl")


@pytest.fixture(scope="module")
def current() -> list[Record]:
    return load_records(DATA / "current.jsonl")


def assert_golden(text: str, name: str) -> None:
    """Compare with tests/data/results/<name>; TINYBENCH_UPDATE_GOLDEN=1 rewrites it instead."""
    path = DATA / name
    if os.environ.get("TINYBENCH_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_markdown_report_matches_the_golden_file(baseline):
    assert_golden(markdown_report(baseline), "report.md")


def test_comparison_matches_the_golden_file(baseline, current):
    assert_golden(markdown_comparison(compare_runs(baseline, current, DEFAULTS), DEFAULTS),
                  "compare.md")


def test_a_multi_line_reason_stays_in_its_table_cell():
    failed = Record(task="t", model_hash="", backend="b", board="x", simulator="s", clock_hz=1,
                    status="failed", stage="build", reason="gcc failed:\nerror: a|b " + "x" * 300)
    runs = markdown_report([failed]).split("## Runs")[1]
    row = next(line for line in runs.splitlines() if line.startswith("| !"))
    assert "gcc failed: error: a\\|b xxx" in row
    assert row.rstrip(" |").endswith("…")


def test_a_report_of_failures_only_compares_nothing():
    failed = [Record(task="t", model_hash="", backend=backend, board="x", simulator="s",
                     clock_hz=1, status="failed", stage="build", reason="boom")
              for backend in ("tflm", "tvm")]
    report = markdown_report(failed)
    assert report.count("| !") == 2
    assert "## Backends" not in report


def test_the_gate_finds_exactly_the_planted_regressions(baseline, current):
    found = {(r.key[:3], r.metric) for r in check_regressions(baseline, current, DEFAULTS)}
    assert found == {
        (("kws01", "cmsis-nn", "stm32f746"), "cycles"),  # +4.9 %
        (("kws01", "tflm", "nrf52840"), "flash_bytes"),  # +1,500 B
        (("kws01", "cmsis-nn", "nrf52840"), "status"),  # outputs now off by 3 LSB
    }


def test_marks_for_every_kind_of_change(baseline, current):
    marks = {o.key: o.mark for o in compare_runs(baseline, current, DEFAULTS)}
    assert marks[("kws01", "tvm", "stm32f746", "iss", "twin")] == "-"
    assert marks[("ic01", "tflm", "stm32f746", "iss", "twin")] == "x"  # gcc changed
    assert marks[("ic01", "tflm", "nrf52840", "renode", "twin")] == "new"
    assert marks[("ic01", "tvm", "stm32f746", "iss", "twin")] == "missing"
    assert marks[("ic01", "cmsis-nn", "nrf52840", "iss", "twin")] == ""  # fixed
    assert marks[("kws01", "tflm", "stm32f746", "iss", "twin")] == ""  # +0.4 % is within +2 %


def _pair(**head_fields) -> tuple[Record, Record]:
    base = Record(task="kws01", model_hash="m", backend="tflm", board="nrf52840",
                  simulator="iss", clock_hz=64_000_000, cycles=1_000_000)
    return base, replace(base, **head_fields)


def test_a_changed_configuration_is_not_compared_even_when_much_slower():
    base, head = _pair(cycles=2_000_000, options={"opt": "-Os"})
    [outcome] = compare_runs([base], [head], DEFAULTS)
    assert (outcome.mark, outcome.regressions) == ("x", ())
    assert outcome.note == "not comparable: option opt (none) → -Os"


def test_a_run_that_stays_broken_is_not_a_new_regression():
    broken = OutputCheck(inputs=5, max_abs_diff=4)
    base, head = _pair(check=broken)
    [outcome] = compare_runs([replace(base, check=broken)], [head], DEFAULTS)
    assert outcome.mark == "!"
    assert outcome.regressions == ()
    [outcome] = compare_runs([], [head], DEFAULTS)
    assert (outcome.mark, outcome.regressions) == ("!", ())
    assert outcome.note.startswith("new and broken: outputs differ")


@pytest.mark.parametrize(("cycles", "verdict"), [
    (1_020_000, 0), (1_020_001, 1), (980_000, 0), (979_999, -1),
])
def test_percent_thresholds_allow_exactly_their_limit(cycles, verdict):
    base, head = _pair(cycles=cycles)
    [outcome] = compare_runs([base], [head], DEFAULTS)
    assert outcome.changes[0].verdict == verdict
    with pytest.raises(RegressionFound) if verdict > 0 else contextlib.nullcontext():
        fail_on_regressions([outcome])


def test_threshold_syntax():
    assert parse_threshold("cycles:+2%") == Threshold("cycles", 2.0, percent=True)
    assert parse_threshold("flash_bytes:1024") == Threshold("flash_bytes", 1024.0, percent=False)
    assert str(parse_threshold("ram_bytes:+1.5%")) == "ram_bytes:+1.5%"
    with pytest.raises(ConfigError, match="Did you mean 'flash_bytes'"):
        parse_threshold("flash:+1%")
    assert parse_threshold("cycles:+2 %") == Threshold("cycles", 2.0, percent=True)
    for bad in ("cycles:+two%", "cycles", "cycles:nan", "cycles:+inf%", "cycles:%"):
        with pytest.raises(ConfigError, match="write how far it may get worse"):
            parse_threshold(bad)
    with pytest.raises(ConfigError, match=r"cycles gets worse when it grows; write cycles:\+2%"):
        parse_threshold("cycles:-2%")
    with pytest.raises(ConfigError, match="accuracy gets worse when it drops"):
        parse_threshold("accuracy:+0.5%")


def test_accuracy_fails_on_a_drop_not_on_a_rise():
    threshold = parse_threshold("accuracy:-0.5%")
    assert threshold == parse_threshold("accuracy:0.5%") and str(threshold) == "accuracy:-0.5%"
    assert threshold.verdict(0.90, 0.89) == 1  # 1.1 % lower: worse beyond the limit
    assert threshold.verdict(0.90, 0.898) == 0  # 0.2 % lower: within it
    assert threshold.verdict(0.90, 0.92) == -1  # better


def test_a_fail_on_replaces_only_the_default_for_its_metric():
    chosen = {t.metric: str(t) for t in thresholds_from_options(["cycles:+5%", "stack_bytes:+64"])}
    assert chosen == {"cycles": "cycles:+5%", "flash_bytes": "flash_bytes:+1024",
                      "ram_bytes": "ram_bytes:+1024", "stack_bytes": "stack_bytes:+64"}


def test_one_option_definition_serves_both_front_ends():
    parser = argparse.ArgumentParser()
    add_compare_options(parser.add_argument, prefix="tinybench-")  # as pytest's addoption would
    args = parser.parse_args(["--tinybench-baseline", "b.jsonl",
                              "--tinybench-fail-on", "cycles:+1%"])
    assert (args.tinybench_baseline, args.tinybench_fail_on) == ("b.jsonl", ["cycles:+1%"])
    assert "defaults: cycles:+2%," in " ".join(parser.format_help().split())


def test_backend_speed_ups_are_reference_over_backend(baseline):
    table = versus(runs_frame(baseline), "backend", "latency_ms", reference="tflm")
    row = table[(table.task == "kws01") & (table.board == "stm32f746")].iloc[0]
    assert table.attrs["reference"] == "tflm"
    assert row["cmsis-nn speed-up"] == pytest.approx(9_210_000 / 3_050_000)
    assert "tflm speed-up" not in table.columns


def test_a_float_output_shows_its_absolute_difference_beside_integer_ones(current):
    checked = [r for r in current if r.check is not None]
    float_check = replace(checked[0].check, dtype="float32", max_abs_diff=2.5e-7, tolerance=1e-5)
    records = [replace(checked[0], check=float_check), *checked[1:]]
    report = markdown_report(records)
    assert "max diff (LSB; float: absolute)" in report and "2.5e-07" in report
    assert "max diff (LSB) " in markdown_report(checked)
    csv = pd.read_csv(io.StringIO(render(records, "csv")))
    assert set(csv["output_dtype"]) == {"float32", "int8"}


def test_csv_and_json_hold_one_row_per_key(current):
    csv = pd.read_csv(io.StringIO(render(current, "csv")))
    json = pd.read_json(io.StringIO(render(current, "json")))
    assert len(csv) == len(json) == len({r.key for r in current})
    assert csv["flash_bytes"].dtype == "int64"
    assert set(csv.columns) >= {"config_hash", "flash:model", "ram:arena", "broken"}


def test_chart_is_a_png_and_needs_something_to_draw(tmp_path, baseline):
    latency_ram_chart(baseline, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    failed = [r for r in baseline if r.status == "failed"]
    with pytest.raises(ConfigError, match="no run has both"):
        latency_ram_chart(failed, tmp_path / "none.png")


def test_cli_report_and_compare(tmp_path, capsys):
    base, head = str(DATA / "baseline.jsonl"), str(DATA / "current.jsonl")
    assert main(["report", head, "--chart", str(tmp_path / "c.png")]) == 0
    assert capsys.readouterr().out.startswith("# tinybench results")
    assert main(["compare", "--baseline", base, base]) == 0
    assert main(["compare", "--baseline", base, head]) == RegressionFound.exit_code
    captured = capsys.readouterr()
    assert "| +  " in captured.out
    assert captured.err.startswith("tinybench: error: 3 regression(s): ")
    assert main(["compare", head]) == ConfigError.exit_code


def test_cli_compare_fails_in_one_line_when_it_can_compare_nothing(tmp_path, capsys):
    base, other = tmp_path / "base.jsonl", tmp_path / "other-models.jsonl"
    records = [r for r in load_records(DATA / "baseline.jsonl") if not r.broken]
    append_records(base, records)
    append_records(other, [replace(r, model_hash="0" * 16) for r in records[1:]])
    base = str(base)
    assert main(["compare", "--baseline", base, str(other)]) == NothingComparable.exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tinybench: error: 0 of {len(records)} runs comparable with the baseline: "
                   f"{len(records) - 1} model changed; 1 not run; if that change is meant, "
                   "regenerate the baseline with `tinybench baseline`, else run what is missing "
                   "(--allow-incomparable accepts fewer)"]
    assert main(["compare", "--baseline", base, str(other), "--allow-incomparable"]) == 0
    assert main(["compare", "--baseline", base, str(other), "--min-comparable", "1"]) != 0


def _simulated(simulator: str, instructions: int, cycles: int, board: str = "nrf52840",
               max_diff: int = 0, stack: int = 900) -> Record:
    return Record(task="kws01", model_hash="h", backend="tvm", board=board, simulator=simulator,
                  clock_hz=64_000_000, cycles=cycles, instructions=instructions, stack_bytes=stack,
                  check=OutputCheck(inputs=5, max_abs_diff=max_diff, tolerance=1))


def test_other_simulators_are_cross_checked_against_the_built_in_one():
    report = markdown_report([
        _simulated("iss", 1_000_000, 1_300_000), _simulated("renode", 999_998, 1_313_000),
        _simulated("iss", 500, 1_000_000, "stm32f746"),
        _simulated("renode", 500, 1_004_000, "stm32f746"),
    ])
    section = report.split("## Simulators")[1].split("##")[0]
    rows = {line.split("|")[3].strip(): [cell.strip() for cell in line.strip("|").split("|")]
            for line in section.splitlines() if "| renode" in line}
    assert rows["nrf52840"][4:] == [
        "1,000,000", "999,998", "-2", "1,300,000", "1,313,000", "+1.000%", "0 / 0",
        "instructions 999,998 vs 1,000,000; cycles 1,313,000 vs 1,300,000 (limit ±0.5%)"]
    assert rows["stm32f746"][-3:] == ["+0.400%", "0 / 0", "agrees"]
    assert "## Simulators" not in markdown_report([_simulated("iss", 1, 1)])


def test_a_cross_check_names_every_disagreement():
    iss = _simulated("iss", 1_000, 2_000)
    assert cross_check(iss, _simulated("renode", 1_000, 2_010)) == []
    problems = cross_check(iss, _simulated("renode", 1_000, 2_000, max_diff=1, stack=904))
    assert problems == ["stack_bytes 904 vs 900", "outputs differ: max diff 1 vs 0"]
    broken = _simulated("renode", 1_000, 2_000, max_diff=3)
    assert cross_check(iss, broken) == [f"renode {broken.broken}"]


def test_tinybench_run_fails_when_simulators_disagree(tmp_path, monkeypatch, capsys):
    import tinybench.matrix

    iss = _simulated("iss", 1_000, 2_000)
    ran = [iss, _simulated("renode", 1_000, 2_000)]
    monkeypatch.setattr(tinybench.matrix, "run_matrix", lambda *args, **kwargs: (ran, []))
    command = ["run", "--task", "kws01", "--backend", "tvm", "--board", "nrf52840",
               "--simulator", "all", "--results", str(tmp_path / "r.jsonl")]
    assert main(command) == 0
    ran[1] = _simulated("renode", 1_001, 2_000)
    assert main(command) == 1
    assert "kws01/tvm/nrf52840/renode disagrees with iss: instructions 1,001 vs 1,000" in (
        capsys.readouterr().err)


def _accuracy_run(device: float, **fields) -> Record:
    accuracy = Accuracy(metric="top1", device=device, host=0.9, samples=200, data_hash="d1",
                        differing=("a.bin", "b.bin"))
    return Record(task="kws01", model_hash="m", backend="tflm", board="nrf52840", simulator="iss",
                  clock_hz=64_000_000, cycles=64_000, power_mw=18.9, accuracy=accuracy,
                  check=OutputCheck(inputs=200, max_abs_diff=0), **fields)


def test_the_report_shows_accuracy_and_energy_estimated_and_measured():
    text = markdown_report([_accuracy_run(0.85, measured_energy_uj=21.5)])
    assert "## Accuracy" in text and "| a.bin b.bin" in text
    assert "0.8500 | 0.9000 |       200 |           2 |" in text
    assert "energy (µJ, estimate)" in text and "energy (µJ, measured)" in text
    assert "|                    18.9 |" in text and "21.5" in text  # 18.9 mW for 1 ms


def test_the_gate_fails_an_accuracy_drop_beyond_its_limit():
    thresholds = (parse_threshold("accuracy:-0.5%"),)
    [dropped] = compare_runs([_accuracy_run(0.90)], [_accuracy_run(0.89)], thresholds)
    [kept] = compare_runs([_accuracy_run(0.90)], [_accuracy_run(0.899)], thresholds)
    assert (dropped.mark, kept.mark) == ("+", "")


def _profiled(record: Record, *cycles: int) -> Record:
    layers = tuple(Layer(index=i, op=op, kernel=op, output_shape=(1, 8), macs=100,
                         weight_bytes=10, cycles=c, instructions=None, activation_bytes=64)
                   for i, (op, c) in enumerate(zip(("CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX"),
                                                   cycles, strict=True)))
    profile = LayerProfile(layers, cycles=sum(cycles) + 10, overhead_cycles=10,
                           persistent_bytes=32, arena_bytes=96)
    return replace(record, profile=profile)


def test_a_cycles_regression_names_the_layers_that_got_slower(baseline, current):
    key = ("kws01", "cmsis-nn", "stm32f746")
    base = next(r for r in baseline if r.key[:3] == key)
    head = next(r for r in current if r.key[:3] == key)
    (regression,) = check_regressions([_profiled(base, 1000, 500, 20)],
                                      [_profiled(head, 1000, 560, 21)], DEFAULTS)
    assert regression.message.endswith(
        "; slower layers: 1 DEPTHWISE_CONV_2D 500 → 560 (+12.0 %), 2 SOFTMAX 20 → 21 (+5.0 %)")
    # profiles of other layers say nothing about which got slower
    (regression,) = check_regressions([_profiled(base, 1000, 500, 20)],
                                      [replace(_profiled(head, 1000, 560, 21), profile=replace(
                                          _profiled(head, 1, 2, 3).profile, layers=()))],
                                      DEFAULTS)
    assert "slower layers" not in regression.message


def test_the_report_has_a_layers_section_for_profiled_runs(baseline):
    assert "## Layers" not in markdown_report(baseline)
    report = markdown_report([*baseline[1:], _profiled(baseline[0], 1000, 500, 20)])
    layers = report[report.index("## Layers"):]
    assert f"### {baseline[0].label}" in layers
    assert "| overhead" in layers and "DEPTHWISE_CONV_2D" in layers
