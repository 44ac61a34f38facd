"""Print Renode against the built-in simulator for tasks on both boards (one backend).

For each (task, board): instructions and modelled cycles of the timed inference and of the
whole session in each simulator, whether the outputs agree, and the wall-clock time of each
run (Renode's includes its 6-7 s start-up). Needs Renode (see tinybench.simulators.renode).
Usage: python scripts/renode_figures.py [--backend tflm|cmsis-nn|tvm] [task ...]  (default: kws01)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from tinybench.backends import BACKENDS
from tinybench.boards import all_boards
from tinybench.firmware import build_firmware
from tinybench.models import export
from tinybench.models.reference import golden
from tinybench.protocol import parse_session, session_script
from tinybench.simulators.iss import IssSimulator
from tinybench.simulators.renode import RenodeSimulator

BUDGET = 4_000_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="cmsis-nn", choices=sorted(BACKENDS))
    parser.add_argument("tasks", nargs="*", default=["kws01"])
    args = parser.parse_args()
    rows = []
    for task in args.tasks:
        model = export(task)
        script = session_script(golden(model, count=1).inputs[0].tobytes(), 1, 1)
        for board in all_boards().values():
            with tempfile.TemporaryDirectory() as tmp:
                sources = BACKENDS[args.backend].generate(model, board, Path(tmp))
                elf = build_firmware(sources, board).elf
            runs = {}
            for sim in (IssSimulator(), RenodeSimulator()):
                start = time.perf_counter()
                runs[sim.name] = (sim.run(elf, board, script, BUDGET), time.perf_counter() - start)
            same = parse_session(runs["iss"][0].uart_output).outputs == \
                parse_session(runs["renode"][0].uart_output).outputs
            for name, (run, seconds) in runs.items():
                before, after = run.marks[-2], run.marks[-1]
                rows.append([task, board.name, name, after.instructions - before.instructions,
                             after.cycles - before.cycles, run.instructions, run.cycles,
                             f"{seconds:.1f}", f"{run.instructions / seconds / 1e6:.1f}",
                             "yes" if same else "NO"])
    print(tabulate(rows, headers=["task", "board", "simulator", "infer instr", "infer cycles",
                                  "total instr", "total cycles", "wall s", "MIPS",
                                  "same outputs"]))


if __name__ == "__main__":
    main()
