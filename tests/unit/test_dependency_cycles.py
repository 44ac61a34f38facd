"""No dependency cycles: among tinybench's Python modules, and among the firmware's C files.

Python: every import counts, at module level or inside a function, since both must be
resolvable without the other module half-initialised. `from package import module` depends
on that module, not on the package's own names. C: a file depends on the files defining the
functions and data it uses, read from the symbol tables of the compiled objects.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

import tinybench
from tinybench.boards import all_boards
from tinybench.firmware.build import FIRMWARE
from tinybench.firmware.minimal import minimal_sources
from tinybench.toolchain import Toolchain

PACKAGE = Path(tinybench.__file__).parent


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """A path that leaves a node and comes back to it (first and last equal), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node):], node]
        if node in done:
            return None
        path.append(node)
        for after in sorted(graph.get(node, ())):
            cycle = visit(after)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    return next(filter(None, map(visit, sorted(graph))), None)


def test_the_cycle_finder_finds_cycles_and_only_them():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def python_modules() -> dict[str, Path]:
    """Every module of the package by dotted name; a package's __init__ is the package."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def python_imports(name: str, path: Path, modules: Mapping[str, Path]) -> set[str]:
    """The package's modules that module `name` (at `path`) imports anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    wanted = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            wanted.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative to this module's package, or to a parent of it
                parts = package.split(".")
                base = ".".join([*parts[:len(parts) + 1 - node.level], *filter(None, [base])])
            wanted.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                          for alias in node.names)
    return {owner for target in wanted if (owner := _owner(target, modules)) not in (None, name)}


def _owner(target: str, modules: Mapping[str, Path]) -> str | None:
    """The module that defines dotted `target` (a module, or a name in one), if ours."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def test_python_imports_see_function_level_imports():
    modules = python_modules()
    pipeline = python_imports("tinybench.pipeline", modules["tinybench.pipeline"], modules)
    assert {"tinybench.models.export", "tinybench.models.reference"} <= pipeline


def test_no_python_import_cycle():
    modules = python_modules()
    graph = {name: python_imports(name, path, modules) for name, path in modules.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def c_symbols(obj: Path) -> tuple[set[str], set[str]]:
    """The global symbols an object file defines, and those it uses from elsewhere."""
    defined, used = set(), set()
    with obj.open("rb") as f:
        for symbol in ELFFile(f).get_section_by_name(".symtab").iter_symbols():
            if symbol["st_info"]["bind"] not in ("STB_GLOBAL", "STB_WEAK"):
                continue
            (used if symbol["st_shndx"] == "SHN_UNDEF" else defined).add(symbol.name)
    return defined, used


@pytest.mark.toolchain
@pytest.mark.parametrize("board", all_boards().values(), ids=lambda b: b.name)
def test_no_call_cycle_between_firmware_c_files(board, toolchain: Toolchain, tmp_path: Path):
    """The startup, the harness, the board support and the minimal backend (the other
    backends need third-party headers)."""
    backend = minimal_sources()
    sources = [*(FIRMWARE / "common").glob("*.c"), *(FIRMWARE / "harness").glob("*.c"),
               *(FIRMWARE / "boards" / board.name).glob("*.c"), *backend.sources]
    flags = [*board.cflags, "-O2", f"-DTB_CLOCK_HZ={board.clock_hz}u",
             *(f"-D{d}" for d in backend.defines),
             *(f"-I{d}" for d in (FIRMWARE / "include", *backend.include_dirs))]
    symbols = {}
    for source in sources:
        obj = tmp_path / f"{source.stem}.o"
        subprocess.run([toolchain.gcc, *flags, "-c", source, "-o", obj], check=True)
        symbols[str(source.relative_to(FIRMWARE))] = c_symbols(obj)
    home = {name: file for file, (defined, _) in symbols.items() for name in defined}
    graph = {file: {home[name] for name in used if name in home} - {file}
             for file, (_, used) in symbols.items()}
    assert graph["harness/th_port.c"] >= {f"boards/{board.name}/board.c"}, graph
    cycle = find_cycle(graph)
    assert cycle is None, "C files that depend on each other: " + " → ".join(cycle)
