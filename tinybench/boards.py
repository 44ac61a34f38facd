"""The boards tinybench targets, read from boards.toml into frozen dataclasses.

boards.toml is the one home of a board's facts; a board's entry names its core and its UART
kind, whose shared facts the board's dataclass carries in full (`board.core.cpuid`,
`board.uart.status`), so users of a Board need nothing else.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tinybench.errors import ConfigError, FitError
from tinybench.names import lookup

DATA = Path(__file__).with_name("boards.toml")


@dataclass(frozen=True)
class Region:
    name: str
    origin: int
    size: int
    wait_states: int = 0  # of a CPU access (Flash): stalls of fetches and data reads
    read_bytes: int = 4  # bytes one Flash access reads (the width of the Flash interface)

    @property
    def end(self) -> int:
        return self.origin + self.size


@dataclass(frozen=True)
class PublishedScore:
    """A published benchmark score of a core (CoreMark/MHz), with its compiler and source."""

    per_mhz: float
    compiler: str
    source: str


@dataclass(frozen=True)
class Core:
    name: str  # e.g. "cortex-m7": -mcpu, and the cycle model's timing rules
    cpuid: int  # what SCB CPUID reads
    unicorn_model: str  # the unicorn.arm_const CPU model the built-in simulator runs
    coremark: PublishedScore | None = None  # its published CoreMark/MHz


@dataclass(frozen=True)
class Uart:
    """The board's UART: registers at offsets from `base` (see boards.toml)."""

    kind: str
    base: int
    status: int
    rx_ready: int
    tx_ready: int
    rx: int
    tx: int
    tx_done: int | None = None


@dataclass(frozen=True)
class Cache:
    enable_register: int | None = None  # address of the register whose bit turns it on
    enable_bit: int = 0
    ccsidr: int | None = None  # what SCB CCSIDR reads for it (a Cortex-M7's geometry)
    size: int = 0  # bytes; the geometry the data-side memory model uses (0: not modelled)
    line: int = 0  # bytes per line
    ways: int = 0  # lines per set; size // line for a fully associative cache


@dataclass(frozen=True)
class ReadyFlags:
    """Status bits that follow their enable bits: `mask` of `source`, shifted into `address`."""

    address: int
    source: int
    mask: int
    shift: int


@dataclass(frozen=True)
class Flasher:
    """A command that programs and resets a board; {elf}, {bin}, {hex}, {origin} are filled in."""

    tool: str
    argv: tuple[str, ...]
    hint: str = ""  # what to try when the tool fails


@dataclass(frozen=True)
class Power:
    """What the chip draws running code at the firmware's clock and supply, from its datasheet."""

    supply_v: float  # the supply voltage the datasheet figure is given at
    run_current_ma: float  # typical current running from Flash at the firmware's settings
    source: str  # document, table and conditions of the figure

    @property
    def mw(self) -> float:
        return self.supply_v * self.run_current_ma


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    core: Core
    clock_hz: int
    cflags: tuple[str, ...]
    flash: Region
    ram: tuple[Region, ...]
    uart: Uart
    flashers: tuple[Flasher, ...]  # in order of preference
    renode_platform: str | None = None  # file name in renode/; None: no Renode platform
    itcm: Region | None = None
    icache: Cache | None = None
    dcache: Cache | None = None
    ready_flags: tuple[ReadyFlags, ...] = ()
    power: Power | None = None

    @property
    def ram_size(self) -> int:
        return sum(r.size for r in self.ram)


def _build(cls: type, raw: dict[str, Any], where: str, **convert: Callable[[Any], Any]) -> Any:
    """`cls` from a TOML table: unknown or missing keys refused, values passed through `convert`."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            hint = difflib.get_close_matches(key, fields, n=1)
            more = f"; did you mean '{hint[0]}'?" if hint else ""
            raise ConfigError(f"{DATA.name}: {where} has an unknown key '{key}'{more}")
    missing = [name for name, f in fields.items()
               if name not in raw and f.default is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{DATA.name}: {where} lacks {', '.join(missing)}")
    return cls(**{key: convert[key](v) if key in convert else v for key, v in raw.items()})


def _entry(table: dict[str, dict], name: str, what: str, where: str) -> dict:
    """The shared `[what.name]` entry a board refers to."""
    if name not in table:
        raise ConfigError(f"{DATA.name}: {where} names {what[:-1]} '{name}', which [{what}] "
                          f"does not define (known: {', '.join(table)})")
    return table[name]


def _board(name: str, raw: dict, cores: dict, uarts: dict) -> Board:
    where = f"board '{name}'"

    def region(region_name: str, key: str) -> Callable[[dict], Region]:
        return lambda table: _build(Region, {**table, "name": region_name}, f"{where}: {key}")

    def many(cls: type, key: str, **convert: Callable) -> Callable[[list], tuple]:
        return lambda tables: tuple(_build(cls, t, f"{where}: {key}", **convert) for t in tables)

    def core(core_name: str) -> Core:
        entry = _entry(cores, core_name, "cores", where)
        named = f"core '{core_name}'"
        return _build(Core, {**entry, "name": core_name}, named,
                      coremark=lambda t: _build(PublishedScore, t, f"{named}: coremark"))

    def uart(table: dict) -> Uart:
        entry = _entry(uarts, table.get("kind", ""), "uarts", where)
        return _build(Uart, {**entry, **table}, f"{where}: uart")

    return _build(
        Board, {**raw, "name": name}, where, core=core, uart=uart, cflags=tuple,
        flash=region("FLASH", "flash"), itcm=region("ITCM", "itcm"), ram=many(Region, "ram"),
        icache=lambda t: _build(Cache, t, f"{where}: icache"),
        dcache=lambda t: _build(Cache, t, f"{where}: dcache"),
        ready_flags=many(ReadyFlags, "ready_flags"), flashers=many(Flasher, "flashers", argv=tuple),
        power=lambda t: _build(Power, t, f"{where}: power"),
    )


def load_boards(text: str) -> dict[str, Board]:
    """The boards of a boards.toml text."""
    raw = tomllib.loads(text)
    cores, uarts = raw.get("cores", {}), raw.get("uarts", {})
    return {name: _board(name, entry, cores, uarts) for name, entry in raw["boards"].items()}


@cache
def all_boards() -> dict[str, Board]:
    return load_boards(DATA.read_text())


def get_board(name: str) -> Board:
    return lookup("board", name, all_boards())


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
