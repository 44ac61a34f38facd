"""Backends `tflm` and `cmsis-nn`: the TensorFlow Lite Micro interpreter with its reference
kernels or with CMSIS-NN kernels.

For a model, tinybench generates tb_tflm_model.h: an op resolver that adds only the builtin
ops the model uses, and the tensor arena size; and tb_tflm_model.cc: the flatbuffer as a
const array (Flash). The glue in firmware/backends/tflm implements tb_backend.h on them.
The arena is sized by measurement: a probe firmware with a generous arena runs once (the
pipeline passes in the `probe` that builds and simulates it) and finds the smallest arena
AllocateTensors() succeeds with (TFLM's arena_used_bytes() alone is too small: it misses
the temporary allocations made while the ops are prepared); the final arena is that plus
ARENA_MARGIN, rounded up to 16 bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinybench import deps
from tinybench.artifacts import ArenaProbe, FirmwareSources, io_defines
from tinybench.backends.tflm_lib import (
    COMPONENTS,
    Kernels,
    Op,
    TflmLibrary,
    library,
    op_table,
)
from tinybench.errors import BuildError, ConfigError
from tinybench.paths import (
    atomic_write,
    cache_dir,
    content_hash,
    intact,
    locked,
    shipped,
    write_sealed,
)

if TYPE_CHECKING:
    from tinybench.boards import Board
    from tinybench.models.inspect import ModelInfo

ARENA_MARGIN = 1024  # bytes added to the measured arena use
PROBE_RESERVE = 48 * 1024  # RAM the probe leaves for stack, harness and data
GLUE = shipped("firmware") / "backends" / "tflm" / "tflm_backend.cc"


@dataclass(frozen=True)
class TflmBackend:
    name: str
    kernels: Kernels
    # Checked against TFLM's own host interpreter (PyPI tflite-micro): LiteRT's BUILTIN_REF
    # agrees on KWS, VWW and IC, but its int8 FULLY_CONNECTED rounds differently, so AD's
    # outputs differ from LiteRT's by up to 4 steps in both kernel sets and on the host alike.
    reference = "tflm"
    output_tolerance = 0

    def missing(self) -> str | None:
        return deps.missing(*COMPONENTS)

    def generate(self, model: Path, board: Board, workdir: Path,
                 probe: ArenaProbe) -> FirmwareSources:
        """Sources for `model` on `board`, with the arena `probe` measured plus a margin."""
        ops = model_ops(model, f"the {self.name} backend")
        lib = library(board, self.kernels, ops)
        required = _arena_required(self, model, board, lib, ops, workdir, probe)
        return self._sources(model, lib, ops, final_arena(required), workdir, required)

    def _sources(self, model: Path, lib: TflmLibrary, ops: tuple[str, ...], arena: int,
                 workdir: Path, required: int | None) -> FirmwareSources:
        """The sources with an arena of `arena` bytes; `required` None makes the probe."""
        from tinybench.models.inspect import inspect_model

        workdir.mkdir(parents=True, exist_ok=True)
        info = inspect_model(model)
        inputs, outputs = tensor_bytes(info)
        table = op_table(deps.locate("tflm"))
        header = model_header(table, ops, arena, self.name, info.stateful,
                              info.ops.get("VAR_HANDLE", 0))
        atomic_write(workdir / "tb_tflm_model.h", header)
        atomic_write(workdir / "tb_tflm_model.cc", model_source(model))
        return FirmwareSources(
            backend=self.name,
            sources=(GLUE, workdir / "tb_tflm_model.cc"),
            include_dirs=(workdir,),
            defines=(f'TB_MODEL="{model.stem.split("-")[0]}"',
                     f"TB_DB_CAPACITY={sum(inputs)}", *io_defines(len(inputs), len(outputs)),
                     *(("TB_TFLM_ARENA_PROBE",) if required is None else ())),
            libraries=(lib.path,),
            cflags=lib.cxxflags,
            versions={name: deps.get(name).commit[:12] for name in COMPONENTS},
            extra={"tflm_commit": lib.commit, "kernels": lib.kernels, "arena_bytes": str(arena),
                   "arena_required_bytes": "" if required is None else str(required),
                   "arena_margin_bytes": str(ARENA_MARGIN), "ops": ",".join(ops)},
            components={"*/tb_tflm_model.cc": "model", **lib.components},
        )


TFLM = TflmBackend("tflm", "reference")
CMSIS_NN = TflmBackend("cmsis-nn", "cmsis-nn")


def model_ops(model: Path, backend: str = "the tflm backends") -> tuple[str, ...]:
    """The builtin operator names (e.g. "CONV_2D") a .tflite model uses, sorted; a custom op
    is refused naming `backend`."""
    from tinybench.models.inspect import builtin_ops

    return builtin_ops(model, backend)


def tensor_bytes(info: ModelInfo) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The size in bytes of each of a model's inputs and of each of its outputs."""
    return tuple(_nbytes(t) for t in info.inputs), tuple(_nbytes(t) for t in info.outputs)


