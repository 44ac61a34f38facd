"""Inference backends: each turns a model for a board into C/C++ sources for the harness.

A backend implements firmware/include/tb_backend.h. Backends import their heavy
dependencies (TVM, TFLM sources) lazily, so listing them is always cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tinybench.names import LazyRegistry

if TYPE_CHECKING:
    from tinybench.artifacts import ArenaProbe, FirmwareSources
    from tinybench.boards import Board


class Backend(Protocol):
    name: str
    output_tolerance: int  # the largest |device - host reference| accepted, in int8 steps
    reference: str  # the host engine its outputs are checked against (models.reference.ENGINES)

    def missing(self) -> str | None:
        """Why this backend cannot run on this machine, with what to do; None when it can."""

    def generate(self, model: Path, board: Board, workdir: Path,
                 probe: ArenaProbe) -> FirmwareSources:
        """Write the engine sources for `model` on `board` under `workdir`; an engine that
        sizes its arena by running the model measures it with `probe`."""


# name → backend; each module is imported when its backend is first used
BACKENDS: LazyRegistry[Backend] = LazyRegistry({
    "tvm": "tinybench.backends.tvm:TVM",
    "tflm": "tinybench.backends.tflm:TFLM",
    "cmsis-nn": "tinybench.backends.tflm:CMSIS_NN",
})
