"""Run external tools with their output kept, and fail with the part of it that matters."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tinybench.errors import BuildError, ToolNotFoundError


def run(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    log: Path | None = None,
    error: type[Exception] = BuildError,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> str:
    """Run a command; return its output, or raise `error` with the last 30 lines of it
    (or, past `timeout` seconds, saying so)."""
    argv = [str(a) for a in args]
    if shutil.which(argv[0]) is None:
        raise ToolNotFoundError(f"'{argv[0]}' was not found on PATH")
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        raise error(f"{argv[0]} did not finish within {timeout:g} s") from expired
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as f:
            f.write(f"+ {shlex.join(argv)}\n{proc.stdout}")
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        raise error(f"{argv[0]} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout
