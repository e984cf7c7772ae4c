"""The command line: arguments in, stages run, one exit code out.

Contract: `main(argv) -> int`. Expected failures (`PerfIdentifyError`) print `error: …` and
`hint: …` on stderr, no traceback, and return the error's exit code:

  0 success · 2 bad arguments · 3 make failed · 4 profile problem · 5 source problem (no
  issue file could be backed by the source) · 6 drafting failed · 7 write failed or folder
  locked · 8 recording failed · 9 issue file problem · 130 interrupted

Progress goes to stderr, results to stdout (`--json` prints one JSON object instead of the
table). Heavy imports (rich, the pipeline, the recorder) happen inside the commands, so
`perf-identify --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from perf_identify import __version__
from perf_identify.errors import Interrupted, PerfIdentifyError, SourceError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

SUBCOMMANDS = ("record",)

_DESCRIPTION = """\
Profile one benchmark of a Rust bytecode VM and write one issue file per hotspot.

Runs `make analyze FILE=…` and `make profile FILE=…` in the repo (skipping the second when the
first already wrote a fresh profile), ranks the profile's hotspots by the share of samples whose
innermost frame lies in the VM's own source, reads each hot function's source, and writes
perf-issues/NAME.txt files in the format /perf-implement and /perf-verify read.
"""

_EPILOG = """\
other commands:
  perf-identify record [options] -- CMD [ARGS...]
                        record CMD with Linux perf; write profile.pb and flamegraph.svg

exit codes: 0 ok, 2 arguments, 3 make, 4 profile, 5 source, 6 drafting, 7 writing,
            8 recording, 9 issue file, 130 interrupted
"""


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting with 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, hint=f"see {self.prog} --help")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _percent(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, got {value}")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from exc


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def identify_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="perf-identify",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the benchmark program, e.g. examples/x.santa")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the VM checkout (default: .)")
    parser.add_argument(
        "--source-root",
        default="lang/src/vm",
        help="the VM's own source, relative to the repo (default: lang/src/vm)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("perf-issues"), help="issue folder (default: perf-issues)"
    )
    parser.add_argument("--top", type=_positive_int, default=5, help="at most N issues (default 5)")
    parser.add_argument(
        "--min-percent",
        type=_percent,
        default=1.0,
        metavar="P",
        help="skip hotspots under P%% of runtime (default 1.0)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="analyse this existing profile.pb instead of running make (implies --skip-make)",
    )
    parser.add_argument(
        "--skip-make",
        action="store_true",
        help="run no make target; use --profile or the repo's profile.pb",
    )
    parser.add_argument(
        "--always-profile",
        action="store_true",
        help="run make profile even when make analyze already wrote a fresh profile",
    )
    parser.add_argument(
        "--runtime-ms",
        type=_positive_int,
        help="the Runtime to report, when make analyze's timing is not available",
    )
    parser.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="give up on a make target after this"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="draft prose with the deterministic offline drafter (the default for now)",
    )
    parser.add_argument(
        "--date", type=_day, help="the IDENTIFIED date to write (default: today), YYYY-MM-DD"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    noise.add_argument(
        "--verbose", "-v", action="store_true", help="stream make's output to stderr"
    )
    parser.add_argument("--version", action="version", version=f"perf-identify {__version__}")
    return parser


def record_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
        "--frequency", type=_positive_int, default=999, metavar="HZ", help="samples per second"
    )
    parser.add_argument("--call-graph", choices=("dwarf", "fp"), default="dwarf")
    parser.add_argument(
        "--keep-perf-data", type=Path, metavar="PATH", help="also keep perf.data at PATH"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    return parser


class ConsoleProgress:
    """Progress on stderr: a live status line on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO, *, quiet: bool, verbose: bool) -> None:
        self._stream = stream
        self._quiet = quiet
        self._verbose = verbose
        self._tty = stream.isatty()
        self._last_status = 0.0
        self._status_text = ""
        self._live: object | None = None
        self._started = time.monotonic()

    def _clear(self) -> None:
        if self._tty and self._status_text:
            self._stream.write("\r\x1b[2K")
            self._status_text = ""

    def step(self, text: str) -> None:
        if self._quiet:
            return
        self._clear()
        self._stream.write(f"perf-identify: {text}\n")
        self._stream.flush()

    def status(self, text: str, elapsed_s: float) -> None:
        if self._quiet:
            return
        line = f"  {text} ... {elapsed_s:.0f}s"
        if self._tty:
            self._stream.write("\r\x1b[2K" + line)
            self._status_text = line
            self._stream.flush()
        elif elapsed_s - self._last_status >= 30:
            # A pipe gets a heartbeat every 30 s, not a repainted line.
            self._last_status = elapsed_s
            self._stream.write(line + "\n")
            self._stream.flush()

    def output(self, line: str) -> None:
        if self._verbose:
            self._clear()
            self._stream.write(line + "\n")
            self._stream.flush()

    def notice(self, text: str) -> None:
        if self._quiet:
            return
        self._clear()
        self._stream.write(f"perf-identify: {text}\n")
        self._stream.flush()

    def done(self) -> None:
        self._clear()


def _stdout_console(stdout: TextIO) -> Console:
    from rich.console import Console

    # A pipe gets a width that fits real symbol names instead of rich's 80 columns.
    width = None if stdout.isatty() else 132
    return Console(file=stdout, highlight=False, soft_wrap=False, width=width)


def run_identify(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from perf_identify.drafting import OfflineDrafter
    from perf_identify.issues_dir import format_listing, list_directory
    from perf_identify.pipeline import IdentifyRequest, Shell, identify
    from perf_identify.report import print_report, report_json

    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo} is not a directory")
    out_dir = args.out if args.out.is_absolute() else repo / args.out
    profile = args.profile
    if profile is not None and not profile.is_absolute():
        profile = Path.cwd() / profile
    request = IdentifyRequest(
        repo=repo,
        file_arg=args.file,
        out_dir=out_dir,
        today=args.date or date.today(),
        source_root=args.source_root.strip("/"),
        top=args.top,
        min_percent=args.min_percent,
        profile=profile,
        skip_make=args.skip_make or profile is not None,
        always_profile=args.always_profile,
        runtime_ms=args.runtime_ms,
        timeout_s=args.timeout,
    )
    progress = ConsoleProgress(stderr, quiet=args.quiet or args.json, verbose=args.verbose)
    try:
        report = identify(request, Shell(drafter=OfflineDrafter(), progress=progress))
    finally:
        progress.done()
    if args.json:
        stdout.write(json.dumps(report_json(report), indent=2) + "\n")
    else:
        listing = (
            format_listing(list_directory(out_dir)) if report.rows and out_dir.is_dir() else None
        )
        print_report(report, _stdout_console(stdout), listing)
    if not report.rows and report.unresolved:
        first = report.unresolved[0]
        raise SourceError(
            f"no issue file written: {first.reason}",
            hint=f"run in the VM checkout or pass --repo; files are looked up under "
            f"{request.source_root}/ by the longest suffix of the recorded path",
        )
    return 0


def run_record(args: argparse.Namespace, stderr: TextIO) -> int:
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


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run one command; return its exit code. See the module docstring for the codes."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        if args_list and args_list[0] == "record":
            return run_record(record_parser().parse_args(args_list[1:]), err)
        return run_identify(identify_parser().parse_args(args_list), out, err)
    except PerfIdentifyError as exc:
        err.write(f"error: {exc.message}\n")
        if exc.hint:
            err.write(f"hint: {exc.hint}\n")
        err.flush()
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("error: interrupted\n")
        return Interrupted.exit_code


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
