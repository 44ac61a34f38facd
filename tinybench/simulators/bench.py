"""Speed of the built-in simulator: Unicorn alone versus Unicorn with tinybench's counting.

    python -m tinybench.simulators.bench [--board stm32f746] [--runs 20]

Builds the harness with bench_backend.c (an int8 3x3 convolution) for the board, then runs the
same session twice: once on bare Unicorn (the same machine, the block hook removed) and once
as IssSimulator.run does it (native block counts, cycle model, marks, profile). Prints the
instructions, time and MIPS of each, and their ratio. Times are CPU seconds of this process,
the best of --repeat runs, so other work on a shared machine disturbs them little.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from tinybench.backends import FirmwareSources
from tinybench.boards import get_board
from tinybench.firmware.build import build_firmware
from tinybench.protocol import parse_session, session_script
from tinybench.simulators import SimResult
from tinybench.simulators.cycles import decode
from tinybench.simulators.iss import IssSimulator, _Run

SOURCE = Path(__file__).with_name("bench_backend.c")
INPUT_BYTES = 64


def workload(board_name: str, runs: int) -> tuple[Path, bytes]:
    """The benchmark firmware for a board and the session that makes it infer `runs` times."""
    sources = FirmwareSources(
        backend="iss-bench",
        sources=(SOURCE,),
        defines=('TB_MODEL="iss-bench"', f"TB_DB_CAPACITY={INPUT_BYTES}"),
    )
    firmware = build_firmware(sources, get_board(board_name))
    return firmware.elf, session_script(bytes(range(INPUT_BYTES)), runs=runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="stm32f746")
    parser.add_argument("--runs", type=int, default=20, help="inferences in the session")
    parser.add_argument("--repeat", type=int, default=3, help="keep the best of this many")
    args = parser.parse_args(argv)
    board = get_board(args.board)
    elf, script = workload(args.board, args.runs)
    budget = 10**11

    def bare() -> None:
        run = _Run(elf, board, script, budget)
        run.counter.detach(run.uc)
        run.uc.emu_start(run.entry | 1, 0xFFFFFFFF)
        if not run.uart.idle:
            raise SystemExit("the bare Unicorn run did not reach the idle loop")

    def full() -> SimResult:
        decode.cache_clear()  # each run decodes its blocks afresh, as a new process would
        return IssSimulator().run(elf, board, script, budget)

    bare_s = min(_cpu_seconds(bare) for _ in range(args.repeat))
    full_s = min(_cpu_seconds(full) for _ in range(args.repeat))
    result = full()
    session = parse_session(result.uart_output)
    if session.errors or not session.infer_done:
        raise SystemExit(f"the benchmark session failed: {session}")

    n = result.instructions
    print(f"board {board.name}, {args.runs} inferences, {n:,} instructions "
          f"(the bare run printed cycles of 0, so it ran a few more or fewer)")
    print(f"unicorn, no hooks    {bare_s:7.2f} s  {n / bare_s / 1e6:7.1f} MIPS")
    print(f"tinybench iss        {full_s:7.2f} s  {n / full_s / 1e6:7.1f} MIPS  "
          f"(exact block counts, {result.cycles:,} cycles, {len(result.marks)} marks)")
    print(f"ratio                {bare_s / full_s:7.2f}")


def _cpu_seconds(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


if __name__ == "__main__":
    main()
