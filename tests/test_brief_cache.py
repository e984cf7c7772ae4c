"""`brief` gives a cached brief again only while everything it was built from is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perf_identify.state_layout import StateLayout
from tests.cli_runs import run_cli
from tests.fake_vm import make_fake_vm
from tests.lifecycle_repos import ISSUE, ISSUE_FILE, identify


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_fake_vm(tmp_path)
    identify(repo)
    return repo


def _brief(repo: Path, *extra: str) -> str:
    code, out, err = run_cli("brief", str(repo / ISSUE_FILE), "--repo", str(repo), *extra)
    assert code == 0, err
    return out


def _entry(repo: Path, kind: str = "text") -> Path:
    return StateLayout(repo / "perf-issues").brief(ISSUE, kind)


def _forge_output(repo: Path, text: str, kind: str = "text") -> None:
    entry = json.loads(_entry(repo, kind).read_text())
    entry["output"] = text
    _entry(repo, kind).write_text(json.dumps(entry))


@pytest.mark.parametrize("kind", ["text", "json"])
def test_a_second_brief_is_the_cached_first(repo: Path, kind: str) -> None:
    extra = ("--json",) if kind == "json" else ()
    first = _brief(repo, *extra)
    entry = json.loads(_entry(repo, kind).read_text())
    assert entry["output"] == first
    read_paths = {Path(path).name for path, _, _ in entry["reads"]}
    read_paths |= {Path(path).name for _, path, _, _ in entry["repo_reads"]}
    assert {"runtime.rs", "recorded-profile.pb", "aoc2018_day05.santa"} <= read_paths
    # Served from the entry: what the entry holds is what is printed.
    _forge_output(repo, first + "(from the cache)\n", kind)
    assert _brief(repo, *extra) == first + "(from the cache)\n"


@pytest.mark.parametrize(
    "change",
    [
        lambda repo: (repo / "lang/src/vm/runtime.rs").write_text(
            (repo / "lang/src/vm/runtime.rs").read_text() + "\n// edited\n"
        ),
        lambda repo: (repo / "recorded-profile.pb").write_bytes(b"not a profile any more"),
        lambda repo: (repo / "examples/aoc2018_day05.santa").write_text("edited program\n"),
        lambda repo: (repo / ISSUE_FILE).write_text(
            (repo / ISSUE_FILE).read_text().replace("IDENTIFIED", "IDENTIFIED", 1) + "\n"
        ),
        lambda repo: (repo / "lang/src/vm/value.rs").unlink(),
    ],
    ids=["source", "profile", "program", "issue-file", "a-file-the-profile-names"],
)
def test_any_input_changed_rebuilds_the_brief(repo: Path, change: object) -> None:
    first = _brief(repo)
    _forge_output(repo, "stale\n")
    assert callable(change)
    change(repo)
    code, out, _ = run_cli("brief", str(repo / ISSUE_FILE), "--repo", str(repo))
    assert out != "stale\n"
    if code == 0:
        assert json.loads(_entry(repo).read_text())["output"] == out
    assert first  # the first brief was built


def test_a_cached_brief_with_control_characters_is_not_printed(repo: Path) -> None:
    first = _brief(repo)
    _forge_output(repo, "\x1b]8;;file:///etc/passwd\x07click\x1b]8;;\x07\n")
    assert _brief(repo) == first


def test_a_broken_or_foreign_entry_is_ignored(repo: Path) -> None:
    first = _brief(repo)
    for broken in ("not json", "[]", json.dumps({"format": 1, "key": "other", "output": "x"})):
        _entry(repo).write_text(broken)
        assert _brief(repo) == first


def test_a_link_re_pointed_since_rebuilds_the_brief(repo: Path) -> None:
    """A source file that is a link inside the repo: pointed at another file with other code,
    the brief is built again (reads are recorded as asked, and resolved again on lookup)."""
    source = repo / "lang/src/vm/runtime.rs"
    original = repo / "lang/src/vm/runtime_original.rs"
    source.rename(original)
    source.symlink_to("runtime_original.rs")
    first = _brief(repo)
    edited = repo / "lang/src/vm/runtime_edited.rs"
    edited.write_text(original.read_text() + "\n// the other file\n")
    source.unlink()
    source.symlink_to("runtime_edited.rs")
    _forge_output(repo, "stale\n")
    again = _brief(repo)
    assert again != "stale\n"
    assert first
