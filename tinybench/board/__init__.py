"""Real boards: build a benchmark's firmware, flash it (flash.py), run it over serial (runner.py).

`build(spec)` takes the pipeline's stages as far as a linked, measured ELF and the host
reference data, so that flashing, running and the simulators all use the very same image;
`build_named` does so for names given on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinybench.analysis.elf import MemoryReport, check_fit, measure
from tinybench.backends import BACKENDS
from tinybench.boards import get_board
from tinybench.errors import ConfigError, ToolNotFoundError
from tinybench.firmware.build import Firmware, build_firmware
from tinybench.models.reference import Golden
from tinybench.paths import cache_dir, content_hash
from tinybench.pipeline import RunSpec, golden_data, matrix, model_file


@dataclass(frozen=True)
class BoardFirmware:
    """A benchmark's firmware for a board, with what a record of its run needs."""

    spec: RunSpec
    firmware: Firmware
    memory: MemoryReport
    golden: Golden  # the host reference inputs and outputs
    model_hash: str
    versions: dict[str, str]  # the backend's upstream versions, for the record's tools


def build(spec: RunSpec) -> BoardFirmware:
    """Convert, generate, build and measure as `tinybench run` does (cached), without simulating."""
    board = get_board(spec.board)
    backend = BACKENDS[spec.backend]
    reason = backend.missing()
    if reason:
        raise ToolNotFoundError(reason)
    model = model_file(spec.task)
    model_hash = content_hash(model)
    workdir = cache_dir("work", spec.backend, board.name, model_hash)
    sources = backend.generate(model, board, workdir)
    firmware = build_firmware(sources, board, opt=spec.opt)
    memory = measure(firmware, board)
    check_fit(board, memory.flash_bytes, memory.ram_bytes)
    golden = golden_data(model, spec.inputs, backend.reference)
    return BoardFirmware(spec, firmware, memory, golden, model_hash, dict(sources.versions))


def build_named(task: str, backend: str, board: str, inputs: int = 5,
                opt: str = "-O2") -> BoardFirmware:
    """`build` for one task, backend and board given by name (checked as `tinybench run` does)."""
    specs = matrix(task, backend, board, inputs=inputs, opt=opt)
    if len(specs) != 1:
        raise ConfigError("a board runs one task with one backend; name one of each")
    return build(specs[0])
