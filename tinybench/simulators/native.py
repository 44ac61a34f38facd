"""The native hooks, built with the host `cc` and attached via ctypes: block-edge counts and
Flash data-read stalls (blockcount.c), and the board's UART (uart.c)."""

from __future__ import annotations

import ctypes
import os
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from tinybench import _cmd
from tinybench.artifacts import DataAccess
from tinybench.paths import cache_dir, content_hash, intact, locked, seal
from tinybench.simulators.cycles import FlashDataTiming
from tinybench.simulators.devices import IDLE_POLLS, PAGE, Uart

COUNTER_SOURCE = Path(__file__).with_name("blockcount.c")  # what the cycle model depends on
SOURCES = (COUNTER_SOURCE, Path(__file__).with_name("uart.c"))
NO_BLOCK = 1  # matches blockcount.c
RUNNING, BUDGET, WATCHED, TABLE_FULL, READ_FAILED = range(5)
MAX_WATCH = 8
MAX_LINES = 512
FLASH_ALIAS = 1 << 32  # where the I/O alias of Flash data reads sits: beyond the core's reach

EDGE = np.dtype(
    [("prev", "<u4"), ("addr", "<u4"), ("size", "<u4"), ("insns", "<u4"), ("count", "<u8"),
     ("stall", "<u8")]
)


class _DataCache(ctypes.Structure):
    _fields_ = [  # mirrors tb_dcache in blockcount.c
        ("reads", ctypes.c_uint64),
        ("hits", ctypes.c_uint64),
        ("stall", ctypes.c_uint64),
        ("on", ctypes.c_uint32),
        ("sets", ctypes.c_uint32),
        ("ways", ctypes.c_uint32),
        ("line_shift", ctypes.c_uint32),
        ("read_shift", ctypes.c_uint32),
        ("miss_stall", ctypes.c_uint32),
        ("uncached_stall", ctypes.c_uint32),
        ("lines", ctypes.c_uint32 * MAX_LINES),
    ]


class _State(ctypes.Structure):
    _fields_ = [  # mirrors tb_state in blockcount.c
        ("table", ctypes.c_void_p),
        ("mask", ctypes.c_uint64),
        ("used", ctypes.c_uint64),
        ("limit", ctypes.c_uint64),
        ("instructions", ctypes.c_uint64),
        ("budget", ctypes.c_uint64),
        ("prev", ctypes.c_uint32),
        ("prev_size", ctypes.c_uint32),
        ("status", ctypes.c_uint32),
        ("n_watch", ctypes.c_uint32),
        ("watch", ctypes.c_uint32 * MAX_WATCH),
        ("mem_read", ctypes.c_void_p),
        ("emu_stop", ctypes.c_void_p),
        ("current", ctypes.c_void_p),
        ("reg_read", ctypes.c_void_p),
        ("reg_write", ctypes.c_void_p),
        ("xpsr_id", ctypes.c_int32),
        ("dcache", _DataCache),
        ("flash", ctypes.c_void_p),
        ("flash_origin", ctypes.c_uint64),
        ("flash_size", ctypes.c_uint64),
        ("flash_alias", ctypes.c_uint64),
    ]


@cache
def _library() -> ctypes.CDLL:
    """Compile the native sources once per version into the cache and load them."""
    out = cache_dir("native") / f"hooks-{content_hash(*SOURCES)}.so"
    with locked(out):
        if not intact(out):
            tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            _cmd.run(["cc", "-O2", "-shared", "-fPIC", "-o", tmp, *SOURCES])
            os.replace(tmp, out)
            seal(out)
    return ctypes.CDLL(str(out))


def unavailable() -> str | None:
    """Why the hook cannot be built here, or None."""
    if shutil.which("cc"):
        return None
    return "the built-in simulator needs a host C compiler: apt-get install gcc"


def map_flash(uc, origin: int, size: int) -> np.ndarray:
    """Map the board's Flash (read, execute) on host memory the native hooks can read too."""
    from unicorn import UC_PROT_EXEC, UC_PROT_READ

    memory = np.zeros(size, np.uint8)
    uc.mem_map_ptr(origin, size, UC_PROT_READ | UC_PROT_EXEC, memory.ctypes.data)
    return memory


