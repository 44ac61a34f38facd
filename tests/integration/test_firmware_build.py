"""Build the harness with the minimal backend for real and check the build driver's promises."""

import dataclasses
import shutil
import subprocess

import pytest

from tinybench.analysis.elf import measure
from tinybench.boards import all_boards, get_board
from tinybench.errors import ConfigError, FitError
from tinybench.firmware import build_firmware
from tinybench.firmware.build import HARNESS_SOURCES, STARTUP_SOURCES
from tinybench.firmware.minimal import SOURCE_DIR, minimal_sources

pytestmark = [pytest.mark.toolchain, pytest.mark.usefixtures("private_cache")]


@pytest.fixture
def backend_copy(tmp_path):
    """The minimal backend's sources copied somewhere the test may edit them."""
    folder = tmp_path / "minimal"
    shutil.copytree(SOURCE_DIR, folder)
    sources = minimal_sources()
    return folder, dataclasses.replace(
        sources,
        sources=tuple(folder / s.name for s in sources.sources),
        include_dirs=(folder,),
    )


@pytest.mark.parametrize("board", all_boards().values(), ids=lambda b: b.name)
def test_pyelftools_totals_equal_arm_none_eabi_size(board, toolchain):
    firmware = build_firmware(minimal_sources(), board)
    report = measure(firmware)
    size = subprocess.run([toolchain.size, firmware.elf], capture_output=True, check=True)
    text, data, bss = (int(v) for v in size.stdout.splitlines()[1].split()[:3])
    assert (report.text_bytes, report.data_bytes, report.bss_bytes) == (text, data, bss)
    assert report.flash_bytes == text + data
    assert report.ram_bytes == data + bss
    assert sum(report.flash_components.values()) == report.flash_bytes
    assert sum(report.ram_components.values()) == report.ram_bytes
    assert report.flash_components["model"] == 10 * 64 + 10 * 4  # weights and biases
    assert report.ram_components["stack"] == minimal_sources().stack_size
    assert report.flash_sections[".isr_vector"] == 16 * 4
    assert {"harness", "engine", "libc"} <= report.flash_components.keys()


def test_unchanged_rebuild_compiles_and_links_nothing():
    board = get_board("nrf52840")
    first = build_firmware(minimal_sources(), board)
    mtime = first.elf.stat().st_mtime_ns
    again = build_firmware(minimal_sources(), board)
    assert (again.compiled, again.linked) == ((), False)
    assert again.key == first.key
    assert again.elf.stat().st_mtime_ns == mtime


def test_edits_recompile_exactly_the_dependent_sources(backend_copy):
    folder, sources = backend_copy
    board = get_board("stm32f746")
    first = build_firmware(sources, board)
    everything = (*STARTUP_SOURCES, *HARNESS_SOURCES, *sources.sources)  # and board.c
    assert len(first.compiled) == len(everything) + 1 and first.linked

    header = folder / "minimal_model.h"
    header.write_text(header.read_text().replace("SHIFT 9", "SHIFT 8"))
    after_header = build_firmware(sources, board)
    assert set(after_header.compiled) == set(sources.sources)  # both include the header
    assert after_header.linked and after_header.key != first.key

    source = folder / "minimal.c"
    source.write_text(source.read_text() + "\n/* edited */\n")
    after_source = build_firmware(sources, board)
    assert after_source.compiled == (source,)


def test_oversized_model_is_refused_with_both_numbers(backend_copy):
    folder, sources = backend_copy
    header = folder / "minimal_model.h"  # 10 outputs x 200 Ki inputs: 2000 KiB
    header.write_text(header.read_text().replace("INPUTS 64", "INPUTS (200 * 1024)"))
    with pytest.raises(FitError, match=r"needs 20\d\d\.\d KiB of Flash, stm32f746 has 1024 KiB"):
        build_firmware(sources, get_board("stm32f746"))


def test_oversized_arena_is_refused_with_both_numbers(backend_copy):
    folder, sources = backend_copy
    source = folder / "minimal.c"
    source.write_text(
        "static volatile char big_arena[300 * 1024];\n"
        + source.read_text().replace("    return 0;", "    big_arena[0] = 0;\n    return 0;", 1)
    )
    with pytest.raises(FitError, match=r"needs 30\d\.\d KiB of RAM, nrf52840 has 256 KiB"):
        build_firmware(sources, get_board("nrf52840"))


def test_cpp_sources_and_static_libraries_link(backend_copy, tmp_path, toolchain):
    folder, sources = backend_copy
    (tmp_path / "extra.cc").write_text(
        "struct Probe { int value; Probe() : value(42) {} };\n"
        "static Probe probe;  // constructed by the startup code's init_array loop\n"
        'extern "C" int tb_cpp_value(void) { return probe.value; }\n'
    )
    (tmp_path / "lib.c").write_text("int tb_lib_value(void) { return 7; }\n")
    board = get_board("nrf52840")
    obj = tmp_path / "lib.o"
    subprocess.run([toolchain.gcc, *board.cflags, "-c", tmp_path / "lib.c", "-o", obj], check=True)
    library = tmp_path / "libextra.a"
    ar = toolchain.gcc.with_name(toolchain.gcc.name.replace("gcc", "ar"))
    subprocess.run([ar, "rcs", library, obj], check=True)
    source = folder / "minimal.c"
    check = "return tb_cpp_value() - 42 + tb_lib_value() - 7;"
    source.write_text(
        "int tb_cpp_value(void);\nint tb_lib_value(void);\n"
        + source.read_text().replace("return 0;", check, 1)
    )
    mixed = dataclasses.replace(
        sources,
        sources=(*sources.sources, tmp_path / "extra.cc"),
        libraries=(library,),
        components={**sources.components, "libextra.a(*)": "kernels"},
    )
    report = measure(build_firmware(mixed, board))
    assert report.flash_sections[".init_array"] == 4
    assert report.flash_components["kernels"] > 0


def test_c_only_firmware_links_libm(backend_copy):
    folder, sources = backend_copy  # generated kernels round with nearbyintf
    source = folder / "minimal.c"
    source.write_text(
        "#include <math.h>\nstatic volatile float half = 0.5f;\n"
        + source.read_text().replace("return 0;", "return (int)nearbyintf(half);", 1)
    )
    firmware = build_firmware(sources, get_board("nrf52840"))  # the M7 has an instruction for it
    assert "nearbyintf" in firmware.map.read_text()


def test_a_bare_elf_is_measured_with_the_map_beside_it():
    firmware = build_firmware(minimal_sources(), get_board("nrf52840"))
    assert measure(firmware.elf, firmware.board) == measure(firmware)
    with pytest.raises(ConfigError, match="needs the board"):
        measure(firmware.elf)
