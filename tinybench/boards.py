"""The boards tinybench targets, read from boards.toml into frozen dataclasses."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tinybench.names import lookup


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
    return lookup("board", name, all_boards())
