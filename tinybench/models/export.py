"""A task's .tflite file: the shipped twin for the default seed, else converted and cached."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path

from tinybench.models import convert, twins
from tinybench.paths import cache_dir, content_hash, intact, locked, write_sealed
from tinybench.tasks import Task, base, get_task


def export(task: str, seed: int = twins.SEED) -> Path:
    """The int8 .tflite of `task` with weights from `seed`.

    The default seed's model ships with tinybench, so it is the same file everywhere; other
    seeds are converted with the installed TensorFlow on first use and cached.
    """
    spec = get_task(task)
    if seed == twins.SEED:
        return twins.twin_path(spec.name)
    path = cache_dir("models") / f"{spec.name}-s{seed}-{_cache_key(spec, seed)}.tflite"
    with locked(path):
        if not intact(path):
            write_sealed(path, convert.convert_quietly(spec, seed, path.with_suffix(".log")))
    return path


def _cache_key(task: Task, seed: int) -> str:
    """Changes when the task's model code, the converter or TensorFlow changes."""
    return content_hash(Path(inspect.getfile(task.build)), Path(base.__file__),
                        Path(convert.__file__), version("tensorflow"), str(seed))
