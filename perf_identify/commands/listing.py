"""`perf-identify list`: every issue file in the folder with its status and last log entry.

Rows are sorted by share of runtime (largest first), then name; a file that does not parse is
listed last with status `UNREADABLE` and its error, and the command still exits 0 (it is a
view; the lifecycle commands refuse such a file). `--json` prints the same rows as a list.

An IDENTIFIED file that a later run of its benchmark no longer found hot is marked stale in its
sidecar (see `staleness.py`); `list` shows `IDENTIFIED (stale)` in the status column and
`stale_since` in the JSON (null for a current file), so it never looks current. Past IDENTIFIED
a file is someone's work in progress and is never shown stale, whatever its sidecar says.

The PROSE column says who drafted each file's prose, as its sidecar records it: `offline`,
`model` (the API drafter) or `agent` (`perf-identify draft`), `?` when no sidecar says (one
written before this was recorded, or none). The JSON gives `drafted_by` as recorded
(`offline`, `model:<name>`, `agent`, or null) and `prose`, the kind alone.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from perf_identify.arguments import Parser, epilog
from perf_identify.display_text import visible
from perf_identify.errors import UsageError

_NOTE_WIDTH = 80


EXAMPLES = [
    ("perf-identify list", "the issue files in ./perf-issues"),
    ("perf-identify list --repo examples/tinsel --json", "the same rows as JSON, for a script"),
]
EXIT_CODES = "0 ok, 2 arguments, 70 internal error"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify list",
        epilog=epilog(EXAMPLES, EXIT_CODES),
        description="List the issue files: status, share, location and last progress-log entry.",
    )
    parser.add_argument(
        "--repo", type=Path, default=Path("."), metavar="DIR", help="the VM checkout (default: .)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("perf-issues"),
        metavar="DIR",
        help="issue folder (default: perf-issues)",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    return parser


def issue_rows(out_dir: Path) -> list[dict[str, Any]]:
    """One dict per issue file, in display order (see the module docstring)."""
    from perf_identify.drafting import prose_kind
    from perf_identify.issues_dir import scan_issues
    from perf_identify.render import Status
    from perf_identify.sidecar import drafted_by_of, stale_since

    rows: list[dict[str, Any]] = []
    broken: list[dict[str, Any]] = []
    for issue in scan_issues(out_dir):
        doc = issue.document
        if doc is None:
            message = issue.error.message if issue.error is not None else "unreadable"
            # The path is in its own column; keep the line number and what was expected.
            message = message.removeprefix(f"{issue.path}: ")
            broken.append({"name": issue.name, "path": str(issue.path), "error": message})
            continue
        last = doc.log[-1]
        since = stale_since(issue.path) if doc.status is Status.IDENTIFIED else None
        drafted_by = drafted_by_of(issue.path)
        rows.append(
            {
                "name": issue.name,
                "path": str(issue.path),
                "status": doc.status.value,
                "share_percent": doc.share_percent,
                "file": doc.file,
                "line": doc.line,
                "function": doc.function,
                "benchmark_file": doc.benchmark_file,
                "last_log": {
                    "date": last.day.isoformat(),
                    "status": last.status.value,
                    "note": last.note,
                },
                "verdict": None if doc.verification is None else doc.verification.verdict.value,
                "stale_since": None if since is None else since.isoformat(),
                "drafted_by": drafted_by,
                "prose": prose_kind(drafted_by),
            }
        )
    rows.sort(key=lambda row: (-row["share_percent"], row["name"]))
    for row in broken:
        row.update(
            status="UNREADABLE",
            share_percent=None,
            last_log=None,
            stale_since=None,
            drafted_by=None,
            prose="unknown",
        )
    return rows + sorted(broken, key=lambda row: row["name"])


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(text: str) -> str:
    """A cell as one visible line: issue files and sidecars are text from outside."""
    return visible(text).replace("\n", "\\n").replace("\t", " ")


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A plain-text table, columns aligned; the error stands in the log column for broken files."""
    header = ("NAME", "STATUS", "SHARE", "PROSE", "LOCATION", "LAST LOG")
    table: list[tuple[str, ...]] = [header]
    for row in rows:
        if row["status"] == "UNREADABLE":
            table.append((row["name"], "UNREADABLE", "", "", "", _clip(row["error"], _NOTE_WIDTH)))
            continue
        last = row["last_log"]
        entry = f"[{last['date']}] {last['status']} - {last['note']}".rstrip(" -")
        table.append(
            (
                row["name"],
                row["status"] + (" (stale)" if row["stale_since"] else ""),
                f"{row['share_percent']:.1f}%",
                "?" if row["prose"] == "unknown" else row["prose"],
                f"{row['file']}:{row['line']} {row['function']}",
                _clip(entry, _NOTE_WIDTH),
            )
        )
    table = [tuple(_cell(cell) for cell in cells) for cells in table]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(header))]
    lines = []
    for cells in table:
        padded = [
            cell.rjust(widths[i]) if i == 2 else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo} is not a directory")
    out_dir = args.out if args.out.is_absolute() else repo / args.out
    rows = issue_rows(out_dir)
    if args.json:
        # ensure_ascii (the default) writes control and bidi characters as \uXXXX escapes.
        stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        stdout.write(f"no issue files in {out_dir}\n")
        return 0
    stdout.write(format_rows(rows))
    return 0
