"""pytest plugin: the benchmark matrix as parametrised tests, gated against a baseline.

A test that asks for `tinybench_spec` runs once per RunSpec of the matrix the `--tinybench-*`
options choose; the session fixture `tinybench` runs a spec (skipping it when a backend or
simulator is absent), keeps the record and tells its regressions against the baseline. At the
end the records and the Markdown report are written (`--tinybench-results`, `--tinybench-report`)
and the comparison with the baseline is printed. A session that could not compare every
baseline run it selected (a changed model or tool, a skipped run) fails with exit code
NothingComparable.exit_code and one line saying why, unless `--tinybench-allow-incomparable`.
Options are declared here cheaply: the pipeline is imported only when a benchmark runs.

With pytest-xdist (`-n N`) the runs happen in worker processes: each worker appends its
records to a file in a folder the controller made, and writes the keys it selected; the
controller reads both at the end, so that results, report and gate cover the whole session.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy
import pytest

from tinybench.errors import NothingComparable, TinybenchError, ToolNotFoundError
from tinybench.options import (
    add_compare_options,
    add_matrix_options,
    matrix_from_options,
    minimum_comparable,
)
from tinybench.reports.thresholds import Threshold, thresholds_from_options
from tinybench.results import Record, append_records, load_records
from tinybench.spec import Key
from tinybench.toolchain import JOBS, build_jobs, shared_jobs

if TYPE_CHECKING:
    from tinybench.reports.compare import Outcome, Regression
    from tinybench.spec import RunSpec

PREFIX = "tinybench-"  # of every option: --tinybench-task, --tinybench-baseline…


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from tinybench import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(trylast=True)
def pytest_tinybench_run(spec: RunSpec) -> Record:
    """The default: run the spec through the real pipeline."""
    from tinybench.pipeline import run

    return run(spec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinybench", "tinybench benchmark matrix")
    add_matrix_options(group.addoption, PREFIX)
    group.addoption(f"--{PREFIX}results", metavar="FILE", default=None,
                    help="append this session's records to this .jsonl file")
    group.addoption(f"--{PREFIX}report", metavar="FILE", default=None,
                    help="write the Markdown report (and the comparison) to this file")
    add_compare_options(group.addoption, PREFIX)


@dataclass(repr=False)  # its records would flood the failure reports
class BenchSession:
    """The benchmark runs of one pytest session and what they are compared with."""

    specs: list[RunSpec]
    thresholds: tuple[Threshold, ...]
    baseline: list[Record] | None  # None: no baseline given, nothing to gate on
    minimum: int | None = None  # baseline runs that must be compared; None: all selected
    selected: set[Key] | None = None  # keys of the tests collected and not deselected
    records: list[Record] = field(default_factory=list)

    hook: pluggy.HookRelay | None = None  # pytest's hooks, for pytest_tinybench_run
    shared: Path | None = None  # under pytest-xdist: the folder workers hand their records in

    def run(self, spec: RunSpec) -> Record:
        """Run `spec` once per session and keep its record; skip when a tool it needs is absent."""
        done = next((r for r in self.records if r.key == spec.key), None)
        if done is not None:
            return done
        try:
            record = self.hook.pytest_tinybench_run(spec=spec)
        except ToolNotFoundError as error:
            pytest.skip(str(error))
        self.records.append(record)
        if self.shared is not None:
            append_records(self.shared / RECORDS, [record])
        return record

    def regressions(self, record: Record) -> list[Regression]:
        """The thresholds `record` exceeds against its baseline run, if there is a baseline."""
        from tinybench.reports.compare import check_regressions

        return check_regressions(self.matrix_baseline(), [record], self.thresholds)

    def matrix_baseline(self) -> list[Record]:
        """The baseline records of the selected matrix (other keys are not compared)."""
        keys = self.selected if self.selected is not None else {spec.key for spec in self.specs}
        return [record for record in self.baseline or () if record.key in keys]

    def outcomes(self) -> list[Outcome]:
        from tinybench.reports.compare import compare_runs

        return compare_runs(self.matrix_baseline(), self.records, self.thresholds)

    def incomparable(self) -> str | None:
        """Why the gate compared too little of the baseline, in one line; None when it did not."""
        from tinybench.reports.compare import check_coverage

        if self.baseline is None:
            return None
        try:
            check_coverage(self.outcomes(), self.minimum)
        except NothingComparable as error:
            return str(error)
        return None

    def markdown(self) -> str:
        """The comparison with the baseline when there is one, else the results report."""
        from tinybench.reports.markdown import markdown_comparison, markdown_report

        if self.baseline is None:
            return markdown_report(self.records)
        return markdown_comparison(self.outcomes(), self.thresholds)


_SESSION = pytest.StashKey[BenchSession]()
_SHARED = pytest.StashKey[Path]()  # the controller's folder for its workers' records
RECORDS, SELECTED = "records.jsonl", "selected.json"  # the files workers write there


def _worker_input(config: pytest.Config) -> dict | None:
    """What the pytest-xdist controller gave this worker; None outside a worker."""
    return getattr(config, "workerinput", None)


def pytest_configure(config: pytest.Config) -> None:
    worker = _worker_input(config)
    if getattr(config.option, "numprocesses", None) and worker is None:
        config.stash[_SHARED] = Path(tempfile.mkdtemp(prefix="tinybench-xdist-"))
    if worker is not None and JOBS not in os.environ:  # the workers' builds share the cores
        os.environ[JOBS] = str(shared_jobs(os.cpu_count() or 1, worker.get("workercount", 1)))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SHARED in config.stash:
        shutil.rmtree(config.stash[_SHARED], ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """pytest-xdist, in the controller, for each worker: where to hand in its records."""
    node.workerinput["tinybench_shared"] = str(node.config.stash[_SHARED])


def _bench(config: pytest.Config) -> BenchSession:
    """The session's BenchSession, made on first use so that other test runs never pay for it."""
    if _SESSION not in config.stash:
        option = config.option
        try:
            specs = matrix_from_options(option, PREFIX)
            thresholds = thresholds_from_options(option.tinybench_fail_on)
            baseline = (load_records(Path(option.tinybench_baseline))
                        if option.tinybench_baseline else None)
            build_jobs()  # a bad $TINYBENCH_JOBS is one line, before anything builds
        except TinybenchError as error:
            pytest.fail(f"tinybench: {error}", pytrace=False)
        minimum = minimum_comparable(option.tinybench_min_comparable,
                                     option.tinybench_allow_incomparable)
        shared = (_worker_input(config) or {}).get("tinybench_shared")
        config.stash[_SESSION] = BenchSession(specs, thresholds, baseline, minimum,
                                              hook=config.hook,
                                              shared=Path(shared) if shared else None)
    return config.stash[_SESSION]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tinybench_spec" in metafunc.fixturenames:
        specs = _bench(metafunc.config).specs
        metafunc.parametrize("tinybench_spec", specs, ids=[spec.label for spec in specs])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note which runs of the matrix were selected: only their baseline runs must compare."""
    specs = [item.callspec.params["tinybench_spec"] for item in session.items
             if "tinybench_spec" in getattr(getattr(item, "callspec", None), "params", {})]
    if specs:
        bench = _bench(session.config)
        bench.selected = {spec.key for spec in specs}
        if bench.shared is not None:  # every worker collects the same tests
            from tinybench.paths import atomic_write

            atomic_write(bench.shared / SELECTED, json.dumps(sorted(bench.selected)))


@pytest.fixture(scope="session")
def tinybench(pytestconfig: pytest.Config) -> BenchSession:
    """The session's benchmark runs: `tinybench.run(spec)`, `tinybench.regressions(record)`."""
    return _bench(pytestconfig)


