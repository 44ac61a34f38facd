"""Accuracy mode: a labelled data set through a benchmark's firmware and its host reference.

Every input of the data set (a file, or each window of an ad01 file) is sent to the same
firmware over the same serial protocol as a benchmark run; one simulated session serves a whole
chunk of samples, and chunks may run side by side in the matrix's worker processes (-j). Each
finished chunk's device results are appended to a progress file keyed by
the firmware and the data set, so an interrupted run resumes where it stopped. The device's
outputs and the host reference's give the task's metric side by side — top-1 for classifiers,
ROC AUC of the reconstruction error for anomaly detection, as the MLPerf Tiny runner scores
them — and the samples whose device result differs from the host's are named.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinybench.dataset import DataSet, Sample, read_dataset, write_dataset
from tinybench.errors import ConfigError, SimulationError, ToolNotFoundError
from tinybench.models.inspect import ModelInfo, inspect_model
from tinybench.models.reference import host_outputs
from tinybench.paths import cache_dir, content_hash
from tinybench.pipeline import (
    INSTRUCTION_BUDGET,
    Prepared,
    Stage,
    StageFailed,
    Stages,
    check_names,
    missing,
    prepare,
    stage_errors,
)
from tinybench.protocol import all_outputs, many_inputs_script, parse_session
from tinybench.provenance import make_record
from tinybench.results import Accuracy, Memory, OutputCheck, Record
from tinybench.spec import RunSpec
from tinybench.workers import in_workers

if TYPE_CHECKING:
    from tinybench.simulators import Simulator

AUC_TASKS = frozenset({"ad01"})  # scored by ROC AUC of the anomaly score; the others by top-1
CHUNK = 100  # samples per simulated session: the unit of progress and of resuming
Progress = Callable[[int, int, float | None], None]  # samples done, total, seconds left
HostReference = Callable[[Path, list[np.ndarray], str], list[np.ndarray]]


@dataclass(frozen=True)
class DeviceResult:
    """What the device returned for one sample: outputs and counters of each of its inputs."""

    file: str
    outputs: tuple[tuple[int, ...], ...]
    cycles: tuple[int, ...]
    instructions: tuple[int, ...]
    arena_bytes: int | None  # as the session that ran it reported
    stack_bytes: int | None


def metric_of(task: str) -> str:
    return "auc" if task in AUC_TASKS else "top1"


def no_progress(done: int, total: int, seconds_left: float | None) -> None:
    """The default progress report: none."""


# Runs a list of inputs on the device, one inference each, and says what came back. The
# simulators' is `simulated`; the board runner brings its own.
ChunkRunner = Callable[[list[bytes]], "ChunkResult"]


@dataclass(frozen=True)
class ChunkResult:
    outputs: list[tuple[int, ...]]  # one per input, in order
    cycles: list[int]
    instructions: list[int]  # empty where the device cannot count them (a real board)
    arena_bytes: int | None
    stack_bytes: int | None


def run_accuracy(spec: RunSpec, data: Path, stages: Stages | None = None,
                 progress: Progress = no_progress, reference: HostReference = host_outputs,
                 chunk: int = CHUNK, kept: Path | None = None, jobs: int = 1) -> Record:
    """The task's metric over the data set in `data`, in the spec's simulator and on the host.

    A failing stage gives a failed record; samples finished by an earlier, interrupted run of
    the same firmware and data are reused from the folder `kept` (default: the cache). The
    firmware is built once; `jobs` simulated sessions run its chunks at a time.
    """
    stages = stages or Stages()
    board = check_names(spec, stages)
    reason = missing(spec, stages)
    if reason:
        raise ToolNotFoundError(reason)
    dataset = read_dataset(data)
    simulator = stages.simulators[spec.simulator]
    try:
        prepared = prepare(spec, stages)
        tools = {**prepared.tools, "simulator": simulator.version()}
        with stage_errors(Stage.SIMULATE, prepared.model_hash, tools):
            return evaluate(prepared, stages.model(spec.task, spec.weights), dataset, tools,
                            partial(simulated, simulator, prepared), stages, progress,
                            reference, chunk, kept, jobs)
    except StageFailed as failed:
        return make_record(spec, board, failed.model_hash, failed.tools, status="failed",
                           stage=failed.stage, reason=str(failed))


def simulated(simulator: Simulator, prepared: Prepared, inputs: list[bytes]) -> ChunkResult:
    """Infer once on each input in one simulated session."""
    result = simulator.run(prepared.firmware.elf, prepared.firmware.board,
                           many_inputs_script(inputs), INSTRUCTION_BUDGET * len(inputs))
    session = parse_session(result.uart_output)
    outputs = all_outputs(result.uart_output)
    if session.errors or len(outputs) != len(inputs) or len(result.marks) != 2 * len(inputs):
        problem = "; ".join(session.errors) or (
            f"{len(outputs)} results and {len(result.marks)} cycle-counter reads for "
            f"{len(inputs)} inferences")
        raise SimulationError(f"the firmware did not complete every inference: {problem}")
    starts, ends = result.marks[0::2], result.marks[1::2]
    return ChunkResult(outputs, [e.cycles - s.cycles for s, e in zip(starts, ends, strict=True)],
                       [e.instructions - s.instructions for s, e in zip(starts, ends, strict=True)],
                       session.arena_bytes, session.stack_bytes)


def evaluate(prepared: Prepared, model: Path, dataset: DataSet, tools: dict[str, str],
             run_chunk: ChunkRunner, stages: Stages, progress: Progress = no_progress,
             reference: HostReference = host_outputs, chunk: int = CHUNK,
             kept: Path | None = None, jobs: int = 1) -> Record:
    """Every sample on the device (chunk by chunk, resumable) and on the host: the record."""
    spec = prepared.spec
    info = inspect_model(model)
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise ConfigError(f"{model.name} has {len(info.inputs)} inputs and {len(info.outputs)} "
                          "outputs; accuracy mode scores models with one of each")
    input_bytes = math.prod(info.inputs[0].shape)
    inputs = {s.file: dataset.inputs(s, input_bytes) for s in dataset.samples}
    path = _progress_file(prepared, dataset, tools["simulator"], kept or cache_dir("accuracy"))
    device = device_results(dataset, inputs, run_chunk, path, progress, chunk, jobs)
    backend = stages.backends[spec.backend]
    host = _host(model, info, dataset, inputs, backend.reference, reference)
    got = {file: [np.array(o, dtype=np.int16) for o in r.outputs] for file, r in device.items()}
    worst = max(int(np.abs(g - h.astype(np.int16)).max())
                for s in dataset.samples for g, h in zip(got[s.file], host[s.file], strict=True))
    metric = metric_of(spec.task_name)
    score = _scorer(metric, info, inputs)
    differing = tuple(s.file for s in dataset.samples
                      if _differs(metric, got[s.file], host[s.file], backend.output_tolerance))
    accuracy = Accuracy(metric=metric, device=score(dataset.samples, got),
                        host=score(dataset.samples, host), samples=len(dataset.samples),
                        data_hash=dataset.hash, differing=differing)
    cycles = [c for r in device.values() for c in r.cycles]
    instructions = [n for r in device.values() for n in r.instructions]
    return make_record(spec, prepared.firmware.board, prepared.model_hash, tools,
                       options={"data": dataset.hash},
                       cycles=int(statistics.median(cycles)),
                       instructions=int(statistics.median(instructions)) if instructions else None,
                       memory=Memory.from_report(prepared.memory),
                       arena_bytes=_largest(r.arena_bytes for r in device.values()),
                       stack_bytes=_largest(r.stack_bytes for r in device.values()),
                       check=OutputCheck(inputs=len(cycles), max_abs_diff=worst,
                                         tolerance=backend.output_tolerance,
                                         reference=backend.reference),
                       accuracy=accuracy)


def _host(model: Path, info: ModelInfo, dataset: DataSet, inputs: dict[str, list[bytes]],
          engine: str, reference: HostReference) -> dict[str, list[np.ndarray]]:
    """The host reference's outputs for every input of every sample, in one engine run."""
    shape = info.inputs[0].shape
    flat = [np.frombuffer(x, dtype=np.int8).reshape(shape) for s in dataset.samples
            for x in inputs[s.file]]
    outputs = iter(reference(model, flat, engine))
    return {s.file: [np.asarray(next(outputs)).ravel() for _ in inputs[s.file]]
            for s in dataset.samples}


