"""Accuracy mode's pure parts: the data-set format, the metrics, resuming chunked device runs."""

from __future__ import annotations

import itertools
import json
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from tinybench.accuracy import ChunkResult, chunks, device_results, roc_auc, split, top1
from tinybench.cli import main
from tinybench.dataset import LABELS, Sample, export_folder, read_dataset, write_dataset
from tinybench.errors import ConfigError


def test_a_written_data_set_reads_back_in_the_runners_format(tmp_path: Path):
    written = write_dataset(tmp_path, [(Sample("a.bin", 12, 3), b"\1\2"),
                                       (Sample("b.bin", 2, 1, 4, 2), bytes(range(8)))])
    assert (tmp_path / LABELS).read_text() == "a.bin,12,3\nb.bin,2,1,4,2\n"
    found = read_dataset(tmp_path)
    assert found == written and found.hash == written.hash
    assert found.inputs(found.samples[0], 2) == [b"\1\2"]
    # ad01: windows of bytes_to_send every stride bytes, the last one whole
    assert found.inputs(found.samples[1], 4) == [bytes([0, 1, 2, 3]), bytes([2, 3, 4, 5]),
                                                 bytes([4, 5, 6, 7])]


def test_labels_with_spaces_and_blank_lines_are_read(tmp_path: Path):
    (tmp_path / "x.bin").write_bytes(b"\0")
    (tmp_path / LABELS).write_text("x.bin, 12, 7\n\n")
    assert read_dataset(tmp_path).samples == (Sample("x.bin", 12, 7),)


@pytest.mark.parametrize(("labels", "message"), [
    (None, "has no y_labels.csv"),
    ("x.bin,12\n", "expected 'file, classes, label'"),
    ("x.bin,12,seven\n", "must be integers"),
    ("x.bin,12,12\n", "label 12 is outside 0..11"),
    ("y.bin,12,1\n", "y.bin is not in"),
    ("", "lists no samples"),
])
def test_a_bad_data_set_is_one_clear_error(tmp_path: Path, labels, message):
    (tmp_path / "x.bin").write_bytes(b"\0")
    if labels is not None:
        (tmp_path / LABELS).write_text(labels)
    with pytest.raises(ConfigError, match=message):
        read_dataset(tmp_path)


def test_a_sample_of_the_wrong_size_is_refused(tmp_path: Path):
    found = write_dataset(tmp_path, [(Sample("a.bin", 12, 3), b"\1\2"),
                                     (Sample("b.bin", 2, 0, 4, 2), b"\1\2")])
    with pytest.raises(ConfigError, match="has 2 bytes, the model's input has 3"):
        found.inputs(found.samples[0], 3)
    with pytest.raises(ConfigError, match="less than one window"):
        found.inputs(found.samples[1], 4)


def test_export_makes_a_data_set_from_class_folders(tmp_path: Path):
    source = tmp_path / "in"
    (source / "0").mkdir(parents=True)
    (source / "1").mkdir()
    np.save(source / "0" / "quiet.npy", np.arange(-2, 2, dtype=np.int8).reshape(2, 2))
    (source / "1" / "loud.bin").write_bytes(b"\1\2\3\4")
    found = export_folder(source, tmp_path / "out", 4)
    assert found.samples == (Sample("0_quiet.bin", 2, 0), Sample("1_loud.bin", 2, 1))
    assert read_dataset(tmp_path / "out").data(found.samples[0]) == bytes([254, 255, 0, 1])
    np.save(source / "1" / "float.npy", np.zeros(4, dtype=np.float32))
    with pytest.raises(ConfigError, match="holds float32 values"):
        export_folder(source, tmp_path / "again", 4)


def test_top1_is_the_fraction_predicted_right():
    assert top1([1, 2, 3, 4], [1, 2, 0, 0]) == 0.5


def test_roc_auc_counts_pairs_ordered_right_with_ties_half():
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5
    rng = np.random.default_rng(1)
    scores, labels = rng.integers(0, 6, 40).astype(float), rng.integers(0, 2, 40)
    pairs = [(p, n) for p, n in itertools.product(scores[labels == 1], scores[labels == 0])]
    expected = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert roc_auc(list(scores), list(labels)) == pytest.approx(expected)
    with pytest.raises(ConfigError, match="only one kind"):
        roc_auc([0.1, 0.2], [1, 1])


