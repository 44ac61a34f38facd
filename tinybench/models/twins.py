"""The task models tinybench ships: each task's seed-0 conversion, frozen so figures do not drift.

TensorFlow's converter writes different bytes from one release to the next, so a task model
converted on every machine would make each run "not comparable" with a baseline measured
elsewhere. The seed-0 model of each task is therefore converted once and shipped in
`tinybench/models/twins/`; `tinybench models freeze` converts them again after a task's
definition changed. The manifest beside them records each file's hash, the TensorFlow that
wrote it and the hash of the definition it came from, so a stale or damaged twin is caught.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

from tinybench.errors import ConfigError
from tinybench.models import convert
from tinybench.paths import atomic_write, cache_dir, content_hash
from tinybench.tasks import Task, base, get_task

FOLDER = Path(__file__).with_name("twins")
MANIFEST = FOLDER / "manifest.json"
SEED = 0  # the seed whose conversion is shipped


@dataclass(frozen=True)
class Twin:
    """One shipped model: its file's content hash, the TensorFlow that wrote it, its source."""

    file: str
    model_hash: str
    tensorflow: str
    definition: str  # definition_hash() of the task when it was frozen


def definition_hash(task: Task) -> str:
    """What decides a twin's bytes besides TensorFlow: the task's code and the converter's."""
    return content_hash(*(inspect.getsource(module) for module in
                          (inspect.getmodule(task.build), base, convert)))


def manifest() -> dict[str, Twin]:
    if not MANIFEST.is_file():
        return {}
    return {name: Twin(**entry) for name, entry in json.loads(MANIFEST.read_text()).items()}


def twin_path(task: str) -> Path:
    """The shipped model of `task`, checked against the manifest."""
    entry = manifest().get(task)
    path = FOLDER / entry.file if entry else None
    if path is None or not path.is_file():
        raise ConfigError(f"the shipped model of {task} is missing from {FOLDER}; reinstall "
                          f"tinybench, or write it with `tinybench models freeze {task}`")
    if content_hash(path) != entry.model_hash:
        raise ConfigError(f"{path} does not match its manifest (damaged); reinstall tinybench, or "
                          f"write it again with `tinybench models freeze {task}`")
    return path


def stale(task: Task) -> str | None:
    """Why the shipped model of `task` no longer follows from its definition, or None."""
    entry = manifest().get(task.name)
    if entry is None:
        return f"{task.name} has no shipped model"
    if entry.definition != definition_hash(task):
        return (f"{task.name}'s definition or the converter changed since its model was frozen "
                f"(with TensorFlow {entry.tensorflow}); run `tinybench models freeze {task.name}`")
    return None


def freeze(names: list[str]) -> list[Path]:
    """Convert each task at SEED with the installed TensorFlow and ship the result."""
    entries = manifest()
    paths = []
    for name in names:
        task = get_task(name)
        path = FOLDER / f"{task.name}.tflite"
        data = convert.convert_quietly(task, SEED, cache_dir("models") / f"{task.name}-freeze.log")
        atomic_write(path, data)
        entries[task.name] = Twin(path.name, content_hash(data), version("tensorflow"),
                                  definition_hash(task))
        paths.append(path)
    atomic_write(MANIFEST, json.dumps({n: asdict(e) for n, e in sorted(entries.items())},
                                      indent=1) + "\n")
    return paths