def device_results(dataset: DataSet, inputs: dict[str, list[bytes]], run_chunk: ChunkRunner,
                   path: Path, progress: Progress, chunk: int, jobs: int = 1
                   ) -> dict[str, DeviceResult]:
    """Every sample's device result, in the data set's order: from the progress file at
    `path`, then the rest in chunks of `chunk` samples, `jobs` chunks at a time (each in its
    own worker process when more than one; `run_chunk` must then be picklable), each chunk's
    results appended to the file as soon as it finished."""
    done = _load_progress(path)
    left = [s for s in dataset.samples if s.file not in done]
    parts = chunks(left, chunk)
    total, started, ran_now = len(dataset.samples), time.monotonic(), 0
    progress(total - len(left), total, None if left else 0.0)

    def finished(index: int, ran: ChunkResult) -> None:
        nonlocal ran_now
        results = split(parts[index], inputs, ran)
        with path.open("a") as file:
            file.writelines(json.dumps(asdict(result)) + "\n" for result in results)
        done.update((r.file, r) for r in results)
        ran_now += len(results)
        rate = (time.monotonic() - started) / ran_now
        progress(total - len(left) + ran_now, total, rate * (len(left) - ran_now))

    tensors = [[x for s in part for x in inputs[s.file]] for part in parts]
    if jobs > 1 and len(parts) > 1:
        names = [f"samples {part[0].file}…{part[-1].file}" for part in parts]
        in_workers(run_chunk, tensors, range(len(parts)), min(jobs, len(parts)),
                   lambda index: None, finished, names, preload=["tinybench.accuracy"])
    else:
        for index, part in enumerate(tensors):
            finished(index, run_chunk(part))
    return {s.file: done[s.file] for s in dataset.samples}


