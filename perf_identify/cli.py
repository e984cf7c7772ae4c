"""The command line: a name picks a command module; expected failures become exit codes.

Contract: `main(argv) -> int`. `perf-identify FILE …` runs the default command (identify);
`perf-identify NAME …` runs the command registered under NAME in `COMMANDS`. Expected failures
(`PerfIdentifyError`) print `error: …` and `hint: …` on stderr, no traceback, and return the
error's exit code:

  0 success · 2 bad arguments · 3 make failed · 4 profile problem · 5 source problem (no
  issue file could be backed by the source) · 6 drafting failed · 7 write failed or folder
  locked · 8 recording failed · 9 issue file problem · 10 verify could not measure ·
  130 interrupted

Only the chosen command's module is imported, and commands import rich, the SDK and tree-sitter
inside `run`, so `perf-identify --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, TextIO, cast

from perf_identify.errors import Interrupted, PerfIdentifyError

DEFAULT_COMMAND = "perf_identify.commands.identify"
# name -> (module, one-line summary for --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "record": (
        "perf_identify.commands.record",
        "record CMD with Linux perf; write profile.pb and flamegraph.svg",
    ),
    "list": ("perf_identify.commands.listing", "every issue file: status, share, last log"),
    "status": (
        "perf_identify.commands.status",
        "FILE IN_PROGRESS --note TEXT: start work on an issue",
    ),
    "implemented": (
        "perf_identify.commands.implemented",
        "FILE …: write the IMPLEMENTATION section (-> IMPLEMENTED)",
    ),
    "verify": (
        "perf_identify.commands.verify",
        "FILE: tests, before/after timings, the verdict (exit 10: cannot measure)",
    ),
    "install-commands": (
        "perf_identify.commands.install_commands",
        "[--repo DIR]: write the slash commands into DIR/.claude/commands/",
    ),
}
EXIT_CODES = """\
exit codes: 0 ok, 2 arguments, 3 make, 4 profile, 5 source, 6 drafting, 7 writing,
            8 recording, 9 issue file, 10 verify could not measure, 130 interrupted"""


class Command(Protocol):
    def build_parser(self) -> argparse.ArgumentParser: ...

    def run(self, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int: ...


def _epilog() -> str:
    lines = ["other commands:"]
    for name, (_module, summary) in COMMANDS.items():
        lines.append(f"  perf-identify {name:<10} {summary}")
    return "\n".join(lines) + "\n\n" + EXIT_CODES


def _command(module: str) -> Command:
    return cast(Command, importlib.import_module(module))


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run one command; return its exit code. See the module docstring for the codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        if args and args[0] in COMMANDS:
            command = _command(COMMANDS[args[0]][0])
            return command.run(command.build_parser().parse_args(args[1:]), out, err)
        from perf_identify.commands import identify

        return identify.run(identify.build_parser(_epilog()).parse_args(args), out, err)
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
