"""Confined, bounded reads of files we did not write: repo source and issue files.

Contract:

* `read_regular(path, cap)` returns the bytes of `path` when it is a regular file of at most
  `cap` bytes. It opens with O_NOFOLLOW | O_NONBLOCK and checks the open descriptor with
  `fstat` before reading, so a symlink is refused without being followed, a FIFO never blocks,
  and a device (`/dev/zero`), a folder or a socket is refused without a byte being read. At most
  `cap + 1` bytes are ever read, so a file that grows (or lies about its size) is still refused.
* `read_in_repo(repo, relative, cap)` resolves `repo / relative` (symlinks followed) and refuses
  a result outside `repo` (also resolved), then reads it with `read_regular`: a link inside the
  repo to another file of the repo is fine, a link out of it is not.
* Every refusal is a `Refused` (an `OSError` subclass, so callers that already handle read
  errors keep working) whose `reason` says what was refused and why, in a few words.

Caps: `SOURCE_CAP` (8 MiB) for source files (the largest file of the VM is a few hundred KiB),
`ISSUE_CAP` (1 MiB) for issue files (ours are a few KiB), `PROFILE_CAP` (1 GiB) for profiles.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

SOURCE_CAP = 8 * 1024 * 1024
ISSUE_CAP = 1024 * 1024
PROFILE_CAP = 1024 * 1024 * 1024
"""The largest profile read (1 GiB): a million-sample pprof-rs profile is under 10 MB gzipped,
so anything near this is not a profile, and it is refused before it is read."""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class Refused(OSError):
    """A read refused by this module; `reason` is the one-line why (no path)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.strerror = reason


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def read_regular(path: Path, cap: int) -> bytes:
    """The bytes of the regular file `path` (not a symlink), at most `cap` of them.

    Raises `Refused` for a symlink, a non-regular file or one over `cap`; other `OSError`s
    (missing, unreadable) pass through unchanged.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        # ELOOP is what O_NOFOLLOW gives for a symlink in the last component.
        if os.path.islink(path):
            raise Refused("a symbolic link, not followed") from exc
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{_kind(info.st_mode)}, not a regular file")
        if info.st_size > cap:
            raise Refused(f"{_size_text(info.st_size)}, over the {_size_text(cap)} limit")
        chunks: list[bytes] = []
        total = 0
        # Read to EOF (not to st_size): the file may change under us; stop past the cap.
        while total <= cap:
            chunk = os.read(fd, min(1024 * 1024, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > cap:
            raise Refused(f"grew past the {_size_text(cap)} limit while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_in_repo(repo: Path, relative: str | Path, cap: int = SOURCE_CAP) -> bytes:
    """The bytes of `repo / relative` when it resolves inside `repo`; see the module docstring."""
    root = repo.resolve()
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root):
        raise Refused(f"resolves to {resolved}, outside the repo {root}")
    return read_regular(resolved, cap)
