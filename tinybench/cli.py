"""The `tinybench` command: parse arguments, call the pipeline stages, print results.

Each subcommand is a small function that takes the parsed arguments and returns an exit
code. User errors (TinybenchError) are printed as one line; `--traceback` shows the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from tinybench import __version__
from tinybench.errors import BaselineIncomplete, ConfigError, TinybenchError
from tinybench.toolchain import JOBS

if TYPE_CHECKING:
    from tinybench.results import Record
    from tinybench.spec import RunSpec


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinybench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tinybench {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(commands)
    _add_accuracy(commands)
    _add_data(commands)
    _add_baseline(commands)
    _add_boards(commands)
    _add_models(commands)
    _add_deps(commands)
    _add_report(commands)
    _add_compare(commands)
    _add_validate(commands)
    _add_profile(commands)
    _add_board(commands)
    _add_history(commands)
    _add_dashboard(commands)
    return parser


def _add_run(commands: argparse._SubParsersAction) -> None:
    from tinybench.options import add_matrix_options

    p = commands.add_parser("run", help="run the benchmark matrix and print a Markdown table")
    add_matrix_options(p.add_argument, backend="tvm")
    p.add_argument("--results", type=Path, default=Path("results/runs/latest.jsonl"),
                   help="results file the records are appended to")
    p.add_argument("--resume", action="store_true",
                   help="take runs that already succeeded from the results file, run the rest")
    _add_jobs(p)
    p.set_defaults(func=_cmd_run)


def _add_jobs(p: argparse.ArgumentParser, what: str = "runs") -> None:
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help=f"{what} at a time, each in its own worker process, their builds "
                        f"sharing as many compilers (default: one per core, {os.cpu_count()} "
                        "here); 1 does one thing at a time, in this process")


def _apply_jobs(args: argparse.Namespace) -> None:
    """Check -j and hand it to the builds (toolchain.build_jobs), workers' included."""
    if args.jobs < 1:
        raise ConfigError(f"-j {args.jobs}: give at least 1 at a time")
    os.environ[JOBS] = str(args.jobs)


def _run_matrix(specs: list[RunSpec], results: Path | None, args: argparse.Namespace,
                resume: bool = False) -> tuple[list[Record], list[tuple[RunSpec, str]]]:
    """run_matrix with `args.jobs` workers, its progress on stderr."""
    from tinybench.matrix import run_matrix
    from tinybench.progress import ProgressReport

    _apply_jobs(args)
    progress = ProgressReport()
    try:
        return run_matrix(specs, results, progress, resume, jobs=args.jobs)
    finally:
        progress.close()


def _cmd_run(args: argparse.Namespace) -> int:
    from tinybench.options import matrix_from_options
    from tinybench.reports.compare import REFERENCE_SIMULATOR, cross_checks
    from tinybench.reports.markdown import markdown_report

    specs = matrix_from_options(args)
    records, skipped = _run_matrix(specs, args.results, args, args.resume)
    if records:
        print(markdown_report(records))
    for spec, reason in skipped:
        print(f"- skipped {spec.label}: {reason}")
    print(f"\nrecords appended to {args.results}", file=sys.stderr)
    disagreeing = [(other, problems) for _, other, problems in cross_checks(records) if problems]
    for other, problems in disagreeing:
        print(f"{other.label} disagrees with {REFERENCE_SIMULATOR}: "
              + "; ".join(problems), file=sys.stderr)
    return 1 if any(record.broken for record in records) or disagreeing or not records else 0


def _add_accuracy(commands: argparse._SubParsersAction) -> None:
    from tinybench.options import add_matrix_options

    p = commands.add_parser("accuracy", help="the task's metric over a labelled data set, on the "
                            "device (simulated) and on the host reference")
    add_matrix_options(p.add_argument, backend="tvm")
    p.add_argument("--data", type=Path, required=True,
                   help="a data set folder in the MLPerf Tiny runner's format (y_labels.csv and "
                        "one binary file per sample; tinybench data export makes one)")
    p.add_argument("--results", type=Path, default=Path("results/runs/accuracy.jsonl"),
                   help="results file the records are appended to")
    p.add_argument("--resume", action="store_true",
                   help="take runs that already succeeded from the results file, run the rest")
    p.add_argument("--chunk", type=int, default=100,
                   help="samples per simulated session (default 100): finished chunks are kept "
                        "when interrupted and skipped when run again")
    _add_jobs(p, "chunks of samples")
    p.set_defaults(func=_cmd_accuracy, inputs=1)


