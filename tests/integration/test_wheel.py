"""A wheel built from the checkout carries what the firmware build and Renode read at run time
(firmware/ and renode/, as tinybench/_firmware and tinybench/_renode) with every module."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "tinybench/_firmware/common/startup.c",
    "tinybench/_firmware/common/sections.ld",
    "tinybench/_firmware/harness/harness.c",
    "tinybench/_firmware/harness/th_api.h",
    "tinybench/_firmware/include/tb_board.h",
    "tinybench/_firmware/boards/nrf52840/board.c",
    "tinybench/_firmware/boards/stm32f746/board.c",
    "tinybench/_firmware/backends/minimal/minimal.c",
    "tinybench/_firmware/backends/tflm/tflm_backend.cc",
    "tinybench/_firmware/backends/tvm/tb_tvm_workspace.h",
    "tinybench/_renode/run.robot",
    "tinybench/_renode/tinybench_monitor.py",
    "tinybench/_renode/EdgeCounter.cs",
    "tinybench/_renode/stm32f746.repl",
    "tinybench/boards.toml",
    "tinybench/deps.toml",
    "tinybench/simulators/blockcount.c",
)


def test_the_wheel_holds_the_firmware_the_renode_files_and_every_module(tmp_path: Path):
    source = tmp_path / "checkout"  # pip builds in the source folder: not in the real one
    shutil.copytree(CHECKOUT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", "__pycache__", ".*_cache", ".venv", "runs"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", tmp_path / "dist", source], check=True)
    (wheel,) = (tmp_path / "dist").glob("tinybench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    shipped = {f"tinybench/_{path.relative_to(source)}"
               for folder in ("firmware", "renode") for path in (source / folder).rglob("*")
               if path.is_file()}
    modules = {str(path.relative_to(source)) for path in (source / "tinybench").rglob("*.py")}
    assert sorted((set(REQUIRED) | shipped | modules) - names) == []
