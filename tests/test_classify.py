"""Classification and naming from the frames under a hotspot."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf_identify.classify import IssueClass, classify
from perf_identify.hotspots import Hotspot, PathMapper, rank_profile
from perf_identify.naming import issue_name, unique_names
from perf_identify.pprof import decode_profile
from tests.builders import ProfileBuilder

VM = "lang::vm::runtime::VM"


def _top(stacks: list[tuple[list[str], int]]) -> Hotspot:
    builder = ProfileBuilder()
    for stack, count in stacks:
        builder.sample(stack, count)
    ranking = rank_profile(
        decode_profile(builder.build(), "t"), PathMapper("lang/src/vm", lambda _: False)
    )
    return ranking.hotspots[0]


@pytest.mark.parametrize(
    ("stacks", "body", "issue_class", "name"),
    [
        (
            [
                (
                    [
                        "core::hash::sip::Hasher<S>::write",
                        "<str as core::hash::Hash>::hash",
                        "hashbrown::map::make_hash",
                        "std::collections::hash::map::HashMap<K,V,S>::get",
                        f"{VM}::load_global",
                        f"{VM}::run",
                    ],
                    9,
                )
            ],
            "self.globals.get(name)",
            IssueClass.HASHING,
            "HASH_LOOKUP_IN_LOAD_GLOBAL",
        ),
        (
            [
                (
                    [
                        "alloc::raw_vec::finish_grow",
                        "alloc::raw_vec::RawVec<T,A>::reserve_exact",
                        "alloc::vec::Vec<T,A>::reserve_exact",
                        "lang::vm::builtins::builtin_push",
                    ],
                    9,
                )
            ],
            "v.reserve_exact(1); v.push(x);",
            IssueClass.ALLOCATION,
            "VEC_REALLOCATION_IN_BUILTIN_PUSH",
        ),
        (
            [
                (["<lang::vm::value::Value as core::clone::Clone>::clone", f"{VM}::index_op"], 8),
                (["<lang::vm::value::Value as core::clone::Clone>::clone", f"{VM}::run"], 2),
            ],
            "",
            IssueClass.CLONE_DROP,
            "VALUE_CLONE_IN_INDEX_OP",
        ),
        (
            [([f"{VM}::execute_until", "main"], 9)],
            "match op {",
            IssueClass.DISPATCH,
            "BYTECODE_DISPATCH_IN_EXECUTE_UNTIL",
        ),
        (
            [
                (
                    [
                        "core::ptr::read",
                        "alloc::vec::Vec<T,A>::pop",
                        f"{VM}::pop",
                        f"{VM}::binary_mod",
                    ],
                    9,
                )
            ],
            "",
            IssueClass.MEMCPY,
            "STACK_POP_IN_BINARY_MOD",
        ),
        (
            [
                (
                    [
                        "im_rc::nodes::rrb::Node<A>::index",
                        "im_rc::vector::Vector<A>::get",
                        "lang::vm::builtins::builtin_rotate",
                    ],
                    9,
                )
            ],
            "",
            IssueClass.PERSISTENT,
            "PERSISTENT_VECTOR_INDEX_IN_BUILTIN_ROTATE",
        ),
        (
            [(["lang::vm::value::Value::is_truthy", f"{VM}::run"], 9)],
            "",
            IssueClass.OWN_CODE,
            "SELF_TIME_IN_IS_TRUTHY",
        ),
        (
            [
                (
                    [
                        "core::str::validations::next_code_point",
                        "<core::str::iter::Chars as core::iter::traits::iterator::Iterator>::next",
                        "core::iter::traits::iterator::Iterator::collect",
                        f"{VM}::index_op",
                    ],
                    9,
                )
            ],
            "let chars: Vec<char> = s.chars().collect();",
            IssueClass.STRING,
            "STRING_CHARS_COLLECT_IN_INDEX_OP",
        ),
    ],
)
def test_classes_and_names(
    stacks: list[tuple[list[str], int]], body: str, issue_class: IssueClass, name: str
) -> None:
    hotspot = _top(stacks)
    classification = classify(hotspot, body)
    assert classification.issue_class is issue_class
    assert issue_name(hotspot, classification.detail) == name


def test_real_aoc2018_day05_is_grapheme_collect(shared_fixtures: Path) -> None:
    path = shared_fixtures / "profiles" / "aoc2018_day05" / "profile.pb"
    ranking = rank_profile(
        decode_profile(path.read_bytes(), str(path)), PathMapper("lang/src/vm", lambda _: False)
    )
    top = ranking.hotspots[0]
    classification = classify(top, "")
    assert classification.issue_class is IssueClass.STRING
    assert issue_name(top, classification.detail) == "STRING_GRAPHEME_COLLECT_IN_INDEX_OP"


def test_unique_names_suffix_repeats_in_order() -> None:
    assert unique_names(["A_B", "C", "A_B", "A_B"]) == ["A_B", "C", "A_B_2", "A_B_3"]
    assert unique_names(["A", "A", "A_2"]) == ["A", "A_3", "A_2"]
    long = "X" * 60
    renamed = unique_names([long, long])
    assert renamed[1].endswith("_2")
    assert len(renamed[1]) <= 60


EQ = "<lang::vm::value::Value as core::cmp::PartialEq>::eq"
STR_EQ = "core::str::traits::<impl core::cmp::PartialEq for str>::eq"


def test_value_eq_under_a_membership_scan_is_comparison_not_string_work() -> None:
    """`<Value as PartialEq>::eq` under `builtin_includes` compares values; its string-compare
    frames say nothing about graphemes."""
    hotspot = _top(
        [
            ([STR_EQ, EQ, f"{VM}::builtin_includes", f"{VM}::execute_until"], 9),
            ([EQ, f"{VM}::builtin_includes", f"{VM}::execute_until"], 6),
        ]
    )
    classification = classify(hotspot, "")
    assert classification.issue_class is IssueClass.COMPARISON
    assert not classification.has("GRAPHEME")
    assert not classification.has("UTF8_DECODE")
    assert issue_name(hotspot, classification.detail) == "VALUE_EQ_IN_BUILTIN_INCLUDES"
    on_scan_line = classify(hotspot, "Value::List(list) => list.contains(value),")
    assert on_scan_line.has("MEMBERSHIP_SCAN")
    assert on_scan_line.detail == "LIST_SCAN_EQ"


def test_a_persistent_hash_map_insert_is_not_called_a_vector() -> None:
    hotspot = _top(
        [
            (
                [
                    "sized_chunks::sparse_chunk::refpool::<impl refpool::PoolClone for "
                    "sized_chunks::sparse_chunk::SparseChunk<A,N>>::clone_uninit",
                    "refpool::ref_handle::PoolRef<A>::make_mut",
                    "im_rc::hash::map::HashMap<K,V,S>::insert",
                    f"{VM}::builtin_update",
                    f"{VM}::execute_until",
                ],
                9,
            )
        ]
    )
    classification = classify(hotspot, "")
    assert classification.issue_class is IssueClass.PERSISTENT
    assert classification.detail == "PERSISTENT_MAP_INSERT"
    assert classification.has("COPY_ON_WRITE")
    assert issue_name(hotspot, classification.detail) == "PERSISTENT_MAP_INSERT_IN_BUILTIN_UPDATE"


def test_chars_and_format_are_not_called_graphemes() -> None:
    chars = _top(
        [
            (
                [
                    "core::str::validations::next_code_point",
                    "<core::str::iter::Chars as core::iter::traits::iterator::Iterator>::next",
                    f"{VM}::index_op",
                ],
                9,
            )
        ]
    )
    assert classify(chars, "").detail == "STRING_CHARS"
    assert not classify(chars, "").has("GRAPHEME")
    formatted = _top(
        [(["core::fmt::write", "alloc::fmt::format::format_inner", f"{VM}::concat_op"], 9)]
    )
    classification = classify(formatted, 'let s = format!("{x}{y}");')
    assert classification.detail == "STRING_FORMAT"
    assert [f.key for f in classification.findings] == ["FORMAT"]


def test_fetch_helper_self_time_is_dispatch_and_names_are_not_tautologies() -> None:
    read_byte = _top([([f"{VM}::read_byte", f"{VM}::execute_until", "main"], 9)])
    classification = classify(read_byte, "")
    assert classification.issue_class is IssueClass.DISPATCH
    name = issue_name(read_byte, classification.detail)
    assert name == "INSTRUCTION_FETCH_VIA_READ_BYTE_IN_EXECUTE_UNTIL"
    clone = "<lang::vm::value::Value as core::clone::Clone>::clone"
    spread = _top(
        [
            ([clone, f"{VM}::index_op"], 4),
            ([clone, f"{VM}::load_local"], 3),
            ([clone, f"{VM}::builtin_map"], 3),
        ]
    )
    name = issue_name(spread, classify(spread, "").detail)
    assert name == "VALUE_CLONE_FROM_INDEX_OP"
    assert "_IN_CLONE" not in name


def test_no_signature_means_no_mechanism() -> None:
    hotspot = _top([(["lang::vm::value::Value::is_truthy", f"{VM}::run"], 9)])
    classification = classify(hotspot, "match self {")
    assert classification.findings == ()
    assert classification.detail == "SELF_TIME"


def test_an_earlier_runs_mechanism_is_kept_while_the_evidence_still_fits() -> None:
    stacks = [
        (["core::ptr::write", "alloc::vec::Vec<T,A>::push", f"{VM}::builtin_filter", "m"], 5),
        (
            [
                "sized_chunks::sized_chunk::Chunk<A,N>::push_back",
                "im_rc::vector::Vector<A>::push_back",
                f"{VM}::builtin_filter",
                "m",
            ],
            4,
        ),
    ]
    hotspot = _top(stacks)
    assert classify(hotspot, "").detail == "STACK_PUSH"
    assert classify(hotspot, "", prefer="PERSISTENT_VECTOR_PUSH").detail == (
        "PERSISTENT_VECTOR_PUSH"
    )
    # Far below half of the heaviest finding: the evidence clearly moved, the class follows.
    moved = _top([stacks[0], (stacks[1][0], 1)])
    assert classify(moved, "", prefer="PERSISTENT_VECTOR_PUSH").detail == "STACK_PUSH"
