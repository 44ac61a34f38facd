"""Shared fixtures and the skip rules for tests that need optional tools.

A test marked `toolchain`, `tvm`, `tflm`, `coremark`, `tf`, `renode`, `reference_models` or
`browser` is skipped, with the piece's own reason, when that piece is missing on this machine; each
piece is asked once per session.
"""

import importlib.util
import shutil
import signal
from collections.abc import Callable, Iterator
from functools import cache
from importlib.util import find_spec
from pathlib import Path

import pytest

from tinybench import coremark, deps
from tinybench.backends.tflm_lib import COMPONENTS
from tinybench.backends.tvm import TvmBackend
from tinybench.models.export import missing_weights
from tinybench.simulators.renode import RenodeSimulator
from tinybench.toolchain import Toolchain, find_toolchain
from tinybench.toolchain import missing as toolchain_missing


def browser_missing() -> str | None:
    """Why Debian's Chromium and its driver, with selenium to drive them, are missing."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return ("Debian's chromium and chromium-driver are not installed "
                "(scripts/install.sh installs them)")
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed: pip install -e '.[dev]'"
    return None


# marker -> why the piece it needs is missing, or None
PIECES: dict[str, Callable[[], str | None]] = {
    "toolchain": toolchain_missing,
    "tvm": lambda: TvmBackend().missing(),
    "tflm": lambda: deps.missing(*COMPONENTS),
    "coremark": coremark.missing,
    "tf": lambda: None if find_spec("tensorflow") else "no TensorFlow: pip install tinybench",
    "renode": lambda: RenodeSimulator().missing(),
    "reference_models": lambda: missing_weights("reference"),
    "browser": browser_missing,
}


@cache
def missing(marker: str) -> str | None:
    """Why the piece behind `marker` is missing, asked once per session."""
    return PIECES[marker]()


def pytest_configure(config: pytest.Config) -> None:
    """A background job of a non-interactive shell starts with SIGINT ignored, and so would every
    process a test starts: take it as Python does by default, so that the Ctrl-C tests' children
    (which start with the default disposition then) stop on SIGINT."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in PIECES:
        if item.get_closest_marker(marker):
            reason = missing(marker)
            if reason:
                pytest.skip(reason)


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    """The Arm toolchain, for tests marked `toolchain`."""
    return find_toolchain()


@pytest.fixture(scope="module")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh, empty $TINYBENCH_CACHE for the whole module."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TINYBENCH_CACHE", str(folder))
        yield folder
