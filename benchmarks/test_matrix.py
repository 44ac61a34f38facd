"""Each run of the matrix fits its board, matches the host reference and holds the baseline."""

from tinybench.analysis.elf import check_fit
from tinybench.boards import get_board


def test_benchmark(tinybench, tinybench_spec):
    record = tinybench.run(tinybench_spec)
    assert record.status == "ok", record.broken
    check_fit(get_board(record.board), record.memory.flash_bytes, record.memory.ram_bytes)
    assert record.check.passed, record.broken
    regressions = tinybench.regressions(record)
    assert not regressions, "; ".join(map(str, regressions))
