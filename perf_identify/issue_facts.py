"""One issue's facts, rebuilt from what is on disk: what `brief` shows and `draft` checks against.

Contract: everything here is pure; `issue_inputs.py` reads the files and calls it.

* `issue_scope(document, source_text, symbol)`: the function the issue file names, found in its
  source file as it is now, with the share the file states (`Time Contribution`). This is what a
  submitted draft is held to (`grounding.scope_problems`), so the file's own figures stay
  authoritative whatever the profile says today. A `ScopeProblem` when the function is no longer
  in the file under that name.
* `rebuild_facts(document, profile, source_text, ...)`: the `HotspotFacts` identification
  computed, recomputed by the same pure stages (`attribution.rank_profile`,
  `fix_sites.merge_fix_sites`, `facts.hotspot_facts`) from the profile the sidecar names. The
  issue file itself is passed as the folder's earlier file for this hotspot, so the line and
  the mechanism it states are kept while the evidence fits them, exactly as a rerun keeps them.
  A `str` saying why instead, when the profile has no such hotspot or the rebuilt hotspot is
  not the one the file describes (another function, another share).
* `IssueInputs`: all of it for one issue, as `issue_inputs.load_issue` read it.
* `Rebuilt.related` and `related_section(...)`: the other functions a drafter should
  read: each helper merged into this issue (its time is in the share) and, for a tiny
  helper, the call site where the fix belongs. They are context: evidence must still cite
  the issue's own function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from perf_identify.facts import HotspotFacts, RunContext, hotspot_facts
from perf_identify.fix_sites import merge_fix_sites
from perf_identify.grounding import IssueScope
from perf_identify.hotspots import Hotspot, PathMapper, rank_profile
from perf_identify.naming import FolderEntry, FolderNames
from perf_identify.pprof import Profile
from perf_identify.render import IssueDocument, Status
from perf_identify.source import FunctionExtent, find_function, numbered_excerpt
from perf_identify.symbols import compact_name

if TYPE_CHECKING:
    # The sidecar's model is a shell module's (it writes files); here it is only a value.
    from perf_identify.sidecar import IdentificationFacts

DEFAULT_SOURCE_ROOT = "lang/src/vm"
"""`--source-root`'s default: what sidecars written before it was recorded ran with."""
DEFAULT_MIN_PERCENT = 1.0
DERIVED_SUFFIX = " (derived)"
RELATED_LINES = 60
"""Lines shown of a related function (a merged helper, the fix-site caller)."""
SHARE_TOLERANCE = 0.05
"""How far a rebuilt share may lie from the file's (printed at one decimal) and still be it."""


@dataclass(frozen=True, slots=True)
class ScopeProblem:
    reason: str


@dataclass(frozen=True, slots=True)
class Related:
    """Another function a drafter should read, and why."""

    role: str
    symbol: str
    file: str


@dataclass(frozen=True, slots=True)
class RelatedSection:
    role: str
    function: str
    file: str
    extent: FunctionExtent
    excerpt: str


@dataclass(frozen=True, slots=True)
class Rebuilt:
    facts: HotspotFacts
    related: tuple[Related, ...]


@dataclass(frozen=True, slots=True)
class IssueInputs:
    path: Path
    repo: Path
    document: IssueDocument
    original: bytes
    sidecar: IdentificationFacts | None
    sidecar_problem: str
    """Why the sidecar could not be read ("" when it was, or there is none)."""
    source_text: str
    scope: IssueScope
    facts: HotspotFacts | None
    missing: str
    """Why `facts` is None ("" when it is not, or when facts were not asked for)."""
    related: tuple[RelatedSection, ...]
    benchmark_source: str | None
    profile_path: Path | None
    """The profile the sidecar names, resolved against the repo (it may no longer exist)."""

    @property
    def source_lines(self) -> list[str]:
        return self.source_text.splitlines()

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def drafted_by(self) -> str | None:
        return None if self.sidecar is None else self.sidecar.drafted_by


