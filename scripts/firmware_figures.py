"""Print the build driver's figures for the minimal firmware on every board.

    python scripts/firmware_figures.py

Cold build and no-op rebuild times (in a fresh, private cache) and the memory report.
"""

from __future__ import annotations

import os
import tempfile
import time

from tinybench.analysis.elf import measure
from tinybench.boards import all_boards
from tinybench.firmware import build_firmware
from tinybench.firmware.minimal import minimal_sources


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tinybench-figures-") as cache:
        os.environ["TINYBENCH_CACHE"] = cache
        table()


def table() -> None:
    print(f"{'board':10} {'cold s':>7} {'no-op ms':>9} {'flash B':>8} {'ram B':>7}  components")
    for board in all_boards().values():
        start = time.perf_counter()
        build_firmware(minimal_sources(), board)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        firmware = build_firmware(minimal_sources(), board)
        again = time.perf_counter() - start
        report = measure(firmware)
        parts = ", ".join(f"{name} {size}" for name, size in report.flash_components.items())
        print(f"{board.name:10} {cold:7.2f} {again * 1000:9.1f} {report.flash_bytes:8} "
              f"{report.ram_bytes:7}  flash: {parts}")


if __name__ == "__main__":
    main()
