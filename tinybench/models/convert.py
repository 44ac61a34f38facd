"""Task -> full-integer int8 .tflite with TensorFlow's converter, deterministic for a seed.

Weights are untrained but drawn from a seeded generator, and the converter calibrates on
seeded synthetic inputs, so the same seed and TensorFlow always give a byte-identical
flatbuffer (another TensorFlow release may give other bytes: see tinybench.models.twins).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

    from tinybench.tasks import Task

CALIBRATION_SAMPLES = 32


# What `convert` makes: full-integer int8 (int8 I/O, the tasks' models); TensorFlow's default
# post-training int8 quantization, which keeps float32 I/O behind QUANTIZE and DEQUANTIZE;
# a plain float32 model; full-integer 16x8 (int16 activations and I/O, int8 weights).
KINDS = ("int8", "float-io", "float32", "int16x8")


def convert(task: Task, seed: int = 0, kind: str = "int8") -> bytes:
    """Build `task`'s model with seeded weights and convert it to a flatbuffer of `kind`.

    Keras's session is cleared first: layer names, which end up in the flatbuffer, come from
    its global counters.
    """
    import keras

    keras.backend.clear_session()
    model = task.build()
    calibration = np.random.default_rng([seed, 1]).uniform(
        -1.0, 1.0, size=(CALIBRATION_SAMPLES, *task.input_shape)
    ).astype(np.float32)
    _initialise(model, np.random.default_rng(seed), calibration.reshape(-1, *task.input_shape[1:]))
    return flatbuffer(model, [(sample,) for sample in calibration], kind)


def flatbuffer(model: keras.Model, calibration: list[tuple[np.ndarray, ...]], kind: str) -> bytes:
    """`model` converted to a flatbuffer of `kind`, quantized (unless float32) on the
    `calibration` samples: one array per Keras input each, in `model.inputs`' order (the
    converter is given them by input name, as the flatbuffer may order its inputs otherwise)."""
    import tensorflow as tf

    if kind not in KINDS:
        raise ValueError(f"unknown model kind '{kind}'; choose from {', '.join(KINDS)}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if kind == "float32":
        return converter.convert()
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    names = [tensor.name for tensor in model.inputs]
    converter.representative_dataset = lambda: (dict(zip(names, sample, strict=True))
                                                for sample in calibration)
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        if kind == "int16x8" else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if kind in ("int8", "int16x8"):
        io_type = tf.int16 if kind == "int16x8" else tf.int8
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    # Dense layers per tensor, as in the MLPerf Tiny reference models (converted before
    # per-channel dense quantization became the default): per-channel FULLY_CONNECTED makes
    # the AD model larger and TFLM's arena 6x bigger than the reference's.
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    with warnings.catch_warnings():
        # it asks for input statistics that calibration provides, and its calibrator uses
        # TensorFlow's own deprecated interpreter
        warnings.filterwarnings("ignore", "Statistics for quantized inputs", UserWarning)
        warnings.filterwarnings("ignore", ".*tf.lite.Interpreter is deprecated", UserWarning)
        return converter.convert()


def convert_quietly(task: Task, seed: int, log: Path) -> bytes:
    """`convert`, with TensorFlow's progress output sent to `log` instead of the terminal."""
    with _output_to(log):
        return convert(task, seed)


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """Send everything written to stdout and stderr, C++ logs included, to `log`.

    TensorFlow and Keras print pages of progress while converting; a failure still raises,
    and its traceback is printed after the streams are back.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with log.open("wb") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)


def _initialise(model: keras.Model, rng: np.random.Generator, batch: np.ndarray) -> None:
    """Seeded He-normal kernels and small biases; batch-norm statistics measured on `batch`.

    With made-up statistics each layer shrinks its input a little, and the deeper models'
    outputs stop depending on their input. Measured ones keep every activation at the scale
    its batch norm's gamma and beta set.
    """
    from keras import layers

    for var in model.trainable_weights:
        shape = tuple(var.shape)
        kind = var.path.rsplit("/", 1)[-1]
        if kind in ("kernel", "depthwise_kernel"):
            fan_in = np.prod(shape[:2] if kind == "depthwise_kernel" else shape[:-1])
            value = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        elif kind == "gamma":
            value = rng.uniform(0.5, 1.5, shape)
        else:  # bias, beta
            value = rng.normal(0.0, 0.1, shape)
        var.assign(value.astype(var.dtype))
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.0  # the moving statistics become those of this one batch
    model(batch, training=True)
