"""Contract of the board data: every board in boards.toml is complete and consistent."""

import itertools
import re
import string

import pytest

from tinybench.boards import DATA, Board, all_boards, check_fit, get_board, load_boards
from tinybench.errors import ConfigError, FitError
from tinybench.firmware.build import board_dir
from tinybench.paths import shipped
from tinybench.simulators.cycles import CORE_TIMINGS
from tinybench.simulators.machine import PERIPHERALS, PPB

BOARDS = pytest.mark.parametrize("board", all_boards().values(), ids=lambda b: b.name)
PLACEHOLDERS = {"elf", "bin", "hex", "origin"}


def _inside(address: int, space: tuple[int, int]) -> bool:
    return space[0] <= address < space[0] + space[1]


@BOARDS
def test_the_core_is_known_to_the_compiler_and_the_simulators(board: Board):
    from unicorn import arm_const

    assert f"-mcpu={board.core.name}" in board.cflags
    assert board.core.name in CORE_TIMINGS
    assert hasattr(arm_const, board.core.unicorn_model)


@BOARDS
def test_memory_regions_do_not_overlap_and_are_memory(board: Board):
    regions = sorted((board.flash, *board.ram, *([board.itcm] if board.itcm else [])),
                     key=lambda r: r.origin)
    assert all(a.end <= b.origin for a, b in itertools.pairwise(regions))
    for region in regions:
        assert region.size > 0 and region.end <= PERIPHERALS[0], region.name


@BOARDS
def test_device_registers_lie_in_the_peripheral_space(board: Board):
    uart = board.uart
    offsets = [uart.status, uart.rx, uart.tx, *([uart.tx_done] if uart.tx_done else [])]
    assert len(set(offsets)) == len(offsets)
    assert all(_inside(uart.base + offset, PERIPHERALS) for offset in offsets)
    assert uart.rx_ready and not uart.rx_ready & uart.tx_ready
    for flag in board.ready_flags:
        assert _inside(flag.address, PERIPHERALS) and _inside(flag.source, PERIPHERALS)
    for cache in (board.icache, board.dcache):
        if cache and cache.enable_register is not None:
            assert any(_inside(cache.enable_register, s) for s in (PERIPHERALS, PPB))
            assert 0 <= cache.enable_bit < 32


@BOARDS
def test_flash_tools_are_listed_with_known_placeholders(board: Board):
    assert board.flashers
    assert len({f.tool for f in board.flashers}) == len(board.flashers)
    for flasher in board.flashers:
        assert flasher.argv[0] == flasher.tool
        fields = {name for arg in flasher.argv for _, name, _, _ in string.Formatter().parse(arg)
                  if name}
        assert fields <= PLACEHOLDERS


@BOARDS
def test_every_board_has_its_support_code(board: Board):
    assert (board_dir(board) / "board.c").is_file()


def _platform(text: str) -> dict[str, tuple[str, int | None, dict[str, str]]]:
    """Renode .repl entries: name → (type, address, properties)."""
    entries = {}
    for block in re.split(r"\n(?=\S)", text):
        head = re.match(r"(\w+): ([\w.]+) @ sysbus(?: (0x[0-9A-Fa-f]+))?", block)
        if head:
            properties = dict(re.findall(r"^\s+(\w+): (.+)$", block, re.M))
            address = int(head[3], 16) if head[3] else None
            entries[head[1]] = (head[2], address, properties)
    return entries


@BOARDS
def test_the_renode_platform_describes_the_board(board: Board):
    if board.renode_platform is None:
        pytest.skip(f"{board.name} has no Renode platform")
    text = (shipped("renode") / board.renode_platform).read_text()
    assert "ApplySVD" not in text and "http" not in text  # offline
    entries = _platform(text)
    memories = {(address, int(props["size"], 16))
                for kind, address, props in entries.values() if kind == "Memory.MappedMemory"}
    regions = (board.flash, *board.ram, *([board.itcm] if board.itcm else []))
    assert memories == {(r.origin, r.size) for r in regions}
    assert entries["cpu"][2]["cpuType"].strip('"').startswith(board.core.name)
    assert entries["nvic"][2]["systickFrequency"] == str(board.clock_hz)
    assert entries["dwt"][:2] == ("Miscellaneous.DWT", 0xE0001000)
    assert entries["dwt"][2]["frequency"] == str(board.clock_hz)
    assert entries["uart"][0].startswith("UART.") and entries["uart"][1] == board.uart.base


def test_memory_maps_match_the_datasheets():
    assert get_board("stm32f746").ram_size == 320 * 1024
    assert get_board("nrf52840").ram_size == 256 * 1024
    assert get_board("nucleo-l4r5zi").ram_size == 640 * 1024


@BOARDS
def test_a_data_cache_geometry_is_whole_and_agrees_with_ccsidr(board: Board):
    cache = board.dcache
    if cache is None:
        pytest.skip(f"{board.name} has no data cache")
    assert cache.size % (cache.line * cache.ways) == 0
    assert cache.line % board.flash.read_bytes == 0 or board.flash.read_bytes % cache.line == 0
    if cache.ccsidr is not None:  # ARMv7-M CCSIDR: LineSize, Associativity, NumSets
        line = 1 << (cache.ccsidr & 7) + 4  # bytes: 2^(field + 2) words
        ways = (cache.ccsidr >> 3 & 0x3FF) + 1
        sets = (cache.ccsidr >> 13 & 0x7FFF) + 1
        assert (line, ways, sets * ways * line) == (cache.line, cache.ways, cache.size)


def test_unknown_board_suggests_a_name():
    with pytest.raises(ConfigError, match="Did you mean 'stm32f746'"):
        get_board("stm32f74")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('kind = "nrf-uart"', 'kind = "pl011"'),
         r"board 'nrf52840' names uart 'pl011', which \[uarts\] does not define"),
        (('core = "cortex-m4"', 'core = "cortex-m0"'),
         r"board 'nrf52840' names core 'cortex-m0', which \[cores\] does not define"),
        (("clock_hz = 64_000_000", ""), r"board 'nrf52840' lacks clock_hz"),
        (("renode_platform = \"nrf52840.repl\"", "renode_platfrom = \"nrf52840.repl\""),
         r"unknown key 'renode_platfrom'; did you mean 'renode_platform'\?"),
    ],
)
def test_a_wrong_board_entry_is_refused_in_one_line(edit, message):
    text = DATA.read_text()
    assert edit[0] in text
    with pytest.raises(ConfigError, match=message):
        load_boards(text.replace(edit[0], edit[1]))


def test_fit_check_names_both_numbers():
    board = get_board("nrf52840")
    with pytest.raises(FitError, match=r"needs 300\.0 KiB of RAM, nrf52840 has 256 KiB"):
        check_fit(board, flash_bytes=1000, ram_bytes=300 * 1024)
    check_fit(board, flash_bytes=board.flash.size, ram_bytes=board.ram_size)
