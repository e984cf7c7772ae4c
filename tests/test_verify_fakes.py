"""`verify` with every port faked: no git, no build, no test run and no timed program.

The issue file is a real one (identified offline from the recorded profile of the fake VM,
then marked implemented), the repo is not a git repo at all, and the runner, the timer, git and
the clock are the in-memory fakes of tests.fake_ports: canned times give each verdict exactly.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from perf_identify.ports import FILE_ISSUE_STORE, IssueStore
from perf_identify.render import Status, Verdict, parse_issue
from perf_identify.repo_config import load_config
from perf_identify.timing import RunTime
from perf_identify.verification import VerifyReport, VerifyRequest, VerifyShell, verify
from tests.fake_ports import CannedTimer, FakeClock, FakeGit, FakeRunner, MemoryIssueStore
from tests.fake_vm import make_fake_vm
from tests.lifecycle_repos import CONFIG, identify
from tests.test_lifecycle_cli import implement
from tests.test_verification import Quiet

DAY = date(2026, 11, 30)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_fake_vm(tmp_path)
    (repo / ".perf-identify.toml").write_text(CONFIG, encoding="utf-8")
    (repo / "benchmark" / "results").mkdir(parents=True)
    return repo


@pytest.fixture
def issue(repo: Path) -> Path:
    path = identify(repo)
    implement(path)
    return path


def _verify(
    repo: Path,
    issue: Path,
    before_s: float,
    after_s: float,
    *,
    test_exit: int = 0,
    store: IssueStore = FILE_ISSUE_STORE,
) -> tuple[VerifyReport, FakeRunner, FakeGit]:
    # Commands the fake runner tells apart; the canned times are CPU-free, so wall time is used.
    config = load_config(repo).model_copy(
        update={"test": "cargo test", "build": "cargo build --release"}
    )
    git = FakeGit()
    runner = FakeRunner(test_exit=test_exit)
    request = VerifyRequest(
        repo=repo, issue_path=issue, today=DAY, config=config, before_ref=git.head
    )
    shell = VerifyShell(
        Quiet(),
        timer=CannedTimer(RunTime(before_s, 0.001, 0.0), RunTime(after_s, 0.001, 0.0)),
        run=runner,
        env={"HOME": str(repo.parent / "home")},
        clock=FakeClock(DAY),
        git=git,
        store=store,
    )
    return verify(request, shell), runner, git


@pytest.mark.parametrize(
    "case",
    [
        (1.0, 0.8, Verdict.CONFIRMED, Status.VERIFIED, -20.0),
        (1.0, 1.0, Verdict.INSUFFICIENT, Status.MARGINAL, 0.0),
        (1.0, 1.25, Verdict.REGRESSION, Status.REGRESSION, 25.0),
    ],
)
def test_canned_times_give_each_verdict(
    repo: Path, issue: Path, case: tuple[float, float, Verdict, Status, float]
) -> None:
    before_s, after_s, verdict, status, change = case
    report, runner, git = _verify(repo, issue, before_s, after_s)
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.status is status
    assert doc.verification is not None
    assert doc.verification.verdict is verdict
    assert doc.verification.day == DAY
    assert doc.verification.tests_passed
    assert doc.verification.before_ms == round(before_s * 1000, 1)
    assert doc.verification.after_ms == round(after_s * 1000, 1)
    assert doc.verification.change_percent == pytest.approx(change)
    assert report.before_commit == git.head
    # Tests in the working tree, then the baseline built in the (fake) worktree, then the tree.
    trees = [cwd for _, cwd in runner.calls]
    assert trees[0] == repo
    assert trees[2] == repo
    assert trees[1] == git.worktrees[0]
    assert not git.worktrees[0].exists()
    # Only a decided speed-up becomes the new baseline.
    assert (report.baseline_path is not None) is (verdict is Verdict.CONFIRMED)


def test_failing_tests_are_a_regression_even_when_faster(repo: Path, issue: Path) -> None:
    report, _, _ = _verify(repo, issue, 1.0, 0.5, test_exit=101)
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.status is Status.REGRESSION
    assert doc.verification is not None
    assert not doc.verification.tests_passed
    assert "tests FAIL" in doc.verification.actual
    assert report.baseline_path is None


def test_verify_reads_and_writes_the_issue_only_through_the_store(repo: Path, issue: Path) -> None:
    """With the issue folder in memory, verify records its verdict there: the file on disk, the
    one the store was filled from, is never read again nor written."""
    store = MemoryIssueStore()
    folder = issue.parent
    for path in [issue, *folder.glob(".perf-identify/issues/*.json")]:
        store.files[path] = path.read_bytes()
    on_disk = issue.read_bytes()
    issue.unlink()  # a read that went around the store would now fail

    report, _, _ = _verify(repo, issue, 1.0, 0.8, store=store)

    doc = parse_issue(store.text(issue))
    assert doc.status is Status.VERIFIED
    assert report.before_commit is not None
    assert not issue.exists()
    assert store.layout(issue).verify_record(issue.stem) in store.files
    assert not store.held, "the issue's lock was released"
    assert on_disk != store.files[issue]