def chunks(samples: list[Sample], size: int) -> list[list[Sample]]:
    """`samples` cut into consecutive lists of `size` (the last one shorter)."""
    return [samples[first:first + size] for first in range(0, len(samples), size)]


def split(part: list[Sample], inputs: dict[str, list[bytes]], ran: ChunkResult
          ) -> list[DeviceResult]:
    """A chunk's results, one per sample: each sample's share of its inputs' results."""
    results, at = [], 0
    for sample in part:
        n = len(inputs[sample.file])
        results.append(DeviceResult(sample.file, tuple(ran.outputs[at:at + n]),
                                    tuple(ran.cycles[at:at + n]),
                                    tuple(ran.instructions[at:at + n]),
                                    ran.arena_bytes, ran.stack_bytes))
        at += n
    return results


def _progress_file(prepared: Prepared, dataset: DataSet, device: str, folder: Path) -> Path:
    """Where finished samples of this firmware, data set and device are kept."""
    key = content_hash(prepared.firmware.key, dataset.hash, device)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{prepared.spec.label.replace('/', '-')}-{key}.jsonl"


def _load_progress(path: Path) -> dict[str, DeviceResult]:
    """The finished samples in a progress file; a line cut short by a kill is ignored."""
    done = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue
            done[raw["file"]] = DeviceResult(
                raw["file"], tuple(map(tuple, raw["outputs"])), tuple(raw["cycles"]),
                tuple(raw["instructions"]), raw["arena_bytes"], raw["stack_bytes"])
    return done


def _largest(values) -> int | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _differs(metric: str, device: list[np.ndarray], host: list[np.ndarray],
             tolerance: int) -> bool:
    """Whether a sample's device result differs from the host's: outputs beyond the backend's
    tolerance, or (a classifier) another top-1 class."""
    for got, want in zip(device, host, strict=True):
        if int(np.abs(got - want.astype(np.int16)).max()) > tolerance:
            return True
        if metric == "top1" and int(np.argmax(got)) != int(np.argmax(want)):
            return True
    return False


