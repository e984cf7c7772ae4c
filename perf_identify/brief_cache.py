"""A brief, kept with the list of everything it was built from, and given again while all of it
is unchanged.

An agent calls `perf-identify brief` for an issue again and again; building one decodes the
profile, ranks it and parses the source (a quarter of a second, most of it imports). Contract:

* `RecordingFiles(inner)` is a `ports.RepoFiles` that passes every call to `inner` and records
  what it found: each file read (its sha256, or that it could not be read; a file of the repo by
  the repo and its path there, so a link re-pointed since is resolved again) and each `is_file`
  answer. `brief` builds through it (`issue_inputs.load_issue(..., files=...)`).
* `store(layout, name, kind, entry_inputs, output)` writes `.perf-identify/briefs/NAME.KIND.json`
  through the issue store (atomic, no symlink followed); a folder that cannot be written is not an
  error (the brief is printed all the same).
* `lookup(layout, name, kind, issue_bytes, sidecar_bytes, files)` returns the stored output when
  the entry was written by this version of perf-identify, with these prompt templates, for these
  exact issue and sidecar bytes, and every recorded file still reads (or fails) and exists (or
  not) as recorded; otherwise None, and the brief is built again. A cached output holding a
  control or bidirectional character other than newline and tab is refused too: the entry is a
  file in a repo someone else may have written, and it is printed to a terminal.

The key covers every input of a brief: the issue file and its sidecar (read before the lookup),
each repo file and profile read through the recorder, every path the profile's files were looked
up at, the tool's version and the prompt templates' VERSION.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from perf_identify import __version__
from perf_identify.display_text import visible
from perf_identify.errors import WriteError
from perf_identify.ports import FILE_ISSUE_STORE, IssueStore, RepoFiles
from perf_identify.repo_files import ISSUE_CAP, PROFILE_CAP, SOURCE_CAP
from perf_identify.state_layout import StateLayout

FORMAT = 1
ENTRY_CAP = 16 * 1024 * 1024
"""A cached brief is a few hundred KiB at most (the function's source, the program)."""


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


class RecordingFiles:
    """`RepoFiles` that records every read and every existence check (see the module docstring)."""

    def __init__(self, inner: RepoFiles) -> None:
        self.inner = inner
        self.reads: dict[str, tuple[int, str | None]] = {}
        """Path -> (the cap it was read with, sha256 of its bytes or None when refused)."""
        self.repo_reads: dict[tuple[str, str], tuple[int, str | None]] = {}
        """(repo, path in it) -> the same: read again the same way, links resolved again."""
        self.checks: dict[str, bool] = {}

    def read_regular(self, path: Path, cap: int) -> bytes:
        try:
            data = self.inner.read_regular(path, cap)
        except OSError:
            self.reads[str(path)] = (cap, None)
            raise
        self.reads[str(path)] = (cap, _digest(data))
        return data

    def read_in_repo(self, repo: Path, relative: str | Path, cap: int = SOURCE_CAP) -> bytes:
        # Recorded as asked (repo and path in it), so a link re-pointed since is seen.
        key = (str(repo), str(relative))
        try:
            data = self.inner.read_in_repo(repo, relative, cap)
        except OSError:
            self.repo_reads[key] = (cap, None)
            raise
        self.repo_reads[key] = (cap, _digest(data))
        return data

    def is_file(self, path: Path) -> bool:
        found = self.inner.is_file(path)
        self.checks[str(path)] = found
        return found


def _key(templates_version: str, issue_bytes: bytes, sidecar_bytes: bytes | None) -> str:
    return json.dumps(
        [__version__, templates_version, _digest(issue_bytes), _digest(sidecar_bytes)]
    )


def store(
    layout: StateLayout,
    name: str,
    kind: str,
    *,
    templates_version: str,
    issue_bytes: bytes,
    sidecar_bytes: bytes | None,
    recorded: RecordingFiles,
    output: str,
    issues: IssueStore = FILE_ISSUE_STORE,
) -> None:
    """Keep `output` with what it was built from; a folder we cannot write keeps nothing."""
    entry = {
        "format": FORMAT,
        "key": _key(templates_version, issue_bytes, sidecar_bytes),
        "reads": sorted([path, cap, digest] for path, (cap, digest) in recorded.reads.items()),
        "repo_reads": sorted(
            [repo, path, cap, digest] for (repo, path), (cap, digest) in recorded.repo_reads.items()
        ),
        "checks": sorted([path, found] for path, found in recorded.checks.items()),
        "output": output,
    }
    try:
        issues.write_atomically(layout.brief(name, kind), json.dumps(entry).encode("utf-8"))
    except (OSError, WriteError):  # a state folder that refuses writes keeps no cache
        return


def lookup(
    layout: StateLayout,
    name: str,
    kind: str,
    *,
    templates_version: str,
    issue_bytes: bytes,
    sidecar_bytes: bytes | None,
    files: RepoFiles,
    issues: IssueStore = FILE_ISSUE_STORE,
) -> str | None:
    """The stored output when every input is as recorded; else None (see the module docstring)."""
    try:
        entry = json.loads(issues.read(layout.brief(name, kind), ENTRY_CAP))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT:
        return None
    if entry.get("key") != _key(templates_version, issue_bytes, sidecar_bytes):
        return None
    output, reads, checks = entry.get("output"), entry.get("reads"), entry.get("checks")
    repo_reads = entry.get("repo_reads")
    if not isinstance(output, str):
        return None
    if not (isinstance(reads, list) and isinstance(repo_reads, list) and isinstance(checks, list)):
        return None
    if not all(_still_reads(item, files) for item in reads):
        return None
    if not all(_still_reads_in_repo(item, files) for item in repo_reads):
        return None
    if not all(_still_is(item, files) for item in checks):
        return None
    return output if _printable(output) else None


def _still_reads(item: object, files: RepoFiles) -> bool:
    if not (isinstance(item, list) and len(item) == 3):
        return False
    path, cap, digest = item
    if not (isinstance(path, str) and isinstance(cap, int) and cap in _CAPS):
        return False
    try:
        data: bytes | None = files.read_regular(Path(path), cap)
    except OSError:
        data = None
    return bool(_digest(data) == digest)


def _still_reads_in_repo(item: object, files: RepoFiles) -> bool:
    if not (isinstance(item, list) and len(item) == 4):
        return False
    repo, path, cap, digest = item
    if not (isinstance(repo, str) and isinstance(path, str)):
        return False
    if not (isinstance(cap, int) and cap in _CAPS):
        return False
    try:
        data: bytes | None = files.read_in_repo(Path(repo), path, cap)
    except OSError:
        data = None
    return bool(_digest(data) == digest)


_CAPS = frozenset({SOURCE_CAP, ISSUE_CAP, PROFILE_CAP})


def _still_is(item: object, files: RepoFiles) -> bool:
    if not (isinstance(item, list) and len(item) == 2):
        return False
    path, found = item
    if not (isinstance(path, str) and isinstance(found, bool)):
        return False
    return files.is_file(Path(path)) is found


def _printable(text: str) -> bool:
    """Whether `text` is shown as it is (`display_text.visible` would change nothing)."""
    return visible(text) == text
