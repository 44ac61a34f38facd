"""The built-in simulator's UART models and the per-function profile, without running code."""

import pytest

from tinybench.analysis.profile import FunctionMap, by_function, format_profile, profile
from tinybench.boards import get_board
from tinybench.simulators.iss import IDLE_POLLS, _Uart


class Stops:
    def __init__(self):
        self.count = 0

    def __call__(self):
        self.count += 1


def test_stm32_usart_feeds_input_collects_output_and_idles_when_input_is_exhausted():
    stop = Stops()
    uart = _Uart(get_board("stm32f746").uart, b"ab", stop)
    regs = uart.registers()
    isr = lambda: regs.read(None, 0x1C, 4, None)  # noqa: E731
    assert isr() & 0xE0 == 0xE0  # TXE, TC, RXNE
    assert regs.read(None, 0x24, 4, None) == ord("a")
    assert regs.read(None, 0x24, 4, None) == ord("b")
    regs.write(None, 0x28, 4, ord("x"), None)
    assert uart.output == b"x"
    for _ in range(IDLE_POLLS - 1):
        assert isr() == 0xC0
    assert stop.count == 0 and not uart.idle
    isr()
    assert stop.count == 1 and uart.idle


def test_transmitting_resets_the_idle_count():
    stop = Stops()
    regs = _Uart(get_board("stm32f746").uart, b"", stop).registers()
    for _ in range(3 * IDLE_POLLS):
        regs.read(None, 0x1C, 4, None)  # a TX-ready poll per byte sent
        regs.write(None, 0x28, 4, ord("."), None)
    assert stop.count == 0


def test_nrf_uart_events_follow_input_and_transmission():
    uart = _Uart(get_board("nrf52840").uart, b"z", Stops())
    regs = uart.registers()
    assert regs.read(None, 0x108, 4, None) == 1  # EVENTS_RXDRDY
    assert regs.read(None, 0x518, 4, None) == ord("z")
    assert regs.read(None, 0x108, 4, None) == 0
    regs.write(None, 0x11C, 4, 0, None)
    assert regs.read(None, 0x11C, 4, None) == 0
    regs.write(None, 0x51C, 4, ord("k"), None)  # TXD
    assert regs.read(None, 0x11C, 4, None) == 1  # EVENTS_TXDRDY
    assert uart.output == b"k"
    regs.write(None, 0x500, 4, 4, None)  # any other register reads back what was written
    assert regs.read(None, 0x500, 4, None) == 4


def test_profile_attributes_blocks_to_functions_and_ranks_them():
    functions = FunctionMap(starts=(0x100, 0x200), ends=(0x180, 0x240), names=("conv", "relu"))
    assert functions.name_at(0x17E) == "conv"
    assert functions.name_at(0x190) == "0x00000190"
    totals = by_function({0x100: (10, 30), 0x120: (5, 10), 0x200: (4, 10)}, functions)
    assert totals == {"conv": (15, 40), "relu": (4, 10)}
    rows = profile(totals)
    assert [r.name for r in rows] == ["conv", "relu"]
    assert rows[0].share == pytest.approx(0.8)
    assert "conv" in format_profile(rows, top=1) and "relu" not in format_profile(rows, top=1)
