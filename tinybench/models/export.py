"""A task's .tflite file: its official reference model (the pinned mlperf-tiny-models
component), or its twin — shipped for the default seed, else converted and cached."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path

from tinybench import deps
from tinybench.models import convert, twins
from tinybench.names import lookup
from tinybench.paths import cache_dir, content_hash, intact, locked, write_sealed
from tinybench.spec import DEFAULT_WEIGHTS, WEIGHTS
from tinybench.tasks import Task, base, get_task

REFERENCE_COMPONENT = "mlperf-tiny-models"  # deps.toml: the official models, keyed by task


def task_model(task: str, weights: str = DEFAULT_WEIGHTS) -> Path:
    """The .tflite of `task` with `weights` (spec.WEIGHTS): the shipped twin, or the official
    reference model, checked against its pinned sha256 (ToolNotFoundError saying how to get
    the component when it is absent)."""
    lookup("weights", weights, WEIGHTS)
    if weights == DEFAULT_WEIGHTS:
        return export(task)
    return _official(get_task(task).name)


def _official(task: str) -> Path:
    """The official model of `task`, checked, copied into the cache under the task's name: the
    firmware is named after its model file, and answers the MLPerf Tiny runner's `name` command
    with it (m-model-kws01)."""
    data = deps.pinned_file(REFERENCE_COMPONENT, task).read_bytes()
    path = cache_dir("models") / f"{task}-reference-{content_hash(data)}.tflite"
    with locked(path):
        if not intact(path):
            write_sealed(path, data)
    return path


def missing_weights(weights: str) -> str | None:
    """Why runs with `weights` cannot get their models here (the component is absent), or None."""
    if weights != "reference":
        return None
    reason = deps.missing(REFERENCE_COMPONENT)
    return reason and f"--weights reference needs the official models: {reason}"


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
