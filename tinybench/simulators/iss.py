"""The built-in simulator: the board's ELF on Unicorn, exact block counts, modelled cycles.

Memory is the board's real map (boards.toml): flash (read/execute), ITCM and every RAM block,
loaded from the ELF's PT_LOAD segments at their load addresses, so the startup code copies
.data itself. Unicorn does not reset through the vector table: SP and PC come from its first
two words. Devices modelled:
- the UART (STM32 USART1 or nRF52840 legacy UART0): TX collects output, RX feeds `uart_input`;
  polling the receive status with no input left, IDLE_POLLS times in a row, ends the run "idle";
- DWT CYCCNT (with DWT CTRL and DEMCR enables) and SysTick read the cycle model's count, so the
  firmware's own timing agrees with ours; each CYCCNT read records a Mark;
- SCB registers read back what was written (CPUID and the M7 cache geometry are fixed values),
  and on the STM32F746 the RCC/PWR ready flags follow their enable bits, so clock set-up works.
Every other peripheral address is plain memory: a read returns what was last written there.
Counting: every instruction of every translated block entered counts as executed, including
IT-block instructions whose condition fails (they take an issue slot on the core too). A Mark
holds the instructions and cycles before the instruction that read CYCCNT; a run that stops
at the idle poll counts up to, not including, that poll.
Faults (unmapped access, undefined instruction, a CPU exception, the firmware entering its
fault handler) and the instruction budget raise SimulationError naming the PC and function.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from tinybench.analysis.profile import FunctionMap, by_function
from tinybench.artifacts import Mark, SimResult
from tinybench.boards import Board
from tinybench.errors import SimulationError
from tinybench.simulators.cycles import CycleModel, Tally, disassembler
from tinybench.simulators.native import BUDGET, RUNNING, WATCHED, BlockCounter, unavailable

IDLE_POLLS = 8
PERIPHERALS = (0x40000000, 0x20000000)  # base, size: both boards' peripheral space
PPB = (0xE0000000, 0x100000)  # private peripheral bus: SCS, DWT, ...
DWT_PAGE, SCS_PAGE = 0xE0001000, 0xE000E000
PAGE = 0x1000

CPUID = {"cortex-m4": 0x410FC241, "cortex-m7": 0x410FC271}
M7_DCACHE_CCSIDR = 0xF003E019  # 4 KiB: 32 sets, 4 ways, 32-byte lines (SCB CCSIDR, offset 0xD80)
# Where each board's firmware turns its instruction cache on: (register, bit).
ICACHE_ENABLE = {"stm32f746": (0xE000ED14, 1 << 17), "nrf52840": (0x4001E540, 1)}
# STM32F746 ready flags that follow their enable bits: (read address, source address, mask,
# shift): RCC_CR HSI/HSE/PLL on → ready, RCC_CFGR SW → SWS, PWR_CR1 ODEN/ODSWEN → PWR_CSR1.
READY_BITS = {
    "stm32f746": (
        (0x40023800, 0x40023800, 0x01010001, 1),
        (0x40023808, 0x40023808, 0x3, 2),
        (0x40007004, 0x40007000, 0x30000, 0),
    ),
}


@dataclass
class _Registers:
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


class _Uart:
    """The host end of the board's UART: input to feed, output collected, idle detection."""

    def __init__(self, kind: str, data: bytes, stop: Callable[[], None]) -> None:
        self.kind, self.input, self.position, self.output = kind, data, 0, bytearray()
        self.stop, self.empty_polls, self.idle = stop, 0, False

    def receive_ready(self) -> bool:
        if self.position < len(self.input):
            self.empty_polls = 0
            return True
        self.empty_polls += 1
        if self.empty_polls >= IDLE_POLLS and not self.idle:
            self.idle = True
            self.stop()
        return False

    def receive(self) -> int:
        self.empty_polls = 0
        if self.position == len(self.input):
            return 0
        self.position += 1
        return self.input[self.position - 1]

    def send(self, value: int) -> None:
        self.empty_polls = 0
        self.output.append(value & 0xFF)

    def registers(self, base: int) -> _Registers:
        regs = _Registers(base)
        if self.kind == "stm32-usart":  # ISR: TXE, TC always set; RXNE while input is left
            regs.on_read[0x1C] = lambda: 0xC0 | (0x20 if self.receive_ready() else 0)
            regs.on_read[0x24] = self.receive
            regs.on_write[0x28] = self.send
        elif self.kind == "nrf-uart":  # events RXDRDY/TXDRDY, RXD, TXD
            regs.on_read[0x108] = lambda: int(self.receive_ready())
            regs.on_read[0x518] = self.receive

            def transmit(value: int) -> None:
                self.send(value)
                regs.values[0x11C] = 1  # EVENTS_TXDRDY

            regs.on_write[0x51C] = transmit
        else:
            raise SimulationError(f"the built-in simulator has no model of UART '{self.kind}'")
        return regs


