"""Names: looking one up with a did-you-mean, and registries whose names cost nothing to list."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

from tinybench.errors import ConfigError

T = TypeVar("T")


def unknown(what: str, name: str, known: Iterable[str]) -> ConfigError:
    """The one-line error for a `what` (board, task…) called `name` that is not among `known`."""
    known = list(known)
    hint = difflib.get_close_matches(name, known, n=1)
    more = f" Did you mean '{hint[0]}'?" if hint else ""
    return ConfigError(f"unknown {what} '{name}'; choose from {', '.join(known)}.{more}")


def lookup(what: str, name: str, known: Mapping[str, T]) -> T:
    """`known[name]`, or a ConfigError naming the known ones and the closest match."""
    if name not in known:
        raise unknown(what, name, known)
    return known[name]


class LazyRegistry(Mapping[str, T]):
    """Implementations by name, each imported when first looked up.

    Listing the names (help texts, option checks) imports nothing; `entries` maps each name to
    "module:attribute" of its implementation.
    """

    def __init__(self, entries: dict[str, str]) -> None:
        self._entries = entries
        self._loaded: dict[str, T] = {}

    def __getitem__(self, name: str) -> T:
        if name not in self._loaded:
            module, _, attribute = self._entries[name].partition(":")
            self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
