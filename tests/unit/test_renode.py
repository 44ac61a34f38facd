"""Renode runner logic that needs no Renode: finding it, the spec it gets, reading its trace."""

import tarfile
from pathlib import Path

import pytest

from tinybench.boards import get_board
from tinybench.cli import main
from tinybench.errors import SimulationError
from tinybench.simulators import renode

READY = " ".join(str(b) for b in b"m-ready\r\n")
TRACE = f"""\
exit idle
instructions 1234
uart {READY}
stop {0x8000120} 3 {0x8000122}
mark {0x8000100} 5 {0x8000104}
mark {0x8000120} 3 {0x8000120}
segment
edge 1 {0x8000100} 5 1
edge {0x8000100} {0x8000120} 3 10
segment
edge {0x8000120} {0x8000120} 3 4
edge {0x8000120} {0x8000120} 2 1
segment
"""


def test_parse_trace_reads_every_field():
    trace = renode.parse_trace(TRACE)
    assert trace.exit_reason == "idle"
    assert trace.instructions == 1234
    assert trace.uart_output == b"m-ready\r\n"
    assert trace.stop == (0x8000120, 3, 0x8000122)
    assert trace.marks == ((0x8000100, 5, 0x8000104), (0x8000120, 3, 0x8000120))
    assert trace.segments == (
        {(1, 0x8000100, 5): 1, (0x8000100, 0x8000120, 3): 10},
        {(0x8000120, 0x8000120, 3): 4, (0x8000120, 0x8000120, 2): 1},
        {},
    )
    assert trace.block_total() == 5 + 10 * 3 + 4 * 3 + 2


def test_spec_names_the_board_registers_and_fault_handlers(tmp_path):
    text = renode.spec_text(get_board("stm32f746"), [0x8000200, 0x8000202],
                            {"input": tmp_path / "in"}, budget=5000)
    spec = dict(line.split("=", 1) for line in text.splitlines())
    assert (spec["status"], spec["rx"], spec["tx"]) == ("4001101c", "40011024", "40011028")
    assert spec["faults"] == "8000200,8000202"
    assert spec["budget"] == "5000"
    assert spec["input"] == str(tmp_path / "in")
    assert "40023800:40023800:1010001:1" in spec["ready"].split(",")
    assert spec["read_value"].startswith("e000ed80:")


def test_spec_for_the_m4_board_has_no_m7_cache_geometry():
    text = renode.spec_text(get_board("nrf52840"), [0x100], {}, budget=1)
    spec = dict(line.split("=", 1) for line in text.splitlines())
    assert spec["read_value"] == "" and spec["ready"] == ""
    assert (spec["status"], spec["rx"], spec["tx"]) == ("40002108", "40002518", "4000251c")


def test_block_size_follows_thumb2_instruction_lengths():
    image = renode._Image.__new__(renode._Image)
    # movs r0, #1 (16-bit); ldr.w r1, [r2] (32-bit); bx lr (16-bit)
    image.segments = [(0x1000, bytes.fromhex("0120" "d2f80010" "7047"))]
    assert image.block_size(0x1000, 3) == 8
    with pytest.raises(SimulationError, match="outside"):
        image.block_size(0x1000, 4)


@pytest.fixture
def no_renode(tmp_path, monkeypatch):
    """No Renode anywhere: an empty cache, no TINYBENCH_RENODE_DIR, nothing on PATH."""
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(renode.COMPONENT.env, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def _script(path: Path, mode: int = 0o755) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_missing_renode_names_every_way_to_get_it(no_renode):
    reason = renode.RenodeSimulator().missing()
    assert reason.startswith("Renode 1.15.1 was not found")
    for way in ("`tinybench deps fetch renode`", "TINYBENCH_RENODE_DIR", "renode-test on PATH"):
        assert way in reason


def test_renode_is_found_through_its_deps_variable(no_renode, tmp_path, monkeypatch):
    script = _script(tmp_path / "renode_1.15.1_portable" / "renode-test")
    monkeypatch.setenv("TINYBENCH_RENODE_DIR", str(script.parent))
    assert renode.find_renode_test() == script
    script.chmod(0o644)
    assert renode.find_renode_test() is None
    assert "has no executable renode-test" in renode.RenodeSimulator().missing()


def test_a_wrong_variable_is_not_replaced_by_renode_on_path(no_renode, tmp_path, monkeypatch):
    _script(tmp_path / "bin" / "renode-test")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("TINYBENCH_RENODE_DIR", str(tmp_path / "nowhere"))
    assert renode.find_renode_test() is None
    reason = renode.RenodeSimulator().missing()
    assert reason.startswith(f"TINYBENCH_RENODE_DIR={tmp_path / 'nowhere'} has no executable")
    assert renode.HOW_TO_GET in reason


def test_renode_test_on_path_is_the_fallback(no_renode, tmp_path, monkeypatch):
    script = _script(tmp_path / "bin" / "renode-test")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert renode.find_renode_test() == script


def test_a_fetched_portable_release_is_found_and_stays_executable(no_renode, tmp_path):
    top = tmp_path / "renode_1.15.1_portable"  # the layout of the release's tarball
    for name in ("renode", "renode-test"):
        _script(top / name)
    _script(top / "tests" / "run_tests.py", mode=0o644)
    (top / "plugins" / "Verilator" / "libs" / "socket-cpp").mkdir(parents=True)
    (top / "plugins" / "SystemC").mkdir()
    (top / "plugins" / "SystemC" / "socket-cpp").symlink_to("../Verilator/libs/socket-cpp")
    archive = tmp_path / "renode-1.15.1.linux-portable.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        t.add(top, arcname=top.name)
    assert main(["deps", "fetch", "renode", "--archive", str(archive)]) == 0
    folder = tmp_path / "cache" / "deps" / "renode"
    assert renode.find_renode_test() == folder / "renode-test"
    for name in ("renode", "renode-test"):
        assert (folder / name).stat().st_mode & 0o777 == 0o755
    assert (folder / "tests" / "run_tests.py").stat().st_mode & 0o111 == 0
    assert (folder / "plugins" / "SystemC" / "socket-cpp").is_dir()  # a link inside is kept


def test_the_robot_file_calls_the_monitor_command():
    robot = (renode.RENODE_DIR / "run.robot").read_text()
    monitor = (renode.RENODE_DIR / "tinybench_monitor.py").read_text()
    assert "tinybench_run" in robot and "def mc_tinybench_run" in monitor
