"""Drafters: turn checked facts into prose, behind one small protocol.

Contract: a `Drafter` takes every hotspot's `HotspotFacts` at once (so an implementation may
work on them concurrently and share a prompt prefix) and returns one `DraftResult` per hotspot,
in the same order. Every draft it returns has passed the schema and the grounding checks; a
drafter that cannot produce a valid draft for a hotspot returns the offline draft for it and
says so in `fallback_reason`. Only failures that make every draft impossible (for example a
refused API key) are raised, as `DraftError`.

`OfflineDrafter` is the deterministic default: no network, no key, the same text every run.
`llm_drafter.LlmDrafter` drafts with Claude when a key is set and falls back to the offline
draft hotspot by hotspot; `DraftingSummary` carries its retries, fallbacks, calls and tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from perf_identify.errors import DraftError

if TYPE_CHECKING:
    # Drafts are pydantic models; importing pydantic costs more than ranking a small profile,
    # so a run that drafts nothing (no source, --json triage) never loads it.
    from perf_identify.drafts import CheckedDraft
    from perf_identify.facts import HotspotFacts

BUDGET_REASON = "token budget"
"""How every fallback caused by `--token-budget` starts."""

OFFLINE = "offline"
AGENT = "agent"
"""Who drafted an issue's prose when an agent submitted it (`perf-identify draft`)."""
MODEL_PREFIX = "model:"


def drafted_by_label(drafter: str) -> str:
    """The sidecar's `drafted_by` for a `DraftResult.drafter`: `offline` or `model:<name>`."""
    return OFFLINE if drafter == OFFLINE else f"{MODEL_PREFIX}{drafter}"


def prose_kind(drafted_by: str | None) -> str:
    """`offline`, `model` (the API drafter), `agent`, or `unknown` (no record of it)."""
    if drafted_by is None:
        return "unknown"
    if drafted_by.startswith(MODEL_PREFIX):
        return "model"
    return drafted_by if drafted_by in (OFFLINE, AGENT) else "unknown"


@dataclass(frozen=True, slots=True)
class DraftResult:
    draft: CheckedDraft
    drafter: str
    """`offline` or the model's name."""
    retries: int = 0
    fallback_reason: str = ""
    """Why the offline draft stands in for a model's, when it does."""
    cached: bool = False
    """A model's draft accepted in an earlier run, read back from the cache: no call made."""


@dataclass(frozen=True, slots=True)
class DraftingSummary:
    drafter: str
    results: tuple[DraftResult, ...]
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    estimated_cost_usd: float | None = 0.0
    """None when the model's price is unknown (see `model_config.PRICES`)."""
    calls: int = 0
    """HTTP requests the model API answered, the SDK's own retries included."""

    @property
    def retries(self) -> int:
        return sum(result.retries for result in self.results)

    @property
    def fallbacks(self) -> int:
        return sum(1 for result in self.results if result.fallback_reason)

    @property
    def budget_fallbacks(self) -> int:
        return sum(1 for r in self.results if r.fallback_reason.startswith(BUDGET_REASON))

    @property
    def cache_hits(self) -> int:
        return sum(1 for result in self.results if result.cached)


class Drafter(Protocol):
    name: str

    def draft_all(
        self, facts: Sequence[HotspotFacts], sources: Sequence[Sequence[str]]
    ) -> DraftingSummary:
        """One result per fact, in order; `sources[i]` is the lines of `facts[i]`'s file."""
        ...


class OfflineDrafter:
    """Deterministic prose from the facts; the default without an API key."""

    name = "offline"

    def draft_all(
        self, facts: Sequence[HotspotFacts], sources: Sequence[Sequence[str]]
    ) -> DraftingSummary:
        from perf_identify.grounding import draft_problems
        from perf_identify.offline_drafter import offline_draft

        results: list[DraftResult] = []
        for fact, lines in zip(facts, sources, strict=True):
            draft = offline_draft(fact)
            problems = draft_problems(draft, fact, lines)
            if problems:
                # The offline drafter is the last resort; a failing check is our bug.
                raise DraftError(
                    f"offline draft for {fact.function} failed its own checks: {problems[0]}",
                    hint="please report this with the profile that produced it",
                )
            results.append(DraftResult(draft=draft, drafter=self.name))
        return DraftingSummary(drafter=self.name, results=tuple(results))
