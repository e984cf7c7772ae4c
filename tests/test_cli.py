"""The CLI's contract: one `error:`/`hint:` pair per expected failure, one exit code per stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runs import assert_one_error, run_cli
from tests.conftest import REPO_ROOT
from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.pprof_top import parse_top
from tests.test_pprof import FIXTURE_NAMES


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_fake_vm(tmp_path)


def test_bad_option_is_a_usage_error_without_argparse_exit(repo: Path) -> None:
    code, _, err = run_cli(BENCHMARK, "--repo", str(repo), "--top", "0")
    assert code == 2
    assert_one_error(err, "--top")


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_real_profiles_without_source_print_the_ranking_and_write_nothing(
    shared_fixtures: Path, tmp_path: Path, name: str
) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / f"{name}.santa").write_text("")
    folder = shared_fixtures / "profiles" / name
    code, out, err = run_cli(
        f"examples/{name}.santa",
        "--repo",
        str(tmp_path),
        "--profile",
        str(folder / "profile.pb"),
        "--json",
        "--min-percent",
        "0",
        "--top",
        "50",
    )
    assert code == 5
    assert_one_error(err, "not found")
    summary = json.loads(out)
    assert summary["issues"] == []
    assert summary["unresolved"]
    assert not (tmp_path / "perf-issues").exists()
    reference = {row.name: row for row in parse_top((folder / "pprof-top.txt").read_text())}
    for hotspot in summary["hotspots"]:
        row = reference.get(hotspot["symbol"])
        if row is not None:
            assert hotspot["flat_ms"] * 1_000_000 == row.flat_ns
            assert hotspot["cum_ms"] * 1_000_000 == row.cum_ns
    functions = {f["name"]: f for f in summary["functions"]}
    for row in reference.values():
        if row.name in functions:
            assert functions[row.name]["flat"] == row.flat_ns


def test_table_lists_the_hotspots_of_a_real_profile(shared_fixtures: Path, tmp_path: Path) -> None:
    (tmp_path / "x.santa").write_text("")
    profile = shared_fixtures / "profiles" / "aoc2018_day05" / "profile.pb"
    code, out, _ = run_cli("x.santa", "--repo", str(tmp_path), "--profile", str(profile), "-q")
    assert code == 5
    assert "VM::index_op" in out
    assert "97.4%" in out
    assert "8683ms" in out
    assert "lang/src/vm/runtime.rs not found" in out


def test_help_is_fast_to_import() -> None:
    probe = (
        "import sys, perf_identify.cli as c; "
        "print(sorted(m for m in ('rich', 'anthropic', 'tree_sitter', 'google.protobuf') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert result.stdout.strip() == "[]"


def test_module_entry_point_prints_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "perf_identify", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("perf-identify ")
