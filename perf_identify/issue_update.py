"""Read-modify-write of one issue file for the lifecycle commands, under the issue's lock.

Every read, lock and write goes through an `IssueStore` port (`ports.py`; the files on disk
unless a caller passes another, as the tests' in-memory store does).

Contract: `read_document(path)` returns the parsed document and the exact bytes it came from;
a missing, non-UTF-8, unparsable or out-of-shape file (`lifecycle.shape_problems`) is an
`IssueFileError` (exit 9) that starts with the path and names the line or the problem.

`require_issue_file(path)` is the lifecycle commands' first step, before any lock file or state
folder is created: `path` must be a regular file (not a link, FIFO or device; at most
`repo_files.ISSUE_CAP` bytes) named `NAME.txt` with a valid issue name, that reads as an issue
file (`read_document`); otherwise `IssueFileError` (exit 9) and nothing is created anywhere.

`update_issue(path, change)` holds the issue's `IssueLock` and the folder's `OutputLock` (see
`issues_dir` for why both, and why only for this moment), reads the file, applies the pure
`change` (whose `IssueFileError`, an illegal move say, gets the path prefixed), renders the
result, checks that it reads back to the same text (`render(parse(text)) == text`, the
contract every file we write keeps), and replaces the file atomically only if it still holds the
bytes that were read. On any error the file is untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from perf_identify.errors import IssueFileError
from perf_identify.lifecycle import require_shape
from perf_identify.ports import FILE_ISSUE_STORE, IssueStore
from perf_identify.render import IssueDocument, is_valid_issue_name, parse_issue, render_issue
from perf_identify.repo_files import ISSUE_CAP, Refused


def read_document(path: Path, store: IssueStore = FILE_ISSUE_STORE) -> tuple[IssueDocument, bytes]:
    """The document in `path` and its bytes; see the module docstring for the errors."""
    try:
        original = store.read(path, ISSUE_CAP)
    except Refused as exc:
        raise IssueFileError(
            f"{path}: refused: {exc.reason}",
            hint="pass an issue file itself: perf-issues/NAME.txt, a small regular file",
        ) from None
    except FileNotFoundError:
        raise IssueFileError(
            f"{path}: no such issue file", hint="list the issues with `perf-identify list`"
        ) from None
    except IsADirectoryError:
        raise IssueFileError(f"{path} is a directory, not an issue file") from None
    except OSError as exc:
        raise IssueFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = parse_issue(original.decode("utf-8"))
        require_shape(doc)
    except UnicodeDecodeError as exc:
        raise IssueFileError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="restore the file"
        ) from None
    except IssueFileError as exc:
        raise IssueFileError(f"{path}: {exc.message}", hint=exc.hint) from None
    return doc, original


def require_issue_file(
    path: Path, store: IssueStore = FILE_ISSUE_STORE
) -> tuple[IssueDocument, bytes]:
    """Check that `path` is an issue file before anything is created; see the module docstring."""
    if path.suffix != ".txt" or not is_valid_issue_name(path.stem):
        raise IssueFileError(
            f"{path} is not an issue file: the name must be NAME.txt, NAME in "
            "UPPERCASE_WITH_UNDERSCORES (3 to 60 characters)",
            hint="pass a file from perf-issues/; list them with `perf-identify list`",
        )
    return read_document(path, store)


def checked_text(doc: IssueDocument) -> str:
    """`render_issue(doc)`, after checking that it parses back to the same text."""
    text = render_issue(doc)
    if render_issue(parse_issue(text)) != text:
        raise ValueError(f"{doc.title}: rendered text does not survive a parse/render round trip")
    return text


def update_issue(
    path: Path,
    change: Callable[[IssueDocument], IssueDocument],
    store: IssueStore = FILE_ISSUE_STORE,
) -> tuple[IssueDocument, IssueDocument]:
    """Apply `change` to the issue at `path`; return (before, after). See the module docstring."""
    require_issue_file(path, store)  # before any lock file or state folder is made
    with store.lock_issue(path), store.lock_folder(path.parent):
        before, original = read_document(path, store)
        try:
            after = change(before)
        except IssueFileError as exc:
            raise IssueFileError(f"{path}: {exc.message}", hint=exc.hint) from None
        store.replace_issue(path, original, checked_text(after))
    return before, after
