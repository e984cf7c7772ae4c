"""Tests for `perf-identify verify` without cargo: the scripted VM of tests.lifecycle_repos
(real git worktrees, real build and test commands that take milliseconds) and, for exact
verdicts, a timer that reads the sleep each build of the program would make."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from perf_identify.errors import IssueFileError, VerifyError
from perf_identify.issues_dir import replace_issue, write_file_atomically
from perf_identify.lifecycle import begin_verification
from perf_identify.render import Status, Verdict, parse_issue, render_issue
from perf_identify.repo_config import load_config
from perf_identify.runner import CommandRun, run_logged
from perf_identify.sidecar import issue_sidecar_path
from perf_identify.timing import RunTime
from perf_identify.verification import VerifyReport, VerifyRequest, VerifyShell, verify
from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.lifecycle_repos import (
    git,
    identify,
    init_and_commit,
    run_cli,
    scripted_vm,
    set_delay,
)
from tests.test_lifecycle_cli import implement, one_error

DAY = date(2026, 11, 22)
COMMAND = f"./target/release/vm -p {BENCHMARK}"


class DelayTimer:
    """Times a build of vm.py as exactly the DELAY it sleeps: verdicts without noise."""

    name = "delay timer"

    def round(
        self, commands: Sequence[Sequence[str]], *, warmup: int, cwd: Path, timeout_s: float
    ) -> list[RunTime]:
        times = []
        for command in commands:
            found = re.search(r"DELAY = ([0-9.]+)", Path(command[0]).read_text())
            assert found is not None
            times.append(RunTime(float(found.group(1)), 0.001, 0.0))
        return times


class Quiet:
    def step(self, text: str) -> None:
        pass

    def status(self, text: str, elapsed_s: float) -> None:
        pass

    def notice(self, text: str) -> None:
        pass


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return scripted_vm(tmp_path, delay=0.06)


@pytest.fixture
def issue(repo: Path) -> Path:
    path = identify(repo)
    implement(path)
    return path


def run_verify(repo: Path, issue: Path, before_ref: str | None = None) -> VerifyReport:
    request = VerifyRequest(
        repo=repo, issue_path=issue, today=DAY, config=load_config(repo), before_ref=before_ref
    )
    return verify(request, VerifyShell(Quiet(), timer=DelayTimer()))


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list").splitlines() if line]


# --------------------------------------------------------------------------------------------
# Verdicts


def test_a_real_speedup_is_verified(repo: Path, issue: Path) -> None:
    set_delay(repo, 0.006)
    report = run_verify(repo, issue)
    text = issue.read_text(encoding="utf-8")
    assert render_issue(parse_issue(text)) == text
    doc = parse_issue(text)
    assert doc.status is Status.VERIFIED
    section = text[text.index("VERIFICATION\n") : text.index("PROGRESS LOG\n")]
    assert section == (
        "VERIFICATION\n" + "-" * 80 + "\n\n"
        "Date: 2026-11-22\n"
        "Tests: PASS\n\n"
        "Benchmark Results:\n"
        "  Before: 60.0ms\n"
        "  After: 6.0ms\n"
        "  Change: -90.0%\n\n"
        "Meets Expected Impact: YES\n"
        "  Expected: a 72% to 86% cut in runtime (the issue's Expected Impact)\n"
        "  Actual: 90.0% faster: median 60.0ms -> 6.0ms (ranges 60.0-60.0ms and\n"
        "    6.0-6.0ms; 3 alternating runs each after 1 warm-up(s), delay timer, wall\n"
        "    time)\n\n"
        "Verdict: CONFIRMED\n\n" + "-" * 80 + "\n"
    )  # fmt: skip
    commit = git(repo, "rev-parse", "HEAD")
    assert [(e.status, e.note) for e in doc.log[-2:]] == [
        (
            Status.VERIFYING,
            f"Verifying against {commit[:12]}: `sh -c 'test ! -e TESTS_FAIL || {{ echo test "
            "index_op ... FAILED; exit 101; }'`, release builds of both trees, 3 alternating "
            "runs each",
        ),
        (Status.VERIFIED, "Performance improvement confirmed (90.0% faster)"),
    ]
    assert report.before_commit == commit
    baseline = json.loads((repo / "benchmark/results/baseline.json").read_text())
    assert baseline == {
        "results": [
            {
                "command": COMMAND,
                "mean": pytest.approx(0.006),
                "stddev": 0.0,
                "median": 0.006,
                "user": 0.001,
                "system": 0.0,
                "min": 0.006,
                "max": 0.006,
                "times": [0.006, 0.006, 0.006],
            }
        ]
    }
    record = json.loads(report.record_path.read_text())
    assert record["verdict"] == "CONFIRMED"
    assert [r["command"] for r in record["results"]] == [
        f"{COMMAND} (baseline)",
        f"{COMMAND} (working tree)",
    ]
    assert worktrees(repo) == worktrees(repo)[:1]
    assert (repo / "perf-issues/.perf-identify/baseline-target/release/vm").is_file()


@pytest.mark.parametrize(
    ("delay", "status", "change", "note"),
    [
        (0.0603, Status.MARGINAL, "+0.5%", "Change of +0.5% is within ±5%: no measurable"),
        (0.057, Status.MARGINAL, "-5.0%", "Change of -5.0% is within ±5%"),
        (0.09, Status.REGRESSION, "+50.0%", "Performance regression (50.0% slower)"),
    ],
)
def test_no_gain_is_marginal_and_a_slowdown_a_regression(
    repo: Path, issue: Path, delay: float, status: Status, *, change: str, note: str
) -> None:
    set_delay(repo, delay)
    report = run_verify(repo, issue)
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.status is status
    assert f"  Change: {change}\n" in issue.read_text(encoding="utf-8")
    assert doc.log[-1].note.startswith(note)
    assert report.baseline_path is None
    assert not (repo / "benchmark/results/baseline.json").exists()


def test_failing_tests_are_a_regression_whatever_the_timing(repo: Path, issue: Path) -> None:
    set_delay(repo, 0.006)
    (repo / "TESTS_FAIL").write_text("")
    report = run_verify(repo, issue)
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.status is Status.REGRESSION
    assert doc.verification is not None
    assert (doc.verification.tests_passed, doc.verification.meets_expected) == (False, False)
    assert doc.verification.verdict is Verdict.REGRESSION
    assert doc.verification.change_percent == -90.0
    assert doc.verification.actual.startswith("tests FAIL (`sh -c ")
    assert "Tests: FAIL\n" in issue.read_text(encoding="utf-8")
    assert doc.log[-1].note.startswith("Tests fail: `sh -c")
    assert "FAILED" in report.tests.log_path.read_text()
    assert report.baseline_path is None


def test_a_stale_verifying_is_resumed(repo: Path, issue: Path) -> None:
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    issue.write_text(render_issue(begin_verification(doc, DAY, "killed run")), encoding="utf-8")
    set_delay(repo, 0.006)
    run_verify(repo, issue)
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert [entry.status for entry in doc.log].count(Status.VERIFYING) == 1
    assert doc.status is Status.VERIFIED


def test_the_baseline_keeps_other_benchmarks(repo: Path, issue: Path) -> None:
    other = {"command": "./target/release/vm -p examples/other.santa", "mean": 1.0, "times": [1]}
    old = {"command": COMMAND, "mean": 9.0, "times": [9.0]}
    baseline = repo / "benchmark/results/baseline.json"
    baseline.write_text(json.dumps({"results": [other, old]}))
    set_delay(repo, 0.006)
    run_verify(repo, issue)
    results = json.loads(baseline.read_text())["results"]
    assert [r["command"] for r in results] == [other["command"], COMMAND]
    assert results[1]["median"] == 0.006


def test_no_baseline_where_the_repo_keeps_none(repo: Path, issue: Path) -> None:
    (repo / "benchmark/results/.keep").unlink()
    (repo / "benchmark/results").rmdir()
    set_delay(repo, 0.006)
    assert run_verify(repo, issue).baseline_path is None
    assert not (repo / "benchmark/results").exists()


def test_before_ref_overrides_the_sidecar(repo: Path, issue: Path) -> None:
    set_delay(repo, 0.03)
    commit_faster = _commit(repo, "half the delay")
    set_delay(repo, 0.015)
    report = run_verify(repo, issue, before_ref="HEAD")
    assert report.before_commit == commit_faster
    assert report.judgement.change_percent == -50.0


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "vm.py")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_a_vm_in_a_subfolder_of_the_git_repo(tmp_path: Path) -> None:
    repo = scripted_vm(tmp_path / "outer", delay=0.06)
    # Make the VM a subfolder of a larger repository, as examples/tinsel is in ours.
    shutil.rmtree(repo / ".git")
    init_and_commit(tmp_path / "outer")
    issue = identify(repo)
    implement(issue)
    set_delay(repo, 0.006)
    report = run_verify(repo, issue)
    assert report.document.status is Status.VERIFIED


# --------------------------------------------------------------------------------------------
# Refusals: one error, the file untouched


def _verify_cli(repo: Path, issue: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(
        "verify", str(issue), "--repo", str(repo), "--quiet", "--date", "2026-11-22", *extra
    )


def _edit_sidecar(issue: Path, **changes: object) -> None:
    path = issue_sidecar_path(issue)
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("setup", "code", "fragment"),
    [
        (lambda repo, issue: issue_sidecar_path(issue).unlink(), 10, "does not exist"),
        (
            lambda repo, issue: _edit_sidecar(issue, git_commit="0" * 40),
            10,
            f"the commit recorded at identification, {'0' * 40}, is not in",
        ),
        (
            lambda repo, issue: _edit_sidecar(
                issue, git_dirty=True, dirty_paths=["lang/src/vm/runtime.rs"]
            ),
            10,
            "was identified on a dirty tree (lang/src/vm/runtime.rs differed from",
        ),
        (
            lambda repo, issue: _edit_sidecar(issue, git_commit=None, git_dirty=None),
            10,
            "was identified outside a git repository",
        ),
        (lambda repo, issue: _edit_sidecar(issue, format=2), 10, "is not a perf-identify sidecar"),
        (
            lambda repo, issue: (repo / "benchmark/results/baseline.json").write_text("{oops"),
            10,
            "baseline.json is not readable JSON",
        ),
        (
            lambda repo, issue: (repo / ".perf-identify.toml").write_text("runs = -1\n"),
            2,
            "runs: Input should be greater than or equal to 1",
        ),
    ],
)
def test_a_precondition_fails_with_one_error(
    repo: Path, issue: Path, setup: object, code: int, fragment: str
) -> None:
    assert callable(setup)
    setup(repo, issue)
    before = issue.read_bytes()
    got, out, err = _verify_cli(repo, issue)
    assert (got, out) == (code, "")
    one_error(err, fragment)
    assert issue.read_bytes() == before
    assert not list((repo / "perf-issues/.perf-identify").glob("logs/verify-*"))


def test_a_dirty_identification_can_name_its_baseline(repo: Path, issue: Path) -> None:
    _edit_sidecar(issue, git_dirty=True)
    set_delay(repo, 0.006)
    code, out, err = _verify_cli(repo, issue, "--before", "HEAD")
    assert code == 0, err
    assert "VERIFIED (Verdict: CONFIRMED)" in out
    code, _, err = _verify_cli(repo, issue, "--before", "no-such-branch")
    assert code == 9  # VERIFIED is final
    one_error(err, "cannot verify: illegal status move VERIFIED -> VERIFYING")


def test_an_unknown_before_ref(repo: Path, issue: Path) -> None:
    before = issue.read_bytes()
    code, _, err = _verify_cli(repo, issue, "--before", "no-such-branch")
    assert code == 10
    one_error(err, "--before 'no-such-branch' is not a commit in")
    assert issue.read_bytes() == before


def test_verify_needs_an_implemented_issue(repo: Path) -> None:
    issue = identify(repo)
    run_cli("status", str(issue), "IN_PROGRESS", "--note", "go")
    before = issue.read_bytes()
    code, _, err = _verify_cli(repo, issue)
    assert code == 9
    one_error(err, "cannot verify: illegal status move IN_PROGRESS -> VERIFYING")
    assert "hint: record the fix first with `perf-identify implemented FILE" in err
    assert issue.read_bytes() == before


def test_verify_needs_git(tmp_path: Path) -> None:
    repo = make_fake_vm(tmp_path)
    issue = identify(repo)
    implement(issue)
    before = issue.read_bytes()
    code, _, err = _verify_cli(repo, issue)
    assert code == 10
    one_error(err, "is not a git work tree")
    assert issue.read_bytes() == before


@pytest.mark.parametrize(
    ("breakage", "fragment"),
    [
        ("BUILD_FAILS", "the release build of the working tree failed (exit 101): "),
        ("CRASH", "exited with 1: "),
    ],
)
def test_a_failure_while_measuring_restores_the_file(
    repo: Path, issue: Path, breakage: str, fragment: str
) -> None:
    if breakage == "CRASH":
        (repo / "vm.py").write_text((repo / "vm.py").read_text() + "raise SystemExit(1)\n")
    else:
        (repo / breakage).write_text("")
    before = issue.read_bytes()
    code, _, err = _verify_cli(repo, issue)
    assert code == 10
    one_error(err, fragment)
    assert issue.read_bytes() == before
    assert len(worktrees(repo)) == 1
    if breakage == "BUILD_FAILS":
        assert "hint: see " in err
        assert "cannot compile" in err


def test_a_build_error_of_the_baseline_is_reported(repo: Path, issue: Path) -> None:
    (repo / "BUILD_FAILS").write_text("")
    git(repo, "add", "BUILD_FAILS")
    git(repo, "commit", "--quiet", "-m", "broken build")
    before = issue.read_bytes()
    with pytest.raises(VerifyError, match=r"the release build of the baseline \w+ failed"):
        run_verify(repo, issue, before_ref="HEAD")
    assert issue.read_bytes() == before


# --------------------------------------------------------------------------------------------
# The CLI with real timing


def test_verify_cli_with_real_timing(repo: Path, issue: Path) -> None:
    set_delay(repo, 0.006)
    code, out, err = _verify_cli(repo, issue)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{issue}: VERIFIED (Verdict: CONFIRMED)"
    assert lines[1].startswith("  Tests: PASS (`sh -c ")
    assert lines[4].startswith("  Change: -")
    assert lines[4].endswith("(3 alternating runs each, builtin timer, wall time)")
    assert lines[-1] == f"  New baseline written to {repo / 'benchmark/results/baseline.json'}"
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.verification is not None
    # Real processes: the figure is noisy, the verdict is not (60ms vs 6ms of sleep).
    assert doc.verification.change_percent < -20


def test_verify_cli_json(repo: Path, issue: Path) -> None:
    set_delay(repo, 0.0601)
    code, out, err = _verify_cli(repo, issue, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["status"] in ("MARGINAL", "VERIFIED", "REGRESSION")
    assert summary["timer"] == "builtin timer"
    assert summary["runs"] == 3
    assert summary["tests_passed"] is True
    assert summary["before_commit"] == git(repo, "rev-parse", "HEAD")


def test_a_hand_edit_made_while_verify_runs_is_not_overwritten(repo: Path, issue: Path) -> None:
    edited = b"edited by hand while verify ran\n"

    def run_and_edit(argv: Sequence[str], **kwargs: Any) -> CommandRun:
        if "build" in " ".join(argv) or "BUILD_FAILS" in " ".join(argv):
            issue.write_bytes(edited)
            return CommandRun(tuple(argv), 101, 0.0, kwargs["log_path"])
        return run_logged(argv, **kwargs)

    request = VerifyRequest(repo=repo, issue_path=issue, today=DAY, config=load_config(repo))
    with pytest.raises(VerifyError, match="release build of the baseline"):
        verify(request, VerifyShell(Quiet(), timer=DelayTimer(), run=run_and_edit))
    assert issue.read_bytes() == edited


def test_replace_issue_refuses_bytes_it_did_not_read(issue: Path) -> None:
    text = issue.read_text(encoding="utf-8")
    with pytest.raises(IssueFileError, match="changed while this command ran"):
        replace_issue(issue, b"something else", text.replace("Runtime:", "Runtime :"))
    assert issue.read_text(encoding="utf-8") == text
    write_file_atomically(issue.parent / "x.json", b"{}")
    assert (issue.parent / "x.json").stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert not list(issue.parent.glob(".x.json.tmp-*"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
