"""Measurements we sign: no issue from too few samples, and no single noisy run as the Runtime.

The pipeline runs here with in-memory collaborators for make and the benchmark (the `Shell`
ports), so these tests need no make, cargo or VM build.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from perf_identify.cli import main
from perf_identify.drafting import OfflineDrafter
from perf_identify.errors import MakeError
from perf_identify.hotspots import PathMapper, rank_profile
from perf_identify.make_targets import (
    MakeOutcome,
    ProfileArtifacts,
    TargetRun,
)
from perf_identify.pipeline import IdentifyRequest, Shell, identify
from perf_identify.pprof import decode_profile
from perf_identify.runtime_figure import RuntimeFigure, parse_part_lines, repeated_runtime
from perf_identify.sample_counts import (
    MIN_ISSUE_SAMPLES,
    samples_in,
    share_interval,
    thin_hotspots,
)
from tests.builders import ProfileBuilder
from tests.fake_ports import RecordingProgress
from tests.fake_vm import BENCHMARK, CALLERS, GRAPHEMES, VM, make_fake_vm

# The thin profile of the report: 44 samples, `VM::pop` "43.2 %" from 19 of them.
THIN_STACKS: list[tuple[list[str], int]] = [
    (["core::ptr::read", "alloc::vec::Vec<T,A>::pop", f"{VM}::pop", *CALLERS], 19),
    ([*GRAPHEMES, *CALLERS], 15),
    (CALLERS, 10),
]


def _profile(stacks: list[tuple[list[str], int]]) -> bytes:
    builder = ProfileBuilder(duration_nanos=200_000_000)
    for stack, count in stacks:
        builder.sample(stack, count)
    return builder.build()


def test_samples_are_values_over_the_period_and_intervals_widen_as_they_shrink() -> None:
    ranking = rank_profile(
        decode_profile(_profile(THIN_STACKS), "thin.pb"), PathMapper("lang/src/vm", lambda _: False)
    )
    assert samples_in(ranking.total, ranking) == 44
    pop = next(h for h in ranking.hotspots if h.symbol.endswith("::pop"))
    assert samples_in(pop.value, ranking) == 19
    kept, thin = thin_hotspots(ranking.hotspots, ranking)
    assert kept == ()
    assert [item.samples for item in thin] == [19, 15, 10]
    narrow = share_interval(1900, 4400)
    wide = share_interval(19, 44)
    assert narrow is not None
    assert wide is not None
    assert wide[0] < narrow[0] < 43.2 < narrow[1] < wide[1]
    assert wide[0] >= 0.0
    assert wide[1] <= 100.0
    assert MIN_ISSUE_SAMPLES == 25


def test_a_thin_profile_writes_no_issue_and_says_how_to_get_more(tmp_path: Path) -> None:
    repo = make_fake_vm(tmp_path, profile=_profile(THIN_STACKS))
    out, err = io.StringIO(), io.StringIO()
    args = [BENCHMARK, "--repo", str(repo), "--profile", str(repo / "recorded-profile.pb")]
    code = main([*args, "--offline", "--json"], out, err)
    assert code == 4
    errors = [line for line in err.getvalue().splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: profile too thin: its hottest hotspot has 19 samples, fewer than 25; "
        "no issue file written"
    ]
    assert "hint: More samples: profile a longer run" in err.getvalue()
    summary = json.loads(out.getvalue())
    assert summary["issues"] == []
    assert [h["samples"] for h in summary["hotspots"]] == [19, 15, 10]
    assert [t["samples"] for t in summary["too_few_samples"]] == [19, 15, 10]
    assert not list((repo / "perf-issues").glob("*.txt"))
    # The table says it too, hotspot by hotspot.
    table = io.StringIO()
    assert main([*args, "--offline"], table, io.StringIO()) == 4
    assert "none: 19 samples" in table.getvalue()
    assert "could be anything from" in table.getvalue()


def test_part_lines_and_the_median_of_repeated_runs() -> None:
    printed = "\x1b[32mPart 1:\x1b[0m 10132 \x1b[90m254ms\x1b[0m\nPart 2: 4572 186ms\n"
    assert parse_part_lines(printed) == (254, 186)
    assert parse_part_lines("Part 1: 10132\nPart 2: 4572 186ms\n") is None
    assert parse_part_lines("no timing here") is None
    first = RuntimeFigure(440, "parts", (254, 186))
    figure = repeated_runtime(first, [(300, 200), (250, 180)])
    assert (figure.milliseconds, figure.runs, figure.spread) == (440, 3, (430, 500))
    assert repeated_runtime(first, []) is first
    assert repeated_runtime(RuntimeFigure(440, "wall"), [(1, 2)]).runs == 1


def _fake_make(timed_ms: tuple[int, ...]) -> Any:
    def run_make(repo: Path, file_arg: str, log_dir: Path, **_: Any) -> MakeOutcome:
        run = TargetRun(
            "analyze", ("make", "analyze"), 0, "", log_dir / "analyze.log", 0.0, 1.0, ()
        )
        return MakeOutcome(
            analyze=run,
            profile=None,
            artifacts=ProfileArtifacts(repo / "recorded-profile.pb", repo / "flamegraph.svg"),
            profile_skipped=True,
            runtime=RuntimeFigure(sum(timed_ms), "parts", timed_ms),
        )

    return run_make


@pytest.mark.parametrize(
    ("timed", "printed", "runs", "runtime"),
    [
        ((254, 186), ["Part 1: 1 300ms\nPart 2: 2 200ms\n",
                      "Part 1: 1 250ms\nPart 2: 2 180ms\n"], 3, 440),
        ((254, 186), [MakeError("exit 1")], 1, 440),  # a failing rerun: the one run, said so
        ((9000, 4000), [], 1, 13000),  # over 10 s: timed once, not repeated
    ],
    ids=["median-of-three", "rerun-fails", "too-long-to-repeat"],
)  # fmt: skip
def test_the_runtime_is_the_median_of_repeated_runs_of_a_short_benchmark(
    tmp_path: Path,
    timed: tuple[int, ...],
    printed: list[str | Exception],
    runs: int,
    runtime: int,
) -> None:
    repo = make_fake_vm(tmp_path)
    calls: list[str] = []

    def run_benchmark(repo: Path, file_arg: str, log: Path, timeout_s: float) -> str:
        calls.append(file_arg)
        result = printed[len(calls) - 1]
        if isinstance(result, Exception):
            raise result
        return result

    progress = RecordingProgress()
    shell = Shell(
        drafter=OfflineDrafter(),
        progress=progress,
        run_make=_fake_make(timed),
        run_benchmark=run_benchmark,
    )
    request = IdentifyRequest(repo, BENCHMARK, repo / "perf-issues", date(2026, 12, 1))
    report = identify(request, shell)
    assert (report.runtime.milliseconds, report.runtime.runs) == (runtime, runs)
    assert len(calls) == min(len(printed), 2)
    if printed and isinstance(printed[0], Exception):
        assert any("Runtime from 1 run(s)" in notice for notice in progress.notices)
    text = (repo / "perf-issues" / "STRING_GRAPHEME_COLLECT_IN_INDEX_OP.txt").read_text()
    assert f"Runtime: {runtime}ms" in text


@pytest.mark.parametrize("width", [120, 150])
def test_issue_file_names_stay_whole_in_the_table(tmp_path: Path, width: int) -> None:
    """A name cut in two cannot be copied into the next command: at 120 columns (a terminal)
    and at 150 (a pipe) every issue file name stands whole on one line of the table."""
    from rich.console import Console

    from perf_identify.report import print_report

    repo = make_fake_vm(tmp_path)
    progress = RecordingProgress()
    profile = repo / "recorded-profile.pb"
    day = date(2026, 12, 1)
    request = IdentifyRequest(
        repo, BENCHMARK, repo / "perf-issues", day, profile=profile, skip_make=True
    )
    report = identify(request, Shell(drafter=OfflineDrafter(), progress=progress))
    out = io.StringIO()
    print_report(report, Console(file=out, width=width, highlight=False, soft_wrap=False), None)
    table = out.getvalue()
    assert report.rows
    for row in report.rows:
        assert row.path.name in table, (row.path.name, table)
    assert max(len(line) for line in table.splitlines() if line.startswith(("┃", "│"))) <= width
