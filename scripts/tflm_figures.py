"""Print the TFLM and TFLM + CMSIS-NN figures for every task on every board.

For each (task, board, backend): instructions and modelled cycles of one inference (after one
warm-up) in the built-in simulator, the tensor arena, Flash and RAM of the firmware, whether
the outputs equal LiteRT's reference kernels bit for bit, and the CMSIS-NN speed-up in cycles.
Usage: python scripts/tflm_figures.py [task ...]   (default: all four tasks)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tabulate import tabulate

from tinybench.analysis.elf import measure
from tinybench.backends.tflm import CMSIS_NN, TFLM
from tinybench.boards import all_boards
from tinybench.firmware import build_firmware
from tinybench.models import export
from tinybench.models.reference import golden
from tinybench.protocol import parse_session, session_script
from tinybench.simulators.iss import IssSimulator
from tinybench.tasks import TASKS

BUDGET = 4_000_000_000


def main(tasks: list[str]) -> None:
    rows = []
    for task in tasks:
        model = export(task)
        reference = golden(model, count=1)
        data = reference.inputs[0].tobytes()
        expected = tuple(int(v) for v in reference.outputs[0].ravel())
        for board in all_boards().values():
            cycles = {}
            for backend in (TFLM, CMSIS_NN):
                with tempfile.TemporaryDirectory() as tmp:
                    sources = backend.generate(model, board, Path(tmp))
                    firmware = build_firmware(sources, board)
                run = IssSimulator().run(firmware.elf, board, session_script(data, 1, 1), BUDGET)
                session = parse_session(run.uart_output)
                memory = measure(firmware)
                start, end = run.marks[-2], run.marks[-1]  # around the timed inference
                cycles[backend.name] = session.cycles[-1]
                rows.append([
                    task, board.name, backend.name, end.instructions - start.instructions,
                    session.cycles[-1], session.arena_bytes, memory.flash_bytes,
                    memory.ram_bytes, "yes" if session.outputs == expected else "NO",
                ])
            rows[-1].append(f"{cycles['tflm'] / cycles['cmsis-nn']:.2f}x")
    print(tabulate(rows, headers=["task", "board", "backend", "instructions", "cycles",
                                  "arena B", "flash B", "ram B", "bit-exact", "speed-up"]))


if __name__ == "__main__":
    main(sys.argv[1:] or list(TASKS))
