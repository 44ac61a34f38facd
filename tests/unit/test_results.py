import json
import multiprocessing
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tinybench.artifacts import Layer, LayerProfile
from tinybench.boards import get_board
from tinybench.errors import ConfigError
from tinybench.results import (
    METRICS,
    Accuracy,
    CoreMarkScore,
    Memory,
    OutputCheck,
    Record,
    append_records,
    latest,
    load_records,
    parse_record,
)

GOLDEN = Path(__file__).parent.parent / "data" / "results" / "baseline.jsonl"


def _record(**fields) -> Record:
    base = dict(task="kws01", model_hash="abc", backend="tflm", board="nrf52840",
                simulator="iss", clock_hz=64_000_000, cycles=6_400_000,
                memory=Memory(flash_bytes=100_000, ram_bytes=40_000,
                              flash_components={"model": 54_000}),
                check=OutputCheck(inputs=5, max_abs_diff=0), tools={"gcc": "12.2.1"})
    return Record(**{**base, **fields})


def test_a_record_survives_a_round_trip_through_json():
    record = _record(options={"opt": "-O2"}, arena_bytes=22_800, stack_bytes=1_400)
    assert parse_record(record.to_json(), "here") == record


def test_memory_comes_straight_from_the_elf_analysis():
    from tinybench.analysis.elf import MemoryReport

    report = MemoryReport(board="nrf52840", flash_bytes=10, ram_bytes=20, text_bytes=8,
                          data_bytes=2, bss_bytes=18, flash_sections={".text": 8},
                          ram_sections={".bss": 18}, flash_components={"libc": 8},
                          ram_components={"stack": 16})
    assert Memory.from_report(report) == Memory(
        flash_bytes=10, ram_bytes=20, flash_sections={".text": 8}, ram_sections={".bss": 18},
        flash_components={"libc": 8}, ram_components={"stack": 16})


def test_the_golden_file_reads_and_writes_back_byte_for_byte():
    # Changing a field name or order breaks this: bump SCHEMA_VERSION and keep old files readable.
    records = load_records(GOLDEN)
    assert len(records) == 10
    assert [r.status for r in records].count("failed") == 1
    assert "".join(r.to_json() + "\n" for r in records) == GOLDEN.read_text()


def test_every_metric_has_a_value_and_a_unit():
    assert list(_record().metrics()) == list(METRICS)


def test_latency_is_cycles_at_the_board_clock():
    assert _record(cycles=64_000).latency_ms == pytest.approx(1.0)
    assert _record(cycles=None).latency_ms is None


def test_config_hash_follows_configuration_not_measurements():
    record = _record()
    assert replace(record, cycles=1, time="2020-01-01T00:00:00Z").config_hash == record.config_hash
    for changed in (replace(record, tools={"gcc": "13.2.1"}), replace(record, model_hash="def"),
                    replace(record, options={"opt": "-Os"})):
        assert changed.config_hash != record.config_hash


def test_failure_is_data_with_a_stage_and_a_reason():
    failed = _record(status="failed", stage="build", reason="gcc failed", cycles=None)
    assert failed.broken == "failed at build: gcc failed"
    with pytest.raises(ValueError, match="stage"):
        _record(status="failed")
    with pytest.raises(ValueError, match="status"):
        _record(status="crashed")


def test_wrong_outputs_make_a_run_broken():
    assert _record().broken is None
    assert "by 2 LSB" in _record(check=OutputCheck(inputs=5, max_abs_diff=2, tolerance=1)).broken


def test_latest_keeps_the_newest_record_of_each_key():
    old, new = _record(time="2026-01-01T00:00:00Z"), _record(time="2026-02-01T00:00:00Z", cycles=1)
    other = _record(board="stm32f746")
    assert latest([new, other, old]) == [new, other]


def test_version_1_records_are_read_with_an_empty_environment():
    raw = json.loads(_record().to_json())
    del raw["environment"], raw["seconds"]
    raw["schema_version"] = 1
    power = get_board("nrf52840").power.mw  # schema 3 adds it from the board data
    assert parse_record(json.dumps(raw), "old.jsonl:1") == _record(power_mw=power)


def test_version_2_records_get_the_board_power_for_an_energy_estimate():
    raw = json.loads(_record().to_json())
    for field in ("power_mw", "measured_energy_uj", "accuracy", "seconds", "profile",
                  "flash_data"):
        del raw[field]
    raw["schema_version"] = 2
    record = parse_record(json.dumps(raw), "f.jsonl:1")
    board = get_board(record.board)
    assert record.power_mw == board.power.supply_v * board.power.run_current_ma
    assert record.energy_uj == pytest.approx(record.power_mw * record.latency_ms)
    assert record.accuracy is None and record.measured_energy_uj is None
    assert record.seconds is None and record.profile is None and record.flash_data is None


def test_an_accuracy_record_reads_back():
    accuracy = Accuracy(metric="auc", device=0.8, host=0.8, samples=3, data_hash="ab",
                        differing=("a.bin",))
    record = replace(_record(), accuracy=accuracy)
    assert parse_record(record.to_json(), "f.jsonl:1") == record
    assert record.metrics()["accuracy"] == 0.8 and accuracy.disagreements == 1


def _profiled(functions: tuple[tuple[str, int], ...]) -> Record:
    layer = Layer(index=0, op="CONV_2D", kernel="CONV_2D", output_shape=(1, 4, 4, 8), macs=10,
                  weight_bytes=5, cycles=90, instructions=70, activation_bytes=512,
                  functions=functions)
    return _record(profile=LayerProfile((layer,), cycles=100, overhead_cycles=10,
                                        persistent_bytes=64, arena_bytes=576, plain_cycles=95))


