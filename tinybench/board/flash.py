"""Flash a firmware ELF onto a board with whichever programming tool is installed.

Each board lists the tools that can program it in boards.toml, in order of preference: pyocd
(PyPI, in the `board` extra), the vendor's tool (st-flash, nrfjprog), then openocd. The first
one on PATH is used unless one is named. Tools that want a raw binary or Intel HEX get one made
from the ELF with the toolchain's objcopy, next to it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tinybench import _cmd
from tinybench.boards import Board, Flasher
from tinybench.errors import ConfigError, DeviceError, ToolNotFoundError

TIMEOUT = 180.0  # seconds a tool may take to program the whole Flash
INSTALL = ("pip install 'tinybench[board]' (pyocd), apt-get install openocd or stlink-tools "
           "(st-flash), or Nordic's nRF Command Line Tools (nrfjprog)")
_IMAGES = {"bin": "binary", "hex": "ihex"}  # placeholder → objcopy output format


def choose(board: Board, tool: str | None = None) -> Flasher:
    """The named tool, or the first installed one that can program `board`."""
    flashers = board.flashers
    if not flashers:
        raise ConfigError(f"tinybench does not know how to flash {board.name}")
    if tool is not None:
        named = [f for f in flashers if f.tool == tool]
        if not named:
            raise ConfigError(f"{tool} cannot flash {board.name} here; choose from "
                              f"{', '.join(f.tool for f in flashers)}")
        flashers = tuple(named)
    for flasher in flashers:
        if shutil.which(flasher.tool):
            return flasher
    names = " or ".join(f.tool for f in flashers)
    raise ToolNotFoundError(f"no tool to flash {board.name} was found ({names}); {INSTALL}")


def command(flasher: Flasher, elf: Path, board: Board) -> list[str]:
    """The flasher's command line for `elf`, making the binary or HEX image it needs."""
    values = {"elf": str(elf), "origin": f"0x{board.flash.origin:08x}"}
    for key, fmt in _IMAGES.items():
        if any(f"{{{key}}}" in arg for arg in flasher.argv):
            values[key] = str(_image(elf, fmt, f".{key}"))
    return [arg.format(**values) for arg in flasher.argv]


def flash(elf: Path, board: Board, tool: str | None = None) -> Flasher:
    """Program `elf` onto the connected `board` and reset it; return the flasher used."""
    flasher = choose(board, tool)
    try:
        _cmd.run(command(flasher, elf, board), error=DeviceError, timeout=TIMEOUT)
    except DeviceError as error:
        hint = f"\n{flasher.hint}" if flasher.hint else ""
        raise DeviceError(f"flashing {board.name} failed: {error}{hint}") from None
    return flasher


def _image(elf: Path, fmt: str, suffix: str) -> Path:
    """`elf` converted by objcopy, written next to it (atomically: a rename at the end)."""
    from tinybench.toolchain import find_toolchain

    target = elf.with_suffix(suffix)
    partial = target.with_name(f".{target.name}.partial")
    _cmd.run([find_toolchain().objcopy, "-O", fmt, elf, partial])
    os.replace(partial, target)
    return target
