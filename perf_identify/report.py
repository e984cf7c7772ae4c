"""Render an `IdentifyReport` for people (a rich table) and for programs (one JSON object).

Contract: the functions here only render. `print_report(report, console, listing)` writes the
hotspot table, what happened to each issue file, the folder listing (text the caller produced,
shaped like `ls -la`) and the next command into a rich `Console`; `report_json(report)` returns
a JSON-ready dict with the same facts and the ranking figures in milliseconds. Neither reads a
file, the clock or the environment.

Each issue row says who drafted the prose this run wrote (the table's `prose` column, `offline`
or `model`; `drafted_by` in the JSON, `offline` or `model:<name>`, as the sidecar records it);
an agent's later draft (`perf-identify draft`) shows in `perf-identify list`.

Flat and cum are sampled time, never wall time: the table's title says so, and the sampling note
(`sampling.py`) is said once, right under the table and as `sampling` in the JSON, with the
profile's duration and the Runtime beside the sampled total. Stale issue files (`staleness.py`)
get one line each after the table and a `stale` list in the JSON, so they never look current.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from perf_identify.display_text import visible
from perf_identify.drafting import DraftingSummary, drafted_by_label, prose_kind
from perf_identify.hotspots import FunctionStat, Hotspot
from perf_identify.issues_dir import WriteOutcome
from perf_identify.pipeline import IdentifyReport, IssueRow
from perf_identify.runtime_figure import RuntimeFigure
from perf_identify.sample_counts import (
    MIN_ISSUE_SAMPLES,
    MORE_SAMPLES_HINT,
    samples_in,
    share_interval,
)
from perf_identify.sampling import SHORTFALL_BELOW, SamplingNote
from perf_identify.staleness import StaleIssue
from perf_identify.symbols import compact_name

if TYPE_CHECKING:
    # rich is imported where a table is drawn: a --json run never needs it.
    from rich.console import Console
    from rich.table import Table

_OUTCOME_TEXT = {
    WriteOutcome.CREATED: "created",
    WriteOutcome.UPDATED: "updated",
    WriteOutcome.UNCHANGED: "unchanged",
    WriteOutcome.KEPT: "kept (past IDENTIFIED)",
}


def _ms(report: IdentifyReport, value: int) -> str:
    if report.ranking.value_type.unit == "nanoseconds":
        return f"{value / 1_000_000:.0f}ms"
    return str(value)


def _samples(report: IdentifyReport, value: int) -> str:
    count = samples_in(value, report.ranking)
    return "?" if count is None else str(count)


def thin_profile_lines(report: IdentifyReport) -> list[str]:
    """Why hotspots got no issue file for too few samples, and how to get more."""
    if not report.thin:
        return []
    total = samples_in(report.ranking.total, report.ranking)
    lines = [
        f"{len(report.thin)} hotspot(s) have fewer than {MIN_ISSUE_SAMPLES} samples "
        f"(the profile has {total if total is not None else '?'} in all): a share from so few "
        f"samples is uncertain by more than +/-40% of itself, so no issue file is written "
        f"from it."
    ]
    worst = report.thin[0]
    interval = share_interval(worst.samples, total or 0)
    if interval is not None:
        lines.append(
            f"For example #{worst.hotspot.rank}: {worst.hotspot.share_percent:.1f}% from "
            f"{worst.samples} samples could be anything from {interval[0]:.0f}% to "
            f"{interval[1]:.0f}% (95%)."
        )
    lines.append(MORE_SAMPLES_HINT)
    return lines


WIDE_TABLE_WIDTH = 140
"""From this console width on, location and prose get columns of their own; below it they
share the function's and the issue file's cells, so that names still fit whole."""


def hotspot_table(report: IdentifyReport, width: int = WIDE_TABLE_WIDTH) -> Table:
    from rich.table import Table
    from rich.text import Text

    wide = width >= WIDE_TABLE_WIDTH
    table = Table(
        # Text, never a markup string: names and paths from outside may hold `[link=…]`.
        title=Text(visible(f"Hotspots in {report.file_arg} (flat, cum: {_measured(report)})")),
        title_justify="left",
        expand=False,
    )
    # Figures and issue file names never wrap: a number or a name cut in two cannot be read or
    # copied into the next command. Function, leaf and location give way instead.
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    table.add_column("samples", justify="right", no_wrap=True)
    table.add_column("flat", justify="right", no_wrap=True)
    table.add_column("cum", justify="right", no_wrap=True)
    table.add_column("function" if wide else "function, location", overflow="fold", min_width=10)
    table.add_column("top leaf", overflow="fold", min_width=6)
    if wide:
        table.add_column("location", overflow="fold", min_width=12)
    table.add_column("issue file", no_wrap=True)
    if wide:
        table.add_column("prose", no_wrap=True)
    rows = {row.facts.hotspot.symbol: row for row in report.rows}
    problems = {problem.hotspot.symbol: problem for problem in report.unresolved}
    thin = {item.hotspot.symbol: item.samples for item in report.thin}
    for hotspot in report.selected:
        row = rows.get(hotspot.symbol)
        if row is not None:
            function = row.facts.function
            location = f"{row.facts.file}:{row.facts.line.line}"
            outcome = _OUTCOME_TEXT[row.outcome]
            prose = _prose(row)
            issue = (
                f"{row.path.name}\n({outcome})"
                if wide or not prose
                else (f"{row.path.name}\n({outcome}, {prose} prose)")
            )
            if row.fallback_reason:
                issue += "\n[offline fallback]"
        else:
            function = compact_name(hotspot.symbol)
            location = hotspot.file or hotspot.recorded_file or "?"
            prose = ""
            issue = "none (see below)" if hotspot.symbol in problems else "none"
            if hotspot.symbol in thin:
                issue = f"none: {thin[hotspot.symbol]} samples\n(< {MIN_ISSUE_SAMPLES})"
        leaf = hotspot.leaves[0] if hotspot.leaves else None
        figures = (
            str(hotspot.rank),
            f"{hotspot.share_percent:.1f}%",
            _samples(report, hotspot.value),
            _ms(report, hotspot.flat),
            _ms(report, hotspot.cum),
        )
        top_leaf = f"{compact_name(leaf.name)} {leaf.percent:.1f}%" if leaf else ""
        cells = (
            (*figures, function, top_leaf, location, issue, prose)
            if wide
            else (*figures, f"{function}\n{location}", top_leaf, issue)
        )
        table.add_row(*(Text(visible(cell)) for cell in cells))
    return table


def _prose(row: IssueRow) -> str:
    """Who drafted the prose this run wrote: `offline` or `model` (the API drafter). A file
    kept past IDENTIFIED carries someone else's prose, so it says nothing."""
    if row.outcome is WriteOutcome.KEPT:
        return ""
    return prose_kind(drafted_by_label(row.drafter))


