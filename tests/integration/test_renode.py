"""Renode against the built-in simulator: the harness with the minimal backend on every board
Renode models.

The two must agree instruction for instruction and cycle for cycle, the built-in simulator
without its data side (Renode sees no data addresses), with one explained exception: the
firmware prints its DWT readings, and Renode's DWT counts virtual time, so the printing code
runs a different number of times.
"""

import pytest

from tinybench.boards import all_boards, get_board
from tinybench.errors import SimulationError
from tinybench.firmware import build_firmware
from tinybench.firmware.minimal import INPUT_BYTES, minimal_sources
from tinybench.protocol import parse_session, session_script
from tinybench.simulators.iss import IssSimulator
from tinybench.simulators.renode import RenodeSimulator

pytestmark = [pytest.mark.renode, pytest.mark.toolchain, pytest.mark.slow,
              pytest.mark.usefixtures("private_cache")]
BUDGET = 20_000_000
SCRIPT = session_script(bytes(range(0, 4 * INPUT_BYTES, 4)), runs=2, warmups=1)
PRINTING = {"put_uint", "__aeabi_uldivmod", "__udivmoddi4", "tb_uart_putc", "th_printf"}


@pytest.fixture(scope="module", params=sorted(n for n, b in all_boards().items()
                                              if b.renode_platform))
def firmware(request):
    board = get_board(request.param)
    return build_firmware(minimal_sources(), board).elf, board


@pytest.fixture(scope="module")
def runs(firmware):
    elf, board = firmware
    return (IssSimulator(data_side=False).run(elf, board, SCRIPT, BUDGET),
            RenodeSimulator().run(elf, board, SCRIPT, BUDGET))


def test_a_session_without_timing_is_identical(firmware):
    elf, board = firmware
    script = b"name%profile%"
    iss = IssSimulator(data_side=False).run(elf, board, script, BUDGET)
    renode = RenodeSimulator().run(elf, board, script, BUDGET)
    assert renode.uart_output == iss.uart_output
    assert (renode.instructions, renode.cycles) == (iss.instructions, iss.cycles)
    assert renode.functions == iss.functions


def test_renode_gives_the_same_results(runs):
    iss, renode = runs
    a, b = parse_session(iss.uart_output), parse_session(renode.uart_output)
    assert b.infer_done and not b.errors
    assert b.outputs == a.outputs and len(b.outputs) > 0
    assert (b.name, b.model, b.arena_bytes, b.stack_bytes) == (
        a.name, a.model, a.arena_bytes, a.stack_bytes)


def test_only_the_printing_of_timings_differs(runs):
    iss, renode = runs
    differ = {f for f in iss.functions.keys() | renode.functions.keys()
              if iss.functions.get(f) != renode.functions.get(f)}
    assert differ <= PRINTING


def test_both_place_each_cycle_counter_read_at_its_load(runs):
    iss, renode = runs
    assert len(iss.marks) == 6  # before and after 3 inferences
    assert renode.marks == iss.marks


def test_an_exhausted_budget_is_a_timeout(firmware):
    elf, board = firmware
    with pytest.raises(SimulationError, match="timeout"):
        RenodeSimulator().run(elf, board, SCRIPT, 20_000)
