"""`perf-identify record -- CMD [ARGS…]`: profile a command with Linux perf."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from perf_identify.arguments import Parser, epilog, positive_int
from perf_identify.errors import UsageError

EXAMPLES = [
    (
        "perf-identify record -- ./target/release/tinsel examples/string_index.tinsel",
        "profile.pb and flamegraph.svg of one run, in the current folder",
    ),
    (
        "perf-identify record --out-dir /tmp/p --frequency 4999 -- ./vm x.tinsel",
        "sample five times as often; write into /tmp/p",
    ),
]
EXIT_CODES = (
    "0 ok, 2 arguments, 8 recording failed (perf missing or refused), 70 internal "
    "error, 130 interrupted"
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify record",
        usage="perf-identify record [OPTIONS] -- CMD [ARGS ...]",
        epilog=epilog(EXAMPLES, EXIT_CODES),
        description=(
            "Run CMD under Linux perf (cpu-clock, DWARF call graphs) and write a pprof "
            "profile.pb with true line numbers and inlined frames, plus flamegraph.svg."
        ),
    )
    parser.add_argument(
        "--out-dir", type=Path, default=Path("."), metavar="DIR", help="where to write (default: .)"
    )
    parser.add_argument(
        "--frequency",
        type=positive_int,
        default=999,
        metavar="HZ",
        help="samples per second (default 999)",
    )
    parser.add_argument(
        "--call-graph",
        choices=("dwarf", "fp"),
        default="dwarf",
        help="how perf unwinds stacks: dwarf (default; needs debug info) or fp (frame pointers)",
    )
    parser.add_argument(
        "--keep-perf-data", type=Path, metavar="FILE", help="also keep perf.data at FILE"
    )
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="CMD",
        help="-- CMD [ARGS...]: the program to record",
    )
    return parser


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from perf_identify.record import record

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("no command to record", hint="perf-identify record -- CMD [ARGS...]")

    def notice(text: str) -> None:
        stderr.write(text + "\n")
        stderr.flush()

    record(
        command,
        out_dir=args.out_dir,
        frequency_hz=args.frequency,
        call_graph=args.call_graph,
        keep_perf_data=args.keep_perf_data,
        on_notice=notice,
    )
    return 0
