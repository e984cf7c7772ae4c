"""`perf-identify draft FILE --from JSON`: an agent's draft, through the gate a model's passes.

The JSON file holds one object with the fields of `schema.Draft` (`description`, `root_cause`,
`approach`, `expected_impact`, `risk`, `evidence: [{line, quote}]`, optional `name`). It goes
through `draft_gate.check_draft`: the schema, then the grounding checks against the function
and share the issue file states (its extent read from the source as it is now).

* Accepted: the five prose sections are rewritten (figures, dates and the log stay as they
  were), only while the issue is IDENTIFIED; the sidecar records `drafted_by: agent`; one line
  on stdout; exit 0. A suggested `name` that differs renames the file (and its sidecar) when no
  other file has that name, and the line says the new path.
* Refused: exit 11 (`DraftRefused`), the issue file byte for byte as it was, and one line per
  problem on stderr between `error:` and `hint:`, naming the field (`evidence[0]: line 12 is
  outside VM::index_op (lines 1357-1525); …`).

Other failures: an unreadable `--from` file exits 2; an issue file that is missing, does not
parse or is past IDENTIFIED exits 9; a File or Function no longer in the source exits 5; an
issue another command holds (a verify) exits 7. The write is the lifecycle commands' own: under
the issue's lock and the folder's, atomic, and only over the bytes that were read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from perf_identify.arguments import Parser, epilog
from perf_identify.errors import DraftRefused, IssueFileError, UsageError, VerifyError

if TYPE_CHECKING:
    from perf_identify.drafts import CheckedDraft
    from perf_identify.render import IssueDocument

MAX_DRAFT_BYTES = 256 * 1024
"""Five sections of 2400 characters and eight quotes fit many times over."""


EXAMPLES = [
    (
        "perf-identify draft perf-issues/NAME.txt --from perf-issues/.drafts/NAME.json",
        "check the draft; if it holds, rewrite the issue's prose",
    ),
    ("perf-identify draft perf-issues/NAME.txt --from - < draft.json", "read the draft from stdin"),
]
EXIT_CODES = (
    "0 the prose was rewritten, 2 arguments, 7 writing, 9 issue file problem, 11 "
    "draft refused (one line per problem), 70 internal error"
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify draft",
        epilog=epilog(EXAMPLES, EXIT_CODES),
        description=(
            "Check a draft of an issue's prose (a JSON object: description, root_cause, "
            "approach, expected_impact, risk, evidence [{line, quote}], optional name) against "
            "the schema and the facts, as a model's draft is checked; if it holds, rewrite the "
            "five prose sections of the IDENTIFIED issue file. Refused: exit 11, the file "
            "unchanged, one line per problem on stderr."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="perf-issues/NAME.txt")
    parser.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        required=True,
        help="the draft, e.g. perf-issues/.drafts/NAME.json ('-': stdin)",
    )
    parser.add_argument(
        "--repo", type=Path, default=Path("."), metavar="DIR", help="the VM checkout (default: .)"
    )
    return parser


def _read_draft(source: str) -> bytes:
    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_DRAFT_BYTES + 1)
        else:
            with open(source, "rb") as handle:
                data = handle.read(MAX_DRAFT_BYTES + 1)
    except OSError as exc:
        raise UsageError(
            f"cannot read the draft {source}: {exc.strerror or exc}",
            hint="write the draft with the Write tool first (perf-issues/.drafts/NAME.json)",
        ) from None
    if len(data) > MAX_DRAFT_BYTES:
        raise UsageError(
            f"the draft {source} is larger than {MAX_DRAFT_BYTES} bytes",
            hint="a draft is five sections of at most 2400 characters and up to 8 quotes",
        )
    return data


def _require_identified(path: Path, status: str) -> None:
    if status != "IDENTIFIED":
        raise IssueFileError(
            f"{path} is {status}: a draft rewrites the prose only while an issue is IDENTIFIED",
            hint="its plan is someone's work now; edit the file by hand if it must change",
        )


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from perf_identify.draft_gate import check_draft
    from perf_identify.issue_inputs import load_issue

    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo} is not a directory")
    path: Path = args.file
    from perf_identify.issue_update import require_issue_file

    require_issue_file(path)  # an issue file, before any lock or state folder is created
    inputs = load_issue(path, repo, with_facts=False)
    _require_identified(path, inputs.document.status.value)
    raw = _read_draft(args.source)
    result = check_draft(raw, inputs.scope, inputs.source_lines)
    if result.draft is None or result.problems:
        _refuse(path, args.source, result.problems)
    draft = result.draft
    new_name = draft.name if draft.name and draft.name != path.stem else None
    target = path.with_name(f"{new_name}.txt") if new_name else path
    if new_name and os.path.lexists(target):
        _refuse(
            path,
            args.source,
            (f"name: {new_name} is taken by {target}; choose another name, or null to keep "
             f"{path.stem}",),
        )  # fmt: skip
    recorded = _write(path, target, inputs.document, draft)
    line = f"{path}: agent draft accepted; Description, Root Cause, Approach, Expected Impact "
    line += "and Risk Assessment rewritten"
    if new_name:
        line += f"; renamed to {target}"
    stdout.write(line + "\n")
    if not recorded:
        stderr.write(
            f"perf-identify: {target} has no readable sidecar, so who drafted it is not recorded\n"
        )
    return 0


def _write(path: Path, target: Path, checked: IssueDocument, draft: CheckedDraft) -> bool:
    """Write the draft's prose into `path` (renamed to `target` when they differ), under the
    issue's and the folder's locks; return whether the sidecar now records the agent."""
    from perf_identify.drafting import AGENT
    from perf_identify.issue_update import checked_text, read_document
    from perf_identify.issues_dir import IssueLock, OutputLock, replace_issue, write_file_atomically
    from perf_identify.render import issue_title
    from perf_identify.repo_files import ISSUE_CAP, read_regular
    from perf_identify.sidecar import record_drafter, rename_sidecar

    with IssueLock(path), OutputLock(path.parent):
        document, original = read_document(path)
        _require_identified(path, document.status.value)
        if _figures(document) != _figures(checked):
            # A rerun of identification rewrote it meanwhile: the draft was checked against
            # figures the file no longer states.
            raise IssueFileError(
                f"{path} changed while this command ran; it was left as it is",
                hint="print its brief again and check the draft against it",
            )
        updated = replace(
            document,
            description=draft.description,
            root_cause=draft.root_cause,
            approach=draft.approach,
            expected_impact=draft.expected_impact,
            risk=draft.risk,
        )
        if target != path:
            updated = replace(updated, title=issue_title(target.stem))
            # The new name is written whole before the old one goes: a crash leaves one file.
            if os.path.lexists(target):
                raise IssueFileError(f"{target} appeared while this command ran; nothing written")
            if read_regular(path, ISSUE_CAP) != original:
                raise IssueFileError(f"{path} changed while this command ran; it was left as it is")
            write_file_atomically(target, checked_text(updated).encode("utf-8"))
            with contextlib.suppress(VerifyError):  # a broken sidecar stays where it is
                rename_sidecar(path.parent, path.stem, target.stem)
            path.unlink()
        else:
            replace_issue(path, original, checked_text(updated))
        try:
            return record_drafter(target, AGENT)
        except VerifyError:
            return False  # the prose is written; only the record of who wrote it is not


def _figures(document: IssueDocument) -> tuple[str, str, int, float]:
    return (document.function, document.file, document.line, document.share_percent)


def _refuse(path: Path, source: str, problems: tuple[str, ...]) -> NoReturn:
    count = len(problems)
    raise DraftRefused(
        f"draft {source} refused ({count} problem{'s' if count != 1 else ''}); {path} is unchanged",
        hint=f"fix exactly these in {source}, then run `perf-identify draft {path} --from "
        f"{source}` again",
        details=problems,
    )
