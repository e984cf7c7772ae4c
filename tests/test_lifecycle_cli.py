"""The lifecycle commands' CLI contract: `status`, `implemented`, `list`, and the sidecar that
identification writes. Every refusal is one `error:` line, an exit code, and an untouched file."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from perf_identify.gitrepo import head_state
from perf_identify.issues_dir import IssueLock, OutputLock
from perf_identify.render import Status, parse_issue
from perf_identify.sidecar import issue_sidecar_path, read_sidecar
from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.lifecycle_repos import (
    ISSUE,
    ISSUE_FILE,
    commit_all,
    git,
    identify,
    init_and_commit,
    run_cli,
    scripted_vm,
)


def one_error(err: str, fragment: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert fragment in lines[0], err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return scripted_vm(tmp_path)


@pytest.fixture
def issue(repo: Path) -> Path:
    return identify(repo)


def implement(issue: Path) -> None:
    code, _, err = run_cli(
        "status", str(issue), "IN_PROGRESS", "--note", "Start", "--date", "2026-11-21"
    )
    assert code == 0, err
    code, _, err = run_cli(
        "implemented",
        str(issue),
        "--file-modified",
        "lang/src/vm/runtime.rs:index_op walks to the i-th char lazily",
        "--changes",
        "Index with nth.",
        "--tests",
        "Existing tests.",
        "--date",
        "2026-11-21",
    )
    assert code == 0, err


# --------------------------------------------------------------------------------------------
# The sidecar


def test_identification_writes_a_sidecar_the_text_does_not_carry(repo: Path, issue: Path) -> None:
    facts = read_sidecar(issue_sidecar_path(issue))
    assert facts is not None
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    profile = (repo / "recorded-profile.pb").read_bytes()
    assert facts.issue == ISSUE
    assert facts.git_commit == git(repo, "rev-parse", "HEAD")
    assert facts.git_dirty is False
    assert facts.profile_sha256 == hashlib.sha256(profile).hexdigest()
    assert facts.symbol == "lang::vm::runtime::VM::index_op"
    assert facts.share_percent == doc.share_percent
    assert (facts.file, facts.line) == (doc.file, doc.line)
    assert facts.benchmark_command == ("./target/release/vm", "-p", BENCHMARK)
    assert issue_sidecar_path(issue) == repo / f"perf-issues/.perf-identify/issues/{ISSUE}.json"
    text = issue.read_text(encoding="utf-8")
    assert facts.git_commit not in text
    assert facts.profile_sha256 not in text


def test_a_dirty_identification_is_recorded(repo: Path) -> None:
    runtime = repo / "lang/src/vm/runtime.rs"
    runtime.write_text(runtime.read_text() + "\n// experiment\n")
    facts = read_sidecar(issue_sidecar_path(identify(repo)))
    assert facts is not None
    assert facts.git_dirty is True
    assert facts.dirty_paths == ("lang/src/vm/runtime.rs",)


def test_identification_outside_git_records_no_commit(tmp_path: Path) -> None:
    repo = make_fake_vm(tmp_path)
    facts = read_sidecar(issue_sidecar_path(identify(repo)))
    assert facts is not None
    assert (facts.git_commit, facts.git_dirty) == (None, None)
    # The default benchmark is the command `make analyze` times: no profiling flag `-p`.
    assert facts.benchmark_command == ("./target/release/santa-cli", BENCHMARK)


def test_sidecar_of_an_issue_past_identified_is_kept(repo: Path, issue: Path) -> None:
    implement(issue)
    sidecar = issue_sidecar_path(issue)
    before = sidecar.read_bytes()
    (repo / "NEWS").write_text("later work\n")
    commit_all(repo, "later")
    identify(repo)
    assert sidecar.read_bytes() == before


def test_a_missing_sidecar_is_written_for_an_unchanged_issue(issue: Path) -> None:
    sidecar = issue_sidecar_path(issue)
    sidecar.unlink()
    identify(issue.parent.parent)
    assert sidecar.is_file()


def test_a_broken_config_stops_identification_before_any_write(repo: Path) -> None:
    (repo / ".perf-identify.toml").write_text("runs = 'many'\n")
    code, _, err = run_cli(
        BENCHMARK, "--repo", str(repo), "--profile", str(repo / "recorded-profile.pb"),
        "--offline", "--quiet",
    )  # fmt: skip
    assert code == 2
    one_error(err, ".perf-identify.toml: runs: Input should be a valid integer")
    assert not list((repo / "perf-issues").glob("*.txt"))


def test_head_state_ignores_untracked_files_and_the_issue_folder(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    (repo / "perf-issues").mkdir(parents=True)
    (repo / "perf-issues" / "A.txt").write_text("one\n")
    (repo / "src.rs").write_text("fn main() {}\n")
    commit = init_and_commit(repo)
    (repo / "perf-issues" / "A.txt").write_text("two\n")
    (repo / "untracked.rs").write_text("x\n")
    state = head_state(repo, exclude=repo / "perf-issues")
    assert state is not None
    assert (state.commit, state.dirty) == (commit, False)
    state = head_state(repo)
    assert state is not None
    assert state.dirty_paths == ("perf-issues/A.txt",)
    git(repo, "mv", "src.rs", "main.rs")
    state = head_state(repo, exclude=repo / "perf-issues")
    assert state is not None
    assert state.dirty_paths == ("main.rs",)
    assert head_state(tmp_path) is None


# --------------------------------------------------------------------------------------------
# status


def test_status_makes_a_legal_move(issue: Path) -> None:
    code, out, err = run_cli(
        "status", str(issue), "IN_PROGRESS", "--note", "Started  work", "--date", "2026-11-21"
    )
    assert code == 0, err
    assert out == f"{issue}: IDENTIFIED -> IN_PROGRESS\n"
    text = issue.read_text(encoding="utf-8")
    assert "STATUS: IN_PROGRESS\n" in text
    assert text.endswith(f"profiling of {BENCHMARK}\n[2026-11-21] IN_PROGRESS - Started work\n")


@pytest.mark.parametrize(
    ("status", "fragment"),
    [
        ("VERIFIED", "illegal status move IDENTIFIED -> VERIFIED"),
        ("IMPLEMENTED", "illegal status move IDENTIFIED -> IMPLEMENTED"),
        ("IDENTIFIED", "illegal status move IDENTIFIED -> IDENTIFIED"),
    ],
)
def test_status_refuses_an_illegal_move_and_leaves_the_file(
    issue: Path, status: str, fragment: str
) -> None:
    before = issue.read_bytes()
    code, out, err = run_cli("status", str(issue), status, "--note", "x")
    assert (code, out) == (9, "")
    one_error(err, fragment)
    assert "hint: the lifecycle is IDENTIFIED -> IN_PROGRESS" in err
    assert issue.read_bytes() == before


def _another_issue(issue: Path) -> Path:
    other = issue.with_name("OTHER_HOTSPOT_IN_RUN.txt")
    other.write_bytes(issue.read_bytes())
    return other


def test_status_of_another_issue_moves_while_a_verify_holds_its_lock(issue: Path) -> None:
    # A verify holds its issue's lock (and only that one) for minutes of builds and timing.
    other = _another_issue(issue)
    with IssueLock(issue):
        code, out, err = run_cli("status", str(other), "IN_PROGRESS", "--note", "meanwhile")
        assert (code, err) == (0, "")
        assert out == f"{other}: IDENTIFIED -> IN_PROGRESS\n"
        before = issue.read_bytes()
        for argv in (
            ["status", str(issue), "IN_PROGRESS", "--note", "too soon"],
            ["implemented", str(issue), "--file-modified", "a.rs:x", "--changes", "c",
             "--tests", "t"],
        ):  # fmt: skip
            code, out, err = run_cli(*argv)
            assert (code, out) == (7, "")
            one_error(err, f"another perf-identify command (pid {os.getpid()}) is working on")
            assert "hint: wait for it to finish, then run again; other issues are not locked" in err
        assert issue.read_bytes() == before
    code, _, err = run_cli("status", str(issue), "IN_PROGRESS", "--note", "now")
    assert code == 0, err


def test_identification_runs_while_a_verify_holds_an_issue_and_keeps_it(issue: Path) -> None:
    implement(issue)
    before = issue.read_bytes()
    with IssueLock(issue):
        assert identify(issue.parents[1]) == issue
    assert issue.read_bytes() == before


def test_a_missing_issue_file_leaves_no_lock_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "NO_SUCH_ISSUE.txt"
    code, _, err = run_cli("status", str(missing), "IN_PROGRESS", "--note", "x")
    assert code == 9
    one_error(err, "no such issue file")
    assert not (tmp_path / "nowhere").exists()


def test_status_is_refused_while_an_identification_writes_the_folder(issue: Path) -> None:
    # Identification writes IDENTIFIED files under the folder's lock; `status` moves them, so it
    # is refused at once while that lock is held, rather than race the rewrite.
    with OutputLock(issue.parent):
        code, _, err = run_cli("status", str(issue), "IN_PROGRESS", "--note", "x")
    assert code == 7
    one_error(err, f"is writing to {issue.parent}")


def test_status_refuses_a_move_that_needs_a_section(issue: Path) -> None:
    run_cli("status", str(issue), "IN_PROGRESS", "--note", "go")
    before = issue.read_bytes()
    code, _, err = run_cli("status", str(issue), "IMPLEMENTED", "--note", "done")
    assert code == 9
    one_error(err, "make it with `perf-identify implemented FILE")
    assert issue.read_bytes() == before


def test_status_usage_errors(issue: Path, tmp_path: Path) -> None:
    before = issue.read_bytes()
    assert run_cli("status", str(issue), "IN_PROGRESS", "--note", "  ")[0] == 2
    assert run_cli("status", str(issue), "DONE", "--note", "x")[0] == 2
    assert run_cli("status", str(issue), "IN_PROGRESS")[0] == 2
    assert issue.read_bytes() == before
    code, _, err = run_cli("status", str(tmp_path / "NOPE.txt"), "IN_PROGRESS", "--note", "x")
    assert code == 9
    one_error(err, "NOPE.txt: no such issue file")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("Hotspot Rank: 1", "Hotspot Rank: first", "line 14: expected 'Hotspot Rank: <n>'"),
        ("STATUS: IDENTIFIED", "STATUS: DONE", "line 7: expected 'STATUS: IDENTIFIED|"),
        ("STATUS: IDENTIFIED", "STATUS: IN_PROGRESS", "out of shape: STATUS is IN_PROGRESS but"),
    ],
)
def test_a_hand_broken_file_is_refused_by_every_command(
    repo: Path, issue: Path, old: str, new: str, fragment: str
) -> None:
    issue.write_text(issue.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    before = issue.read_bytes()
    for argv in (
        ["status", str(issue), "IN_PROGRESS", "--note", "x"],
        ["implemented", str(issue), "--file-modified", "a.rs:x", "--changes", "c", "--tests", "t"],
        ["verify", str(issue), "--repo", str(repo), "--quiet"],
    ):
        code, _, err = run_cli(*argv)
        assert code == 9, (argv, err)
        message = one_error(err, fragment)
        assert message.startswith(f"error: {issue}: ")
        assert issue.read_bytes() == before


# --------------------------------------------------------------------------------------------
# implemented


def test_implemented_writes_the_section_and_moves_on(issue: Path) -> None:
    run_cli("status", str(issue), "IN_PROGRESS", "--note", "go", "--date", "2026-11-21")
    code, out, err = run_cli(
        "implemented",
        str(issue),
        "--file-modified",
        "lang/src/vm/runtime.rs:index_op walks to the i-th char with nth",
        "--file-modified",
        "lang/src/tests.rs",
        "--changes",
        "Replaced the collect-then-index with a lazy walk.\n\n- no allocation\n- same results",
        "--tests",
        "Added a test for combining marks.",
        "--date",
        "2026-11-22",
    )
    assert code == 0, err
    assert out.startswith(f"{issue}: IN_PROGRESS -> IMPLEMENTED (2 file(s) modified)\n")
    text = issue.read_text(encoding="utf-8")
    section = text[text.index("IMPLEMENTATION\n") :]
    assert section.startswith(
        "IMPLEMENTATION\n" + "-" * 80 + "\n\n"
        "Files Modified:\n"
        "  - lang/src/vm/runtime.rs: index_op walks to the i-th char with nth\n"
        "  - lang/src/tests.rs\n\n"
        "Changes Made:\n"
        "  Replaced the collect-then-index with a lazy walk.\n\n"
        "  - no allocation\n  - same results\n\n"
        "Tests Added/Modified:\n"
        "  Added a test for combining marks.\n\n"
        + "-" * 80 + "\nPROGRESS LOG\n"
    )  # fmt: skip
    assert text.endswith(
        "[2026-11-22] IMPLEMENTED - Replaced the collect-then-index with a lazy walk "
        "(2 file(s) modified)\n"
    )
    doc = parse_issue(text)
    assert doc.status is Status.IMPLEMENTED


def test_implemented_from_json(issue: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli("status", str(issue), "IN_PROGRESS", "--note", "go")
    data = {
        "files_modified": [
            {"path": "lang/src/vm/runtime.rs", "what": "lazy walk"},
            "lang/src/vm/value.rs: helper",
        ],
        "changes_made": "Lazy walk.",
        "tests": "None needed: covered.",
        "note": "Lazy walk in index_op",
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(data)))
    code, _, err = run_cli("implemented", str(issue), "--from-json", "-", "--date", "2026-11-22")
    assert code == 0, err
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert doc.implementation is not None
    assert doc.implementation.files_modified == (
        ("lang/src/vm/runtime.rs", "lazy walk"),
        ("lang/src/vm/value.rs", "helper"),
    )
    assert doc.log[-1].note == "Lazy walk in index_op"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--changes", "c", "--tests", "t"], "missing --file-modified (Files Modified)"),
        (["--file-modified", "a.rs:x", "--tests", "t"], "missing --changes (Changes Made)"),
        (["--file-modified", "/etc/passwd:x", "--changes", "c", "--tests", "t"], "relative"),
        (["--file-modified", "../x.rs:x", "--changes", "c", "--tests", "t"], "relative"),
        (["--from-json", "-", "--changes", "c"], "either --from-json or"),
    ],
)
def test_implemented_refuses_an_incomplete_section(
    issue: Path, argv: list[str], fragment: str
) -> None:
    run_cli("status", str(issue), "IN_PROGRESS", "--note", "go")
    before = issue.read_bytes()
    code, _, err = run_cli("implemented", str(issue), *argv)
    assert code == 2
    one_error(err, fragment)
    assert issue.read_bytes() == before


def test_implemented_json_errors_name_the_field(issue: Path, tmp_path: Path) -> None:
    run_cli("status", str(issue), "IN_PROGRESS", "--note", "go")
    bad = tmp_path / "impl.json"
    bad.write_text(json.dumps({"files_modified": [], "changes": "x", "tests": "y"}))
    code, _, err = run_cli("implemented", str(issue), "--from-json", str(bad))
    assert code == 2
    one_error(err, "changes_made: Field required")


def test_implemented_needs_in_progress(issue: Path) -> None:
    before = issue.read_bytes()
    code, _, err = run_cli(
        "implemented", str(issue), "--file-modified", "a.rs:x", "--changes", "c", "--tests", "t"
    )
    assert code == 9
    one_error(err, "illegal status move IDENTIFIED -> IMPLEMENTED")
    assert issue.read_bytes() == before


# --------------------------------------------------------------------------------------------
# list


def test_list_shows_every_issue(repo: Path, issue: Path) -> None:
    implement(issue)
    (issue.parent / "BROKEN_ISSUE.txt").write_text("not an issue\n")
    code, out, err = run_cli("list", "--repo", str(repo))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "SHARE", "PROSE", "LOCATION", "LAST", "LOG"]
    doc = parse_issue(issue.read_text(encoding="utf-8"))
    assert lines[1].split()[:6] == [
        ISSUE,
        "IMPLEMENTED",
        "91.0%",
        "offline",
        f"{doc.file}:{doc.line}",
        doc.function,
    ]
    assert lines[1].endswith("[2026-11-21] IMPLEMENTED - Index with nth (1 file(s) modified)")
    assert lines[2].startswith("BROKEN_ISSUE")
    assert "UNREADABLE" in lines[2]
    assert "line 1: expected 'a rule of 80 '='" in lines[2]

    code, out, _ = run_cli("list", "--repo", str(repo), "--json")
    rows = json.loads(out)
    assert [row["name"] for row in rows] == [ISSUE, "BROKEN_ISSUE"]
    assert rows[0]["status"] == "IMPLEMENTED"
    assert rows[0]["last_log"] == {
        "date": "2026-11-21",
        "status": "IMPLEMENTED",
        "note": "Index with nth (1 file(s) modified)",
    }
    assert (rows[0]["drafted_by"], rows[0]["prose"]) == ("offline", "offline")
    assert rows[1]["status"] == "UNREADABLE"


def test_list_of_an_empty_folder(tmp_path: Path) -> None:
    assert run_cli("list", "--repo", str(tmp_path)) == (
        0,
        f"no issue files in {tmp_path.resolve() / 'perf-issues'}\n",
        "",
    )


def test_issue_file_constant_matches(repo: Path, issue: Path) -> None:
    assert issue == repo / ISSUE_FILE
