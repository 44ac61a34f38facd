"""TFLM and TFLM + CMSIS-NN end to end: generate, build, run in the built-in simulator, and
compare the outputs with the host reference (LiteRT's BUILTIN_REF kernels): they must match
exactly. Uses the real cache: the TFLM libraries take many minutes to build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinybench.backends.tflm import CMSIS_NN, TFLM, TflmBackend, final_arena
from tinybench.boards import get_board
from tinybench.firmware import build_firmware
from tinybench.models.export import export
from tinybench.models.reference import golden
from tinybench.probe import arena_probe
from tinybench.protocol import parse_session, session_script
from tinybench.simulators.iss import IssSimulator

pytestmark = [pytest.mark.tflm, pytest.mark.tf, pytest.mark.toolchain, pytest.mark.slow]
BUDGET = 2_000_000_000


@pytest.fixture(scope="module")
def model() -> Path:
    """The KWS model."""
    return export("kws01")


@pytest.mark.parametrize("backend", [TFLM, CMSIS_NN], ids=lambda b: b.name)
@pytest.mark.parametrize("board_name", ["nrf52840", "stm32f746"])
def test_kws_is_bit_exact_with_the_reference_kernels(
    backend: TflmBackend, board_name: str, model: Path, tmp_path: Path
) -> None:
    board = get_board(board_name)
    sources = backend.generate(model, board, tmp_path, arena_probe)
    firmware = build_firmware(sources, board)
    reference = golden(model, count=1, engine=backend.reference)
    script = session_script([x.tobytes() for x in reference.inputs[0]])
    session = parse_session(IssSimulator().run(firmware.elf, board, script, BUDGET).uart_output)

    assert session.errors == ()
    assert session.name == f"tinybench-{backend.name}"
    assert session.outputs == tuple(tuple(int(v) for v in y.ravel()) for y in reference.outputs[0])
    required = int(sources.extra["arena_required_bytes"])
    assert int(sources.extra["arena_bytes"]) == final_arena(required)
    assert 0 < session.arena_bytes <= required  # TFLM's figure leaves out temporary use
