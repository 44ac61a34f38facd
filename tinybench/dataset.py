"""Labelled data sets in the MLPerf Tiny runner's format: a folder of binary files and y_labels.csv.

y_labels.csv has no header; each row is `file, classes, label` and, for anomaly detection
(ad01), `bytes_to_send, stride`: the file is then cut into windows of `bytes_to_send` bytes that
start every `stride` bytes, each sent to the device on its own, and the file's score is the mean
over its windows (the runner's accuracy mode). A classifier's file is one raw int8 input tensor.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tinybench.errors import ConfigError
from tinybench.paths import atomic_write, content_hash

LABELS = "y_labels.csv"


@dataclass(frozen=True)
class Sample:
    """One row of y_labels.csv: a file of the data set and its label."""

    file: str
    classes: int
    label: int
    bytes_to_send: int | None = None  # window length (ad01); None: the whole file is one input
    stride: int | None = None  # bytes between window starts (ad01)

    def row(self) -> list[str | int]:
        window = [] if self.bytes_to_send is None else [self.bytes_to_send, self.stride]
        return [self.file, self.classes, self.label, *window]


@dataclass(frozen=True)
class DataSet:
    folder: Path
    samples: tuple[Sample, ...]

    def data(self, sample: Sample) -> bytes:
        return (self.folder / sample.file).read_bytes()

    def inputs(self, sample: Sample, input_bytes: int) -> list[bytes]:
        """What the device is sent for `sample`: the whole file, or each of its windows."""
        data = self.data(sample)
        if sample.bytes_to_send is None:
            if len(data) != input_bytes:
                raise ConfigError(f"{self.folder / sample.file} has {len(data)} bytes, the "
                                  f"model's input has {input_bytes}; export the data set for "
                                  "this model (tinybench data export)")
            return [data]
        return windows(data, sample, input_bytes, self.folder)

    @property
    def hash(self) -> str:
        """A hash of the labels and every file: what makes two accuracy runs comparable."""
        return content_hash(self.folder / LABELS, *(self.folder / s.file for s in self.samples))


def windows(data: bytes, sample: Sample, input_bytes: int, where: Path) -> list[bytes]:
    """The windows of an ad01 file, as the runner cuts them."""
    size, stride = sample.bytes_to_send, sample.stride
    if size != input_bytes or not stride or stride < 1:
        raise ConfigError(f"{where / LABELS}: {sample.file} has bytes_to_send {size} and stride "
                          f"{stride}; the model's input is {input_bytes} bytes and the stride "
                          "must be at least 1")
    cut = [data[start:start + size] for start in range(0, len(data) - size + 1, stride)]
    if not cut:
        raise ConfigError(f"{where / sample.file} has {len(data)} bytes, less than one window "
                          f"of {size}")
    return cut


def read_dataset(folder: Path) -> DataSet:
    """The data set in `folder`, every row and file checked."""
    labels = folder / LABELS
    if not labels.is_file():
        raise ConfigError(f"{folder} has no {LABELS}; give a data set folder in the MLPerf Tiny "
                          "runner's format (tinybench data export makes one)")
    samples = []
    for number, row in enumerate(csv.reader(io.StringIO(labels.read_text())), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        samples.append(_sample(cells, f"{labels}:{number}"))
        if not (folder / samples[-1].file).is_file():
            raise ConfigError(f"{labels}:{number}: {samples[-1].file} is not in {folder}")
    if not samples:
        raise ConfigError(f"{labels} lists no samples")
    return DataSet(folder, tuple(samples))


def _sample(cells: list[str], where: str) -> Sample:
    if len(cells) not in (3, 5):
        raise ConfigError(f"{where}: expected 'file, classes, label' or 'file, classes, label, "
                          f"bytes_to_send, stride', got {len(cells)} fields")
    try:
        numbers = [int(cell) for cell in cells[1:]]
    except ValueError:
        raise ConfigError(f"{where}: classes, label, bytes_to_send and stride must be "
                          f"integers, got {', '.join(cells[1:])}") from None
    sample = Sample(cells[0], *numbers)
    if not 0 <= sample.label < max(sample.classes, 2):
        raise ConfigError(f"{where}: label {sample.label} is outside 0..{sample.classes - 1}")
    return sample


def write_dataset(folder: Path, entries: Iterable[tuple[Sample, bytes]]) -> DataSet:
    """Write each sample's file and then y_labels.csv (last, so a half-written set has none)."""
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    for sample, data in entries:
        atomic_write(folder / sample.file, data)
        samples.append(sample)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(s.row() for s in samples)
    atomic_write(folder / LABELS, text.getvalue())
    return DataSet(folder, tuple(samples))


def export_folder(source: Path, output: Path, input_bytes: int,
                  window: tuple[int, int] | None = None) -> DataSet:
    """A data set from a folder with one subfolder per class, named by its class number
    (0, 1, …), holding raw int8 files (`.bin`) or NumPy arrays (`.npy`, any int8 shape).

    `window` (bytes_to_send, stride) makes an ad01-style set whose files are cut into windows;
    otherwise every file must be exactly one input of `input_bytes`.
    """
    classes = sorted((d for d in source.iterdir() if d.is_dir()), key=lambda d: d.name)
    if not classes or not all(d.name.isdigit() for d in classes):
        raise ConfigError(f"{source} must hold one subfolder per class, named 0, 1, …; "
                          f"found {', '.join(d.name for d in classes) or 'none'}")
    count = max(int(d.name) for d in classes) + 1
    entries = []
    for directory in classes:
        for path in sorted(directory.iterdir()):
            if path.suffix not in (".bin", ".npy"):
                continue
            data = _int8_bytes(path)
            sample = Sample(f"{directory.name}_{path.stem}.bin", count, int(directory.name),
                            *(window or (None, None)))
            if window:
                windows(data, sample, input_bytes, path)
            elif len(data) != input_bytes:
                raise ConfigError(f"{path} has {len(data)} bytes, the model's input has "
                                  f"{input_bytes}")
            entries.append((sample, data))
    if not entries:
        raise ConfigError(f"{source} holds no .bin or .npy files in its class folders")
    return write_dataset(output, entries)


def _int8_bytes(path: Path) -> bytes:
    if path.suffix == ".bin":
        return path.read_bytes()
    import numpy as np

    array = np.load(path)
    if array.dtype != np.int8:
        raise ConfigError(f"{path} holds {array.dtype} values; give the model's int8 input "
                          "(quantize it with the input's scale and zero point)")
    return array.tobytes()
