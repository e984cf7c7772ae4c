"""The whole lifecycle on the bundled example VM with real cargo, real git worktrees and real
timing: identify -> status -> implemented -> verify, for a real fix (VERIFIED), a no-op change
timed while a CPU hog runs beside it (MARGINAL), a slower change (REGRESSION) and a faster
change that breaks a test (REGRESSION, Tests: FAIL).

The verdicts come from the change's 95 % interval over alternating pairs, in the measure verify
chooses (`measure = "auto"`: tinsel-cli is single-threaded, so CPU time), so they hold on a busy
2-core machine: the no-op test makes it busy on purpose, with a busy-loop process on one core
for as long as the verify runs (and never longer than `HOG_LIMIT_S`).

Time is kept down: the issue is identified from a per-address profile shaped like the
recorder's (no make, no perf); the benchmark is a small input (~0.1 s a run); each scenario
times 10 alternating pairs after 1 warm-up (the example's own .perf-identify.toml, under test
here), more only while undecided; and the scenarios share one committed copy of the VM, so its
`target/` and the baseline's build folder (in the session's XDG_CACHE_HOME, see conftest) are
reused (cargo finds units by package, not path: every build of one checkout may share a folder,
two checkouts must not). Each scenario starts from the same IDENTIFIED file and sidecar bytes
and a clean tree. These tests do not skip under CI: without cargo they fail and say why. With
`pytest -s` each prints its VERIFICATION section.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perf_identify.render import Status, parse_issue
from perf_identify.sidecar import issue_sidecar_path
from tests.builders import STD_ROOT, ProfileBuilder
from tests.conftest import REPO_ROOT
from tests.lifecycle_repos import git, init_and_commit, run_cli

pytestmark = pytest.mark.e2e

EXAMPLE = REPO_ROOT / "examples" / "tinsel"
BENCHMARK = "examples/string_index_small.tinsel"
RUNTIME = "lang/src/vm/runtime.rs"
SLOW_LINE = "                let chars: Vec<char> = s.chars().collect();\n"
SLOW_USE = "                match position(i).and_then(|i| chars.get(i)) {\n"


def _require_cargo() -> None:
    if shutil.which("cargo") is None:
        message = "cargo is not installed; the example VM cannot be built"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _profile(repo: Path) -> bytes:
    """Per-address samples at index_op's collect line, as `perf-identify record` writes them."""
    lines = (repo / RUNTIME).read_text().splitlines()
    collect = next(n for n, text in enumerate(lines, 1) if "s.chars().collect()" in text)
    root = "/build/tinsel"
    index_op = ("lang::vm::runtime::VM::index_op", f"{root}/{RUNTIME}", collect)
    run = ("lang::vm::runtime::VM::run", f"{root}/{RUNTIME}", 140)
    main = ("tinsel_cli::main", f"{root}/runtime/cli/src/main.rs", 30)
    chars = (
        "<core::str::iter::Chars as core::iter::traits::iterator::Iterator>::next",
        f"{STD_ROOT}/core/src/str/iter.rs",
        44,
    )
    builder = ProfileBuilder(per_function=False, duration_nanos=400_000_000)
    builder.sample([chars, index_op, run, main], 90)
    builder.sample([run, main], 10)
    return builder.build()


@pytest.fixture(scope="module")
def tinsel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes, bytes]:
    """The committed VM copy, its IDENTIFIED issue file, and that file's and sidecar's bytes."""
    _require_cargo()
    repo = tmp_path_factory.mktemp("lifecycle") / "tinsel"
    shutil.copytree(
        EXAMPLE,
        repo,
        ignore=shutil.ignore_patterns("target", "perf-issues", "*.pb", "*.svg", "perf.data*"),
    )
    small = (repo / "examples/string_index.tinsel").read_text().replace("7000", "2000")
    (repo / BENCHMARK).write_text(small)
    # The example's own .perf-identify.toml (tinsel-cli, no -p, 10 pairs after 1 warm-up, the
    # default measure "auto") is under test.
    config = (repo / ".perf-identify.toml").read_text()
    assert 'benchmark = "./target/release/tinsel-cli {file}"' in config
    assert "\nmeasure" not in config
    (repo / "benchmark/results").mkdir(parents=True)
    (repo / "benchmark/results/.keep").write_text("")
    init_and_commit(repo)
    (repo / "profile.pb").write_bytes(_profile(repo))
    code, _, err = run_cli(
        BENCHMARK, "--repo", str(repo), "--profile", str(repo / "profile.pb"), "--top", "1",
        "--offline", "--quiet", "--date", "2026-11-20",
    )  # fmt: skip
    assert code == 0, err
    issues = list((repo / "perf-issues").glob("*.txt"))
    assert len(issues) == 1, issues
    issue = issues[0]
    return repo, issue, issue.read_bytes(), issue_sidecar_path(issue).read_bytes()


