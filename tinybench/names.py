"""One way to look a name up among the known ones, with a did-you-mean when it is not there."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
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
