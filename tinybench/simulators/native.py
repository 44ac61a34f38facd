"""The native hooks (blockcount.c): block-edge counts and Flash data-read stalls, built with
the host `cc` and attached via ctypes."""

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

SOURCE = Path(__file__).with_name("blockcount.c")
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
    """Compile blockcount.c once per source version into the cache and load it."""
    out = cache_dir("native") / f"blockcount-{content_hash(SOURCE)}.so"
    with locked(out):
        if not intact(out):
            tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
            _cmd.run(["cc", "-O2", "-shared", "-fPIC", "-o", tmp, SOURCE])
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
