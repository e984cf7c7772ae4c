"""Check a draft against the facts: the gate between any drafter's prose and an issue file.

Contract: `draft_problems(draft, facts, source_lines)` is pure and returns a list of problems,
each one line that says what to change, naming the field it is about (`evidence[0]: …`,
`expected_impact: …`), so a model retrying, or an agent fixing its draft file, can act on it
(empty when the draft holds):

* every evidence line lies inside the function named in `Function:`;
* every quote matches its line, whitespace-normalized (a verbatim fragment of at least
  `MIN_QUOTE_CHARS` characters, or the whole line when it is shorter);
* no percentage in Expected Impact exceeds the hotspot's measured share of runtime, because
  removing a function's time cannot save more than the time it has.

`scope_problems(draft, scope, source_lines)` is the same check against an `IssueScope`: the
function, its extent in the current source and the share an issue file states. That is what
`perf-identify draft` holds an agent's draft to, whether or not the profile is still there to
rebuild the full facts from. A suggested name's shape is checked by the schema already.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from perf_identify.facts import HotspotFacts
from perf_identify.source import FunctionExtent

if TYPE_CHECKING:
    from perf_identify.drafts import CheckedDraft

MIN_QUOTE_CHARS = 8
QUOTE_SHOWN_CHARS = 120
"""A quote or source line longer than this is cut in a problem, which must stay one line."""
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b)")


@dataclass(frozen=True, slots=True)
class IssueScope:
    """What a draft is held to: the function and its lines, and the measured share."""

    function: str
    file: str
    extent: FunctionExtent
    share_percent: float
    """As the issue file prints it (Time Contribution), or the facts' unrounded share."""

    @classmethod
    def of(cls, facts: HotspotFacts) -> IssueScope:
        return cls(facts.function, facts.file, facts.extent, facts.share_percent)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _shown(text: str) -> str:
    cut = text if len(text) <= QUOTE_SHOWN_CHARS else text[: QUOTE_SHOWN_CHARS - 1] + "\u2026"
    return repr(cut)


def draft_problems(
    draft: CheckedDraft, facts: HotspotFacts, source_lines: Sequence[str]
) -> list[str]:
    return scope_problems(draft, IssueScope.of(facts), source_lines)


def scope_problems(
    draft: CheckedDraft, scope: IssueScope, source_lines: Sequence[str]
) -> list[str]:
    problems: list[str] = []
    extent = scope.extent
    span = f"lines {extent.start_line}-{extent.end_line}"
    for index, evidence in enumerate(draft.evidence):
        field = f"evidence[{index}]"
        if not extent.contains(evidence.line) or evidence.line > len(source_lines):
            problems.append(
                f"{field}: line {evidence.line} is outside {scope.function} ({span}); cite a "
                f"line of its numbered listing in {scope.file}"
            )
            continue
        actual = _squash(source_lines[evidence.line - 1])
        quote = _squash(evidence.quote)
        long_enough = len(quote) >= min(MIN_QUOTE_CHARS, len(actual))
        if not quote or quote not in actual or not long_enough:
            problems.append(
                f"{field}: quote {_shown(evidence.quote)} does not match the source line "
                f"{evidence.line}, which reads {_shown(actual)}; copy the whole line or at "
                f"least {MIN_QUOTE_CHARS} characters of it verbatim"
            )
    ceiling = round(scope.share_percent, 1)
    for match in _PERCENT.finditer(draft.expected_impact):
        claimed = float(match.group(1))
        if claimed > ceiling + 0.05:
            problems.append(
                f"expected_impact: claims {match.group(0)}, above the hotspot's measured share "
                f"of {ceiling:.1f}% of runtime; no percentage there may exceed {ceiling:.1f}%"
            )
    return problems