def _measured(report: IdentifyReport) -> str:
    """What flat and cum are, for the table's title: sampled time, never wall time."""
    value_type = report.ranking.value_type
    if value_type.unit != "nanoseconds":
        return str(value_type)
    return "sampled CPU time" if value_type.type == "cpu" else f"sampled {value_type.type} time"


def _percent(ratio: float) -> str:
    value = 100.0 * ratio
    return f"{value:.0f}%" if value >= 10 else f"{value:.1f}%"


def sampling_lines(note: SamplingNote) -> tuple[str, ...]:
    """The sampling note for people: one line, or two when the profile fell short of the run."""
    measure = f"{note.measure} time"
    head = (
        f"Sampled: {note.sampled_ms:.0f}ms of {measure} in {note.duration_ms:.0f}ms of profile "
        f"duration ({_percent(note.of_duration)})"
    )
    # The Runtime is named only when it is not the profile's duration itself (--skip-make).
    runtime = (
        f" (Runtime: {note.runtime_ms}ms, {_percent(note.of_runtime)} of it sampled)"
        if note.of_runtime is not None and note.runtime_ms != round(note.duration_ms)
        else ""
    )
    figures = f"flat and cum are sampled {measure}, not wall time{runtime}."
    if not note.shortfall:
        return (f"{head}; {figures}",)
    if note.expected_samples is not None and note.samples_taken:
        why = (
            f"the profiler took {note.samples_taken} of {note.expected_samples} samples "
            f"(about 1 in {round(note.expected_samples / note.samples_taken)})."
        )
    else:
        why = "the profiler recorded only part of the run."
    return (f"{head}: {why}", f"Shares are sound; {figures}")


def stale_line(issue: StaleIssue, today: date) -> str:
    """One stale issue file: what it said when it was current, and that it is not now."""
    since = (
        f", stale since {issue.stale_since.isoformat()}"
        if issue.stale_since is not None and issue.stale_since != today
        else ""
    )
    return (
        f"stale: {issue.path.name} (IDENTIFIED {issue.identified.isoformat()}, "
        f"{issue.share_percent:.1f}%{since}): not a hotspot in this run"
    )


def stale_hint(report: IdentifyReport) -> str:
    request = report.request
    return (
        "Stale files are marked in their sidecars, not deleted: delete them, or lower "
        f"--min-percent ({request.min_percent:g}) or raise --top ({request.top}) and rerun."
    )