class _Run:
    """One simulation: the machine, its devices and its counters."""

    def __init__(self, elf: Path, board: Board, uart_input: bytes, budget: int) -> None:
        from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc
        from unicorn.arm_const import UC_CPU_ARM_CORTEX_M4, UC_CPU_ARM_CORTEX_M7

        self.elf, self.board = elf, board
        self.functions = FunctionMap.from_elf(elf)
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        cpu = {"cortex-m4": UC_CPU_ARM_CORTEX_M4, "cortex-m7": UC_CPU_ARM_CORTEX_M7}
        self.uc.ctl_set_cpu_model(cpu[board.core])
        self.models = {on: CycleModel.for_board(board, icache=on) for on in (False, True)}
        self.tallies: dict[int, Tally] = {}
        self.order = np.zeros(0, np.int64)  # used table slots, in the order tallies know them
        self.marks: list[Mark] = []
        self.uart = _Uart(board.uart_kind, uart_input, self.uc.emu_stop)
        self.pages: dict[int, _Registers] = {}
        self.fault = ""
        self.accessed = 0  # the device address being accessed
        self.located = (-1, -1)  # (pass, memory operand) of the last access found in a block
        self._map_memory()
        sp, pc = self._load()
        self.entry = pc
        self.uc.reg_write(_reg("SP"), sp)
        self.counter = BlockCounter.attach(self.uc, budget, self._fault_handlers())
        self._hook_faults()

    # --- machine set-up -------------------------------------------------------------------
    def _map_memory(self) -> None:
        from unicorn import UC_PROT_ALL, UC_PROT_EXEC, UC_PROT_READ

        board, uc = self.board, self.uc
        uc.mem_map(board.flash.origin, board.flash.size, UC_PROT_READ | UC_PROT_EXEC)
        for region in (*board.ram, *([board.itcm] if board.itcm else [])):
            uc.mem_map(region.origin, region.size, UC_PROT_ALL)
        devices = [self.uart.registers(board.uart_base), self._dwt(), self._scs()]
        for read, source, mask, shift in READY_BITS.get(board.name, ()):
            page = self._page(devices, read & ~(PAGE - 1))
            src = self._page(devices, source & ~(PAGE - 1))
            page.on_read[read % PAGE] = _follow(page, read % PAGE, src, source % PAGE, mask, shift)
        for regs in devices:
            read, write = regs.read, regs.write
            if regs.base in (DWT_PAGE, SCS_PAGE):  # registers that read the time: note which
                read, write = self._noting(regs.base, read), self._noting(regs.base, write)
            uc.mmio_map(regs.base, PAGE, read, None, write, None)
            self.pages[regs.base] = regs
        for base, size in (PERIPHERALS, PPB):
            start = base
            for page in sorted(p for p in self.pages if base <= p < base + size):
                if page > start:
                    uc.mem_map(start, page - start, UC_PROT_ALL)
                start = page + PAGE
            uc.mem_map(start, base + size - start, UC_PROT_ALL)

    def _noting(self, base: int, handler: Callable) -> Callable:
        """`handler` of a device page, noting first the address the firmware accesses."""
        def access(uc, offset: int, *args):
            self.accessed = base + offset
            return handler(uc, offset, *args)
        return access

    @staticmethod
    def _page(devices: list[_Registers], base: int) -> _Registers:
        for regs in devices:
            if regs.base == base:
                return regs
        devices.append(_Registers(base))
        return devices[-1]

    def _load(self) -> tuple[int, int]:
        from elftools.elf.elffile import ELFFile
        from unicorn import UcError

        with self.elf.open("rb") as f:
            for segment in ELFFile(f).iter_segments():
                if segment["p_type"] != "PT_LOAD" or not segment["p_filesz"]:
                    continue
                try:
                    self.uc.mem_write(segment["p_paddr"], segment.data())
                except UcError as error:
                    raise SimulationError(
                        f"{self.elf.name}: a segment at 0x{segment['p_paddr']:08x} lies outside "
                        f"the memory of {self.board.name}; link it with this board's memory map"
                    ) from error
        vectors = bytes(self.uc.mem_read(self.board.flash.origin, 28))
        self.vectors = [int.from_bytes(vectors[i : i + 4], "little") for i in range(0, 28, 4)]
        if not self.vectors[1] & 1:
            raise SimulationError(
                f"{self.elf.name} has no vector table at 0x{self.board.flash.origin:08x} "
                "(the reset vector must be a Thumb address); is it built for this board?"
            )
        return self.vectors[0], self.vectors[1] & ~1

    def _fault_handlers(self) -> tuple[int, ...]:
        """NMI, HardFault, MemManage, BusFault and UsageFault entry points."""
        return tuple(dict.fromkeys(v & ~1 for v in self.vectors[2:7] if v))

    def _hook_faults(self) -> None:
        from unicorn import (
            UC_HOOK_INTR,
            UC_HOOK_MEM_INVALID,
            UC_MEM_FETCH_PROT,
            UC_MEM_FETCH_UNMAPPED,
        )

        fetches = (UC_MEM_FETCH_PROT, UC_MEM_FETCH_UNMAPPED)

        def invalid(uc, access, address, size, value, _) -> bool:
            kind = "fetch from" if access in fetches else "access to"
            self.fault = f"{kind} unmapped or protected address 0x{address:08x}"
            return False

        def interrupt(uc, intno, _) -> None:
            self.fault = f"CPU exception {intno}"
            uc.emu_stop()

        self.uc.hook_add(UC_HOOK_MEM_INVALID, invalid)
        self.uc.hook_add(UC_HOOK_INTR, interrupt)

    def _dwt(self) -> _Registers:
        regs = _Registers(DWT_PAGE)
        self.cyccnt = (0, 0)  # (value, model cycles) when last written or (en|dis)abled

        def count(cycles: int) -> int:
            value, since = self.cyccnt
            demcr = self.pages[SCS_PAGE].values.get(0xDFC, 0)
            running = regs.values.get(0, 0) & 1 and demcr & 1 << 24
            return value + cycles - since if running else value

        def read() -> int:
            instructions, cycles = self.now()
            self.marks.append(Mark(instructions, cycles))
            return count(cycles) & 0xFFFFFFFF

        def write(value: int) -> None:
            self.cyccnt = (value, self.now()[1])

        def enable_changes(_: int) -> None:
            cycles = self.now()[1]
            self.cyccnt = (count(cycles), cycles)

        regs.on_read[4] = read
        regs.on_write[4] = write
        regs.on_write[0] = self.cyccnt_enable_changes = enable_changes
        return regs

    def _scs(self) -> _Registers:
        regs = _Registers(SCS_PAGE)
        regs.on_read[0xD00] = lambda: CPUID[self.board.core]
        if self.board.core == "cortex-m7":
            regs.on_read[0xD80] = lambda: M7_DCACHE_CCSIDR
        regs.on_write[0xDFC] = self.cyccnt_enable_changes
        systick = {"start": 0, "wraps": 0}  # cycles when enabled, wraps seen by CSR reads

        def systick_state() -> tuple[int, int]:
            """(current value, wraps since enabled) of the 24-bit down-counter."""
            reload = regs.values.get(0x14, 0) & 0xFFFFFF
            elapsed = self.now()[1] - systick["start"]
            return reload - elapsed % (reload + 1), elapsed // (reload + 1)

        def systick_control(value: int) -> None:
            systick["start"], systick["wraps"] = self.now()[1], 0

        def systick_status() -> int:  # CSR, with COUNTFLAG (bit 16) set once per wrap
            csr = regs.values.get(0x10, 0) & ~(1 << 16)
            if not csr & 1:
                return csr
            wraps = systick_state()[1]
            wrapped, systick["wraps"] = wraps > systick["wraps"], wraps
            return csr | wrapped << 16

        def systick_value() -> int:
            if not regs.values.get(0x10, 0) & 1:
                return regs.values.get(0x18, 0)
            return systick_state()[0]

        regs.on_write[0x10] = systick_control
        regs.on_read[0x10] = systick_status
        regs.on_read[0x18] = systick_value
        return regs

    # --- counters -------------------------------------------------------------------------
    def read_memory(self, address: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(address, size))

    def model(self) -> CycleModel:
        """The cycle model for the instruction-cache state the firmware has set."""
        address, bit = ICACHE_ENABLE.get(self.board.name, (0, 0))
        page = self.pages.get(address & ~(PAGE - 1))
        if page is not None:
            value = page.values.get(address % PAGE, 0)
        else:
            value = int.from_bytes(self.read_memory(address, 4), "little") if bit else 0
        return self.models[bool(value & bit)]

    def _edges(self) -> list[tuple[int, int, int, int]]:
        edges = self.counter.edges()
        return list(zip(*(edges[k].tolist() for k in ("prev", "addr", "size", "count")),
                        strict=True))

    def _cycles(self) -> int:
        """The model's cycles for the counts so far (whole blocks), kept cheap for marks."""
        table, model = self.counter.table, self.model()
        if self.counter.state.used != len(self.order):
            new = np.setdiff1d(np.flatnonzero(table["size"]), self.order, assume_unique=True)
            self.order = np.concatenate([self.order, new])
        tally = self.tallies.setdefault(id(model), Tally(model, self.read_memory))
        known = len(tally.cycles)
        if known < len(self.order):
            rows = table[self.order[known:]]
            tally.extend(zip(*(rows[k].tolist() for k in ("prev", "addr", "size")), strict=True))
        return tally.total(table["count"][self.order])

    def _unfinished(self, pc: int) -> tuple[int, int, int]:
        """(block, instructions, cycles) of the current block not yet executed at `pc`."""
        state, model = self.counter.state, self.model()
        if not state.prev_size:
            return 0, 0, 0
        block = model.block(state.prev, state.prev_size, self.read_memory)
        if not block.address <= pc < block.address + block.size or pc not in block.addresses:
            return block.address, 0, 0
        done, cycles = block.before(pc)
        return block.address, block.instructions - done, block.cycles - cycles

    def now(self) -> tuple[int, int]:
        """(instructions, cycles) executed before the instruction making the device access."""
        _, instructions, cycles = self._unfinished(self._accessing())
        return self.counter.state.instructions - instructions, self._cycles() - cycles

    def _accessing(self) -> int:
        """The address of the instruction making the device access in progress.

        In a device callback Unicorn's PC is the start of the block, but the registers are
        current: the access is made by the block's first memory operand pointing at the
        address accessed, after the one found last in this pass through the block.
        """
        state, start = self.counter.state, self.uc.reg_read(_reg("PC"))
        if not state.prev_size:
            return start
        operands = _memory_operands(self.read_memory(state.prev, state.prev_size), state.prev)
        this_pass, last = self.located
        for index in range(last + 1 if this_pass == state.instructions else 0, len(operands)):
            pc, base, offset, disp, size = operands[index]
            address = self.uc.reg_read(base) + disp + (
                self.uc.reg_read(offset[0]) << offset[1] if offset else 0)
            if 0 <= self.accessed - (address & 0xFFFFFFFF) < size:
                self.located = (state.instructions, index)
                return pc
        return start

    # --- running --------------------------------------------------------------------------
    def execute(self) -> SimResult:
        from unicorn import UcError

        try:
            self.uc.emu_start(self.entry | 1, 0xFFFFFFFF)
        except UcError as error:
            self._raise(self.fault or _describe(error))
        status = self.counter.state.status
        if status == BUDGET:
            self._raise(
                f"timeout: the instruction budget of {self.counter.state.budget:,} ran out "
                "(raise max_instructions, or look for a hang)")
        if status == WATCHED:
            table = self.counter.table
            came_from = table["prev"][table["addr"] == self.counter.state.prev][:1].tolist()
            caller = self.functions.name_at(came_from[0]) if came_from else "reset"
            self._raise(f"HardFault: the firmware entered its fault handler from {caller}")
        if status != RUNNING:
            self._raise(f"block counter stopped with status {status}")
        if self.fault:
            self._raise(self.fault)
        if not self.uart.idle:
            self._raise("the run stopped without waiting for input")
        return self._result()

    def _result(self) -> SimResult:
        model = self.model()
        edges = self._edges()
        estimate = model.estimate(edges, self.read_memory)
        last, skipped_insns, skipped_cycles = self._unfinished(self.uc.reg_read(_reg("PC")))
        counts: dict[int, int] = {}
        sizes: dict[int, int] = {}
        for _, addr, size, count in edges:
            counts[addr] = counts.get(addr, 0) + count
            sizes[addr] = size
        blocks = {
            a: (count * model.block(a, sizes[a], self.read_memory).instructions,
                estimate.by_block.get(a, 0)) for a, count in counts.items()
        }
        instructions, cycles = blocks[last]
        blocks[last] = (instructions - skipped_insns, cycles - skipped_cycles)
        return SimResult(
            uart_output=bytes(self.uart.output),
            instructions=self.counter.state.instructions - skipped_insns,
            cycles=estimate.cycles - skipped_cycles,
            exit_reason="idle",
            marks=tuple(self.marks),
            functions=by_function(blocks, self.functions),
            blocks=counts,
        )

    def _raise(self, what: str) -> None:
        pc = self.uc.reg_read(_reg("PC"))
        tail = bytes(self.uart.output[-120:]).decode("ascii", "replace")
        raise SimulationError(
            f"{self.elf.name} on {self.board.name}: {what} at pc 0x{pc:08x} in "
            f"{self.functions.name_at(pc)} after {self.counter.state.instructions:,} "
            f"instructions; UART output ended with {tail!r}")


