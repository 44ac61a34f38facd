from pathlib import Path

import numpy as np
import pytest

from tinybench.errors import ConfigError, SimulationError
from tinybench.protocol import (
    CHUNK_BYTES,
    Session,
    all_outputs,
    completed_session,
    many_inputs_script,
    output_tensors,
    parse_session,
    session_commands,
    session_script,
)

GOLDEN = Path(__file__).parent.parent / "data" / "protocol" / "minimal_session.txt"


def test_commands_load_the_input_in_hex_chunks_then_infer():
    data = bytes(range(130))
    commands = session_commands(data, runs=5, warmups=2)
    assert commands[:3] == ["name", "profile", "db load 130"]
    chunks = [c.removeprefix("db ") for c in commands[3:-2]]
    assert [len(c) // 2 for c in chunks] == [CHUNK_BYTES, CHUNK_BYTES, 130 - 2 * CHUNK_BYTES]
    assert bytes.fromhex("".join(chunks)) == data
    assert commands[-2:] == ["infer 5 2", "results"]


def test_every_command_fits_the_harness_line_and_ends_with_percent():
    script = session_script(bytes(1000))
    commands = script.decode().split("%")
    assert commands[-1] == ""
    assert max(len(c) for c in commands) <= 128


@pytest.mark.parametrize(("data", "runs", "warmups"), [(b"", 1, 0), (b"\1", 0, 0), (b"\1", 1, -1)])
def test_bad_session_arguments_are_config_errors(data, runs, warmups):
    with pytest.raises(ConfigError):
        session_commands(data, runs, warmups)


def test_parse_a_recorded_session():
    session = parse_session(GOLDEN.read_bytes())
    assert session == Session(
        name="tinybench-minimal",
        model="minimal",
        clock_hz=64_000_000,
        lap_us=450 - 289,
        cycles=(3356, 3356, 3356),
        arena_bytes=74,
        stack_bytes=528,
        outputs=((127, -50, -128, 127, 127, 127, 127, -63, 127, 99),),
        errors=("Unknown command: bogus",),
        infer_done=True,
    )


def test_a_failed_inference_leaves_no_timing():
    session = parse_session(
        "m-infer-start-1\r\nm-lap-us-5\r\ne-[tb_backend_invoke failed: 3]\r\nm-ready\r\n"
    )
    assert not session.infer_done
    assert session.lap_us is None
    assert session.errors == ("tb_backend_invoke failed: 3",)


def test_only_the_last_infer_block_counts():
    text = (
        "m-infer-start-1\nm-lap-us-10\nm-lap-us-30\nm-tb-cycles-[20]\nm-infer-done\n"
        "m-lap-us-99\n"  # a timestamp command between the two blocks
        "m-infer-start-1\nm-lap-us-100\nm-lap-us-107\nm-tb-cycles-[7]\nm-infer-done\n"
    )
    session = parse_session(text)
    assert (session.lap_us, session.cycles) == (7, (7,))


def test_garbled_replies_become_errors_not_exceptions():
    session = parse_session(b"m-tb-arena-bytes-12x\r\nm-results-[1,\xff]\r\nnoise\r\n")
    assert session.arena_bytes is None
    assert len(session.errors) == 2
    assert session.errors[0] == "unreadable reply: m-tb-arena-bytes-12x"


def test_what_the_engine_printed_is_kept_and_named_when_the_session_fails():
    output = b"Failed to resize buffer. Requested: 9, available 4\r\ne-[init failed: 3]\r\n"
    assert parse_session(output).log == ("Failed to resize buffer. Requested: 9, available 4",)
    with pytest.raises(SimulationError, match=r"failed: 3 \(it printed: Failed to resize"):
        completed_session(output, "the firmware")


def test_a_many_inputs_session_identifies_once_and_infers_once_per_input():
    commands = many_inputs_script([b"\1\2", b"\3"]).decode().split("%")[:-1]
    assert commands == ["name", "profile", "db load 2", "db 0102", "infer 1 0", "results",
                        "db load 1", "db 03", "infer 1 0", "results"]


def test_every_result_of_a_session_is_read_in_order():
    replies = "m-results-[1,-2]\r\nm-ready\r\nm-lap-us-5\r\nm-results-[3]\r\nm-results-[]\r\n"
    assert all_outputs(replies.encode()) == [(1, -2), (3,), ()]


def test_several_inputs_are_each_loaded_by_number():
    commands = session_commands([b"\1\2", b"\3"], runs=1)
    assert commands[2:] == ["db load 2 0", "db 0102", "db load 1 1", "db 03", "infer 1 0",
                            "results"]
    assert session_commands([b"\1\2"])[2:4] == ["db load 2", "db 0102"]  # MLPerf Tiny's own


def test_each_output_is_read_in_the_models_order():
    replies = "m-results-[1,-2]\r\nm-tb-results-1-[3]\r\nm-tb-results-2-[]\r\nm-ready\r\n"
    assert parse_session(replies).outputs == ((1, -2), (3,), ())
    assert all_outputs(replies) == [(1, -2)]
    shuffled = parse_session("m-results-[1]\r\nm-tb-results-2-[3]\r\n")
    assert shuffled.outputs == ((1,),)
    assert shuffled.errors == ("unreadable reply: m-tb-results-2-[3]",)


def test_outputs_are_read_in_their_types():
    session = Session(outputs=((1, 0), (0, 0, 128 - 256, 63)))
    small, real = output_tensors(session, [np.dtype("int16"), np.dtype("float32")])
    assert small.tolist() == [1] and real.tolist() == [1.0]
    with pytest.raises(SimulationError, match="returned 2 outputs, the model has 1"):
        output_tensors(session, [np.dtype("int16")])