def print_report(report: IdentifyReport, console: Console, listing: str | None) -> None:
    console.print(hotspot_table(report, console.width))
    if report.sampling is not None:
        for line in sampling_lines(report.sampling):
            _say(console, line)
    for line in thin_profile_lines(report):
        _say(console, line)
    for problem in report.unresolved:
        _say(console, f"#{problem.hotspot.rank}: no issue file: {problem.reason}")
    for issue in report.stale:
        _say(console, stale_line(issue, report.request.today))
    if report.stale:
        _say(console, stale_hint(report))
    runtime = report.runtime
    _say(
        console,
        f"Runtime: {runtime.milliseconds}ms ({runtime_origin(runtime)}); "
        f"profile: {report.profile_path} ({report.ranking.kind.value}); "
        f"drafter: {report.drafting.drafter}"
        + (
            f"; {report.drafting.fallbacks} fallback(s), {report.drafting.retries} retry(ies)"
            if report.drafting.fallbacks or report.drafting.retries
            else ""
        ),
    )
    if report.drafting.drafter != "offline":
        _say(console, drafting_line(report.drafting))
    for row in report.rows:
        if row.fallback_reason:
            _say(console, f"#{row.facts.rank}: offline fallback: {row.fallback_reason}")
    if listing is not None:
        from rich.text import Text

        console.print(Text(visible(f"$ ls -la {report.request.out_dir}"), style="dim"))
        _say(console, listing.rstrip("\n"))
    if report.rows:
        first = report.rows[0]
        _say(
            console,
            # Two lines: one would wrap mid-sentence at a pipe's 132 columns.
            f"Next: implement the fix {_display_path(report, first.path)} proposes (in Claude "
            f"Code: /perf-implement),\n"
            f"      then measure it: perf-identify verify {_display_path(report, first.path)}",
        )


def _say(console: Console, line: str) -> None:
    """Print one line (or two) as plain text: never parsed as rich markup, never highlighted,
    and with control and bidirectional characters from outside escaped (`display_text`)."""
    from rich.text import Text

    console.print(Text(visible(line)), highlight=False)


def drafting_line(drafting: DraftingSummary) -> str:
    """Calls, cache hits, tokens and the estimated cost of a model's drafting."""
    cost = drafting.estimated_cost_usd
    priced = "unknown (no price for this model)" if cost is None else f"${cost:.4f}"
    budget = (
        f", {drafting.budget_fallbacks} over the token budget" if drafting.budget_fallbacks else ""
    )
    return (
        f"Model: {drafting.calls} call(s), {drafting.cache_hits} draft(s) from the cache{budget}; "
        f"tokens: {drafting.input_tokens} in, {drafting.output_tokens} out, "
        f"{drafting.cache_read_tokens} cache read, {drafting.cache_write_tokens} cache write; "
        f"estimated cost {priced} (list prices, an estimate)"
    )


def _display_path(report: IdentifyReport, path: Any) -> str:
    try:
        return str(path.relative_to(report.request.repo))
    except ValueError:
        return str(path)


def runtime_origin(runtime: RuntimeFigure) -> str:
    """Where the Runtime comes from, and how many runs stand behind it."""
    source = _runtime_source(runtime.source)
    if runtime.runs > 1 and runtime.spread is not None:
        low, high = runtime.spread
        return (
            f"median of {runtime.runs} timed runs, {low}-{high}ms: make analyze's and "
            f"{runtime.runs - 1} more of the benchmark command"
        )
    if runtime.source in ("parts", "wall"):
        return f"from {source}: one run, so its noise is unknown"
    return f"from {source}"


def _runtime_source(source: str) -> str:
    return {
        "parts": "the Part durations of make analyze's timed run",
        "wall": "the wall time of make analyze's timed run",
        "profile": "the profile's duration",
        "option": "--runtime-ms",
    }.get(source, source)


def _opt(text: str | None) -> str | None:
    return None if text is None else visible(text)


def _hotspot_json(report: IdentifyReport, hotspot: Hotspot) -> dict[str, Any]:
    def ms(value: int) -> float:
        return (
            round(value / 1_000_000, 3)
            if report.ranking.value_type.unit == "nanoseconds"
            else value
        )

    return {
        "rank": hotspot.rank,
        "symbol": visible(hotspot.symbol),
        "file": _opt(hotspot.file),
        "source_found": hotspot.source_exists,
        "share_percent": round(hotspot.share_percent, 3),
        "flat_ms": ms(hotspot.flat),
        "cum_ms": ms(hotspot.cum),
        "self_ms": ms(hotspot.self_value),
        "samples": samples_in(hotspot.value, report.ranking),
        "tiny_helper": hotspot.tiny_helper,
        "leaves": [
            {"name": visible(s.name), "percent": round(s.percent, 3)} for s in hotspot.leaves
        ],
        "chain": [{"name": visible(s.name), "percent": round(s.percent, 3)} for s in hotspot.chain],
        "callers": [visible(s.name) for s in hotspot.callers],
        "call_sites": [
            {"name": visible(s.name), "percent": round(s.percent, 3)} for s in hotspot.call_sites
        ],
    }


