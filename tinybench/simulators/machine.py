"""The built-in simulator's machine: a board's ELF on Unicorn, its devices, exact block counts.

Memory is the board's real map (boards.toml): flash (read/execute), ITCM and every RAM block,
loaded from the ELF's PT_LOAD segments at their load addresses, so the startup code copies
.data itself. Unicorn does not reset through the vector table: SP and PC come from its first
two words. The devices (devices.py) are mapped as register pages; every other address of the
peripheral space and the private peripheral bus is plain memory: a read returns what was last
written there.
Data reads from Flash go through the board's data cache model in the native hook
(native.py, cycles.FlashDataTiming); the firmware's write of the cache's enable bit turns it on
or off there, and the stalls it charges are part of every cycle count, marks included.
Counting: every instruction of every translated block entered counts as executed, including
IT-block instructions whose condition fails (they take an issue slot on the core too). A Mark
holds the instructions and cycles before the instruction that read CYCCNT; a run that stops
at the idle poll counts up to, not including, that poll. The function profile between two
marks is the difference of the profiles up to each: it counts the blocks entered between them
whole (the one reading CYCCNT goes with the earlier stretch), and like the marks' cycles it
charges a branch site the mispredicts its counts so far add.
Faults (unmapped access, undefined instruction, a CPU exception, the firmware entering its
fault handler) and the instruction budget raise SimulationError naming the PC and function.
Ctrl-C stops the emulation and raises KeyboardInterrupt once Unicorn has returned: raised
inside one of its callbacks, it would be swallowed and the run would go on.
"""

from __future__ import annotations

import gc
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np

from tinybench.analysis.profile import FunctionMap, by_function, stretches
from tinybench.artifacts import DataAccess, SimResult
from tinybench.boards import Board
from tinybench.errors import SimulationError
from tinybench.paths import content_hash
from tinybench.simulators.cycles import CycleModel, FlashDataTiming, Tally, disassembler
from tinybench.simulators.devices import (
    DWT_PAGE,
    PAGE,
    SCS_PAGE,
    Pages,
    SystemControl,
    Uart,
    attach_ready_flags,
)
from tinybench.simulators.native import (
    BUDGET,
    RUNNING,
    WATCHED,
    BlockCounter,
    NativeUart,
    map_flash,
)

# ARMv7-M address map (ARMv7-M Architecture Reference Manual B3.1): base, size
PERIPHERALS = (0x40000000, 0x20000000)
PPB = (0xE0000000, 0x100000)  # private peripheral bus: SCS, DWT, ...


