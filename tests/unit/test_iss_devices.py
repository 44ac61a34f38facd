"""The built-in simulator's device models and the per-function profile, without running code."""

import pytest

from tinybench.analysis.profile import (
    FunctionMap,
    _cxa_demangle,
    by_function,
    format_profile,
    profile,
    short_name,
    stretches,
)
from tinybench.boards import get_board
from tinybench.simulators.devices import (
    IDLE_POLLS,
    SCS_PAGE,
    Pages,
    SystemControl,
    Uart,
    attach_ready_flags,
)


class Stops:
    def __init__(self):
        self.count = 0

    def __call__(self):
        self.count += 1


def uart_registers(board: str, data: bytes, stop: Stops):
    """The UART of `board` with `data` to receive, and the register page it answers in."""
    uart = Uart(get_board(board).uart, data)
    uart.stop = stop
    pages = Pages()
    uart.attach(pages)
    assert list(pages) == [get_board(board).uart.base]
    return uart, pages[get_board(board).uart.base]


def test_stm32_usart_feeds_input_collects_output_and_idles_when_input_is_exhausted():
    stop = Stops()
    uart, regs = uart_registers("stm32f746", b"ab", stop)
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
    _, regs = uart_registers("stm32f746", b"", stop)
    for _ in range(3 * IDLE_POLLS):
        regs.read(None, 0x1C, 4, None)  # a TX-ready poll per byte sent
        regs.write(None, 0x28, 4, ord("."), None)
    assert stop.count == 0


def test_nrf_uart_events_follow_input_and_transmission():
    uart, regs = uart_registers("nrf52840", b"z", Stops())
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


def test_stm32_clock_ready_flags_follow_their_enable_bits():
    pages = Pages()
    attach_ready_flags(get_board("stm32f746").ready_flags, pages)
    rcc, pwr = pages[0x40023000], pages[0x40007000]
    rcc.write(None, 0x800, 4, 1 << 16 | 1 << 24, None)  # RCC_CR: HSEON, PLLON
    assert rcc.read(None, 0x800, 4, None) == 0b11 << 16 | 0b11 << 24  # ... and HSERDY, PLLRDY
    rcc.write(None, 0x808, 4, 2, None)  # RCC_CFGR: SW = PLL
    assert rcc.read(None, 0x808, 4, None) == 2 | 2 << 2  # SWS = PLL
    pwr.write(None, 0, 4, 1 << 16, None)  # PWR_CR1: ODEN
    assert pwr.read(None, 4, 4, None) == 1 << 16  # PWR_CSR1: ODRDY


@pytest.mark.parametrize("board", ["stm32f746", "nrf52840"])
def test_the_scb_reads_the_core_and_cache_of_the_board(board):
    pages = Pages()
    SystemControl(get_board(board), pages, now=lambda: (0, 0))
    scs = pages[SCS_PAGE]
    assert scs.read(None, 0xD00, 4, None) == get_board(board).core.cpuid
    dcache = get_board(board).dcache
    assert scs.read(None, 0xD80, 4, None) == (dcache.ccsidr if dcache else 0)


def test_the_cycle_counter_runs_only_when_enabled_and_marks_each_read():
    cycles = [100]
    pages = Pages()
    system = SystemControl(get_board("nrf52840"), pages, now=lambda: (7, cycles[0]))
    dwt, scs = pages[0xE0001000], pages[SCS_PAGE]
    assert dwt.read(None, 4, 4, None) == 0
    scs.write(None, 0xDFC, 4, 1 << 24, None)  # DEMCR.TRCENA
    dwt.write(None, 0, 4, 1, None)  # DWT_CTRL.CYCCNTENA at cycle 100
    cycles[0] = 350
    assert dwt.read(None, 4, 4, None) == 250
    assert [(m.instructions, m.cycles) for m in system.marks] == [(7, 100), (7, 350)]


@pytest.mark.skipif(_cxa_demangle() is None, reason="no C++ runtime to demangle with")
@pytest.mark.parametrize(("symbol", "name"), [
    ("arm_nn_mat_mult_kernel_s8_s16", "arm_nn_mat_mult_kernel_s8_s16"),
    ("_ZN6tflite12_GLOBAL__N_18ConvEvalEP13TfLiteContextP10TfLiteNode", "ConvEval"),
    ("_ZN6tflite21reference_integer_ops14FullyConnectedIaaalEEvRKNS_20FullyConnectedParamsERKNS"
     "_12RuntimeShapeEPKT_S7_PKT0_S7_PKT2_S7_PT1_.isra.0", "FullyConnected"),
    ("_ZN8gemmlowp22exp_on_negative_valuesIlLi5EEENS_10FixedPointIT_Li0EEENS1_IS2_XT0_EEE",
     "exp_on_negative_values"),
    ("_Znot_mangled", "_Znot_mangled"),
])
def test_short_names_are_what_a_developer_calls_the_function(symbol, name):
    assert short_name(symbol) == name


def test_a_stretch_of_a_run_has_what_its_end_adds_to_its_start():
    so_far = [{"init": (5, 9)},
              {"init": (5, 9), "conv": (10, 40), "mark": (1, 1)},
              {"init": (5, 9), "conv": (10, 40), "mark": (2, 2), "fc": (3, 3)}]
    assert stretches(so_far) == ({"init": (5, 9)}, {"conv": (10, 40), "mark": (1, 1)},
                                 {"mark": (1, 1), "fc": (3, 3)})


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
