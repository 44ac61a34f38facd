"""Recurrent models users bring: an int8 LSTM, a stateful LSTM (resource variables) and a float32
LSTM with a WHILE loop, written here from Keras with tinybench's converter. Each runs bit-exact
(or within its float bound) on tflm and cmsis-nn, the stateful one from its initial state at
every inference; TVM, which imports none of them, fails as one record naming why.

Keras 3 writes an LSTM as a WHILE loop, which TensorFlow's int8 calibrator crashes on (a
segmentation fault, TensorFlow 2.21); unrolled, the same LSTM quantizes to int8 cleanly, and
that is the int8 LSTM TensorFlow can make today.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinybench.models.convert import flatbuffer
from tinybench.models.inspect import inspect_model
from tinybench.pipeline import run
from tinybench.reports.markdown import markdown_report
from tinybench.spec import RunSpec

pytestmark = [pytest.mark.tf, pytest.mark.tflm, pytest.mark.tvm, pytest.mark.toolchain,
              pytest.mark.slow]
BOARD = "nrf52840"


def _lstm(steps: int, stateful: bool, unroll: bool):
    import keras

    inputs = keras.Input((steps, 8), batch_size=1)
    state = keras.layers.LSTM(16, stateful=stateful, unroll=unroll)(inputs)
    return keras.Model(inputs, keras.layers.Dense(4)(state))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sequences")
    rng = np.random.default_rng(0)
    made = {}
    for name, steps, stateful, unroll, kind in (("lstm8", 10, False, True, "int8"),
                                                ("stateful8", 4, True, True, "int8"),
                                                ("lstmwhile", 10, False, False, "float32")):
        calibration = [(rng.uniform(-1, 1, (1, steps, 8)).astype(np.float32),)
                       for _ in range(20)]
        made[name] = folder / f"{name}.tflite"
        made[name].write_bytes(flatbuffer(_lstm(steps, stateful, unroll), calibration, kind))
    return made


def _runs(model: Path) -> dict[str, object]:
    return {backend: run(RunSpec(task=str(model), backend=backend, board=BOARD, inputs=2))
            for backend in ("tflm", "cmsis-nn", "tvm")}


def _passed(record, state: str = "none") -> None:
    assert record.status == "ok", record.reason
    assert record.check.passed and record.check.state == state, record.check


def _failed_in_one_line(record, words: str) -> None:
    assert (record.status, record.stage) == ("failed", "generate")
    assert words in record.reason and "\n" not in record.reason, record.reason


def test_an_int8_lstm_is_bit_exact_on_tflm_and_tvm_names_the_ops_it_lacks(models) -> None:
    info = inspect_model(models["lstm8"])
    assert {"FULLY_CONNECTED", "LOGISTIC", "TANH", "SPLIT"} <= set(info.ops)
    assert "int8" in info.dtypes and not info.stateful
    records = _runs(models["lstm8"])
    for backend in ("tflm", "cmsis-nn"):
        _passed(records[backend])
        assert records[backend].check.max_abs_diff == 0
    _failed_in_one_line(records["tvm"], "'SPLIT'")


def test_a_stateful_lstm_starts_each_inference_from_its_initial_state(models) -> None:
    info = inspect_model(models["stateful8"])
    assert info.stateful and {"VAR_HANDLE", "ASSIGN_VARIABLE"} <= set(info.ops)
    records = _runs(models["stateful8"])
    for backend in ("tflm", "cmsis-nn"):
        _passed(records[backend], state="reset")
        assert records[backend].check.max_abs_diff == 0
    _failed_in_one_line(records["tvm"], "keeps state between inferences")


def test_a_float_lstm_with_a_while_loop_runs_within_its_bound(models) -> None:
    assert "WHILE" in inspect_model(models["lstmwhile"]).ops
    records = _runs(models["lstmwhile"])
    for backend in ("tflm", "cmsis-nn"):
        _passed(records[backend])
        assert records[backend].check.dtype == "float32"
    _failed_in_one_line(records["tvm"], "cannot emit; use tflm")
    report = markdown_report([*records.values(), *_runs(models["lstm8"]).values()])
    assert "max diff (LSB; float: absolute)" in report
