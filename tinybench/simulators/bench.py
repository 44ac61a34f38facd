"""Speed of the built-in simulator: Unicorn alone versus Unicorn with tinybench's counting.

    python -m tinybench.simulators.bench [--board stm32f746] [--runs 20]
    python -m tinybench.simulators.bench --board nrf52840 --elf FIRMWARE.elf --input SESSION

Builds the harness with bench_backend.c (an int8 3x3 convolution) for the board, or takes the
given firmware and UART input, then runs the same session twice: once on bare Unicorn (the same
machine, no native hooks) and once as IssSimulator.run does it (native block counts,
the data-side memory model's Flash data reads, cycle model, marks, profile). Prints the
instructions, time and MIPS of each, and their ratio.
Times are CPU seconds of this process, the best of --repeat runs, so other work on a shared
machine disturbs them little.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from tinybench.artifacts import FirmwareSources, SimResult
from tinybench.boards import Board, get_board
from tinybench.firmware.build import build_firmware
from tinybench.protocol import parse_session, session_script
from tinybench.simulators.cycles import block_timing
from tinybench.simulators.devices import Uart
from tinybench.simulators.iss import IssSimulator
from tinybench.simulators.machine import Machine

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


def compare(elf: Path, board: Board, script: bytes, repeat: int) -> tuple[float, float, SimResult]:
    """CPU seconds of bare Unicorn and of the full simulator on one session, and its result."""
    budget = 10**11

    def bare() -> None:
        uart = Uart(board.uart, script)
        Machine(elf, board, uart, budget, bare=True).run_bare()
        if not uart.idle:
            raise SystemExit("the bare Unicorn run did not reach the idle loop")

    def full() -> SimResult:
        block_timing.cache_clear()  # each run decodes its blocks afresh, as a new process would
        return IssSimulator().run(elf, board, script, budget)

    bare_s = min(_cpu_seconds(bare) for _ in range(repeat))
    full_s = min(_cpu_seconds(full) for _ in range(repeat))
    return bare_s, full_s, full()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="stm32f746")
    parser.add_argument("--runs", type=int, default=20, help="inferences in the session")
    parser.add_argument("--repeat", type=int, default=3, help="keep the best of this many")
    parser.add_argument("--elf", type=Path, help="time this firmware instead of the built-in one")
    parser.add_argument("--input", type=Path, help="with --elf: the bytes to send to its UART")
    args = parser.parse_args(argv)
    board = get_board(args.board)
    if args.elf:
        elf, script = args.elf, args.input.read_bytes() if args.input else b""
    else:
        elf, script = workload(args.board, args.runs)
    bare_s, full_s, result = compare(elf, board, script, args.repeat)
    session = parse_session(result.uart_output)
    if session.errors:
        raise SystemExit(f"the benchmark session failed: {session.errors}")

    n = result.instructions
    print(f"{elf.name} on {board.name}: {n:,} instructions "
          "(the bare run reads CYCCNT as 0, so it may print and run a few fewer)")
    print(f"unicorn, no hooks    {bare_s:7.2f} s  {n / bare_s / 1e6:7.1f} MIPS")
    print(f"tinybench iss        {full_s:7.2f} s  {n / full_s / 1e6:7.1f} MIPS  "
          f"(exact block counts and the data-side memory model: {result.cycles:,} cycles, "
          f"{len(result.marks)} marks)")
    print(f"ratio                {bare_s / full_s:7.2f}")


def _cpu_seconds(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


if __name__ == "__main__":
    main()