@dataclass
class BlockCounter:
    """Edge counts and Flash data stalls of one run, filled by the native hooks while Unicorn
    executes."""

    table: np.ndarray
    state: _State
    handles: tuple[int, ...] = ()  # Unicorn's hook handles, for uc.hook_del

    @classmethod
    def attach(
        cls, uc, budget: int, watch: tuple[int, ...], data: FlashDataTiming | None,
        flash: np.ndarray, capacity_log2: int = 17, hooks: bool = True,
    ) -> BlockCounter:
        """Register the hooks on a Unicorn instance; stop at `budget` instructions or `watch`;
        charge data reads from Flash as `data` says (None: not at all). `flash` is the Flash
        as map_flash mapped it. Without `hooks` nothing is registered (bare
        Unicorn, for the speed benchmark; a hook removed later still slows Unicorn's next
        run)."""
        from unicorn import UC_HOOK_BLOCK, UC_HOOK_TLB_FILL, UC_TLB_VIRTUAL, arm_const
        from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

        lib = _library()
        table = np.zeros(1 << capacity_log2, dtype=EDGE)
        state = _State(
            table=table.ctypes.data,
            mask=len(table) - 1,
            limit=len(table) * 3 // 4,
            budget=budget,
            prev=NO_BLOCK,
            n_watch=len(watch[:MAX_WATCH]),
            mem_read=ctypes.cast(uclib.uc_mem_read, ctypes.c_void_p).value,
            emu_stop=ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value,
            reg_read=ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p).value,
            reg_write=ctypes.cast(uclib.uc_reg_write, ctypes.c_void_p).value,
            xpsr_id=arm_const.UC_ARM_REG_XPSR,
            flash=flash.ctypes.data,
            flash_alias=FLASH_ALIAS,
        )
        for i, address in enumerate(watch[:MAX_WATCH]):
            state.watch[i] = address
        hooked = [(UC_HOOK_BLOCK, lib.tb_block_hook)] if hooks else []
        if data is None:
            data = FlashDataTiming(0, 0, 0, 0, 0, 4, 0, 0)
        elif hooks:  # Flash data reads through the I/O alias (blockcount.c)
            state.flash_origin, state.flash_size = data.origin, data.end - data.origin
            uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
            hooked.append((UC_HOOK_TLB_FILL, lib.tb_tlb_fill))
            status = uclib.uc_mmio_map(
                uc._uch, ctypes.c_uint64(FLASH_ALIAS + data.origin),
                ctypes.c_uint64(state.flash_size),
                ctypes.cast(lib.tb_flash_data_read, ctypes.c_void_p), ctypes.byref(state),
                None, None)
            if status:
                raise RuntimeError(f"uc_mmio_map failed with error {status}")
        if data.sets * data.ways > MAX_LINES:
            raise ValueError(f"a data cache of {data.sets * data.ways} lines is more than the "
                             f"native hook holds ({MAX_LINES})")
        cache = state.dcache
        cache.sets, cache.ways = data.sets, data.ways
        cache.line_shift = data.line.bit_length() - 1 if data.line else 0
        cache.read_shift = data.read_bytes.bit_length() - 1
        cache.miss_stall, cache.uncached_stall = data.miss_stall, data.uncached_stall
        handles = []
        for kind, function in hooked:
            handle = uc_hook_h()
            status = uclib.uc_hook_add(
                uc._uch, ctypes.byref(handle), kind, ctypes.cast(function, ctypes.c_void_p),
                ctypes.byref(state), ctypes.c_uint64(1), ctypes.c_uint64(0))
            if status:
                raise RuntimeError(f"uc_hook_add failed with error {status}")
            handles.append(handle.value)
        return cls(table, state, tuple(handles))

    def set_data_cache(self, on: bool) -> None:
        """The firmware turned the data cache on or off."""
        self.state.dcache.on = on

    def data(self) -> DataAccess:
        """The Flash data reads so far: how many, how many hit, the cycles they stalled."""
        cache = self.state.dcache
        return DataAccess(cache.reads, cache.hits, cache.stall)

    def edges(self) -> np.ndarray:
        """The used slots of the table (a view: counts keep changing while the run goes on)."""
        return self.table[self.table["size"] != 0]


