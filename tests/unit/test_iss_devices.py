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
from tinybench.simulators.native import OUTPUT_CAPACITY, NativeUart


class Registers:
    """The native UART of `board` with `data` to receive, on a Unicorn instance of its own,
    read and written as the firmware would (uart: its host end; device: the NativeUart)."""

    def __init__(self, board: str, data: bytes, uart: Uart | None = None) -> None:
        from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc

        self.base = get_board(board).uart.base
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self.uart = uart or Uart(get_board(board).uart, data)
        self.device = NativeUart(self.uc, self.uart)

    def read(self, offset: int) -> int:
        return int.from_bytes(self.uc.mem_read(self.base + offset, 4), "little")

    def write(self, offset: int, value: int) -> None:
        self.uc.mem_write(self.base + offset, value.to_bytes(4, "little"))
        self.device.sync()


def test_stm32_usart_feeds_input_collects_output_and_idles_when_input_is_exhausted():
    regs = Registers("stm32f746", b"ab")
    assert regs.read(0x1C) & 0xE0 == 0xE0  # TXE, TC, RXNE
    assert regs.read(0x24) == ord("a")
    assert regs.read(0x24) == ord("b")
    regs.write(0x28, ord("x"))
    assert regs.uart.output == b"x"
    for _ in range(IDLE_POLLS - 1):
        assert regs.read(0x1C) == 0xC0
    regs.device.sync()
    assert not regs.uart.idle
    regs.read(0x1C)
    regs.device.sync()
    assert regs.uart.idle


def test_transmitting_resets_the_idle_count():
    regs = Registers("stm32f746", b"")
    for _ in range(3 * IDLE_POLLS):
        regs.read(0x1C)  # a TX-ready poll per byte sent
        regs.write(0x28, ord("."))
    assert not regs.uart.idle and regs.uart.output == b"." * 3 * IDLE_POLLS


def test_the_host_end_is_asked_for_more_input_once_before_the_uart_idles():
    class Replying(Uart):
        def __init__(self):
            super().__init__(get_board("stm32f746").uart, b"")
            self.asked = []

        def more_input(self) -> bytes:
            self.asked.append(bytes(self.output))
            return b"" if len(self.asked) > 1 else b"r"

    regs = Registers("stm32f746", b"", Replying())
    regs.write(0x28, ord("?"))
    for _ in range(IDLE_POLLS - 1):
        assert regs.read(0x1C) == 0xC0
    assert regs.read(0x1C) == 0xE0 and regs.read(0x24) == ord("r")
    assert regs.uart.asked == [b"?"]  # it saw the output first
    for _ in range(IDLE_POLLS):
        regs.read(0x1C)
    regs.device.sync()
    assert regs.uart.idle and len(regs.uart.asked) == 2


def test_output_beyond_the_native_buffer_is_kept_whole():
    regs = Registers("nrf52840", b"")
    for i in range(OUTPUT_CAPACITY + 10):
        regs.uc.mem_write(regs.base + 0x51C, (i % 251).to_bytes(4, "little"))
    regs.device.sync()
    assert bytes(regs.uart.output) == bytes(i % 251 for i in range(OUTPUT_CAPACITY + 10))


def test_an_error_in_the_host_end_is_raised_after_the_run():
    class Broken(Uart):
        def more_input(self) -> bytes:
            raise OSError("the terminal went away")

    regs = Registers("stm32f746", b"", Broken(get_board("stm32f746").uart, b""))
    for _ in range(IDLE_POLLS):
        regs.read(0x1C)
    with pytest.raises(OSError, match="went away"):
        regs.device.sync()


def test_nrf_uart_events_follow_input_and_transmission():
    regs = Registers("nrf52840", b"z")
    assert regs.read(0x108) == 1  # EVENTS_RXDRDY
    assert regs.read(0x518) == ord("z")
    assert regs.read(0x108) == 0
    regs.write(0x11C, 0)
    assert regs.read(0x11C) == 0
    regs.write(0x51C, ord("k"))  # TXD
    assert regs.read(0x11C) == 1  # EVENTS_TXDRDY
    assert regs.uart.output == b"k"
    regs.write(0x500, 4)  # any other register reads back what was written
    assert regs.read(0x500) == 4


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
