"""The TFLM backends' own logic: source lists, op tables, generated files (no TFLM needed)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tinybench.backends import tflm, tflm_lib
from tinybench.backends.tflm_lib import Op
from tinybench.boards import get_board
from tinybench.errors import ConfigError
from tinybench.models import inspect
from tinybench.toolchain import Toolchain

SOURCES_INC = """
MICROLITE_CC_KERNEL_SRCS := \\
$(TENSORFLOW_ROOT)tensorflow/lite/micro/kernels/add.cc \\
$(TENSORFLOW_ROOT)tensorflow/lite/micro/kernels/conv.cc \\
$(TENSORFLOW_ROOT)tensorflow/lite/micro/kernels/kernel_util.cc \\
$(TENSORFLOW_ROOT)signal/micro/kernels/rfft.cc

MICROLITE_CC_SIGNAL_KERNEL_SRCS := \\
$(TENSORFLOW_ROOT)tensorflow/lite/micro/kernels/not_a_kernel.cc
"""

RESOLVER_H = """
  TfLiteStatus AddConv2D(
      const TFLMRegistration& registration = Register_CONV_2D()) {
    return AddBuiltin(BuiltinOperator_CONV_2D, registration, ParseConv2D);
  }
  TfLiteStatus AddL2Pool2D(
      const TFLMRegistration& registration = tflite::Register_L2_POOL_2D()) {
    return AddBuiltin(BuiltinOperator_L2_POOL_2D, registration, ParsePool);
  }
