"""The CLI's contract: one `error:`/`hint:` pair per expected failure, one exit code per stage."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from perf_identify.cli import main
from tests.conftest import REPO_ROOT
from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.pprof_top import parse_top
from tests.test_pprof import FIXTURE_NAMES


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _assert_one_error(err: str, fragment: str) -> None:
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert fragment in lines[0], err
    assert "Traceback" not in err


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_fake_vm(tmp_path)


def test_missing_file_is_a_usage_error(repo: Path) -> None:
    code, _, err = _run("examples/nope.santa", "--repo", str(repo))
    assert code == 2
    _assert_one_error(err, "nope.santa")
    assert "hint: " in err


@pytest.mark.parametrize("bad", ["x;touch pwned", "$(touch pwned)", "`touch pwned`", "a b", "x\ny"])
def test_shell_metacharacters_are_refused_before_make_runs(repo: Path, bad: str) -> None:
    code, _, err = _run(bad, "--repo", str(repo))
    assert code == 2
    _assert_one_error(err, "")
    assert not (repo / "pwned").exists()
    assert not (repo / "perf-issues").exists()


def test_bad_option_is_a_usage_error_without_argparse_exit(repo: Path) -> None:
    code, _, err = _run(BENCHMARK, "--repo", str(repo), "--top", "0")
    assert code == 2
    _assert_one_error(err, "--top")


def test_failing_make_target_shows_exit_code_and_log(repo: Path) -> None:
    (repo / "Makefile").write_text("analyze:\n\t@echo compiling\n\t@echo 'boom' >&2; exit 7\n")
    code, _, err = _run(BENCHMARK, "--repo", str(repo))
    assert code == 3
    _assert_one_error(err, "make analyze FILE=examples/aoc2018_day05.santa failed with exit code")
    log = repo / "perf-issues" / ".perf-identify" / "logs" / "make-analyze.log"
    assert str(log) in err
    assert "boom" in log.read_text()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [(b"", "is empty"), (b"\x00\x01garbage\xff", "not a pprof protobuf")],
)
def test_broken_profile_is_a_profile_error(repo: Path, data: bytes, fragment: str) -> None:
    (repo / "broken.pb").write_bytes(data)
    code, _, err = _run(BENCHMARK, "--repo", str(repo), "--profile", str(repo / "broken.pb"))
    assert code == 4
    _assert_one_error(err, fragment)


def test_missing_profile_is_a_profile_error(repo: Path) -> None:
    code, _, err = _run(BENCHMARK, "--repo", str(repo), "--skip-make")
    assert code == 4
    _assert_one_error(err, "profile.pb not found")


def test_unwritable_output_is_a_write_error(repo: Path) -> None:
    # Root ignores permission bits, so make the folder's parent a regular file instead.
    (repo / "blocker").write_text("")
    code, _, err = _run(BENCHMARK, "--repo", str(repo), "--out", str(repo / "blocker" / "issues"))
    assert code == 7
    _assert_one_error(err, "blocker")


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_real_profiles_without_source_print_the_ranking_and_write_nothing(
    shared_fixtures: Path, tmp_path: Path, name: str
) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / f"{name}.santa").write_text("")
    folder = shared_fixtures / "profiles" / name
    code, out, err = _run(
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
    _assert_one_error(err, "not found")
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
    code, out, _ = _run("x.santa", "--repo", str(tmp_path), "--profile", str(profile), "-q")
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
