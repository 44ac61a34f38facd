"""The boards tinybench targets, read from boards.toml into frozen dataclasses, and whether
an image fits one."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tinybench.errors import ConfigError, FitError


@dataclass(frozen=True)
class Region:
    name: str
    origin: int
    size: int

    @property
    def end(self) -> int:
        return self.origin + self.size


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    core: str  # "cortex-m4" or "cortex-m7"
    clock_hz: int
    cflags: tuple[str, ...]
    flash: Region
    ram: tuple[Region, ...]
    uart_kind: str
    uart_base: int
    flash_wait_states: int
    renode_platform: str
    itcm: Region | None = None

    @property
    def ram_size(self) -> int:
        return sum(r.size for r in self.ram)


def _board(name: str, raw: dict) -> Board:
    itcm = raw.get("itcm")
    return Board(
        name=name,
        title=raw["title"],
        core=raw["core"],
        clock_hz=raw["clock_hz"],
        cflags=tuple(raw["cflags"]),
        flash=Region("FLASH", raw["flash"]["origin"], raw["flash"]["size"]),
        ram=tuple(Region(r["name"], r["origin"], r["size"]) for r in raw["ram"]),
        uart_kind=raw["uart"]["kind"],
        uart_base=raw["uart"]["base"],
        flash_wait_states=raw["flash_wait_states"],
        renode_platform=raw["renode_platform"],
        itcm=Region("ITCM", itcm["origin"], itcm["size"]) if itcm else None,
    )


@cache
def all_boards() -> dict[str, Board]:
    raw = tomllib.loads((Path(__file__).with_name("boards.toml")).read_text())
    return {name: _board(name, entry) for name, entry in raw.items()}


def get_board(name: str) -> Board:
    boards = all_boards()
    if name not in boards:
        hint = difflib.get_close_matches(name, boards, n=1)
        more = f" Did you mean '{hint[0]}'?" if hint else ""
        raise ConfigError(f"unknown board '{name}'; known boards: {', '.join(boards)}.{more}")
    return boards[name]


def check_fit(board: Board, flash_bytes: int, ram_bytes: int) -> None:
    """Raise FitError if the image needs more Flash or RAM than `board` has."""
    for memory, needed, available in (
        ("Flash", flash_bytes, board.flash.size),
        ("RAM", ram_bytes, board.ram_size),
    ):
        if needed > available:
            raise FitError(
                f"the firmware needs {needed / 1024:.1f} KiB of {memory}, {board.name} has "
                f"{available / 1024:.0f} KiB; use a smaller model or a bigger board"
            )
