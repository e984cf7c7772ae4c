"""The typed ports of the shell: the clock, git, the repo's files and the issue store.

Each port is a `Protocol` with one system implementation here, a thin adapter over the module
that does the work (`gitrepo`, `repo_files`, `issues_dir`), so the commands keep their
behaviour while tests pass in-memory fakes. Contracts:

* `Clock.today()` is the date a command writes when `--date` is not given; `Clock.monotonic()`
  is seconds from an arbitrary origin, only ever subtracted (the time budget of verify, the
  length of a recording); `Clock.wall_ns()` is the wall time a recorded profile starts at.
* `Git` answers in terms of the repo folder it is given; `worktree(repo, commit, path)` is a
  context manager that has `commit` checked out at `path` while it is open and removes it after.
* `RepoFiles` reads only regular files, confined to the repo after resolving symlinks, and
  refuses (`repo_files.Refused`, saying what and why) anything over the size cap. `is_file`
  answers whether a path names a file at all (links followed), which is how a hotspot's source
  is found before it is read; the read is what refuses a link out of the repo.
* `IssueStore` knows the `.perf-identify` layout of an issue folder, takes an issue's or the
  folder's lock, scans the folder, reads its files (regular files only, capped) and writes
  atomically without following a symlink. `write_issue` keeps a file past IDENTIFIED byte for
  byte (`issues_dir.WriteOutcome.KEPT`).

This module imports no process or network module itself: the adapters reach them only through
the modules they delegate to, and import those when first called, so a command that only takes a
port (every command module does, for its default) pays for none of them.
"""

from __future__ import annotations

import os
import time
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from perf_identify import repo_files

if TYPE_CHECKING:
    from perf_identify.gitrepo import HeadState
    from perf_identify.issues_dir import ExistingIssue, StateLayout, WriteOutcome


class Clock(Protocol):
    def today(self) -> date: ...

    def monotonic(self) -> float: ...

    def wall_ns(self) -> int: ...


class SystemClock:
    """The machine's clock."""

    def today(self) -> date:
        return date.today()

    def monotonic(self) -> float:
        return time.monotonic()

    def wall_ns(self) -> int:
        return time.time_ns()


SYSTEM_CLOCK = SystemClock()


class Git(Protocol):
    def is_work_tree(self, repo: Path) -> bool: ...

    def resolve_commit(self, repo: Path, ref: str) -> str | None: ...

    def repo_prefix(self, repo: Path) -> str:
        """The repo folder's path below the top of its work tree ("" at the top)."""
        ...

    def head_state(self, repo: Path, exclude: Path | None = None) -> HeadState | None: ...

    def worktree(self, repo: Path, commit: str, path: Path) -> AbstractContextManager[Path]: ...


class SystemGit:
    """git itself, through `perf_identify.gitrepo`."""

    def is_work_tree(self, repo: Path) -> bool:
        from perf_identify import gitrepo

        return gitrepo.is_work_tree(repo)

    def resolve_commit(self, repo: Path, ref: str) -> str | None:
        from perf_identify import gitrepo

        return gitrepo.resolve_commit(repo, ref)

    def repo_prefix(self, repo: Path) -> str:
        from perf_identify import gitrepo

        return gitrepo.repo_prefix(repo)

    def head_state(self, repo: Path, exclude: Path | None = None) -> HeadState | None:
        from perf_identify import gitrepo

        return gitrepo.head_state(repo, exclude)

    def worktree(self, repo: Path, commit: str, path: Path) -> AbstractContextManager[Path]:
        from perf_identify import gitrepo

        return gitrepo.temporary_worktree(repo, commit, path)


SYSTEM_GIT = SystemGit()


class RepoFiles(Protocol):
    def read_regular(self, path: Path, cap: int) -> bytes: ...

    def read_in_repo(
        self, repo: Path, relative: str | Path, cap: int = repo_files.SOURCE_CAP
    ) -> bytes: ...

    def is_file(self, path: Path) -> bool: ...


class LocalRepoFiles:
    """The file system, through `perf_identify.repo_files`."""

    def read_regular(self, path: Path, cap: int) -> bytes:
        return repo_files.read_regular(path, cap)

    def read_in_repo(
        self, repo: Path, relative: str | Path, cap: int = repo_files.SOURCE_CAP
    ) -> bytes:
        return repo_files.read_in_repo(repo, relative, cap)

    def is_file(self, path: Path) -> bool:
        return path.is_file()


LOCAL_REPO_FILES = LocalRepoFiles()


class IssueStore(Protocol):
    def layout(self, issue_path: Path) -> StateLayout:
        """The `.perf-identify` layout of the folder that holds `issue_path`."""
        ...

    def scan(self, out_dir: Path) -> list[ExistingIssue]: ...

    def lock_issue(self, issue_path: Path) -> AbstractContextManager[object]:
        """Held while one command changes this issue; raises when another holds it."""
        ...

    def lock_folder(self, out_dir: Path) -> AbstractContextManager[object]:
        """Held while one command writes the folder's issue files; raises when another holds it."""
        ...

    def read(self, path: Path, cap: int = repo_files.ISSUE_CAP) -> bytes:
        """The bytes of a regular file (never a link) of at most `cap` bytes; `Refused` or
        `FileNotFoundError` otherwise."""
        ...

    def exists(self, path: Path) -> bool: ...

    def write_atomically(self, target: Path, data: bytes) -> None: ...

    def write_issue(self, out_dir: Path, name: str, text: str) -> WriteOutcome:
        """`out_dir/NAME.txt`, unless a file past IDENTIFIED (or unreadable) is there."""
        ...

    def replace_issue(self, path: Path, expected: bytes, text: str) -> None:
        """Write `text` to `path` only while it still holds `expected` (else `WriteError`)."""
        ...


class FileIssueStore:
    """Issue folders on disk, through `perf_identify.issues_dir`."""

    def layout(self, issue_path: Path) -> StateLayout:
        from perf_identify.issues_dir import StateLayout

        return StateLayout.of_issue(issue_path)

    def scan(self, out_dir: Path) -> list[ExistingIssue]:
        from perf_identify import issues_dir

        return issues_dir.scan_issues(out_dir)

    def lock_issue(self, issue_path: Path) -> AbstractContextManager[object]:
        from perf_identify import issues_dir

        return issues_dir.IssueLock(issue_path)

    def lock_folder(self, out_dir: Path) -> AbstractContextManager[object]:
        from perf_identify import issues_dir

        return issues_dir.OutputLock(out_dir)

    def read(self, path: Path, cap: int = repo_files.ISSUE_CAP) -> bytes:
        return repo_files.read_regular(path, cap)

    def exists(self, path: Path) -> bool:
        return os.path.lexists(path)

    def write_atomically(self, target: Path, data: bytes) -> None:
        from perf_identify import issues_dir

        issues_dir.write_file_atomically(target, data)

    def write_issue(self, out_dir: Path, name: str, text: str) -> WriteOutcome:
        from perf_identify import issues_dir

        return issues_dir.write_issue(out_dir, name, text)

    def replace_issue(self, path: Path, expected: bytes, text: str) -> None:
        from perf_identify import issues_dir

        issues_dir.replace_issue(path, expected, text)


FILE_ISSUE_STORE = FileIssueStore()
