"""Confined, bounded reads and symlink-safe writes: repo_files, the lock files, lifecycle paths.

Each test is one bad input from docs/bad-input.md: a FIFO or a /dev/zero link as an issue file,
a source file linked out of the repo or over the cap, a lock file shipped as a symlink, and a
lifecycle command pointed at a file outside any issues folder.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from perf_identify.errors import WriteError
from perf_identify.issues_dir import (
    OutputLock,
    StateLayout,
    open_log,
    scan_issues,
    write_file_atomically,
    write_issue,
)
from perf_identify.render import render_issue
from perf_identify.repo_files import SOURCE_CAP, Refused, read_in_repo, read_regular
from tests.cli_runs import assert_one_error, run_cli
from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.test_render import index_op_document

NAME = "STRING_GRAPHEME_COLLECT_IN_INDEX_OP"
RUNTIME = "lang/src/vm/runtime.rs"


def _within(seconds: float, action: Callable[[], object]) -> None:
    """Run `action()` in a thread and fail (instead of hanging the suite) if it blocks."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            action()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds}s"
    if errors:
        raise errors[0]


def test_a_fifo_issue_file_is_listed_as_broken_without_blocking(tmp_path: Path) -> None:
    out = tmp_path / "perf-issues"
    out.mkdir()
    os.mkfifo(out / f"{NAME}.txt")
    found: list[object] = []
    _within(5, lambda: found.extend(scan_issues(out)))
    [issue] = cast("list[SimpleNamespace]", found)
    assert issue.document is None
    assert "a FIFO, not a regular file" in issue.error.message
    result: list[tuple[int, str, str]] = []
    _within(5, lambda: result.append(run_cli("list", "--out", str(out), "--repo", str(tmp_path))))
    code, listed, err = result[0]
    assert code == 0, err
    assert NAME in listed


def test_an_issue_file_linked_to_dev_zero_is_refused_unread(tmp_path: Path) -> None:
    out = tmp_path / "perf-issues"
    out.mkdir()
    (out / f"{NAME}.txt").symlink_to("/dev/zero")
    [issue] = scan_issues(out)
    assert issue.error is not None
    assert "symbolic link, not followed" in issue.error.message
    code, _, err = run_cli("status", str(out / f"{NAME}.txt"), "IN_PROGRESS", "--note", "go")
    assert code == 9
    assert_one_error(err, "refused: a symbolic link, not followed")
    assert not (out / ".perf-identify").exists()


def _identify_json(repo: Path) -> tuple[int, dict[str, Any], str]:
    """A whole `perf-identify FILE --offline --json` run on the fake VM's recorded profile."""
    code, out, err = run_cli(
        BENCHMARK,
        "--repo",
        str(repo),
        "--profile",
        str(repo / "recorded-profile.pb"),
        "--offline",
        "--json",
    )
    assert "Traceback" not in err
    return code, json.loads(out), err


def _issue_texts(repo: Path) -> str:
    return "".join(p.read_text() for p in sorted((repo / "perf-issues").glob("*.txt")))


def test_a_source_file_linked_out_of_the_repo_is_a_source_problem(tmp_path: Path) -> None:
    """A whole run: the hotspots in the linked file get no issue file and nothing of the
    target is quoted anywhere; the other files' hotspots are identified as usual."""
    repo = make_fake_vm(tmp_path)
    secret = tmp_path / "secret.rs"
    secret.write_text((repo / RUNTIME).read_text().replace("fn ", "fn SECRET_"))
    (repo / RUNTIME).unlink()
    (repo / RUNTIME).symlink_to(secret)

    code, summary, err = _identify_json(repo)

    assert code == 0
    reasons = [u["reason"] for u in summary["unresolved"]]
    assert reasons
    assert all(f"source file {RUNTIME} refused: resolves to" in r for r in reasons)
    assert all("outside the repo" in r for r in reasons)
    assert summary["issues"], "the hotspots in other files still get issue files"
    assert all(issue["file"] != RUNTIME for issue in summary["issues"])
    assert "SECRET_" not in _issue_texts(repo)
    assert "SECRET_" not in err
    # A link to another file of the repo is still read.
    (repo / "lang/src/vm/y.rs").write_text("fn y() {}\n")
    (repo / "lang/src/vm/z.rs").symlink_to("y.rs")
    assert read_in_repo(repo, "lang/src/vm/z.rs") == b"fn y() {}\n"


