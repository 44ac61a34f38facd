"""An official MLPerf Tiny model (the pinned mlperf-tiny-models component) through the whole
pipeline with `--weights reference`: the smallest one, on CMSIS-NN, bit-exact with TFLM's host
interpreter. Skipped, saying how to fetch the component, where it is absent."""

from __future__ import annotations

import pytest

from tinybench.models.export import task_model
from tinybench.paths import content_hash
from tinybench.pipeline import run
from tinybench.spec import RunSpec

pytestmark = [pytest.mark.reference_models, pytest.mark.tflm, pytest.mark.toolchain]


def test_the_official_ad01_model_runs_bit_exact_and_its_record_says_so() -> None:
    record = run(RunSpec("ad01", "cmsis-nn", "nrf52840", inputs=1, weights="reference"))
    assert record.status == "ok", record.reason
    assert (record.weights, record.key[-1]) == ("reference", "reference")
    assert record.model_hash == content_hash(task_model("ad01", "reference"))
    assert record.model_hash != content_hash(task_model("ad01", "twin"))
    assert (record.check.max_abs_diff, record.check.tolerance) == (0, 0)
    assert record.check.reference == "tflm"
