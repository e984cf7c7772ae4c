"""The checked facts about one hotspot: the only thing a drafter sees, and what it may not change.

Contract: `hotspot_facts(...)` is pure. It joins a ranked `Hotspot`, its source text and the
run's context into `HotspotFacts`: the function's real extent, the line to cite (see
`source.choose_line`), a numbered excerpt, the class and the file name. It returns a
`SourceProblem` instead when the source cannot back a line: the file is absent, the function is
not in it, or the profile points past the end of the file (the source changed since it was
recorded). Nothing here invents a line.

`issue_document(...)` turns facts plus a checked draft (`drafts.CheckedDraft`) into the
`IssueDocument` that
`render.py` prints: every figure (runtime, rank, share, file, line, function) comes from the
facts, only prose comes from the draft.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from perf_identify.classify import (
    DETAILS,
    Classification,
    classify,
    decided_by_drop,
    find_mechanisms,
    frame_claims,
    line_tokens,
    mechanism_of_detail,
)
from perf_identify.hotspots import Hotspot, Share
from perf_identify.naming import FolderNames, dominant_call_site, issue_name, previous_detail
from perf_identify.pprof import ProfileKind
from perf_identify.render import IssueDocument, LogEntry, Status, issue_title
from perf_identify.source import FunctionExtent, LineChoice, choose_line, find_function
from perf_identify.source import numbered_excerpt as _numbered_excerpt
from perf_identify.symbols import short_name

if TYPE_CHECKING:
    from perf_identify.drafts import CheckedDraft

EXCERPT_LINES = 160


@dataclass(frozen=True, slots=True)
class RunContext:
    benchmark_file: str
    runtime_ms: int
    total: int
    """The profile's total value, in `unit`."""
    unit: str
    """`nanoseconds` for CPU profiles; figures are shown in ms then."""
    kind: ProfileKind


@dataclass(frozen=True, slots=True)
class HotspotFacts:
    name: str
    hotspot: Hotspot
    context: RunContext
    function: str
    """What `Function:` prints: `VM::index_op`, `<Value as Clone>::clone`, `builtin_fold`."""
    extent: FunctionExtent
    line: LineChoice
    line_text: str
    signature_text: str
    excerpt: str
    classification: Classification
    call_site: Share | None
    """For a tiny helper, the call site carrying most of its time."""

    @property
    def rank(self) -> int:
        return self.hotspot.rank

    @property
    def file(self) -> str:
        return self.hotspot.file

    @property
    def share_percent(self) -> float:
        return self.hotspot.share_percent

    def figure(self, value: int) -> str:
        """A profile value as pprof prints it: `8683ms` for CPU time, a count otherwise."""
        if self.context.unit == "nanoseconds":
            return f"{value / 1_000_000:.0f}ms"
        return f"{value} {self.context.unit}"


@dataclass(frozen=True, slots=True)
class SourceProblem:
    hotspot: Hotspot
    reason: str


def hotspot_facts(
    hotspot: Hotspot,
    source_text: str | None,
    context: RunContext,
    name: str | None = None,
    *,
    folder: FolderNames | None = None,
) -> HotspotFacts | SourceProblem:
    """Resolve `hotspot` against its source file's text (None when the file is absent).

    `folder` is the issue folder as scanned before this run: when it holds an IDENTIFIED file
    of this hotspot, its mechanism and cited line are kept while the evidence still fits them.
    """
    if source_text is None:
        return SourceProblem(hotspot, f"source file {hotspot.file or '?'} not found")
    extent = find_function(source_text, hotspot.symbol)
    if extent is None:
        return SourceProblem(
            hotspot,
            f"{short_name(hotspot.symbol)} ({hotspot.symbol}) not found in {hotspot.file}",
        )
    lines = source_text.splitlines()
    beyond = [line for line in hotspot.line_values if line > len(lines)]
    if beyond:
        return SourceProblem(
            hotspot,
            f"the profile points at line {max(beyond)} of {hotspot.file}, which has "
            f"{len(lines)} lines: the source changed since the profile was recorded",
        )
    previous = (
        folder.previous((context.benchmark_file, hotspot.file, extent.display_name))
        if folder is not None
        else None
    )
    if previous is not None and not previous.identified:
        previous = None
    prefer = mechanism_of_detail(previous_detail(previous.name, DETAILS)) if previous else None
    weights = {line: float(value) for line, value in hotspot.line_values.items()}
    # Drops run where values go out of scope: no call in the body shows them, and citing the
    # first call of some other callee would point at the wrong code.
    # The frames' findings are computed once: they pick the line, then classify it.
    found = find_mechanisms(hotspot)
    claims = frame_claims(hotspot, found, prefer=prefer)
    drops = decided_by_drop(claims)
    choice = choose_line(
        source_text,
        extent,
        [] if drops else _callee_names(hotspot),
        weights or None,
        preferred_tokens=() if drops else line_tokens(claims),
        previous_line=previous.line if previous else None,
    )
    if drops and not weights:
        choice = replace(
            choice,
            reason="drops run where values go out of scope, which a per-function profile "
            "cannot place on a line; the signature line",
        )
    shares = (
        {line: value / context.total for line, value in hotspot.line_values.items()}
        if context.total and hotspot.line_values
        else None
    )
    excerpt = _numbered_excerpt(
        source_text, extent, max_lines=EXCERPT_LINES, line_shares=shares, focus_line=choice.line
    )
    classification = classify(hotspot, choice.code, prefer=prefer, found=found)
    return HotspotFacts(
        name=name or issue_name(hotspot, classification.detail),
        hotspot=hotspot,
        context=context,
        function=extent.display_name,
        extent=extent,
        line=choice,
        line_text=lines[choice.line - 1],
        signature_text=lines[extent.signature_line - 1],
        excerpt=excerpt,
        classification=classification,
        call_site=dominant_call_site(hotspot),
    )


def _callee_names(hotspot: Hotspot) -> list[str]:
    """Short names of the frames below the function, nearest first, then the leaves."""
    names: list[str] = []
    for share in (*hotspot.chain, *hotspot.leaves):
        name = short_name(share.name)
        if name not in names and share.name != hotspot.symbol:
            names.append(name)
    return names


def issue_document(facts: HotspotFacts, draft: CheckedDraft, today: date) -> IssueDocument:
    """The issue file's content: figures from `facts`, prose from `draft`."""
    benchmark = facts.context.benchmark_file
    return IssueDocument(
        title=issue_title(facts.name),
        benchmark_file=benchmark,
        identified=today,
        status=Status.IDENTIFIED,
        runtime_ms=facts.context.runtime_ms,
        rank=facts.rank,
        share_percent=round(facts.share_percent, 1),
        file=facts.file,
        line=facts.line.line,
        function=facts.function,
        description=draft.description,
        root_cause=draft.root_cause,
        approach=draft.approach,
        expected_impact=draft.expected_impact,
        risk=draft.risk,
        log=(
            LogEntry(today, Status.IDENTIFIED, f"Issue discovered during profiling of {benchmark}"),
        ),
    )
