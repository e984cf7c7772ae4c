"""The whole CLI with the model drafter: real make on the fake VM, the real SDK, a fake API.

The SDK finds the fake server through `ANTHROPIC_BASE_URL`, as it would a proxy; the key comes
from `ANTHROPIC_API_KEY`. Both are set per test (the autouse fixture in conftest unsets them).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from perf_identify.cli import main
from perf_identify.model_config import NO_KEY_NOTICE
from tests import example_vm
from tests.fake_messages_server import (
    FakeMessagesServer,
    RecordedRequest,
    Reply,
    draft_reply,
    error_reply,
    grounded_draft,
)
from tests.fake_vm import BENCHMARK, make_fake_vm
from tests.issue_checks import check_issue_file

KEY = "sk-ant-e2e-51c0ffee-DO-NOT-LEAK"
DAY = "2026-11-26"


def _run(repo: Path, *extra: str, benchmark: str = BENCHMARK) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([benchmark, "--repo", str(repo), "--date", DAY, *extra], out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_fake_vm(tmp_path)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMessagesServer]:
    with FakeMessagesServer() as fake:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        yield fake


def _no_key_anywhere(root: Path, *texts: str) -> None:
    for text in texts:
        assert KEY not in text
    for path in root.rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path


def test_the_model_drafts_every_issue_and_a_rerun_makes_no_call(
    repo: Path, server: FakeMessagesServer
) -> None:
    code, out, err = _run(repo, "--json")
    assert code == 0, err
    summary = json.loads(out)
    drafting = summary["drafting"]
    assert drafting["drafter"] == "claude-sonnet-5-5"
    assert (drafting["calls"], drafting["fallbacks"], drafting["cache_hits"]) == (4, 0, 0)
    assert drafting["input_tokens"] > 0
    assert drafting["estimated_cost_usd"] > 0
    assert {issue["drafter"] for issue in summary["issues"]} == {"claude-sonnet-5-5"}
    folder = repo / "perf-issues"
    files = sorted(folder.glob("*.txt"))
    assert len(files) == 4
    for path in files:
        issue = check_issue_file(path, repo)
        assert "the model saw this in the numbered listing" in issue.prose["description"]
    # The figures are ours, whatever the model wrote.
    index_op = check_issue_file(folder / "STRING_GRAPHEME_COLLECT_IN_INDEX_OP.txt", repo)
    assert (index_op.share, index_op.rank, index_op.runtime_ms) == ("91.0", 1, 340804)
    log = (folder / ".perf-identify" / "logs" / "drafting.log").read_text()
    assert log.count('"event": "accepted"') == 4

    before = {path.name: path.read_bytes() for path in files}
    code, out, err = _run(repo)
    assert code == 0, err
    assert len(server.requests) == 4  # every draft came from the cache
    assert "0 call(s), 4 draft(s) from the cache" in " ".join(out.split())
    assert {path.name: path.read_bytes() for path in folder.glob("*.txt")} == before

    code, out, err = _run(repo, "--no-cache", "--concurrency", "2")
    assert code == 0, err
    assert len(server.requests) == 8
    _no_key_anywhere(repo, out, err)


def test_fallbacks_are_reported_and_the_run_still_succeeds(
    repo: Path, server: FakeMessagesServer
) -> None:
    def respond(request: RecordedRequest) -> Reply:
        if request.function == "VM::push":
            return error_reply(529, "overloaded_error", "Overloaded", retry_after_ms=1)
        return draft_reply(grounded_draft(request), request)

    server.responder = respond
    code, out, err = _run(repo, "--model-retries", "1")
    assert code == 0, err
    flat = " ".join(out.split())  # rich wraps long lines
    assert "#4: offline fallback: the model API answered 529 (overloaded_error" in flat
    assert "drafter: claude-sonnet-5-5; 1 fallback(s), 0 retry(ies)" in flat
    assert "Model: 5 call(s), 0 draft(s) from the cache; tokens:" in flat
    assert "#4 VM::push: the model API answered 529" in err
    code, out, err = _run(repo, "--model-retries", "0", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["drafting"]["fallbacks"] == 1
    assert summary["drafting"]["cache_hits"] == 3
    push = summary["issues"][3]
    assert push["drafter"] == "offline"
    assert push["fallback_reason"].endswith("after 1 try")


def test_a_refused_key_exits_6_without_printing_it(repo: Path, server: FakeMessagesServer) -> None:
    server.responder = lambda _r: error_reply(401, "authentication_error", "invalid x-api-key")
    code, out, err = _run(repo)
    assert code == 6
    assert "error: the model API refused the key in ANTHROPIC_API_KEY (401" in err
    assert "hint: check ANTHROPIC_API_KEY" in err
    assert not list((repo / "perf-issues").glob("*.txt"))
    _no_key_anywhere(repo, out, err)


def test_suggested_names_are_adopted_only_when_nothing_else_claims_them(
    repo: Path, server: FakeMessagesServer
) -> None:
    names = {
        "VM::index_op": "GRAPHEMES_COLLECTED_PER_INDEX",  # free: adopted
        "<Value as Clone>::clone": "SAME_NAME",  # suggested twice: refused for both
        "VM::execute_until": "SAME_NAME",
        "VM::push": "VALUE_CLONE_IN_BUILTIN_FOLD",  # another hotspot's name: refused
    }

    def respond(request: RecordedRequest) -> Reply:
        return draft_reply(grounded_draft(request, name=names[request.function]), request)

    server.responder = respond
    code, _out, err = _run(repo, "--json")
    assert code == 0, err
    folder = repo / "perf-issues"
    created = sorted(path.stem for path in folder.glob("*.txt"))
    assert created == [
        "BYTECODE_DISPATCH_IN_EXECUTE_UNTIL",
        "GRAPHEMES_COLLECTED_PER_INDEX",
        "STACK_PUSH_IN_EXECUTE_UNTIL",
        "VALUE_CLONE_IN_BUILTIN_FOLD",
    ]
    assert check_issue_file(folder / "GRAPHEMES_COLLECTED_PER_INDEX.txt", repo).title == (
        "GRAPHEMES COLLECTED PER INDEX"
    )
    # A rerun keeps every existing name, whatever the model suggests now.
    names.update({"VM::index_op": "SOMETHING_ELSE_ENTIRELY", "VM::push": "PUSH_COPIES"})
    code, _out, err = _run(repo, "--no-cache")
    assert code == 0, err
    assert sorted(path.stem for path in folder.glob("*.txt")) == created


def test_a_hostile_name_never_reaches_the_file_system(
    repo: Path, server: FakeMessagesServer, tmp_path: Path
) -> None:
    server.responder = lambda r: draft_reply(grounded_draft(r, name="../../etc/x"), r)
    code, out, err = _run(repo)
    assert code == 0, err
    assert len(server.requests) == 8  # each hotspot: the reply, then the retry
    assert len(list((repo / "perf-issues").glob("*.txt"))) == 4
    assert not (tmp_path / "etc").exists()
    assert not (repo / "etc").exists()
    assert out.count("offline fallback: the model's draft failed our checks twice") == 4


def test_no_key_or_offline_means_the_offline_drafter(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeMessagesServer() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        code, _out, err = _run(repo)
        assert code == 0, err
        assert f"perf-identify: {NO_KEY_NOTICE}" in err
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        code, _out, err = _run(repo, "--offline")
        assert code == 0, err
        assert NO_KEY_NOTICE not in err
        assert fake.requests == []


def test_the_bundled_example_vm_with_the_model(tmp_path: Path, server: FakeMessagesServer) -> None:
    if not example_vm.EXPECTED.is_file():
        pytest.skip(f"{example_vm.EXPECTED} not found (the example VM is not bundled yet)")
    repo = example_vm.copy_example(tmp_path)
    profile = repo / "synthetic-profile.pb"
    code, out, err = _run(repo, "--profile", str(profile), "--json", benchmark=example_vm.BENCHMARK)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["drafting"]["calls"] == len(server.requests) == 5
    expected = {r["function"]: r for r in example_vm.expected_hotspots()}
    program = (repo / example_vm.BENCHMARK).read_text()
    for issue in summary["issues"]:
        record = expected[issue["function"]]
        assert issue["file"] == record["file"]
        checked = check_issue_file(Path(issue["path"]), repo)
        source = (repo / record["file"]).read_text().splitlines()
        assert record["line_contains"] in source[checked.line - 1]
        assert issue["drafter"] == "claude-sonnet-5-5"
    first_line = program.strip().splitlines()[0]
    for request in server.requests:
        # The program is repo text: in the user turn, fenced as data, never in the system prompt.
        assert first_line not in json.dumps(request.body["system"])
        shared = request.body["messages"][0]["content"][0]
        assert shared["cache_control"] == {"type": "ephemeral"}
        assert first_line in shared["text"].split("<<<DATA ", 1)[1].split(">>>END DATA ", 1)[0]
    _no_key_anywhere(repo, out, err)
