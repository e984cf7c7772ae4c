"""The draft: the prose of one issue file, as any drafter (offline or a model) must return it.

Contract: `Draft` is the trust boundary for prose. It is a pydantic model so that a model's
structured reply parses straight into it; the offline drafter builds the same model, so both
paths pass one gate. Validation here is about shape: required fields, lengths, normalized
whitespace, no template placeholders, a well-formed suggested name. Whether the draft is *true*
to the profile and the source (cited lines inside the function, quotes that match, no impact
above the measured share) is checked against the facts in `grounding.py`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from perf_identify.render import is_valid_issue_name, normalize_prose

_PLACEHOLDERS = re.compile(
    r"\[(?:date|x|line number|function_name|descriptive name|[A-Z][a-z]+(?: [a-z]+)*)\]"
    r"|\b(?:TODO|TBD|FIXME|XXX)\b|lorem ipsum|<insert",
    re.IGNORECASE,
)

Prose = Annotated[str, Field(min_length=20, max_length=2400)]


class Evidence(BaseModel):
    """One claim's anchor in the source: a line number and that line's text, verbatim."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line: int = Field(ge=1, description="1-based line number in the hotspot's source file")
    quote: str = Field(
        min_length=1, max_length=300, description="the code on that line, copied verbatim"
    )


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
        match = _PLACEHOLDERS.search(normalized)
        if match:
            raise ValueError(f"contains placeholder text {match.group(0)!r}")
        return normalized

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_valid_issue_name(value):
            raise ValueError(
                f"{value!r} is not a short UPPERCASE_WITH_UNDERSCORES name (no paths, no suffix)"
            )
        return value
