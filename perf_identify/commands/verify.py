"""`perf-identify verify FILE`: tests, before/after release builds, alternating timings, verdict.

See `perf_identify.verification` for what is run and written, and `perf_identify.repo_config`
for the settings in the repo's `.perf-identify.toml` (`--time-budget` overrides its
`time_budget`). Exit 0 whatever the verdict (VERIFIED, MARGINAL and REGRESSION are all results);
7 when another command is working on the same issue; 9 when the file cannot be verified
(illegal move, broken file), 10 when the measurement could not be made (no baseline commit, a
dirty identification, a failing build or benchmark), 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from perf_identify.arguments import Parser, day, epilog
from perf_identify.errors import UsageError
from perf_identify.ports import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from perf_identify.verification import VerifyReport


def _budget(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


EXAMPLES = [
    (
        "perf-identify verify perf-issues/NAME.txt",
        "tests, timings and the verdict against the commit recorded at identification",
    ),
    (
        "perf-identify verify perf-issues/NAME.txt --before main --time-budget 0",
        "compare with main; time only the first `runs` pairs",
    ),
]
EXIT_CODES = (
    "0 a verdict was recorded (any verdict), 2 bad arguments or config, 7 another "
    "command is working on this issue, 9 the issue file cannot be verified, 10 the "
    "measurement could not be made; on any error the issue file is left as it was"
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify verify",
        description=(
            "Verify an IMPLEMENTED issue: run the repo's tests, build the commit recorded at "
            "identification (in a temporary git worktree; its build folder is kept in "
            "${XDG_CACHE_HOME:-~/.cache}/perf-identify/baseline-target/) and the working tree, "
            "time the benchmark on both in alternating pairs, and write the VERIFICATION section "
            "with the change, its 95% confidence interval and the verdict: VERIFIED when the "
            "whole interval is faster than -5%, REGRESSION when it is slower than +5% (or the "
            "tests fail), MARGINAL otherwise, saying whether more runs could decide. While more "
            "runs could decide, batches of pairs are added after the first `runs` (10), up to "
            "`max_runs` (100) pairs or the time budget (120 s of timing). The verdict uses the "
            "benchmark's CPU time when it is single-threaded, wall time otherwise, and says "
            "which. Settings: .perf-identify.toml."
        ),
        epilog=epilog(EXAMPLES, EXIT_CODES),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="perf-issues/NAME.txt")
    parser.add_argument(
        "--repo", type=Path, default=Path("."), metavar="DIR", help="the VM checkout (default: .)"
    )
    parser.add_argument(
        "--before",
        metavar="REF",
        help="the baseline commit to compare with (default: the one recorded at identification)",
    )
    parser.add_argument(
        "--time-budget",
        type=_budget,
        metavar="S",
        help="S seconds of timing after which no more pairs are added while the verdict is "
        "undecided (default: time_budget in .perf-identify.toml, else 120; 0: only the "
        "first `runs` pairs)",
    )
    parser.add_argument(
        "--date", type=day, metavar="YYYY-MM-DD", help="the date to write (default: today)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    return parser


def _summary(report: VerifyReport) -> dict[str, Any]:
    ver = report.document.verification
    assert ver is not None  # verify always writes the section
    sampling = report.sampling
    interval = sampling.interval
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
        "interval_percent": [interval.low_percent, interval.high_percent],
        "confidence_percent": interval.confidence_percent,
        "decided": sampling.outcome.decided,
        "more_runs_could_decide": sampling.outcome.more_pairs_could_decide,
        "meets_expected": ver.meets_expected,
        "expected": ver.expected,
        "actual": ver.actual,
        "timer": report.timer,
        "measure": sampling.choice.measure,
        "measure_reason": sampling.choice.reason,
        "runs": len(sampling.pairs),
        "batches": list(sampling.batches),
        "stopped": sampling.stop.value,
        "timing_s": round(sampling.elapsed_s, 3),
        "time_budget_s": sampling.policy.time_budget_s,
        "record": str(report.record_path),
        "baseline_written": None if report.baseline_path is None else str(report.baseline_path),
        "baseline_build": str(report.baseline_target),
        "notices": list(report.notices),
    }


def run(
    args: argparse.Namespace, stdout: TextIO, stderr: TextIO, *, clock: Clock = SYSTEM_CLOCK
) -> int:
    """`clock` gives the date when --date is absent and the timing's time budget."""
    from perf_identify.change_interval import explain
    from perf_identify.progress import ConsoleProgress
    from perf_identify.repo_config import load_config
    from perf_identify.timing_plan import stop_text
    from perf_identify.verification import VerifyRequest, VerifyShell, verify

    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo} is not a directory")
    from perf_identify.issue_update import require_issue_file

    require_issue_file(args.file)  # an issue file, before verify creates any lock or log
    issue_path = args.file.resolve()
    config = load_config(repo)
    if args.time_budget is not None:
        config = config.model_copy(update={"time_budget": args.time_budget})
    request = VerifyRequest(
        repo=repo,
        issue_path=issue_path,
        today=args.date or clock.today(),
        config=config,
        before_ref=args.before,
    )
    progress = ConsoleProgress(stderr, quiet=args.quiet or args.json, verbose=False)
    try:
        report = verify(request, VerifyShell(progress=progress, clock=clock))
    finally:
        progress.done()
    summary = _summary(report)
    if args.json:
        stdout.write(json.dumps(summary, indent=2) + "\n")
        return 0
    sampling = report.sampling
    interval = sampling.interval
    lines = [
        f"{args.file}: {summary['status']} (Verdict: {summary['verdict']})",
        f"  Tests: {'PASS' if summary['tests_passed'] else 'FAIL'} "
        f"(`{summary['tests_command']}`; log {summary['tests_log']})",
        f"  Before: {summary['before_ms']:.1f}ms  (baseline {report.before_commit[:12]})",
        f"  After: {summary['after_ms']:.1f}ms  (working tree)",
        f"  Change: {summary['change_percent']:+.1f}%  ({interval.confidence_percent}% "
        f"interval {interval.range_text()}; {summary['runs']} alternating pairs, "
        f"{summary['timer']}, {sampling.choice.label})",
        f"  {explain(interval, sampling.outcome, config.threshold_percent)}",
        "  "
        + stop_text(
            sampling.stop, sampling.policy, pairs=len(sampling.pairs), elapsed_s=sampling.elapsed_s
        ),
        f"  Meets Expected Impact: {'YES' if summary['meets_expected'] else 'NO'} "
        f"(expected {summary['expected']})",
    ]
    if report.baseline_path is not None:
        lines.append(f"  New baseline written to {report.baseline_path}")
    stdout.write("\n".join(lines) + "\n")
    return 0
