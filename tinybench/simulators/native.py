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
        capacity_log2: int = 17, hooks: bool = True,
    ) -> BlockCounter:
        """Register the hooks on a Unicorn instance; stop at `budget` instructions or `watch`;
        charge data reads from Flash as `data` says (None: not at all). Without `hooks` nothing
        is registered (bare Unicorn, for the speed benchmark; a hook removed later still slows
        Unicorn's next run)."""
        from unicorn import UC_HOOK_BLOCK, UC_HOOK_MEM_READ, arm_const
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
        )
        for i, address in enumerate(watch[:MAX_WATCH]):
            state.watch[i] = address
        hooked = [(UC_HOOK_BLOCK, lib.tb_block_hook, 1, 0)] if hooks else []
        if data is None:
            data = FlashDataTiming(0, 0, 0, 0, 0, 4, 0, 0)
        elif hooks:
            hooked.append((UC_HOOK_MEM_READ, lib.tb_flash_read_hook, data.origin, data.end - 1))
        if data.sets * data.ways > MAX_LINES:
            raise ValueError(f"a data cache of {data.sets * data.ways} lines is more than the "
                             f"native hook holds ({MAX_LINES})")
        cache = state.dcache
        cache.sets, cache.ways = data.sets, data.ways
        cache.line_shift = data.line.bit_length() - 1 if data.line else 0
        cache.read_shift = data.read_bytes.bit_length() - 1
        cache.miss_stall, cache.uncached_stall = data.miss_stall, data.uncached_stall
        handles = []
        for kind, function, begin, end in hooked:
            handle = uc_hook_h()
            status = uclib.uc_hook_add(
                uc._uch, ctypes.byref(handle), kind, ctypes.cast(function, ctypes.c_void_p),
                ctypes.byref(state), ctypes.c_uint64(begin), ctypes.c_uint64(end))
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