def _from_workers(config: pytest.Config, shared: Path) -> None:
    """In the pytest-xdist controller: the session's selection and records, from its workers."""
    if not (shared / SELECTED).is_file():
        return  # no worker selected a benchmark
    bench = _bench(config)
    bench.selected = {tuple(key) for key in json.loads((shared / SELECTED).read_text())}
    bench.records = load_records(shared / RECORDS) if (shared / RECORDS).is_file() else []


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _worker_input(session.config) is not None:
        return  # a pytest-xdist worker: the controller writes and gates
    if _SHARED in session.config.stash:
        _from_workers(session.config, session.config.stash[_SHARED])
    bench = session.config.stash.get(_SESSION, None)
    if bench is None or bench.selected is None:
        return  # no benchmark was selected in this session
    option = session.config.option
    if option.tinybench_results and bench.records:
        append_records(Path(option.tinybench_results), bench.records)
    if option.tinybench_report:
        from tinybench.paths import atomic_write
        from tinybench.reports.markdown import markdown_report

        report = markdown_report(bench.records) if bench.records else "No run finished.\n"
        if bench.baseline is not None:
            report += f"\n## Against the baseline\n\n{bench.markdown()}"
        atomic_write(Path(option.tinybench_report), report)
    if bench.incomparable() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = NothingComparable.exit_code


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    bench = config.stash.get(_SESSION, None)
    if bench is None or bench.selected is None:
        return
    terminalreporter.write_sep("=", "tinybench")
    if bench.records or bench.baseline is not None:
        terminalreporter.write(bench.markdown())
    problem = bench.incomparable()
    if problem:
        terminalreporter.write_line(f"tinybench: {problem}", red=True, bold=True)
