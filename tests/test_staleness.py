"""Stale issue files: which ones (the pure rule), the durable mark in the sidecar, and what a
rerun on the fake VM shows in the table, in `--json` and in `perf-identify list`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest

from perf_identify.issues_dir import WriteOutcome
from perf_identify.render import IssueDocument, Status, parse_issue
from perf_identify.sidecar import (
    IdentificationFacts,
    Recorder,
    issue_sidecar_path,
    read_sidecar,
    sidecar_path,
    stale_since,
    write_sidecar,
)
from perf_identify.staleness import StaleIssue, stale_issues
from tests.builders import ProfileBuilder
from tests.cli_runs import run_cli
from tests.fake_vm import BENCHMARK, STACKS, fake_vm_facts, make_fake_vm
from tests.golden_files import GOLDEN_DIR

OTHER_BENCHMARK = "examples/aoc2022_day11.santa"


@dataclass(frozen=True, slots=True)
class Found:
    """A scanned issue file, as `issues_dir.scan_issues` returns it."""

    path: Path
    name: str
    document: IssueDocument | None


def _document(**changes: object) -> IssueDocument:
    text = (GOLDEN_DIR / "identify" / "VALUE_CLONE_IN_BUILTIN_FOLD.txt").read_text()
    return replace(parse_issue(text), **changes)  # type: ignore[arg-type]


def _found(name: str, **changes: object) -> Found:
    return Found(Path("perf-issues") / f"{name}.txt", name, _document(**changes))


# -- the rule ------------------------------------------------------------------------------------


def test_an_identified_file_of_this_benchmark_not_written_is_stale() -> None:
    doc = _document(benchmark_file=BENCHMARK, share_percent=12.3, identified=date(2026, 11, 30))
    found = Found(Path("perf-issues/OLD_HOTSPOT.txt"), "OLD_HOTSPOT", doc)
    assert stale_issues([found], BENCHMARK, written=["NEW_HOTSPOT"]) == (
        StaleIssue(
            name="OLD_HOTSPOT",
            path=Path("perf-issues/OLD_HOTSPOT.txt"),
            benchmark_file=BENCHMARK,
            function=doc.function,
            file=doc.file,
            share_percent=12.3,
            identified=date(2026, 11, 30),
        ),
    )


def test_a_file_this_run_wrote_is_current() -> None:
    assert stale_issues([_found("HOT", benchmark_file=BENCHMARK)], BENCHMARK, ["HOT"]) == ()


def test_another_benchmarks_files_are_not_judged() -> None:
    found = _found("ELSEWHERE", benchmark_file=OTHER_BENCHMARK)
    assert stale_issues([found], BENCHMARK, written=[]) == ()


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.IDENTIFIED])
def test_a_file_past_identified_is_never_stale(status: Status) -> None:
    found = _found("IN_HAND", benchmark_file=BENCHMARK, status=status)
    assert stale_issues([found], BENCHMARK, written=[]) == ()


def test_an_unreadable_file_is_not_judged() -> None:
    found = Found(Path("perf-issues/BROKEN.txt"), "BROKEN", None)
    assert stale_issues([found], BENCHMARK, written=[]) == ()


def test_a_file_whose_hotspot_could_not_be_resolved_is_not_called_stale() -> None:
    found = _found("MAYBE_HOT", benchmark_file=BENCHMARK, file="lang/src/vm/value.rs")
    assert stale_issues([found], BENCHMARK, [], unjudged_files=["lang/src/vm/value.rs"]) == ()
    assert [s.name for s in stale_issues([found], BENCHMARK, [], ["lang/src/vm/other.rs"])] == [
        "MAYBE_HOT"
    ]


def test_stale_files_come_sorted_by_name() -> None:
    found = [_found(name, benchmark_file=BENCHMARK) for name in ("ZED", "ALPHA", "MID")]
    assert [s.name for s in stale_issues(found, BENCHMARK, written=[])] == ["ALPHA", "MID", "ZED"]


# -- the durable mark ----------------------------------------------------------------------------


def _facts(name: str) -> IdentificationFacts:
    return IdentificationFacts(
        issue=name,
        benchmark_file=BENCHMARK,
        identified=date(2026, 11, 26),
        git_commit=None,
        git_dirty=None,
        profile_path="profile.pb",
        profile_sha256="a" * 64,
        symbol="lang::vm::runtime::VM::push",
        share_percent=2.0,
        file="lang/src/vm/runtime.rs",
        line=42,
        benchmark_command=("./target/release/santa-cli", "-p", BENCHMARK),
    )


def _recorder(out_dir: Path, today: date) -> Recorder:
    return Recorder(
        out_dir=out_dir,
        benchmark_file=BENCHMARK,
        today=today,
        git_commit=None,
        git_dirty=None,
        dirty_paths=(),
        profile_path="second.pb",
        profile_sha256="b" * 64,
        benchmark_command=("./target/release/santa-cli", "-p", BENCHMARK),
    )


def replace_name(facts: IdentificationFacts, name: str) -> IdentificationFacts:
    return replace(facts, issue=name)


def _stale(out_dir: Path, name: str) -> StaleIssue:
    return StaleIssue(
        name, out_dir / f"{name}.txt", BENCHMARK, "VM::push", "lang/src/vm/runtime.rs", 2.0,
        date(2026, 11, 26),
    )  # fmt: skip


def test_a_current_sidecar_is_written_as_before_staleness_existed(tmp_path: Path) -> None:
    path = write_sidecar(tmp_path, _facts("PUSH"))
    data = json.loads(path.read_text())
    assert "stale_since" not in data
    assert "superseded_by_profile_sha256" not in data
    # A sidecar written before the stale fields existed reads as current.
    assert read_sidecar(path) == _facts("PUSH")


def test_marking_records_the_date_and_the_superseding_profile_once(tmp_path: Path) -> None:
    write_sidecar(tmp_path, _facts("PUSH"))
    first = _recorder(tmp_path, date(2026, 11, 30)).mark_stale([_stale(tmp_path, "PUSH")])
    assert [s.stale_since for s in first] == [date(2026, 11, 30)]
    later = _recorder(tmp_path, date(2026, 12, 5)).mark_stale([_stale(tmp_path, "PUSH")])
    assert [s.stale_since for s in later] == [date(2026, 11, 30)]
    facts = read_sidecar(sidecar_path(tmp_path, "PUSH"))
    assert facts is not None
    assert facts.stale_since == date(2026, 11, 30)
    assert facts.superseded_by_profile_sha256 == "b" * 64
    assert replace(facts, stale_since=None, superseded_by_profile_sha256=None) == (_facts("PUSH"))
    assert stale_since(tmp_path / "PUSH.txt") == date(2026, 11, 30)


def test_a_stale_file_without_a_readable_sidecar_is_reported_but_not_marked(
    tmp_path: Path,
) -> None:
    broken = sidecar_path(tmp_path, "BROKEN")
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    marked = _recorder(tmp_path, date(2026, 11, 30)).mark_stale(
        [_stale(tmp_path, "MISSING"), _stale(tmp_path, "BROKEN")]
    )
    assert [(s.name, s.stale_since) for s in marked] == [("MISSING", None), ("BROKEN", None)]
    assert broken.read_text() == "{not json"
    assert not sidecar_path(tmp_path, "MISSING").exists()
    assert stale_since(tmp_path / "BROKEN.txt") is None


def test_writing_an_unchanged_issue_again_clears_the_mark(tmp_path: Path) -> None:
    facts = fake_vm_facts()[0][0]
    write_sidecar(tmp_path, replace_name(_facts("X"), facts.name))
    recorder = _recorder(tmp_path, date(2026, 11, 30))
    recorder.mark_stale([_stale(tmp_path, facts.name)])
    assert stale_since(tmp_path / f"{facts.name}.txt") == date(2026, 11, 30)
    recorder(facts, WriteOutcome.UNCHANGED)
    assert read_sidecar(sidecar_path(tmp_path, facts.name)) == replace_name(_facts("X"), facts.name)


# -- a rerun on the fake VM ----------------------------------------------------------------------


def _profile_without_push() -> bytes:
    """The fake VM's profile after a fix: the `VM::push` stack (2 % before) is gone."""
    builder = ProfileBuilder(duration_nanos=4_200_000_000)
    for stack, count in STACKS:
        if "lang::vm::runtime::VM::push" not in stack:
            builder.sample(stack, count)
    return builder.build()


