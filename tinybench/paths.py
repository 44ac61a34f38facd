"""Where tinybench keeps things, and how it writes them without ever leaving half a file."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tinybench.errors import ConfigError

log = logging.getLogger("tinybench")


def cache_dir(*parts: str) -> Path:
    """A folder under the cache ($TINYBENCH_CACHE, default ~/.cache/tinybench), created."""
    root = Path(os.environ.get("TINYBENCH_CACHE") or Path.home() / ".cache" / "tinybench")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shipped(folder: str) -> Path:
    """A folder tinybench ships beside its code: "firmware" (the C sources and linker scripts)
    or "renode" (platforms and scripts).

    An installed tinybench (pip install ., a wheel) holds it as package data, tinybench/_<folder>
    (pyproject.toml maps the top-level folders there); run from a source checkout (an editable
    install, or PYTHONPATH) it is the checkout's top-level <folder>.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / f"_{folder}", package.parent / folder):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"tinybench's {folder}/ folder is missing (neither {package}/_{folder} nor "
                      f"{package.parent}/{folder} exists); reinstall tinybench")


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` so that readers see either the old or the whole new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes files private; keep the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def content_hash(*items: bytes | str | Path) -> str:
    """A short sha256 over strings, bytes and file contents, for cache keys."""
    h = hashlib.sha256()
    for item in items:
        raw = item.read_bytes() if isinstance(item, Path) else item
        h.update(raw.encode() if isinstance(raw, str) else raw)
        h.update(b"\0")
    return h.hexdigest()[:16]


def seal(path: Path) -> None:
    """Record the content hash of the cache entry `path` beside it (PATH.sha256)."""
    atomic_write(_seal_of(path), content_hash(path))


def write_sealed(path: Path, data: bytes | str) -> None:
    """Write a cache entry atomically, with the content hash that `intact` checks."""
    atomic_write(path, data)
    atomic_write(_seal_of(path), content_hash(data))


def intact(path: Path) -> bool:
    """Whether the cache entry `path` exists with the contents it was sealed with.

    An entry whose contents changed since (or that has no seal) is reported and treated as
    absent, so the caller rebuilds it and overwrites it.
    """
    if not path.is_file():
        return False
    recorded = _seal_of(path)
    if recorded.is_file() and recorded.read_text() == content_hash(path):
        return True
    log.warning("tinybench: cache entry %s does not match its recorded hash; rebuilding it", path)
    return False


@contextmanager
def locked(entry: Path) -> Iterator[None]:
    """Hold the cache entry `entry` (a file or a folder) for this process and thread.

    Build a cache entry as `with locked(entry): if not intact(entry): build it`: of two
    processes (or threads) that want the same entry at once, one builds it while the other
    waits, then finds it intact and reuses it. The lock is an flock on ENTRY.lock beside the
    entry, released when the holder exits, even when it is killed.
    """
    lock = entry.with_name(entry.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _seal_of(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")
