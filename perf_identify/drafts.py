"""The draft in the pipeline: the prose of one issue, checked, as plain frozen data.

Contract: `CheckedDraft` holds Description, Root Cause, Approach, Expected Impact and Risk, the
cited lines (`CitedLine`) and an optional better name. It is only ever built by `checked_draft`
(our own offline drafter) or by `schema.Draft.checked()` (a draft from a model or an agent, parsed
and validated by pydantic at that trust boundary); both apply the same rules, defined once here:
prose is normalized, its longest code spans elided to fit `MAX_PROSE_CHARS`, refused when it holds
a template placeholder outside code spans or is shorter than `MIN_PROSE_CHARS`; a quote keeps a
verbatim prefix of at most `MAX_QUOTE_CHARS`; a suggested name is cut to `MAX_NAME_CHARS` and must
be a valid issue name; there are 1 to `MAX_EVIDENCE` cited lines, numbered from 1. A rule broken
is a `DraftRuleError` naming the field.

Pure, and free of pydantic: an offline run (the demo, a user without a key) drafts and writes its
issues without importing it. Whether a draft is *true* to the profile and the source is
`grounding.py`'s question, not this module's.

The placeholder and fitting rules (see `schema.py`'s docstring for why they read as they do):
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from perf_identify.render import is_valid_issue_name, normalize_prose

MAX_PROSE_CHARS = 2400
MAX_QUOTE_CHARS = 300
MAX_NAME_CHARS = 60
"""The bound of `render.is_valid_issue_name`."""
MIN_PROSE_CHARS = 20
MAX_EVIDENCE = 8
MIN_ELIDED_CHARS = 16
"""A code span is never elided below this many characters of its own text."""
ELLIPSIS = "\u2026"

# The issue template's placeholders (the spec's perf-identify-command.md) and the usual filler
# markers. A bracket placeholder opens a word: `v[X]` or `table[date]` is indexing, not a
# placeholder, hence the look-behind. `[X]` is matched in upper case only, because `[x]` is
# also a Markdown checkbox; the markers only in upper case and not inside a path or file name,
# because a benchmark called examples/todo.santa is named in plain prose.
_PLACEHOLDERS = re.compile(
    r"(?<![\w\])])\[(?:X|(?i:date|line number|function_name|descriptive name"
    r"|lang/src/vm/file\.rs|1/2/3 etc|what is happening\b[^\]]*|why this is slow\b[^\]]*"
    r"|specific change to make|estimated improvement\b[^\]]*"
    r"|any correctness concerns\b[^\]]*))\]"
    r"|(?<![\w/.-])(?:TODO|TBD|FIXME|XXX)(?![\w/-]|\.\w)"
    r"|(?i:lorem ipsum|<insert)"
)
_BACKTICK_RUN = re.compile(r"`+")


def code_spans(text: str) -> list[tuple[int, int, int]]:
    """`(start, end, fence)` of every Markdown code span in `text`, in order.

    As in CommonMark, a run of N backticks opens a span that the next run of exactly N
    backticks closes; a run with no such closer is literal text. Unlike CommonMark, a paragraph
    break does not end a span: prose is normalized first, and a quoted source fragment must not
    turn back into prose because it held a blank line.
    """
    runs = [(m.start(), m.end()) for m in _BACKTICK_RUN.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    spans: list[tuple[int, int, int]] = []
    index = 0
    while index < len(runs):
        start, end = runs[index]
        same = by_length[end - start]
        position = bisect.bisect_right(same, index)
        if position == len(same):
            index += 1
            continue
        closer = same[position]
        spans.append((start, runs[closer][1], end - start))
        index = closer + 1
    return spans


def code_span(text: str) -> str:
    """The Markdown code span that shows `text` verbatim, whatever backticks it holds.

    The fence is one backtick longer than the longest run in `text`, with a space inside each
    fence when `text` starts or ends with a backtick (CommonMark strips one such pair). Empty
    text becomes `` ` ` ``, because two backticks alone would be a literal run, not a span.
    """
    if not text:
        return "` `"
    fence = "`" * (max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _shown(content: str) -> str:
    """What a code span displays: CommonMark strips one space from each end, when both have one."""
    if len(content) >= 2 and content[0] == content[-1] == " " and content.strip(" "):
        return content[1:-1]
    return content


def prose_outside_code(text: str) -> str:
    """`text` with every code span replaced by one space: what the placeholder gate reads."""
    parts: list[str] = []
    position = 0
    for start, end, _fence in code_spans(text):
        parts.append(text[position:start])
        position = end
    parts.append(text[position:])
    return " ".join(parts)


def placeholder_in(text: str) -> str | None:
    """The first template placeholder or filler marker in `text`'s prose, if any."""
    match = _PLACEHOLDERS.search(prose_outside_code(text))
    return match.group(0) if match else None


