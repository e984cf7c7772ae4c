"""One error base class for every expected failure, one subclass per stage.

Contract: every failure a user can cause or meet (bad arguments, a failing make target, a broken
profile, a missing source file, an unreachable model, an unwritable folder) is raised as a
`PerfIdentifyError` carrying a one-line message, an optional hint saying what to do next, and an
exit code that names the stage. The CLI prints `error: …` / `hint: …` and exits with that code.

A refused draft (`DraftRefused`) also carries `details`: one line per problem, printed between
the two lines, so an agent sees every field to fix at once.

Anything else is a bug. The CLI turns it into an `InternalError` (exit 70, EX_SOFTWARE in
sysexits.h) with `internal_error`: the same two lines, the first naming the exception type and
the first line of its message, the hint naming the log file that holds the traceback. Whatever
is printed goes through `one_line`, because messages quote text from outside (profiles, source,
paths): one line, no control characters, and for an internal error at most
`MAX_INTERNAL_MESSAGE` characters. Everything here is pure; the log is written by the CLI.
"""

from __future__ import annotations

MAX_INTERNAL_MESSAGE = 200
# Control, format (bidi overrides, zero-width), surrogate and line/paragraph separator
# characters: each could move the cursor, reorder or hide text, end the line, or fail to encode.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class PerfIdentifyError(Exception):
    """An expected failure: a message for the user, a hint, and the stage's exit code."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str = "", details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Lines printed between `error:` and `hint:`, one per problem (a refused draft's).
        self.details = details


class UsageError(PerfIdentifyError):
    """Bad arguments: a missing, unsafe or out-of-repo FILE, conflicting options."""

    exit_code = 2


class MakeError(PerfIdentifyError):
    """`make analyze` / `make profile` failed, hung, or left no fresh output."""

    exit_code = 3


class ProfileError(PerfIdentifyError):
    """profile.pb is missing, corrupt, empty or inconsistent."""

    exit_code = 4


class SourceError(PerfIdentifyError):
    """The VM source a hotspot points at is missing or does not contain the function."""

    exit_code = 5


class DraftError(PerfIdentifyError):
    """The drafter could not produce prose (for example, the API key was refused)."""

    exit_code = 6


class WriteError(PerfIdentifyError):
    """An issue file or log could not be written, or the output folder is locked."""

    exit_code = 7


class RecordError(PerfIdentifyError):
    """`perf-identify record` could not run perf or convert what it recorded."""

    exit_code = 8


class IssueFileError(PerfIdentifyError):
    """An issue file does not parse, or a status move is not allowed."""

    exit_code = 9


class VerifyError(PerfIdentifyError):
    """`perf-identify verify` could not measure: no baseline commit, a build or a run failed."""

    exit_code = 10


class DraftRefused(PerfIdentifyError):
    """`perf-identify draft`: the submitted draft failed the schema or the grounding checks.

    `details` holds one line per problem, naming the field (`evidence[0]: …`); the issue file
    is left byte for byte as it was.
    """

    exit_code = 11


class Interrupted(PerfIdentifyError):
    """The user pressed Ctrl-C; nothing half-written was left behind."""

    exit_code = 130


class InternalError(PerfIdentifyError):
    """A bug: an exception no stage expected. Its traceback is in a log file, not on stderr."""

    exit_code = 70  # EX_SOFTWARE in sysexits.h: an internal software error


def one_line(text: str, limit: int | None = None) -> str:
    """`text` safe to print as one line of a terminal, cut to `limit` characters if given.

    Every character in `_UNSAFE_CATEGORIES` becomes a Python-style escape (`\\n` -> `\\x0a`,
    ESC -> `\\x1b`, U+202E -> `\\u202e`); an escape is never split by the cut, and a cut text
    ends with `…` within the limit.
    """
    pieces = [_escape(char) for char in text]
    if limit is None or sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    room = limit - 1
    for piece in pieces:
        if len(piece) > room:
            break
        kept.append(piece)
        room -= len(piece)
    return "".join(kept) + "\u2026"


def _escape(char: str) -> str:
    import unicodedata  # only when an error message holds a character to judge

    if unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def describe_exception(exc: BaseException) -> str:
    """`Type: first line of the message` (just `Type` for an empty message), never raising."""
    name = type(exc).__name__
    try:
        text = str(exc)
    except Exception:
        # A broken __str__ must not hide the bug being reported.
        text = "(the exception's message could not be read)"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{name}: {first}" if first else name


def internal_error(
    exc: BaseException, log_path: str | None, log_problem: str = ""
) -> InternalError:
    """The `InternalError` reporting `exc`, with a hint naming `log_path`.

    `log_path` is None when no log could be written; `log_problem` then says why, and the hint
    says so instead of naming a file.
    """
    message = "internal error: " + one_line(describe_exception(exc), MAX_INTERNAL_MESSAGE)
    if log_path is not None:
        hint = f"the traceback is in {one_line(log_path)}; please report it with that file"
    else:
        reason = one_line(log_problem, MAX_INTERNAL_MESSAGE) or "unknown reason"
        hint = (
            f"the traceback could not be written to a log file ({reason}); "
            "please report this error with the command that caused it"
        )
    return InternalError(message, hint)
