"""`perf-identify record -- CMD [ARGS…]`: profile a command with Linux perf."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from perf_identify.arguments import Parser, positive_int
from perf_identify.errors import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify record",
        description=(
            "Run CMD under Linux perf (cpu-clock, DWARF call graphs) and write a pprof "
            "profile.pb with true line numbers and inlined frames, plus flamegraph.svg."
        ),
    )
    parser.add_argument(
        "--out-dir", type=Path, default=Path("."), help="where to write (default: .)"
    )
    parser.add_argument(
        "--frequency", type=positive_int, default=999, metavar="HZ", help="samples per second"
    )
    parser.add_argument("--call-graph", choices=("dwarf", "fp"), default="dwarf")
    parser.add_argument(
        "--keep-perf-data", type=Path, metavar="PATH", help="also keep perf.data at PATH"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
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
