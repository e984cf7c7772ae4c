"""`perf-identify implemented FILE …`: write the IMPLEMENTATION section, IN_PROGRESS -> IMPLEMENTED.

The three fields come from flags (`--file-modified PATH:WHAT`, repeatable; `--changes TEXT`;
`--tests TEXT`) or from one JSON file (`--from-json F`, `-` for stdin)::

    {"files_modified": [{"path": "lang/src/vm/runtime.rs", "what": "index by char lazily"}],
     "changes_made": "…", "tests": "…", "note": "optional log note"}

(a `files_modified` item may also be the string `"PATH: WHAT"`). At least one file, and
non-empty changes and tests, are required; a path must be relative, inside the repo and free of
`": "` (where an item is split when read back). A bad field is a `UsageError` (exit 2), a wrong
status an `IssueFileError` (exit 9), an issue another command is working on (a `verify` of it)
a `WriteError` (exit 7); either way the file is untouched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePosixPath
from typing import TextIO

from pydantic import BaseModel, ConfigDict, ValidationError

from perf_identify.arguments import Parser, day, epilog
from perf_identify.errors import UsageError
from perf_identify.ports import FILE_ISSUE_STORE, SYSTEM_CLOCK, Clock, IssueStore
from perf_identify.render import Implementation


class _FileItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    path: str
    what: str = ""


class ImplementationInput(BaseModel):
    """The `--from-json` document."""

    model_config = ConfigDict(extra="forbid", strict=True)
    files_modified: list[_FileItem | str]
    changes_made: str
    tests: str
    note: str = ""


EXAMPLES = [
    (
        "perf-identify implemented perf-issues/NAME.txt --from-json impl.json",
        "the fields from a JSON file: files_modified [{path, what}], changes_made, tests, note",
    ),
    (
        "perf-identify implemented perf-issues/NAME.txt \\\n"
        "      --file-modified 'lang/src/vm/runtime.rs:no clone' \\\n"
        "      --changes 'borrow the string' --tests 'index_op_borrows'",
        "the same fields as options",
    ),
]
EXIT_CODES = (
    "0 ok, 2 arguments, 7 another command is working on this issue or the write "
    "failed, 9 issue file problem (e.g. not IN_PROGRESS), 70 internal error"
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify implemented",
        epilog=epilog(EXAMPLES, EXIT_CODES),
        description=(
            "Record what was implemented for an IN_PROGRESS issue (its IMPLEMENTATION section: "
            "Files Modified, Changes Made, Tests Added/Modified) and move it to IMPLEMENTED."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="perf-issues/NAME.txt")
    parser.add_argument(
        "--file-modified",
        action="append",
        default=[],
        metavar="PATH:WHAT",
        help="a file changed and what changed in it (repeat for each file)",
    )
    parser.add_argument("--changes", metavar="TEXT", help="Changes Made (prose)")
    parser.add_argument("--tests", metavar="TEXT", help="Tests Added/Modified (prose)")
    parser.add_argument(
        "--from-json", metavar="FILE", help="read all three fields from a JSON file ('-': stdin)"
    )
    parser.add_argument(
        "--note", metavar="TEXT", help="the progress-log note (default: from Changes Made)"
    )
    parser.add_argument(
        "--date", type=day, metavar="YYYY-MM-DD", help="the log entry's date (default: today)"
    )
    return parser


def _check_path(path: str) -> str:
    path = path.strip()
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts:
        raise UsageError(
            f"modified file {path!r} must be a path relative to the repo",
            hint="e.g. --file-modified lang/src/vm/runtime.rs:what changed",
        )
    if ": " in path or len(path.splitlines()) != 1 or path != " ".join(path.split()):
        raise UsageError(f"modified file {path!r} must be one line without ': '")
    return path


def _item(text: str) -> tuple[str, str]:
    path, _, what = text.partition(":")
    return _check_path(path), " ".join(what.split())


def _from_json(source: str) -> ImplementationInput:
    try:
        raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read --from-json {source}: {exc}") from None
    try:
        return ImplementationInput.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(document)"
        raise UsageError(
            f"--from-json {source}: {where}: {first['msg']}",
            hint="keys: files_modified (list of {path, what} or 'PATH: WHAT'), changes_made, "
            "tests, and optionally note",
        ) from None


def _default_note(changes: str, files: int) -> str:
    first = " ".join(changes.split()).split(". ")[0].rstrip(".")
    if len(first) > 100:
        first = first[:99].rstrip() + "…"
    return f"{first} ({files} file(s) modified)"


def implementation_from_args(args: argparse.Namespace) -> tuple[Implementation, str]:
    """The section and the log note from the flags or the JSON; `UsageError` when incomplete."""
    flags = bool(args.file_modified or args.changes is not None or args.tests is not None)
    if args.from_json is not None and flags:
        raise UsageError("give either --from-json or the --file-modified/--changes/--tests flags")
    if args.from_json is not None:
        data = _from_json(args.from_json)
        files = [
            _item(item.replace(": ", ":", 1))
            if isinstance(item, str)
            else (_check_path(item.path), " ".join(item.what.split()))
            for item in data.files_modified
        ]
        changes, tests, note = data.changes_made, data.tests, data.note
    else:
        files = [_item(text) for text in args.file_modified]
        changes, tests, note = args.changes or "", args.tests or "", ""
    missing = [
        name
        for name, value in (
            ("--file-modified (Files Modified)", files),
            ("--changes (Changes Made)", changes.strip()),
            ("--tests (Tests Added/Modified)", tests.strip()),
        )
        if not value
    ]
    if missing:
        raise UsageError(
            f"missing {', '.join(missing)}",
            hint="the IMPLEMENTATION section needs every field; say 'none' in --tests if no "
            "test was added, and why",
        )
    note = " ".join((args.note if args.note is not None else note).split())
    implementation = Implementation(files_modified=tuple(files), changes_made=changes, tests=tests)
    return implementation, note or _default_note(changes, len(files))


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
    from perf_identify.lifecycle import record_implementation
    from perf_identify.render import normalize_prose

    implementation, note = implementation_from_args(args)
    # Normalized now so the document we write is exactly the one that reads back.
    implementation = Implementation(
        files_modified=implementation.files_modified,
        changes_made=normalize_prose(implementation.changes_made),
        tests=normalize_prose(implementation.tests),
    )
    today = args.date or clock.today()
    before, after = update_issue(
        args.file, lambda doc: record_implementation(doc, implementation, today, note), store
    )
    stdout.write(
        f"{args.file}: {before.status.value} -> {after.status.value} "
        f"({len(implementation.files_modified)} file(s) modified)\n"
        f"next: perf-identify verify {args.file}\n"
    )
    return 0
