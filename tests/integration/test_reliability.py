"""Reliability with the real tools: damaged build and TVM caches are rebuilt, models too big
for a board fail with both numbers, and `tinybench run` with a missing piece still runs the
rest of the matrix (issue 9)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinybench.backends.tvm import GLUE, KERNELS, TvmBackend
from tinybench.boards import get_board
from tinybench.firmware import build_firmware
from tinybench.firmware.minimal import minimal_sources
from tinybench.pipeline import run
from tinybench.spec import RunSpec

pytestmark = pytest.mark.toolchain
TVM = TvmBackend()


def _damage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_damaged_object_or_image_is_rebuilt(private_cache, caplog):
    board = get_board("nrf52840")
    first = build_firmware(minimal_sources(), board)
    image = first.elf.read_bytes()
    (obj,) = (first.elf.parent / "obj").glob("harness/harness-*.o")
    _damage(obj)
    again = build_firmware(minimal_sources(), board)
    assert [s.name for s in again.compiled] == ["harness.c"]
    assert not again.linked  # the object came out the same, so the image is still right
    _damage(first.elf)
    relinked = build_firmware(minimal_sources(), board)
    assert (relinked.compiled, relinked.linked) == ((), True)
    assert relinked.elf.read_bytes() == image
    assert caplog.text.count("does not match its recorded hash") == 2


def _model(folder: Path, name: str, layers) -> Path:
    """An int8 .tflite of a Keras model made of `layers` applied to an input, via the
    exporter's own conversion (seeded weights, calibrated)."""
    import keras

    from tinybench.models.convert import convert
    from tinybench.tasks.base import Task

    def build() -> keras.Model:
        inputs = keras.Input(layers[0], batch_size=1)
        x = inputs
        for layer in layers[1:]:
            x = layer()(x)
        return keras.Model(inputs, x)

    task = Task(name=name, title=name, architecture="test", input_shape=(1, *layers[0]),
                output_shape=(), reference_macs=0, reference_ops=frozenset(), build=build)
    path = folder / f"{name}.tflite"
    path.write_bytes(convert(task))
    return path


@pytest.fixture(scope="module")
def models(private_cache, tmp_path_factory):
    from keras import layers

    folder = tmp_path_factory.mktemp("models")
    return {
        "small": _model(folder, "small", [(16,), lambda: layers.Dense(8)]),
        # 1024 x 1152 int8 weights: 1152 KiB, more than either board's 1024 KiB of Flash
        "wide": _model(folder, "wide", [(1024,), lambda: layers.Dense(1152)]),
        # a 96 x 96 x 64 int8 activation: 576 KiB, more than either board's RAM
        "tall": _model(folder, "tall", [(96, 96, 1), lambda: layers.Conv2D(64, 3, padding="same")]),
    }


@pytest.mark.tvm
@pytest.mark.tf
@pytest.mark.slow
def test_damaged_tvm_sources_are_generated_again(models, tmp_path, caplog):
    board = get_board("stm32f746")
    first = TVM.generate(models["small"], board, tmp_path / "a")
    kernels = first.sources[0].read_text()
    (cached,) = (Path(os.environ["TINYBENCH_CACHE"]) / "tvm").glob(f"*/{KERNELS}")
    _damage(cached)
    again = TVM.generate(models["small"], board, tmp_path / "b")
    assert again.sources[0].read_text() == cached.read_text() == kernels
    assert (tmp_path / "b" / GLUE).read_text() == (tmp_path / "a" / GLUE).read_text()
    assert "does not match its recorded hash" in caplog.text


@pytest.mark.tvm
@pytest.mark.tf
@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "board", "memory", "at_least", "has"),
    [("wide", "stm32f746", "Flash", 1152, 1024), ("tall", "nrf52840", "RAM", 576, 256)],
)
def test_a_model_too_big_for_the_board_fails_at_build_with_both_numbers(
    models, model, board, memory, at_least, has
):
    record = run(RunSpec(str(models[model]), "tvm", board))
    assert (record.status, record.stage) == ("failed", "build")
    match = re.search(rf"needs ([\d.]+) KiB of {memory}, {board} has {has} KiB", record.reason)
    assert match and float(match[1]) >= at_least, record.reason


@pytest.mark.tvm
@pytest.mark.tf
@pytest.mark.slow
def test_run_without_the_tflm_sources_skips_those_runs_and_completes_the_rest(
    models, private_cache, tmp_path
):
    results = tmp_path / "results.jsonl"
    env = {**os.environ, "TINYBENCH_CACHE": str(private_cache), "TINYBENCH_TFLM_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "tinybench", "run", "--task", str(models["small"]),
         "--backend", "all", "--board", "nrf52840", "--inputs", "2", "--results", results],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    for backend in ("tflm", "cmsis-nn"):
        assert f"- skipped small/{backend}/nrf52840/iss: TINYBENCH_TFLM_DIR=" in done.stdout
    (line,) = results.read_text().splitlines()
    record = json.loads(line)
    assert (record["backend"], record["status"], record["check"]["inputs"]) == ("tvm", "ok", 2)
    assert record["check"]["max_abs_diff"] <= record["check"]["tolerance"]
    assert record["cycles"] > 0