Scorer = Callable[[tuple[Sample, ...], dict[str, list[np.ndarray]]], float]


def _scorer(metric: str, info: ModelInfo, inputs: dict[str, list[bytes]]) -> Scorer:
    """How a set of outputs per sample becomes the task's metric."""
    if metric == "top1":
        return lambda samples, outputs: top1(
            [int(np.argmax(outputs[s.file][0])) for s in samples], [s.label for s in samples])
    return lambda samples, outputs: roc_auc(anomaly_scores(samples, outputs, inputs, info),
                                            [s.label for s in samples])


def anomaly_scores(samples: tuple[Sample, ...], outputs: dict[str, list[np.ndarray]],
                   inputs: dict[str, list[bytes]], info: ModelInfo) -> list[float]:
    """Each file's anomaly score: the mean reconstruction error over its windows."""
    return [float(np.mean([reconstruction_error(x, y, info.inputs[0], info.outputs[0])
                           for x, y in zip(inputs[s.file], outputs[s.file], strict=True)]))
            for s in samples]


def top1(predicted: list[int], labels: list[int]) -> float:
    """The fraction of samples whose predicted class is their label."""
    return float(np.mean(np.array(predicted) == np.array(labels)))


def reconstruction_error(window: bytes, output: np.ndarray, source, sink) -> float:
    """An autoencoder's anomaly score of one window: the mean squared difference between its
    input and its output, both dequantized."""
    x = (np.frombuffer(window, dtype=np.int8).astype(np.float64) - (source.zero_point or 0))
    y = (np.asarray(output, dtype=np.float64).ravel() - (sink.zero_point or 0))
    return float(np.mean((x * (source.scale or 1.0) - y * (sink.scale or 1.0)) ** 2))


def roc_auc(scores: list[float], labels: list[int]) -> float:
    """Area under the ROC curve of `scores` for the positive label 1 (normal is 0), from ranks:
    the chance that a random anomalous sample scores above a random normal one, ties half."""
    values, positive = np.asarray(scores, dtype=np.float64), np.asarray(labels) != 0
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise ConfigError("ROC AUC needs normal (label 0) and anomalous (label 1) samples; the "
                          "data set has only one kind")
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # ties share their mean rank
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def synthetic_dataset(task: str, model: Path, folder: Path, count: int, seed: int = 0,
                      engine: str = "litert", windows: int = 4, stride: int = 128) -> DataSet:
    """A labelled data set of seeded random inputs, for tests and trials; not real data.

    Labels follow the host reference, so that the metric means something: a classifier's
    label is the host's top-1 class, except every fourth sample's, which is the next class; an
    ad01 file is anomalous when its host score is above the median, except every fifth.
    """
    info = inspect_model(model)
    input_bytes = math.prod(info.inputs[0].shape)
    auc = metric_of(task) == "auc"
    size = input_bytes + (windows - 1) * stride if auc else input_bytes
    classes = 2 if auc else math.prod(info.outputs[0].shape)
    window = (input_bytes, stride) if auc else (None, None)
    rng = np.random.default_rng(seed)
    unlabelled = write_dataset(folder, (
        (Sample(f"{task}_{i:05d}.bin", classes, 0, *window),
         rng.integers(-128, 128, size=size, dtype=np.int8).tobytes()) for i in range(count)))
    inputs = {s.file: unlabelled.inputs(s, input_bytes) for s in unlabelled.samples}
    host = _host(model, info, unlabelled, inputs, engine, host_outputs)
    if auc:
        scores = anomaly_scores(unlabelled.samples, host, inputs, info)
        median = float(np.median(scores))
        labels = [int((score > median) != (i % 5 == 4)) for i, score in enumerate(scores)]
    else:
        labels = [(int(np.argmax(host[s.file][0])) + (i % 4 == 3)) % classes
                  for i, s in enumerate(unlabelled.samples)]
    return write_dataset(folder, ((replace(s, label=label), unlabelled.data(s))
                                  for s, label in zip(unlabelled.samples, labels, strict=True)))
