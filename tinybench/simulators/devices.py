"""The devices of the built-in simulator, as register pages the machine maps (machine.py).

- Pages of device registers read back what was written, except the registers a device handles.
- The board's UART (its registers from boards.toml) is native code (uart.c, mapped by
  native.NativeUart); here is its host end. Polling the receive status with no input left,
  IDLE_POLLS times in a row, ends the run "idle".
- DWT CYCCNT (with DWT CTRL and DEMCR enables) and SysTick read the cycle model's count through
  `now`, so the firmware's own timing agrees with ours; each CYCCNT read records a Mark.
- SCB CPUID reads the core's value, CCSIDR the board's D-cache geometry, and the board's ready
  flags follow their enable bits, so clock set-up works.
Nothing here needs Unicorn: handlers take the arguments of Unicorn's MMIO callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tinybench import boards
from tinybench.artifacts import DataAccess, Mark

IDLE_POLLS = 8
PAGE = 0x1000
# ARMv7-M system addresses (ARMv7-M Architecture Reference Manual: B3.2 SCS, B3.3 SysTick,
# C1.8 DWT)
DWT_PAGE, SCS_PAGE = 0xE0001000, 0xE000E000  # DWT; System Control Space: SysTick, SCB
CYCCNT = DWT_PAGE + 4
SYST_CSR, SYST_RVR, SYST_CVR = 0x10, 0x14, 0x18  # offsets in the SCS page
CPUID, CCSIDR, DEMCR = 0xD00, 0xD80, 0xDFC


@dataclass
class Registers:
    """A page of device registers that reads back what was written, plus special cases."""

    base: int
    values: dict[int, int] = field(default_factory=dict)
    on_read: dict[int, Callable[[], int]] = field(default_factory=dict)
    on_write: dict[int, Callable[[int], None]] = field(default_factory=dict)

    def read(self, uc, offset: int, size: int, _) -> int:
        handler = self.on_read.get(offset)
        return handler() if handler else self.values.get(offset, 0)

    def write(self, uc, offset: int, size: int, value: int, _) -> None:
        handler = self.on_write.get(offset)
        if handler:
            handler(value)  # before the store: it may need the old value
        self.values[offset] = value


class Pages(dict[int, Registers]):
    """The device register pages, by base address."""

    def at(self, address: int) -> tuple[Registers, int]:
        """The page holding `address` (made if new) and the offset of `address` in it."""
        base = address & ~(PAGE - 1)
        return self.setdefault(base, Registers(base)), address - base


class Uart:
    """The host end of the board's UART (the device itself is native: uart.c): the input the
    firmware receives, what it sends (`output`), and whether it went idle."""

    def __init__(self, spec: boards.Uart, data: bytes) -> None:
        self.spec, self.input, self.output, self.idle = spec, data, bytearray(), False

    def more_input(self) -> bytes:
        """More input, asked for when the firmware has used all it had and is about to idle
        (nothing more: it idles)."""
        return b""


def attach_ready_flags(flags: tuple[boards.ReadyFlags, ...], pages: Pages) -> None:
    """Make each status register read its enable bits as ready flags."""
    for flag in flags:
        page, offset = pages.at(flag.address)
        source, source_offset = pages.at(flag.source)
        page.on_read[offset] = _follow(page, offset, source, source_offset, flag.mask, flag.shift)


def _follow(page: Registers, offset: int, source: Registers, source_offset: int, mask: int,
            shift: int) -> Callable[[], int]:
    """A read handler: the stored value plus the `mask` bits of `source` shifted into it."""
    return lambda: page.values.get(offset, 0) | (
        (source.values.get(source_offset, 0) & mask) << shift)


class SystemControl:
    """The core's DWT cycle counter, SysTick and SCB, timed by `now`: (instructions, cycles)
    executed before the instruction making the access; `data` gives the Flash data reads so
    far, for the marks; `on_mark` is called after each mark, for the simulator to note its
    counts there."""

    def __init__(self, board: boards.Board, pages: Pages,
                 now: Callable[[], tuple[int, int]],
                 data: Callable[[], DataAccess | None] = lambda: None,
                 on_mark: Callable[[], None] = lambda: None) -> None:
        self.now, self.data, self.on_mark = now, data, on_mark
        self.marks: list[Mark] = []
        self.dwt, _ = pages.at(DWT_PAGE)
        self.scs, _ = pages.at(SCS_PAGE)
        self.cyccnt = (0, 0)  # (value, model cycles) when last written or (en|dis)abled
        self.systick = (0, 0)  # (cycles when enabled, wraps seen by CSR reads)
        self.dwt.on_read[4] = self._read_cyccnt
        self.dwt.on_write[4] = self._write_cyccnt
        self.dwt.on_write[0] = self.scs.on_write[DEMCR] = self._enable_changes
        self.scs.on_read[CPUID] = lambda: board.core.cpuid
        if board.dcache and board.dcache.ccsidr is not None:
            self.scs.on_read[CCSIDR] = lambda: board.dcache.ccsidr
        self.scs.on_write[SYST_CSR] = self._systick_control
        self.scs.on_read[SYST_CSR] = self._systick_status
        self.scs.on_read[SYST_CVR] = self._systick_value

    # --- DWT CYCCNT -----------------------------------------------------------------------
    def _count(self, cycles: int) -> int:
        value, since = self.cyccnt
        running = self.dwt.values.get(0, 0) & 1 and self.scs.values.get(DEMCR, 0) & 1 << 24
        return value + cycles - since if running else value

    def _read_cyccnt(self) -> int:
        instructions, cycles = self.now()
        self.marks.append(Mark(instructions, cycles, self.data()))
        self.on_mark()
        return self._count(cycles) & 0xFFFFFFFF

    def _write_cyccnt(self, value: int) -> None:
        self.cyccnt = (value, self.now()[1])

    def _enable_changes(self, _: int) -> None:
        cycles = self.now()[1]
        self.cyccnt = (self._count(cycles), cycles)

    # --- SysTick: a 24-bit down-counter ---------------------------------------------------
    def _systick_state(self) -> tuple[int, int]:
        """(current value, wraps since enabled)."""
        reload = self.scs.values.get(SYST_RVR, 0) & 0xFFFFFF
        elapsed = self.now()[1] - self.systick[0]
        return reload - elapsed % (reload + 1), elapsed // (reload + 1)

    def _systick_control(self, value: int) -> None:
        self.systick = (self.now()[1], 0)

    def _systick_status(self) -> int:  # CSR, with COUNTFLAG (bit 16) set once per wrap
        csr = self.scs.values.get(SYST_CSR, 0) & ~(1 << 16)
        if not csr & 1:
            return csr
        wraps = self._systick_state()[1]
        wrapped = wraps > self.systick[1]
        self.systick = (self.systick[0], wraps)
        return csr | wrapped << 16

    def _systick_value(self) -> int:
        if not self.scs.values.get(SYST_CSR, 0) & 1:
            return self.scs.values.get(SYST_CVR, 0)
        return self._systick_state()[0]
