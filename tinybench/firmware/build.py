"""Compile the harness firmware with a backend's sources into an ELF for a board.

Each configuration (board, optimisation, flags, file lists) gets its own build folder under
cache_dir("builds"). Inside it every object remembers a stamp (its command line and the
contents of its source and every header gcc reported as a dependency), so an unchanged
build compiles and links nothing, and an edited header recompiles exactly its users.
Objects and the image are sealed with their content hash, so a damaged one is rebuilt.
The linker script's MEMORY regions are written from the board's data (`linker_memory`).
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from tinybench import _cmd
from tinybench.artifacts import Firmware, FirmwareSources
from tinybench.boards import Board, check_fit
from tinybench.errors import BuildError, ConfigError
from tinybench.paths import atomic_write, cache_dir, content_hash, intact, locked, seal, shipped
from tinybench.toolchain import Toolchain, build_jobs, find_toolchain

FIRMWARE = shipped("firmware")
STARTUP_SOURCES = (FIRMWARE / "common" / "startup.c", FIRMWARE / "common" / "stack.c")
HARNESS_SOURCES = (FIRMWARE / "harness" / "harness.c", FIRMWARE / "harness" / "th_port.c")
COMMON_CFLAGS = ("-g", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra")
LANGUAGE_FLAGS = {
    ".c": ("-std=c11",),
    ".cc": ("-std=c++17", "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics",
            "-fno-use-cxa-atexit"),
}
LANGUAGE_FLAGS[".cpp"] = LANGUAGE_FLAGS[".cc"]
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections")
_OVERFLOW = re.compile(r"region `(FLASH|RAM)' overflowed by (\d+) bytes")


@dataclass(frozen=True)
class _Unit:
    source: Path
    obj: Path
    command: tuple[str, ...]

    @property
    def depfile(self) -> Path:
        return self.obj.with_suffix(".d")

    @property
    def stampfile(self) -> Path:
        return self.obj.with_suffix(".stamp")


def build_firmware(
    sources: FirmwareSources, board: Board, opt: str = "-O2"
) -> Firmware:
    """Build (or reuse) the harness with `sources` for `board`; raises BuildError or FitError."""
    toolchain = find_toolchain()
    if not any(board_dir(board).glob("*.c")):
        raise BuildError(f"no board support for '{board.name}': add {board_dir(board)}/board.c")
    for path in (*sources.sources, *sources.libraries):
        if not path.is_file():
            raise BuildError(f"{sources.backend}: {path} does not exist; regenerate the sources")

    config = (toolchain.version, board.name, opt, repr(sources), str(FIRMWARE))
    build_dir = cache_dir("builds", f"{board.name}-{sources.backend}-{content_hash(*config)}")
    with locked(build_dir):
        units = _units(sources, board, opt, toolchain, build_dir)
        stale = [u for u in units if not _fresh(u)]
        with ThreadPoolExecutor(max_workers=build_jobs()) as pool:
            list(pool.map(lambda u: _compile(u, build_dir), stale))
        return _link(sources, board, opt, toolchain, build_dir, units, compiled=stale)


def _units(
    sources: FirmwareSources, board: Board, opt: str, toolchain: Toolchain, build_dir: Path
) -> list[_Unit]:
    flags = [
        *board.cflags, opt, *COMMON_CFLAGS, f"-DTB_CLOCK_HZ={board.clock_hz}u",
        *(f"-D{d}" for d in sources.defines),
        *(f"-I{d}" for d in (FIRMWARE / "include", *sources.include_dirs)),
    ]
    board_sources = sorted(board_dir(board).glob("*.c"))
    own = (*STARTUP_SOURCES, *(HARNESS_SOURCES if sources.harness else ()), *board_sources)
    harness = [(s, "harness", ()) for s in own]
    backend = [(s, _component(s, sources), sources.cflags) for s in sources.sources]
    units = []
    for source, component, extra in (*harness, *backend):
        language = LANGUAGE_FLAGS.get(source.suffix)
        if language is None:
            raise BuildError(f"{source}: unknown source type (expected .c, .cc or .cpp)")
        compiler = toolchain.gcc if source.suffix == ".c" else toolchain.gxx
        obj = build_dir / "obj" / component / f"{source.stem}-{content_hash(str(source))[:8]}.o"
        command = (str(compiler), *flags, *language, *extra, "-c", str(source), "-o", str(obj))
        units.append(_Unit(source, obj, command))
    return units


def board_dir(board: Board) -> Path:
    """The board support folder (board.c) of `board`."""
    return FIRMWARE / "boards" / board.name


def linker_memory(board: Board) -> str:
    """The board's linker script: its Flash, and its RAM blocks as one RAM region."""
    ram = sorted(board.ram, key=lambda r: r.origin)
    for a, b in itertools.pairwise(ram):
        if a.end != b.origin:
            raise ConfigError(f"board {board.name}: RAM blocks {a.name} and {b.name} are not "
                              "contiguous; the firmware's linker script needs one RAM region")
    return (
        f"/* {board.title}: the memory regions from tinybench/boards.toml */\n"
        "MEMORY\n{\n"
        f"    FLASH (rx) : ORIGIN = 0x{board.flash.origin:08X}, LENGTH = 0x{board.flash.size:X}\n"
        f"    RAM (rwx) : ORIGIN = 0x{ram[0].origin:08X}, LENGTH = 0x{board.ram_size:X}\n"
        "}\n\nINCLUDE sections.ld\n"
    )


