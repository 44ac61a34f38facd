"""The `tinybench` command: parse arguments, call the pipeline stages, print results.

Each subcommand is a small function that takes the parsed arguments and returns an exit
code. User errors (TinybenchError) are printed as one line; `--traceback` shows the rest.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from tinybench import __version__
from tinybench.errors import ConfigError, TinybenchError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinybench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tinybench {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(commands)
    _add_boards(commands)
    _add_models(commands)
    _add_deps(commands)
    _add_report(commands)
    _add_compare(commands)
    _add_board(commands)
    return parser


def _add_run(commands: argparse._SubParsersAction) -> None:
    from tinybench.backends import BACKENDS
    from tinybench.boards import all_boards
    from tinybench.tasks import TASKS

    p = commands.add_parser("run", help="run the benchmark matrix and print a Markdown table")
    p.add_argument("--task", default="all",
                   help=f"tasks ({','.join(TASKS)}), .tflite files, or 'all' (default)")
    p.add_argument("--backend", default="tvm",
                   help=f"{', '.join(BACKENDS)}, or 'all' (default tvm)")
    p.add_argument("--board", default="all", help=f"{', '.join(all_boards())}, or 'all' (default)")
    p.add_argument("--simulator", default="iss", help="iss (built in), renode, or 'all'")
    p.add_argument("--inputs", type=int, default=5, help="inputs checked against the host")
    p.add_argument("--opt", default="-O2", help="optimisation flag of the firmware build")
    p.add_argument("--results", type=Path, default=Path("results/runs/latest.jsonl"),
                   help="results file the records are appended to")
    p.add_argument("--resume", action="store_true",
                   help="take runs that already succeeded from the results file, run the rest")
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from tinybench.pipeline import matrix, run_matrix
    from tinybench.reports.compare import REFERENCE_SIMULATOR, cross_checks
    from tinybench.reports.markdown import markdown_report

    specs = matrix(args.task, args.backend, args.board, args.simulator, args.inputs, args.opt)

    def progress(index: int, total: int, spec, state: str) -> None:
        print(f"[{index}/{total}] {spec.label}: {state}", file=sys.stderr, flush=True)

    records, skipped = run_matrix(specs, args.results, progress, args.resume)
    if records:
        print(markdown_report(records))
    for spec, reason in skipped:
        print(f"- skipped {spec.label}: {reason}")
    print(f"\nrecords appended to {args.results}", file=sys.stderr)
    disagreeing = [(other, problems) for _, other, problems in cross_checks(records) if problems]
    for other, problems in disagreeing:
        print(f"{'/'.join(other.key)} disagrees with {REFERENCE_SIMULATOR}: "
              + "; ".join(problems), file=sys.stderr)
    return 1 if any(record.broken for record in records) or disagreeing or not records else 0


def _add_boards(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("boards", help="list the boards tinybench targets")
    p.set_defaults(func=_cmd_boards)


def _cmd_boards(args: argparse.Namespace) -> int:
    from tinybench.boards import all_boards

    for board in all_boards().values():
        ram_kib = board.ram_size // 1024
        print(f"{board.name:10} {board.core.name:10} {board.clock_hz // 1_000_000:4} MHz  "
              f"flash {board.flash.size // 1024} KiB  ram {ram_kib} KiB  {board.title}")
    return 0


def _add_models(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("models", help="list, export and inspect models")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("list", help="list the benchmark tasks").set_defaults(func=_cmd_models_list)
    e = verbs.add_parser("export", help="write a task's int8 .tflite")
    e.add_argument("task", help="a task name from 'tinybench models list'")
    e.add_argument("-o", "--output", type=Path, help="where to write it (default: TASK.tflite)")
    e.add_argument("--seed", type=int, default=0, help="seed of weights and calibration data")
    e.set_defaults(func=_cmd_models_export)
    i = verbs.add_parser("inspect", help="show ops, tensors, MACs and weight bytes of a .tflite")
    i.add_argument("file", type=Path, help="an int8 .tflite file")
    i.set_defaults(func=_cmd_models_inspect)


def _cmd_models_list(args: argparse.Namespace) -> int:
    from tinybench.tasks import format_tasks

    print(format_tasks())
    return 0


def _cmd_models_export(args: argparse.Namespace) -> int:
    from tinybench.models import export
    from tinybench.paths import atomic_write

    output = args.output or Path(f"{args.task}.tflite")
    atomic_write(output, export(args.task, args.seed).read_bytes())
    print(output)
    return 0


def _cmd_models_inspect(args: argparse.Namespace) -> int:
    from tinybench.models.inspect import format_model, inspect_model

    print(format_model(inspect_model(args.file)))
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

    for c in deps.components().values():
        s = deps.status(c)
        where = f"{s.path}" if s.path else c.how_to_get()
        print(f"{c.name:12} {c.commit[:12]}  {s.state:8} {where}")
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
    from tinybench.reports.thresholds import add_compare_options

    p = commands.add_parser("compare", help="compare results with a baseline; fail on regressions")
    p.add_argument("results", type=Path, metavar="RESULTS",
                   help="a .jsonl results file or a folder of them")
    add_compare_options(p.add_argument)
    p.set_defaults(func=_cmd_compare)


def _cmd_compare(args: argparse.Namespace) -> int:
    from tinybench.reports.compare import compare_runs, fail_on_regressions
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
    return 0


def _add_board(commands: argparse._SubParsersAction) -> None:
    from tinybench.backends import BACKENDS
    from tinybench.boards import all_boards
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
    s = verbs.add_parser("simulate", help="serve the firmware in the built-in simulator on a "
                         "pseudo-terminal, for board run --port")
    s.add_argument("--idle-timeout", type=float, default=300.0,
                   help="stop after this many seconds without input (default 300)")
    for verb, func in ((f, _cmd_board_flash), (r, _cmd_board_run), (s, _cmd_board_simulate)):
        verb.add_argument("--board", required=True, help=", ".join(all_boards()))
        verb.add_argument("--task", required=True, help=f"a task ({', '.join(TASKS)}) "
                          "or a .tflite file")
        verb.add_argument("--backend", default="tvm", help=f"{', '.join(BACKENDS)} (default tvm)")
        verb.add_argument("--opt", default="-O2", help="optimisation flag of the firmware build")
        verb.set_defaults(func=func)


def _board_firmware(args: argparse.Namespace):
    from tinybench.board import build_named

    return build_named(args.task, args.backend, args.board, getattr(args, "inputs", 1), args.opt)


def _cmd_board_flash(args: argparse.Namespace) -> int:
    from tinybench.board.flash import flash

    target = _board_firmware(args)
    flasher = flash(target.firmware.elf, target.firmware.board, args.tool)
    print(f"flashed {target.firmware.elf} onto {args.board} with {flasher.tool}")
    return 0


def _cmd_board_run(args: argparse.Namespace) -> int:
    from tinybench.board.runner import run_on_board
    from tinybench.reports.markdown import markdown_report
    from tinybench.results import append_records

    record = run_on_board(_board_firmware(args), args.port, args.runs, args.warmups,
                          args.timeout)
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except TinybenchError as error:
        if args.traceback:
            traceback.print_exc()
        print(f"tinybench: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("tinybench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`tinybench … | head`): not an error
        sys.stderr.close()
        return 0
