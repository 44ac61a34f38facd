"""ic01: image classification on 32x32 RGB (CIFAR-10) with ResNet-8."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinybench.tasks.base import Task, pooled_classifier

if TYPE_CHECKING:
    import keras


def build() -> keras.Model:
    from keras import Input, Model, layers

    def conv_bn(x, filters, kernel, stride=1):
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same")(x)
        return layers.BatchNormalization()(x)

    inputs = Input(shape=(32, 32, 3), batch_size=1)
    x = layers.ReLU()(conv_bn(inputs, 16, 3))
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = layers.ReLU()(conv_bn(x, filters, 3, stride))
        y = conv_bn(y, filters, 3)
        shortcut = x if stride == 1 else layers.Conv2D(filters, 1, strides=stride)(x)
        x = layers.ReLU()(layers.Add()([shortcut, y]))
    outputs = pooled_classifier(x, 10)
    return Model(inputs, outputs, name="resnet8")


TASK = Task(
    name="ic01",
    title="image classification",
    architecture="ResNet-8",
    input_shape=(1, 32, 32, 3),
    output_shape=(1, 10),
    reference_macs=12_500_000,
    reference_ops=frozenset(
        {"CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}
    ),
    build=build,
)
