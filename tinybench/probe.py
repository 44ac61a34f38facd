"""The arena probe the pipeline hands to the backends: build their trial firmware and run it.

A backend that sizes its arena by measurement (TFLM) writes probe sources whose firmware finds
the smallest arena the model runs with and reports it; this builds that firmware, runs one
inference on zero inputs in the built-in simulator and returns the figure.
"""

from __future__ import annotations

from tinybench.artifacts import FirmwareSources
from tinybench.boards import Board
from tinybench.errors import BuildError, FitError
from tinybench.firmware.build import build_firmware
from tinybench.protocol import completed_session, parse_session, session_script
from tinybench.simulators.iss import IssSimulator

PROBE_BUDGET = 4_000_000_000  # instructions the probe may run (one inference and set-up)
# How TFLM says that its arena is too small (arena_allocator/*.cc, micro_allocator.cc)
ARENA_FULL = ("Failed to resize buffer", "Failed to allocate tail memory",
              "Failed to allocate temp memory", "Failed to allocate memory for")


def arena_probe(sources: FirmwareSources, board: Board, input_sizes: tuple[int, ...]) -> int:
    """The arena in bytes that the probe firmware of `sources` reports needing on `board`, fed
    zero inputs of `input_sizes` bytes."""
    elf = build_firmware(sources, board).elf
    script = session_script([bytes(size) for size in input_sizes])
    run = IssSimulator().run(elf, board, script, PROBE_BUDGET)
    who = f"{sources.backend}'s arena probe on {board.name}"
    full = [line for line in parse_session(run.uart_output).log if line.startswith(ARENA_FULL)]
    if full:
        arena = int(sources.extra["arena_bytes"]) / 1024
        raise FitError(f"the model does not fit {board.name}'s RAM: in the {arena:.0f} KiB arena "
                       f"left beside the stack, the harness and the inputs, {sources.backend} "
                       f"says '{full[0]}'; use a smaller model or a bigger board")
    session = completed_session(run.uart_output, who, BuildError)
    if session.arena_bytes is None:
        raise BuildError(f"{who} reported no arena")
    return session.arena_bytes
