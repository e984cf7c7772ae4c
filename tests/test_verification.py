"""Tests for `perf-identify verify` without cargo: the scripted VM of tests.lifecycle_repos
(real git worktrees, real build and test commands that take milliseconds) and, for exact
verdicts, a timer that reads the sleep each build of the program would make."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from perf_identify.errors import IssueFileError, VerifyError, WriteError
from perf_identify.issues_dir import IssueLock, OutputLock, replace_issue, write_file_atomically
from perf_identify.lifecycle import begin_verification
from perf_identify.render import Status, Verdict, parse_issue, render_issue
from perf_identify.repo_config import load_config
from perf_identify.runner import CommandRun, run_logged
from perf_identify.sidecar import issue_sidecar_path
from perf_identify.timing import RunTime
from perf_identify.timing_plan import StopReason
from perf_identify.verification import (
    VerifyReport,
    VerifyRequest,
    VerifyShell,
    baseline_target_dir,
    verify,
)
from tests.fake_ports import FakeClock
from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.lifecycle_repos import (
    CONFIG,
    ISSUE,
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
    # The delay timer takes no time, and neither does the clock: no budget ever runs out.
    return verify(request, VerifyShell(Quiet(), timer=DelayTimer(), clock=FakeClock(DAY)))


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
    # 3 pairs are too few for a 95% interval, so a second batch of 4 was timed.
    assert section == (
        "VERIFICATION\n" + "-" * 80 + "\n\n"
        "Date: 2026-11-22\n"
        "Tests: PASS\n\n"
        "Benchmark Results:\n"
        "  Before: 60.0ms\n"
        "  After: 6.0ms\n"
        "  Change: -90.0% (95% interval -90.0% to -90.0%, 7 alternating pairs, wall time: "
        "CPU/wall 0.02 at best: it waits, or found no free core)\n\n"
        "Meets Expected Impact: YES\n"
        "  Expected: a 72% to 86% cut in runtime (the issue's Expected Impact)\n"
        "  Actual: 90.0% faster (median of the pairs' changes); decided: the whole 95%\n"
        "    interval (-90.0% to -90.0%) lies beyond -5%, on the faster side. Medians\n"
        "    60.0ms -> 6.0ms (ranges 60.0-60.0ms and 6.0-6.0ms) in wall time (CPU/wall\n"
        "    0.02 at best: it waits, or found no free core). 7 alternating pairs (3, then\n"
        "    4 more) after 1 warm-up(s) of each, delay timer; stopped: decided: 7 pairs\n"
        "    in 0.0 s of timing.\n\n"
        "Verdict: CONFIRMED\n\n" + "-" * 80 + "\n"
    )  # fmt: skip
    commit = git(repo, "rev-parse", "HEAD")
    assert [(e.status, e.note) for e in doc.log[-2:]] == [
        (
            Status.VERIFYING,
            f"Verifying against {commit[:12]}: `sh -c 'test ! -e TESTS_FAIL || {{ echo test "
            "index_op ... FAILED; exit 101; }'`, release builds of both trees, 3 alternating "
            "pairs first (up to 12 in 120 s while undecided)",
        ),
        (
            Status.VERIFIED,
            "Performance improvement confirmed (90.0% faster, 95% interval -90.0% to -90.0%); "
            "new baseline in benchmark/results/baseline.json",
        ),
    ]
    assert report.before_commit == commit
    assert (report.sampling.batches, report.sampling.stop) == ((3, 4), StopReason.DECIDED)
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
                "times": [0.006] * 7,
                # Which run set it; hyperfine's readers ignore the key.
                "perf_identify": {
                    "issue": ISSUE,
                    "date": "2026-11-22",
                    "verdict": "CONFIRMED",
                    "before_commit": commit,
                    "after_commit": commit,
                    "after_tree_dirty": True,
                    "change_percent": -90.0,
                    "interval_percent": [-90.0, -90.0],
                    "confidence_percent": 95,
                    "pairs": 7,
                    "measure": "wall",
                },
            }
        ]
    }
    record = json.loads(report.record_path.read_text())
    assert record["verdict"] == "CONFIRMED"
    assert (record["pairs"], record["batches"], record["stop"]) == (7, [3, 4], "decided")
    assert len(record["pairs_s"]) == 7
    assert [r["command"] for r in record["results"]] == [
        f"{COMMAND} (baseline)",
        f"{COMMAND} (working tree)",
    ]
    assert worktrees(repo) == worktrees(repo)[:1]
    # The baseline's build is kept in the cache, not in the issue folder.
    assert report.baseline_target == baseline_target_dir(repo, os.environ)
    assert (report.baseline_target / "release/vm").is_file()
    assert not (repo / "perf-issues/.perf-identify/baseline-target").exists()


@pytest.mark.parametrize(
    ("delay", "status", "change", "note"),
    [
        (
            0.0603,
            Status.MARGINAL,
            "+0.5% (95% interval +0.5% to +0.5%",
            "Change of +0.5% (95% interval +0.5% to +0.5%) lies inside ±5%: no measurable "
            "improvement, and more runs would not make it one",
        ),
        (0.057, Status.MARGINAL, "-5.0% (95% interval -5.0% to -5.0%", "Change of -5.0% ("),
        (
            0.09,
            Status.REGRESSION,
            "+50.0% (95% interval +50.0% to +50.0%",
            "Performance regression (50.0% slower, 95% interval +50.0% to +50.0%)",
        ),
    ],
)
def test_no_gain_is_marginal_and_a_slowdown_a_regression(
    repo: Path, issue: Path, delay: float, status: Status, *, change: str, note: str
) -> None:
    set_delay(repo, delay)
    report = run_verify(repo, issue)
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.status is status
    assert f"  Change: {change}, 7 alternating pairs" in issue.read_text(encoding="utf-8")
    assert doc.log[-1].note.startswith(note)
    # The baseline moves only on a decided speed-up.
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
    # No more pairs than the first batch: the timing cannot change the verdict.
    assert (report.sampling.batches, report.sampling.stop) == ((3,), StopReason.TESTS_FAIL)
    assert "stopped: the tests fail, so the timing cannot change the verdict" in (
        doc.verification.actual
    )


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
    assert report.judgement.verdict is Verdict.CONFIRMED


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
    # A sleeping program: CPU time would not see the sleep, so wall time decides.
    assert re.fullmatch(
        r"  Change: -\d+\.\d%  \(95% interval -\d+\.\d% to -\d+\.\d%; \d+ alternating "
        r"pairs, builtin timer, wall time: CPU/wall 0\.\d\d at best: it waits, or found no "
        r"free core\)",
        lines[4],
    ), lines[4]
    assert lines[5].startswith("  decided: the whole 95% interval")
    assert lines[6].startswith("  stopped: decided: ")
    assert lines[-1] == f"  New baseline written to {repo / 'benchmark/results/baseline.json'}"
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.verification is not None
    # Real processes: the figure is noisy, the verdict is not (60ms vs 6ms of sleep).
    assert doc.verification.change_percent < -20


def test_verify_cli_json(repo: Path, issue: Path) -> None:
    set_delay(repo, 0.0601)
    code, out, err = _verify_cli(repo, issue, "--json", "--time-budget", "0")
    assert code == 0, err
    summary = json.loads(out)
    # A budget of 0 s: only the first batch, which is too few pairs to decide anything.
    assert summary["status"] == "MARGINAL"
    assert (summary["runs"], summary["batches"], summary["stopped"]) == (3, [3], "time budget")
    assert (summary["decided"], summary["more_runs_could_decide"]) == (False, True)
    assert summary["time_budget_s"] == 0.0
    assert summary["timer"] == "builtin timer"
    assert summary["measure"] == "wall"
    assert summary["tests_passed"] is True
    assert summary["before_commit"] == git(repo, "rev-parse", "HEAD")
    assert summary["baseline_written"] is None
    assert summary["baseline_build"] == str(baseline_target_dir(repo, os.environ))
    assert "stopped at the time budget (0 s)" in summary["actual"]
    assert (
        "raise it with --time-budget or time_budget in .perf-identify.toml" in (summary["actual"])
    )


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


# --------------------------------------------------------------------------------------------
# More pairs while undecided, the time budget, the measure


class PairTimer:
    """Plays back (before, after) pairs, one per round, whatever order the round runs them in;
    each round advances `clock` by `seconds`. After the script, the last pair repeats."""

    name = "pair timer"

    def __init__(self, pairs: Sequence[tuple[RunTime, RunTime]], seconds: float = 0.0) -> None:
        self.pairs = list(pairs)
        self.seconds = seconds
        self.now = 0.0
        self.rounds = 0

    def clock(self) -> float:
        return self.now

    def round(
        self, commands: Sequence[Sequence[str]], *, warmup: int, cwd: Path, timeout_s: float
    ) -> list[RunTime]:
        before, after = self.pairs[min(self.rounds, len(self.pairs) - 1)]
        self.rounds += 1
        self.now += self.seconds
        return [before if "before-bin" in command[0] else after for command in commands]


def _wall(*pairs: tuple[float, float]) -> list[tuple[RunTime, RunTime]]:
    """Pairs of a program that sleeps: CPU time ~0, so auto picks wall time."""
    return [(RunTime(b, 0.001, 0.0), RunTime(a, 0.001, 0.0)) for b, a in pairs]


def _verify_with(
    repo: Path, issue: Path, timer: PairTimer, **config: object
) -> tuple[VerifyReport, str]:
    settings = load_config(repo).model_copy(update=config)
    request = VerifyRequest(repo=repo, issue_path=issue, today=DAY, config=settings)
    report = verify(request, VerifyShell(Quiet(), timer=timer, clock=FakeClock(DAY, timer.clock)))
    return report, issue.read_text(encoding="utf-8")


def test_an_undecided_interval_takes_more_pairs_until_it_decides(repo: Path, issue: Path) -> None:
    # Ten noisy pairs straddle -5%; then the machine calms down and every pair reads -15%.
    noisy = [(1.0, 0.85), (1.0, 1.02), (1.0, 0.80), (1.0, 0.99), (1.0, 0.86)] * 2
    timer = PairTimer(_wall(*noisy, *[(1.0, 0.85)] * 40))
    report, text = _verify_with(repo, issue, timer, runs=10, max_runs=100)
    assert report.sampling.batches == (10, 6, 8)
    assert report.sampling.stop is StopReason.DECIDED
    assert report.document.status is Status.VERIFIED
    assert "24 alternating pairs (10, then 6 and 8 more)" in " ".join(text.split())
    assert "(95% interval -15.0% to -15.0%, 24 alternating pairs, wall time" in text
    assert timer.rounds == 24


def test_the_time_budget_stops_an_undecided_timing_as_marginal(repo: Path, issue: Path) -> None:
    # Pairs that keep straddling -5%, one second each, and a budget of 25 seconds.
    noisy = [(1.0, 0.85), (1.0, 1.02), (1.0, 0.80), (1.0, 0.99), (1.0, 0.86)] * 20
    timer = PairTimer(_wall(*noisy), seconds=1.0)
    report, text = _verify_with(repo, issue, timer, runs=10, max_runs=100, time_budget=25.0)
    # 24 pairs took 24 s: the last second of the budget buys one more pair.
    assert report.sampling.batches == (10, 6, 8, 1)
    assert report.sampling.stop is StopReason.TIME_BUDGET
    assert report.document.status is Status.MARGINAL
    flat = " ".join(text.split())
    assert "not decided: the 95% interval (-15.0% to -1.0%) straddles the band's edge at -5%: " \
        "more runs could decide" in flat  # fmt: skip
    assert "stopped at the time budget (25 s): 25 pairs in 25 s of timing (raise it with " \
        "--time-budget or time_budget in .perf-identify.toml)" in flat  # fmt: skip
    assert report.document.log[-1].note == (
        "Change of -14.0% not decided (95% interval -15.0% to -1.0%, 25 pairs): more runs could "
        "decide"
    )
    assert report.baseline_path is None
    assert not (repo / "benchmark/results/baseline.json").exists()


@pytest.mark.parametrize(
    ("measure", "status", "label"),
    [
        ("auto", Status.VERIFIED, "-20.0% to -20.0%, 12 alternating pairs, CPU time: "
         "single-threaded)"),
        # The same runs judged in wall time decide nothing.
        ("wall", Status.MARGINAL, "12 alternating pairs, wall time: set in .perf-identify.toml)"),
    ],
)  # fmt: skip
def test_a_single_threaded_benchmark_is_judged_in_cpu_time(
    repo: Path, issue: Path, measure: str, status: Status, label: str
) -> None:
    # Wall time is all over the place (a CPU hog beside it); CPU time says -20% every time.
    walls = [(1.00, 1.30), (1.40, 0.80), (1.05, 1.10), (1.30, 0.79), (1.00, 1.25), (1.35, 0.81)]
    pairs = [(RunTime(b, 0.95 * 1.00, 0.0), RunTime(a, 0.95 * 0.80, 0.0)) for (b, a) in walls * 2]
    report, text = _verify_with(repo, issue, PairTimer(pairs), runs=12, measure=measure)
    assert report.document.status is status
    assert label in text
    if measure == "auto":
        assert "in CPU time (user + system of the benchmark process; single-threaded)" in (
            " ".join(text.split())
        )


def test_a_no_op_beside_a_cpu_hog_is_marginal_inside_the_band(repo: Path, issue: Path) -> None:
    walls = [(1.00, 1.30), (1.40, 0.80), (1.05, 1.10), (1.30, 0.79), (1.00, 1.25)] * 2
    cpu = [1.01, 0.99, 1.0, 1.02, 0.98, 1.0, 1.01, 0.99, 1.0, 1.0]
    pairs = [
        (RunTime(b, 0.95, 0.0), RunTime(a, 0.95 * f, 0.0))
        for (b, a), f in zip(walls, cpu, strict=True)
    ]
    report, text = _verify_with(repo, issue, PairTimer(pairs), runs=10)
    assert report.document.status is Status.MARGINAL
    assert report.sampling.stop is StopReason.INSIDE
    assert report.sampling.batches == (10,)
    assert "not decided: the whole 95% interval (-1.0% to +1.0%) lies inside ±5%: more runs " \
        "would not make this a speed-up" in " ".join(text.split())  # fmt: skip


# --------------------------------------------------------------------------------------------
# The timed command, the baseline build's folder


SANTA_CONFIG = CONFIG.replace("release/vm -p", "release/santa-cli -p").replace(
    "$d/vm && chmod +x $d/vm", "$d/santa-cli && chmod +x $d/santa-cli"
)


def test_santa_clis_profiling_flag_is_noticed_not_rewritten(tmp_path: Path) -> None:
    repo = scripted_vm(tmp_path, delay=0.06, config=SANTA_CONFIG)
    issue = identify(repo)
    implement(issue)
    set_delay(repo, 0.006)
    report = run_verify(repo, issue)
    assert report.document.status is Status.VERIFIED
    assert report.before.command == f"./target/release/santa-cli -p {BENCHMARK}"
    assert report.notices == (
        f"`benchmark` (.perf-identify.toml or its default) runs `./target/release/santa-cli -p "
        f"{BENCHMARK}`: `-p` is santa-cli's profiling flag (pprof in a profiling build), not "
        f"part of the benchmark that `make analyze` times (`./target/release/santa-cli "
        f"{BENCHMARK}`); remove it from `benchmark` in .perf-identify.toml; timing it as "
        "configured",
    )


def test_a_recorded_command_with_the_profiling_flag_is_noticed(tmp_path: Path) -> None:
    repo = scripted_vm(tmp_path, delay=0.06, config=SANTA_CONFIG)
    issue = identify(repo)
    implement(issue)
    # The user fixed the config after identification: the recorded command still has -p.
    fixed = SANTA_CONFIG.replace("santa-cli -p {file}", "santa-cli {file}")
    (repo / ".perf-identify.toml").write_text(fixed, encoding="utf-8")
    set_delay(repo, 0.006)
    code, out, err = _verify_cli(repo, issue, "--json")
    assert code == 0, err
    notices = json.loads(out)["notices"]
    assert len(notices) == 1
    assert notices[0].startswith(
        f"the command recorded at identification runs `./target/release/santa-cli -p "
        f"{BENCHMARK}`: `-p` is santa-cli's profiling flag"
    )
    assert notices[0].endswith(
        f"identification recorded the benchmark as `./target/release/santa-cli -p {BENCHMARK}`; "
        f"verify times `./target/release/santa-cli {BENCHMARK}`, the `benchmark` of "
        ".perf-identify.toml (or its default)"
    )


def test_the_baseline_build_folder_is_in_the_users_cache(tmp_path: Path) -> None:
    repo = tmp_path / "checkout" / "tinsel"
    home = {"HOME": "/home/dev"}
    folder = baseline_target_dir(repo, home)
    assert folder.parent == Path("/home/dev/.cache/perf-identify/baseline-target")
    assert re.fullmatch(r"tinsel-[0-9a-f]{12}", folder.name)
    assert baseline_target_dir(repo, {**home, "XDG_CACHE_HOME": "/var/cache/dev"}) == (
        Path("/var/cache/dev/perf-identify/baseline-target") / folder.name
    )
    # A relative XDG_CACHE_HOME is ignored, as the XDG specification says.
    assert baseline_target_dir(repo, {**home, "XDG_CACHE_HOME": "cache"}) == folder
    # Two checkouts of one VM never share a folder.
    assert baseline_target_dir(tmp_path / "other" / "tinsel", home) != folder


def test_an_old_baseline_build_in_the_issue_folder_is_pointed_out(repo: Path, issue: Path) -> None:
    old = repo / "perf-issues/.perf-identify/baseline-target"
    (old / "release").mkdir(parents=True)
    set_delay(repo, 0.006)
    report = run_verify(repo, issue)
    assert report.notices == (
        f"{old} is no longer used (the baseline build is now kept in {report.baseline_target}): "
        "delete it to free its space",
    )
    assert (old / "release").is_dir()  # not ours to delete


# --------------------------------------------------------------------------------------------
# Locks: a verify locks its issue, not the folder


class PausedTimer(DelayTimer):
    """A delay timer whose first round waits until the test lets it go."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.go = threading.Event()

    def round(
        self, commands: Sequence[Sequence[str]], *, warmup: int, cwd: Path, timeout_s: float
    ) -> list[RunTime]:
        self.started.set()
        assert self.go.wait(timeout=60)
        return super().round(commands, warmup=warmup, cwd=cwd, timeout_s=timeout_s)