def _nbytes(tensor) -> int:
    return prod(tensor.shape) * np.dtype(tensor.dtype).itemsize


def model_header(table: dict[str, Op], ops: tuple[str, ...], arena: int, engine: str,
                 stateful: bool = False, variables: int = 0) -> str:
    """tb_tflm_model.h: the op resolver with exactly `ops`, the arena size, the engine name;
    for a `stateful` model, TB_TFLM_RESET_STATE: the state is reset before each inference;
    for one with resource variables (`variables` VAR_HANDLE ops, at least one per variable),
    TB_TFLM_RESOURCE_VARIABLES: the interpreter gets room for that many."""
    unknown = [op for op in ops if op not in table]
    if unknown:
        raise ConfigError(f"TFLM's op resolver has no {', '.join(unknown)}")
    adds = "\n".join(f"    if (r.{table[op].method}() != kTfLiteOk) return kTfLiteError;"
                     for op in ops)
    resource_variables = f"\n#define TB_TFLM_RESOURCE_VARIABLES {variables}" if variables else ""
    return f"""/* Generated by tinybench (tinybench/backends/tflm.py); do not edit. */
#ifndef TB_TFLM_MODEL_H
#define TB_TFLM_MODEL_H

#include <stddef.h>

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

#define TB_TFLM_ENGINE_NAME "{engine}"
{"#define TB_TFLM_RESET_STATE 1" if stateful else ""}{resource_variables}

constexpr size_t kTbArenaSize = {arena};

using TbOpResolver = tflite::MicroMutableOpResolver<{len(ops)}>;

inline TfLiteStatus TbAddOps(TbOpResolver &r)
{{
{adds}
    return kTfLiteOk;
}}

extern const unsigned char kTbModel[];

#endif /* TB_TFLM_MODEL_H */
"""


def model_source(model: Path) -> str:
    """tb_tflm_model.cc: the flatbuffer as a 16-byte aligned const array (it stays in Flash)."""
    data = model.read_bytes()
    rows = ",\n".join("    " + ",".join(str(b) for b in data[i:i + 24])
                      for i in range(0, len(data), 24))
    return f"""/* {model.name}, {len(data)} bytes. Generated by tinybench; do not edit. */
#include "tb_tflm_model.h"

alignas(16) const unsigned char kTbModel[{len(data)}] = {{
{rows}
}};
"""


def final_arena(required: int) -> int:
    """The arena for a measured requirement: plus the margin, rounded up to 16 bytes (TFLM
    aligns its tail allocations to the arena's end, so the size's alignment matters)."""
    return -(-(required + ARENA_MARGIN) // 16) * 16


def _arena_required(backend: TflmBackend, model: Path, board: Board, lib: TflmLibrary,
                    ops: tuple[str, ...], workdir: Path, probe: ArenaProbe) -> int:
    """The smallest arena the model runs with on `board`, measured once by `probe`, cached."""
    from tinybench.models.inspect import inspect_model

    key = content_hash(model, lib.path, board.name, GLUE)
    cached = cache_dir("tflm", "arena") / f"{key}.json"
    with locked(cached):
        if not intact(cached):
            inputs = tensor_bytes(inspect_model(model))[0]  # the harness keeps a copy of each
            generous = (board.ram_size - PROBE_RESERVE - sum(inputs)) // 16 * 16
            sources = backend._sources(model, lib, ops, generous, workdir / "arena-probe", None)
            required = probe(sources, board, inputs)
            if not 0 < required <= generous:
                raise BuildError(f"{model.name}: the arena probe reported {required} bytes")
            write_sealed(cached, json.dumps({"arena_required_bytes": required}) + "\n")
        return json.loads(cached.read_text())["arena_required_bytes"]

