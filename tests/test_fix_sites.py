"""One issue per fix site: helpers folded into the hotspot whose loop calls them."""

from __future__ import annotations

from pathlib import Path

from perf_identify.fix_sites import merge_fix_sites
from perf_identify.hotspots import Hotspot, PathMapper, rank_profile
from perf_identify.pprof import decode_profile
from tests.builders import ProfileBuilder

VM = "lang::vm::runtime::VM"
CLONE = "<lang::vm::value::Value as core::clone::Clone>::clone"
ROTATE = "lang::vm::builtins::builtin_rotate"
INDEX = "im_rc::nodes::rrb::Node<A>::index"


def _hotspots(stacks: list[tuple[list[str], int]]) -> tuple[Hotspot, ...]:
    builder = ProfileBuilder()
    for stack, count in stacks:
        builder.sample(stack, count)
    profile = decode_profile(builder.build(), "t")
    return rank_profile(profile, PathMapper("lang/src/vm", lambda _: False)).hotspots


def test_a_helper_called_from_one_hotspot_is_reported_inside_it() -> None:
    hotspots = _hotspots(
        [
            ([INDEX, ROTATE, f"{VM}::execute_until"], 60),
            ([CLONE, ROTATE, f"{VM}::execute_until"], 23),
            ([f"{VM}::call_closure_sync", "main"], 16),
            ([CLONE, f"{VM}::execute_until"], 1),
        ]
    )
    merged = merge_fix_sites(hotspots, min_percent=1.0)
    # The clone's 1% from elsewhere goes with it: almost all of it (23 of 24) is rotate's.
    assert [h.symbol for h in merged] == [ROTATE, f"{VM}::call_closure_sync"]
    rotate = merged[0]
    assert rotate.rank == 1
    assert rotate.value == 83 * 1_000_000
    assert round(rotate.share_percent, 1) == 83.0
    assert round(rotate.own_percent, 1) == 60.0
    assert [(m.helper.symbol, round(m.percent, 1)) for m in rotate.merged] == [(CLONE, 23.0)]
    # Flat and cum stay rotate's own pprof figures.
    original = next(h for h in hotspots if h.symbol == ROTATE)
    assert (rotate.flat, rotate.cum) == (original.flat, original.cum)


def test_helpers_of_the_dispatch_loop_and_of_many_callers_keep_their_own_issue() -> None:
    hotspots = _hotspots(
        [
            (
                [
                    "core::ptr::read",
                    "alloc::vec::Vec<T,A>::pop",
                    f"{VM}::pop",
                    f"{VM}::execute_until",
                ],
                40,
            ),
            ([f"{VM}::execute_until", "main"], 30),
            ([CLONE, f"{VM}::index_op", f"{VM}::execute_until"], 5),
            ([CLONE, f"{VM}::load_local", f"{VM}::execute_until"], 5),
            (["core::hash::sip::Hasher<S>::write", f"{VM}::index_op", f"{VM}::execute_until"], 10),
            (["x", f"{VM}::load_local", f"{VM}::execute_until"], 10),
        ]
    )
    merged = merge_fix_sites(hotspots, min_percent=1.0)
    assert {h.symbol for h in merged} == {h.symbol for h in hotspots}
    assert all(not h.merged for h in merged)


def test_a_caller_below_min_percent_takes_no_helper() -> None:
    hotspots = _hotspots(
        [
            (
                ["core::ptr::read", "alloc::vec::Vec<T,A>::pop", f"{VM}::pop", f"{VM}::binary_mod"],
                99,
            ),
            ([f"{VM}::binary_mod", "main"], 1),
        ]
    )
    # binary_mod holds 1.0% of its own: at --min-percent 1 it is a hotspot, at 2 it is not.
    assert merge_fix_sites(hotspots, min_percent=1.0)[0].merged
    assert not merge_fix_sites(hotspots, min_percent=2.0)[0].merged


def test_real_aoc2018_day09_gives_one_rotate_issue_with_its_clones(shared_fixtures: Path) -> None:
    path = shared_fixtures / "profiles" / "aoc2018_day09" / "profile.pb"
    ranking = rank_profile(
        decode_profile(path.read_bytes(), str(path)), PathMapper("lang/src/vm", lambda _: False)
    )
    merged = merge_fix_sites(ranking.hotspots, min_percent=1.0)
    top = merged[0]
    assert top.symbol == ROTATE
    assert 82.0 <= top.share_percent <= 84.0
    assert [m.helper.symbol for m in top.merged] == [CLONE]
    assert CLONE not in {h.symbol for h in merged}