def _elide(text: str, cap: int) -> str:
    """`text` with every code span showing more than `cap` characters cut to `head…tail`.

    The span is fenced again (`code_span`), so a cut through a backtick run cannot close it
    early and a long fence shrinks with the text it guarded.
    """
    parts: list[str] = []
    position = 0
    for start, end, fence in code_spans(text):
        shown = _shown(text[start + fence : end - fence])
        if len(shown) <= cap:
            continue
        tail = (cap - 1) // 2
        head = cap - 1 - tail
        parts.append(text[position:start])
        parts.append(code_span(shown[:head] + ELLIPSIS + shown[len(shown) - tail :]))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def fit_code_spans(text: str, limit: int) -> str:
    """`text` unchanged if it fits `limit`; else with its longest code spans elided to fit.

    The cap is the largest that fits, so every span keeps as much of itself as the room allows.
    When even spans of `MIN_ELIDED_CHARS` leave `text` too long, the words outside the spans
    are what is too long, and the shortest version is returned for the caller to refuse.
    """
    if len(text) <= limit:
        return text
    longest = max((end - start for start, end, _ in code_spans(text)), default=0)
    low, high = MIN_ELIDED_CHARS, longest
    if high <= low or len(_elide(text, low)) > limit:
        return _elide(text, low)
    # Invariant: `low` fits and `high` does not (the text at cap `longest` is the original).
    while high - low > 1:
        middle = (low + high) // 2
        if len(_elide(text, middle)) <= limit:
            low = middle
        else:
            high = middle
    return _elide(text, low)


def fit_name(name: str) -> str:
    """`name` cut to `MAX_NAME_CHARS`: at the last underscore that fits, unless that keeps less
    than half the room (then mid-word, which keeps more of what the name says)."""
    if len(name) <= MAX_NAME_CHARS:
        return name
    cut = name.rfind("_", 0, MAX_NAME_CHARS + 1)
    return (name[:cut] if cut >= MAX_NAME_CHARS // 2 else name[:MAX_NAME_CHARS]).rstrip("_")


class DraftRuleError(ValueError):
    """A draft broke one of the rules above; `field` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def checked_prose(value: str) -> str:
    """One prose field, normalized and fitted; `ValueError` when it still breaks a rule."""
    normalized = normalize_prose(value)
    if len(normalized) > MAX_PROSE_CHARS:
        # Normalizing again joins a line that an elision left starting with the ellipsis.
        normalized = normalize_prose(fit_code_spans(normalized, MAX_PROSE_CHARS))
    if len(normalized) > MAX_PROSE_CHARS:
        raise ValueError(
            f"is {len(normalized)} characters long; at most {MAX_PROSE_CHARS}, and code "
            f"spans are already shortened to {MIN_ELIDED_CHARS} characters each"
        )
    placeholder = placeholder_in(normalized)
    if placeholder is not None:
        raise ValueError(f"contains placeholder text {placeholder[:80]!r}")
    return normalized


def checked_quote(value: str) -> str:
    # A prefix of the line is still a verbatim fragment of it, which is all grounding asks.
    return value[:MAX_QUOTE_CHARS]


def checked_name(value: str | None) -> str | None:
    if value is None:
        return None
    fitted = fit_name(value)
    if not is_valid_issue_name(fitted):
        raise ValueError(
            f"{fitted!r} is not a short UPPERCASE_WITH_UNDERSCORES name (no paths, no suffix)"
        )
    return fitted


@dataclass(frozen=True, slots=True)
class CitedLine:
    """One claim's anchor in the source: a line number and that line's text, verbatim."""

    line: int
    quote: str


@dataclass(frozen=True, slots=True)
class CheckedDraft:
    """Description, Root Cause, Approach, Expected Impact and Risk, with cited evidence."""

    description: str
    root_cause: str
    approach: str
    expected_impact: str
    risk: str
    evidence: tuple[CitedLine, ...]
    name: str | None = None

    def to_json(self) -> dict[str, object]:
        """The draft as the JSON object `schema.Draft` reads (the draft cache stores this)."""
        return {
            "description": self.description,
            "root_cause": self.root_cause,
            "approach": self.approach,
            "expected_impact": self.expected_impact,
            "risk": self.risk,
            "evidence": [{"line": cited.line, "quote": cited.quote} for cited in self.evidence],
            "name": self.name,
        }


PROSE_FIELDS = ("description", "root_cause", "approach", "expected_impact", "risk")


def checked_draft(
    *,
    description: str,
    root_cause: str,
    approach: str,
    expected_impact: str,
    risk: str,
    evidence: Sequence[tuple[int, str]],
    name: str | None = None,
) -> CheckedDraft:
    """A `CheckedDraft` from raw fields, with every rule of the module docstring applied."""
    raw = {
        "description": description,
        "root_cause": root_cause,
        "approach": approach,
        "expected_impact": expected_impact,
        "risk": risk,
    }
    prose: dict[str, str] = {}
    for field, value in raw.items():
        if len(value) < MIN_PROSE_CHARS:
            raise DraftRuleError(field, f"should have at least {MIN_PROSE_CHARS} characters")
        try:
            prose[field] = checked_prose(value)
        except ValueError as exc:
            raise DraftRuleError(field, str(exc)) from None
    if not 1 <= len(evidence) <= MAX_EVIDENCE:
        raise DraftRuleError("evidence", f"should have 1 to {MAX_EVIDENCE} items")
    cited: list[CitedLine] = []
    for index, (line, quote) in enumerate(evidence):
        if line < 1:
            raise DraftRuleError(f"evidence.{index}.line", "should be at least 1")
        if not quote:
            raise DraftRuleError(f"evidence.{index}.quote", "should have at least 1 character")
        cited.append(CitedLine(line, checked_quote(quote)))
    try:
        fitted = checked_name(name)
    except ValueError as exc:
        raise DraftRuleError("name", str(exc)) from None
    return CheckedDraft(**prose, evidence=tuple(cited), name=fitted)
