"""The board runner driving the built-in simulator through a pseudo-terminal, as it would a board.

The simulator's UART is a pty; the host side is the very code used for real boards (pyserial,
tinybench.board.runner, `tinybench board run`), and its figures must equal a direct simulation.
"""

import time

import numpy as np
import pytest

from tinybench import cli
from tinybench.board.runner import Dut, run_session
from tinybench.boards import all_boards, get_board
from tinybench.errors import DeviceError
from tinybench.firmware import build_firmware
from tinybench.firmware.minimal import INPUT_BYTES, minimal_sources
from tinybench.pipeline import run
from tinybench.protocol import parse_session, session_script
from tinybench.results import load_records
from tinybench.simulators.iss import IssSimulator
from tinybench.simulators.pty import SerialSimulation
from tinybench.spec import RunSpec

pytest.importorskip("serial", reason="pyserial is not installed (pip install 'tinybench[board]')")
pytestmark = [pytest.mark.toolchain, pytest.mark.usefixtures("private_cache")]
DATA = bytes((i * 53 + 11) % 256 for i in range(INPUT_BYTES))


@pytest.mark.parametrize("board_name", all_boards(), ids=str)
def test_a_session_over_the_pty_equals_the_direct_simulation(board_name):
    board = get_board(board_name)
    elf = build_firmware(minimal_sources(), board).elf
    direct = parse_session(IssSimulator().run(elf, board, session_script(DATA, 3, 1),
                                              10_000_000).uart_output)
    with SerialSimulation(elf, board, idle_timeout=10) as sim, Dut(sim.port, timeout=10) as dut:
        dut.sync()
        first = run_session(dut, DATA, runs=3, warmups=1)
        again = run_session(dut, DATA[::-1], runs=3, warmups=1)  # the same boot, a new input
    assert (first.outputs, first.cycles) == (direct.outputs, direct.cycles)
    # laps are µs since reset, floored: a later start may round the difference the other way
    assert abs(first.lap_us - direct.lap_us) <= 1
    assert again.outputs != first.outputs
    assert sim.result.exit_reason == "idle"


def test_the_simulator_stops_when_the_host_is_silent_and_the_host_then_fails_fast():
    board = get_board("nrf52840")
    elf = build_firmware(minimal_sources(), board).elf
    with SerialSimulation(elf, board, idle_timeout=0.5) as sim, Dut(sim.port, timeout=5) as dut:
        dut.sync()
        sim.wait(10)
        start = time.monotonic()
        with pytest.raises(DeviceError, match=sim.port):
            dut.command("name")
        assert time.monotonic() - start < 5.5
    assert sim.result.exit_reason == "idle"


def test_a_simulator_that_fails_mid_session_fails_the_host_at_once():
    board = get_board("stm32f746")
    elf = build_firmware(minimal_sources(), board).elf
    start = time.monotonic()
    with (pytest.raises(DeviceError, match="serial port failed"),
          SerialSimulation(elf, board, max_instructions=200_000) as sim,
          Dut(sim.port, timeout=30) as dut):
        dut.sync()
        for _ in range(100):
            run_session(dut, DATA, runs=5, warmups=0)
    # the host's error leaves the block; the simulator's own is kept in `error`
    assert "instruction budget of 200,000 ran out" in str(sim.error)
    assert time.monotonic() - start < 10  # far below the host's 30 s timeout


@pytest.mark.tvm
@pytest.mark.tf
@pytest.mark.slow
def test_board_run_on_the_pty_gives_the_figures_of_the_direct_simulation(tmp_path):
    """The issue's acceptance test: `tinybench board run` against the simulator's pty.

    On the nRF52840 (Cortex-M4) the cycle model is additive, so several sessions in one boot
    time each inference as a fresh boot per input does. The M7 model counts a branch site's
    mispredicts over the whole run, so there later sessions differ by a few cycles.
    """
    from tinybench.board import build_named

    simulated = run(RunSpec("ad01", "tvm", "nrf52840", inputs=2))
    firmware = build_named("ad01", "tvm", "nrf52840", inputs=2).firmware
    results = tmp_path / "runs.jsonl"
    with SerialSimulation(firmware.elf, firmware.board, idle_timeout=30) as sim:
        code = cli.main(["board", "run", "--board", "nrf52840", "--task", "ad01",
                         "--backend", "tvm", "--inputs", "2", "--runs", "3", "--warmups", "1",
                         "--port", sim.port, "--results", str(results)])
    assert code == 0
    (board,) = load_records(results)
    assert board.simulator == "board"
    assert simulated.broken is None and board.broken is None
    assert (board.cycles, board.clock_hz, board.arena_bytes) == (
        simulated.cycles, simulated.clock_hz, simulated.arena_bytes)
    assert board.check == simulated.check
    assert board.memory == simulated.memory
    assert board.model_hash == simulated.model_hash
    assert np.isclose(board.latency_ms, simulated.latency_ms)


@pytest.mark.tvm
@pytest.mark.tf
@pytest.mark.slow
def test_board_run_profile_on_the_pty_prints_the_simulated_layers(capsys):
    """The profile build served on the pty: `board run --profile` prints the simulator's table
    (without instructions and top functions, which a board does not count)."""
    from dataclasses import replace

    from tinybench.analysis.layers import format_profile
    from tinybench.board import build_named

    simulated = run(RunSpec("kws01", "tvm", "nrf52840", inputs=1, profile=True)).profile
    firmware = build_named("kws01", "tvm", "nrf52840", inputs=1, profile=True).firmware
    with SerialSimulation(firmware.elf, firmware.board, idle_timeout=30) as sim:
        code = cli.main(["board", "run", "--profile", "--board", "nrf52840", "--task", "kws01",
                         "--backend", "tvm", "--inputs", "1", "--port", sim.port])
    assert code == 0
    expected = replace(simulated, plain_cycles=None, layers=tuple(
        replace(layer, instructions=None, functions=()) for layer in simulated.layers))
    assert format_profile(expected) in capsys.readouterr().out
