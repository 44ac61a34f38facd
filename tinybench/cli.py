"""The `tinybench` command: parse arguments, call the pipeline stages, print results.

Each subcommand is a small function that takes the parsed arguments and returns an exit
code. User errors (TinybenchError) are printed as one line; `--traceback` shows the rest.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from tinybench import __version__
from tinybench.errors import TinybenchError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinybench", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tinybench {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_boards(commands)
    return parser


def _add_boards(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("boards", help="list the boards tinybench targets")
    p.set_defaults(func=_cmd_boards)


def _cmd_boards(args: argparse.Namespace) -> int:
    from tinybench.boards import all_boards

    for board in all_boards().values():
        ram_kib = board.ram_size // 1024
        print(f"{board.name:10} {board.core:10} {board.clock_hz // 1_000_000:4} MHz  "
              f"flash {board.flash.size // 1024} KiB  ram {ram_kib} KiB  {board.title}")
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
