"""`perf-identify show FUNCTION`: pprof's -peek (callers and callees with edge values) and -list.

The edges are checked against `go tool pprof -peek` itself on every real Blitzen profile, for
the heaviest VM functions of each; the per-line figures against a per-address profile built by
hand, whose figures are known.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from perf_identify.peek import matching_functions, peek
from perf_identify.pprof import decode_profile
from perf_identify.prompting import FENCE_CLOSE, FENCE_OPEN
from perf_identify.ranking import rank_functions
from tests.builders import STD_ROOT, VM_ROOT, ProfileBuilder
from tests.cli_runs import assert_one_error, run_cli
from tests.fake_vm import make_fake_vm
from tests.pprof_top import parse_duration_ns

PROFILES = ["aoc2018_day05", "aoc2018_day09", "aoc2022_day11", "aoc2022_day12", "aoc2023_day05"]
_EDGE = re.compile(r"^\s+(?P<value>\S+)\s+\S+%\s+\|\s{3}(?P<name>\S.*?)\s*$")
_NODE = re.compile(r"^\s*\S+\s+\S+%\s+\S+%\s+(?P<cum>\S+)\s+\S+%\s+\|\s(?P<name>\S.*?)\s*$")


def _go_peek(profile: Path, name: str, home: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Callers and callees of `name` as `go tool pprof -peek` prints them, in ns."""
    text = subprocess.run(
        ["go", "tool", "pprof", "-peek", f"^{re.escape(name)}$", str(profile)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HOME": str(home)},
        timeout=300,
    ).stdout
    callers: dict[str, int] = {}
    callees: dict[str, int] = {}
    seen_node = False
    for line in text.splitlines():
        node = _NODE.match(line)
        if node is not None and node.group("name") == name:
            seen_node = True
            continue
        edge = _EDGE.match(line)
        if edge is not None:
            target = callees if seen_node else callers
            target[edge.group("name")] = parse_duration_ns(edge.group("value"))
    assert seen_node, text
    return callers, callees


def _close(ours: int, printed: int) -> bool:
    """pprof prints three or four significant digits (`1.30s`): equal to that precision."""
    return abs(ours - printed) <= max(0.005 * ours, 1_000_000)


@pytest.mark.parametrize("name", PROFILES)
def test_callers_and_callees_match_go_pprof_peek(
    shared_fixtures: Path, tmp_path: Path, name: str
) -> None:
    if shutil.which("go") is None:
        message = "go is not installed: cannot cross-check with go tool pprof -peek"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    path = shared_fixtures / "profiles" / name / "profile.pb"
    ranked = rank_functions(decode_profile(path.read_bytes(), str(path)))
    vm = [stat for stat in ranked.functions if stat.name.startswith("lang::vm::")]
    heaviest = sorted(vm, key=lambda stat: (-stat.cum, stat.name))[:3]
    assert heaviest
    for stat in heaviest:
        (node,) = matching_functions(ranked, stat.name)
        ours = peek(ranked, node)
        assert (ours.flat, ours.cum) == (stat.flat, stat.cum)
        callers, callees = _go_peek(path, stat.name, tmp_path)
        for theirs, mine in ((callers, ours.callers), (callees, ours.callees)):
            values = {edge.name: edge.value for edge in mine}
            assert set(theirs) <= set(values), (stat.name, set(theirs) - set(values))
            for edge_name, printed in theirs.items():
                assert _close(values[edge_name], printed), (stat.name, edge_name)
            # Nothing pprof would show is missing: edges it leaves out are the small ones.
            if theirs:
                smallest = min(theirs.values())
                assert all(v < smallest * 1.01 for n, v in values.items() if n not in theirs)


def _per_address_profile() -> bytes:
    """index_op: line 72 is hot (leaf there 60, below it in collect 30), line 70 10."""
    builder = ProfileBuilder(per_function=False)
    runtime = f"{VM_ROOT}/runtime.rs"
    run = ("lang::vm::runtime::VM::execute_until", runtime, 44)
    index_72 = ("lang::vm::runtime::VM::index_op", runtime, 72)
    index_70 = ("lang::vm::runtime::VM::index_op", runtime, 70)
    collect = ("core::iter::traits::iterator::Iterator::collect", f"{STD_ROOT}/core/x.rs", 9)
    builder.sample([index_72, run], 60)
    builder.sample([collect, index_72, run], 30)
    builder.sample([index_70, run], 10)
    return builder.build()


def test_per_address_profiles_get_per_line_figures_with_their_fenced_source(
    tmp_path: Path,
) -> None:
    repo = make_fake_vm(tmp_path, profile=_per_address_profile())
    code, out, err = run_cli(
        "show", "VM::index_op", "--repo", str(repo), "--profile", str(repo / "recorded-profile.pb")
    )
    assert code == 0, err
    source = (repo / "lang/src/vm/runtime.rs").read_text().splitlines()
    assert "lang::vm::runtime::VM::index_op (lang/src/vm/runtime.rs)" in out
    assert "flat 70ms (70.0%), cum 100ms (100.0%)" in out
    assert re.search(
        r"^\s+100ms 100\.0%  100\.0%  lang::vm::runtime::VM::execute_until$", out, re.M
    )
    assert re.search(
        r"^\s+30ms\s+30\.0%\s+30\.0%  core::iter::traits::iterator::Iterator::collect$", out, re.M
    )
    listing = out.split(FENCE_OPEN, 1)[1].split(FENCE_CLOSE, 1)[0]
    assert f"    72     60ms     90ms | {source[71]}" in listing
    assert f"    70     10ms     10ms | {source[69]}" in listing

    code, out, err = run_cli(
        "show", "index_op", "--repo", str(repo), "--profile", str(repo / "recorded-profile.pb"),
        "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    (function,) = data["functions"]
    assert function["name"] == "lang::vm::runtime::VM::index_op"
    assert function["file"] == "lang/src/vm/runtime.rs"
    assert function["lines"] == [
        {"line": 70, "flat": 10_000_000, "cum": 10_000_000},
        {"line": 72, "flat": 60_000_000, "cum": 90_000_000},
    ]
    assert [c["name"] for c in function["callees"]] == [
        "core::iter::traits::iterator::Iterator::collect"
    ]


def test_a_per_function_profile_says_it_has_no_true_lines(tmp_path: Path) -> None:
    repo = make_fake_vm(tmp_path)
    code, out, err = run_cli(
        "show", "VM::index_op", "--repo", str(repo), "--profile", str(repo / "recorded-profile.pb")
    )
    assert code == 0, err
    assert "per-line figures: none: this profile stores one arbitrary line per function" in out
    assert FENCE_OPEN not in out


def test_several_matches_are_listed_heaviest_first_and_the_rest_counted(tmp_path: Path) -> None:
    repo = make_fake_vm(tmp_path)
    code, out, _ = run_cli(
        "show", "VM::", "--repo", str(repo), "--profile", str(repo / "recorded-profile.pb"),
        "--limit", "2", "--json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    # Both are in every sample: equal cum, so by name; call_closure_sync (96%) comes next.
    assert [f["name"] for f in data["functions"]] == [
        "lang::vm::runtime::VM::builtin_fold",
        "lang::vm::runtime::VM::execute_until",
    ]
    assert [f["cum_percent"] for f in data["functions"]] == [100.0, 100.0]
    assert data["more"] == 3  # call_closure_sync, index_op, push


def test_a_function_the_profile_does_not_have_exits_2(tmp_path: Path) -> None:
    repo = make_fake_vm(tmp_path)
    code, _, err = run_cli(
        "show", "VM::no_such_op", "--repo", str(repo), "--profile",
        str(repo / "recorded-profile.pb"),
    )  # fmt: skip
    assert code == 2
    assert_one_error(err, "no function in")


def test_a_missing_profile_exits_4(tmp_path: Path) -> None:
    code, _, err = run_cli("show", "VM::index_op", "--repo", str(tmp_path))
    assert code == 4
    assert_one_error(err, "cannot read profile")
    assert "perf-identify brief" in err