def function_symbol(document: IssueDocument, symbol: str | None) -> str:
    """What to look the function up by: the sidecar's symbol, else the file's `Function:`."""
    return symbol or document.function.removesuffix(DERIVED_SUFFIX)


def issue_scope(
    document: IssueDocument, source_text: str, symbol: str | None
) -> IssueScope | ScopeProblem:
    """The function, its extent in `source_text` and the file's share; see the docstring."""
    extent = find_function(source_text, function_symbol(document, symbol))
    if extent is None or extent.display_name != document.function:
        return ScopeProblem(
            f"{document.function} is not in {document.file} any more (the source changed "
            "since identification)"
        )
    return IssueScope(document.function, document.file, extent, document.share_percent)


def rebuild_facts(  # noqa: PLR0917 - what identification knew, one argument per fact
    document: IssueDocument,
    issue_name: str,
    profile: Profile,
    source_text: str,
    symbol: str,
    source_root: str,
    min_percent: float,
    exists: Callable[[str], bool],
) -> Rebuilt | str:
    """The facts identification computed for this issue; see the module docstring."""
    mapper = PathMapper(source_root, exists)
    ranking = rank_profile(profile, mapper)
    hotspots = merge_fix_sites(ranking.hotspots, min_percent)
    hotspot = next((h for h in hotspots if h.symbol == symbol), None)
    if hotspot is None:
        return f"the profile has no hotspot {compact_name(symbol)} under {source_root}/"
    context = RunContext(
        benchmark_file=document.benchmark_file,
        runtime_ms=document.runtime_ms,
        total=ranking.total,
        unit=ranking.value_type.unit,
        kind=ranking.kind,
    )
    key = (document.benchmark_file, document.file, document.function)
    folder = FolderNames.of(
        [FolderEntry(issue_name, key, document.line, document.status is Status.IDENTIFIED)]
    )
    facts = hotspot_facts(hotspot, source_text, context, name=issue_name, folder=folder)
    if not isinstance(facts, HotspotFacts):
        return facts.reason
    if facts.function != document.function or facts.file != document.file:
        return (
            f"the profile's {compact_name(symbol)} resolves to {facts.function} in {facts.file}, "
            f"not the file's {document.function} in {document.file}"
        )
    if abs(facts.share_percent - document.share_percent) > SHARE_TOLERANCE:
        return (
            f"the profile gives {facts.function} {facts.share_percent:.1f}% of runtime, not the "
            f"file's {document.share_percent:.1f}% (was it identified with other options?)"
        )
    # The file's Line is what the issue says; the excerpt is centred on it.
    if facts.line.line != document.line:
        facts = replace(
            facts, line=replace(facts.line, line=document.line, reason="the issue file's Line")
        )
    return Rebuilt(facts, _related(facts.hotspot, hotspots, facts))


def _related(
    hotspot: Hotspot, hotspots: tuple[Hotspot, ...], facts: HotspotFacts
) -> tuple[Related, ...]:
    related = [
        Related(
            f"merged into this issue: {merged.percent:.1f}% of runtime is spent in it through "
            f"{facts.function}",
            merged.helper.symbol,
            merged.helper.file,
        )
        for merged in hotspot.merged
        if merged.helper.file
    ]
    site = facts.call_site
    if site is not None:
        caller = next((h for h in hotspots if h.symbol == site.name), None)
        if caller is not None and caller.file:
            related.append(
                Related(
                    f"the call site where the fix belongs: {site.percent:.1f}% of runtime "
                    f"reaches {facts.function} through it",
                    caller.symbol,
                    caller.file,
                )
            )
    return tuple(related)


def related_section(related: Related, source_text: str | None) -> RelatedSection | None:
    """The numbered source of a related function; None when its file or the function is gone."""
    if source_text is None:
        return None
    extent = find_function(source_text, related.symbol)
    if extent is None:
        return None
    excerpt = numbered_excerpt(source_text, extent, max_lines=RELATED_LINES)
    return RelatedSection(related.role, extent.display_name, related.file, extent, excerpt)
