"""The draft: the prose of one issue file, as any drafter (offline or a model) must return it.

Contract: `Draft` is the trust boundary for prose from outside. It is a pydantic model so that a
model's structured reply, or the JSON an agent submits, parses straight into it; `Draft.checked()`
hands the pipeline the same draft as plain data (`drafts.CheckedDraft`). Its validators are the
rules of `drafts.py`, which our own offline drafter applies through `drafts.checked_draft`
without pydantic: one set of rules, two doors. Validation here is about shape: required
fields, lengths, normalized whitespace, no template placeholders, a well-formed suggested
name. Whether the draft is *true* to the profile and the source (cited lines inside the
function, quotes that match, no impact above the measured share) is checked against the facts
in `grounding.py`.

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

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from perf_identify.drafts import (
    ELLIPSIS,
    MAX_EVIDENCE,
    MAX_NAME_CHARS,
    MAX_PROSE_CHARS,
    MAX_QUOTE_CHARS,
    MIN_ELIDED_CHARS,
    MIN_PROSE_CHARS,
    CheckedDraft,
    CitedLine,
    checked_name,
    checked_prose,
    checked_quote,
    code_span,
    code_spans,
    fit_code_spans,
    fit_name,
    placeholder_in,
    prose_outside_code,
)

__all__ = [
    "ELLIPSIS",
    "MAX_NAME_CHARS",
    "MAX_PROSE_CHARS",
    "MAX_QUOTE_CHARS",
    "MIN_ELIDED_CHARS",
    "Draft",
    "Evidence",
    "code_span",
    "code_spans",
    "fit_code_spans",
    "fit_name",
    "placeholder_in",
    "prose_outside_code",
]

# The limits are shown to the model as `maxLength` (the schema it is asked to follow) but not
# enforced by pydantic, which would refuse instead of shortening; the validators shorten.
Prose = Annotated[
    str, Field(min_length=MIN_PROSE_CHARS, json_schema_extra={"maxLength": MAX_PROSE_CHARS})
]


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
        return checked_quote(value)


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
    evidence: list[Evidence] = Field(min_length=1, max_length=MAX_EVIDENCE)
    name: str | None = Field(
        default=None,
        description="optional better issue name, UPPERCASE_WITH_UNDERSCORES, at most 60 chars",
    )

    @field_validator("description", "root_cause", "approach", "expected_impact", "risk")
    @classmethod
    def _prose(cls, value: str) -> str:
        return checked_prose(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return checked_name(value)

    def checked(self) -> CheckedDraft:
        """The validated draft as the pipeline's plain data (`drafts.CheckedDraft`)."""
        return CheckedDraft(
            description=self.description,
            root_cause=self.root_cause,
            approach=self.approach,
            expected_impact=self.expected_impact,
            risk=self.risk,
            evidence=tuple(CitedLine(e.line, e.quote) for e in self.evidence),
            name=self.name,
        )
