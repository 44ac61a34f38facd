"""The matrix in parallel: two tinybench processes on one empty cache build each entry once,
and the shards of a matrix, merged, give the same verdict as one serial run."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tinybench.cli import main as tinybench
from tinybench.results import load_records

pytestmark = [pytest.mark.slow, pytest.mark.tvm, pytest.mark.toolchain]

MATRIX = ["--task", "ad01", "--backend", "tvm", "--board", "stm32f746,nrf52840", "--inputs", "1"]


def _entries(folder: Path) -> list[str]:
    """The cache's entries under `folder` (lock files aside), relative to it."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and p.suffix != ".lock")


def test_two_processes_on_an_empty_cache_both_succeed_and_build_each_entry_once(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "TINYBENCH_CACHE": str(cache)}
    runs = [subprocess.Popen([sys.executable, "-m", "tinybench", "run", *MATRIX, "-j", "2",
                              "--results", str(tmp_path / f"r{n}.jsonl")], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for n in (1, 2)]
    errors = [run.communicate(timeout=900)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert len(_entries(cache / "golden")) == 2  # one .npz and its seal
    assert len(list((cache / "tvm").glob("*/tvm_kernels.c"))) == 2  # one per core
    builds = sorted((cache / "builds").iterdir())
    assert [b.name.split("-")[0] for b in builds if b.is_dir()] == ["nrf52840", "stm32f746"]
    for build in (b for b in builds if b.is_dir()):
        compiled = [line for line in (build / "build.log").read_text().splitlines()
                    if line.startswith("+ ") and " -c " in line]
        sources = [line.split(" -c ")[1].split()[0] for line in compiled]
        assert sorted(sources) == sorted(set(sources)), f"{build.name} compiled twice"
        assert sum(line.startswith("+ ") and " -o " in line and "firmware.elf" in line
                   for line in (build / "build.log").read_text().splitlines()) == 1
    first, second = (load_records(tmp_path / f"r{n}.jsonl") for n in (1, 2))
    assert sorted((r.key, r.cycles) for r in first) == sorted((r.key, r.cycles) for r in second)


def test_merged_shards_cover_the_matrix_once_and_give_the_serial_verdict(tmp_path, capsys):
    matrix = ["--task", "ad01,kws01", "--backend", "tvm", "--board", "all", "--inputs", "1"]
    serial = tmp_path / "serial.jsonl"
    assert tinybench(["run", *matrix, "-j", "1", "--results", str(serial)]) == 0
    shards = tmp_path / "shards"
    for part in ("1/3", "2/3", "3/3"):
        name = part.replace("/", "-of-")
        assert tinybench(["run", *matrix, "--shard", part, "--shard-by", str(serial),
                          "--results", str(shards / f"{name}.jsonl")]) == 0
    merged = load_records(shards)
    assert sorted(r.key for r in merged) == sorted(r.key for r in load_records(serial))
    # a baseline in which one run was faster: both must fail the gate on it, alike
    records = load_records(serial)
    baseline = tmp_path / "baseline.jsonl"
    baseline.write_text("".join(
        (replace(r, cycles=r.cycles * 9 // 10) if i == 0 else r).to_json() + "\n"
        for i, r in enumerate(records)))
    capsys.readouterr()
    verdicts = []
    for results in (serial, shards):
        code = tinybench(["compare", str(results), "--baseline", str(baseline)])
        verdicts.append((code, capsys.readouterr().out))
    assert verdicts[0][0] == 10
    assert verdicts[0] == verdicts[1]
