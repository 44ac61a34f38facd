"""Flash and RAM of a firmware ELF, by section and by component.

Sizes come from the ELF's section headers (pyelftools). Components come from the linker map:
every input section names the object file or archive member it came from. Objects built by
tinybench.firmware.build sit in obj/<component>/; archive members are matched against the
backend's `components` patterns, and the toolchain's own archives are "libc". Bytes the map
does not attribute (alignment fill, linker-generated code) are "other"; the stack and heap
sections are their own components. Component totals therefore equal the section totals.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from tinybench.boards import Board, check_fit
from tinybench.errors import ConfigError

if TYPE_CHECKING:
    from tinybench.artifacts import Firmware

TOOLCHAIN_ARCHIVE = re.compile(r"^lib(c|g|m|gcc|nosys|stdc\+\+|supc\+\+)(_nano)?\.a$")
OWN_SECTIONS = {".stack": "stack", ".heap": "heap"}
MERGED_STRINGS = re.compile(r"\.str\d+\.\d+$")


@dataclass(frozen=True)
class MemoryReport:
    """Memory a firmware image needs, in bytes."""

    board: str
    flash_bytes: int  # everything stored in Flash: code, constants, initial values of .data
    ram_bytes: int  # everything placed in RAM: .data, .bss, heap, stack
    text_bytes: int  # the three columns of `arm-none-eabi-size` (Berkeley format)
    data_bytes: int
    bss_bytes: int
    flash_sections: dict[str, int]  # section name → bytes in Flash
    ram_sections: dict[str, int]  # section name → bytes in RAM
    flash_components: dict[str, int]  # model, engine, kernels, harness, libc, other → bytes
    ram_components: dict[str, int]  # the same, plus stack and heap


def measure(target: Firmware | Path, board: Board | None = None) -> MemoryReport:
    """Measure a built firmware (or an ELF, with its .map beside it if there is one)."""
    if isinstance(target, Path):
        elf, map_file, patterns = target, target.with_suffix(".map"), {}
    else:
        elf, map_file, patterns = target.elf, target.map, target.sources.components
        board = board or target.board
    if board is None:
        raise ConfigError(f"measuring {elf} needs the board it was built for")
    if not elf.is_file():
        raise ConfigError(f"{elf} does not exist; build the firmware first")

    origins = _map_inputs(map_file, patterns) if map_file.is_file() else {}
    berkeley: Counter[str] = Counter()
    flash_sections: dict[str, int] = {}
    ram_sections: dict[str, int] = {}
    flash_components: Counter[str] = Counter()
    ram_components: Counter[str] = Counter()
    with elf.open("rb") as f:
        for section in ELFFile(f).iter_sections():
            flags, size = section["sh_flags"], section["sh_size"]
            if not flags & SH_FLAGS.SHF_ALLOC or size == 0:
                continue
            has_contents = section["sh_type"] != "SHT_NOBITS"
            berkeley[_berkeley_column(flags, has_contents)] += size
            parts = _split(section.name, size, origins.get(section.name, {}))
            if has_contents:
                flash_sections[section.name] = size
                flash_components.update(parts)
            if any(r.origin <= section["sh_addr"] < r.end for r in board.ram):
                ram_sections[section.name] = size
                ram_components.update(parts)

    report = MemoryReport(
        board=board.name,
        flash_bytes=sum(flash_sections.values()),
        ram_bytes=sum(ram_sections.values()),
        text_bytes=berkeley["text"],
        data_bytes=berkeley["data"],
        bss_bytes=berkeley["bss"],
        flash_sections=flash_sections,
        ram_sections=ram_sections,
        flash_components=dict(flash_components.most_common()),
        ram_components=dict(ram_components.most_common()),
    )
    check_fit(board, report.flash_bytes, report.ram_bytes)
    return report


def _berkeley_column(flags: int, has_contents: bool) -> str:
    """The `size` column of an allocated section, by binutils' rule."""
    if flags & SH_FLAGS.SHF_EXECINSTR or not flags & SH_FLAGS.SHF_WRITE:
        return "text"
    return "data" if has_contents else "bss"


def _split(section: str, size: int, inputs: dict[tuple[str, bool], int]) -> dict[str, int]:
    """Bytes of one output section by component; what the map leaves out is "other".

    The map lists mergeable string sections before the linker merged duplicates, so
    those share whatever the section's other inputs leave, in proportion to their size.
    """
    if section in OWN_SECTIONS:
        return {OWN_SECTIONS[section]: size}
    parts: Counter[str] = Counter()
    strings: Counter[str] = Counter()
    for (component, merged), n in inputs.items():
        (strings if merged else parts)[component] += n
    room = size - parts.total()
    if strings.total() > room:
        strings = Counter({c: n * room // strings.total() for c, n in strings.items()})
    parts.update(strings)
    if size > parts.total():
        parts["other"] += size - parts.total()
    return dict(parts)


def _map_inputs(
    map_file: Path, patterns: dict[str, str]
) -> dict[str, dict[tuple[str, bool], int]]:
    """Output section → (component, mergeable strings?) → bytes, from a GNU ld map."""
    obj_root = map_file.parent / "obj"
    result: dict[str, Counter[tuple[str, bool]]] = {}
    text = map_file.read_text(errors="replace")
    _, _, layout = text.partition("Linker script and memory map")
    output = None
    pending = None  # an input section whose address, size and file wrapped to the next line
    for line in layout.splitlines():
        fields = line.split()
        if not fields:
            continue
        if not line[0].isspace():
            output, pending = (fields[0] if line.startswith(".") else None), None
            continue
        if pending is not None and line.startswith("  ") and _is_entry(fields):
            fields, pending = [pending, *fields], None
        elif line.startswith(" ") and not line.startswith("  ") and not fields[0].startswith("*"):
            if len(fields) == 1:
                pending = fields[0]
                continue
        else:
            pending = None
            continue
        if output is not None and len(fields) >= 4 and _is_entry(fields[1:]):
            origin = " ".join(fields[3:])
            key = (_component(origin, obj_root, patterns), bool(MERGED_STRINGS.search(fields[0])))
            result.setdefault(output, Counter())[key] += int(fields[2], 16)
    return {section: dict(parts) for section, parts in result.items()}


def _is_entry(fields: list[str]) -> bool:
    """Whether fields start with an address and a size (and then name a file)."""
    return len(fields) >= 3 and all(f.startswith("0x") for f in fields[:2])


def _component(origin: str, obj_root: Path, patterns: dict[str, str]) -> str:
    path = Path(origin)
    if path.parent.parent == obj_root:
        return path.parent.name
    archive, _, member = origin.partition("(")
    short = f"{Path(archive).name}({member}" if member else path.name
    for pattern, component in patterns.items():
        if fnmatch(origin, pattern) or fnmatch(short, pattern):
            return component
    if TOOLCHAIN_ARCHIVE.match(Path(archive).name):
        return "libc"
    return "engine" if origin.endswith((".o", ".obj", ")")) else "other"
