"""CoreMark built with the port and the board code, run in the built-in simulator for a few
iterations; skipped when the CoreMark sources are absent."""

from functools import partial

import pytest

from tinybench.boards import get_board
from tinybench.coremark import coremark_sources, parse_report
from tinybench.firmware.build import build_firmware
from tinybench.pipeline import INSTRUCTION_BUDGET, Stages, inference_marks, run
from tinybench.simulators.iss import ISS
from tinybench.spec import RunSpec

pytestmark = [pytest.mark.toolchain, pytest.mark.coremark]
ITERATIONS = 10


def test_the_ports_ticks_are_the_simulators_cycles_and_the_crcs_are_valid():
    board = get_board("nrf52840")
    firmware = build_firmware(coremark_sources(ITERATIONS), board)
    result = ISS.run(firmware.elf, board, b"", INSTRUCTION_BUDGET)
    report = parse_report(result.uart_output.decode())  # raises unless the CRCs are known
    start, end = inference_marks(result)
    assert report.iterations == ITERATIONS
    assert report.ticks == end.cycles - start.cycles


def test_run_coremark_gives_a_score_per_board():
    stages = Stages(coremark=partial(coremark_sources, ITERATIONS))
    record = run(RunSpec("coremark", "none", "stm32f746"), stages)
    assert record.status == "ok", record.reason
    assert record.coremark.iterations == ITERATIONS
    assert record.coremark.per_mhz == pytest.approx(1e6 / record.cycles, rel=1e-4)
    assert 2.0 < record.coremark.per_mhz < 6.0  # a Cortex-M7: published 5.01
    assert record.memory.flash_components["coremark"] > 4000
    assert record.tools["coremark"] and record.options["iterations"] == str(ITERATIONS)
