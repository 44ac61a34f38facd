"""kws01: keyword spotting on 49x10 MFCC frames with a depthwise-separable CNN (DS-CNN)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinybench.tasks.base import Task, pooled_classifier

if TYPE_CHECKING:
    import keras


def build() -> keras.Model:
    from keras import Input, Model, layers

    inputs = Input(shape=(49, 10, 1), batch_size=1)
    x = layers.Conv2D(64, (10, 4), strides=2, padding="same")(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for _ in range(4):
        x = layers.DepthwiseConv2D(3, padding="same")(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
        x = layers.Conv2D(64, 1)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    outputs = pooled_classifier(x, 12)
    return Model(inputs, outputs, name="ds_cnn")


TASK = Task(
    name="kws01",
    title="keyword spotting",
    architecture="DS-CNN",
    input_shape=(1, 49, 10, 1),
    output_shape=(1, 12),
    reference_macs=2_660_000,
    reference_ops=frozenset(
        {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}
    ),
    build=build,
)
