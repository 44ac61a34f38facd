import argparse
import os

import pytest

from tinybench import cli
from tinybench.errors import ConfigError, ToolNotFoundError
from tinybench.toolchain import JOBS, build_jobs, find_toolchain


@pytest.fixture(autouse=True)
def fresh_lookup():
    find_toolchain.cache_clear()
    yield
    find_toolchain.cache_clear()


def test_missing_gcc_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYBENCH_ARM_GCC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="apt-get install gcc-arm-none-eabi"):
        find_toolchain()


def test_prefix_variable_selects_another_installation(monkeypatch, tmp_path):
    monkeypatch.delenv("TINYBENCH_ARM_GCC", raising=False)
    monkeypatch.setenv("TINYBENCH_ARM_PREFIX", str(tmp_path / "bin" / "arm-none-eabi-"))
    with pytest.raises(ToolNotFoundError, match=r"bin/arm-none-eabi-gcc was not found"):
        find_toolchain()


def test_explicit_gcc_must_be_an_executable(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYBENCH_ARM_GCC", str(tmp_path / "gcc"))
    with pytest.raises(ToolNotFoundError, match="is not an executable file"):
        find_toolchain()


def test_builds_compile_one_object_per_core_unless_told(monkeypatch):
    monkeypatch.delenv(JOBS, raising=False)
    assert build_jobs() == (os.cpu_count() or 1)
    monkeypatch.setenv(JOBS, "3")
    assert build_jobs() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(JOBS, bad)
        with pytest.raises(ConfigError, match=f"TINYBENCH_JOBS={bad}: give a whole number"):
            build_jobs()


def test_run_j_sets_how_many_objects_builds_compile_at_a_time(monkeypatch):
    monkeypatch.setenv(JOBS, "5")  # restored after the test
    cli._apply_jobs(argparse.Namespace(jobs=1))
    assert build_jobs() == 1
    with pytest.raises(ConfigError, match="-j 0: give at least 1"):
        cli._apply_jobs(argparse.Namespace(jobs=0))