def _progress_bar(spec: RunSpec) -> Callable[[int, int, float | None], None]:
    def show(done: int, total: int, seconds_left: float | None) -> None:
        filled = 30 * done // max(total, 1)
        eta = "" if seconds_left is None else f", {seconds_left:.0f} s left"
        end = "\n" if done == total else ""
        print(f"\r{spec.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} samples{eta}",
              end=end, file=sys.stderr, flush=True)

    return show


def _cmd_accuracy(args: argparse.Namespace) -> int:
    from tinybench.accuracy import run_accuracy
    from tinybench.dataset import read_dataset
    from tinybench.matrix import run_matrix
    from tinybench.options import matrix_from_options
    from tinybench.progress import ProgressReport
    from tinybench.reports.markdown import markdown_report

    if args.chunk < 1:
        raise ConfigError(f"--chunk must be at least 1, got {args.chunk}")
    _apply_jobs(args)
    read_dataset(args.data)  # a bad data set is one line before anything builds
    specs = matrix_from_options(args)
    if len({spec.task for spec in specs}) > 1:
        raise ConfigError("a data set belongs to one task; give it with --task")
    progress = ProgressReport()
    try:
        records, skipped = run_matrix(
            specs, args.results, progress, args.resume,
            runner=lambda spec: run_accuracy(spec, args.data, progress=_progress_bar(spec),
                                             chunk=args.chunk, jobs=args.jobs))
    finally:
        progress.close()
    if records:
        print(markdown_report(records))
    for spec, reason in skipped:
        print(f"- skipped {spec.label}: {reason}")
    print(f"\nrecords appended to {args.results}", file=sys.stderr)
    return 1 if any(record.broken for record in records) or not records else 0


def _add_data(commands: argparse._SubParsersAction) -> None:
    from tinybench.tasks import TASKS

    p = commands.add_parser("data", help="make data sets in the MLPerf Tiny runner's format")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    e = verbs.add_parser("export", help="a data set from a folder of int8 inputs with one "
                         "subfolder per class (0, 1, …) of .bin or .npy files")
    e.add_argument("source", type=Path, help="the folder of class subfolders")
    e.add_argument("--window", metavar="BYTES,STRIDE",
                   help="cut each file into windows (anomaly detection, as ad01's data set); "
                        "default for ad01: the input size and 128")
    g = verbs.add_parser("generate", help="a data set of seeded random inputs labelled by the "
                         "host reference (for trials and tests; not real data)")
    g.add_argument("--samples", type=int, default=200, help="how many (default 200)")
    g.add_argument("--seed", type=int, default=0, help="seed of the inputs (default 0)")
    for verb, func in ((e, _cmd_data_export), (g, _cmd_data_generate)):
        verb.add_argument("--task", required=True,
                          help=f"a task ({', '.join(TASKS)}) or a .tflite file: its model's "
                               "input decides the sample size")
        verb.add_argument("-o", "--output", type=Path, required=True,
                          help="the data set folder to write")
        verb.set_defaults(func=func)


def _cmd_data_export(args: argparse.Namespace) -> int:
    import math

    from tinybench.accuracy import metric_of
    from tinybench.dataset import export_folder
    from tinybench.models.inspect import inspect_model
    from tinybench.pipeline import model_file

    input_bytes = math.prod(inspect_model(model_file(args.task)).inputs[0].shape)
    window = None
    if args.window:
        try:
            size, stride = (int(v) for v in args.window.split(","))
        except ValueError:
            raise ConfigError(f"--window {args.window}: write BYTES,STRIDE, e.g. "
                              f"{input_bytes},128") from None
        window = (size, stride)
    elif metric_of(Path(args.task).stem) == "auc":
        window = (input_bytes, 128)
    dataset = export_folder(args.source, args.output, input_bytes, window)
    print(f"{len(dataset.samples)} samples written to {args.output}")
    return 0


