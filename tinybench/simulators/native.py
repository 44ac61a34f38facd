"""The native block-count hook (blockcount.c): built with the host `cc`, attached via ctypes."""

from __future__ import annotations

import ctypes
import os
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from tinybench import _cmd
from tinybench.paths import cache_dir, content_hash, intact, locked, seal

SOURCE = Path(__file__).with_name("blockcount.c")
NO_BLOCK = 1  # matches blockcount.c
RUNNING, BUDGET, WATCHED, TABLE_FULL, READ_FAILED = range(5)
MAX_WATCH = 8

EDGE = np.dtype(
    [("prev", "<u4"), ("addr", "<u4"), ("size", "<u4"), ("insns", "<u4"), ("count", "<u8")]
)


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
    """Edge counts of one run, filled by the native hook while Unicorn executes."""

    table: np.ndarray
    state: _State
    handle: int = 0  # Unicorn's hook handle, for uc.hook_del

    @classmethod
    def attach(
        cls, uc, budget: int, watch: tuple[int, ...], capacity_log2: int = 17
    ) -> BlockCounter:
        """Register the hook on a Unicorn instance; stop at `budget` instructions or `watch`."""
        from unicorn import UC_HOOK_BLOCK
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
        )
        for i, address in enumerate(watch[:MAX_WATCH]):
            state.watch[i] = address
        handle = uc_hook_h()
        hook = ctypes.cast(lib.tb_block_hook, ctypes.c_void_p)
        status = uclib.uc_hook_add(
            uc._uch, ctypes.byref(handle), UC_HOOK_BLOCK, hook, ctypes.byref(state), 1, 0
        )
        if status:
            raise RuntimeError(f"uc_hook_add failed with error {status}")
        return cls(table, state, handle.value)

    def detach(self, uc) -> None:
        """Remove the hook (the speed benchmark's bare Unicorn run)."""
        from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

        uclib.uc_hook_del(uc._uch, uc_hook_h(self.handle))

    def edges(self) -> np.ndarray:
        """The used slots of the table (a view: counts keep changing while the run goes on)."""
        return self.table[self.table["size"] != 0]
