"""The brief: everything a drafter (an agent in Claude Code) needs to draft one issue's prose.

Contract: `brief_text(inputs, templates)` and `brief_json(inputs, templates, draft_schema)` are
pure: one issue's `IssueInputs` (as `issue_inputs.load_issue` read them) and the prompt
templates in, text or one JSON-ready dict out, with the same content:

* our facts: the issue file's figures (share, Line, Function, File, Runtime, rank), which are
  authoritative, and what the profile adds when it could be rebuilt (flat and cum, the call
  path, the leaf breakdown, the callers, the class, merged helpers); when it could not, which
  facts are missing and why;
* the rules the API drafter's system prompt states (`prompts/rules.txt`, the same text);
* the function's numbered source (whole up to `LISTING_LINES` lines, else a window around its
  Line), per-line shares when the profile has true lines, and the source of the related
  functions (a merged helper, the fix-site caller), marked as context only;
* the benchmark program;
* how to check a hypothesis against the profile (`perf-identify show`);
* the JSON shape of a draft, where to write it and how to submit it.

The source and the benchmark program are the repo owner's text: each is fenced and labelled as
data with `prompting.fence`, exactly as in the API prompt, and rule 10 says what that means.
The brief stays within what a Bash tool shows whole (Claude Code cuts output past 30,000
characters): the listing, the related functions and the program each have a budget, and say
where to read the rest.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perf_identify.facts import HotspotFacts
from perf_identify.issue_facts import IssueInputs
from perf_identify.pprof import ProfileKind
from perf_identify.prompting import (
    PromptTemplates,
    fence,
    percent_text,
    profile_kind_text,
    shares_text,
    truncate_lines,
)
from perf_identify.source import numbered_excerpt
from perf_identify.symbols import compact_name

LISTING_LINES = 200
"""The function is shown whole up to this many lines, else this many around its Line."""
RELATED_LIMIT = 2
PROGRAM_CHAR_BUDGET = 6_000
"""The benchmark program in a brief; the agent can read the rest."""
DRAFTS_DIR = ".drafts"
"""Where an agent writes its drafts, inside the issue folder (`perf-issues/.drafts/NAME.json`)."""

_PROSE_FIELDS: tuple[tuple[str, str], ...] = (
    ("description", "what happens in this code path, in plain prose"),
    ("root_cause", "why it is slow: the algorithmic or implementation cause"),
    ("approach", "the specific change to make"),
    ("expected_impact", "estimated improvement and reasoning; never above the measured share"),
    ("risk", "correctness concerns and edge cases, and how to test them"),
)


def draft_path(issue_path: Path) -> Path:
    """`perf-issues/.drafts/NAME.json` for `perf-issues/NAME.txt`, as the path was given."""
    return issue_path.parent / DRAFTS_DIR / f"{issue_path.stem}.json"


def submit_command(issue_path: Path) -> str:
    return shlex.join(
        ["perf-identify", "draft", str(issue_path), "--from", str(draft_path(issue_path))]
    )


def show_command(function: str, profile: Path | None) -> str:
    words = ["perf-identify", "show", function.removesuffix(" (derived)")]
    return shlex.join(words) + (
        f" --profile {shlex.quote(str(profile))}" if profile else " --profile PROFILE.pb"
    )


def rules(templates: PromptTemplates) -> list[str]:
    """The numbered rules, one string each (continuation lines joined)."""
    items: list[str] = []
    for line in templates.rules.strip().splitlines():
        if re.match(r"^\d+\. ", line):
            items.append(line.strip())
        elif items:
            items[-1] += " " + line.strip()
    return items


def _figure(facts: HotspotFacts, value: int) -> str:
    return facts.figure(value)


def _shares(facts: HotspotFacts) -> Mapping[int, float] | None:
    total = facts.context.total
    values = facts.hotspot.line_values
    if facts.context.kind is not ProfileKind.PER_ADDRESS or not total or not values:
        return None
    return {line: value / total for line, value in values.items()}


def _listing(inputs: IssueInputs) -> str:
    scope = inputs.scope
    shares = _shares(inputs.facts) if inputs.facts is not None else None
    return numbered_excerpt(
        inputs.source_text,
        scope.extent,
        max_lines=LISTING_LINES,
        line_shares=shares,
        focus_line=inputs.document.line,
    )


def _listing_label(inputs: IssueInputs) -> str:
    return f"the numbered source of {inputs.scope.function} ({inputs.scope.file})"


def _program(inputs: IssueInputs) -> str:
    source = inputs.benchmark_source
    if source is None:
        return f"(the benchmark program {inputs.document.benchmark_file} could not be read)"
    if not source.strip():
        return "(the benchmark program is empty)"
    cut = truncate_lines(source.rstrip("\n"), PROGRAM_CHAR_BUDGET, "program")
    return fence(cut, f"the benchmark program {inputs.document.benchmark_file}")


def fact_lines(inputs: IssueInputs) -> list[str]:
    """Our facts, one `Label: value` line each (the issue file's first, then the profile's)."""
    doc = inputs.document
    extent = inputs.scope.extent
    lines = [
        f"Issue: {inputs.name} (rank {doc.rank}, STATUS {doc.status.value}, prose drafted by: "
        f"{inputs.drafted_by or 'unknown'})",
        f"Benchmark: {doc.benchmark_file}; Runtime: {doc.runtime_ms}ms",
        f"Function: {doc.function} in {doc.file}, lines {extent.start_line}-{extent.end_line} "
        f"(signature on line {extent.signature_line})",
        f"Time Contribution: {doc.share_percent:.1f}% of runtime (the samples whose innermost "
        "frame in the VM's own source is this function)",
    ]
    facts = inputs.facts
    if facts is None:
        lines.append(f"Line: {doc.line} (the line the issue file cites)")
    else:
        lines += _profile_fact_lines(facts, doc.line)
    upper = round(doc.runtime_ms * doc.share_percent / 100)
    lines.append(
        f"Upper bound for Expected Impact: {doc.share_percent:.1f}% of runtime, about "
        f"{upper}ms of {doc.runtime_ms}ms"
    )
    return lines


def _profile_fact_lines(facts: HotspotFacts, line: int) -> list[str]:
    hotspot = facts.hotspot
    total = facts.context.total
    own = 100.0 * hotspot.self_value / total if total else 0.0
    others = [c for c in facts.line.candidates if c != line]
    markers = facts.classification.markers
    lines = [
        f"Line: {line} ({facts.line.reason})"
        + (
            f"; other lines that fit the same evidence: {', '.join(map(str, others))}"
            if others
            else ""
        ),
        f"Class: {facts.classification.issue_class.value}"
        + (f" (shown by {', '.join(compact_name(m) for m in markers)})" if markers else ""),
        f"Flat: {_figure(facts, hotspot.flat)}; cum: {_figure(facts, hotspot.cum)} (sampled "
        f"time, not wall time); the function's own instructions: {percent_text(own)} of runtime",
        "Call path (VM callers, nearest first): "
        + (shares_text(hotspot.callers, " <- ") or "none recorded"),
        "Callers (immediate VM call sites): "
        + (shares_text(hotspot.call_sites, ", ") or "none recorded"),
        "Heaviest chain below it: "
        + (shares_text(hotspot.chain[:8], " -> ") or "none (the time is in its own code)"),
        "Leaf breakdown (where the time is spent): "
        + (shares_text(hotspot.leaves, ", ") or "none"),
    ]
    if hotspot.merged:
        lines.append(
            "Merged helpers (their time is in the share): "
            + ", ".join(
                f"{compact_name(m.helper.symbol)} ({percent_text(m.percent)} through it)"
                for m in hotspot.merged
            )
        )
    if facts.call_site is not None:
        site = facts.call_site
        lines.append(
            f"Fix site: {compact_name(site.name)} ({percent_text(site.percent)} of runtime "
            "through it): a small helper called from many places, so the fix belongs there"
        )
    lines.append(f"Profile: {profile_kind_text(facts.context.kind)}")
    return lines


def missing_text(inputs: IssueInputs) -> str:
    """Which facts are missing and why; "" when the profile's facts are all there."""
    if inputs.facts is not None:
        return ""
    return (
        f"Missing: the profile's facts (flat and cum, the call path, the leaf breakdown, the "
        f"callers, the class): {inputs.missing or 'not rebuilt'}. Share, Line, Function and "
        "File above come from the issue file. Draft from them and the source, and say in "
        "root_cause or risk what only the profile could settle (rule 6)."
    )


