"""Classification and naming from the frames under a hotspot."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf_identify.attribution import Hotspot, PathMapper, rank_profile
from perf_identify.classify import IssueClass, classify, issue_name, unique_names
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
            "VALUE_COPY_VIA_POP_IN_BINARY_MOD",
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
            "PERSISTENT_VECTOR_IN_BUILTIN_ROTATE",
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
    assert issue_name(hotspot, classification) == name


def test_real_aoc2018_day05_is_grapheme_collect(shared_fixtures: Path) -> None:
    path = shared_fixtures / "profiles" / "aoc2018_day05" / "profile.pb"
    ranking = rank_profile(
        decode_profile(path.read_bytes(), str(path)), PathMapper("lang/src/vm", lambda _: False)
    )
    top = ranking.hotspots[0]
    classification = classify(top, "")
    assert classification.issue_class is IssueClass.STRING
    assert issue_name(top, classification) == "STRING_GRAPHEME_COLLECT_IN_INDEX_OP"


def test_unique_names_suffix_repeats_in_order() -> None:
    assert unique_names(["A_B", "C", "A_B", "A_B"]) == ["A_B", "C", "A_B_2", "A_B_3"]
    assert unique_names(["A", "A", "A_2"]) == ["A", "A_3", "A_2"]
    long = "X" * 60
    renamed = unique_names([long, long])
    assert renamed[1].endswith("_2")
    assert len(renamed[1]) <= 60
