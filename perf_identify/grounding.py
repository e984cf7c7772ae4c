"""Check a draft against the facts: the gate between any drafter's prose and an issue file.

Contract: `draft_problems(draft, facts, source_lines)` is pure and returns a list of problems,
each one sentence that a model can act on when asked to retry (empty when the draft holds):

* every evidence line lies inside the function named in `Function:`;
* every quote matches its line, whitespace-normalized (a verbatim fragment of at least
  `MIN_QUOTE_CHARS` characters, or the whole line when it is shorter);
* no percentage in Expected Impact exceeds the hotspot's measured share of runtime, because
  removing a function's time cannot save more than the time it has.

A suggested name's shape is checked by the schema already.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from perf_identify.facts import HotspotFacts
from perf_identify.schema import Draft

MIN_QUOTE_CHARS = 8
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b)")


def _squash(text: str) -> str:
    return " ".join(text.split())


def draft_problems(draft: Draft, facts: HotspotFacts, source_lines: Sequence[str]) -> list[str]:
    problems: list[str] = []
    extent = facts.extent
    span = f"{facts.function} (lines {extent.start_line}-{extent.end_line} of {facts.file})"
    for evidence in draft.evidence:
        if not extent.contains(evidence.line):
            problems.append(f"evidence line {evidence.line} is outside {span}")
            continue
        actual = _squash(source_lines[evidence.line - 1])
        quote = _squash(evidence.quote)
        long_enough = len(quote) >= min(MIN_QUOTE_CHARS, len(actual))
        if not quote or quote not in actual or not long_enough:
            problems.append(
                f"evidence line {evidence.line}: quote {evidence.quote!r} does not match "
                f"the source line {actual!r}"
            )
    ceiling = round(facts.share_percent, 1)
    for match in _PERCENT.finditer(draft.expected_impact):
        claimed = float(match.group(1))
        if claimed > ceiling + 0.05:
            problems.append(
                f"Expected Impact claims {match.group(0)}, above the hotspot's measured share "
                f"of {ceiling:.1f}% of runtime"
            )
    return problems