@lru_cache(maxsize=4096)
def _memory_operands(code: bytes, address: int) -> tuple[tuple, ...]:
    """(pc, base, (index, shift) or None, displacement, bytes) of each data access in a block,
    with Unicorn register ids; literal loads (PC-relative) never reach a device and are left out.
    """
    from capstone import arm_const

    cs = disassembler()
    out = []
    for insn in cs.disasm(code, address):
        for op in insn.operands:
            if op.type != arm_const.ARM_OP_MEM or op.mem.base == arm_const.ARM_REG_PC:
                continue
            index = op.mem.index and (_reg(cs.reg_name(op.mem.index).upper()), op.shift.value)
            registers = sum(o.type == arm_const.ARM_OP_REG for o in insn.operands)
            out.append((insn.address, _reg(cs.reg_name(op.mem.base).upper()), index or None,
                        op.mem.disp, 4 * max(1, registers)))
    return tuple(out)


def _follow(page, offset, source, source_offset, mask, shift) -> Callable[[], int]:
    """A read handler: the stored value plus the `mask` bits of `source` shifted into it."""
    return lambda: page.values.get(offset, 0) | (
        (source.values.get(source_offset, 0) & mask) << shift)


def _describe(error) -> str:
    """Unicorn's error in the words of a firmware developer."""
    from unicorn import unicorn_const as uc

    return {
        uc.UC_ERR_INSN_INVALID: "undefined instruction",
        uc.UC_ERR_READ_UNALIGNED: "unaligned read",
        uc.UC_ERR_WRITE_UNALIGNED: "unaligned write",
        uc.UC_ERR_FETCH_UNALIGNED: "unaligned instruction fetch",
        uc.UC_ERR_EXCEPTION: "unhandled CPU exception",
    }.get(error.errno, str(error))


def _reg(name: str) -> int:
    from unicorn import arm_const

    return getattr(arm_const, f"UC_ARM_REG_{name}")


class IssSimulator:
    """The built-in simulator (Unicorn + native block counts + the cycle model)."""

    name = "iss"

    def missing(self) -> str | None:
        for module in ("unicorn", "capstone"):
            if importlib.util.find_spec(module) is None:
                return f"the built-in simulator needs {module}: pip install tinybench"
        return unavailable()

    def run(self, elf: Path, board: Board, uart_input: bytes, max_instructions: int) -> SimResult:
        """Run `elf` until it idles waiting for input; faults and timeouts raise."""
        return _Run(Path(elf), board, uart_input, max_instructions).execute()
