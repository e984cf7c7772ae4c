"""The whole identify job on a fake VM checkout: real make, real files, independent checks."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from perf_identify.cli import main
from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.golden_files import assert_matches_golden
from tests.issue_checks import check_issue_file

DAY = "2026-11-26"


def _run(repo: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([BENCHMARK, "--repo", str(repo), "--date", DAY, *extra], out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_fake_vm(tmp_path)


def test_identify_writes_true_issue_files(repo: Path) -> None:
    code, out, err = _run(repo)
    assert code == 0, err
    assert "skipping make profile" in err
    files = sorted((repo / "perf-issues").glob("*.txt"))
    issues = {path.stem: check_issue_file(path, repo) for path in files}
    by_rank = {issue.rank: issue for issue in issues.values()}
    assert sorted(by_rank) == [1, 2, 3, 4]
    expected = {
        1: ("VM::index_op", "91.0", "lang/src/vm/runtime.rs"),
        2: ("<Value as Clone>::clone", "4.0", "lang/src/vm/value.rs"),
        3: ("VM::execute_until", "3.0", "lang/src/vm/runtime.rs"),
        4: ("VM::push", "2.0", "lang/src/vm/runtime.rs"),
    }
    for rank, (function, share, file) in expected.items():
        issue = by_rank[rank]
        assert (issue.function, issue.share, issue.file) == (function, share, file)
        assert issue.runtime_ms == 14117 + 326687
        assert issue.benchmark == BENCHMARK
        assert issue.date == DAY
    source = (repo / "lang/src/vm/runtime.rs").read_text().splitlines()
    assert "graphemes(true).collect()" in source[by_rank[1].line - 1]
    assert "self.stack.push(value)" in source[by_rank[4].line - 1]
    assert by_rank[1].title == "STRING GRAPHEME COLLECT IN INDEX OP"
    assert "91.0%" in by_rank[1].prose["impact"]
    assert "Next: implement the fix perf-issues/" in out
    assert "perf-identify verify perf-issues/" in out
    assert "STRING_GRAPHEME_COLLECT_IN_INDEX_OP.txt" in out


def test_rerun_creates_no_duplicates_and_keeps_files_in_progress(repo: Path) -> None:
    assert _run(repo)[0] == 0
    folder = repo / "perf-issues"
    first = {path.name: path.read_bytes() for path in folder.glob("*.txt")}
    moved = folder / "STRING_GRAPHEME_COLLECT_IN_INDEX_OP.txt"
    edited = moved.read_text().replace("STATUS: IDENTIFIED", "STATUS: IN_PROGRESS")
    moved.write_text(edited)
    code, out, err = _run(repo, "--date", "2026-12-01")
    assert code == 0, err
    second = {path.name: path.read_bytes() for path in folder.glob("*.txt")}
    assert sorted(second) == sorted(first)
    assert moved.read_text() == edited
    assert "kept" in out


def test_profile_target_runs_when_analyze_does_not_profile(repo: Path) -> None:
    (repo / "Makefile").write_text(
        (repo / "Makefile").read_text().replace("ANALYZE_PROFILES ?= yes", "ANALYZE_PROFILES ?= no")
    )
    code, _out, err = _run(repo, "--json")
    assert code == 0, err
    summary = json.loads(_out)
    assert summary["make"]["profile_skipped"] is False
    assert Path(summary["make"]["profile_log"]).is_file()
    assert summary["runtime_source"] == "parts"
    assert [issue["rank"] for issue in summary["issues"]] == [1, 2, 3, 4]


def test_skip_make_uses_the_profile_duration(repo: Path) -> None:
    code, out, err = _run(repo, "--profile", str(repo / "recorded-profile.pb"), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["runtime_ms"] == 42000
    assert summary["runtime_source"] == "profile"
    assert summary["make"] is None


def test_top_and_min_percent_limit_the_issues(repo: Path) -> None:
    code, out, err = _run(repo, "--top", "3", "--min-percent", "3.5", "--json")
    assert code == 0, err
    assert [i["function"] for i in json.loads(out)["issues"]] == [
        "VM::index_op",
        "<Value as Clone>::clone",
    ]


def test_issue_files_match_golden(repo: Path, update_golden: bool) -> None:
    assert _run(repo)[0] == 0
    for path in sorted((repo / "perf-issues").glob("*.txt")):
        assert_matches_golden(path.read_text(), f"identify/{path.name}", update=update_golden)