def test_an_interrupted_run_keeps_finished_chunks_and_resumes_after_them(tmp_path: Path):
    found = write_dataset(tmp_path / "d",
                          [(Sample(f"{i}.bin", 4, 0), bytes([i])) for i in range(5)])
    inputs = {s.file: [found.data(s)] for s in found.samples}
    ran: list[list[bytes]] = []

    def device(tensors: list[bytes]) -> ChunkResult:
        ran.append(tensors)
        if len(ran) == 2:
            raise KeyboardInterrupt
        return ChunkResult([(t[0],) for t in tensors], [10] * len(tensors), [7] * len(tensors),
                           100, 50)

    path = tmp_path / "kept.jsonl"
    with pytest.raises(KeyboardInterrupt):
        device_results(found, inputs, device, path, lambda *_: None, chunk=2)
    assert [json.loads(line)["file"] for line in path.read_text().splitlines()] == ["0.bin",
                                                                                  "1.bin"]
    progress = []
    results = device_results(found, inputs, device, path, lambda *a: progress.append(a[:2]),
                             chunk=2)
    assert ran[2:] == [[b"\2", b"\3"], [b"\4"]]  # only what was left
    assert [r.outputs for r in results.values()] == [((i,),) for i in range(5)]
    assert progress == [(2, 5), (4, 5), (5, 5)]


def test_samples_are_cut_into_chunks_and_a_chunks_results_shared_out_by_inputs(tmp_path: Path):
    samples = [Sample(f"{i}.bin", 2, 0) for i in range(5)]
    assert chunks(samples, 2) == [samples[0:2], samples[2:4], samples[4:]]
    assert chunks(samples, 9) == [samples] and chunks([], 3) == []
    inputs = {"0.bin": [b"a", b"b"], "1.bin": [b"c"]}  # an ad01-like file of two windows
    ran = ChunkResult([(1,), (2,), (3,)], [10, 11, 12], [], 100, 50)
    first, second = split(samples[:2], inputs, ran)
    assert (first.file, first.outputs, first.cycles, first.instructions) == (
        "0.bin", ((1,), (2,)), (10, 11), ())
    assert (second.outputs, second.cycles, second.arena_bytes) == (((3,),), (12,), 100)


def echo_first_chunk_last(kept: Path, tensors: list[bytes]) -> ChunkResult:
    """A device for worker processes: each input's first byte back; the chunk holding input 0
    waits (up to 30 s) until another chunk's results are kept."""
    deadline = time.monotonic() + 30
    while tensors[0] == b"\0" and not kept.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return ChunkResult([(t[0],) for t in tensors], [t[0] for t in tensors], [], None, None)


def test_chunks_in_worker_processes_are_merged_in_sample_order_and_kept(tmp_path: Path):
    found = write_dataset(tmp_path / "d",
                          [(Sample(f"{i}.bin", 4, 0), bytes([i])) for i in range(7)])
    inputs = {s.file: [found.data(s)] for s in found.samples}
    path, progress = tmp_path / "kept.jsonl", []
    results = device_results(found, inputs, partial(echo_first_chunk_last, path), path,
                             lambda *a: progress.append(a[:2]), chunk=2, jobs=2)
    assert list(results) == [s.file for s in found.samples]
    assert [r.outputs for r in results.values()] == [((i,),) for i in range(7)]
    assert [r.cycles for r in results.values()] == [(i,) for i in range(7)]
    kept = [json.loads(line)["file"] for line in path.read_text().splitlines()]
    assert sorted(kept) == sorted(results) and kept[:2] != ["0.bin", "1.bin"]  # as finished
    assert progress[0] == (0, 7) and progress[-1] == (7, 7) and len(progress) == 5

    def no_device(tensors: list[bytes]) -> ChunkResult:
        raise AssertionError("every sample was kept")

    assert device_results(found, inputs, no_device, path, lambda *_: None, 2, 2) == results


def test_accuracy_refuses_a_folder_that_is_not_a_data_set(tmp_path: Path, capsys):
    assert main(["accuracy", "--task", "kws01", "--data", str(tmp_path)]) == 2
    assert "has no y_labels.csv" in capsys.readouterr().err
