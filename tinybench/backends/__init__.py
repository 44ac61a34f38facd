"""Inference backends: each turns a model for a board into C/C++ sources for the harness.

A backend implements firmware/include/tb_backend.h. Backends import their heavy
dependencies (TVM, TFLM sources) lazily, so listing them is always cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tinybench.boards import Board


@dataclass(frozen=True)
class FirmwareSources:
    """What a backend adds to the harness firmware."""

    backend: str
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...] = ()
    defines: tuple[str, ...] = ()
    libraries: tuple[Path, ...] = ()  # prebuilt static libraries, linked after the sources
    cflags: tuple[str, ...] = ()  # for the backend's own sources only
    # Upstream versions that shape the figures (TVM release, TFLM pin…): they go into a record's
    # tools, so runs built from other versions are not compared with each other.
    versions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # other facts about the build (arena…)
    # Memory-report component of each source or library member, by fnmatch pattern on the
    # source path or on "libname.a(member.o)", first match wins; e.g. {"*/model_data.cc":
    # "model", "libtflm.a(*kernels*)": "kernels"}. Unmatched backend code is "engine".
    components: dict[str, str] = field(default_factory=dict)
    stack_size: int = 0x2000  # bytes reserved for the stack (the harness's 8 KiB default)
    heap_size: int = 0  # bytes for malloc; engines that never allocate need none


class Backend(Protocol):
    name: str
    output_tolerance: int  # the largest |device - host reference| accepted, in int8 steps
    reference: str  # the host engine its outputs are checked against (models.reference.ENGINES)

    def missing(self) -> str | None:
        """Why this backend cannot run on this machine, with what to do; None when it can."""

    def generate(self, model: Path, board: Board, workdir: Path) -> FirmwareSources:
        """Write the engine sources for `model` on `board` under `workdir`."""


def _registry() -> dict[str, Backend]:
    from tinybench.backends.tflm import CMSIS_NN, TFLM
    from tinybench.backends.tvm import TvmBackend

    return {backend.name: backend for backend in (TvmBackend(), TFLM, CMSIS_NN)}


BACKENDS: dict[str, Backend] = _registry()
