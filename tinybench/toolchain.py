"""Find the Arm GCC toolchain (arm-none-eabi-*) and say how to install it when it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tinybench.errors import ConfigError, ToolNotFoundError

INSTALL_HINT = (
    "install it with `apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
    "libstdc++-arm-none-eabi-newlib`, or point $TINYBENCH_ARM_GCC at an arm-none-eabi-gcc"
)


JOBS = "TINYBENCH_JOBS"  # objects a build compiles at a time; `tinybench run -j` sets it


def build_jobs() -> int:
    """How many objects a build compiles at a time: $TINYBENCH_JOBS, else one per core."""
    value = os.environ.get(JOBS, "")
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"${JOBS}={value}: give a whole number of objects to compile at a "
                          "time, at least 1")
    return int(value)


def shared_jobs(jobs: int, workers: int) -> int:
    """Objects each build compiles at a time when `workers` processes share `jobs`: compilers
    never outnumber them."""
    return max(1, jobs // workers)


@dataclass(frozen=True)
class Toolchain:
    """The tools of one arm-none-eabi installation."""

    gcc: Path
    gxx: Path
    ar: Path
    size: Path
    objcopy: Path  # ELF to the .bin / .hex images board flashers take
    version: str  # `gcc -dumpfullversion`, part of every build key


def _locate_gcc() -> Path:
    explicit = os.environ.get("TINYBENCH_ARM_GCC")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ToolNotFoundError(f"$TINYBENCH_ARM_GCC={explicit} is not an executable file")
        return path
    prefix = os.environ.get("TINYBENCH_ARM_PREFIX", "arm-none-eabi-")
    found = shutil.which(f"{prefix}gcc")
    if found is None:
        raise ToolNotFoundError(f"{prefix}gcc was not found on PATH; {INSTALL_HINT}")
    return Path(found)


@cache
def find_toolchain() -> Toolchain:
    """The toolchain from $TINYBENCH_ARM_GCC, $TINYBENCH_ARM_PREFIX or PATH, checked to work."""
    gcc = _locate_gcc()
    toolchain = Toolchain(
        gcc=gcc,
        gxx=gcc.with_name(gcc.name.replace("gcc", "g++")),
        ar=gcc.with_name(gcc.name.replace("gcc", "ar")),
        size=gcc.with_name(gcc.name.replace("gcc", "size")),
        objcopy=gcc.with_name(gcc.name.replace("gcc", "objcopy")),
        version=_query(gcc, "-dumpfullversion"),
    )
    for tool in (toolchain.gxx, toolchain.ar, toolchain.size, toolchain.objcopy):
        if not tool.is_file():
            raise ToolNotFoundError(f"{tool} is missing next to {gcc}; {INSTALL_HINT}")
    libc = Path(_query(gcc, "-print-file-name=libc.a"))
    if not libc.is_absolute():
        raise ToolNotFoundError(f"{gcc} has no C library (newlib); {INSTALL_HINT}")
    return toolchain


def _query(gcc: Path, flag: str) -> str:
    proc = subprocess.run([gcc, flag], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolNotFoundError(f"{gcc} {flag} failed: {proc.stderr.strip()}; {INSTALL_HINT}")
    return proc.stdout.strip()


def missing() -> str | None:
    """Why the toolchain cannot be used on this machine, with how to install it; None if it can."""
    try:
        find_toolchain()
    except ToolNotFoundError as error:
        return str(error)
    return None