def _draft_example(inputs: IssueInputs) -> str:
    fields = [f'  "{name}": "{meaning} (20-2400 characters)",' for name, meaning in _PROSE_FIELDS]
    line = inputs.document.line
    return "\n".join(
        [
            "{",
            *fields,
            f'  "evidence": [{{"line": {line}, "quote": "the code of line {line}, copied '
            'verbatim"}],',
            '  "name": null',
            "}",
        ]
    )


def brief_text(inputs: IssueInputs, templates: PromptTemplates) -> str:
    """The brief for people and agents; see the module docstring."""
    doc = inputs.document
    scope = inputs.scope
    extent = scope.extent
    out: list[str] = [
        f"# Brief: {inputs.path}",
        "",
        "Draft the prose of this issue: description, root_cause, approach, expected_impact and "
        "risk, with evidence. Our figures are measured and final; `perf-identify draft` checks "
        "your draft against them as it checks the API drafter's, and writes it only if it holds.",
        *(
            [
                "",
                f"This issue is {doc.status.value}: `perf-identify draft` rewrites prose only "
                "while an issue is IDENTIFIED, so this brief is for reading, not drafting.",
            ]
            if doc.status.value != "IDENTIFIED"
            else []
        ),
        "",
        "## Our facts",
        "",
        *fact_lines(inputs),
    ]
    missing = missing_text(inputs)
    if missing:
        out += ["", missing]
    out += ["", "## Rules (the API drafter's, word for word)", "", templates.rules.strip()]
    window = (
        ""
        if extent.end_line - extent.start_line + 1 <= LISTING_LINES
        else f" (a window around line {doc.line}: Read {scope.file} for the rest)"
    )
    out += [
        "",
        f"## Source of {scope.function} ({scope.file}, lines {extent.start_line}-"
        f"{extent.end_line}){window}",
        "",
        f"Evidence may cite only these lines ({extent.start_line}-{extent.end_line}); "
        + (
            "each line shows its share of all samples."
            if inputs.facts is not None and _shares(inputs.facts)
            else "this profile has no per-line figures."
        ),
        "",
        fence(_listing(inputs), _listing_label(inputs)),
    ]
    for section in inputs.related[:RELATED_LIMIT]:
        out += [
            "",
            f"## Related: {section.function} ({section.file}, lines {section.extent.start_line}-"
            f"{section.extent.end_line}), context only",
            "",
            f"{section.role[0].upper()}{section.role[1:]}. Evidence must still cite lines of "
            f"{scope.function}.",
            "",
            fence(section.excerpt, f"the numbered source of {section.function} ({section.file})"),
        ]
    out += [
        "",
        f"## The benchmark program ({doc.benchmark_file})",
        "",
        _program(inputs),
        "",
        "## Check a hypothesis against the profile",
        "",
        f"    {show_command(scope.function, inputs.profile_path)}",
        "",
        "prints the function's callers and callees with their shares (pprof's -peek) and, where "
        "the profile has true line numbers, its per-line figures (-list). Any function of the "
        "chain above works too.",
        "",
        "## Your draft",
        "",
        f"Write one JSON object to {draft_path(inputs.path)} (the Write tool), with these fields "
        "(`name`: null keeps the issue's name; evidence: 1 to 8 items):",
        "",
        _draft_example(inputs),
        "",
        "Then submit it:",
        "",
        f"    {submit_command(inputs.path)}",
        "",
        "Accepted: the five prose sections are rewritten, exit 0. Refused: exit 11, the issue "
        "file is unchanged, and every problem is one line on stderr naming the field "
        "(`evidence[0]: …`); fix exactly those and submit again.",
    ]
    return "\n".join(out) + "\n"