NO_REGISTER = 0xFFFFFFFF  # matches uart.c
OUTPUT_CAPACITY = 1 << 16
OUTPUT_FULL, INPUT_EMPTY = range(2)  # why uart.c calls the host
_HOST = ctypes.CFUNCTYPE(None, ctypes.c_uint32)


class _UartState(ctypes.Structure):
    _fields_ = [  # mirrors tb_uart in uart.c
        ("emu_stop", ctypes.c_void_p),
        ("host", _HOST),
        ("input", ctypes.c_void_p),
        ("input_size", ctypes.c_uint64),
        ("position", ctypes.c_uint64),
        ("output", ctypes.c_void_p),
        ("output_size", ctypes.c_uint64),
        ("output_capacity", ctypes.c_uint64),
        ("status", ctypes.c_uint32),
        ("rx", ctypes.c_uint32),
        ("tx", ctypes.c_uint32),
        ("tx_done", ctypes.c_uint32),
        ("rx_ready", ctypes.c_uint32),
        ("tx_ready", ctypes.c_uint32),
        ("empty_polls", ctypes.c_uint32),
        ("idle_polls", ctypes.c_uint32),
        ("idle", ctypes.c_uint32),
        ("values", ctypes.c_uint32 * PAGE),
    ]


class NativeUart:
    """The board's UART (uart.c) mapped on its register page of a Unicorn instance, wired to a
    host end (devices.Uart): the host's input is received, what the firmware sends is
    collected in the host's `output`, and the host's `idle` is set when the firmware idles."""

    def __init__(self, uc, uart: Uart) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        spec, self.uart, self._uc = uart.spec, uart, uc
        if max(spec.status, spec.rx, spec.tx, spec.tx_done or 0) >= PAGE:
            raise ValueError(f"the {spec.kind} UART's registers span more than one page")
        self._output = (ctypes.c_uint8 * OUTPUT_CAPACITY)()
        self._input = b""
        self.error: BaseException | None = None  # raised by the host end, for sync to raise
        self._host = _HOST(self._serve_host)  # kept: the C side holds only its address
        self.state = _UartState(
            emu_stop=ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value, host=self._host,
            output=ctypes.addressof(self._output), output_capacity=OUTPUT_CAPACITY,
            status=spec.status, rx=spec.rx, tx=spec.tx,
            tx_done=NO_REGISTER if spec.tx_done is None else spec.tx_done,
            rx_ready=spec.rx_ready, tx_ready=spec.tx_ready, idle_polls=IDLE_POLLS)
        self._receive(uart.input)
        lib = _library()
        status = uclib.uc_mmio_map(
            uc._uch, ctypes.c_uint64(spec.base), ctypes.c_uint64(PAGE),
            ctypes.cast(lib.tb_uart_read, ctypes.c_void_p), ctypes.byref(self.state),
            ctypes.cast(lib.tb_uart_write, ctypes.c_void_p), ctypes.byref(self.state))
        if status:
            raise RuntimeError(f"uc_mmio_map failed with error {status}")

    def sync(self) -> None:
        """Bring the host end up to date: the output so far, and whether the UART is idle;
        raise what the host end raised while the firmware ran."""
        state = self.state
        self.uart.output += ctypes.string_at(self._output, state.output_size)
        state.output_size = 0
        self.uart.idle = bool(state.idle)
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _receive(self, data: bytes) -> None:
        self._input = bytes(data)  # kept: the C side reads it in place
        self.state.input = ctypes.cast(self._input, ctypes.c_void_p).value
        self.state.input_size, self.state.position = len(self._input), 0

    def _serve_host(self, why: int) -> None:
        """Called by uart.c when the output buffer is full or the firmware is about to idle
        (an exception cannot cross the C code: it is kept for sync, and the run stopped)."""
        try:
            self.sync()
            if why == INPUT_EMPTY:
                self._receive(self.uart.more_input())
        except BaseException as error:
            self.error = error
            self._uc.emu_stop()