@pytest.fixture
def fresh(
    tinsel: tuple[Path, Path, bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """The copy with a clean tree and the issue just IDENTIFIED (each scenario starts here)."""
    repo, issue, text, sidecar = tinsel
    # A CARGO_TARGET_DIR shared with another checkout of the VM would make cargo reuse its build.
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    git(repo, "checkout", "--quiet", "--", ".")
    (repo / "benchmark/results/baseline.json").unlink(missing_ok=True)
    issue.write_bytes(text)
    issue_sidecar_path(issue).write_bytes(sidecar)
    return repo, issue


def _edit_runtime(repo: Path, old: str, new: str) -> None:
    path = repo / RUNTIME
    source = path.read_text()
    assert source.count(old) == 1, old
    path.write_text(source.replace(old, new))


def _implement_and_verify(repo: Path, issue: Path, what: str) -> str:
    steps = [
        ["status", str(issue), "IN_PROGRESS", "--note", f"Try: {what}", "--date", "2026-11-21"],
        [
            "implemented", str(issue), "--file-modified", f"{RUNTIME}:{what}",
            "--changes", f"In VM::index_op: {what}.",
            "--tests", "No new test: the string indexing tests cover index_op.",
            "--date", "2026-11-21",
        ],
        ["verify", str(issue), "--repo", str(repo), "--quiet", "--date", "2026-11-22"],
    ]  # fmt: skip
    out = ""
    for argv in steps:
        code, out, err = run_cli(*argv)
        assert code == 0, (argv, err)
    return out


def _section(text: str) -> str:
    return text[text.index("VERIFICATION\n") - 81 : text.index("PROGRESS LOG\n") - 81]


HOG_LIMIT_S = 300
HOG = f"""
import time
end = time.monotonic() + {HOG_LIMIT_S}
while time.monotonic() < end:
    pass
"""


@pytest.fixture
def cpu_hog() -> Iterator[subprocess.Popen[bytes]]:
    """A busy loop on one core, for the test's duration (and never more than HOG_LIMIT_S)."""
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        yield hog
    finally:
        hog.kill()
        hog.wait(timeout=10)


def test_a_real_fix_is_verified(fresh: tuple[Path, Path]) -> None:
    repo, issue = fresh
    _edit_runtime(
        repo,
        SLOW_LINE + SLOW_USE,
        "                match position(i).and_then(|i| s.chars().nth(i)) {\n",
    )
    out = _implement_and_verify(repo, issue, "walk to the i-th char with nth, no Vec<char>")
    text = issue.read_text(encoding="utf-8")
    doc = parse_issue(text)
    assert doc.status is Status.VERIFIED, text
    ver = doc.verification
    assert ver is not None
    assert ver.tests_passed
    assert ver.interval is not None
    # The whole interval, not only the median, is far beyond the band.
    assert ver.interval.high_percent < -50, text
    assert ver.interval.measure == "CPU time: single-threaded", text
    assert ver.meets_expected
    assert [entry.status for entry in doc.log] == [
        Status.IDENTIFIED,
        Status.IN_PROGRESS,
        Status.IMPLEMENTED,
        Status.VERIFYING,
        Status.VERIFIED,
    ]
    assert "New baseline written to" in out
    baseline = json.loads((repo / "benchmark/results/baseline.json").read_text())
    (entry,) = baseline["results"]
    assert entry["command"] == f"./target/release/tinsel-cli {BENCHMARK}"
    assert (entry["perf_identify"]["issue"], entry["perf_identify"]["verdict"]) == (
        issue.stem,
        "CONFIRMED",
    )
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert not (issue.parent / ".perf-identify/baseline-target").exists()
    print(_section(text))


def test_a_no_op_change_is_marginal_beside_a_cpu_hog(
    fresh: tuple[Path, Path], cpu_hog: subprocess.Popen[bytes]
) -> None:
    repo, issue = fresh
    _edit_runtime(repo, SLOW_LINE, SLOW_LINE.replace(";\n", "; // same code, new comment\n"))
    _implement_and_verify(repo, issue, "a comment only")
    assert cpu_hog.poll() is None, "the CPU hog stopped before the verify finished"
    text = issue.read_text(encoding="utf-8")
    doc = parse_issue(text)
    assert doc.status is Status.MARGINAL, text
    assert doc.verification is not None
    assert doc.verification.interval is not None
    assert doc.verification.interval.pairs >= 10
    assert not (repo / "benchmark/results/baseline.json").exists()
    print(_section(text))


def test_a_slower_change_is_a_regression(fresh: tuple[Path, Path]) -> None:
    repo, issue = fresh
    slower = (
        SLOW_LINE
        + "                for _ in 0..2 {\n"
        + "                    std::hint::black_box(s.chars().collect::<Vec<char>>());\n"
        + "                }\n"
    )
    _edit_runtime(repo, SLOW_LINE, slower)
    _implement_and_verify(repo, issue, "decode the string three times")
    text = issue.read_text(encoding="utf-8")
    doc = parse_issue(text)
    assert doc.status is Status.REGRESSION, text
    assert doc.verification is not None
    assert doc.verification.tests_passed
    assert doc.verification.interval is not None
    assert doc.verification.interval.low_percent > 5, text
    assert not (repo / "benchmark/results/baseline.json").exists()
    print(_section(text))


def test_a_fast_change_that_breaks_a_test_is_a_regression(fresh: tuple[Path, Path]) -> None:
    repo, issue = fresh
    # O(1) but by byte: wrong for "héllo"[1], which a unit test checks.
    _edit_runtime(
        repo,
        SLOW_LINE + SLOW_USE,
        "                match position(i).and_then(|i| s.as_bytes().get(i).map(|b| *b as char))"
        " {\n",
    )
    _implement_and_verify(repo, issue, "index by byte")
    text = issue.read_text(encoding="utf-8")
    doc = parse_issue(text)
    assert doc.status is Status.REGRESSION, text
    assert "Tests: FAIL\n" in text
    assert doc.verification is not None
    assert doc.verification.verdict.value == "REGRESSION"
    assert not doc.verification.meets_expected
    assert not (repo / "benchmark/results/baseline.json").exists()
