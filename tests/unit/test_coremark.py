"""CoreMark as a workload: its report read and checked, its place in the matrix and the
pipeline, with fake stages (no compiler, no simulator, no CoreMark sources)."""

from dataclasses import replace
from pathlib import Path

import pytest

from tinybench.analysis.elf import MemoryReport
from tinybench.artifacts import DataAccess, Firmware, FirmwareSources, Mark, SimResult
from tinybench.coremark import parse_report
from tinybench.errors import ConfigError, SimulationError
from tinybench.matrix import matrix
from tinybench.pipeline import StageFailed, Stages, prepare, run
from tinybench.spec import RunSpec

# The report of a 2K performance run of 100 iterations, as the port prints it (HAS_FLOAT 0).
REPORT = """\
2K performance run parameters for coremark.
CoreMark Size    : 666
Total ticks      : 40000000
Total time (secs): 0
ERROR! Must execute for at least 10 secs for a valid result!
Iterations       : 100
Compiler version : GCC 12.2.1 20221205
Compiler flags   : tinybench firmware build (the record's options give the -O level)
Memory location  : STACK
seedcrc          : 0xe9f5
[0]crclist       : 0xe714
[0]crcmatrix     : 0x1fd7
[0]crcstate      : 0x8e3a
[0]crcfinal      : 0x988c
Errors detected
"""


def test_a_valid_report_gives_its_iterations_and_ticks():
    report = parse_report(REPORT)
    assert (report.iterations, report.ticks) == (100, 40_000_000)


@pytest.mark.parametrize(("change", "message"), [
    (("0x1fd7", "0x1fd6"), r"\[0\]crcmatrix is 0x1fd6, the 2K performance run's is 0x1fd7"),
    (("0xe9f5", "0x8a02"), "seedcrc is 0x8a02"),
    (("[0]crcstate", "[0]crc-state"), r"no \[0\]crcstate line; did the run finish"),
    (("Errors detected", "[0]ERROR! list crc 0xe715 - should be 0xe714"),
     "CoreMark reports an error: .*list crc"),
    (("Iterations       : 100", "Iterations       : many"), "lacks a number of iterations"),
])
def test_a_report_with_a_wrong_crc_or_an_error_is_refused(change, message):
    with pytest.raises(SimulationError, match=message):
        parse_report(REPORT.replace(*change))


def test_coremark_runs_once_per_board_and_simulator_with_no_backend():
    specs = matrix("coremark,ad01", "tvm,tflm", "nrf52840,stm32f746")
    assert [(s.task, s.backend, s.board) for s in specs if s.task == "coremark"] == [
        ("coremark", "none", "nrf52840"), ("coremark", "none", "stm32f746")]
    assert {s.backend for s in specs if s.task == "ad01"} == {"tvm", "tflm"}


class ReportingSimulator:
    """Runs nothing: prints `report` between two cycle-counter reads 40 M cycles apart."""

    name = "iss"

    def __init__(self, report: str) -> None:
        self.report = report

    def missing(self) -> str | None:
        return None

    def version(self) -> str:
        return "fake 1"

    def run(self, elf, board, uart_input, max_instructions) -> SimResult:
        marks = (Mark(1_000, 2_000, DataAccess(10, 5, 20)),
                 Mark(30_001_000, 40_002_000, DataAccess(310, 105, 1_020)))
        return SimResult(uart_output=self.report.encode(), instructions=0, cycles=0,
                         exit_reason="idle", marks=marks)


@pytest.fixture
def stages(tmp_path, monkeypatch) -> Stages:
    checkout = tmp_path / "coremark"
    checkout.mkdir()
    (checkout / "core_main.c").touch()  # the component's marker
    monkeypatch.setenv("TINYBENCH_COREMARK_DIR", str(checkout))

    def build(sources, board, opt):
        return Firmware(elf=Path("fw.elf"), map=Path("fw.map"), board=board, sources=sources,
                        key="k")

    def measure(firmware, board):
        return MemoryReport(board=board.name, flash_bytes=11_000, ram_bytes=8_300,
                            text_bytes=10_000, data_bytes=100, bss_bytes=100, flash_sections={},
                            ram_sections={}, flash_components={}, ram_components={})

    return Stages(build=build, measure=measure, simulators={"iss": ReportingSimulator(REPORT)},
                  toolchain=lambda: None, tools=lambda: {"gcc": "12"},
                  coremark=lambda: FirmwareSources(backend="none", sources=(),
                                                   versions={"coremark": "d5fad6bd0948"},
                                                   harness=False))


def test_a_coremark_run_records_per_iteration_figures_and_its_score(stages):
    record = run(RunSpec("coremark", "none", "nrf52840"), stages)
    assert record.status == "ok" and record.check is None
    assert (record.cycles, record.instructions) == (400_000, 300_000)
    assert record.flash_data == DataAccess(flash_reads=3, hits=1, stall_cycles=10)
    assert (record.coremark.iterations, record.coremark.per_mhz) == (100, 2.5)
    assert record.tools["coremark"] == "d5fad6bd0948" and record.options["iterations"] == "100"


def test_a_coremark_run_whose_crcs_are_wrong_fails_at_the_check(stages):
    wrong = ReportingSimulator(REPORT.replace("0xe714", "0x0000"))
    record = run(RunSpec("coremark", "none", "nrf52840"),
                 replace(stages, simulators={"iss": wrong}))
    assert (record.status, record.stage) == ("failed", "check")
    assert "crclist is 0x0000" in record.reason and record.coremark is None


def test_coremark_with_a_backend_is_refused(stages):
    record = run(RunSpec("coremark", "tvm", "nrf52840"), stages)
    assert (record.status, record.stage) == ("failed", "setup")
    assert "CoreMark runs no inference engine" in record.reason


def test_coremark_is_not_prepared_as_a_model_would_be(stages):
    with pytest.raises(StageFailed, match="CoreMark has no model to prepare or profile"):
        prepare(RunSpec("coremark", "none", "nrf52840"), stages)


def test_coremark_sources_absent_is_a_skip_with_how_to_get_them(monkeypatch, tmp_path):
    from tinybench import coremark

    monkeypatch.setenv("TINYBENCH_COREMARK_DIR", str(tmp_path))  # no core_main.c there
    assert "has no core_main.c" in coremark.missing()


def test_a_misspelt_coremark_is_refused_with_a_did_you_mean():
    with pytest.raises(ConfigError, match="Did you mean 'coremark'"):
        matrix("coremrk", "tvm", "nrf52840")
