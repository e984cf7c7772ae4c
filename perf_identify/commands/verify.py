"""`perf-identify verify FILE`: tests, before/after release builds, alternating timings, verdict.

See `perf_identify.verification` for what is run and written, and `perf_identify.repo_config`
for the settings in the repo's `.perf-identify.toml`. Exit 0 whatever the verdict (VERIFIED,
MARGINAL and REGRESSION are all results); 9 when the file cannot be verified (illegal move,
broken file), 10 when the measurement could not be made (no baseline commit, a dirty
identification, a failing build or benchmark), 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from perf_identify.arguments import Parser, day
from perf_identify.errors import UsageError

if TYPE_CHECKING:
    from perf_identify.verification import VerifyReport


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify verify",
        description=(
            "Verify an IMPLEMENTED issue: run the repo's tests, build the commit recorded at "
            "identification (in a temporary git worktree) and the working tree, time the "
            "benchmark on both in alternating runs, and write the VERIFICATION section and the "
            "verdict: VERIFIED (faster by more than 5%), MARGINAL (within 5%) or REGRESSION "
            "(slower by more than 5%, or failing tests). Settings: .perf-identify.toml."
        ),
        epilog="exit codes: 0 a verdict was recorded (any verdict), 2 bad arguments or config, "
        "7 the issue folder is locked, 9 the issue file cannot be verified, 10 the measurement "
        "could not be made; on any error the issue file is left as it was",
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="perf-issues/NAME.txt")
    parser.add_argument("--repo", type=Path, default=Path("."), help="the VM checkout (default: .)")
    parser.add_argument(
        "--before",
        metavar="REF",
        help="the baseline commit to compare with (default: the one recorded at identification)",
    )
    parser.add_argument("--date", type=day, help="the date to write (default: today)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    return parser


def _summary(report: VerifyReport) -> dict[str, Any]:
    ver = report.document.verification
    assert ver is not None  # verify always writes the section
    return {
        "file": str(report.issue_path),
        "status": report.document.status.value,
        "verdict": ver.verdict.value,
        "tests_passed": ver.tests_passed,
        "tests_command": " ".join(report.tests.argv),
        "tests_log": str(report.tests.log_path),
        "before_commit": report.before_commit,
        "before_ms": ver.before_ms,
        "after_ms": ver.after_ms,
        "change_percent": ver.change_percent,
        "meets_expected": ver.meets_expected,
        "expected": ver.expected,
        "actual": ver.actual,
        "timer": report.timer,
        "measure": report.after.measure,
        "runs": len(report.after.times_s),
        "record": str(report.record_path),
        "baseline_written": None if report.baseline_path is None else str(report.baseline_path),
    }


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from perf_identify.progress import ConsoleProgress
    from perf_identify.repo_config import load_config
    from perf_identify.verification import VerifyRequest, VerifyShell, verify

    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo} is not a directory")
    issue_path = args.file.resolve()
    request = VerifyRequest(
        repo=repo,
        issue_path=issue_path,
        today=args.date or date.today(),
        config=load_config(repo),
        before_ref=args.before,
    )
    progress = ConsoleProgress(stderr, quiet=args.quiet or args.json, verbose=False)
    try:
        report = verify(request, VerifyShell(progress=progress))
    finally:
        progress.done()
    summary = _summary(report)
    if args.json:
        stdout.write(json.dumps(summary, indent=2) + "\n")
        return 0
    lines = [
        f"{args.file}: {summary['status']} (Verdict: {summary['verdict']})",
        f"  Tests: {'PASS' if summary['tests_passed'] else 'FAIL'} "
        f"(`{summary['tests_command']}`; log {summary['tests_log']})",
        f"  Before: {summary['before_ms']:.1f}ms  (baseline {report.before_commit[:12]})",
        f"  After: {summary['after_ms']:.1f}ms  (working tree)",
        f"  Change: {summary['change_percent']:+.1f}%  "
        f"({summary['runs']} alternating runs each, {summary['timer']}, "
        f"{summary['measure']} time)",
        f"  Meets Expected Impact: {'YES' if summary['meets_expected'] else 'NO'} "
        f"(expected {summary['expected']})",
    ]
    if report.baseline_path is not None:
        lines.append(f"  New baseline written to {report.baseline_path}")
    stdout.write("\n".join(lines) + "\n")
    return 0
