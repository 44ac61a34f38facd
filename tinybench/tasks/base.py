"""What a benchmark task is: a reference model architecture and the facts it must match."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class Task:
    """One MLPerf Tiny task; `build` returns its Keras model with untrained weights."""

    name: str
    title: str
    architecture: str
    input_shape: tuple[int, ...]  # including the batch dimension of 1
    output_shape: tuple[int, ...]
    reference_macs: int
    reference_ops: frozenset[str]
    build: Callable[[], keras.Model]


def pooled_classifier(x: keras.KerasTensor, classes: int) -> keras.KerasTensor:
    """Global average pool, dense, softmax: the head of the three classifiers.

    The dense layer runs on the pooled 1x1 map and its output is flattened afterwards. A
    flatten before it would be folded into FULLY_CONNECTED by today's converter; after it, it
    stays a RESHAPE, so the op set matches the reference models'.
    """
    from keras import layers

    x = layers.AveragePooling2D(pool_size=x.shape[1:3])(x)
    return layers.Softmax()(layers.Flatten()(layers.Dense(classes)(x)))
