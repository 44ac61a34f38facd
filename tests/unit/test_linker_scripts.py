"""The board linker scripts must describe the same memory as boards.toml."""

import itertools
import re

import pytest

from tinybench.boards import all_boards
from tinybench.firmware.build import board_dir


def _regions(text: str) -> dict[str, tuple[int, int]]:
    pattern = r"(\w+) \(\w+\) : ORIGIN = (0x[0-9A-Fa-f]+), LENGTH = (\d+)K"
    return {name: (int(o, 16), int(k) * 1024) for name, o, k in re.findall(pattern, text)}


@pytest.mark.parametrize("board", all_boards().values(), ids=lambda b: b.name)
def test_memory_ld_matches_boards_toml(board):
    regions = _regions((board_dir(board) / "memory.ld").read_text())
    assert regions["FLASH"] == (board.flash.origin, board.flash.size)
    ram = sorted(board.ram, key=lambda r: r.origin)
    assert all(a.end == b.origin for a, b in itertools.pairwise(ram)), "RAM not contiguous"
    assert regions["RAM"] == (ram[0].origin, board.ram_size)


@pytest.mark.parametrize("board", all_boards().values(), ids=lambda b: b.name)
def test_every_board_has_its_support_code(board):
    assert (board_dir(board) / "board.c").is_file()