def _cmd_data_generate(args: argparse.Namespace) -> int:
    from tinybench.accuracy import synthetic_dataset
    from tinybench.pipeline import model_file

    if args.samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {args.samples}")
    dataset = synthetic_dataset(Path(args.task).stem, model_file(args.task), args.output,
                                args.samples, args.seed)
    print(f"{len(dataset.samples)} samples written to {args.output}")
    return 0


def _add_baseline(commands: argparse._SubParsersAction) -> None:
    from tinybench.options import add_matrix_options

    p = commands.add_parser("baseline", help="measure the baseline the regression gate compares "
                            "with (by default the whole matrix on the built-in simulator)")
    add_matrix_options(p.add_argument)
    p.add_argument("--output", type=Path, default=Path("results/baseline.jsonl"),
                   help="the baseline file (default results/baseline.jsonl); its runs of the "
                        "matrix are replaced, its other runs kept")
    _add_jobs(p)
    p.set_defaults(func=_cmd_baseline)


def _cmd_baseline(args: argparse.Namespace) -> int:
    from tinybench.options import matrix_from_options
    from tinybench.reports.markdown import markdown_report
    from tinybench.results import replace_records

    specs = matrix_from_options(args)
    records, skipped = _run_matrix(specs, None, args)
    problems = [f"{spec.label} skipped: {reason}" for spec, reason in skipped]
    problems += [f"{r.label} {r.broken}" for r in records if r.broken]
    if problems:
        raise BaselineIncomplete(f"{args.output} left as it was: {len(problems)} of {len(specs)} "
                                 f"runs cannot be a baseline: {problems[0]}"
                                 + (f" (and {len(problems) - 1} more)" if len(problems) > 1
                                    else ""))
    kept = replace_records(args.output, records)
    print(markdown_report(records))
    print(f"{len(records)} runs written to {args.output}"
          + (f", {kept} other runs kept" if kept else ""), file=sys.stderr)
    return 0