def test_other_issues_can_move_while_a_verify_runs(repo: Path, issue: Path) -> None:
    other = issue.with_name("OTHER_HOTSPOT_IN_RUN.txt")
    other.write_bytes(
        render_issue(
            dataclasses.replace(
                parse_issue(issue.read_text(encoding="utf-8")),
                status=Status.IDENTIFIED,
                log=parse_issue(issue.read_text(encoding="utf-8")).log[:1],
                implementation=None,
            )
        ).encode()
    )
    timer = PausedTimer()
    set_delay(repo, 0.006)
    request = VerifyRequest(repo=repo, issue_path=issue, today=DAY, config=load_config(repo))
    reports: list[VerifyReport] = []
    worker = threading.Thread(
        target=lambda: reports.append(verify(request, VerifyShell(Quiet(), timer=timer)))
    )
    worker.start()
    try:
        assert timer.started.wait(timeout=60)
        # The verify is timing (its issue locked, VERIFYING on disk): another issue moves on.
        assert parse_issue(issue.read_text(encoding="utf-8")).status is Status.VERIFYING
        code, out, err = run_cli("status", str(other), "IN_PROGRESS", "--note", "meanwhile")
        assert (code, err) == (0, "")
        assert out == f"{other}: IDENTIFIED -> IN_PROGRESS\n"
        # The issue being verified does not.
        before = issue.read_bytes()
        code, _, err = run_cli("status", str(issue), "IN_PROGRESS", "--note", "too soon")
        assert code == 7
        one_error(err, f"is working on {issue} (a verify holds it for its whole run)")
        assert issue.read_bytes() == before
        code, _, err = _verify_cli(repo, issue)
        assert code == 7
        one_error(err, f"is working on {issue}")
    finally:
        timer.go.set()
        worker.join(timeout=60)
    assert reports[0].document.status is Status.VERIFIED


def test_a_verify_waits_for_no_one_but_its_own_issue(repo: Path, issue: Path) -> None:
    # The folder's lock (an identification writing) does not stop a verify.
    set_delay(repo, 0.006)
    with OutputLock(issue.parent):
        assert run_verify(repo, issue).document.status is Status.VERIFIED
    with IssueLock(issue), pytest.raises(WriteError, match="is working on"):
        run_verify(repo, issue)