class Machine:
    """One run of `elf` on `board`: Unicorn, the devices, the block counter and the cycle model.

    `uart` is the UART's host end (devices.Uart, or a subclass that talks to a terminal);
    `budget` caps the instructions; without `data_side` Flash data reads are not charged (what
    Renode models); with `functions_between_marks` the result splits the function profile at
    the marks; a `bare` machine has no native hooks (run_bare). `run()`
    runs to the idle UART poll; `uc` is the Unicorn engine, for extra hooks.
    """

    def __init__(self, elf: Path, board: Board, uart: Uart, budget: int,
                 data_side: bool = True, bare: bool = False,
                 functions_between_marks: bool = False) -> None:
        from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc, arm_const

        self.elf, self.board, self.uart = Path(elf), board, uart
        firmware = content_hash(self.elf)  # sessions of one firmware share what its code gives
        self.functions = FunctionMap.from_elf(self.elf, firmware)
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(getattr(arm_const, board.core.unicorn_model))
        self.models = {on: CycleModel.for_board(board, on, firmware) for on in (False, True)}
        self.tallies: dict[int, Tally] = {}
        self.order = np.zeros(0, np.int64)  # used table slots, in the order tallies know them
        self.pages = Pages()
        self.fault = ""
        self.accessed = 0  # the device address being accessed
        self.located = (-1, -1)  # (pass, memory operand) of the last access found in a block
        self.data_side = data_side
        # (table slots used, their counts, their data stalls) at each mark; None: not kept
        self.at_marks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = (
            [] if functions_between_marks else None)
        self.system = SystemControl(board, self.pages, self.now, self._data, self._note_counts)
        attach_ready_flags(board.ready_flags, self.pages)
        self._follow_data_cache()
        self._map_memory()
        sp, pc = self._load()
        self.entry = pc
        self.uc.reg_write(_reg("SP"), sp)
        self.counter = BlockCounter.attach(self.uc, budget, self._fault_handlers(),
                                           FlashDataTiming.for_board(board) if data_side
                                           else None, self.flash, hooks=not bare)
        self._hook_faults()

    # --- machine set-up -------------------------------------------------------------------
    def _map_memory(self) -> None:
        from unicorn import UC_PROT_ALL

        board, uc = self.board, self.uc
        self.flash = map_flash(uc, board.flash.origin, board.flash.size)
        for region in (*board.ram, *([board.itcm] if board.itcm else [])):
            uc.mem_map(region.origin, region.size, UC_PROT_ALL)
        for regs in self.pages.values():
            read, write = regs.read, regs.write
            if regs.base in (DWT_PAGE, SCS_PAGE):  # registers that read the time: note which
                read, write = self._noting(regs.base, read), self._noting(regs.base, write)
            uc.mmio_map(regs.base, PAGE, read, None, write, None)
        devices = {*self.pages, board.uart.base}
        if len(devices) == len(self.pages):
            raise ValueError(f"{board.name}: the UART's page at 0x{board.uart.base:08x} is also "
                             "another device's")
        self.native_uart = NativeUart(uc, self.uart)
        for base, size in (PERIPHERALS, PPB):
            start = base
            for page in sorted(p for p in devices if base <= p < base + size):
                if page > start:
                    uc.mem_map(start, page - start, UC_PROT_ALL)
                start = page + PAGE
            uc.mem_map(start, base + size - start, UC_PROT_ALL)

    def _follow_data_cache(self) -> None:
        """Turn the data cache model on and off as the firmware writes the cache's enable bit."""
        cache = self.board.dcache
        if cache is None or cache.enable_register is None:
            return
        page, offset = self.pages.at(cache.enable_register)
        page.on_write[offset] = lambda value: self.counter.set_data_cache(
            bool(value >> cache.enable_bit & 1))

    def _noting(self, base: int, handler: Callable) -> Callable:
        """`handler` of a device page, noting first the address the firmware accesses."""
        def access(uc, offset: int, *args):
            self.accessed = base + offset
            return handler(uc, offset, *args)
        return access

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

    # --- counters -------------------------------------------------------------------------
    def read_memory(self, address: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(address, size))

    def model(self) -> CycleModel:
        """The cycle model for the instruction-cache state the firmware has set."""
        icache = self.board.icache
        if icache is None or icache.enable_register is None:
            return self.models[False]
        address = icache.enable_register
        page = self.pages.get(address & ~(PAGE - 1))
        if page is not None:
            value = page.values.get(address % PAGE, 0)
        else:
            value = int.from_bytes(self.read_memory(address, 4), "little")
        return self.models[bool(value & 1 << icache.enable_bit)]

    def _data(self) -> DataAccess | None:
        """The Flash data reads so far; None when they are not charged."""
        return self.counter.data() if self.data_side else None

    def _note_counts(self) -> None:
        """Keep the table slots used, their counts and data stalls at a mark (after `now`
        has brought `order` up to date), when the function profile is split at the marks."""
        if self.at_marks is None:
            return
        table = self.counter.table
        self.at_marks.append((self.order.copy(), table["count"][self.order],
                              table["stall"][self.order]))

    def _functions_between_marks(self, model: CycleModel) -> tuple[dict[str, tuple[int, int]],
                                                                   ...]:
        """The function profile of the blocks entered before the first mark, between each two
        marks and after the last; () when not asked for."""
        if self.at_marks is None:
            return ()
        table = self.counter.table
        slots = np.flatnonzero(table["size"])
        so_far = []
        for used, counts, stalls in (*self.at_marks,
                                     (slots, table["count"][slots], table["stall"][slots])):
            edges = list(zip(*(table[k][used].tolist() for k in ("prev", "addr", "size")),
                             counts.tolist(), strict=True))
            blocks = model.blocks(edges, self.read_memory, stalls.tolist())
            so_far.append(by_function(blocks, self.functions))
        return stretches(so_far)

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
        return tally.total(table["count"][self.order]) + self.counter.state.dcache.stall

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
    def run(self) -> SimResult:
        """Run until the firmware idles waiting for input; faults and timeouts raise."""
        from unicorn import UcError

        failure = None
        with ctrl_c_stops(self.stop), collector_paused():
            try:
                self.uc.emu_start(self.entry | 1, 0xFFFFFFFF)
            except UcError as error:
                failure = error
        self.native_uart.sync()
        if failure is not None:
            self._raise(self.fault or _describe(failure))
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
        with collector_paused():
            return self._result()

    def run_bare(self) -> None:
        """Run a `bare` machine on Unicorn alone: nothing is counted or checked (CYCCNT reads
        0). It shows what counting costs (bench.py)."""
        if self.counter.handles:
            raise ValueError("run_bare needs a machine made with bare=True")
        with ctrl_c_stops(self.stop):
            self.uc.emu_start(self.entry | 1, 0xFFFFFFFF)
        self.native_uart.sync()

    def stop(self) -> None:
        """Stop the run at the next block (from a device handler or another thread)."""
        self.uc.emu_stop()

    def _result(self) -> SimResult:
        model = self.model()
        edges = self._edges()
        estimate = model.estimate(edges, self.read_memory)
        last, skipped_insns, skipped_cycles = self._unfinished(self.uc.reg_read(_reg("PC")))
        counts: dict[int, int] = {}
        sizes: dict[int, int] = {}
        stalls: dict[int, int] = {}
        table = self.counter.edges()
        for (_, addr, size, count), stall in zip(edges, table["stall"].tolist(), strict=True):
            counts[addr] = counts.get(addr, 0) + count
            sizes[addr] = size
            stalls[addr] = stalls.get(addr, 0) + stall
        blocks = {
            a: (count * model.block(a, sizes[a], self.read_memory).instructions,
                estimate.by_block.get(a, 0) + stalls[a]) for a, count in counts.items()
        }
        instructions, cycles = blocks[last]
        blocks[last] = (instructions - skipped_insns, cycles - skipped_cycles)
        return SimResult(
            uart_output=bytes(self.uart.output),
            instructions=self.counter.state.instructions - skipped_insns,
            cycles=estimate.cycles - skipped_cycles + self.counter.state.dcache.stall,
            data=self._data(),
            exit_reason="idle",
            marks=tuple(self.system.marks),
            functions=by_function(blocks, self.functions),
            blocks=counts,
            functions_between_marks=self._functions_between_marks(model),
        )

    def _raise(self, what: str) -> None:
        pc = self.uc.reg_read(_reg("PC"))
        tail = bytes(self.uart.output[-120:]).decode("ascii", "replace")
        raise SimulationError(
            f"{self.elf.name} on {self.board.name}: {what} at pc 0x{pc:08x} in "
            f"{self.functions.name_at(pc)} after {self.counter.state.instructions:,} "
            f"instructions; UART output ended with {tail!r}")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a while: the block timings a run decodes are some
    100,000 long-lived objects that every full collection would walk again (about a tenth of
    a run's time), and they form no cycles to collect."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def ctrl_c_stops(stop: Callable[[], None]) -> Iterator[None]:
    """While Unicorn runs, let Ctrl-C call `stop`; raise KeyboardInterrupt after the block.

    Only where a Python Ctrl-C handler is active (the main thread, SIGINT not ignored).
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    interrupted = []

    def handler(signum: int, frame: object) -> None:
        interrupted.append(signum)
        stop()

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        raise KeyboardInterrupt


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
