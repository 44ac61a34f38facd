"""pytest plugin: the benchmark matrix as parametrised tests, gated against a baseline.

A test that asks for `tinybench_spec` runs once per RunSpec of the matrix the `--tinybench-*`
options choose; the session fixture `tinybench` runs a spec (skipping it when a backend or
simulator is absent), keeps the record and tells its regressions against the baseline. At the
end the records and the Markdown report are written (`--tinybench-results`, `--tinybench-report`)
and the comparison with the baseline is printed. Options are declared here cheaply: the
pipeline is imported only when a benchmark runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tinybench.errors import TinybenchError, ToolNotFoundError
from tinybench.reports.thresholds import Threshold, add_compare_options, thresholds_from_options
from tinybench.results import Record, append_records, load_records

if TYPE_CHECKING:
    from tinybench.pipeline import RunSpec
    from tinybench.reports.compare import Regression


def pytest_addoption(parser: pytest.Parser) -> None:
    from tinybench.backends import BACKENDS
    from tinybench.boards import all_boards
    from tinybench.tasks import TASKS

    group = parser.getgroup("tinybench", "tinybench benchmark matrix")
    group.addoption("--tinybench-task", default="all",
                    help=f"tasks ({','.join(TASKS)}), .tflite files, or 'all' (default)")
    group.addoption("--tinybench-backend", default="all",
                    help=f"{', '.join(BACKENDS)}, or 'all' (default)")
    group.addoption("--tinybench-board", default="all",
                    help=f"{', '.join(all_boards())}, or 'all' (default)")
    group.addoption("--tinybench-simulator", default="iss",
                    help="iss (built in, default), renode, or 'all'")
    group.addoption("--tinybench-inputs", type=int, default=5,
                    help="inputs checked against the host reference (default 5)")
    group.addoption("--tinybench-opt", default="-O2",
                    help="optimisation flag of the firmware builds (default -O2)")
    group.addoption("--tinybench-results", metavar="FILE", default=None,
                    help="append this session's records to this .jsonl file")
    group.addoption("--tinybench-report", metavar="FILE", default=None,
                    help="write the Markdown report (and the comparison) to this file")
    add_compare_options(group.addoption, "tinybench-")


@dataclass(repr=False)  # its records would flood the failure reports
class BenchSession:
    """The benchmark runs of one pytest session and what they are compared with."""

    specs: list[RunSpec]
    thresholds: tuple[Threshold, ...]
    baseline: list[Record] | None  # None: no baseline given, nothing to gate on
    records: list[Record] = field(default_factory=list)

    def run(self, spec: RunSpec) -> Record:
        """Run `spec` once per session and keep its record; skip when a tool it needs is absent."""
        from tinybench.pipeline import run

        done = next((r for r in self.records if r.key == spec.key), None)
        if done is not None:
            return done
        try:
            record = run(spec)
        except ToolNotFoundError as error:
            pytest.skip(str(error))
        self.records.append(record)
        return record

    def regressions(self, record: Record) -> list[Regression]:
        """The thresholds `record` exceeds against its baseline run, if there is a baseline."""
        from tinybench.reports.compare import check_regressions

        return check_regressions(self.matrix_baseline(), [record], self.thresholds)

    def matrix_baseline(self) -> list[Record]:
        """The baseline records of this session's matrix (other keys are not compared)."""
        keys = {spec.key for spec in self.specs}
        return [record for record in self.baseline or () if record.key in keys]

    def markdown(self) -> str:
        """The comparison with the baseline when there is one, else the results report."""
        from tinybench.reports.compare import compare_runs
        from tinybench.reports.markdown import markdown_comparison, markdown_report

        if self.baseline is None:
            return markdown_report(self.records)
        outcomes = compare_runs(self.matrix_baseline(), self.records, self.thresholds)
        return markdown_comparison(outcomes, self.thresholds)


_SESSION = pytest.StashKey[BenchSession]()


def _bench(config: pytest.Config) -> BenchSession:
    """The session's BenchSession, made on first use so that other test runs never pay for it."""
    if _SESSION not in config.stash:
        from tinybench.pipeline import matrix

        option = config.option
        try:
            specs = matrix(option.tinybench_task, option.tinybench_backend,
                           option.tinybench_board, option.tinybench_simulator,
                           option.tinybench_inputs, option.tinybench_opt)
            thresholds = thresholds_from_options(option.tinybench_fail_on)
            baseline = (load_records(Path(option.tinybench_baseline))
                        if option.tinybench_baseline else None)
        except TinybenchError as error:
            pytest.fail(f"tinybench: {error}", pytrace=False)
        config.stash[_SESSION] = BenchSession(specs, thresholds, baseline)
    return config.stash[_SESSION]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tinybench_spec" in metafunc.fixturenames:
        specs = _bench(metafunc.config).specs
        metafunc.parametrize("tinybench_spec", specs, ids=[spec.label for spec in specs])


@pytest.fixture(scope="session")
def tinybench(pytestconfig: pytest.Config) -> BenchSession:
    """The session's benchmark runs: `tinybench.run(spec)`, `tinybench.regressions(record)`."""
    return _bench(pytestconfig)


def pytest_sessionfinish(session: pytest.Session) -> None:
    bench = session.config.stash.get(_SESSION, None)
    if bench is None or not bench.records:
        return
    option = session.config.option
    if option.tinybench_results:
        append_records(Path(option.tinybench_results), bench.records)
    if option.tinybench_report:
        from tinybench.paths import atomic_write
        from tinybench.reports.markdown import markdown_report

        report = markdown_report(bench.records)
        if bench.baseline is not None:
            report += f"\n## Against the baseline\n\n{bench.markdown()}"
        atomic_write(Path(option.tinybench_report), report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    bench = config.stash.get(_SESSION, None)
    if bench is None or not bench.records:
        return
    terminalreporter.write_sep("=", "tinybench")
    terminalreporter.write(bench.markdown())
