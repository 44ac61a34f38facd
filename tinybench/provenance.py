"""Where a record comes from: the versions that shape its figures, the environment, the commit."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from tinybench.paths import content_hash
from tinybench.results import Record

if TYPE_CHECKING:
    from tinybench.boards import Board
    from tinybench.spec import RunSpec

# Recorded in each record's environment: they make the models and the host references.
ENVIRONMENT_PACKAGES = ("tinybench", "tensorflow", "ai-edge-litert", "tflite-micro", "tflite",
                        "numpy")


def make_record(spec: RunSpec, board: Board | None, model_hash: str, tools: dict[str, str],
                options: dict[str, str] | None = None, **measured) -> Record:
    """A record of `spec` with its provenance and what was measured (or where it failed).

    `tools` are the versions that shape the figures; `options` adds to the spec's knobs (e.g.
    the data set of an accuracy run); a board that is not known has clock 0.
    """
    return Record(task=spec.task_name, model_hash=model_hash, weights=spec.model_weights,
                  backend=spec.backend,
                  board=spec.board, simulator=spec.simulator,
                  clock_hz=board.clock_hz if board else 0,
                  power_mw=board.power.mw if board and board.power else None, tools=tools,
                  options={"opt": spec.opt, "inputs": str(spec.inputs), **(options or {})},
                  environment=environment(), commit=commit(), **measured)


def common_tools() -> dict[str, str]:
    """The versions that shape every run's figures: the compiler and the cycle model (its rules
    and the native hook that charges data reads)."""
    from tinybench.simulators import cycles, native
    from tinybench.toolchain import find_toolchain

    return {"gcc": find_toolchain().version,
            "cycle_model": content_hash(Path(cycles.__file__), native.COUNTER_SOURCE)}


@functools.cache
def environment() -> dict[str, str]:
    """What else a run used: Python, the host, and the packages that make models and references."""
    found = {"python": platform.python_version(), "host": platform.machine()}
    for package in ENVIRONMENT_PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found


@functools.cache
def commit() -> str | None:
    """The git commit a run belongs to, "+dirty" when tracked files differ from it: that of the
    checkout worked in (the project being benchmarked, or tinybench's own in its CI), else that
    of the source tree an editable tinybench runs from; None when neither is a checkout."""
    for folder in (Path(os.getcwd()), Path(__file__).resolve().parent):
        found = _git_commit(folder)
        if found:
            return found
    return None


def _git_commit(folder: Path) -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=folder, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return sha + ("+dirty" if dirty else "")
