"""Real boards: flash a benchmark's firmware (flash.py) and run it over serial (runner.py).

The firmware is the pipeline's own (`tinybench.pipeline.prepare`), so flashing, running and
the simulators all use the very same image; `build_named` prepares it for names given on the
command line.
"""

from __future__ import annotations

from tinybench.errors import ConfigError, ToolNotFoundError
from tinybench.matrix import matrix
from tinybench.pipeline import Prepared, Stages, missing_to_build, prepare, profile_build
from tinybench.spec import DEFAULT_WEIGHTS


def build_named(task: str, backend: str, board: str, inputs: int = 5, opt: str = "-O2",
                stages: Stages | None = None, profile: bool = False,
                weights: str = DEFAULT_WEIGHTS) -> Prepared:
    """`prepare` one task (with `weights`), backend and board given by name (checked as
    `tinybench run` does); with `profile`, its firmware is the profile build
    (pipeline.profile_build)."""
    specs = matrix(task, backend, board, inputs=inputs, opt=opt, stages=stages, weights=weights)
    if len(specs) != 1:
        raise ConfigError("a board runs one task with one backend; name one of each")
    reason = missing_to_build(specs[0], stages)
    if reason:
        raise ToolNotFoundError(reason)
    prepared = prepare(specs[0], stages)
    return profile_build(prepared, stages) if profile else prepared