def _function_json(report: IdentifyReport, stat: FunctionStat) -> dict[str, Any]:
    total = report.ranking.total
    return {
        "name": visible(stat.name),
        "flat": stat.flat,
        "cum": stat.cum,
        "flat_percent": round(100.0 * stat.flat / total, 3) if total else 0.0,
        "cum_percent": round(100.0 * stat.cum / total, 3) if total else 0.0,
    }


def _sampling_json(note: SamplingNote | None) -> dict[str, Any] | None:
    if note is None:
        return None
    return {
        "measure": note.measure,
        "sampled_ms": round(note.sampled_ms, 3),
        "profile_duration_ms": round(note.duration_ms, 3),
        "runtime_ms": note.runtime_ms,
        "sampled_of_duration_percent": round(100.0 * note.of_duration, 2),
        "sampled_of_runtime_percent": None
        if note.of_runtime is None
        else round(100.0 * note.of_runtime, 2),
        "period_nanos": note.period_nanos,
        "expected_samples": note.expected_samples,
        "samples_taken": note.samples_taken,
        "shortfall": note.shortfall,
        "shortfall_below_percent": round(100.0 * SHORTFALL_BELOW, 1),
        "message": " ".join(sampling_lines(note)),
    }


def _stale_json(issue: StaleIssue) -> dict[str, Any]:
    return {
        "name": issue.name,
        "path": visible(str(issue.path)),
        "status": "IDENTIFIED",
        "benchmark_file": visible(issue.benchmark_file),
        "function": visible(issue.function),
        "file": visible(issue.file),
        "share_percent": issue.share_percent,
        "identified": issue.identified.isoformat(),
        "stale_since": None if issue.stale_since is None else issue.stale_since.isoformat(),
        "reason": "not a hotspot in this run",
    }


def report_json(report: IdentifyReport, *, functions_limit: int = 50) -> dict[str, Any]:
    ranking = report.ranking
    cost = report.drafting.estimated_cost_usd
    make = report.make
    return {
        "benchmark_file": visible(report.file_arg),
        "runtime_ms": report.runtime.milliseconds,
        "runtime_source": report.runtime.source,
        "runtime_runs": report.runtime.runs,
        "runtime_spread_ms": list(report.runtime.spread) if report.runtime.spread else None,
        "profile": visible(str(report.profile_path)),
        "profile_kind": ranking.kind.value,
        "value_type": str(ranking.value_type),
        "total": ranking.total,
        "sampling": _sampling_json(report.sampling),
        "unattributed_percent": round(ranking.percent(ranking.unattributed), 3),
        "make": None
        if make is None
        else {
            "analyze_log": str(make.analyze.log_path),
            "profile_log": None if make.profile is None else str(make.profile.log_path),
            "profile_skipped": make.profile_skipped,
        },
        "hotspots": [_hotspot_json(report, h) for h in report.selected],
        "issues": [
            {
                "rank": row.facts.rank,
                "name": row.facts.name,
                "path": visible(str(row.path)),
                "outcome": row.outcome.value,
                "function": visible(row.facts.function),
                "file": visible(row.facts.file),
                "line": row.facts.line.line,
                "line_reason": visible(row.facts.line.reason),
                "share_percent": round(row.facts.share_percent, 1),
                "class": row.facts.classification.issue_class.name.lower(),
                "drafter": row.drafter,
                "drafted_by": None
                if row.outcome is WriteOutcome.KEPT
                else drafted_by_label(row.drafter),
                "fallback_reason": _opt(row.fallback_reason or None),
            }
            for row in report.rows
        ],
        "too_few_samples": [
            {"rank": t.hotspot.rank, "symbol": visible(t.hotspot.symbol), "samples": t.samples}
            for t in report.thin
        ],
        "min_issue_samples": MIN_ISSUE_SAMPLES,
        "unresolved": [
            {
                "rank": p.hotspot.rank,
                "symbol": visible(p.hotspot.symbol),
                "reason": visible(p.reason),
            }
            for p in report.unresolved
        ],
        "stale": [_stale_json(issue) for issue in report.stale],
        "missing_sources": [visible(path) for path in ranking.missing_sources],
        "drafting": {
            "drafter": report.drafting.drafter,
            "retries": report.drafting.retries,
            "fallbacks": report.drafting.fallbacks,
            "input_tokens": report.drafting.input_tokens,
            "output_tokens": report.drafting.output_tokens,
            "cache_read_tokens": report.drafting.cache_read_tokens,
            "cache_write_tokens": report.drafting.cache_write_tokens,
            "estimated_cost_usd": None if cost is None else round(cost, 6),
            "calls": report.drafting.calls,
            "cache_hits": report.drafting.cache_hits,
            "budget_fallbacks": report.drafting.budget_fallbacks,
        },
        "functions": [_function_json(report, s) for s in ranking.functions[:functions_limit]],
    }
