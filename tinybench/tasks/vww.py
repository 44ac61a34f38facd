"""vww01: visual wake words (person / no person) on 96x96 RGB with MobileNetV1, width 0.25."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinybench.tasks.base import Task, pooled_classifier

if TYPE_CHECKING:
    import keras

ALPHA = 0.25
# (pointwise filters at width 1.0, depthwise stride) of the 13 separable blocks
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
          (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def build() -> keras.Model:
    from keras import Input, Model, layers

    def conv_bn_relu(x, layer):
        return layers.ReLU()(layers.BatchNormalization()(layer(x)))

    inputs = Input(shape=(96, 96, 3), batch_size=1)
    x = conv_bn_relu(inputs, layers.Conv2D(int(32 * ALPHA), 3, strides=2, padding="same"))
    for filters, stride in BLOCKS:
        x = conv_bn_relu(x, layers.DepthwiseConv2D(3, strides=stride, padding="same"))
        x = conv_bn_relu(x, layers.Conv2D(int(filters * ALPHA), 1))
    outputs = pooled_classifier(x, 2)
    return Model(inputs, outputs, name="mobilenet_v1_025")


TASK = Task(
    name="vww01",
    title="visual wake words",
    architecture="MobileNetV1 0.25",
    input_shape=(1, 96, 96, 3),
    output_shape=(1, 2),
    reference_macs=7_490_000,
    reference_ops=frozenset(
        {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}
    ),
    build=build,
)
