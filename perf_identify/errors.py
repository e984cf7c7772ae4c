"""One error base class for every expected failure, one subclass per stage.

Contract: every failure a user can cause or meet (bad arguments, a failing make target, a broken
profile, a missing source file, an unreachable model, an unwritable folder) is raised as a
`PerfIdentifyError` carrying a one-line message, an optional hint saying what to do next, and an
exit code that names the stage. The CLI prints `error: …` / `hint: …` and exits with that code;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class PerfIdentifyError(Exception):
    """An expected failure: a message for the user, a hint, and the stage's exit code."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


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


class Interrupted(PerfIdentifyError):
    """The user pressed Ctrl-C; nothing half-written was left behind."""

    exit_code = 130
