"""A matrix's progress: one line per run in a log; on a terminal, a bar with the count and ETA."""

import io

from tinybench.progress import ProgressReport
from tinybench.spec import RunSpec

A, B = RunSpec("ad01", "tvm", "nrf52840"), RunSpec("kws01", "tvm", "nrf52840")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_a_line_per_start_and_end():
    log = io.StringIO()
    progress = ProgressReport(log)
    progress(1, 2, A, "running")
    progress(2, 2, B, "running")
    progress(2, 2, B, "ok")
    assert log.getvalue().splitlines() == ["[1/2] ad01/tvm/nrf52840/iss: running",
                                           "[2/2] kws01/tvm/nrf52840/iss: running",
                                           "[2/2] kws01/tvm/nrf52840/iss: ok"]


def test_a_terminal_gets_one_line_per_run_and_a_bar_with_the_count_and_time_left():
    screen = _Terminal()
    progress = ProgressReport(screen)
    progress(1, 2, A, "running")
    progress(2, 2, B, "running")
    assert progress.bar(2) == "[....................] 0/2 runs, 2 running"
    progress(2, 2, B, "ok")
    assert progress.bar(2).startswith("[##########..........] 1/2 runs, 1 running, about 0:")
    assert progress.bar(2).endswith(" left")
    progress(1, 2, A, "ok")
    progress.close()
    lines = [line.rsplit("\r\033[K", 1)[-1] for line in screen.getvalue().split("\n")]
    assert lines == ["[2/2] kws01/tvm/nrf52840/iss: ok", "[1/2] ad01/tvm/nrf52840/iss: ok", ""]
