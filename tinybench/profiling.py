"""`tinybench profile`: a spec's profile build, simulated, as a per-layer profile.

The profile build is the spec's firmware with TB_PROFILE_LAYERS defined (the layer marks and
the plan report compiled in); the benchmark's own firmware stays uninstrumented. Both run the
first reference input, so the profile states what the marks cost.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinybench.analysis.layers import LayerProfile, build_profile, match_kernels
from tinybench.artifacts import FirmwareSources
from tinybench.errors import ToolNotFoundError
from tinybench.models.inspect import inspect_model
from tinybench.pipeline import INSTRUCTION_BUDGET, Stages, inference_marks, missing, prepare
from tinybench.protocol import completed_session, session_script
from tinybench.spec import RunSpec

PROFILE_DEFINE = "TB_PROFILE_LAYERS"


def profile_sources(sources: FirmwareSources) -> FirmwareSources:
    """The same sources with the layer marks compiled in."""
    return replace(sources, defines=(*sources.defines, PROFILE_DEFINE))


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
    firmware = stages.build(profile_sources(prepared.firmware.sources), board, spec.opt)
    result = simulator.run(firmware.elf, board, script, INSTRUCTION_BUDGET)
    session = completed_session(result.uart_output, "the profile firmware")
    model = inspect_model(stages.model(spec.task)).layers
    kernels = prepared.firmware.sources.extra.get("layers")
    if kernels is None:  # the engine runs the model's operators one by one
        described, names = list(model), [layer.op for layer in model]
    else:
        names = kernels.split(",")
        described = match_kernels(names, model)
    return build_profile(described, names, session, result.marks, end.cycles - start.cycles)