"""


def _inspected(ops: dict[str, int]) -> SimpleNamespace:
    """What inspect_model says about a KWS-shaped model with `ops`."""
    x = SimpleNamespace(shape=(1, 49, 10, 1), dtype="int8")
    y = SimpleNamespace(shape=(1, 12), dtype="int8")
    return SimpleNamespace(ops=ops, inputs=(x,), outputs=(y,))


def test_kernel_list_comes_from_sources_inc(tmp_path: Path) -> None:
    make = tmp_path / "tensorflow/lite/micro/tools/make"
    make.mkdir(parents=True)
    (make / "sources.inc").write_text(SOURCES_INC)
    names = [p.name for p in tflm_lib.kernel_sources(tmp_path)]
    assert names == ["add.cc", "conv.cc", "kernel_util.cc"]  # no signal ops, no other lists
    (make / "sources.inc").write_text("nothing here")
    with pytest.raises(ConfigError, match="no kernel list"):
        tflm_lib.kernel_sources(tmp_path)


def test_op_table_reads_the_resolver_header(tmp_path: Path) -> None:
    header = tmp_path / "tensorflow/lite/micro/micro_mutable_op_resolver.h"
    header.parent.mkdir(parents=True)
    header.write_text(RESOLVER_H)
    assert tflm_lib.op_table(tmp_path) == {
        "CONV_2D": Op("CONV_2D", "AddConv2D", "Register_CONV_2D"),
        "L2_POOL_2D": Op("L2_POOL_2D", "AddL2Pool2D", "Register_L2_POOL_2D"),
    }


def test_only_support_files_and_wanted_kernels_are_compiled(tmp_path: Path) -> None:
    files = {
        "conv.cc": "TFLMRegistration Register_CONV_2D() {\n  return {};\n}",
        "conv_common.cc": "TfLiteStatus ConvPrepare(...) { }",
        "pooling.cc": ("TFLMRegistration Register_AVERAGE_POOL_2D() { }\n"
                       "TFLMRegistration Register_MAX_POOL_2D() { }"),
        "pooling_common.cc": "TfLiteStatus PoolingPrepare(...) { }",
        "circular_buffer.cc": "TFLMRegistration* Register_CIRCULAR_BUFFER() { }",
        "kernel_util.cc": "bool HaveSameShapes(...) { }",
    }
    paths = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        paths.append(tmp_path / name)
    chosen = tflm_lib._select_kernels(paths, {"Register_MAX_POOL_2D"}, tmp_path)
    assert [p.name for p in chosen] == ["pooling.cc", "pooling_common.cc", "kernel_util.cc"]


def test_companions_of_included_kernel_headers_are_compiled(tmp_path: Path) -> None:
    """depthwise_conv.h includes conv.h, whose kConvInputTensor conv_common.cc defines."""
    include = '#include "tensorflow/lite/micro/kernels/{}.h"\n'
    files = {
        "conv.cc": "TFLMRegistration Register_CONV_2D() { }",
        "conv_common.cc": "const int kConvInputTensor = 0;",
        "depthwise_conv.cc": include.format("depthwise_conv")
        + "TFLMRegistration Register_DEPTHWISE_CONV_2D() { }",
        "depthwise_conv_common.cc": include.format("depthwise_conv"),
        "pooling_common.cc": "",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "depthwise_conv.h").write_text(include.format("conv"))
    (tmp_path / "conv.h").write_text(include.format("depthwise_conv"))  # a cycle ends
    chosen = tflm_lib._select_kernels([tmp_path / n for n in files],
                                      {"Register_DEPTHWISE_CONV_2D"}, tmp_path)
    assert [p.name for p in chosen] == [
        "conv_common.cc", "depthwise_conv.cc", "depthwise_conv_common.cc"]


def test_cmsis_nn_files_replace_their_namesakes(tmp_path: Path) -> None:
    (tmp_path / "cmsis_nn").mkdir()
    (tmp_path / "cmsis_nn" / "conv.cc").touch()
    files = [tmp_path / "conv.cc", tmp_path / "reshape.cc"]
    assert tflm_lib._specialize(files, tmp_path / "cmsis_nn") == [
        tmp_path / "cmsis_nn" / "conv.cc", tmp_path / "reshape.cc"]


def test_defines_follow_the_core_and_the_kernel_set() -> None:
    assert tflm_lib._cpu(get_board("nrf52840")) == "M4"
    assert tflm_lib._cpu(get_board("stm32f746")) == "M7"
    reference = tflm_lib._defines("M7", "reference")
    assert "ARMCM7" in reference
    assert 'CMSIS_DEVICE_ARM_CORTEX_M_XX_HEADER_FILE="ARMCM7.h"' in reference
    assert "CMSIS_NN" not in reference
    assert "CMSIS_NN" in tflm_lib._defines("M4", "cmsis-nn")
    assert "TF_LITE_STRIP_ERROR_STRINGS" not in reference  # errors stay readable


def test_the_library_is_compiled_and_archived_with_the_toolchain_it_is_given() -> None:
    tools = Path("/opt/other-arm/bin")
    toolchain = Toolchain(gcc=tools / "gcc", gxx=tools / "g++", ar=tools / "ar",
                          size=tools / "size", objcopy=tools / "objcopy", version="1.2.3")
    c_unit = tflm_lib._Unit(Path("arm_nn.c"), "cmsis-nn", tflm_lib.KERNEL_OPT)
    cc_unit = tflm_lib._Unit(Path("conv.cc"), "kernels", tflm_lib.KERNEL_OPT)
    c_command = tflm_lib._compile_command(c_unit, ("-mthumb",), toolchain)
    cc_command = tflm_lib._compile_command(cc_unit, ("-mthumb",), toolchain)
    archive = tflm_lib._archive_command(toolchain, Path("libtflm.a"), [Path("conv.o")])
    for command, tool in ((c_command, toolchain.gcc), (cc_command, toolchain.gxx),
                          (archive, toolchain.ar)):
        assert tool in command
        assert not [arg for arg in command if "arm-none-eabi" in str(arg)], command


def test_unknown_kernel_set_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="reference, cmsis-nn"):
        tflm_lib.library(get_board("nrf52840"), "fast", ["CONV_2D"])  # type: ignore[arg-type]


def test_model_ops_and_input_size(monkeypatch: pytest.MonkeyPatch) -> None:
    inspected = _inspected({"SOFTMAX": 1, "CONV_2D": 5})
    monkeypatch.setattr(inspect, "inspect_model", lambda path: inspected)
    assert tflm.model_ops(Path("kws01.tflite")) == ("CONV_2D", "SOFTMAX")
    assert tflm.tensor_bytes(inspected) == ((490,), (12,))
    inspected = _inspected({"CONV_2D": 1, "CUSTOM:TbCustom": 1})
    with pytest.raises(ConfigError, match="CUSTOM:TbCustom, which the tflm backends cannot"):
        tflm.model_ops(Path("kws01.tflite"))


def test_generated_header_adds_exactly_the_models_ops() -> None:
    table = {"CONV_2D": Op("CONV_2D", "AddConv2D", "Register_CONV_2D"),
             "SOFTMAX": Op("SOFTMAX", "AddSoftmax", "Register_SOFTMAX"),
             "ADD": Op("ADD", "AddAdd", "Register_ADD")}
    header = tflm.model_header(table, ("CONV_2D", "SOFTMAX"), 23456, "cmsis-nn")
    assert "MicroMutableOpResolver<2>" in header
    assert "r.AddConv2D()" in header and "r.AddSoftmax()" in header and "AddAdd" not in header
    assert "kTbArenaSize = 23456;" in header and '"cmsis-nn"' in header
    assert "TB_TFLM_RESET_STATE" not in header and "TB_TFLM_RESOURCE_VARIABLES" not in header
    stateful = tflm.model_header(table, (), 1, "tflm", True, variables=4)
    assert "#define TB_TFLM_RESET_STATE 1\n#define TB_TFLM_RESOURCE_VARIABLES 4\n" in stateful
    with pytest.raises(ConfigError, match="MEAN"):
        tflm.model_header(table, ("MEAN",), 1, "tflm")


def test_model_source_holds_the_exact_bytes(tmp_path: Path) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(bytes(range(50)))
    source = tflm.model_source(model)
    body = source.split("= {", 1)[1].split("};", 1)[0]
    assert bytes(int(v) for v in body.replace("\n", "").split(",")) == bytes(range(50))
    assert "alignas(16) const unsigned char kTbModel[50]" in source


def test_final_arena_adds_the_margin_and_keeps_16_byte_alignment() -> None:
    assert tflm.final_arena(22868) == 22868 + 1024 + 12
    assert tflm.final_arena(1024) == 1024 + tflm.ARENA_MARGIN


def test_a_unit_is_preprocessed_once_until_a_file_of_its_tree_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "value.h").write_text("#define VALUE 1\n")
    (tree / "unit.c").write_text('#include "value.h"\nint value = VALUE;\n')
    log = tmp_path / "preprocessed"
    compiler = tmp_path / "cc"  # the host compiler, noting each call
    compiler.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec cc "$@"\n')
    compiler.chmod(0o755)
    toolchain = Toolchain(compiler, compiler, compiler, compiler, compiler, "host")
    unit = tflm_lib._Unit(tree / "unit.c", "core", "-O2")
    argv = [compiler, f"-I{tree}", "-c", unit.source]

    def key() -> str:
        return tflm_lib._object_key(argv, ["-O2"], unit, toolchain,
                                    tflm_lib._tree_stamp([tree]))

    first = key()
    assert key() == first and log.read_text().count(" -E ") == 1
    (tree / "value.h").write_text("#define VALUE 22\n")  # a header it includes: preprocessed again
    assert key() != first and log.read_text().count(" -E ") == 2