def _identify(repo: Path, profile: Path, day: str, *extra: str) -> str:
    code, out, err = run_cli(
        BENCHMARK, "--repo", str(repo), "--profile", str(profile), "--offline", "--quiet",
        "--date", day, *extra,
    )  # fmt: skip
    assert code == 0, err
    return out


@pytest.fixture
def rerun(tmp_path: Path) -> tuple[Path, Path, str]:
    """The fake VM identified once (2026-11-26); returns the repo, a second profile without the
    VM::push hotspot, and the name of VM::push's issue."""
    repo = make_fake_vm(tmp_path)
    first = json.loads(_identify(repo, repo / "recorded-profile.pb", "2026-11-26", "--json"))
    assert first["stale"] == []
    name = next(i["name"] for i in first["issues"] if i["function"] == "VM::push")
    second = repo / "second-profile.pb"
    second.write_bytes(_profile_without_push())
    return repo, second, name


def test_a_former_hotspot_is_stale_in_the_table_the_json_and_list(
    rerun: tuple[Path, Path, str],
) -> None:
    repo, second, name = rerun
    issue = repo / "perf-issues" / f"{name}.txt"
    before = issue.read_bytes()

    lines = _identify(repo, second, "2026-11-30").splitlines()
    stale_line = f"stale: {name}.txt (IDENTIFIED 2026-11-26, 2.0%): not a hotspot in this run"
    assert stale_line in lines
    assert lines[lines.index(stale_line) + 1] == (
        "Stale files are marked in their sidecars, not deleted: delete them, "
        "or lower --min-percent (1) or raise --top (5) and rerun."
    )
    assert sum(line.startswith("stale: ") for line in lines) == 1
    assert issue.read_bytes() == before  # the issue text is a contract: never touched
    facts = read_sidecar(issue_sidecar_path(issue))
    assert facts is not None
    assert facts.stale_since == date(2026, 11, 30)
    assert facts.superseded_by_profile_sha256 == hashlib.sha256(second.read_bytes()).hexdigest()

    summary = json.loads(_identify(repo, second, "2026-12-02", "--json"))
    assert summary["stale"] == [
        {
            "name": name,
            "path": str(issue),
            "status": "IDENTIFIED",
            "benchmark_file": BENCHMARK,
            "function": "VM::push",
            "file": "lang/src/vm/runtime.rs",
            "share_percent": 2.0,
            "identified": "2026-11-26",
            "stale_since": "2026-11-30",
            "reason": "not a hotspot in this run",
        }
    ]
    assert name not in [i["name"] for i in summary["issues"]]

    code, out, err = run_cli("list", "--repo", str(repo))
    assert code == 0, err
    statuses = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[1:]}
    assert statuses.pop(name) == ["IDENTIFIED", "(stale)"]
    assert statuses  # the current issues
    assert all(status[0] == "IDENTIFIED" and status[1] != "(stale)" for status in statuses.values())
    code, out, _ = run_cli("list", "--repo", str(repo), "--json")
    since = {row["name"]: row["stale_since"] for row in json.loads(out)}
    assert since.pop(name) == "2026-11-30"
    assert set(since.values()) == {None}


def test_a_hotspot_that_comes_back_is_current_again(rerun: tuple[Path, Path, str]) -> None:
    repo, second, name = rerun
    _identify(repo, second, "2026-11-30")
    summary = json.loads(_identify(repo, repo / "recorded-profile.pb", "2026-12-03", "--json"))
    assert summary["stale"] == []
    assert name in [i["name"] for i in summary["issues"]]
    code, out, _ = run_cli("list", "--repo", str(repo), "--json")
    assert code == 0
    assert {row["stale_since"] for row in json.loads(out)} == {None}


def test_a_file_past_identified_is_never_marked(rerun: tuple[Path, Path, str]) -> None:
    repo, second, name = rerun
    issue = repo / "perf-issues" / f"{name}.txt"
    code, _, err = run_cli(
        "status", str(issue), "IN_PROGRESS", "--note", "Reserve", "--date", "2026-11-27"
    )
    assert code == 0, err
    sidecar = issue_sidecar_path(issue)
    text, facts = issue.read_bytes(), sidecar.read_bytes()
    summary = json.loads(_identify(repo, second, "2026-11-30", "--json"))
    assert summary["stale"] == []
    assert (issue.read_bytes(), sidecar.read_bytes()) == (text, facts)
