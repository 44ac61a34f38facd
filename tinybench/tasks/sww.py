"""sww01: streaming wake word ("Marvin") on 30 steps x 40 features with a 1-D DS-CNN.

MLPerf Tiny v1.3's reference model (mlcommons/tiny, benchmark/training/streaming_wakeword)
slides over the stream: each inference takes the last 30 feature vectors, so the model
itself keeps no state between inferences (no variable tensors; its int8 .tflite has none).
Each of its four blocks is a depthwise convolution along time ('valid', no bias), a 1x1
convolution without bias, batch norm and ReLU; then flatten, dense 3 and softmax.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tinybench.tasks.base import Task

if TYPE_CHECKING:
    import keras

# (depthwise kernel length along time, pointwise filters) of the four blocks
BLOCKS = ((3, 128), (5, 128), (10, 128), (15, 32))


def build() -> keras.Model:
    from keras import Input, Model, layers

    inputs = Input(shape=(30, 1, 40), batch_size=1)
    x = inputs
    for kernel, filters in BLOCKS:
        x = layers.DepthwiseConv2D((kernel, 1), use_bias=False)(x)
        x = layers.Conv2D(filters, 1, use_bias=False)(x)
        x = layers.ReLU()(layers.BatchNormalization()(x))
    # The time axis is down to 1 here; as in the reference, the flatten stays a RESHAPE
    # only when the dense layer comes after it on the 1x1 map (see base.pooled_classifier).
    outputs = layers.Softmax()(layers.Flatten()(layers.Dense(3)(x)))
    return Model(inputs, outputs, name="str_ww")


TASK = Task(
    name="sww01",
    title="streaming wake word",
    architecture="1-D DS-CNN",
    input_shape=(1, 30, 1, 40),
    output_shape=(1, 3),
    reference_macs=826_368,
    reference_ops=frozenset(
        {"DEPTHWISE_CONV_2D", "CONV_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"}
    ),
    build=build,
)