def _add_validate(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("validate", help="the official models' estimates next to measured "
                            "MLPerf Tiny results (the silicon anchors)")
    p.add_argument("results", type=Path, nargs="?", default=Path("results/baseline.jsonl"),
                   metavar="RESULTS", help="results holding --weights reference runs "
                   "(default results/baseline.jsonl)")
    p.set_defaults(func=_cmd_validate)


def _cmd_validate(args: argparse.Namespace) -> int:
    from tinybench.reports.validation import validation_markdown
    from tinybench.results import load_records

    print(validation_markdown(load_records(args.results)), end="")
    return 0


def _add_boards(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("boards", help="list the boards tinybench targets")
    p.set_defaults(func=_cmd_boards)


def _cmd_boards(args: argparse.Namespace) -> int:
    from tinybench.boards import all_boards

    for board in all_boards().values():
        ram_kib = board.ram_size // 1024
        print(f"{board.name:10} {board.core.name:10} {board.clock_hz // 1_000_000:4} MHz  "
              f"flash {board.flash.size // 1024} KiB  ram {ram_kib} KiB  {board.title}")
        if board.power:
            print(f"{'':10} run power {board.power.mw:.1f} mW ({board.power.supply_v:g} V x "
                  f"{board.power.run_current_ma:g} mA), for the energy estimate: "
                  f"{board.power.source}")
        else:
            print(f"{'':10} no run power in boards.toml: no energy estimate (see its comment)")
    return 0


def _add_models(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("models", help="list, export and inspect models")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("list", help="list the benchmark tasks and their models (twin, official "
                     "reference) with MACs").set_defaults(func=_cmd_models_list)
    e = verbs.add_parser("export", help="write a task's int8 .tflite (seed 0: the shipped one)")
    e.add_argument("task", help="a task name from 'tinybench models list'")
    e.add_argument("-o", "--output", type=Path, help="where to write it (default: TASK.tflite)")
    e.add_argument("--seed", type=int, default=0, help="seed of weights and calibration data")
    e.set_defaults(func=_cmd_models_export)
    i = verbs.add_parser("inspect", help="show ops, tensors, MACs and weight bytes of a .tflite")
    i.add_argument("file", type=Path, help="a .tflite file")
    i.set_defaults(func=_cmd_models_inspect)
    z = verbs.add_parser("freeze", help="convert the tasks' shipped models again with this "
                         "TensorFlow (after a task's definition changed)")
    z.add_argument("tasks", nargs="*", help="tasks to freeze (default: all)")
    z.set_defaults(func=_cmd_models_freeze)


def _cmd_models_list(args: argparse.Namespace) -> int:
    from tinybench.errors import ToolNotFoundError
    from tinybench.models.export import task_model
    from tinybench.models.inspect import inspect_model
    from tinybench.spec import WEIGHTS
    from tinybench.tasks import TASKS, format_tasks

    for task, line in zip(TASKS, format_tasks().splitlines(), strict=True):
        print(line)
        for weights in WEIGHTS:
            try:
                model = inspect_model(task_model(task, weights))
            except ToolNotFoundError as error:
                print(f"{'':7}{weights:10} absent: {error}")
                continue
            print(f"{'':7}{weights:10} {model.macs / 1e6:6.3f} M MACs "
                  f"{model.size_bytes / 1024:7.1f} KiB  {model.path}")
    return 0


def _cmd_models_export(args: argparse.Namespace) -> int:
    from tinybench.models.export import export
    from tinybench.paths import atomic_write

    output = args.output or Path(f"{args.task}.tflite")
    atomic_write(output, export(args.task, args.seed).read_bytes())
    print(output)
    return 0


def _cmd_models_inspect(args: argparse.Namespace) -> int:
    from tinybench.models.inspect import format_model, inspect_model

    print(format_model(inspect_model(args.file)))
    return 0


def _cmd_models_freeze(args: argparse.Namespace) -> int:
    from tinybench.models.twins import freeze
    from tinybench.tasks import TASKS

    for path in freeze(args.tasks or list(TASKS)):
        print(path)
    print("the task models changed: regenerate the baseline (tinybench baseline)",
          file=sys.stderr)
    return 0


def _add_deps(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("deps", help="show or fetch the pinned upstream pieces (TFLM, Renode…)")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("status", help="show which components are present").set_defaults(
        func=_cmd_deps_status)
    f = verbs.add_parser("fetch", help="download components into the cache")
    f.add_argument("names", nargs="*",
                   help="components to fetch (default: the missing ones the TFLM backends "
                        "build; others, such as renode, only when named)")
    f.add_argument("--archive", type=Path, help="unpack this local archive instead of downloading")
    f.add_argument("--no-verify", action="store_true", help="skip the pinned checksum")
    f.set_defaults(func=_cmd_deps_fetch)


def _cmd_deps_status(args: argparse.Namespace) -> int:
    from tinybench import deps

    width = max(map(len, deps.components()))
    for c in deps.components().values():
        s = deps.status(c)
        where = f"{s.path}" if s.path else c.how_to_get()
        print(f"{c.name:{width}} {c.commit[:12]}  {s.state:8} {where}")
    return 0


def _cmd_deps_fetch(args: argparse.Namespace) -> int:
    from tinybench import deps
    from tinybench.backends.tflm_lib import COMPONENTS

    names = args.names or [name for name in COMPONENTS if deps.status(deps.get(name)).path is None]
    if args.archive and len(names) != 1:
        raise ConfigError("--archive needs exactly one component name")
    for name in names:
        print(f"{name}: {deps.fetch(name, args.archive, verify=not args.no_verify)}")
    return 0


def _add_report(commands: argparse._SubParsersAction) -> None:
    from tinybench.reports import FORMATS

    p = commands.add_parser("report", help="tabulate benchmark results (Markdown, CSV or JSON)")
    p.add_argument("results", type=Path, metavar="RESULTS",
                   help="a .jsonl results file or a folder of them")
    p.add_argument("--format", choices=FORMATS, default="md", help="output format (default: md)")
    p.add_argument("--chart", type=Path, metavar="PNG",
                   help="also draw latency against RAM per backend into this PNG file")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    from tinybench.reports import render
    from tinybench.results import load_records

    records = load_records(args.results)
    print(render(records, args.format), end="")
    if args.chart:
        from tinybench.reports.chart import latency_ram_chart

        latency_ram_chart(records, args.chart)
    return 0


def _add_compare(commands: argparse._SubParsersAction) -> None:
    from tinybench.options import add_compare_options

    p = commands.add_parser("compare", help="compare results with a baseline; fail on regressions")
    p.add_argument("results", type=Path, metavar="RESULTS",
                   help="a .jsonl results file or a folder of them")
    add_compare_options(p.add_argument)
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    from tinybench.options import minimum_comparable
    from tinybench.reports.compare import check_coverage, compare_runs, fail_on_regressions
    from tinybench.reports.markdown import markdown_comparison
    from tinybench.reports.thresholds import thresholds_from_options
    from tinybench.results import load_records

    if args.baseline is None:
        raise ConfigError("say what to compare with: --baseline FILE (a .jsonl results file)")
    thresholds = thresholds_from_options(args.fail_on)
    outcomes = compare_runs(load_records(Path(args.baseline)), load_records(args.results),
                            thresholds)
    print(markdown_comparison(outcomes, thresholds), end="")
    fail_on_regressions(outcomes)
    check_coverage(outcomes, minimum_comparable(args.min_comparable, args.allow_incomparable))
    return 0


def _add_profile(commands: argparse._SubParsersAction) -> None:
    from tinybench.backends import BACKENDS
    from tinybench.boards import all_boards
    from tinybench.options import add_weights_option
    from tinybench.simulators import SIMULATORS
    from tinybench.tasks import TASKS

    p = commands.add_parser("profile", help="print the per-layer cycles and memory of one run")
    p.add_argument("--task", required=True, help=f"a task ({', '.join(TASKS)}) or a .tflite file")
    p.add_argument("--backend", required=True, help=", ".join(BACKENDS))
    p.add_argument("--board", required=True, help=", ".join(all_boards()))
    p.add_argument("--simulator", default="iss", help=f"{', '.join(SIMULATORS)} (default iss)")
    p.add_argument("--opt", default="-O2", help="optimisation flag of the firmware build")
    add_weights_option(p.add_argument)
    p.add_argument("--chart", type=Path, help="also draw the layers into this PNG")
    p.add_argument("--results", type=Path, help="also append the run's record to this file")
    p.set_defaults(func=_cmd_profile)


def _cmd_profile(args: argparse.Namespace) -> int:
    from tinybench.analysis.layers import format_profile
    from tinybench.pipeline import run
    from tinybench.reports.layer_chart import layer_chart
    from tinybench.results import append_records
    from tinybench.spec import RunSpec

    spec = RunSpec(args.task, args.backend, args.board, args.simulator, inputs=1, opt=args.opt,
                   profile=True, weights=args.weights)
    record = run(spec)
    if args.results:
        append_records(args.results, [record])
        print(f"record appended to {args.results}", file=sys.stderr)
    if record.profile is None:
        print(f"tinybench: error: {spec.label}: {record.broken}", file=sys.stderr)
        return 1
    print(f"## {spec.label}\n")
    print(format_profile(record.profile))
    if args.chart:
        layer_chart(record.profile, spec.label, args.chart)
        print(f"\nchart written to {args.chart}", file=sys.stderr)
    return 1 if record.broken else 0


def _add_board(commands: argparse._SubParsersAction) -> None:
    from tinybench.backends import BACKENDS
    from tinybench.boards import all_boards
    from tinybench.options import add_weights_option
    from tinybench.tasks import TASKS

    tools = dict.fromkeys(f.tool for board in all_boards().values() for f in board.flashers)
    p = commands.add_parser("board", help="flash a real board and run the benchmark on it")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    f = verbs.add_parser("flash", help="build a benchmark's firmware and program the board")
    f.add_argument("--tool", help=f"{', '.join(tools)} (default: the first the board lists "
                   "that is installed)")
    r = verbs.add_parser("run", help="run the benchmark on a flashed board over its serial port")
    r.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyACM0")
    r.add_argument("--inputs", type=int, default=5, help="inputs checked against the host")
    r.add_argument("--runs", type=int, default=5, help="timed inferences per input (median)")
    r.add_argument("--warmups", type=int, default=1, help="untimed inferences before them")
    r.add_argument("--timeout", type=float, default=60.0, help="seconds a command may take")
    r.add_argument("--results", type=Path, default=Path("results/runs/latest.jsonl"),
                   help="results file the record is appended to")
    r.add_argument("--energy-uj", type=float, metavar="UJ",
                   help="energy per inference you measured with a power monitor, in µJ: "
                        "recorded beside the datasheet estimate")
    a = verbs.add_parser("accuracy", help="the task's metric over a data set on a flashed board "
                         "and on the host reference")
    a.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyACM0")
    a.add_argument("--data", type=Path, required=True,
                   help="a data set folder in the MLPerf Tiny runner's format")
    a.add_argument("--timeout", type=float, default=60.0, help="seconds a command may take")
    a.add_argument("--results", type=Path, default=Path("results/runs/accuracy.jsonl"),
                   help="results file the record is appended to")
    s = verbs.add_parser("simulate", help="serve the firmware in the built-in simulator on a "
                         "pseudo-terminal, for board run --port")
    s.add_argument("--idle-timeout", type=float, default=300.0,
                   help="stop after this many seconds without input (default 300)")
    for verb in (f, r, s):
        verb.add_argument("--profile", action="store_true",
                          help="the profile build: per-layer cycles and memory (run: print "
                          "them instead of appending a record)")
    for verb, func in ((f, _cmd_board_flash), (r, _cmd_board_run), (a, _cmd_board_accuracy),
                       (s, _cmd_board_simulate)):
        verb.add_argument("--board", required=True, help=", ".join(all_boards()))
        verb.add_argument("--task", required=True, help=f"a task ({', '.join(TASKS)}) "
                          "or a .tflite file")
        verb.add_argument("--backend", default="tvm", help=f"{', '.join(BACKENDS)} (default tvm)")
        verb.add_argument("--opt", default="-O2", help="optimisation flag of the firmware build")
        add_weights_option(verb.add_argument)
        verb.set_defaults(func=func)


def _board_firmware(args: argparse.Namespace):
    from tinybench.board import build_named

    return build_named(args.task, args.backend, args.board, getattr(args, "inputs", 1), args.opt,
                       profile=args.profile, weights=args.weights)


def _cmd_board_flash(args: argparse.Namespace) -> int:
    from tinybench.board.flash import flash

    target = _board_firmware(args)
    flasher = flash(target.firmware.elf, target.firmware.board, args.tool)
    print(f"flashed {target.firmware.elf} onto {args.board} with {flasher.tool}")
    return 0


def _cmd_board_run(args: argparse.Namespace) -> int:
    from tinybench.analysis.layers import format_profile
    from tinybench.board.runner import profile_on_board, run_on_board
    from tinybench.reports.markdown import markdown_report
    from tinybench.results import append_records

    if args.profile:
        target = _board_firmware(args)
        print(f"## {args.task}/{args.backend}/{args.board}/board\n")
        print(format_profile(profile_on_board(target, args.port, args.timeout)))
        return 0
    record = run_on_board(_board_firmware(args), args.port, args.runs, args.warmups,
                          args.timeout)
    if args.energy_uj is not None:
        if args.energy_uj <= 0:
            raise ConfigError(f"--energy-uj must be positive, got {args.energy_uj:g}")
        record = dataclasses.replace(record, measured_energy_uj=args.energy_uj)
    append_records(args.results, [record])
    print(markdown_report([record]))
    print(f"\nrecord appended to {args.results}", file=sys.stderr)
    return 1 if record.broken else 0


def _cmd_board_accuracy(args: argparse.Namespace) -> int:
    from tinybench.board.runner import accuracy_on_board
    from tinybench.dataset import read_dataset
    from tinybench.reports.markdown import markdown_report
    from tinybench.results import append_records

    read_dataset(args.data)  # a bad data set is one line before anything builds
    target = _board_firmware(args)
    record = accuracy_on_board(target, args.port, args.data, args.timeout,
                               _progress_bar(target.spec))
    append_records(args.results, [record])
    print(markdown_report([record]))
    print(f"\nrecord appended to {args.results}", file=sys.stderr)
    return 1 if record.broken else 0


def _cmd_board_simulate(args: argparse.Namespace) -> int:
    from tinybench.simulators.pty import SerialSimulation

    firmware = _board_firmware(args).firmware
    with SerialSimulation(firmware.elf, firmware.board, args.idle_timeout) as sim:
        print(f"{firmware.elf.name} on {args.board} is listening on {sim.port}", flush=True)
        sim.wait()
    print(f"stopped after {args.idle_timeout:g} s without input", file=sys.stderr)
    return 0


def _add_history(commands: argparse._SubParsersAction) -> None:
    from tinybench.history import DEFAULT_HISTORY

    p = commands.add_parser("history", help="keep results over commits, for the dashboard")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    a = verbs.add_parser("add", help="file a run's records under their commit (once)")
    a.add_argument("results", type=Path, metavar="RESULTS",
                   help="a .jsonl results file or a folder of them")
    ls = verbs.add_parser("list", help="list the commits in the history, oldest first")
    for verb, func in ((a, _cmd_history_add), (ls, _cmd_history_list)):
        verb.add_argument("--history", type=Path, default=DEFAULT_HISTORY,
                          help=f"the history folder (default {DEFAULT_HISTORY})")
        verb.set_defaults(func=func)


def _cmd_history_add(args: argparse.Namespace) -> int:
    from tinybench.history import add_to_history
    from tinybench.results import load_records

    filed = add_to_history(args.history, load_records(args.results))
    for commit, count in filed.added.items():
        if count:
            print(f"{commit}: {count} new record(s) in {args.history / commit}.jsonl")
    if filed.present:
        print(f"{filed.present} record(s) were in the history already")
    for label, count in filed.skipped.items():
        print(f"skipped {count} record(s) of {label}: a modified checkout or one outside git "
              "ran code that no commit holds", file=sys.stderr)
    return 0


def _cmd_history_list(args: argparse.Namespace) -> int:
    from collections import Counter

    from tinybench.history import commits, runs_by_commit
    from tinybench.results import load_records

    records = load_records(args.history)
    runs = runs_by_commit(records)
    counts = Counter(sha for sha, _ in runs)
    broken = Counter(sha for (sha, _), record in runs.items() if record.broken)
    for commit in commits(records):
        print(f"{commit.sha:12} {commit.time}  {counts[commit.sha]:3} runs, "
              f"{broken[commit.sha]} broken")
    return 0


def _add_dashboard(commands: argparse._SubParsersAction) -> None:
    from tinybench.history import DEFAULT_HISTORY

    p = commands.add_parser("dashboard", help="write a static HTML dashboard of a history")
    p.add_argument("history", type=Path, metavar="HISTORY", nargs="?", default=DEFAULT_HISTORY,
                   help=f"a history folder or any results (default {DEFAULT_HISTORY})")
    p.add_argument("-o", "--output", type=Path, default=Path("site"),
                   help="folder to write the site into (default: site)")
    p.add_argument("--repo-url", metavar="URL",
                   help="link commits to URL/commit/SHA (default: origin, if on GitHub; "
                        "'' for no links)")
    p.set_defaults(func=_cmd_dashboard)


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from tinybench.dashboard.site import origin_url, write_site
    from tinybench.results import load_records

    repo_url = origin_url() if args.repo_url is None else args.repo_url.rstrip("/")
    index = write_site(load_records(args.history), args.output, repo_url or None)
    print(index)
    return 0


def _what_was_left(interrupt: KeyboardInterrupt) -> str:
    """For an interrupted matrix: what finished and what was left, and how to go on."""
    from tinybench.matrix import MatrixInterrupted

    if not isinstance(interrupt, MatrixInterrupted):
        return ""
    left = ", ".join(spec.label for spec in interrupt.left[:5])
    more = f" and {len(interrupt.left) - 5} more" if len(interrupt.left) > 5 else ""
    return (f"; {len(interrupt.finished)} finished and kept, {len(interrupt.left)} left: "
            f"{left}{more} (`tinybench run --resume` runs only what is left)")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except TinybenchError as error:
        if args.traceback:
            traceback.print_exc()
        print(f"tinybench: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt as interrupt:
        print(f"tinybench: interrupted{_what_was_left(interrupt)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`tinybench … | head`): not an error
        sys.stderr.close()
        return 0
