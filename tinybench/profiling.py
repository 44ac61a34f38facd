"""Per-layer profiles of a spec: its profile build, and the layers it reports.

The profile build is the spec's firmware with TB_PROFILE_LAYERS defined (the layer marks and
the plan report compiled in); the benchmark's own firmware stays uninstrumented. `profile`
simulates both on the first reference input, so the profile states what the marks cost; a
real board runs the profile build flashed by `tinybench board flash --profile`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from tinybench.analysis.layers import LayerProfile, build_profile, match_kernels
from tinybench.artifacts import FirmwareSources, Mark
from tinybench.errors import ConfigError, ToolNotFoundError
from tinybench.models.inspect import LayerInfo, inspect_model
from tinybench.pipeline import (
    INSTRUCTION_BUDGET,
    Prepared,
    Stages,
    inference_marks,
    missing,
    prepare,
)
from tinybench.protocol import Session, completed_session, session_script
from tinybench.spec import RunSpec

PROFILE_DEFINE = "TB_PROFILE_LAYERS"


def profile_sources(sources: FirmwareSources) -> FirmwareSources:
    """The same sources with the layer marks compiled in."""
    return replace(sources, defines=(*sources.defines, PROFILE_DEFINE))


def profile_build(prepared: Prepared, stages: Stages | None = None) -> Prepared:
    """`prepared` with its firmware swapped for the profile build (memory: the plain build's)."""
    stages = stages or Stages()
    sources = profile_sources(prepared.firmware.sources)
    return replace(prepared, firmware=stages.build(sources, prepared.firmware.board,
                                                    prepared.spec.opt))


def layers_of(prepared: Prepared) -> tuple[list[LayerInfo | None], list[str]]:
    """The model op of each layer the engine marks, and the engine's name for that layer."""
    if prepared.model is None:
        raise ConfigError(f"{prepared.spec.label}: no model file to name the layers by")
    ops = inspect_model(prepared.model).layers
    kernels = prepared.firmware.sources.extra.get("layers")
    if kernels is None:  # the engine runs the model's operators one by one
        return list(ops), [layer.op for layer in ops]
    names = kernels.split(",")
    return match_kernels(names, ops), names


def session_profile(prepared: Prepared, session: Session, marks: Sequence[Mark] = (),
                    plain_cycles: int | None = None) -> LayerProfile:
    """The profile a profile build's session reports, with a simulator's marks and the
    uninstrumented build's cycles where known."""
    described, names = layers_of(prepared)
    return build_profile(described, names, session, marks, plain_cycles)


def profile(spec: RunSpec, stages: Stages | None = None) -> LayerProfile:
    """Build, simulate and read the per-layer profile of `spec` (StageFailed on a failure)."""
    stages = stages or Stages()
    reason = missing(spec, stages)
    if reason:
        raise ToolNotFoundError(reason)
    prepared = prepare(spec, stages)
    board, simulator = prepared.firmware.board, stages.simulators[spec.simulator]
    script = session_script(prepared.golden.inputs[0].astype(np.int8).tobytes())
    plain = simulator.run(prepared.firmware.elf, board, script, INSTRUCTION_BUDGET)
    completed_session(plain.uart_output, "the firmware")
    start, end = inference_marks(plain)
    instrumented = profile_build(prepared, stages)
    result = simulator.run(instrumented.firmware.elf, board, script, INSTRUCTION_BUDGET)
    session = completed_session(result.uart_output, "the profile firmware")
    return session_profile(instrumented, session, result.marks, end.cycles - start.cycles)
