"""The firmware's linker memory regions are written from boards.toml."""

import dataclasses
import re

import pytest

from tinybench.boards import Region, all_boards, get_board
from tinybench.errors import ConfigError
from tinybench.firmware.build import FIRMWARE, board_dir, linker_memory


def _regions(text: str) -> dict[str, tuple[int, int]]:
    pattern = r"(\w+) \(\w+\) : ORIGIN = (0x[0-9A-Fa-f]+), LENGTH = (0x[0-9A-Fa-f]+)"
    return {name: (int(o, 16), int(n, 16)) for name, o, n in re.findall(pattern, text)}


@pytest.mark.parametrize("board", all_boards().values(), ids=lambda b: b.name)
def test_the_linker_regions_are_the_boards_flash_and_ram(board):
    text = linker_memory(board)
    ram = min(board.ram, key=lambda r: r.origin)
    assert _regions(text) == {"FLASH": (board.flash.origin, board.flash.size),
                              "RAM": (ram.origin, board.ram_size)}
    assert "INCLUDE sections.ld" in text
    assert not (board_dir(board) / "memory.ld").exists()  # no second copy to drift


def test_the_sections_script_uses_the_generated_regions():
    sections = (FIRMWARE / "common" / "sections.ld").read_text()
    assert "> FLASH" in sections and "> RAM" in sections
    assert not re.search(r"^\s*MEMORY\b", sections, re.M)  # the regions are the board's


def test_ram_with_a_gap_is_refused():
    board = get_board("stm32f746")
    gap = dataclasses.replace(board, ram=(Region("A", 0x20000000, 0x1000),
                                          Region("B", 0x20002000, 0x1000)))
    with pytest.raises(ConfigError, match="RAM blocks A and B are not contiguous"):
        linker_memory(gap)