def test_a_sparse_source_file_over_the_cap_is_refused_at_once(tmp_path: Path) -> None:
    """A whole run against a 2 GiB (sparse) source file: refused from its size, in a second,
    without reading it; the run goes on with the other files."""
    repo = make_fake_vm(tmp_path)
    big = repo / RUNTIME
    os.truncate(big, 2 * 1024 * 1024 * 1024)  # 2 GiB, sparse: no disk used
    with pytest.raises(Refused, match=r"2048\.0 MiB, over the 8\.0 MiB limit"):
        read_in_repo(repo, RUNTIME, SOURCE_CAP)

    started = time.monotonic()
    code, summary, _ = _identify_json(repo)
    assert time.monotonic() - started < 30

    assert code == 0
    reasons = [u["reason"] for u in summary["unresolved"]]
    assert reasons
    assert all("2048.0 MiB, over the 8.0 MiB limit" in r for r in reasons)
    assert all(issue["file"] != RUNTIME for issue in summary["issues"])


def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "perf-issues"
    StateLayout(out).state_dir.mkdir(parents=True)
    StateLayout(out).lock.symlink_to(victim)
    with pytest.raises(WriteError, match="it is a symbolic link"), OutputLock(out):
        pass
    assert victim.read_text() == "precious\n"
    write_issue(out, NAME, render_issue(index_op_document()))
    code, _, err = run_cli("status", str(out / f"{NAME}.txt"), "IN_PROGRESS", "--note", "go")
    assert code == 7
    assert_one_error(err, "it is a symbolic link")
    assert victim.read_text() == "precious\n"


def test_a_symlinked_state_folder_steers_no_write_out(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "perf-issues"
    out.mkdir()
    (out / ".perf-identify").symlink_to(elsewhere)
    with pytest.raises(WriteError, match="it is a symbolic link"):
        write_file_atomically(StateLayout(out).sidecar(NAME), b"{}")
    with pytest.raises(WriteError, match="it is a symbolic link"), OutputLock(out):
        pass
    assert list(elsewhere.iterdir()) == []


def test_a_lifecycle_command_on_a_file_outside_an_issues_folder_creates_nothing(
    tmp_path: Path,
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    hostname = etc / "hostname"
    hostname.write_text("box\n")
    for argv in (
        ("status", str(hostname), "IN_PROGRESS", "--note", "go"),
        (
            "implemented",
            str(hostname),
            "--file-modified",
            "a.rs:x",
            "--changes",
            "c",
            "--tests",
            "t",
        ),
        ("verify", str(hostname), "--repo", str(tmp_path)),
        ("brief", str(hostname), "--repo", str(tmp_path)),
        ("draft", str(hostname), "--from", str(tmp_path / "d.json"), "--repo", str(tmp_path)),
    ):
        code, _, err = run_cli(*argv)
        assert code == 9, (argv, err)
        assert "is not an issue file" in err
        assert "Traceback" not in err
        assert sorted(p.name for p in etc.iterdir()) == ["hostname"], argv
        assert hostname.read_text() == "box\n"
    code, _, err = run_cli("status", str(hostname), "IN_PROGRESS", "--note", "go")
    assert code == 9
    assert_one_error(err, "is not an issue file: the name must be NAME.txt")


def test_read_regular_refuses_a_folder_and_reads_a_small_file(tmp_path: Path) -> None:
    with pytest.raises(Refused, match="a directory"):
        read_regular(tmp_path, 10)
    (tmp_path / "f").write_bytes(b"0123456789")
    assert read_regular(tmp_path / "f", 10) == b"0123456789"
    with pytest.raises(Refused, match="10 bytes, over the 9 bytes limit"):
        read_regular(tmp_path / "f", 9)


def test_a_log_shipped_as_a_symlink_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    logs = StateLayout(tmp_path / "perf-issues").logs
    logs.mkdir(parents=True)
    (logs / "drafting.log").symlink_to(victim)
    with open_log(logs / "drafting.log") as log:
        log.write(b"ours\n")
    assert victim.read_text() == "precious\n"
    assert not (logs / "drafting.log").is_symlink()
    assert (logs / "drafting.log").read_bytes() == b"ours\n"
