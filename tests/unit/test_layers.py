"""Per-layer profiles: the protocol lines, the table's arithmetic and the TVM kernel matching."""

import re

import pytest

from tinybench.analysis.layers import (
    activation_bytes,
    build_profile,
    format_profile,
    match_kernels,
)
from tinybench.artifacts import Mark
from tinybench.errors import SimulationError
from tinybench.models.inspect import LayerInfo
from tinybench.protocol import parse_session

SESSION = """\
m-infer-start-1
m-lap-us-10
m-lap-us-20
m-tb-cycles-[1000]
m-tb-arena-bytes-700
m-tb-stack-bytes-300
m-tb-layer-cycles-[500,300,120]
m-tb-plan-[0:400:0:0,400:200:0:1,0:100:1:2]
m-tb-persistent-bytes-100
m-infer-done
"""

MODEL = (
    LayerInfo(0, "CONV_2D", (1, 4, 4, 8), 1000, 80),
    LayerInfo(1, "FULLY_CONNECTED", (1, 10), 100, 1000),
    LayerInfo(2, "SOFTMAX", (1, 10), 0, 0),
)


def marks(cycles, instructions):
    """CYCCNT reads of one profiled inference: around it, then around every layer."""
    reads = [Mark(0, 0)]
    at, done = 10, 10
    for c, i in zip(cycles, instructions, strict=True):
        reads += [Mark(done, at), Mark(done + i, at + c)]
        at, done = at + c + 10, done + i + 10
    return (*reads, Mark(done, 1000))


def test_the_profile_lines_are_parsed():
    session = parse_session(SESSION)
    assert session.layer_cycles == (500, 300, 120)
    assert session.plan == ((0, 400, 0, 0), (400, 200, 0, 1), (0, 100, 1, 2))
    assert session.persistent_bytes == 100


def test_a_garbled_plan_is_an_error_not_an_exception():
    session = parse_session("m-tb-plan-[0:400:0]\r\n")
    assert session.plan == ()
    assert session.errors == ("unreadable reply: m-tb-plan-[0:400:0]",)


def test_layers_and_overhead_add_up_to_the_inference_exactly():
    profile = build_profile(MODEL, [m.op for m in MODEL], parse_session(SESSION),
                            marks((500, 300, 120), (40, 30, 20)), plain_cycles=950)
    assert [layer.cycles for layer in profile.layers] == [500, 300, 120]
    assert sum(layer.cycles for layer in profile.layers) + profile.overhead_cycles == 1000
    assert profile.overhead_cycles == 80
    assert [layer.instructions for layer in profile.layers] == [40, 30, 20]
    assert profile.instrumentation_cycles == 50


def test_activation_bytes_span_the_buffers_alive_in_each_layer():
    # layer 1 holds 300 bytes of data, but the buffer at 400 makes it span 600 of the arena
    plan = ((0, 400, 0, 0), (400, 200, 0, 1), (0, 100, 1, 2))
    assert activation_bytes(plan, 3) == [600, 600, 100]


def test_the_table_names_the_peak_layer_and_adds_up_the_arena():
    profile = build_profile(MODEL, [m.op for m in MODEL], parse_session(SESSION))
    assert profile.peak.index == 0
    text = format_profile(profile)
    assert "| 0       | CONV_2D" in text and "600 (peak)" in text
    assert re.search(r"\| overhead +\|( +\|){4} 80 +\| 8\.0 % ", text)
    assert ("Arena: 700 bytes = 600 of activations at the peak (layer 0, CONV_2D) + 100 "
            "persistent.") in text


def test_a_simulators_marks_give_the_cycles_and_a_board_its_dwt_readings():
    session = parse_session(SESSION)
    simulated = build_profile(MODEL, [m.op for m in MODEL], session,
                              marks((500, 301, 120), (1, 1, 1)))
    assert [layer.cycles for layer in simulated.layers] == [500, 301, 120]
    assert simulated.overhead_cycles == 79
    board = build_profile(MODEL, [m.op for m in MODEL], session)
    assert [layer.cycles for layer in board.layers] == [500, 300, 120]
    assert {layer.instructions for layer in board.layers} == {None}
    with pytest.raises(SimulationError, match="expected 8 cycle-counter reads"):
        build_profile(MODEL, [m.op for m in MODEL], session, marks((500,), (1,)))


def test_each_layer_names_its_top_functions_from_the_profile_between_its_marks():
    session = parse_session(SESSION)
    reads = marks((500, 300, 120), (40, 30, 20))
    # the function profiles before the first mark, between each two and after the last
    between = [{"setup": (9, 9)}] * len(reads) + [{}]
    between[2] = {"im2col": (50, 100), "gemm": (200, 390), "memcpy": (2, 5), "th_printf": (1, 5),
                  "idle": (1, 0)}
    between[3] = {"invoke": (10, 10)}  # between layers: the overhead, no layer's
    between[4] = {"fc": (30, 299), "tb_layer_end": (1, 1)}
    between[6] = {"softmax": (20, 120), "zero": (0, 0)}
    profile = build_profile(MODEL, [m.op for m in MODEL], session, reads, None, between)
    assert [layer.functions for layer in profile.layers] == [
        (("gemm", 390), ("im2col", 100), ("memcpy", 5)), (("fc", 299), ("tb_layer_end", 1)),
        (("softmax", 120),)]
    text = format_profile(profile)
    assert "gemm 78 %, im2col 20 %, memcpy 1 %" in text and "only a simulator" not in text
    assert "| fc 100 % " in text  # its mark's 0.3 % is left out
    with pytest.raises(SimulationError, match="expected 9 function profiles around 8"):
        build_profile(MODEL, [m.op for m in MODEL], session, reads, None, between[:-1])


def test_a_board_names_no_functions_and_the_table_says_why():
    profile = build_profile(MODEL, [m.op for m in MODEL], parse_session(SESSION))
    assert {layer.functions for layer in profile.layers} == {()}
    assert "only a simulator attributes a layer's cycles to functions" in format_profile(profile)


def test_a_layer_count_unlike_the_model_is_refused():
    with pytest.raises(SimulationError, match="reported 3 layers, the model has 2"):
        build_profile(MODEL[:2], ["a", "b"], parse_session(SESSION))


def test_tvm_kernels_take_the_model_ops_they_compute_in_order():
    model = (
        LayerInfo(0, "CONV_2D", (), 9, 0), LayerInfo(1, "DEPTHWISE_CONV_2D", (), 3, 0),
        LayerInfo(2, "AVERAGE_POOL_2D", (), 0, 0), LayerInfo(3, "RESHAPE", (), 0, 0),
        LayerInfo(4, "FULLY_CONNECTED", (), 5, 0), LayerInfo(5, "SOFTMAX", (), 0, 0),
    )
    kernels = ["fused_conv2d_add_requantize", "fused_conv2d1_add", "fused_global_average_cast",
               "fused_matmul_add1", "fused_reshape_reshape1", "softmax", "fused_unknown"]
    matched = match_kernels(kernels, model)
    assert [m.index if m else None for m in matched] == [0, 1, 2, 4, 3, 5, None]


def test_the_chart_is_a_png(tmp_path):
    from tinybench.reports.layer_chart import layer_chart

    layer_chart(build_profile(MODEL, [m.op for m in MODEL], parse_session(SESSION)), "kws01",
                tmp_path / "layers.png")
    assert (tmp_path / "layers.png").read_bytes().startswith(b"\x89PNG")
