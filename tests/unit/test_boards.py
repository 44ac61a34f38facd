import itertools

import pytest

from tinybench.boards import all_boards, check_fit, get_board
from tinybench.errors import ConfigError, FitError


@pytest.mark.parametrize("board", all_boards().values(), ids=lambda b: b.name)
def test_board_entries_are_consistent(board):
    assert board.core in {"cortex-m4", "cortex-m7"}
    assert f"-mcpu={board.core}" in board.cflags
    assert board.flash.size == 1024 * 1024
    regions = sorted(board.ram, key=lambda r: r.origin)
    assert all(a.end <= b.origin for a, b in itertools.pairwise(regions))


def test_memory_maps_match_the_datasheets():
    assert get_board("stm32f746").ram_size == 320 * 1024
    assert get_board("nrf52840").ram_size == 256 * 1024


def test_unknown_board_suggests_a_name():
    with pytest.raises(ConfigError, match="Did you mean 'stm32f746'"):
        get_board("stm32f74")


def test_fit_check_names_both_numbers():
    board = get_board("nrf52840")
    with pytest.raises(FitError, match=r"needs 300\.0 KiB of RAM, nrf52840 has 256 KiB"):
        check_fit(board, flash_bytes=1000, ram_bytes=300 * 1024)
    check_fit(board, flash_bytes=board.flash.size, ram_bytes=board.ram_size)
