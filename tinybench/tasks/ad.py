"""ad01: anomaly detection on 5 frames x 128 log-mel bins with a fully connected autoencoder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinybench.tasks.base import Task

if TYPE_CHECKING:
    import keras

WIDTHS = (128, 128, 128, 128, 8, 128, 128, 128, 128)


def build() -> keras.Model:
    from keras import Input, Model, layers

    inputs = Input(shape=(640,), batch_size=1)
    x = inputs
    for width in WIDTHS:
        x = layers.ReLU()(layers.BatchNormalization()(layers.Dense(width)(x)))
    outputs = layers.Dense(640)(x)
    return Model(inputs, outputs, name="fc_autoencoder")


TASK = Task(
    name="ad01",
    title="anomaly detection",
    architecture="FC autoencoder",
    input_shape=(1, 640),
    output_shape=(1, 640),
    reference_macs=264_000,
    reference_ops=frozenset({"FULLY_CONNECTED"}),
    build=build,
)
