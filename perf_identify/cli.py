"""The command line: a name picks a command module; expected failures become exit codes.

Contract: `main(argv) -> int`. `perf-identify FILE …` runs the default command (identify);
`perf-identify NAME …` runs the command registered under NAME in `COMMANDS`. Expected failures
(`PerfIdentifyError`) print `error: …` and `hint: …` on stderr, no traceback, and return the
error's exit code:

  0 success · 2 bad arguments · 3 make failed · 4 profile problem · 5 source problem (no
  issue file could be backed by the source) · 6 drafting failed · 7 write failed or folder
  locked · 8 recording failed · 9 issue file problem · 10 verify could not measure ·
  11 draft refused (`perf-identify draft`: the draft failed the schema or the grounding checks;
  one line per problem between `error:` and `hint:`) · 70 internal error (a bug) ·
  130 interrupted

Any other exception is a bug, and still no traceback reaches the terminal: it prints
`error: internal error: <Type>: <first line of its message>` and `hint: the traceback is in
<log>; …`, returns 70, and writes the traceback, argv, version and time to
`${XDG_STATE_HOME:-~/.local/state}/perf-identify/logs/internal-error-<YYYYmmdd-HHMMSS>-<pid>.log`
(a temporary file when that folder cannot be written; the hint says so when nothing can be).
Handling it touches no issue file: those already written were each renamed into place whole.
Every `error:` and `hint:` line is printed through `errors.one_line`, so text from outside
cannot break the two-line shape or reach the terminal as control characters.

Only the chosen command's module is imported, and commands import rich, the SDK and tree-sitter
inside `run`, so `perf-identify --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO, cast

from perf_identify import __version__
from perf_identify.arguments import epilog
from perf_identify.errors import (
    Interrupted,
    PerfIdentifyError,
    UsageError,
    internal_error,
    one_line,
)

DEFAULT_COMMAND = "perf_identify.commands.identify"
# name -> (module, one-line summary for --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "record": (
        "perf_identify.commands.record",
        "record CMD with Linux perf; write profile.pb and flamegraph.svg",
    ),
    "list": (
        "perf_identify.commands.listing",
        "every issue file: status, share, who drafted it, last log",
    ),
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
    "brief": (
        "perf_identify.commands.brief",
        "FILE: facts, source and rules for drafting one issue's prose",
    ),
    "draft": (
        "perf_identify.commands.draft",
        "FILE --from JSON: check a draft and rewrite the prose (exit 11: refused)",
    ),
    "show": (
        "perf_identify.commands.show",
        "FUNCTION: callers, callees, per-line figures of a profile (pprof -peek/-list)",
    ),
    "install-commands": (
        "perf_identify.commands.install_commands",
        "[--repo DIR]: write the slash commands into DIR/.claude/commands/",
    ),
}
EXIT_CODES = """\
0 ok, 2 arguments, 3 make, 4 profile, 5 source, 6 drafting, 7 writing, 8 recording,
  9 issue file, 10 verify could not measure, 11 draft refused, 70 internal error, 130 interrupted"""
USAGE = (
    "perf-identify [OPTIONS] FILE\n"
    "       perf-identify COMMAND [OPTIONS] [ARGS]\n"
    "       COMMAND: " + ", ".join(COMMANDS) + "\n"
    "       perf-identify COMMAND --help: one command's options"
)
EXAMPLES = (
    (
        "perf-identify examples/string_index.tinsel --repo examples/tinsel",
        "profile one benchmark of the VM checked out in examples/tinsel; write perf-issues/",
    ),
    ("perf-identify list --repo examples/tinsel", "the issue files written so far"),
)


class Command(Protocol):
    def build_parser(self) -> argparse.ArgumentParser: ...

    def run(self, args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int: ...


def _epilog() -> str:
    lines = ["commands:"]
    for name, (_module, summary) in COMMANDS.items():
        lines.append(f"  {name:<17} {summary}")
    return "\n".join(lines) + "\n\n" + epilog(EXAMPLES, EXIT_CODES)


def _unknown_command(word: str) -> UsageError | None:
    """`perf-identify lst`: a word close to a command name that names no file is a typo."""
    if word.startswith("-") or "/" in word or "." in word or os.path.exists(word):
        return None
    import difflib

    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
    if not close:
        return None
    return UsageError(f"unknown command {word!r}", hint=f"did you mean `perf-identify {close[0]}`?")


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
        _require_working_directory()
        if args and args[0] in COMMANDS:
            command = _command(COMMANDS[args[0]][0])
            return command.run(command.build_parser().parse_args(args[1:]), out, err)
        typo = _unknown_command(args[0]) if args else None
        if typo is not None:
            raise typo
        from perf_identify.commands import identify

        parser = identify.build_parser(_epilog(), USAGE)
        return identify.run(parser.parse_args(args), out, err)
    except PerfIdentifyError as exc:
        return _report(exc, err)
    except KeyboardInterrupt:
        err.write("error: interrupted\n")
        return Interrupted.exit_code
    except Exception as exc:
        # The last line of defence: a bug in any command still ends in two lines and a log.
        log_path, problem = write_internal_log(exc, ["perf-identify", *args])
        return _report(internal_error(exc, log_path, problem), err)


def _report(exc: PerfIdentifyError, err: TextIO) -> int:
    """Print the `error:` and `hint:` lines; return the exit code, even if stderr is gone."""
    try:
        err.write(f"error: {one_line(exc.message)}\n")
        for detail in exc.details:
            err.write(f"{one_line(detail)}\n")
        if exc.hint:
            err.write(f"hint: {one_line(exc.hint)}\n")
        err.flush()
    except (OSError, ValueError):
        pass  # A closed or broken stderr: the exit code is all that is left to say it.
    return exc.exit_code


def internal_log_dir() -> Path:
    """`${XDG_STATE_HOME:-~/.local/state}/perf-identify/logs`.

    A relative XDG_STATE_HOME is ignored, as the XDG Base Directory spec requires.
    """
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "perf-identify" / "logs"


def write_internal_log(exc: BaseException, argv: Sequence[str]) -> tuple[str | None, str]:
    """Write `exc`'s traceback, argv, version and time to a new log; never raise.

    Returns `(path, "")`, or `(None, why)` when neither the state folder nor a temporary file
    could be written.
    """
    try:
        now = datetime.now().astimezone()
        stem = f"internal-error-{now:%Y%m%d-%H%M%S}-{os.getpid()}"
        text = _log_text(exc, argv, now)
    except Exception as text_exc:
        return None, f"the log text could not be built: {_reason(text_exc)}"
    problems: list[str] = []
    try:
        folder = internal_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return str(_create_log(folder, stem, text)), ""
    except Exception as state_exc:
        problems.append(_reason(state_exc))
    try:
        import tempfile

        fd, name = tempfile.mkstemp(prefix=f"perf-identify-{stem}-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
        return name, ""
    except Exception as temp_exc:
        problems.append(_reason(temp_exc))
    return None, "; ".join(problems)


def _create_log(folder: Path, stem: str, text: str) -> Path:
    """A new file `stem.log` in `folder` (`stem-2.log`, … when taken), private to the user."""
    for index in range(1, 100):
        path = folder / (f"{stem}.log" if index == 1 else f"{stem}-{index}.log")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text)
        return path
    raise FileExistsError(f"{folder / stem}.log and 98 more names are taken")


def _log_text(exc: BaseException, argv: Sequence[str], now: datetime) -> str:
    try:
        import traceback

        trace = "".join(traceback.format_exception(exc))
    except Exception as format_exc:
        trace = f"(the traceback could not be formatted: {_reason(format_exc)})\n"
    # People `cat` a log: messages quote outside text, so escape sequences are escaped here
    # too, line by line; repr() keeps a hostile argument on its line.
    safe_trace = "\n".join(one_line(line) for line in trace.split("\n"))
    return (
        f"perf-identify {__version__}: internal error\n"
        f"time: {now.isoformat(timespec='seconds')}\n"
        f"pid: {os.getpid()}\n"
        f"python: {sys.version.split()[0]} on {sys.platform}\n"
        f"argv: {list(argv)!r}\n"
        "\n"
        f"{safe_trace}"
    )


def _reason(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return type(exc).__name__


def _require_working_directory() -> None:
    """Every command resolves paths against the working directory; one deleted under the shell
    (a `git clean`, a removed build folder) would fail much later, in a less telling place."""
    try:
        os.getcwd()
    except FileNotFoundError:
        raise UsageError(
            "the current directory no longer exists",
            hint="cd into the VM checkout (or any existing folder) and run the command again",
        ) from None


def main_entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
