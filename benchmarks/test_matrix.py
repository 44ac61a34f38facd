"""Each run of the matrix fits its board, matches the host reference and holds the baseline;
a run on another simulator also agrees with the built-in one on the same firmware."""

from dataclasses import replace

from tinybench.boards import check_fit, get_board
from tinybench.reports.compare import REFERENCE_SIMULATOR, cross_check


def test_benchmark(tinybench, tinybench_spec):
    record = tinybench.run(tinybench_spec)
    assert record.broken is None, record.broken  # failed, or outputs (CoreMark: CRCs) wrong
    check_fit(get_board(record.board), record.memory.flash_bytes, record.memory.ram_bytes)
    regressions = tinybench.regressions(record)
    assert not regressions, "; ".join(map(str, regressions))
    if tinybench_spec.simulator != REFERENCE_SIMULATOR:
        reference = tinybench.run(replace(tinybench_spec, simulator=REFERENCE_SIMULATOR))
        disagreements = cross_check(reference, record)
        assert not disagreements, "; ".join(disagreements)
