"""Records from real firmware: the ELF analysis fills them, the store, report and gate read them."""

import pytest

from tinybench.analysis.elf import measure
from tinybench.boards import all_boards
from tinybench.firmware import build_firmware
from tinybench.firmware.minimal import minimal_sources
from tinybench.reports.compare import compare_runs
from tinybench.reports.markdown import markdown_report
from tinybench.reports.thresholds import thresholds_from_options
from tinybench.results import Memory, Record, append_records, load_records

pytestmark = pytest.mark.toolchain


@pytest.fixture(scope="module")
def records(toolchain, private_cache) -> dict[str, list[Record]]:
    """Minimal-backend records for every board, built at -O2 and at -Os (same recorded config)."""
    return {
        opt: [
            Record(task="minimal", model_hash="m", backend="minimal", board=board.name,
                   simulator="none", clock_hz=board.clock_hz, tools={"gcc": toolchain.version},
                   memory=Memory.from_report(measure(build_firmware(minimal_sources(), board,
                                                                    opt=opt))))
            for board in all_boards().values()
        ]
        for opt in ("-O2", "-Os")
    }


def test_records_of_real_builds_survive_the_store_and_reach_the_report(tmp_path, records):
    store = tmp_path / "runs.jsonl"
    append_records(store, records["-O2"])
    loaded = load_records(store)
    assert loaded == records["-O2"]
    assert all(r.memory.flash_bytes == sum(r.memory.flash_sections.values()) for r in loaded)
    report = markdown_report(loaded)
    assert all(f"| {board} " in report for board in all_boards())
    assert "## Flash by component (KiB)" in report


def test_the_gate_sees_a_real_code_size_change(records):
    strict = thresholds_from_options(["flash_bytes:+0"])
    same = compare_runs(records["-O2"], records["-O2"], strict)
    assert {o.mark for o in same} == {""}
    changed = compare_runs(records["-O2"], records["-Os"], strict)
    assert {o.mark for o in changed} <= {"+", "-"}
    assert all(c.delta != 0 for o in changed for c in o.changes if c.metric == "flash_bytes")
