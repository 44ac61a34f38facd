"""Upstream source components no package registry ships: pins, lookup, download.

Each component in deps.toml is found either through its environment variable
(TINYBENCH_<NAME>_DIR, pointing at your own checkout) or in the cache, where
`fetch` unpacks the pinned archive. Nothing from upstream ever enters this repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import tomllib
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tinybench.errors import ConfigError, ToolNotFoundError
from tinybench.names import lookup
from tinybench.paths import atomic_write, cache_dir

PIN_FILE = ".tinybench-pin.json"


@dataclass(frozen=True)
class PinnedFile:
    """A file of a component that tinybench uses as it is (a model), pinned by its content."""

    path: str  # inside the checkout
    sha256: str


@dataclass(frozen=True)
class Component:
    name: str
    title: str
    repo: str  # owner/name on GitHub
    commit: str
    url: str
    marker: str  # a file every valid checkout contains
    md5: str | None = None  # of the archive at `url`
    files: dict[str, PinnedFile] = field(default_factory=dict)  # by name, checked at each use

    @property
    def env(self) -> str:
        return f"TINYBENCH_{self.name.upper().replace('-', '_')}_DIR"

    def how_to_get(self) -> str:
        return (f"run `tinybench deps fetch {self.name}`, or set {self.env} to your copy "
                f"of github.com/{self.repo} at {self.commit[:12]}")


@dataclass(frozen=True)
class Status:
    component: Component
    path: Path | None  # where it is, when usable
    state: str  # "cached", "env", "missing", "stale" (cached at another pin), "invalid" (bad env)


@cache
def components() -> dict[str, Component]:
    raw = tomllib.loads(Path(__file__).with_name("deps.toml").read_text())
    return {name: Component(name=name, **{**entry, "files": {
                key: PinnedFile(**pinned) for key, pinned in entry.get("files", {}).items()}})
            for name, entry in raw.items()}


def get(name: str) -> Component:
    return lookup("component", name, components())


def _cached_path(component: Component) -> Path:
    return cache_dir("deps") / component.name


def status(component: Component) -> Status:
    """Where `component` is and whether it can be used."""
    env = os.environ.get(component.env)
    if env:
        path = Path(env).expanduser()
        ok = (path / component.marker).is_file()
        return Status(component, path if ok else None, "env" if ok else "invalid")
    path = _cached_path(component)
    pin = path / PIN_FILE
    if not pin.is_file():
        return Status(component, None, "missing")
    if json.loads(pin.read_text()).get("commit") != component.commit:
        return Status(component, None, "stale")
    return Status(component, path, "cached")


def locate(name: str) -> Path:
    """The checkout of component `name`; ToolNotFoundError saying how to get it if absent."""
    s = status(get(name))
    if s.path is not None:
        return s.path
    c = s.component
    if s.state == "invalid":
        raise ToolNotFoundError(f"{c.env}={os.environ[c.env]} has no {c.marker}; point it at a "
                                f"checkout of github.com/{c.repo} at {c.commit[:12]}")
    why = "is cached at another pin" if s.state == "stale" else "is missing"
    raise ToolNotFoundError(f"{c.title} ({c.name}) {why}: {c.how_to_get()}")


def pinned_file(name: str, key: str) -> Path:
    """File `key` of component `name`, checked against its pinned sha256 on every use (a copy
    given through the environment variable too); ToolNotFoundError saying how to get it."""
    component = get(name)
    pinned = lookup(f"file of {name}", key, component.files)
    path = locate(name) / pinned.path
    if not path.is_file():
        raise ToolNotFoundError(f"{path} is missing: {component.how_to_get()}")
    digest = _sha256(path)
    if digest != pinned.sha256:
        raise ToolNotFoundError(f"{path} has sha256 {digest[:12]}…, the pin says "
                                f"{pinned.sha256[:12]}… (another version, or damaged): "
                                f"{component.how_to_get()}")
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def missing(*names: str) -> str | None:
    """A one-line reason when any of `names` is unusable, else None."""
    for name in names:
        try:
            locate(name)
        except ToolNotFoundError as error:
            return str(error)
    return None


def fetch(name: str, archive: Path | None = None, verify: bool = True) -> Path:
    """Download (or take `archive`), check and unpack component `name` into the cache."""
    component = get(name)
    dest = _cached_path(component)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{name}.") as tmp:
        work = Path(tmp)
        if archive is None:
            archive = work / Path(component.url).name
            _download(component, archive)
        elif not archive.is_file():
            raise ConfigError(f"archive {archive} does not exist")
        if verify and component.md5:
            digest = hashlib.md5(archive.read_bytes()).hexdigest()
            if digest != component.md5:
                raise ConfigError(f"{archive.name} has md5 {digest}, the pin says {component.md5}; "
                                  "the download is damaged or is another version")
        tree = _unpack(archive, work / "tree")
        if not (tree / component.marker).is_file():
            raise ConfigError(f"{archive.name} holds no {component.marker}: not {component.repo}")
        if verify:
            _check_files(component, tree, archive.name)
        checked = verify and component.md5 is not None
        pin = {"commit": component.commit, "url": component.url, "md5_checked": checked}
        atomic_write(tree / PIN_FILE, json.dumps(pin, indent=1) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        tree.rename(dest)
    return dest


def _check_files(component: Component, tree: Path, archive: str) -> None:
    """ConfigError unless every pinned file of `component` is in `tree` with its sha256."""
    for pinned in component.files.values():
        path = tree / pinned.path
        if not path.is_file():
            raise ConfigError(f"{archive} holds no {pinned.path}; is it {component.repo} at "
                              f"{component.commit[:12]}?")
        if _sha256(path) != pinned.sha256:
            raise ConfigError(f"{archive}: {pinned.path} differs from its pinned sha256; the "
                              "download is damaged or is another version")


def _download(component: Component, into: Path) -> None:
    try:
        with urllib.request.urlopen(component.url, timeout=60) as response, into.open("wb") as f:
            shutil.copyfileobj(response, f)
    except (urllib.error.URLError, OSError) as error:
        raise ToolNotFoundError(
            f"cannot download {component.url} ({error}); download it where you can and run "
            f"`tinybench deps fetch {component.name} --archive FILE`, or set {component.env}"
        ) from error


def _unpack(archive: Path, into: Path) -> Path:
    """Extract a .zip or .tar.* refusing paths that leave `into`; return its single top folder."""
    into.mkdir()
    root = into.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                if not (root / member).resolve().is_relative_to(root):
                    raise ConfigError(f"{archive.name}: entry '{member}' escapes the target folder")
            z.extractall(root)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            try:
                t.extractall(root, filter="data")
            except tarfile.FilterError as error:
                raise ConfigError(f"{archive.name}: unsafe entry: {error}") from error
    else:
        raise ConfigError(f"{archive.name} is neither a zip nor a tar archive")
    entries = list(root.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else root
