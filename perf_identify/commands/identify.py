"""`perf-identify FILE`: the default command, the whole /perf-identify job."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from perf_identify import __version__
from perf_identify.arguments import (
    Parser,
    add_repo_arguments,
    day,
    non_negative_int,
    percent,
    positive_int,
    seconds,
)
from perf_identify.errors import SourceError, UsageError
from perf_identify.model_config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MODEL,
    DEFAULT_TIMEOUT_S,
    NO_KEY_NOTICE,
    LlmSettings,
)
from perf_identify.ports import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    from perf_identify.drafting import Drafter
    from perf_identify.pipeline import IdentifyRequest

DESCRIPTION = """\
Profile one benchmark of a Rust bytecode VM and write one issue file per hotspot.

Runs `make analyze FILE=…` and `make profile FILE=…` in the repo (skipping the second when the
first already wrote a fresh profile), ranks the profile's hotspots by the share of samples whose
innermost frame lies in the VM's own source, reads each hot function's source, and writes
perf-issues/NAME.txt files in the format /perf-implement and /perf-verify read.
"""


def build_parser(epilog: str = "", usage: str | None = None) -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify",
        usage=usage,
        description=DESCRIPTION,
        epilog=epilog,
    )
    parser.add_argument(
        "file",
        metavar="FILE",
        help="the benchmark program, relative to --repo, e.g. examples/x.santa",
    )
    add_repo_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("perf-issues"),
        metavar="DIR",
        help="issue folder (default: perf-issues)",
    )
    parser.add_argument(
        "--top", type=positive_int, default=5, metavar="N", help="at most N issues (default 5)"
    )
    parser.add_argument(
        "--min-percent",
        type=percent,
        default=1.0,
        metavar="P",
        help="skip hotspots under P%% of runtime (default 1.0)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="analyse this existing profile.pb instead of running make (implies --skip-make)",
    )
    parser.add_argument(
        "--skip-make",
        action="store_true",
        help="run no make target; use --profile or the repo's profile.pb",
    )
    parser.add_argument(
        "--always-profile",
        action="store_true",
        help="run make profile even when make analyze already wrote a fresh profile",
    )
    parser.add_argument(
        "--runtime-ms",
        type=positive_int,
        metavar="MS",
        help="the Runtime to report, when make analyze's timing is not available",
    )
    parser.add_argument(
        "--runtime-runs",
        type=positive_int,
        default=3,
        metavar="N",
        help="timed runs behind the Runtime: make analyze's, then N-1 more of the benchmark "
        "command when it took at most 10 s (default 3; 1 = make analyze's run only)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        metavar="S",
        help="give up on a make target after S seconds (default: no limit)",
    )
    model = parser.add_argument_group(
        "drafting",
        "With ANTHROPIC_API_KEY set, Claude drafts the prose (ANTHROPIC_BASE_URL is honoured); "
        "without it, or with --offline, the deterministic offline drafter does.",
    )
    model.add_argument(
        "--offline", action="store_true", help="draft with the offline drafter, even with a key"
    )
    model.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="NAME",
        help=f"the model to draft with (default {DEFAULT_MODEL})",
    )
    model.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"hotspots drafted at once (default {DEFAULT_CONCURRENCY})",
    )
    model.add_argument(
        "--token-budget",
        type=positive_int,
        metavar="N",
        help="stop calling the model once N tokens are spent; the rest are drafted offline",
    )
    model.add_argument(
        "--model-timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"give up on one model request after S seconds (default {DEFAULT_TIMEOUT_S:g})",
    )
    model.add_argument(
        "--model-retries",
        type=non_negative_int,
        default=DEFAULT_MAX_RETRIES,
        metavar="N",
        help=f"retries of a rate-limited, overloaded or failed request (default "
        f"{DEFAULT_MAX_RETRIES})",
    )
    model.add_argument(
        "--no-cache",
        action="store_true",
        help="ask the model again instead of reusing drafts cached under OUT/.perf-identify/",
    )
    parser.add_argument(
        "--date",
        type=day,
        metavar="YYYY-MM-DD",
        help="the IDENTIFIED date to write (default: today)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    noise.add_argument(
        "--verbose", "-v", action="store_true", help="stream make's output to stderr"
    )
    parser.add_argument("--version", action="version", version=f"perf-identify {__version__}")
    return parser


def run(
    args: argparse.Namespace, stdout: TextIO, stderr: TextIO, *, clock: Clock = SYSTEM_CLOCK
) -> int:
    """`clock` gives the date written into new issues when --date is absent."""
    from perf_identify.benchmark_file import validate_file_argument
    from perf_identify.issues_dir import format_listing, list_directory
    from perf_identify.pipeline import IdentifyRequest, Shell, identify
    from perf_identify.progress import ConsoleProgress
    from perf_identify.report import print_report, report_json

    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo} is not a directory")
    out_dir = args.out if args.out.is_absolute() else repo / args.out
    profile = args.profile
    if profile is not None and not profile.is_absolute():
        profile = Path.cwd() / profile
    request = IdentifyRequest(
        repo=repo,
        file_arg=args.file,
        out_dir=out_dir,
        today=args.date or clock.today(),
        source_root=args.source_root.strip("/"),
        top=args.top,
        min_percent=args.min_percent,
        profile=profile,
        skip_make=args.skip_make or profile is not None,
        always_profile=args.always_profile,
        runtime_ms=args.runtime_ms,
        timeout_s=args.timeout,
        runtime_runs=args.runtime_runs,
    )
    # A missing or unsafe FILE is reported before any notice (e.g. "drafting offline") that
    # would otherwise come first and say nothing about it; the pipeline checks it again.
    validate_file_argument(repo, args.file)
    progress = ConsoleProgress(stderr, quiet=args.quiet or args.json, verbose=args.verbose)
    drafter = _drafter(args, request, progress.notice)
    try:
        report = identify(request, Shell(drafter=drafter, progress=progress))
    finally:
        progress.done()
    if args.json:
        stdout.write(json.dumps(report_json(report), indent=2) + "\n")
    else:
        listing = (
            format_listing(list_directory(out_dir)) if report.rows and out_dir.is_dir() else None
        )
        from rich.console import Console

        # A pipe gets a width that fits real symbol names instead of rich's 80 columns.
        width = None if stdout.isatty() else 150
        console = Console(file=stdout, highlight=False, soft_wrap=False, width=width)
        print_report(report, console, listing)
    if not report.rows and report.thin and not report.unresolved:
        from perf_identify.errors import ProfileError
        from perf_identify.sample_counts import MIN_ISSUE_SAMPLES, MORE_SAMPLES_HINT

        top = max(report.thin, key=lambda item: item.samples)
        raise ProfileError(
            f"profile too thin: its hottest hotspot has {top.samples} samples, fewer than "
            f"{MIN_ISSUE_SAMPLES}; no issue file written",
            hint=MORE_SAMPLES_HINT,
        )
    if not report.rows and report.unresolved:
        first = report.unresolved[0]
        raise SourceError(
            f"no issue file written: {first.reason}",
            hint=f"run in the VM checkout or pass --repo; files are looked up under "
            f"{request.source_root}/ by the longest suffix of the recorded path",
        )
    return 0


def _drafter(
    args: argparse.Namespace, request: IdentifyRequest, notice: Callable[[str], None]
) -> Drafter:
    """The model drafter when a key is set and --offline is not; the offline one otherwise."""
    from perf_identify.drafting import OfflineDrafter
    from perf_identify.issues_dir import StateLayout

    if args.offline:
        return OfflineDrafter()
    api_key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if not api_key:
        notice(NO_KEY_NOTICE)
        return OfflineDrafter()
    # The SDK is imported only here, so offline runs and --help never pay for it.
    from perf_identify.llm_drafter import LlmDrafter

    state = StateLayout(request.out_dir).state_dir
    settings = LlmSettings(
        api_key=api_key,
        model=args.model,
        concurrency=args.concurrency,
        token_budget=args.token_budget,
        timeout_s=args.model_timeout,
        max_retries=args.model_retries,
        cache_dir=None if args.no_cache else state / "cache",
        log_path=request.log_dir / "drafting.log",
    )
    return LlmDrafter(settings, repo=request.repo, notice=notice)
