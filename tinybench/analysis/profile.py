"""Per-function profile: block counts and cycles attributed to the ELF's function symbols,
over a whole run or a stretch of it, and the functions' names as a developer reads them."""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from tinybench.paths import content_hash

_CLONE = re.compile(r"(\.(isra|constprop|part|cold|lto_priv)\.\d+)+$")  # GCC's clone suffixes
_TEMPLATE_ARGUMENTS = re.compile(r"<[^<>]*>")


@dataclass(frozen=True)
class FunctionMap:
    """Function address ranges from an ELF symbol table (Thumb bit cleared)."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    names: tuple[str, ...]

    @classmethod
    def from_elf(cls, elf: Path, digest: str | None = None) -> FunctionMap:
        """The functions of `elf`, read once per content of the file (a run reads it per input;
        a rebuild may keep its path, size and time): `digest` is its content_hash if known."""
        return _function_map(elf, digest or content_hash(elf))

    def name_at(self, address: int) -> str:
        """The function containing `address`, or its hex address when no symbol covers it."""
        i = bisect.bisect_right(self.starts, address) - 1
        if i >= 0 and address < self.ends[i]:
            return self.names[i]
        return f"0x{address:08x}"


@lru_cache(maxsize=16)
def _function_map(elf: Path, digest: str) -> FunctionMap:
    """FUNC symbols of `elf`, whose content hash `digest` keys the cache."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    funcs: dict[int, tuple[int, str]] = {}
    with elf.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            if not isinstance(section, SymbolTableSection):
                continue
            for sym in section.iter_symbols():
                if sym["st_info"]["type"] == "STT_FUNC" and sym.name:
                    start = sym["st_value"] & ~1
                    if sym["st_size"] >= funcs.get(start, (0, ""))[0]:
                        funcs[start] = (sym["st_size"], sym.name)
    starts = sorted(funcs)
    ends = []
    for i, start in enumerate(starts):
        size = funcs[start][0]
        following = starts[i + 1] if i + 1 < len(starts) else start + max(size, 2)
        ends.append(start + size if size else following)
    return FunctionMap(tuple(starts), tuple(ends), tuple(funcs[s][1] for s in starts))


@dataclass(frozen=True)
class FunctionRow:
    name: str
    instructions: int
    cycles: int
    share: float  # of all cycles, 0..1


def by_function(
    blocks: Mapping[int, tuple[int, int]], functions: FunctionMap
) -> dict[str, tuple[int, int]]:
    """Sum (instructions, cycles) per block address into per-function totals."""
    totals: dict[str, tuple[int, int]] = {}
    for address, (instructions, cycles) in blocks.items():
        name = functions.name_at(address)
        old = totals.get(name, (0, 0))
        totals[name] = (old[0] + instructions, old[1] + cycles)
    return totals


def stretches(so_far: Sequence[Mapping[str, tuple[int, int]]]
              ) -> tuple[dict[str, tuple[int, int]], ...]:
    """The function profile of each stretch of a run, from the profiles of the run so far at
    the stretches' ends: each minus the one before (the first from the start); functions
    that did nothing in a stretch are left out."""
    out: list[dict[str, tuple[int, int]]] = []
    before: Mapping[str, tuple[int, int]] = {}
    for now in so_far:
        out.append({})
        for name, (instructions, cycles) in now.items():
            done = (instructions - before.get(name, (0, 0))[0],
                    cycles - before.get(name, (0, 0))[1])
            if done != (0, 0):
                out[-1][name] = done
        before = now
    return tuple(out)


def profile(functions: Mapping[str, tuple[int, int]]) -> list[FunctionRow]:
    """Rows sorted by cycles, most expensive first, from a SimResult's `functions`."""
    total = sum(cycles for _, cycles in functions.values()) or 1
    rows = [FunctionRow(name, i, c, c / total) for name, (i, c) in functions.items()]
    return sorted(rows, key=lambda r: (-r.cycles, r.name))


def format_profile(rows: list[FunctionRow], top: int = 20) -> str:
    """A Markdown table of the `top` most expensive functions."""
    from tabulate import tabulate

    table = [(r.name, r.instructions, r.cycles, f"{100 * r.share:.1f} %") for r in rows[:top]]
    return tabulate(table, headers=("function", "instructions", "cycles", "share"),
                    tablefmt="github")


def short_name(symbol: str) -> str:
    """A function symbol as a developer names the function: C++ names demangled and without
    namespaces, template arguments or parameters (`ConvPerChannel`), GCC clones as the
    function cloned; C names as they are."""
    name = demangle(_CLONE.sub("", symbol)).replace("(anonymous namespace)", "")
    while _TEMPLATE_ARGUMENTS.search(name):
        name = _TEMPLATE_ARGUMENTS.sub("", name)
    return name.split("(")[0].split()[-1].split("::")[-1] if name.strip() else symbol


def demangle(symbol: str) -> str:
    """The C++ name of a mangled symbol; other symbols, or any without a C++ runtime to
    demangle them, as they are."""
    if not symbol.startswith("_Z") or (cxa_demangle := _cxa_demangle()) is None:
        return symbol
    status = ctypes.c_int()
    text = cxa_demangle(symbol.encode(), None, None, ctypes.byref(status))
    if status.value or not text:
        return symbol
    try:
        return ctypes.string_at(text).decode()
    finally:
        ctypes.CDLL(None).free(ctypes.c_void_p(text))


@cache
def _cxa_demangle():
    """The C++ runtime's demangler (libstdc++ or libc++abi), None if there is none."""
    for library in ("stdc++", "c++abi"):
        path = ctypes.util.find_library(library)
        if path is not None:
            function = ctypes.CDLL(path).__cxa_demangle
            function.restype = ctypes.c_void_p
            function.argtypes = (ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.POINTER(ctypes.c_int))
            return function
    return None
