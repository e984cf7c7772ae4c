"""Reruns on fresh profiles of the same program: names, classes and lines hold while the
evidence does, follow it when it clearly moves, and files no longer hot are reported stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.builders import ProfileBuilder
from tests.cli_runs import run_cli
from tests.fake_vm import BENCHMARK, make_fake_vm

VM = "lang::vm::runtime::VM"
CALLERS = [f"{VM}::builtin_map", f"{VM}::execute_until", "santa_cli::main", "main"]
PUSH = ["core::ptr::write", "alloc::vec::Vec<T,A>::push", *CALLERS]
CLONE = ["<alloc::rc::Rc<T,A> as core::clone::Clone>::clone", *CALLERS]


def _profile(push: int, clone: int) -> bytes:
    builder = ProfileBuilder(duration_nanos=1_000_000_000)
    builder.sample(PUSH, push)
    builder.sample(CLONE, clone)
    builder.sample([f"{VM}::execute_until", "main"], 10)
    return builder.build()


def _run(repo: Path, push: int, clone: int) -> dict[str, dict[str, Any]]:
    profile = repo / f"profile-{push}-{clone}.pb"
    profile.write_bytes(_profile(push, clone))
    code, out, err = run_cli(
        BENCHMARK, "--repo", str(repo), "--profile", str(profile), "--offline", "--json"
    )
    assert code == 0, err
    summary = json.loads(out)
    return {str(issue["function"]): issue for issue in summary["issues"]} | {
        "_stale": {"names": [s["name"] for s in summary.get("stale", [])]}
    }


def test_a_rerun_keeps_name_class_and_line_until_the_evidence_clearly_moves(
    tmp_path: Path,
) -> None:
    repo = make_fake_vm(tmp_path)
    first = _run(repo, push=55, clone=45)["VM::builtin_map"]
    assert first["class"] == "memcpy"
    assert first["name"] == "STACK_PUSH_IN_BUILTIN_MAP"

    # The clone is now a little heavier: the same mechanism still explains most of the time.
    second = _run(repo, push=45, clone=55)["VM::builtin_map"]
    assert (second["name"], second["class"], second["line"]) == (
        first["name"],
        first["class"],
        first["line"],
    )

    # Clearly moved: the class and the name follow the evidence, the old file is stale.
    third_run = _run(repo, push=5, clone=95)
    third = third_run["VM::builtin_map"]
    assert third["class"] == "clone_drop"
    assert third["name"] == "VALUE_CLONE_IN_BUILTIN_MAP"
    assert first["name"] in third_run["_stale"]["names"]
    assert (repo / "perf-issues" / f"{first['name']}.txt").is_file()  # reported, never deleted
