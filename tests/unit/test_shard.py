"""--shard K/N: N deterministic, balanced parts that cover any matrix exactly once."""

from __future__ import annotations

import argparse
from dataclasses import replace

import pytest

from tinybench.errors import ConfigError
from tinybench.matrix import matrix
from tinybench.options import add_matrix_options, matrix_from_options
from tinybench.results import Record
from tinybench.shard import estimate, parse_shard, shard


def _record(spec, seconds):
    return Record(task=spec.task_name, model_hash="h", backend=spec.backend, board=spec.board,
                  simulator=spec.simulator, clock_hz=1, seconds=seconds)


@pytest.mark.parametrize("parts", [1, 2, 3, 5, 24, 30])
def test_the_parts_cover_the_matrix_exactly_once_in_its_order(parts):
    specs = matrix("all", "tvm,tflm,cmsis-nn", "all")
    split = [shard(specs, part, parts) for part in range(1, parts + 1)]
    assert sorted(s.label for part in split for s in part) == sorted(s.label for s in specs)
    assert all(part == [s for s in specs if s in part] for part in split)
    assert split == [shard(specs, part, parts) for part in range(1, parts + 1)]  # deterministic


def test_parts_are_balanced_by_earlier_run_times_when_every_run_has_one():
    specs = matrix("ad01,kws01", "tvm", "stm32f746,nrf52840")
    times = [_record(spec, t) for spec, t in zip(specs, [1.0, 1.0, 1.0, 9.0], strict=True)]
    assert shard(specs, 1, 2, times) == [specs[3]]
    assert shard(specs, 2, 2, times) == specs[:3]


def test_without_times_for_every_run_the_split_uses_the_models_macs():
    specs = matrix("vww01,ad01", "tvm", "nrf52840")
    assert estimate(specs[0]) > 10 * estimate(specs[1])
    partial_times = [_record(specs[1], 100.0)]
    assert shard(specs, 1, 2, partial_times) == [specs[0]]
    assert estimate(replace(specs[0], inputs=1)) < estimate(specs[0])


def test_coremark_is_estimated_by_the_instructions_it_simulates():
    coremark, ad01 = matrix("coremark,ad01", "tvm", "nrf52840")
    assert estimate(coremark) > estimate(ad01)  # 59 M instructions against 5 x 0.26 M MACs


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_a_bad_shard_is_one_clear_error(text):
    with pytest.raises(ConfigError, match=r"give K/N with 1 <= K <= N"):
        parse_shard(text)


def test_the_shard_option_selects_a_part_for_run_baseline_and_the_plugin(tmp_path):
    parser = argparse.ArgumentParser()
    add_matrix_options(parser.add_argument, "tinybench-")
    base = ["--tinybench-task", "ad01,kws01", "--tinybench-backend", "tvm"]
    every = matrix_from_options(parser.parse_args(base), "tinybench-")
    parts = [matrix_from_options(parser.parse_args([*base, "--tinybench-shard", f"{k}/2"]),
                                 "tinybench-") for k in (1, 2)]
    assert sorted(s.label for s in parts[0] + parts[1]) == sorted(s.label for s in every)
    assert parts[0] and parts[1]
    times = tmp_path / "t.jsonl"
    times.write_text("".join(_record(s, 1.0 + 9 * (i == 0)).to_json() + "\n"
                             for i, s in enumerate(every)))
    first = matrix_from_options(parser.parse_args(
        [*base, "--tinybench-shard", "1/2", "--tinybench-shard-by", str(times)]), "tinybench-")
    assert first == [every[0]]