def _component(source: Path, sources: FirmwareSources) -> str:
    return next((c for p, c in sources.components.items() if fnmatch(str(source), p)), "engine")


def _compile(unit: _Unit, build_dir: Path) -> None:
    unit.stampfile.unlink(missing_ok=True)
    unit.obj.parent.mkdir(parents=True, exist_ok=True)
    _cmd.run([*unit.command, "-MMD", "-MF", unit.depfile], log=build_dir / "build.log")
    seal(unit.obj)
    atomic_write(unit.stampfile, _stamp(unit) or "")


def _fresh(unit: _Unit) -> bool:
    stamp = _stamp(unit)
    return stamp is not None and stamp == _read(unit.stampfile) and intact(unit.obj)


def _stamp(unit: _Unit) -> str | None:
    """Hash of the command and every file the object depends on; None if unknown or gone."""
    if not unit.depfile.is_file():
        return None
    text = unit.depfile.read_text().replace("\\\n", " ")
    _, _, prerequisites = text.partition(": ")
    deps = [Path(p.replace("\\ ", " ")) for p in re.split(r"(?<!\\)\s+", prerequisites) if p]
    try:
        return content_hash(shlex.join(unit.command), *deps)
    except FileNotFoundError:
        return None


def _link(
    sources: FirmwareSources,
    board: Board,
    opt: str,
    toolchain: Toolchain,
    build_dir: Path,
    units: list[_Unit],
    compiled: list[_Unit],
) -> Firmware:
    elf, map_file = build_dir / "firmware.elf", build_dir / "firmware.map"
    memory, regions = build_dir / "memory.ld", linker_memory(board)
    if _read(memory) != regions:
        atomic_write(memory, regions)
    cpp = any(u.source.suffix != ".c" for u in units) or bool(sources.libraries)
    command = [
        str(toolchain.gxx if cpp else toolchain.gcc), *board.cflags, opt, *LINK_FLAGS,
        f"-Wl,--defsym=__stack_size={sources.stack_size}",
        f"-Wl,--defsym=__heap_size={sources.heap_size}",
        f"-L{FIRMWARE / 'common'}", "-T", str(memory),
        *(str(u.obj) for u in units), *(str(lib) for lib in sources.libraries), "-lm",
    ]
    scripts = (memory, FIRMWARE / "common" / "sections.ld")
    key = content_hash(shlex.join(command), *(_read(u.stampfile) for u in units),
                       *sources.libraries, *scripts)
    linked = _read(build_dir / "link.stamp") != key or not (intact(elf) and intact(map_file))
    if linked:
        (build_dir / "link.stamp").unlink(missing_ok=True)
        tmp_elf, tmp_map = elf.with_suffix(".elf.tmp"), map_file.with_suffix(".map.tmp")
        try:
            _cmd.run([*command, f"-Wl,-Map={tmp_map}", "-o", tmp_elf],
                     log=build_dir / "build.log")
        except BuildError as error:
            _raise_if_overflow(str(error), board)
            raise
        os.replace(tmp_map, map_file)
        os.replace(tmp_elf, elf)
        seal(map_file)
        seal(elf)
        atomic_write(build_dir / "link.stamp", key)
    return Firmware(elf=elf, map=map_file, board=board, sources=sources, key=key,
                    compiled=tuple(u.source for u in compiled), linked=linked)


def _raise_if_overflow(log: str, board: Board) -> None:
    """Turn the linker's region overflow report into the fit check's FitError."""
    overflow = {region: int(n) for region, n in _OVERFLOW.findall(log)}
    if overflow:
        check_fit(board, flash_bytes=board.flash.size + overflow.get("FLASH", 0),
                  ram_bytes=board.ram_size + overflow.get("RAM", 0))


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None

