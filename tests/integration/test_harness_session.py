"""Run the harness with the minimal backend in the built-in simulator, through the protocol."""

import dataclasses
import re
import shutil

import pytest

from tinybench.boards import all_boards, get_board
from tinybench.firmware import build_firmware
from tinybench.firmware.minimal import INPUT_BYTES, OUTPUT_BYTES, SOURCE_DIR, minimal_sources
from tinybench.protocol import parse_session, session_script

iss = pytest.importorskip("tinybench.simulators.iss", reason="the built-in simulator is absent")
pytestmark = [pytest.mark.toolchain, pytest.mark.usefixtures("private_cache")]
BUDGET = 10_000_000


def reference_outputs(data: bytes) -> list[int]:
    """The minimal backend's dense layer, computed on the host from its C tables."""
    text = (SOURCE_DIR / "minimal_model.c").read_text()
    tables = [[int(v) for v in re.findall(r"-?\d+", body)]
              for body in re.findall(r"=\s*\{(.*?)\};", text, re.S)]
    weights, bias = tables
    shift = int(re.search(r"SHIFT (\d+)", (SOURCE_DIR / "minimal_model.h").read_text())[1])
    x = [b - 256 if b > 127 else b for b in data]
    out = []
    for o in range(OUTPUT_BYTES):
        row = weights[o * INPUT_BYTES : (o + 1) * INPUT_BYTES]
        acc = bias[o] + sum(a * w for a, w in zip(x, row, strict=True))
        out.append(max(-128, min(127, (acc + (1 << (shift - 1))) >> shift)))
    return out


def run(board_name: str, script: bytes, sources=None):
    board = get_board(board_name)
    firmware = build_firmware(sources or minimal_sources(), board)
    result = iss.IssSimulator().run(firmware.elf, board, script, BUDGET)
    assert result.exit_reason == "idle"
    return result, parse_session(result.uart_output)


@pytest.mark.parametrize("board", all_boards(), ids=str)
def test_a_session_reports_outputs_cycles_arena_and_stack(board):
    data = bytes((i * 37 + 5) % 256 for i in range(INPUT_BYTES))
    result, session = run(board, session_script(data, runs=3, warmups=2))
    assert session.errors == ()
    assert session.infer_done
    assert (session.name, session.model) == ("tinybench-minimal", "minimal")
    assert list(session.outputs[0]) == reference_outputs(data)
    # two cycle-counter reads per inference, warm-ups included, and no others
    assert len(result.marks) == 2 * (3 + 2)
    pairs = zip(result.marks[::2], result.marks[1::2], strict=True)
    spans = [after.cycles - before.cycles for before, after in pairs]
    assert session.cycles == tuple(spans[2:])
    mhz = get_board(board).clock_hz // 1_000_000
    assert sum(session.cycles) // mhz <= session.lap_us
    assert session.arena_bytes == INPUT_BYTES + OUTPUT_BYTES
    assert 0 < session.stack_bytes < minimal_sources().stack_size


def test_protocol_errors_are_reported_and_the_device_stays_ready():
    script = (b"infer 1 0%db load 65%db load 2 1%db load 2 x%db load 2%db zz%db 0102%db 03%bogus%"
              b"infer 0 0%timestamp%")
    _, session = run("nrf52840", script)
    assert session.errors == (
        "input 0 has 0 of 64 bytes; send db load and db first",
        "db load 65 exceeds the harness buffer of 64 bytes",
        "db load input 1: the model has 1 inputs",
        "db load needs a byte count and optionally an input number",
        "db expects pairs of hex digits",
        "db got more than the 2 bytes announced",
        "Unknown command: bogus",
        "infer needs N W: N >= 1 timed runs after W warm-ups",
    )
    assert not session.infer_done


def test_an_engine_that_fails_to_initialise_is_never_invoked(tmp_path):
    folder = tmp_path / "minimal"
    shutil.copytree(SOURCE_DIR, folder)
    source = folder / "minimal.c"
    source.write_text(source.read_text().replace("return 0;", "return 3;", 1))  # in init
    sources = dataclasses.replace(
        minimal_sources(), sources=(source, folder / "minimal_model.c"), include_dirs=(folder,)
    )
    result, session = run("stm32f746", session_script(bytes(INPUT_BYTES)), sources)
    assert session.errors == (
        "tb_backend_init failed: 3",
        "the engine failed to initialise: 3",
    )
    assert result.marks == ()


def test_cpp_constructors_run_before_main(tmp_path):
    folder = tmp_path / "minimal"
    shutil.copytree(SOURCE_DIR, folder)
    (folder / "probe.cc").write_text(
        "struct Probe { int value; Probe() : value(42) {} };\n"
        "static Probe probe;\n"
        'extern "C" int tb_probe_value(void) { return probe.value; }\n'
    )
    source = folder / "minimal.c"
    source.write_text(  # init fails with the probe's value unless its constructor ran
        "int tb_probe_value(void);\n"
        + source.read_text().replace("return 0;", "return tb_probe_value() - 42;", 1)
    )
    sources = dataclasses.replace(
        minimal_sources(),
        sources=(source, folder / "minimal_model.c", folder / "probe.cc"),
        include_dirs=(folder,),
    )
    _, session = run("nrf52840", session_script(bytes(INPUT_BYTES)), sources)
    assert session.errors == ()
    assert session.infer_done
