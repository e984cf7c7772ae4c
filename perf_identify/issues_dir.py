"""The perf-issues folder: scanning, atomic no-clobber writes, a run lock, and the listing.

Contract:

* `scan_issues(out_dir)` reads every `*.txt` directly in `out_dir` (hidden files and folders
  skipped), sorted by name; a file that does not parse (or cannot be read as UTF-8) carries its
  `IssueFileError`, prefixed with the path, instead of a document. A missing folder scans empty.
* `write_issue(out_dir, name, text)` refuses names that `is_valid_issue_name` rejects, creates
  `out_dir`, and writes `out_dir/NAME.txt` atomically: a temp file `.NAME.txt.tmp-<random>` in the
  same folder is written, flushed, fsynced and renamed over the target with `os.replace`, so a
  reader sees the old file or the new one, never half of one. On any exception, Ctrl-C included,
  the temp file is removed. An existing file is only replaced while it still says
  `STATUS: IDENTIFIED` (our own earlier output); once /perf-implement or a person has moved it on,
  or when it cannot be read or parsed, it is KEPT byte for byte: never clobber what we cannot read.
  OS errors become `WriteError` naming the path; Ctrl-C during the write becomes `Interrupted`.
* `write_file_atomically(path, data)` writes any other file (sidecar, baseline, profile.pb) the
  same way;
  `replace_issue(path, expected, text)` is the lifecycle commands' rewrite of an issue file past
  IDENTIFIED, refused (`IssueFileError`) when the file no longer holds the bytes they read.
* Locks are `flock`s on files under `out_dir/.perf-identify/`, held for a `with` block. The kernel
  drops one when its holder exits, even if it is killed, so there is no stale lock to clean up.
  The non-blocking ones give a second run `WriteError` (exit 7) at once instead of waiting.
  - `OutputLock(out_dir)` (`lock`): the folder. Identification holds it for its write phase
    (seconds, after the profiling and drafting), so two runs never interleave their writes.
  - `IssueLock(issue_path)` (`locks/NAME.lock`): one issue. `verify` holds it, and only it, for
    its whole run (minutes of builds and timing), so a verify of one issue never blocks a
    command on another. `status` and `implemented` (`issue_update.update_issue`) hold it and,
    for the moment of their read-modify-write, the folder's lock too: `status` may move an
    IDENTIFIED file, the one kind identification rewrites, so the two must not interleave.
    Identification never rewrites a file past IDENTIFIED, so it needs no issue's lock.
  - `WaitLock(path)` blocks until it is free: for short critical sections that two verifies of
    different issues may both reach (the repo's baseline JSON, the shared baseline build).
* `StateLayout(out_dir)` is the one spelling of `out_dir/.perf-identify/` (lock, locks/, logs/,
  issues/ sidecars, drafts/). Every folder we write below an issues folder goes through
  `safe_dir`, which refuses a symlinked or non-folder component inside it (`WriteError`): a repo
  that ships `perf-issues/.perf-identify` (or its `lock`) as a link steers no write out. Lock files
  open with O_NOFOLLOW and must be regular single-link files; temp files are `mkstemp`'s
  (O_CREAT | O_EXCL | O_NOFOLLOW); `open_log(path)` opens a log the same way, unlinking (never
  truncating) whatever was at `path`. Issue files are read through `repo_files.read_regular`.
* `list_directory(out_dir)` / `format_listing(entries)` reproduce `ls -la` for the user (spec
  step 7) without running `ls`: `.` and `..` included, names sorted bytewise as in the C locale,
  symlinks shown as `name -> target`. Times use ls's `long-iso` style (`2025-01-31 17:55`) so the
  pure formatter needs no clock (ls's default style switches format on "older than six months")
  and no locale for month names.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import math
import os
import pwd
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from perf_identify.errors import Interrupted, IssueFileError, WriteError
from perf_identify.render import IssueDocument, Status, is_valid_issue_name, parse_issue
from perf_identify.repo_files import ISSUE_CAP, Refused, read_regular

# The layout lives in its own small module, so a command that only needs a path under
# `.perf-identify` (a cached brief) does not import the issue parser; re-exported here.
from perf_identify.state_layout import (
    BASELINE_LOCK_FILE,
    ISSUE_LOCKS,
    LOCK_DIR,
    LOCK_FILE,
    STATE_DIR,
    StateLayout,
)

__all__ = [
    "BASELINE_LOCK_FILE",
    "ISSUE_LOCKS",
    "LOCK_DIR",
    "LOCK_FILE",
    "STATE_DIR",
    "StateLayout",
]


def _confinement_root(path: Path) -> Path:
    """The issues folder `path` lies in: the parent of its last `.perf-identify` component, or
    `path` itself when it has none (then nothing below the caller's folder is checked)."""
    parts = path.parts
    for index in range(len(parts) - 1, -1, -1):
        if parts[index] == STATE_DIR:
            return Path(*parts[:index]) if index else Path()
    return path


def safe_dir(directory: Path) -> Path:
    """Create `directory` and refuse it when a component below its issues folder (see
    `_confinement_root`) is a symlink or not a folder: a repo that ships
    `perf-issues/.perf-identify` as a link must not steer our writes out of it. Returns it.

    The issues folder itself may be a link (a user's choice); only what is inside is checked.
    `WriteError` names the offending component.
    """
    root = _confinement_root(directory)
    root.mkdir(parents=True, exist_ok=True)
    current = root
    for part in directory.relative_to(root).parts:
        current = current / part
        with contextlib.suppress(FileExistsError):
            current.mkdir()
        info = os.lstat(current)
        if not stat.S_ISDIR(info.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
            raise WriteError(
                f"refusing to write under {current}: it is {what}",
                hint=f"remove {current}; perf-identify recreates it as a plain folder",
            )
    return directory


_NAME_HINT = (
    "issue names are UPPERCASE_WITH_UNDERSCORES, 3 to 60 characters, e.g. STRING_CLONE_IN_LOOP"
)


@dataclass(frozen=True, slots=True)
class ExistingIssue:
    """An issue file found in the output folder: its document, or why it did not parse."""

    path: Path
    name: str
    document: IssueDocument | None
    error: IssueFileError | None


class WriteOutcome(StrEnum):
    """What `write_issue` did with one issue file."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    UNCHANGED = "UNCHANGED"
    KEPT = "KEPT"  # past IDENTIFIED or unreadable: left untouched


def _read_issue(path: Path) -> IssueDocument:
    """Parse one issue file; every failure is an `IssueFileError` that names the path."""
    try:
        raw = read_regular(path, ISSUE_CAP)
    except Refused as exc:
        raise IssueFileError(
            f"{path}: refused: {exc.reason}", hint="issue files are small regular files"
        ) from None
    except OSError as exc:
        raise IssueFileError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_issue_bytes(path, raw)


def parse_issue_bytes(path: Path, raw: bytes) -> IssueDocument:
    """The document in `raw` (the bytes of `path`); not UTF-8 or not an issue file is an
    `IssueFileError` that names the path. Pure: the in-memory issue store of the tests uses it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IssueFileError(
            f"{path}: not UTF-8 text (byte {exc.start})", hint="restore the file or delete it"
        ) from None
    try:
        return parse_issue(text)
    except IssueFileError as exc:
        raise IssueFileError(f"{path}: {exc.message}", hint=exc.hint) from None


def scan_issues(out_dir: Path) -> list[ExistingIssue]:
    """Every `*.txt` issue file in `out_dir`, sorted by name; broken ones carry their error."""
    if not out_dir.is_dir():
        return []
    found: list[ExistingIssue] = []
    paths = sorted(out_dir.glob("*.txt"), key=lambda p: os.fsencode(p.name))
    for path in paths:
        # lstat, not is_file: a link or a FIFO named *.txt is listed as broken, never opened
        # through (is_dir on a symlink would follow it).
        if path.name.startswith(".") or (path.is_dir() and not path.is_symlink()):
            continue
        try:
            document: IssueDocument | None = _read_issue(path)
            error: IssueFileError | None = None
        except IssueFileError as exc:
            document, error = None, exc
        found.append(ExistingIssue(path=path, name=path.stem, document=document, error=error))
    return found


def _existing_outcome(path: Path, data: bytes) -> WriteOutcome | None:
    """None when `path` may be (re)written; otherwise what to report without writing."""
    if not os.path.lexists(path):
        return None
    try:
        existing = read_regular(path, ISSUE_CAP)
    except OSError:
        # A folder in the way, an unreadable file or a link: not ours to overwrite.
        return WriteOutcome.KEPT
    return outcome_over(path, existing, data)


def outcome_over(path: Path, existing: bytes, data: bytes) -> WriteOutcome | None:
    """What writing `data` over an issue file holding `existing` does: None (write it),
    UNCHANGED, or KEPT (past IDENTIFIED, or hand-broken: never clobber what we cannot read)."""
    if existing == data:
        return WriteOutcome.UNCHANGED
    try:
        document = parse_issue_bytes(path, existing)
    except IssueFileError:
        return WriteOutcome.KEPT
    return None if document.status is Status.IDENTIFIED else WriteOutcome.KEPT


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; some file systems refuse fsync on a folder, which is fine.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_issue(out_dir: Path, name: str, text: str) -> WriteOutcome:
    """Write `out_dir/NAME.txt` atomically unless a file there is past IDENTIFIED or unreadable."""
    if not is_valid_issue_name(name):
        raise WriteError(f"refusing issue file name {name!r}", hint=_NAME_HINT)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(
            f"cannot create output folder {out_dir}: {exc.strerror or exc}",
            hint="check that the path is a writable folder, or choose another output folder",
        ) from exc
    data = text.encode("utf-8")
    target = out_dir / f"{name}.txt"
    outcome = _existing_outcome(target, data)
    if outcome is not None:
        return outcome
    existed = os.path.lexists(target)
    write_file_atomically(target, data)
    return WriteOutcome.UPDATED if existed else WriteOutcome.CREATED


def _new_temp_file(target: Path) -> tuple[int, str]:
    """A new file `.NAME.tmp-<random>` beside `target`, opened O_CREAT | O_EXCL | O_NOFOLLOW
    (as `tempfile.mkstemp` opens one, without importing tempfile): always one we created."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        name = str(target.parent / f".{target.name}.tmp-{os.urandom(6).hex()}")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {target}")


def write_file_atomically(target: Path, data: bytes) -> None:
    """Write `target` so that it is either its old content or all of `data`, never a part.

    Temp file in the same folder, fsync, `os.replace`, fsync of the folder; the folder is
    created. On any failure, Ctrl-C included, the temp file is removed: OS errors become
    `WriteError`, KeyboardInterrupt becomes `Interrupted`. Issue files, sidecars, baselines and
    the recorder's profile.pb and flamegraph.svg all go through here.
    """
    try:
        safe_dir(target.parent)
        fd, temp_name = _new_temp_file(target)
    except OSError as exc:
        raise WriteError(
            f"cannot write {target}: {exc.strerror or exc}",
            hint=f"check that {target.parent} is a writable folder and the disk is not full",
        ) from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0o600; give the file the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(
                f"interrupted while writing {target}; no partial file was left behind"
            ) from exc
        if isinstance(exc, OSError):
            raise WriteError(
                f"cannot write {target}: {exc.strerror or exc}",
                hint=f"check that {target.parent} is writable and the disk is not full",
            ) from exc
        raise
    _fsync_dir(target.parent)


def replace_issue(path: Path, expected: bytes, text: str) -> None:
    """Rewrite an issue file that still holds `expected`, atomically: the lifecycle commands'
    write, made under the folder's `OutputLock`. If the bytes changed since the caller read them
    (a hand edit meanwhile), `IssueFileError` and the file is left as it is."""
    try:
        current = read_regular(path, ISSUE_CAP)
    except OSError as exc:
        raise IssueFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if current != expected:
        raise IssueFileError(
            f"{path} changed while this command ran; it was left as it is",
            hint="run the command again on the file as it is now",
        )
    write_file_atomically(path, text.encode("utf-8"))


def open_log(path: Path, *, what: str = "the log", unbuffered: bool = False) -> BinaryIO:
    """A fresh log file at `path` for writing, in a `safe_dir`-checked folder.

    Whatever was at `path` (our previous log, or a symlink a repo shipped) is unlinked, which
    removes a link and never touches its target; the new file is opened O_CREAT | O_EXCL |
    O_NOFOLLOW, so it is always one we created. OS errors become `WriteError` naming the path.
    """
    try:
        safe_dir(path.parent)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        # Unbuffered when a log must be readable with `tail -f` while a child writes it.
        return os.fdopen(os.open(path, flags, 0o666), "wb", buffering=0 if unbuffered else -1)
    except OSError as exc:
        raise WriteError(
            f"cannot write {what} {path}: {exc.strerror or exc}",
            hint=f"check that {path.parent} is a writable folder",
        ) from exc


class _Flock:
    """An exclusive `flock` on `path` for a `with` block (see the module docstring).

    The lock file is never deleted: removing it while a second run waits to open it would let two
    runs lock two different files. Our pid is written into it so the message can name the holder.
    It is opened with O_NOFOLLOW under folders `safe_dir` checked, and must be a regular file with
    one link: a symlinked (or hard-linked) lock shipped in a repo is refused, never truncated.
    """

    wait = False

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def busy(self, holder: str) -> WriteError:
        """The error for a lock another process holds (`holder`: ` (pid N)` or empty)."""
        return WriteError(f"{self.path} is locked by another perf-identify run{holder}")

    def __enter__(self) -> Self:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this lock")
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise self.busy(holder) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_size > _PID_BYTES:
                return self  # not a pid file of ours: leave its bytes alone
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def _open(self) -> int:
        try:
            safe_dir(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except WriteError:
            raise
        except OSError as exc:
            if os.path.islink(self.path):
                raise _refused_lock(self.path, "a symbolic link") from None
            raise WriteError(
                f"cannot create lock file {self.path}: {exc.strerror or exc}",
                hint="check that the output folder is writable, or choose another one",
            ) from exc
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            what = "not a regular file" if not stat.S_ISREG(info.st_mode) else "hard-linked"
            raise _refused_lock(self.path, what)
        return fd

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            # Closing the descriptor drops the flock; the explicit unlock just says so.
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class OutputLock(_Flock):
    """Exclusive lock on an output folder for one identification; `WriteError` at once if another
    run holds it."""

    def __init__(self, out_dir: Path) -> None:
        super().__init__(StateLayout(out_dir).lock)
        self.out_dir = out_dir

    def busy(self, holder: str) -> WriteError:
        return WriteError(
            f"another perf-identify run{holder} is writing to {self.out_dir}",
            hint="wait for it to finish, then run again (the lock goes away when it exits)",
        )


class IssueLockedError(WriteError):
    """Another command holds this issue's `IssueLock`."""


def issue_lock_path(issue_path: Path) -> Path:
    """`perf-issues/.perf-identify/locks/NAME.lock` for `perf-issues/NAME.txt`."""
    return StateLayout.of_issue(issue_path).issue_lock(issue_path.stem)


class IssueLock(_Flock):
    """Exclusive lock on one issue file for one command; `IssueLockedError` (a `WriteError`,
    exit 7) at once if another command holds it."""

    def __init__(self, issue_path: Path) -> None:
        super().__init__(issue_lock_path(issue_path))
        self.issue_path = issue_path

    def busy(self, holder: str) -> WriteError:
        return IssueLockedError(
            f"another perf-identify command{holder} is working on {self.issue_path} "
            "(a verify holds it for its whole run)",
            hint="wait for it to finish, then run again; other issues are not locked",
        )


class WaitLock(_Flock):
    """Exclusive lock on `path` that waits for the holder instead of failing; `on_wait` is told
    (with ` (pid N)` or "") before it starts waiting."""

    def __init__(self, path: Path, on_wait: Callable[[str], None] | None = None) -> None:
        super().__init__(path)
        self._on_wait = on_wait

    def busy(self, holder: str) -> WriteError:
        return _Waiting(holder)

    def __enter__(self) -> Self:
        try:
            return super().__enter__()
        except _Waiting as waiting:
            if self._on_wait is not None:
                self._on_wait(waiting.holder)
        self.wait = True
        try:
            return super().__enter__()
        finally:
            self.wait = False


class _Waiting(WriteError):
    def __init__(self, holder: str) -> None:
        super().__init__("the lock is held")
        self.holder = holder


_PID_BYTES = 32  # a lock file holds our pid and a newline, nothing longer


def _refused_lock(path: Path, what: str) -> WriteError:
    return WriteError(
        f"refusing lock file {path}: it is {what}",
        hint=f"remove {path}; perf-identify recreates it as a plain file",
    )


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, _PID_BYTES, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (pid {text})" if text.isdigit() else ""


@dataclass(frozen=True, slots=True)
class DirEntry:
    """One row of `ls -la`.

    `blocks` is `st_blocks` (512-byte units), which `ls` sums for its `total` line; it is an
    addition to the row's visible columns and defaults to 0 for hand-built entries.
    """

    mode: str
    links: int
    owner: str
    group: str
    size: int
    mtime: datetime
    name: str
    blocks: int = 0


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def list_directory(out_dir: Path) -> list[DirEntry]:
    """The rows `ls -la out_dir` would print, `.` and `..` included, sorted bytewise (C locale)."""
    try:
        names = [".", "..", *os.listdir(out_dir)]
    except OSError as exc:
        raise WriteError(f"cannot list {out_dir}: {exc.strerror or exc}") from exc
    entries: list[DirEntry] = []
    for name in sorted(names, key=os.fsencode):
        path = out_dir / name
        try:
            info = os.lstat(path)
            shown = f"{name} -> {os.readlink(path)}" if stat.S_ISLNK(info.st_mode) else name
        except OSError:
            continue  # removed between listdir and lstat
        entries.append(
            DirEntry(
                mode=stat.filemode(info.st_mode),
                links=info.st_nlink,
                owner=_owner(info.st_uid),
                group=_group(info.st_gid),
                size=info.st_size,
                mtime=datetime.fromtimestamp(info.st_mtime).astimezone(),
                name=shown,
                blocks=info.st_blocks,
            )
        )
    return entries


def format_listing(entries: Sequence[DirEntry], total_blocks: int | None = None) -> str:
    """`ls -la --time-style=long-iso` text for `entries`: `total N`, then one aligned row each.

    `total_blocks` is in 1 KiB blocks, as `ls` prints it; by default it is computed from the
    entries' 512-byte `blocks`, rounded up as `ls` does.
    """
    total = math.ceil(sum(e.blocks for e in entries) / 2) if total_blocks is None else total_blocks
    lines = [f"total {total}"]
    if entries:
        links = max(len(str(e.links)) for e in entries)
        owner = max(len(e.owner) for e in entries)
        group = max(len(e.group) for e in entries)
        size = max(len(str(e.size)) for e in entries)
        # Numbers right-aligned, owner and group left-aligned: the column rules of GNU ls.
        lines += [
            f"{e.mode} {e.links:>{links}} {e.owner:<{owner}} {e.group:<{group}} "
            f"{e.size:>{size}} {e.mtime:%Y-%m-%d %H:%M} {e.name}"
            for e in entries
        ]
    return "\n".join(lines) + "\n"
