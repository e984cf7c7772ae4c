"""The gate a submitted draft passes before its prose reaches an issue file.

Contract: `check_draft(raw, scope, source_lines)` is pure. `raw` is the text of a draft as an
agent wrote it (`perf-identify draft FILE --from JSON`): one JSON object with the fields of
`schema.Draft`. It returns a `GateResult`: the validated `Draft`, or every problem found, one
line each, naming the field (`description: …`, `evidence[0].quote: …`, `evidence[1]: line 12
is outside VM::index_op (lines 1357-1525); …`). The checks are the ones a model's reply passes
(`llm_drafter`): the schema first, then, for a draft that parses, `grounding.scope_problems`
against the function, its extent and the share the issue file states. Nothing else decides
whether prose is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from perf_identify.drafts import CheckedDraft
from perf_identify.grounding import IssueScope, scope_problems
from perf_identify.schema import Draft

MAX_PROBLEMS = 12
"""Problems reported at once; more would bury the first ones (the rest come on resubmission)."""
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


@dataclass(frozen=True, slots=True)
class GateResult:
    draft: CheckedDraft | None
    problems: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return self.draft is not None and not self.problems


def field_path(location: Sequence[int | str]) -> str:
    """pydantic's error location as a reader writes it: `('evidence', 0, 'quote')` ->
    `evidence[0].quote`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def validation_problems(exc: ValidationError, limit: int = MAX_PROBLEMS) -> list[str]:
    """One line per schema error, naming the field."""
    problems: list[str] = []
    for error in exc.errors(include_url=False)[:limit]:
        message = str(error["msg"])
        for prefix in _PYDANTIC_PREFIXES:
            message = message.removeprefix(prefix)
        if error["type"] == "json_invalid":
            problems.append(f"the draft is not one valid JSON object ({message})")
            continue
        where = field_path(error["loc"]) or "the draft"
        if error["type"] == "extra_forbidden":
            message = (
                "is not a field of a draft (the fields are description, root_cause, approach, "
                "expected_impact, risk, evidence, name)"
            )
        problems.append(f"{where}: {message}")
    return problems


def check_draft(raw: str | bytes, scope: IssueScope, source_lines: Sequence[str]) -> GateResult:
    """The draft in `raw`, if it passes the schema and the grounding; else every problem."""
    try:
        draft = Draft.model_validate_json(raw).checked()
    except ValidationError as exc:
        return GateResult(None, tuple(validation_problems(exc)))
    problems = scope_problems(draft, scope, source_lines)[:MAX_PROBLEMS]
    return GateResult(draft, tuple(problems))
