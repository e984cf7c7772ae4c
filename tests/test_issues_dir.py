"""Tests for perf_identify.issues_dir: atomic no-clobber writes, scanning, the lock, the listing."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from perf_identify.errors import Interrupted, IssueFileError, WriteError
from perf_identify.issues_dir import (
    DirEntry,
    IssueLock,
    IssueLockedError,
    OutputLock,
    WaitLock,
    WriteOutcome,
    format_listing,
    issue_lock_path,
    list_directory,
    scan_issues,
    write_file_atomically,
    write_issue,
)
from perf_identify.render import Status, render_issue
from tests.test_render import index_op_document, rotate_document

NAME = "STRING_GRAPHEME_COLLECT_IN_INDEX_OP"
TEXT = render_issue(index_op_document())


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --------------------------------------------------------------------------------------------
# write_issue


def test_creates_folder_and_file_with_exact_bytes(tmp_path: Path) -> None:
    out = tmp_path / "perf-issues"
    assert write_issue(out, NAME, TEXT) is WriteOutcome.CREATED
    assert (out / f"{NAME}.txt").read_bytes() == TEXT.encode("utf-8")
    assert _files(out) == [f"{NAME}.txt"]


def test_new_file_mode_follows_umask_not_mkstemp(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_issue(tmp_path, NAME, TEXT)
    finally:
        os.umask(old)
    assert (tmp_path / f"{NAME}.txt").stat().st_mode & 0o777 == 0o644


def test_identical_rerun_is_unchanged_and_not_rewritten(tmp_path: Path) -> None:
    write_issue(tmp_path, NAME, TEXT)
    before = (tmp_path / f"{NAME}.txt").stat()
    assert write_issue(tmp_path, NAME, TEXT) is WriteOutcome.UNCHANGED
    after = (tmp_path / f"{NAME}.txt").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_identified_file_is_updated(tmp_path: Path) -> None:
    write_issue(tmp_path, NAME, TEXT)
    newer = render_issue(dataclasses.replace(index_op_document(), runtime_ms=40000))
    assert write_issue(tmp_path, NAME, newer) is WriteOutcome.UPDATED
    assert (tmp_path / f"{NAME}.txt").read_text(encoding="utf-8") == newer
    assert _files(tmp_path) == [f"{NAME}.txt"]


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.IDENTIFIED])
def test_file_past_identified_is_kept_byte_for_byte(tmp_path: Path, status: Status) -> None:
    # As /perf-implement leaves it: status moved on, with CRLF line endings from some editor.
    edited = TEXT.replace("STATUS: IDENTIFIED", f"STATUS: {status}").replace("\n", "\r\n")
    path = tmp_path / f"{NAME}.txt"
    path.write_bytes(edited.encode("utf-8"))
    assert write_issue(tmp_path, NAME, TEXT) is WriteOutcome.KEPT
    assert path.read_bytes() == edited.encode("utf-8")


@pytest.mark.parametrize(
    "content",
    [
        b"notes about this hotspot\n",
        b"\xff\xfe not utf-8",
        TEXT.replace("Hotspot", "Rank").encode(),
    ],
)
def test_unparsable_file_is_kept(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / f"{NAME}.txt"
    path.write_bytes(content)
    assert write_issue(tmp_path, NAME, TEXT) is WriteOutcome.KEPT
    assert path.read_bytes() == content


def test_folder_in_the_way_is_kept(tmp_path: Path) -> None:
    (tmp_path / f"{NAME}.txt").mkdir()
    assert write_issue(tmp_path, NAME, TEXT) is WriteOutcome.KEPT
    assert (tmp_path / f"{NAME}.txt").is_dir()


@pytest.mark.parametrize(
    "name", ["../x", "a/b", "X.txt", "lower", "", "A" * 61, "../../ETC", "/ABS", "A\x00B", ".HID"]
)
def test_dangerous_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(WriteError) as caught:
        write_issue(tmp_path / "out", name, TEXT)
    assert caught.value.message == f"refusing issue file name {name!r}"
    assert "UPPERCASE" in caught.value.hint
    assert not (tmp_path / "out").exists()


def test_replace_failure_leaves_no_temp_and_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_issue(tmp_path, NAME, TEXT)

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("perf_identify.issues_dir.os.replace", failing_replace)
    newer = render_issue(dataclasses.replace(index_op_document(), rank=2))
    with pytest.raises(WriteError) as caught:
        write_issue(tmp_path, NAME, newer)
    assert str(tmp_path / f"{NAME}.txt") in caught.value.message
    assert "No space left on device" in caught.value.message
    assert _files(tmp_path) == [f"{NAME}.txt"]
    assert (tmp_path / f"{NAME}.txt").read_text(encoding="utf-8") == TEXT


def test_ctrl_c_during_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def interrupted_fsync(fd: int) -> None:
        # By now the temp file exists and holds the data: prove it, then "press Ctrl-C".
        seen.extend(_files(tmp_path))
        raise KeyboardInterrupt

    monkeypatch.setattr("perf_identify.issues_dir.os.fsync", interrupted_fsync)
    with pytest.raises(Interrupted) as caught:
        write_issue(tmp_path, NAME, TEXT)
    assert isinstance(caught.value.__cause__, KeyboardInterrupt)
    assert len(seen) == 1
    assert seen[0].startswith(f".{NAME}.txt.tmp-")
    assert _files(tmp_path) == []


def test_unexpected_error_still_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(fd: int) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("perf_identify.issues_dir.os.fsync", broken_fsync)
    with pytest.raises(RuntimeError, match="boom"):
        write_issue(tmp_path, NAME, TEXT)
    assert _files(tmp_path) == []


def test_unwritable_output_folder_is_a_write_error(tmp_path: Path) -> None:
    # Tests run as root here, and root ignores permission bits, so a chmod 0o555 folder would
    # still be writable. A path *under a regular file* fails for everyone (ENOTDIR).
    blocker = tmp_path / "file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    out = blocker / "sub"
    with pytest.raises(WriteError) as caught:
        write_issue(out, NAME, TEXT)
    assert caught.value.message.startswith(f"cannot create output folder {out}: ")
    assert "Not a directory" in caught.value.message
    assert caught.value.hint


def test_output_folder_that_is_a_file_is_a_write_error(tmp_path: Path) -> None:
    out = tmp_path / "perf-issues"
    out.write_text("", encoding="utf-8")
    with pytest.raises(WriteError, match="cannot create output folder"):
        write_issue(out, NAME, TEXT)


def test_refused_temp_file_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a read-only folder does to a non-root user, simulated so it also runs as root.
    def refusing_open(path: object, flags: int, mode: int = 0o777) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("perf_identify.issues_dir.os.open", refusing_open)
    with pytest.raises(WriteError) as caught:
        write_issue(tmp_path, NAME, TEXT)
    assert caught.value.message == f"cannot write {tmp_path / NAME}.txt: Permission denied"
    assert str(tmp_path) in caught.value.hint
    assert _files(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_folder_is_a_write_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(WriteError, match=f"cannot write {tmp_path / NAME}.txt"):
            write_issue(tmp_path, NAME, TEXT)
    finally:
        tmp_path.chmod(0o755)


# --------------------------------------------------------------------------------------------
# scan_issues


def test_scan_reads_documents_and_reports_broken_files(tmp_path: Path) -> None:
    write_issue(tmp_path, NAME, TEXT)
    write_issue(tmp_path, "LIST_ROTATE_FULL_COPY", render_issue(rotate_document()))
    (tmp_path / "BROKEN_ISSUE.txt").write_text(
        TEXT.replace("Hotspot Rank: 1", "Hotspot Rank: one"), encoding="utf-8"
    )
    (tmp_path / "NOT_UTF8.txt").write_bytes(b"\xff\xfe")
    (tmp_path / "README.md").write_text("not an issue\n", encoding="utf-8")
    (tmp_path / ".HIDDEN.txt").write_text("ignored\n", encoding="utf-8")
    (tmp_path / "FOLDER.txt").mkdir()

    found = scan_issues(tmp_path)

    assert [issue.name for issue in found] == [
        "BROKEN_ISSUE",
        "LIST_ROTATE_FULL_COPY",
        "NOT_UTF8",
        NAME,
    ]
    broken, rotate, not_utf8, index_op = found
    assert rotate.document == rotate_document()
    assert rotate.error is None
    assert index_op.document == index_op_document()
    assert index_op.path == tmp_path / f"{NAME}.txt"
    assert broken.document is None
    assert isinstance(broken.error, IssueFileError)
    assert broken.error.message == (
        f"{tmp_path / 'BROKEN_ISSUE.txt'}: line 14: expected 'Hotspot Rank: <n>', "
        "found 'Hotspot Rank: one'"
    )
    assert not_utf8.error is not None
    assert "not UTF-8" in not_utf8.error.message


def test_scan_of_missing_folder_is_empty(tmp_path: Path) -> None:
    assert scan_issues(tmp_path / "absent") == []


# --------------------------------------------------------------------------------------------
# OutputLock


@pytest.fixture
def lock_holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process holding the output folder's lock until its stdin closes."""
    lock = tmp_path / ".perf-identify" / "lock"
    lock.parent.mkdir(parents=True)
    script = textwrap.dedent(
        f"""
        import fcntl, os, sys
        fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(fd, 0)
        os.write(fd, b"%d\\n" % os.getpid())
        print("locked", flush=True)
        sys.stdin.read()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    try:
        yield holder
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()


def test_lock_held_by_another_process_is_a_write_error(
    tmp_path: Path, lock_holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(WriteError) as caught, OutputLock(tmp_path):
        pytest.fail("lock acquired while another process holds it")
    assert caught.value.message == (
        f"another perf-identify run (pid {lock_holder.pid}) is writing to {tmp_path}"
    )
    assert caught.value.hint.startswith("wait for it to finish")


def test_lock_is_free_once_the_other_process_exits(
    tmp_path: Path, lock_holder: subprocess.Popen[str]
) -> None:
    assert lock_holder.stdin is not None
    lock_holder.stdin.close()
    lock_holder.wait(timeout=10)
    with OutputLock(tmp_path):
        pass


def test_lock_excludes_a_second_run_in_this_process_and_is_released_on_exit(
    tmp_path: Path,
) -> None:
    # flock belongs to the open file, so a second open in the same process conflicts too.
    with OutputLock(tmp_path), pytest.raises(WriteError, match="another perf-identify run"):
        OutputLock(tmp_path).__enter__()
    with OutputLock(tmp_path):
        pass


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_lock_is_released_after_an_exception(tmp_path: Path, exc_type: type[BaseException]) -> None:
    with pytest.raises(exc_type), OutputLock(tmp_path):
        raise exc_type("stop")
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)",
            str(tmp_path / ".perf-identify" / "lock"),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, probe.stderr


def test_lock_in_an_unwritable_place_is_a_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(WriteError, match="cannot create lock file"), OutputLock(blocker / "out"):
        pass


def test_lock_file_is_kept_and_issue_scan_ignores_it(tmp_path: Path) -> None:
    with OutputLock(tmp_path):
        write_issue(tmp_path, NAME, TEXT)
    # Deleting the lock file would let a waiting run lock a file nobody else sees.
    assert (tmp_path / ".perf-identify" / "lock").is_file()
    assert [issue.name for issue in scan_issues(tmp_path)] == [NAME]


def test_an_issue_lock_excludes_only_its_own_issue(tmp_path: Path) -> None:
    issue = tmp_path / f"{NAME}.txt"
    assert issue_lock_path(issue) == tmp_path / ".perf-identify" / "locks" / f"{NAME}.lock"
    with IssueLock(issue):
        with pytest.raises(IssueLockedError) as caught, IssueLock(issue):
            pytest.fail("the same issue locked twice")
        assert caught.value.message == (
            f"another perf-identify command (pid {os.getpid()}) is working on {issue} "
            "(a verify holds it for its whole run)"
        )
        assert caught.value.exit_code == 7
        # Another issue, and the folder, are free.
        with IssueLock(tmp_path / "OTHER_ISSUE.txt"), OutputLock(tmp_path):
            pass
    with IssueLock(issue):
        pass


def test_a_wait_lock_waits_for_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "baseline.json.lock"
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from perf_identify.issues_dir import WaitLock
        with WaitLock(Path({str(path)!r})):
            print("locked", flush=True)
            time.sleep(0.5)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline() == "locked\n"
        waited: list[str] = []
        with WaitLock(path, on_wait=waited.append):
            # Only once the holder let go.
            assert holder.wait(timeout=10) == 0
        assert waited == [f" (pid {holder.pid})"]
        with WaitLock(path, on_wait=waited.append):
            pass
        assert len(waited) == 1  # a free lock is taken without waiting
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()


# --------------------------------------------------------------------------------------------
# Listing


def _entry(name: str, size: int, *, mode: str = "-rw-r--r--", links: int = 1) -> DirEntry:
    return DirEntry(
        mode=mode,
        links=links,
        owner="dev",
        group="developers",
        size=size,
        mtime=datetime(2026, 11, 26, 17, 5, tzinfo=UTC),
        name=name,
        blocks=8 if size else 0,
    )


def test_format_listing_aligns_columns_like_ls() -> None:
    entries = [
        _entry(".", 4096, mode="drwxr-xr-x", links=3),
        _entry("..", 4096, mode="drwxr-xr-x", links=12),
        _entry(".perf-identify", 4096, mode="drwxr-xr-x", links=2),
        _entry("LIST_ROTATE_FULL_COPY.txt", 2891),
        _entry("STRING_GRAPHEME_COLLECT_IN_INDEX_OP.txt", 0),
    ]
    assert format_listing(entries) == (
        "total 16\n"
        "drwxr-xr-x  3 dev developers 4096 2026-11-26 17:05 .\n"
        "drwxr-xr-x 12 dev developers 4096 2026-11-26 17:05 ..\n"
        "drwxr-xr-x  2 dev developers 4096 2026-11-26 17:05 .perf-identify\n"
        "-rw-r--r--  1 dev developers 2891 2026-11-26 17:05 LIST_ROTATE_FULL_COPY.txt\n"
        "-rw-r--r--  1 dev developers    0 2026-11-26 17:05 "
        "STRING_GRAPHEME_COLLECT_IN_INDEX_OP.txt\n"
    )
    assert format_listing(entries, total_blocks=99).startswith("total 99\n")
    assert format_listing([]) == "total 0\n"


def test_format_listing_total_rounds_half_kilobytes_up() -> None:
    entries = [dataclasses.replace(_entry("a", 1), blocks=3)]
    assert format_listing(entries).startswith("total 2\n")


def test_list_directory_rows(tmp_path: Path) -> None:
    write_issue(tmp_path, NAME, TEXT)
    (tmp_path / "#notes").write_text("x", encoding="utf-8")
    (tmp_path / "link").symlink_to(f"{NAME}.txt")
    entries = list_directory(tmp_path)
    # Bytewise order as in the C locale: '#' sorts before '.', uppercase before lowercase.
    assert [e.name for e in entries] == ["#notes", ".", "..", f"{NAME}.txt", f"link -> {NAME}.txt"]
    issue = entries[3]
    assert issue.mode == "-rw-r--r--"
    assert issue.size == len(TEXT.encode("utf-8"))
    assert issue.links == 1
    assert abs(issue.mtime - datetime.now().astimezone()) < timedelta(minutes=5)
    assert entries[-1].mode.startswith("l")


def test_list_missing_directory_is_a_write_error(tmp_path: Path) -> None:
    with pytest.raises(WriteError, match="cannot list"):
        list_directory(tmp_path / "absent")


@pytest.mark.skipif(shutil.which("ls") is None, reason="no ls to compare with")
def test_listing_matches_gnu_ls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    version = subprocess.run(["ls", "--version"], capture_output=True, text=True, check=False)
    if "GNU coreutils" not in version.stdout:
        pytest.skip("needs GNU ls for --time-style=long-iso")
    out = tmp_path / "perf-issues"
    with OutputLock(out):
        write_issue(out, NAME, TEXT)
        write_issue(out, "LIST_ROTATE_FULL_COPY", render_issue(rotate_document()))
    (out / "big.bin").write_bytes(b"\0" * 37_000)
    (out / "link").symlink_to("big.bin")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        expected = subprocess.run(
            ["ls", "-la", "--time-style=long-iso", str(out)],
            env={**os.environ, "LC_ALL": "C", "TZ": "UTC"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        actual = format_listing(list_directory(out))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert actual == expected


def test_write_file_atomically_creates_the_folder_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "deeper" / "profile.pb"
    write_file_atomically(target, b"old")
    write_file_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["profile.pb"]
    (tmp_path / "blocker").write_text("")
    with pytest.raises(WriteError, match="cannot write"):
        write_file_atomically(tmp_path / "blocker" / "x", b"")
