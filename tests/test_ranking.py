"""Ranking: pprof's flat/cum, attribution to VM source, chains, callers and call sites."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_identify.errors import ProfileError
from perf_identify.hotspots import PathMapper, Ranking, rank_profile
from perf_identify.pprof import decode_profile
from perf_identify.symbols import fold_closures, is_tiny_helper, short_name
from tests.builders import ProfileBuilder, guess_file
from tests.pprof_top import parse_top
from tests.test_pprof import FIXTURE_NAMES

MS = 1_000_000
VM = "lang::vm::runtime::VM"


def _rank(builder: ProfileBuilder, existing: frozenset[str] = frozenset()) -> Ranking:
    profile = decode_profile(builder.build(), "test.pb")
    return rank_profile(profile, PathMapper("lang/src/vm", existing.__contains__))


def _stats(ranking: Ranking) -> dict[str, tuple[int, int]]:
    return {stat.name: (stat.flat, stat.cum) for stat in ranking.functions}


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@pytest.mark.parametrize("report", ["pprof-top.txt", "pprof-top-cum.txt"])
def test_flat_and_cum_equal_go_pprof_top(shared_fixtures: Path, name: str, report: str) -> None:
    folder = shared_fixtures / "profiles" / name
    profile = decode_profile((folder / "profile.pb").read_bytes(), name)
    stats = _stats(rank_profile(profile, PathMapper("lang/src/vm", lambda _: False)))
    rows = parse_top((folder / report).read_text())
    assert len(rows) > 20
    for row in rows:
        assert row.name in stats, row.name
        assert stats[row.name] == (row.flat_ns, row.cum_ns), row.name


def test_index_op_owns_the_grapheme_work_in_aoc2018_day05(shared_fixtures: Path) -> None:
    path = shared_fixtures / "profiles" / "aoc2018_day05" / "profile.pb"
    ranking = rank_profile(
        decode_profile(path.read_bytes(), str(path)), PathMapper("lang/src/vm", lambda _: False)
    )
    top = ranking.hotspots[0]
    assert top.symbol == f"{VM}::index_op"
    assert top.file == "lang/src/vm/runtime.rs"
    assert not top.source_exists
    assert 97.0 < top.share_percent < 98.0
    assert top.leaves[0].name == "core::hint::select_unpredictable"
    assert short_name(top.chain[0].name) == "collect"
    assert "lang/src/vm/runtime.rs" in ranking.missing_sources


def test_recursion_counts_cum_once_per_sample() -> None:
    builder = ProfileBuilder()
    builder.sample([f"{VM}::call", f"{VM}::call", f"{VM}::call", "main"], 5)
    stats = _stats(_rank(builder))
    assert stats[f"{VM}::call"] == (5 * MS, 5 * MS)
    assert stats["main"] == (0, 5 * MS)


def test_inlined_frames_are_separate_nodes_and_flat_goes_to_the_innermost() -> None:
    builder = ProfileBuilder(per_function=False)
    file = "/repo/lang/src/vm/runtime.rs"
    builder.sample(
        [
            [
                ("core::ptr::write", "/rustc/abc/library/core/src/ptr/mod.rs", 1),
                ("alloc::vec::Vec<T,A>::push", "/rustc/abc/library/alloc/src/vec/mod.rs", 2),
                (f"{VM}::push", file, 30),
            ],
            (f"{VM}::run", file, 100),
        ],
        4,
    )
    ranking = _rank(builder)
    stats = _stats(ranking)
    assert stats["core::ptr::write"] == (4 * MS, 4 * MS)
    assert stats["alloc::vec::Vec<T,A>::push"] == (0, 4 * MS)
    assert stats[f"{VM}::push"] == (0, 4 * MS)
    top = ranking.hotspots[0]
    assert top.symbol == f"{VM}::push"
    assert [s.name for s in top.chain] == ["alloc::vec::Vec<T,A>::push", "core::ptr::write"]
    assert top.line_values == {30: 4 * MS}
    assert top.tiny_helper
    assert [s.name for s in top.call_sites] == [f"{VM}::run"]


def test_attribution_skips_std_and_crates_and_folds_closures() -> None:
    builder = ProfileBuilder()
    builder.sample(
        [
            "hashbrown::raw::RawTable<T,A>::find",
            "std::collections::hash::map::HashMap<K,V,S>::get",
            f"{VM}::builtin_map::{{{{closure}}}}",
            "core::iter::adapters::map::Map<I,F>::next",
            f"{VM}::builtin_map",
            f"{VM}::run",
            "main",
        ],
        6,
    )
    builder.sample([f"{VM}::run", "main"], 2)
    builder.sample(["__libc_start_main_impl"], 2)
    ranking = _rank(builder)
    assert [(h.symbol, h.value) for h in ranking.hotspots] == [
        (f"{VM}::builtin_map", 6 * MS),
        (f"{VM}::run", 2 * MS),
    ]
    assert ranking.hotspots[0].share_percent == pytest.approx(60.0)
    assert ranking.hotspots[0].callers[0].name == f"{VM}::run"
    assert ranking.unattributed == 2 * MS
    assert ranking.hotspots[1].self_value == 2 * MS


def test_heaviest_chain_follows_the_heavier_branch() -> None:
    builder = ProfileBuilder()
    builder.sample(["core::str::next_code_point", "core::str::Chars::next", f"{VM}::index_op"], 7)
    builder.sample(["alloc::alloc::alloc", "alloc::raw_vec::finish_grow", f"{VM}::index_op"], 3)
    top = _rank(builder).hotspots[0]
    assert [s.name for s in top.chain] == ["core::str::Chars::next", "core::str::next_code_point"]
    assert [s.value for s in top.chain] == [7 * MS, 7 * MS]
    assert [(s.name, s.value) for s in top.leaves] == [
        ("core::str::next_code_point", 7 * MS),
        ("alloc::alloc::alloc", 3 * MS),
    ]


def test_paths_map_by_longest_existing_suffix() -> None:
    mapper = PathMapper(
        "lang/src/vm", {"lang/src/vm/runtime.rs", "src/vm/runtime.rs", "runtime.rs"}.__contains__
    )
    mapped = mapper.map("/home/other/checkout/lang/src/vm/runtime.rs")
    assert (mapped.relative, mapped.exists) == ("lang/src/vm/runtime.rs", True)
    assert mapper.is_vm(mapped)
    absent = mapper.map("/elsewhere/lang/src/vm/value.rs")
    assert (absent.relative, absent.exists) == ("lang/src/vm/value.rs", False)
    assert mapper.is_vm(absent)
    for foreign in (
        "/rustc/abc/library/core/src/lang/src/vm/x.rs",
        "/home/dev/.cargo/registry/src/x/lang/src/vm/runtime.rs",
        "Unknown",
        "",
    ):
        assert not mapper.is_vm(mapper.map(foreign))


def test_profile_without_debug_info_has_no_hotspots() -> None:
    builder = ProfileBuilder()
    builder.sample([("Unknown", "Unknown", 0), ("Unknown", "Unknown", 0)], 9)
    ranking = _rank(builder)
    assert ranking.hotspots == ()
    assert ranking.unknown_fraction == 1.0
    assert ranking.unattributed == 9 * MS


def test_ties_sort_by_name() -> None:
    builder = ProfileBuilder()
    builder.sample([f"{VM}::b"], 1)
    builder.sample([f"{VM}::a"], 1)
    assert [h.symbol for h in _rank(builder).hotspots] == [f"{VM}::a", f"{VM}::b"]
    assert [h.rank for h in _rank(builder).hotspots] == [1, 2]


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("core::iter::traits::iterator::Iterator::collect", "collect"),
        (
            "<alloc::vec::Vec<T> as core::iter::traits::collect::FromIterator<T>>::from_iter",
            "from_iter",
        ),
        ("alloc::vec::Vec<T,A>::extend_desugared", "extend_desugared"),
        (f"{VM}::builtin_map::{{{{closure}}}}", "builtin_map"),
        ("main", "main"),
    ],
)
def test_short_name(symbol: str, expected: str) -> None:
    assert short_name(symbol) == expected


def test_fold_closures_and_tiny_helpers() -> None:
    assert fold_closures(f"{VM}::f::{{{{closure}}}}::{{{{closure}}}}") == f"{VM}::f"
    assert fold_closures(f"{VM}::f::{{closure#2}}") == f"{VM}::f"
    assert is_tiny_helper("<lang::vm::value::Value as core::clone::Clone>::clone")
    assert is_tiny_helper(f"{VM}::pop")
    assert not is_tiny_helper(f"{VM}::index_op")


_NAMES = [
    f"{VM}::run",
    f"{VM}::index_op",
    f"{VM}::call",
    f"{VM}::call::{{{{closure}}}}",
    "lang::vm::value::Value::clone",
    "lang::vm::builtins::builtin_push",
    "core::iter::traits::iterator::Iterator::collect",
    "alloc::vec::Vec<T,A>::push",
    "hashbrown::raw::RawTable<T,A>::find",
    "core::ptr::write",
    "main",
    "Unknown",
]


@st.composite
def _profiles(draw: st.DrawFn) -> tuple[bytes, bool]:
    per_function = draw(st.booleans())
    builder = ProfileBuilder(per_function=per_function)
    frame = st.sampled_from(_NAMES)
    for _ in range(draw(st.integers(1, 12))):
        if per_function:
            stack: list[object] = draw(st.lists(frame, min_size=0, max_size=9))
        else:
            located = st.tuples(frame, st.integers(1, 40)).map(
                lambda pair: (pair[0], guess_file(pair[0]), pair[1])
            )
            stack = draw(st.lists(st.lists(located, min_size=1, max_size=3), max_size=9))
        builder.sample(stack, draw(st.integers(1, 5)))  # type: ignore[arg-type]
    return builder.build(), per_function


@settings(max_examples=150, deadline=None)
@given(_profiles())
def test_the_numpy_engine_equals_the_plain_one(generated: tuple[bytes, bool]) -> None:
    """Both engines behind `rank_profile` give the same Ranking, field for field, details limit
    included (a small limit, so that undetailed hotspots are compared too)."""
    from perf_identify.attribution import attribute
    from perf_identify.plain_ranking import plain_rank
    from perf_identify.ranking import rank_functions

    data, _ = generated
    try:
        profile = decode_profile(data, "generated.pb")
    except ProfileError:
        return  # e.g. every stack empty: nothing to compare
    paths = PathMapper("lang/src/vm", lambda _: False)
    for limit in (50, 2):
        numpy_ranking = attribute(rank_functions(profile), paths, detail_limit=limit)
        assert numpy_ranking == plain_rank(profile, paths, detail_limit=limit)
