"""Every board in every simulator: the minimal firmware boots, sets up its clock and infers.

A new board entry in boards.toml (with its firmware/boards/<name>/ and Renode platform) gets
these runs for free; a simulator missing on this machine is skipped with its own reason.
"""

import pytest

from tinybench.boards import all_boards, get_board
from tinybench.errors import ToolNotFoundError
from tinybench.firmware import build_firmware
from tinybench.firmware.minimal import INPUT_BYTES, minimal_sources
from tinybench.protocol import parse_session, session_script
from tinybench.simulators import SIMULATORS

from .test_harness_session import reference_outputs

pytestmark = [pytest.mark.toolchain, pytest.mark.usefixtures("private_cache")]
BUDGET = 20_000_000
DATA = bytes((i * 29 + 3) % 256 for i in range(INPUT_BYTES))
SIMULATOR_MARKS = {"renode": [pytest.mark.renode, pytest.mark.slow]}


@pytest.mark.parametrize("simulator", [pytest.param(name, marks=SIMULATOR_MARKS.get(name, []))
                                       for name in SIMULATORS])
@pytest.mark.parametrize("board", all_boards())
def test_the_minimal_firmware_runs(board, simulator):
    sim = SIMULATORS[simulator]
    reason = sim.missing()
    if reason:
        pytest.skip(reason)
    target = get_board(board)
    elf = build_firmware(minimal_sources(), target).elf
    try:
        result = sim.run(elf, target, session_script(DATA, runs=1), BUDGET)
    except ToolNotFoundError as missing:  # a simulator that does not model this board
        pytest.skip(str(missing))
    session = parse_session(result.uart_output)
    assert session.errors == () and session.infer_done
    assert session.clock_hz == target.clock_hz  # its clock set-up found every ready flag
    assert list(session.outputs[0]) == reference_outputs(DATA)
    assert result.exit_reason == "idle" and result.instructions > 0 and result.cycles > 0
