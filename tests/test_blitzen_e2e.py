"""End to end on the real Blitzen VM: its offline build, its own `make analyze`/`make profile`.

`../shared/blitzen/build.sh BLITZEN_DIR` builds a working checkout (about 6 minutes from nothing
on a 2-core machine, a no-op on a built one; `.ci/run` builds it before the test suite so this
test reuses it). Then the installed `perf-identify` console script runs inside that checkout,
exactly as a user runs it, through Blitzen's real Makefile targets, and everything it writes is
checked independently of the product: the template, Line inside Function in the real source,
and the runtime against make analyze's own TIMING section.

BLITZEN_DIR is `$PERF_IDENTIFY_BLITZEN_DIR`, default `/tmp/blitzen`, so the build is cached
between runs on one machine. Two suites on one machine share it, so each test holds an
exclusive `flock` on `BLITZEN_DIR.test-lock` (beside the checkout) while it plants and removes
its leftovers and runs make there: the second suite waits instead of racing the first.
The checkout may hold a stale `profile.pb` or `perf-issues/` from an earlier run; the test
plants both when absent and requires that the run uses neither: the profile must be the one
make writes during the run, and issues go to the test's own `--out`.
Skipped loudly without `../shared/blitzen` (an error under CI); select with `-m blitzen`,
deselect with `-m "not blitzen"`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.blitzen import check_blitzen_issue_file

pytestmark = [pytest.mark.e2e, pytest.mark.blitzen]

# aoc2022_day12 runs in a fraction of a second: on this kernel pprof-rs keeps about one sample
# in four, so its profile may be too thin to write issues from (sample_counts.py), and the run
# must then say so and write nothing. aoc2018_day11 runs for seconds and always has enough.
BENCHMARKS = ["examples/aoc2022_day12.santa", "examples/aoc2018_day11.santa"]
BUILD_TIMEOUT_S = 1800  # cold: ~6 min on 2 cores; leave room for a slow mirror
RUN_TIMEOUT_S = 900  # make analyze + make profile of a sub-second benchmark, warm: ~10 s
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PART = re.compile(r"^Part \d+: .*?(?P<ms>\d+)ms\s*$")
_STALE_ISSUE = "STALE_ISSUE_FROM_AN_EARLIER_RUN.txt"


def blitzen_dir() -> Path:
    """Where the Blitzen checkout is built: `$PERF_IDENTIFY_BLITZEN_DIR` or `/tmp/blitzen`."""
    return Path(os.environ.get("PERF_IDENTIFY_BLITZEN_DIR", "/tmp/blitzen"))


@contextlib.contextmanager
def _checkout_to_ourselves(checkout: Path) -> Iterator[None]:
    """Hold the checkout's test lock (see the module docstring) for the `with` block."""
    lock_path = checkout.with_name(checkout.name + ".test-lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def timing_parts_ms(analyze_log: str) -> list[int]:
    """The `Part N: <answer> <duration>ms` figures in make analyze's `--- TIMING ---` section."""
    lines = [_ANSI.sub("", line).strip() for line in analyze_log.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("--- TIMING"))
    parts: list[int] = []
    for line in lines[start + 1 :]:
        if line.startswith("---") or line.startswith("====="):
            break
        match = _PART.match(line)
        if match:
            parts.append(int(match.group("ms")))
    return parts


@pytest.fixture(scope="module")
def built_blitzen(blitzen_source: Path) -> Path:
    """A built Blitzen checkout at `blitzen_dir()`, from `build.sh` (a no-op when already built)."""
    target = blitzen_dir()
    started = time.monotonic()
    build = subprocess.run(
        ["bash", str(blitzen_source / "build.sh"), str(target)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    took = time.monotonic() - started
    print(f"blitzen build.sh {target}: {took:.1f}s")
    assert build.returncode == 0, (
        f"build.sh {target} failed (exit {build.returncode}) after {took:.0f}s:\n"
        + "\n".join(build.stderr.splitlines()[-40:])
    )
    assert (target / "target" / "profiling" / "santa-cli").is_file()
    return target


def _check_runtime(summary: dict[str, Any], timed_ms: int, stderr: str) -> None:
    """A short benchmark's Runtime is the median of three runs around the timed one."""
    assert summary["runtime_source"] == "parts"
    if timed_ms <= 10_000:
        assert summary["runtime_runs"] == 3, stderr
        low, high = summary["runtime_spread_ms"]
        assert low <= timed_ms <= high
        assert low <= summary["runtime_ms"] <= high
    else:
        assert (summary["runtime_runs"], summary["runtime_ms"]) == (1, timed_ms)


def _check_thin(summary: dict[str, Any], out_dir: Path, stderr: str) -> None:
    """Too few samples for any issue: said, with each hotspot's count, and nothing written."""
    assert "error: profile too thin" in stderr, stderr
    assert not summary["issues"]
    assert not list(out_dir.glob("*.txt"))
    floor = summary["min_issue_samples"]
    assert all(h["samples"] < floor for h in summary["hotspots"])


@pytest.mark.timeout(BUILD_TIMEOUT_S + RUN_TIMEOUT_S + 60)
@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_identify_through_blitzens_own_make_targets(
    built_blitzen: Path, shared_fixtures: Path, tmp_path: Path, benchmark: str
) -> None:
    checkout = built_blitzen
    with _checkout_to_ourselves(checkout):
        _identify_in_checkout(checkout, shared_fixtures, tmp_path, benchmark)


def _identify_in_checkout(
    checkout: Path, shared_fixtures: Path, tmp_path: Path, benchmark: str
) -> None:
    # Leftovers of an earlier run: a profile of another benchmark, and an issues folder.
    stale_profile = checkout / "profile.pb"
    shutil.copyfile(shared_fixtures / "profiles" / "aoc2018_day05" / "profile.pb", stale_profile)
    os.utime(stale_profile, (1_000_000_000, 1_000_000_000))
    stale_issues = checkout / "perf-issues"
    planted = not stale_issues.exists()
    if planted:
        stale_issues.mkdir()
        (stale_issues / _STALE_ISSUE).write_text("left by an earlier run\n")
    before = {p.name: p.read_bytes() for p in stale_issues.iterdir() if p.is_file()}
    out_dir = tmp_path / "perf-issues"
    executable = Path(sys.executable).parent / "perf-identify"
    assert executable.is_file(), f"{executable}: the package is not installed in this venv"
    env = {**os.environ, "PATH": f"{executable.parent}{os.pathsep}{os.environ['PATH']}"}
    started = time.time()
    try:
        result = subprocess.run(
            [str(executable), benchmark, "--offline", "--out", str(out_dir), "--json"],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        after = {p.name: p.read_bytes() for p in stale_issues.iterdir() if p.is_file()}
    finally:
        if planted:
            shutil.rmtree(stale_issues)
    print(f"perf-identify {benchmark} in {checkout}: {time.time() - started:.1f}s")

    assert result.returncode in (0, 4), f"exit {result.returncode}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert after == before, "the run wrote into the checkout's perf-issues/ despite --out"
    summary = json.loads(result.stdout)
    assert summary["benchmark_file"] == benchmark
    assert summary["profile_kind"] == "per-function"  # pprof-rs, from Blitzen's `profile` feature

    # The profile is the one make wrote during this run, not the stale one.
    profile = Path(summary["profile"])
    assert profile.resolve() == stale_profile.resolve()
    assert profile.stat().st_mtime >= started - 1, "the stale profile.pb was analysed"

    # The Runtime is the median of make analyze's timed run (the sum of its Part durations) and
    # two more runs of the benchmark command: the timed run lies within their spread.
    assert summary["make"] is not None
    analyze_log = Path(summary["make"]["analyze_log"]).read_text(errors="replace")
    assert "--- PROFILE" in analyze_log, analyze_log[-2000:]
    parts = timing_parts_ms(analyze_log)
    assert len(parts) == 2, analyze_log[-2000:]
    _check_runtime(summary, sum(parts), result.stderr)

    issues = summary["issues"]
    if result.returncode == 4:
        _check_thin(summary, out_dir, result.stderr)
        return
    assert issues, result.stderr
    assert sorted(p.name for p in out_dir.glob("*.txt")) == sorted(
        Path(issue["path"]).name for issue in issues
    )
    for issue in issues:
        path = Path(issue["path"])
        assert path.parent == out_dir
        checked = check_blitzen_issue_file(path, checkout)
        assert checked.benchmark == benchmark
        assert checked.runtime_ms == summary["runtime_ms"]
        assert checked.share == f"{issue['share_percent']:.1f}"
        assert (checked.rank, checked.file, checked.line, checked.function) == (
            issue["rank"],
            issue["file"],
            issue["line"],
            issue["function"],
        ), path.name
