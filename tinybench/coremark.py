"""CoreMark as a calibration workload: its sources with tinybench's port, and its report read.

CoreMark (eembc/coremark, the `coremark` component in deps.toml) is not a model: a run builds
CoreMark's core files with tinybench's port (firmware/coremark: DWT cycle counter, the board's
UART) and the board's startup and board code — no harness, no inference engine — runs it once
and reads its report. A report counts only when CoreMark's own checks pass and its CRCs are
the known ones of the 2K performance run; the one error it is allowed is CoreMark's rule that a
run must last 10 s, which no simulated run of a bounded instruction count can meet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tinybench import deps
from tinybench.artifacts import FirmwareSources
from tinybench.errors import SimulationError
from tinybench.paths import shipped

NAME = "coremark"  # the task name that selects it
BACKEND = "none"  # its records' backend: no inference engine runs
# Iterations of a run, which bound its instructions in the simulator (CoreMark's rules ask for
# at least 10 s on silicon: thousands of iterations at these clocks)
ITERATIONS = 200
INSTRUCTIONS_PER_ITERATION = 295_000  # GCC 12 -O2, measured here: what a run costs to simulate
CORE_FILES = ("core_list_join.c", "core_main.c", "core_matrix.c", "core_state.c", "core_util.c")
PORT_DIR = shipped("firmware") / "coremark"
# CoreMark's 2K performance run (seeds 0, 0, 0x66; 666 bytes per algorithm): its seed CRC and
# the list, matrix and state CRCs core_main.c knows for it
KNOWN_CRCS = {"seedcrc": 0xE9F5, "[0]crclist": 0xE714, "[0]crcmatrix": 0x1FD7,
              "[0]crcstate": 0x8E3A}
RUN_TIME_RULE = "Must execute for at least 10 secs"  # the error a short run always reports


def missing() -> str | None:
    """Why CoreMark's sources are not usable here, with what to do; None when they are."""
    return deps.missing(NAME)


def coremark_sources(iterations: int = ITERATIONS) -> FirmwareSources:
    """CoreMark's core files and tinybench's port, to build without the harness."""
    root = deps.locate(NAME)
    return FirmwareSources(
        backend=BACKEND,
        sources=(*(root / name for name in CORE_FILES), PORT_DIR / "core_portme.c"),
        include_dirs=(PORT_DIR, root),
        defines=(f"ITERATIONS={iterations}",),
        versions={NAME: deps.get(NAME).commit[:12]},
        components={f"{root}/*": "coremark", f"{PORT_DIR}/*": "port"},
        harness=False,
    )


@dataclass(frozen=True)
class CoreMarkReport:
    """What a valid CoreMark report says."""

    iterations: int
    ticks: int  # the port's ticks: DWT cycles of the timed iterations, as the firmware read them


def parse_report(text: str) -> CoreMarkReport:
    """Read CoreMark's report; SimulationError naming the first problem when it is not valid."""
    fields = {}
    for line in text.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            fields[name.strip()] = value.strip()
    errors = [line.strip() for line in text.splitlines()
              if "ERROR!" in line and RUN_TIME_RULE not in line]
    if errors:
        raise SimulationError(f"CoreMark reports an error: {errors[0]}")
    for name, known in KNOWN_CRCS.items():
        found = fields.get(name)
        if found is None:
            raise SimulationError(f"CoreMark's report has no {name} line; did the run finish?")
        if not re.fullmatch(r"0x[0-9a-fA-F]{1,4}", found) or int(found, 16) != known:
            raise SimulationError(f"CoreMark's {name} is {found}, the 2K performance run's is "
                                  f"0x{known:04x}: the build or the simulation is wrong")
    try:
        return CoreMarkReport(iterations=int(fields["Iterations"]),
                              ticks=int(fields["Total ticks"]))
    except (KeyError, ValueError):
        raise SimulationError("CoreMark's report lacks a number of iterations or ticks") from None
