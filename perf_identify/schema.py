"""The draft: the prose of one issue file, as any drafter (offline or a model) must return it.

Contract: `Draft` is the trust boundary for prose. It is a pydantic model so that a model's
structured reply parses straight into it; the offline drafter builds the same model, so both
paths pass one gate. Validation here is about shape: required fields, lengths, normalized
whitespace, no template placeholders, a well-formed suggested name. Whether the draft is *true*
to the profile and the source (cited lines inside the function, quotes that match, no impact
above the measured share) is checked against the facts in `grounding.py`.

Prose quotes code (source lines, Rust symbol names, attributes such as `#[cold]`), and code is
not ours to judge, so the rules are:

* The placeholder gate judges prose only. Markdown code spans (a run of N backticks up to the
  next run of exactly N, as in CommonMark; `code_spans`) are taken out first, so `[idx]`,
  `// TODO` or `<insert` inside backticks never count. Outside code spans, only the spec
  template's own placeholders (`[date]`, `[X]`, `[line number]`, `[What is happening in this
  code path]`, ...; see `_PLACEHOLDERS`) and TODO/TBD/FIXME/XXX, "lorem ipsum" and "<insert"
  are refused; Rust indexing in plain prose (`self.constants[idx]`) is not a placeholder.
* What comes from outside is shortened to fit, never refused for its length: a prose field
  longer than `MAX_PROSE_CHARS` has its longest code spans elided in the middle (`head…tail`)
  until it fits; an evidence quote longer than `MAX_QUOTE_CHARS` keeps its verbatim prefix (so
  it still matches its source line); a suggested name longer than `MAX_NAME_CHARS` is cut at an
  underscore where it can be, then checked. Only prose *words* (outside code spans) past the
  limit are refused. The JSON schema still shows every limit as `maxLength`, so a model aims
  under it.

Validation is idempotent: `Draft.model_validate(d.model_dump()) == d` for every valid `d`, so a
cached draft reads back unchanged.
"""

from __future__ import annotations

import bisect
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from perf_identify.render import is_valid_issue_name, normalize_prose

MAX_PROSE_CHARS = 2400
MAX_QUOTE_CHARS = 300
MAX_NAME_CHARS = 60
"""The bound of `render.is_valid_issue_name`."""
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


# The limits are shown to the model as `maxLength` (the schema it is asked to follow) but not
# enforced by pydantic, which would refuse instead of shortening; the validators shorten.
Prose = Annotated[str, Field(min_length=20, json_schema_extra={"maxLength": MAX_PROSE_CHARS})]


class Evidence(BaseModel):
    """One claim's anchor in the source: a line number and that line's text, verbatim."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: int = Field(ge=1, description="1-based line number in the hotspot's source file")
    quote: str = Field(
        min_length=1,
        description="the code on that line, copied verbatim",
        json_schema_extra={"maxLength": MAX_QUOTE_CHARS},
    )

    @field_validator("quote")
    @classmethod
    def _quote(cls, value: str) -> str:
        # A prefix of the line is still a verbatim fragment of it, which is all grounding asks.
        return value[:MAX_QUOTE_CHARS]


class Draft(BaseModel):
    """Description, Root Cause, Approach, Expected Impact and Risk, with cited evidence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: Prose = Field(description="what happens in this code path, in plain prose")
    root_cause: Prose = Field(description="why it is slow: the algorithmic or implementation cause")
    approach: Prose = Field(description="the specific change to make")
    expected_impact: Prose = Field(
        description="estimated improvement and reasoning; never above the measured share"
    )
    risk: Prose = Field(description="correctness concerns and edge cases")
    evidence: list[Evidence] = Field(min_length=1, max_length=8)
    name: str | None = Field(
        default=None,
        description="optional better issue name, UPPERCASE_WITH_UNDERSCORES, at most 60 chars",
    )

    @field_validator("description", "root_cause", "approach", "expected_impact", "risk")
    @classmethod
    def _prose(cls, value: str) -> str:
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

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        fitted = fit_name(value)
        if not is_valid_issue_name(fitted):
            raise ValueError(
                f"{fitted!r} is not a short UPPERCASE_WITH_UNDERSCORES name (no paths, no suffix)"
            )
        return fitted