def brief_json(
    inputs: IssueInputs, templates: PromptTemplates, draft_schema: Mapping[str, Any]
) -> dict[str, Any]:
    """The same content as `brief_text`, as one JSON-ready object."""
    doc = inputs.document
    scope = inputs.scope
    extent = scope.extent
    facts = inputs.facts
    return {
        "issue": {
            "path": str(inputs.path),
            "name": inputs.name,
            "status": doc.status.value,
            "benchmark_file": doc.benchmark_file,
            "runtime_ms": doc.runtime_ms,
            "rank": doc.rank,
            "share_percent": doc.share_percent,
            "file": doc.file,
            "line": doc.line,
            "function": doc.function,
            "drafted_by": inputs.drafted_by,
        },
        "function": {
            "start_line": extent.start_line,
            "end_line": extent.end_line,
            "signature_line": extent.signature_line,
            "listing": fence(_listing(inputs), _listing_label(inputs)),
        },
        "facts": None if facts is None else _facts_json(facts),
        "missing": missing_text(inputs) or None,
        "upper_bound_percent": doc.share_percent,
        "related": [
            {
                "role": section.role,
                "function": section.function,
                "file": section.file,
                "start_line": section.extent.start_line,
                "end_line": section.extent.end_line,
                "listing": fence(
                    section.excerpt, f"the numbered source of {section.function} ({section.file})"
                ),
            }
            for section in inputs.related[:RELATED_LIMIT]
        ],
        "benchmark_program": _program(inputs),
        "rules": rules(templates),
        "show_command": show_command(scope.function, inputs.profile_path),
        "profile": None if inputs.profile_path is None else str(inputs.profile_path),
        "draft_path": str(draft_path(inputs.path)),
        "submit_command": submit_command(inputs.path),
        "draft_schema": dict(draft_schema),
    }


def _facts_json(facts: HotspotFacts) -> dict[str, Any]:
    hotspot = facts.hotspot

    def shares(items: Any) -> list[dict[str, Any]]:
        return [{"name": s.name, "percent": round(s.percent, 3)} for s in items]

    return {
        "line_reason": facts.line.reason,
        "candidate_lines": list(facts.line.candidates),
        "class": facts.classification.issue_class.value,
        "markers": list(facts.classification.markers),
        "flat": _figure(facts, hotspot.flat),
        "cum": _figure(facts, hotspot.cum),
        "own_percent": round(
            100.0 * hotspot.self_value / facts.context.total if facts.context.total else 0.0, 3
        ),
        "callers": shares(hotspot.callers),
        "call_sites": shares(hotspot.call_sites),
        "chain": shares(hotspot.chain),
        "leaves": shares(hotspot.leaves),
        "merged": [
            {"name": m.helper.symbol, "percent": round(m.percent, 3)} for m in hotspot.merged
        ],
        "fix_site": None
        if facts.call_site is None
        else {"name": facts.call_site.name, "percent": round(facts.call_site.percent, 3)},
        "profile_kind": facts.context.kind.value,
        "line_shares": {
            str(line): round(share * 100, 3) for line, share in (_shares(facts) or {}).items()
        },
    }
