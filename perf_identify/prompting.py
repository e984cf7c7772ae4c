"""Prompts for the model drafter: checked facts and template texts in, request content out.

Contract: everything here is pure (no file, network, clock or environment). The templates are
plain text files in the top-level `prompts/` folder (shipped in the wheel as
`perf_identify/prompts/`), read by the shell and passed in as `PromptTemplates`; this module
only fills them with `string.Template` and arranges the result for prompt caching:

* `system_blocks(...)`: the shared prefix, identical for every hotspot of a run: the
  instructions, then the run's context and the benchmark program. The last block carries
  `cache_control: {"type": "ephemeral"}`, so N hotspots cost about one prefix.
* `hotspot_text(...)`: the per-hotspot part, always last: the facts we computed and the
  function's source with its real line numbers (per-line shares when the profile has them).
* `messages(...)`: the user turn, and for the one retry the rejected reply and the problems.
* `cache_key(...)`: a hash of everything that determines the model's answer.

The numbers in a prompt are the facts' own figures, formatted once here; the model is told
they are final.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any, Literal, NotRequired, TypedDict

from perf_identify.attribution import Share
from perf_identify.facts import HotspotFacts
from perf_identify.pprof import ProfileKind
from perf_identify.symbols import compact_name

TEMPLATE_FILES = ("system.txt", "context.txt", "hotspot.txt", "retry.txt")
BENCHMARK_CHAR_BUDGET = 16_000
"""About 4k tokens of benchmark program; beyond it the program is cut at a line boundary."""
EXCERPT_CHAR_BUDGET = 24_000
"""The function's numbered source (already at most `facts.EXCERPT_LINES` lines)."""


class CacheControl(TypedDict):
    type: Literal["ephemeral"]


class TextBlock(TypedDict):
    type: Literal["text"]
    text: str
    cache_control: NotRequired[CacheControl]


class Turn(TypedDict):
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class PromptTemplates:
    version: str
    system: str
    context: str
    hotspot: str
    retry: str

    @classmethod
    def from_texts(cls, version: str, texts: Mapping[str, str]) -> PromptTemplates:
        """`texts` maps each of `TEMPLATE_FILES` to its content."""
        return cls(
            version=version.strip(),
            system=texts["system.txt"],
            context=texts["context.txt"],
            hotspot=texts["hotspot.txt"],
            retry=texts["retry.txt"],
        )


def truncate_lines(text: str, budget: int, what: str) -> str:
    """`text` cut at the last whole line within `budget` characters, with a marker saying so."""
    if len(text) <= budget:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > budget:
            break
        kept.append(line)
        size += len(line) + 1
    hidden = len(lines) - len(kept)
    return "\n".join([*kept, f"... ({hidden} more lines of the {what} not shown)"])


def system_blocks(
    templates: PromptTemplates,
    facts: Sequence[HotspotFacts],
    benchmark_source: str | None,
) -> list[TextBlock]:
    """The shared prefix for every hotspot of one run; the last block is the cache breakpoint."""
    first = facts[0]
    context = first.context
    if benchmark_source is None:
        program = "(the benchmark program could not be read)"
    elif not benchmark_source.strip():
        program = "(the benchmark program is empty)"
    else:
        program = truncate_lines(benchmark_source.rstrip("\n"), BENCHMARK_CHAR_BUDGET, "program")
    kind = (
        "one location per address: true line numbers, per-line shares shown"
        if context.kind is ProfileKind.PER_ADDRESS
        else "pprof-rs, one location per function: the profile's line numbers are not trusted, "
        "the line to cite was chosen from the source"
    )
    listing = "\n".join(
        f"- #{f.rank} {f.function} ({f.file}): {_pct(f.share_percent)} of runtime" for f in facts
    )
    text = Template(templates.context).substitute(
        benchmark_file=context.benchmark_file,
        runtime_ms=context.runtime_ms,
        profile_kind=kind,
        hotspot_list=listing,
        benchmark_source=program,
    )
    return [
        {"type": "text", "text": templates.system.strip()},
        {"type": "text", "text": text.strip(), "cache_control": {"type": "ephemeral"}},
    ]


def hotspot_text(templates: PromptTemplates, facts: HotspotFacts) -> str:
    """The per-hotspot part of the prompt: our facts and the function's numbered source."""
    hotspot = facts.hotspot
    context = facts.context
    total = context.total
    own = 100.0 * hotspot.self_value / total if total else 0.0
    markers = facts.classification.markers
    per_address = context.kind is ProfileKind.PER_ADDRESS
    site = facts.call_site
    return (
        Template(templates.hotspot)
        .substitute(
            rank=facts.rank,
            function=facts.function,
            name=facts.name,
            file=facts.file,
            start_line=facts.extent.start_line,
            end_line=facts.extent.end_line,
            signature_line=facts.extent.signature_line,
            issue_class=facts.classification.issue_class.value,
            markers=f" (shown by {', '.join(compact_name(m) for m in markers[:4])})"
            if markers
            else "",
            share=_pct(facts.share_percent),
            flat=facts.figure(hotspot.flat),
            cum=facts.figure(hotspot.cum),
            own_share=_pct(own),
            line=facts.line.line,
            line_reason=facts.line.reason,
            line_text=facts.line_text.strip(),
            callers=_path(hotspot.callers[:4], " <- ") or "none recorded",
            chain=_path(hotspot.chain[:6], " -> ") or "none (the time is in its own code)",
            leaves=_path(hotspot.leaves[:4], ", ") or "none",
            call_site=(
                f"{compact_name(site.name)} ({_pct(site.percent)} of runtime through it): "
                "a small helper called from many places, so the fix belongs at that call site"
                if site is not None
                else "not applicable"
            ),
            upper_ms=round(context.runtime_ms * round(facts.share_percent, 1) / 100),
            runtime_ms=context.runtime_ms,
            columns=(
                ": line number, that line's share of all samples, code"
                if per_address
                else ": line number, code"
            ),
            excerpt=truncate_lines(facts.excerpt, EXCERPT_CHAR_BUDGET, "function"),
        )
        .strip()
    )


def retry_text(templates: PromptTemplates, facts: HotspotFacts, problems: Sequence[str]) -> str:
    """The follow-up turn after a rejected reply: exactly what was wrong."""
    return (
        Template(templates.retry)
        .substitute(
            rank=facts.rank,
            function=facts.function,
            problems="\n".join(f"- {problem}" for problem in problems),
            start_line=facts.extent.start_line,
            end_line=facts.extent.end_line,
            share=_pct(facts.share_percent),
        )
        .strip()
    )


def messages(first: str, rejected: str | None = None, retry: str | None = None) -> list[Turn]:
    """The conversation: the hotspot turn, then (on the retry) the rejected reply and why."""
    turns: list[Turn] = [{"role": "user", "content": first}]
    if retry is not None:
        if rejected:
            turns.append({"role": "assistant", "content": rejected})
        turns.append({"role": "user", "content": retry})
    return turns


def cache_key(
    version: str,
    model: str,
    system: Sequence[TextBlock],
    first: str,
    schema: Mapping[str, Any],
) -> str:
    """A hash of what determines the answer: prompt version, model, facts, sources, schema."""
    payload = json.dumps(
        {
            "version": version,
            "model": model,
            "system": list(system),
            "user": first,
            "schema": schema,
        },
        sort_keys=True,
        ensure_ascii=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _path(shares: Sequence[Share], separator: str) -> str:
    return separator.join(f"{compact_name(s.name)} ({_pct(s.percent)})" for s in shares)
