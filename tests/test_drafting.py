"""The offline drafter and the grounding gate, on the fake VM's real source files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from perf_identify.drafting import OfflineDrafter
from perf_identify.drafts import PROSE_FIELDS, CitedLine, DraftRuleError, checked_draft
from perf_identify.facts import RunContext, SourceProblem, hotspot_facts
from perf_identify.fix_sites import merge_fix_sites
from perf_identify.grounding import draft_problems
from perf_identify.hotspots import PathMapper, rank_profile
from perf_identify.offline_drafter import offline_draft
from perf_identify.pprof import decode_profile
from perf_identify.schema import Draft
from perf_identify.symbols import compact_name
from tests.fake_vm import fake_vm_facts
from tests.test_pprof import FIXTURE_NAMES


def test_offline_drafts_pass_schema_and_grounding_and_are_deterministic() -> None:
    pairs = fake_vm_facts()
    summary = OfflineDrafter().draft_all([f for f, _ in pairs], [lines for _, lines in pairs])
    again = OfflineDrafter().draft_all([f for f, _ in pairs], [lines for _, lines in pairs])
    assert summary == again
    assert summary.fallbacks == 0
    for (facts, lines), result in zip(pairs, summary.results, strict=True):
        assert draft_problems(result.draft, facts, lines) == []
        assert facts.function in result.draft.description
        assert f"{facts.share_percent:.1f}%" in result.draft.expected_impact


def test_description_names_chain_leaves_callers_and_line() -> None:
    facts, _ = fake_vm_facts()[0]
    text = offline_draft(facts).description
    assert "`Iterator::collect`" in text
    assert "`hint::select_unpredictable` (85.0%)" in text
    assert "`VM::execute_until`" in text
    assert f"line {facts.line.line}" in text
    assert "graphemes(true).collect()" in text


def test_tiny_helper_points_at_its_call_site() -> None:
    pairs = fake_vm_facts()
    push = next(f for f, _ in pairs if f.function == "VM::push")
    draft = offline_draft(push)
    assert "`VM::execute_until`" in draft.approach
    assert draft.approach.startswith("Fix the callers")


def test_grounding_rejects_false_evidence_and_inflated_impact() -> None:
    facts, lines = fake_vm_facts()[0]
    honest = offline_draft(facts)
    outside = facts.extent.end_line + 3
    forged = replace(
        honest,
        evidence=(
            CitedLine(outside, lines[outside - 1].strip() or "x"),
            CitedLine(facts.line.line, "let nothing = here;"),
        ),
        expected_impact="This saves 99.5% of runtime and then some more besides.",
    )
    problems = draft_problems(forged, facts, lines)
    extent = facts.extent
    assert problems == [
        f"evidence[0]: line {outside} is outside VM::index_op (lines {extent.start_line}-"
        f"{extent.end_line}); cite a line of its numbered listing in lang/src/vm/runtime.rs",
        f"evidence[1]: quote 'let nothing = here;' does not match the source line "
        f"{facts.line.line}, which reads {' '.join(lines[facts.line.line - 1].split())!r}; copy "
        "the whole line or at least 8 characters of it verbatim",
        "expected_impact: claims 99.5%, above the hotspot's measured share of 91.0% of "
        "runtime; no percentage there may exceed 91.0%",
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("description", "[What is happening in this code path] and more words", "placeholder"),
        ("root_cause", "short", "at least 20"),
        ("name", "../../etc/x", "UPPERCASE_WITH_UNDERSCORES"),
        ("name", "lower_case_name", "UPPERCASE_WITH_UNDERSCORES"),
        ("approach", "We will do this later. TODO: decide what to change here.", "placeholder"),
    ],
)
def test_schema_rejects_bad_drafts(field: str, value: str, message: str) -> None:
    """Both doors refuse: the pydantic schema (drafts from outside) and `checked_draft` (ours)."""
    facts, _ = fake_vm_facts()[0]
    draft = offline_draft(facts)
    data = draft.to_json()
    data[field] = value
    with pytest.raises(ValidationError, match=message):
        Draft.model_validate(data)
    fields = {name: value if name == field else getattr(draft, name) for name in PROSE_FIELDS}
    with pytest.raises(DraftRuleError, match=message):
        checked_draft(
            **fields,
            evidence=[(cited.line, cited.quote) for cited in draft.evidence],
            name=value if field == "name" else None,
        )


def test_missing_function_is_a_source_problem_not_an_invented_line() -> None:
    facts, _ = fake_vm_facts()[0]
    result = hotspot_facts(facts.hotspot, "fn unrelated() {}\n", facts.context)
    assert isinstance(result, SourceProblem)
    assert "not found in lang/src/vm/runtime.rs" in result.reason
    assert isinstance(hotspot_facts(facts.hotspot, None, facts.context), SourceProblem)


def test_compact_name() -> None:
    graphemes = "unicode_segmentation::grapheme::Graphemes"
    iterator = "core::iter::traits::iterator::Iterator"
    assert compact_name(f"<{graphemes} as {iterator}>::next") == "<Graphemes as Iterator>::next"
    assert compact_name("core::hint::select_unpredictable") == "hint::select_unpredictable"
    assert compact_name("alloc::vec::Vec<T,A>::extend_desugared") == "Vec<T,A>::extend_desugared"
    assert compact_name("main") == "main"


# Words that claim a mechanism, and the frames (or cited-line tokens) without which the offline
# text must not say them. Checked independently of `classify`'s own tables.
_CLAIMS: dict[str, tuple[str, ...]] = {
    "grapheme": ("unicode_segmentation", "Grapheme"),
    "ZWJ": ("unicode_segmentation", "Grapheme"),
    "SipHash": ("Hasher", "core::hash::", "hashbrown"),
    "hashing keys": ("Hasher", "core::hash::", "hashbrown"),
    "formatting machinery": ("core::fmt::", "alloc::fmt::", "format!"),
    "persistent hash map": ("im_rc::hash::", "im_rc::nodes::hamt", "sparse_chunk"),
    "persistent vector are read by position": ("im_rc::vector::", "im_rc::nodes::rrb"),
}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_offline_text_claims_only_what_the_real_profile_shows(
    shared_fixtures: Path, blitzen_source: Path, name: str
) -> None:
    path = shared_fixtures / "profiles" / name / "profile.pb"
    source = blitzen_source / "src"
    ranking = rank_profile(
        decode_profile(path.read_bytes(), str(path)),
        PathMapper("lang/src/vm", lambda rel: (source / rel).is_file()),
    )
    hotspots = merge_fix_sites(ranking.hotspots, 1.0)[:8]
    context = RunContext(f"examples/{name}.santa", 1000, ranking.total, "nanoseconds", ranking.kind)
    for hotspot in hotspots:
        text = (source / hotspot.file).read_text()
        facts = hotspot_facts(hotspot, text, context)
        if isinstance(facts, SourceProblem):
            continue
        draft = offline_draft(facts)
        assert draft_problems(draft, facts, text.splitlines()) == []
        evidence = " ".join(
            [s.name for h in (hotspot, *(m.helper for m in hotspot.merged)) for s in h.below]
            + [s.name for h in (hotspot, *(m.helper for m in hotspot.merged)) for s in h.leaves]
            + [hotspot.symbol, facts.line.code]
        )
        for claim, signs in _CLAIMS.items():
            if claim in draft.root_cause:
                assert any(sign in evidence for sign in signs), (
                    f"{name} {facts.function}: claims {claim!r} without {signs}"
                )
