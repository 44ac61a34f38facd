"""Component attribution from a GNU ld map."""

import pytest

from tinybench.analysis.elf import _map_inputs, _split

MAP = """\
Memory Configuration
Linker script and memory map

.text           0x08000040      0x200
 *(.text .text.*)
 .text.main     0x08000040      0x100 {obj}/harness/harness-1.o
                0x08000040                main
 .text.tb_backend_invoke
                0x08000140       0x80 {obj}/engine/minimal-2.o
 .text.memcpy   0x080001c0       0x40 /usr/lib/arm-none-eabi/lib/libc_nano.a(libc_a-memcpy.o)
 .text.conv     0x08000200       0x30 /work/tflm/libtflm.a(conv.o)
 *fill*         0x08000230       0x10
.rodata         0x08000240       0x60
 .rodata.weights
                0x08000240       0x40 {obj}/model/model-3.o
 .rodata.main.str1.4
                0x08000280       0x30 {obj}/harness/harness-1.o
 .rodata.str1.4 0x080002b0       0x10 {obj}/engine/minimal-2.o
.debug_info     0x00000000      0x100
 .debug_info    0x00000000      0x100 {obj}/harness/harness-1.o
"""


@pytest.fixture
def inputs(tmp_path):
    map_file = tmp_path / "firmware.map"
    map_file.write_text(MAP.format(obj=tmp_path / "obj"))
    return _map_inputs(map_file, {"libtflm.a(conv.o)": "kernels"})


def test_input_sections_are_attributed_by_folder_pattern_and_archive(inputs):
    assert inputs[".text"] == {
        ("harness", False): 0x100,
        ("engine", False): 0x80,
        ("libc", False): 0x40,
        ("kernels", False): 0x30,
    }


def test_fill_becomes_other_so_components_add_up(inputs):
    parts = _split(".text", 0x200, inputs[".text"])
    assert parts["other"] == 0x10
    assert sum(parts.values()) == 0x200


def test_merged_strings_share_what_the_linker_kept(inputs):
    parts = _split(".rodata", 0x60, inputs[".rodata"])  # 0x40 strings merged into 0x20
    assert parts == {"model": 0x40, "harness": 0x18, "engine": 0x08}


def test_stack_and_heap_are_their_own_components():
    assert _split(".stack", 4096, {}) == {"stack": 4096}


def test_unknown_origins_are_engine_code_unless_not_object_files(tmp_path):
    map_file = tmp_path / "firmware.map"
    map_file.write_text(
        "Linker script and memory map\n.text 0x0 0x8\n"
        " .text          0x0        0x4 /elsewhere/thing.o\n"
        " .text          0x4        0x4 linker stubs\n"
    )
    assert _map_inputs(map_file, {}) == {".text": {("engine", False): 4, ("other", False): 4}}