def test_a_profile_survives_a_round_trip_through_json():
    record = _profiled((("arm_convolve_s8", 60), ("memcpy", 20)))
    assert parse_record(record.to_json(), "here") == record


def test_version_3_profiles_are_read_without_top_functions():
    raw = json.loads(_profiled((("arm_convolve_s8", 60),)).to_json())
    del raw["profile"]["layers"][0]["functions"]
    raw["schema_version"] = 3
    assert parse_record(json.dumps(raw), "old.jsonl:1") == _profiled(())


def test_version_2_records_are_read_as_int8_checks():
    raw = json.loads(_record().to_json())
    del raw["check"]["dtype"]
    raw["schema_version"] = 2
    assert parse_record(json.dumps(raw), "old.jsonl:1").check.dtype == "int8"


def test_version_3_records_are_read_as_runs_of_no_coremark():
    raw = json.loads(_record().to_json())
    del raw["coremark"]
    raw["schema_version"] = 3
    assert parse_record(json.dumps(raw), "old.jsonl:1") == _record()


def test_a_coremark_record_reads_back_with_its_score():
    score = CoreMarkScore.of(iterations=200, cycles=80_000_000)
    record = _record(task="coremark", backend="none", check=None, coremark=score)
    assert score.per_mhz == 2.5
    assert parse_record(record.to_json(), "f.jsonl:1") == record


def test_float_checks_are_stated_in_the_outputs_unit():
    check = OutputCheck(inputs=5, max_abs_diff=0.25, tolerance=0.125, dtype="float32")
    assert _record(check=check).broken == (
        "outputs differ from the reference by 0.25 (tolerance 0.125)")


@pytest.mark.parametrize("version", [None, 0, 5, "1"])
def test_unknown_schema_versions_are_refused(version):
    raw = json.loads(_record().to_json())
    raw["schema_version"] = version
    with pytest.raises(ConfigError, match=f"f.jsonl:3: results schema_version {version} "):
        parse_record(json.dumps(raw), "f.jsonl:3")


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "not a JSON line"),
    ("[1, 2]", "expected a JSON object"),
    ('{"schema_version": 1, "task": "kws01"}', "not a valid tinybench record"),
    (_record().to_json().replace('"task"', '"tusk"'), "tusk"),
])
def test_malformed_lines_say_where_they_are(line, message):
    with pytest.raises(ConfigError, match=message) as error:
        parse_record(line, "runs.jsonl:7")
    assert str(error.value).startswith("runs.jsonl:7: ")


def test_a_folder_reads_every_jsonl_file_and_nothing_is_an_error(tmp_path):
    append_records(tmp_path / "a.jsonl", [_record()])
    append_records(tmp_path / "b.jsonl", [_record(board="stm32f746")])
    assert [r.board for r in load_records(tmp_path)] == ["nrf52840", "stm32f746"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no results"):
        load_records(tmp_path / "empty")
    with pytest.raises(ConfigError, match="no results at"):
        load_records(tmp_path / "missing.jsonl")


def test_append_keeps_earlier_records_and_mends_a_missing_newline(tmp_path):
    store = tmp_path / "runs.jsonl"
    store.write_text(_record().to_json())  # written by hand, no final newline
    append_records(store, [_record(board="stm32f746")])
    assert [r.board for r in load_records(store)] == ["nrf52840", "stm32f746"]


def _append_many(store: Path, writer: int, count: int) -> None:
    for i in range(count):
        append_records(store, [_record(task=f"w{writer}", cycles=i)])


def test_concurrent_writers_lose_no_record(tmp_path):
    store = tmp_path / "runs.jsonl"
    writers = [multiprocessing.Process(target=_append_many, args=(store, w, 40)) for w in range(3)]
    for p in writers:
        p.start()
    for p in writers:
        p.join()
    records = load_records(store)
    for w in range(3):
        assert sorted(r.cycles for r in records if r.task == f"w{w}") == list(range(40))


_WRITER = """
import sys
from pathlib import Path
from tinybench.results import Record, append_records
i = 0
while True:
    append_records(Path(sys.argv[1]), [Record(task="t", model_hash="", backend="b", board="x",
                                              simulator="s", clock_hz=1, cycles=i)])
    i += 1
"""


def test_a_killed_writer_leaves_earlier_records_intact(tmp_path):
    store = tmp_path / "runs.jsonl"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, store])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            not store.exists() or store.read_text().count("\n") < 50
        ):
            time.sleep(0.01)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    cycles = [r.cycles for r in load_records(tmp_path)]  # every line parses
    assert len(cycles) >= 50
    assert cycles == list(range(len(cycles)))


def test_a_model_with_several_outputs_is_checked_by_each_and_shows_the_worst():
    exact = OutputCheck(inputs=2, max_abs_diff=0, dtype="int8")
    close = OutputCheck(inputs=2, max_abs_diff=0.01, tolerance=0.02, dtype="float32")
    off = OutputCheck(inputs=2, max_abs_diff=3, tolerance=1, dtype="int16")
    assert OutputCheck.of_outputs([exact]) == exact
    both = OutputCheck.of_outputs([exact, close])
    assert both.passed and both.dtype == "float32" and both.outputs == (exact, close)
    worst = OutputCheck.of_outputs([close, off, exact])
    assert not worst.passed and worst.max_abs_diff == 3
    record = _record(check=worst)
    assert parse_record(record.to_json(), "f.jsonl:1") == record
