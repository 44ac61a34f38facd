"""The hook the tinybench pytest plugin offers to other plugins and conftest files."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tinybench.results import Record
    from tinybench.spec import RunSpec


@pytest.hookspec(firstresult=True)
def pytest_tinybench_run(spec: RunSpec) -> Record | None:
    """Run one benchmark of the matrix and return its record; the first non-None answer wins.

    tinybench's own answer runs `tinybench.pipeline.run(spec)`. Implement it to run with other
    stages (`run(spec, Stages(build=…))`) or to answer from stored records; raise
    ToolNotFoundError to skip the run.
    """
