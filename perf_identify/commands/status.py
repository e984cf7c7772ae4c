"""`perf-identify status FILE NEW_STATUS --note TEXT`: one legal, section-free status move.

Moves into IN_PROGRESS (starting work, or another try after MARGINAL or REGRESSION) are made
here; the moves that record a section belong to `implemented` and `verify`. A refused move is an
`IssueFileError` (exit 9) and the file is untouched. The issue's lock is taken, not the folder's
for long (see `issues_dir`): while a `verify` of this issue runs, the move is refused at once
(`WriteError`, exit 7); other issues move freely.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from perf_identify.arguments import Parser, day, epilog
from perf_identify.errors import UsageError
from perf_identify.ports import FILE_ISSUE_STORE, SYSTEM_CLOCK, Clock, IssueStore
from perf_identify.render import Status

EXAMPLES = [
    (
        "perf-identify status perf-issues/NAME.txt IN_PROGRESS --note 'start on the clone'",
        "start work on an IDENTIFIED (or MARGINAL, REGRESSION) issue",
    )
]
EXIT_CODES = (
    "0 ok, 2 arguments, 7 another command is working on this issue or the write "
    "failed, 9 issue file problem (e.g. an illegal move), 70 internal error"
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify status",
        epilog=epilog(EXAMPLES, EXIT_CODES),
        description=(
            "Move an issue file to NEW_STATUS and append `[date] NEW_STATUS - note` to its "
            "PROGRESS LOG. Legal moves: IDENTIFIED -> IN_PROGRESS -> IMPLEMENTED -> VERIFYING "
            "-> VERIFIED|MARGINAL|REGRESSION, and MARGINAL|REGRESSION -> IN_PROGRESS. This "
            "command makes the moves into IN_PROGRESS; `implemented` and `verify` make the rest."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="perf-issues/NAME.txt")
    parser.add_argument(
        "new_status",
        metavar="NEW_STATUS",
        choices=[status.value for status in Status],
        help="the status to move to, e.g. IN_PROGRESS",
    )
    parser.add_argument(
        "--note", required=True, metavar="TEXT", help="the progress-log note (one line)"
    )
    parser.add_argument(
        "--date", type=day, metavar="YYYY-MM-DD", help="the log entry's date (default: today)"
    )
    return parser


def run(
    args: argparse.Namespace,
    stdout: TextIO,
    stderr: TextIO,
    *,
    clock: Clock = SYSTEM_CLOCK,
    store: IssueStore = FILE_ISSUE_STORE,
) -> int:
    """`clock` gives the log entry's date when --date is absent; `store` holds the issue file."""
    from perf_identify.issue_update import update_issue
    from perf_identify.lifecycle import set_status

    note = " ".join(args.note.split())
    if not note:
        raise UsageError("--note is empty", hint="say in one line why the status changes")
    new = Status(args.new_status)
    today = args.date or clock.today()
    before, after = update_issue(args.file, lambda doc: set_status(doc, new, today, note), store)
    stdout.write(f"{args.file}: {before.status.value} -> {after.status.value}\n")
    return 0
