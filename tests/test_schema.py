"""The draft schema: placeholders are judged in prose only; what comes from outside is shortened.

The real cases come from profiles of the Blitzen VM, where the offline drafter quoted
`let value = self.constants[idx].clone();` and its playbook says `#[cold]`, and the old gate took
both for template placeholders.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from perf_identify.grounding import draft_problems
from perf_identify.offline_drafter import offline_draft
from perf_identify.render import normalize_prose
from perf_identify.schema import (
    ELLIPSIS,
    MAX_NAME_CHARS,
    MAX_PROSE_CHARS,
    MAX_QUOTE_CHARS,
    Draft,
    code_span,
    code_spans,
    placeholder_in,
    prose_outside_code,
)
from tests.fake_vm import fake_vm_facts

SENTENCE = "The interpreter clones the constant on every load of the hot loop."

# Every placeholder of the issue template in the spec (perf-identify-command.md).
TEMPLATE_PLACEHOLDERS = [
    "[date]",
    "[X]",
    "[line number]",
    "[function_name]",
    "[DESCRIPTIVE NAME]",
    "[lang/src/vm/file.rs]",
    "[1/2/3 etc]",
    "[What is happening in this code path]",
    "[Why this is slow - be specific about the algorithmic or implementation issue]",
    "[Specific change to make]",
    "[Estimated improvement percentage and reasoning]",
    "[Any correctness concerns or edge cases to watch for]",
]
FILLER = ["TODO", "TBD", "FIXME", "XXX", "lorem ipsum", "<insert"]
# What a code span may hold that the old gate refused, or that could break a span's fences.
DANGEROUS = [
    *TEMPLATE_PLACEHOLDERS,
    *FILLER,
    "[idx]",
    "#[cold]",
    "// TODO",
    "`",
    "``",
    "```",
    "\x00",
    "\x1b[31m",
    "\n\n",
    "\n- ",
    "\u2028",
]


def _valid(**fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "description": SENTENCE,
        "root_cause": SENTENCE,
        "approach": SENTENCE,
        "expected_impact": SENTENCE,
        "risk": SENTENCE,
        "evidence": [{"line": 1, "quote": "let value = self.constants[idx].clone();"}],
    }
    data.update(fields)
    return data


# -- the placeholder gate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "prose",
    [
        "The hot line reads `let value = self.constants[idx].clone();` on every iteration.",
        "Move the rare branch into a separate `#[cold]` function so the hot path stays small.",
        "The cited line reads `self.frames.pop(); // TODO: reuse the frame` in the loop.",
        "The line `` let tick = '`'; // [date] TODO `` is quoted with a longer fence.",
        "Indexing self.constants[idx] and v[i] in plain prose is Rust, not a placeholder.",
        "A [cold] attribute or an [idx] word outside backticks is fine, and so is arr[X].",
        "The benchmark examples/todo.santa spends its time in TODO.rs, a real file name.",
        "- [x] a checked Markdown box is not the template's upper-case placeholder.",
    ],
    ids=["index", "cold-attribute", "todo-comment", "double-fence", "indexing-prose",
         "bracket-words", "todo-in-a-path", "checkbox"],
)  # fmt: skip
def test_quoted_code_and_rust_indexing_are_not_placeholders(prose: str) -> None:
    draft = Draft.model_validate(_valid(description=prose))
    assert draft.description == normalize_prose(prose)


@pytest.mark.parametrize("placeholder", TEMPLATE_PLACEHOLDERS + FILLER)
def test_template_placeholders_in_prose_are_refused(placeholder: str) -> None:
    with pytest.raises(ValidationError, match="placeholder text"):
        Draft.model_validate(_valid(approach=f"{SENTENCE} {placeholder} and then more."))


def test_an_unclosed_backtick_is_literal_so_what_follows_is_prose() -> None:
    assert placeholder_in("The line `let x = 1; TODO later") == "TODO"
    assert placeholder_in("A `` fence closed by ` is no fence: [date]") == "[date]"


def test_code_spans_follow_commonmark_fences() -> None:
    text = "a `x` b `` a ` b `` c ``` d"
    assert [text[start:end] for start, end, _ in code_spans(text)] == ["`x`", "`` a ` b ``"]
    assert prose_outside_code(text).split() == ["a", "b", "c", "```", "d"]


# -- shortened, not refused --------------------------------------------------------------------


def test_a_long_quote_keeps_a_verbatim_prefix_that_still_matches_its_line() -> None:
    facts, lines = fake_vm_facts()[0]
    long_line = "    let graphemes: Vec<&str> = s.graphemes(true).collect(); // " + "x" * 400
    lines = [*lines]
    lines[facts.line.line - 1] = long_line
    data = offline_draft(facts).to_json()
    data["evidence"] = [{"line": facts.line.line, "quote": long_line.strip()}]
    checked = Draft.model_validate(data).checked()
    quote = checked.evidence[0].quote
    assert len(quote) == MAX_QUOTE_CHARS
    assert long_line.strip().startswith(quote)
    assert draft_problems(checked, facts, lines) == []


def test_a_long_name_is_cut_at_an_underscore() -> None:
    name = "STRING_GRAPHEME_COLLECT_IN_INDEX_OP_CALLED_FROM_BUILTIN_FOLD_AND_MAP"
    draft = Draft.model_validate(_valid(name=name))
    assert draft.name == "STRING_GRAPHEME_COLLECT_IN_INDEX_OP_CALLED_FROM_BUILTIN_FOLD"
    without_underscores = "A" * 80
    assert Draft.model_validate(_valid(name=without_underscores)).name == "A" * MAX_NAME_CHARS
    assert Draft.model_validate(_valid(name="A" * MAX_NAME_CHARS)).name == "A" * MAX_NAME_CHARS


def test_a_long_name_that_is_not_a_name_is_still_refused() -> None:
    with pytest.raises(ValidationError, match="UPPERCASE_WITH_UNDERSCORES"):
        Draft.model_validate(_valid(name="../" * 40 + "etc/passwd"))


def test_a_long_chain_of_symbol_names_is_elided_to_fit() -> None:
    symbol = "<alloc::vec::Vec<T> as core::iter::traits::collect::FromIterator<T>>::from_iter" * 4
    chain = " -> ".join(f"`{symbol}::{index}`" for index in range(12))
    prose = f"Below it, the heaviest path runs {chain}, and that is where the time goes."
    assert len(prose) > MAX_PROSE_CHARS
    draft = Draft.model_validate(_valid(description=prose))
    assert len(draft.description) <= MAX_PROSE_CHARS
    assert prose_outside_code(draft.description).split() == prose_outside_code(prose).split()
    spans = code_spans(draft.description)
    assert len(spans) == 12
    for index, (start, end, _) in enumerate(spans):
        shown = draft.description[start + 1 : end - 1]
        assert ELLIPSIS in shown
        assert shown.startswith("<alloc::vec::Vec<T>")
        assert shown.endswith(f"::from_iter::{index}")


def test_prose_words_past_the_limit_are_still_refused() -> None:
    words = "The loop allocates a fresh vector on every iteration. " * 60
    with pytest.raises(ValidationError, match="characters long"):
        Draft.model_validate(_valid(risk=words))


def test_the_model_still_sees_every_limit_in_the_json_schema() -> None:
    schema = Draft.model_json_schema()
    assert schema["properties"]["description"]["maxLength"] == MAX_PROSE_CHARS
    assert schema["$defs"]["Evidence"]["properties"]["quote"]["maxLength"] == MAX_QUOTE_CHARS


# -- properties --------------------------------------------------------------------------------


@st.composite
def code_texts(draw: st.DrawFn) -> str:
    """Any text, with the fragments that matter mixed in, up to about 10 KB."""
    parts = draw(st.lists(st.one_of(st.text(), st.sampled_from(DANGEROUS)), max_size=6))
    bulk = draw(st.sampled_from(DANGEROUS))
    repeat = draw(st.integers(0, 10_000 // len(bulk)))
    return "".join(parts) + bulk * repeat


PROSE_WORDS = st.sampled_from(
    [SENTENCE, "It indexes self.constants[idx] each time.", "See [cold] paths.", "Then", "and"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(PROSE_WORDS, code_texts()), min_size=1, max_size=4))
def test_anything_inside_code_spans_validates_and_is_stable(pieces: list[tuple[str, str]]) -> None:
    prose = " ".join(f"{words} {code_span(code)}" for words, code in pieces) + f" {SENTENCE}"
    draft = Draft.model_validate(_valid(description=prose))
    assert len(draft.description) <= MAX_PROSE_CHARS
    # The prose around the spans survives whole: no span swallowed it or leaked into it.
    expected = " ".join(words for words, _ in pieces).split() + SENTENCE.split()
    assert prose_outside_code(draft.description).split() == expected
    assert Draft.model_validate(draft.model_dump()) == draft


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(TEMPLATE_PLACEHOLDERS + FILLER),
    st.lists(code_texts(), min_size=1, max_size=3),
)
def test_placeholders_between_code_spans_are_still_refused(
    placeholder: str, codes: list[str]
) -> None:
    spans = " ".join(code_span(code) for code in codes)
    prose = f"{SENTENCE} {spans} {placeholder} {code_span(codes[0])} {SENTENCE}"
    with pytest.raises(ValidationError, match=re.escape("placeholder text")):
        Draft.model_validate(_valid(root_cause=prose))


def test_the_shipped_draft_schema_is_the_models() -> None:
    """`brief --json` reads the schema from prompts/draft_schema.json (no pydantic to import).
    When the model changes, write `json.dumps(Draft.model_json_schema(), indent=2)` there."""
    from perf_identify.prompt_files import load_draft_schema
    from perf_identify.schema import Draft

    assert load_draft_schema() == Draft.model_json_schema()
