"""The offline drafter never fails: any source line, symbol name or chain gives a valid draft.

Real Blitzen source quotes `self.constants[idx]`, playbooks mention `#[cold]`, a cited line can
carry `// TODO`, and demangled names run to kilobytes. The offline drafter is the last resort
behind every model failure, so a draft that fails our own schema or grounding is a bug that
would end a run without issue files. This property test drafts from arbitrary text.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf_identify.classify import classify
from perf_identify.facts import HotspotFacts, RunContext
from perf_identify.grounding import draft_problems
from perf_identify.hotspots import Hotspot, MergedHelper, Share
from perf_identify.naming import MAX_NAME_LENGTH, issue_name
from perf_identify.offline_drafter import offline_draft
from perf_identify.pprof import ProfileKind
from perf_identify.render import is_valid_issue_name
from perf_identify.schema import Draft
from perf_identify.source import FunctionExtent, LineChoice

# Characters real input carries and templates fear: brackets, backticks, control and
# bidirectional characters, and words the placeholder gate looks for.
_TRICKY = st.sampled_from(
    ["[idx]", "[cold]", "[X]", "[date]", "TODO", "FIXME", "`", "``", "<insert", "::", "<", ">",
     "{{closure}}", "\x00", "\x1b[31m", "\u202e", "\t", "\r", "\n", " ", "lorem ipsum", "é",
     "👩‍👩‍👧"]
)  # fmt: skip
_TEXT = st.lists(st.one_of(st.text(max_size=40), _TRICKY), max_size=30).map("".join)
# Occasionally huge: names and lines of tens of kilobytes.
_BIG_TEXT = st.one_of(
    _TEXT, st.tuples(_TEXT, st.integers(1, 3000)).map(lambda pair: pair[0] * pair[1])
)
_NAME = st.one_of(
    _BIG_TEXT,
    st.sampled_from(
        [
            "<lang::vm::value::Value as core::clone::Clone>::clone",
            "unicode_segmentation::grapheme::GraphemeCursor::next_boundary",
            "im_rc::hash::map::HashMap<K,V,S>::insert",
            "core::fmt::write",
            "alloc::vec::Vec<T,A>::pop",
            "core::ptr::drop_in_place<alloc::vec::Vec<lang::vm::value::Value>>",
            "lang::vm::runtime::VM::execute_until",
        ]
    ),
)


def _share(name: str, value: int, total: int) -> Share:
    return Share(name, value, 100.0 * value / total)


@st.composite
def _facts(draw: st.DrawFn) -> tuple[HotspotFacts, list[str]]:
    total = 1_000_000_000
    value = draw(st.integers(1, total))
    symbol = draw(_NAME)
    chain = tuple(
        _share(name, draw(st.integers(1, value)), total)
        for name in draw(st.lists(_NAME, max_size=14))
    )
    leaves = tuple(
        _share(name, draw(st.integers(1, value)), total)
        for name in draw(st.lists(_NAME, max_size=8))
    )
    sites = tuple(
        _share(name, draw(st.integers(1, value)), total)
        for name in draw(st.lists(_NAME, max_size=3))
    )
    hotspot = Hotspot(
        rank=1,
        symbol=symbol,
        file=draw(_TEXT) or "lang/src/vm/runtime.rs",
        recorded_file="",
        source_exists=True,
        value=value,
        share_percent=100.0 * value / total,
        flat=draw(st.integers(0, value)),
        cum=value,
        self_value=draw(st.integers(0, value)),
        leaves=leaves,
        chain=chain,
        below=chain,
        callers=sites,
        call_sites=sites,
        tiny_helper=draw(st.booleans()),
    )
    if draw(st.booleans()):
        helper = Hotspot(
            rank=2, symbol=draw(_NAME), file="", recorded_file="", source_exists=True,
            value=value, share_percent=hotspot.share_percent, flat=0, cum=value,
            self_value=value, leaves=leaves, chain=chain, below=chain, callers=(), call_sites=sites,
            tiny_helper=True,
        )  # fmt: skip
        hotspot = Hotspot(
            **{
                **{f: getattr(hotspot, f) for f in Hotspot.__dataclass_fields__},
                "merged": (MergedHelper(helper, value // 2, hotspot.share_percent / 2),),
            }
        )
    signature = "fn " + draw(_BIG_TEXT).replace("\n", " ")
    cited = draw(_BIG_TEXT).replace("\n", " ").replace("\r", " ")
    lines = [signature, cited if cited.strip() else "x", "}"]
    extent = FunctionExtent(draw(_NAME) or "f", 1, 3, 1, None, None)
    # As `source.choose_line` words it: the callee between backticks, none inside.
    callee = draw(_NAME).replace("`", "'")
    reason = f"first call to `{callee}` in the body"
    choice = LineChoice(2, reason, None, candidates=(2, 3), code=lines[1])
    classification = classify(hotspot, lines[1])
    facts = HotspotFacts(
        name=issue_name(hotspot, classification.detail),
        hotspot=hotspot,
        context=RunContext(
            draw(_TEXT) or "b.santa",
            1000,
            total,
            "nanoseconds",
            draw(st.sampled_from(list(ProfileKind))),
        ),
        function=extent.display_name,
        extent=extent,
        line=choice,
        line_text=lines[1],
        signature_text=lines[0],
        excerpt="",
        classification=classification,
        call_site=None,
    )
    return facts, lines


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(_facts())
def test_offline_draft_is_always_valid(pair: tuple[HotspotFacts, list[str]]) -> None:
    facts, lines = pair
    draft = offline_draft(facts)
    assert draft_problems(draft, facts, lines) == []
    # The two doors agree: pydantic's schema reads the offline draft back unchanged.
    assert Draft.model_validate(draft.to_json()).checked() == draft
    assert is_valid_issue_name(facts.name) or not facts.name
    assert len(facts.name) <= MAX_NAME_LENGTH
    for prose in (draft.description, draft.root_cause, draft.approach, draft.risk):
        assert not any(ch in prose for ch in "\x00\x1b\u202e"), "control characters escaped"
