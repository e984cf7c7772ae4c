"""The model drafter through the real SDK, against a fake Messages API on 127.0.0.1.

Nothing here patches the SDK: `LlmDrafter` builds a real `AsyncAnthropic` client whose
`base_url` points at `tests.fake_messages_server`, which answers like the API and records what
the SDK sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from perf_identify.drafting import DraftingSummary
from perf_identify.errors import DraftError
from perf_identify.facts import HotspotFacts
from perf_identify.grounding import draft_problems
from perf_identify.llm_drafter import LlmDrafter
from perf_identify.model_config import LlmSettings, estimate_cost
from perf_identify.naming import UNREADABLE, FolderEntry, FolderNames, adopt_suggested_names
from tests.fake_messages_server import (
    FakeMessagesServer,
    RecordedRequest,
    Reply,
    Responder,
    Script,
    draft_reply,
    error_reply,
    grounded_draft,
    grounded_reply,
    message_body,
    text_reply,
)
from tests.fake_vm import BENCHMARK, FAKE_VM, fake_vm_facts

KEY = "sk-ant-test-7f3a9c-DO-NOT-LEAK"
MODEL = "claude-sonnet-5-5"


class Harness:
    """A fake server plus a drafter pointed at it, over the fake VM's hotspots."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.server: FakeMessagesServer | None = None
        self.notices: list[str] = []
        self.pairs = fake_vm_facts()

    def serve(self, responder: Responder = grounded_reply) -> FakeMessagesServer:
        self.server = FakeMessagesServer(responder).__enter__()
        return self.server

    @property
    def requests(self) -> list[RecordedRequest]:
        assert self.server is not None
        return self.server.requests

    def draft(self, count: int = 1, **overrides: Any) -> DraftingSummary:
        assert self.server is not None
        settings = LlmSettings(
            api_key=KEY,
            model=MODEL,
            base_url=self.server.url,
            max_retries=1,
            timeout_s=5.0,
            cache_dir=self.tmp_path / "cache",
            log_path=self.tmp_path / "logs" / "drafting.log",
        )
        drafter = LlmDrafter(
            replace(settings, **overrides), repo=FAKE_VM, notice=self.notices.append
        )
        pairs = self.pairs[:count]
        return drafter.draft_all([f for f, _ in pairs], [lines for _, lines in pairs])

    def facts(self, index: int = 0) -> HotspotFacts:
        return self.pairs[index][0]

    def assert_no_key_on_disk(self) -> None:
        for path in self.tmp_path.rglob("*"):
            if path.is_file():
                assert KEY not in path.read_text(errors="replace"), path


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    if harness.server is not None:
        harness.server.__exit__(None, None, None)


def _with(**overrides: object) -> Responder:
    def respond(request: RecordedRequest) -> Reply:
        return draft_reply(grounded_draft(request, **overrides), request)

    return respond


def test_a_valid_draft_is_accepted_and_the_request_is_what_we_mean(harness: Harness) -> None:
    harness.serve()
    summary = harness.draft(count=4)
    assert [r.drafter for r in summary.results] == [MODEL] * 4
    assert summary.fallbacks == summary.retries == 0
    assert len(harness.requests) == 4
    assert {r.body["model"] for r in harness.requests} == {MODEL}
    by_function = {r.function: r for r in harness.requests}
    request = by_function["VM::index_op"]
    facts, lines = harness.pairs[0]
    system = request.body["system"]
    # One shared prefix, marked once, at its end; identical for every hotspot.
    assert [block.get("cache_control") for block in system] == [None, {"type": "ephemeral"}]
    assert all(r.body["system"] == system for r in harness.requests)
    # The function's source with its real line numbers, in the per-hotspot turn.
    line = facts.line.line
    assert f"{line:>5} | {lines[line - 1]}" in request.hotspot_text
    assert "Attributed share of runtime: 91.0%" in request.hotspot_text
    # Structured output: the Draft's JSON schema as the output format.
    output_format = request.body["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    assert set(output_format["schema"]["required"]) >= {"description", "evidence"}
    # The key travels in a header only.
    assert any(KEY in value for value in request.headers.values())
    assert all(KEY not in r.raw.decode() for r in harness.requests)
    # Tokens from every reply's usage, and a cost from the price table.
    assert summary.calls == 4
    assert min(summary.input_tokens, summary.output_tokens) > 0
    assert min(summary.cache_write_tokens, summary.cache_read_tokens) > 0
    assert summary.estimated_cost_usd == estimate_cost(
        MODEL,
        input_tokens=summary.input_tokens,
        output_tokens=summary.output_tokens,
        cache_read=summary.cache_read_tokens,
        cache_write=summary.cache_write_tokens,
    )
    harness.assert_no_key_on_disk()


def test_a_schema_breaking_reply_gets_one_retry_that_says_what_was_wrong(
    harness: Harness,
) -> None:
    broken = '{"description": "too short", "evidence": []}'
    harness.serve(Script([lambda request: text_reply(broken, request)]))
    (result,) = harness.draft().results
    assert (result.drafter, result.retries, result.fallback_reason) == (MODEL, 1, "")
    first, retry = harness.requests
    turns = retry.body["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[0] == first.body["messages"][0]
    assert turns[1]["content"] == broken
    assert "description: String should have at least 20 characters" in turns[2]["content"]
    assert "root_cause: Field required" in turns[2]["content"]


def test_a_quote_that_does_not_match_twice_falls_back_offline(harness: Harness) -> None:
    facts = harness.facts()
    wrong = [{"line": facts.line.line, "quote": "let nothing = here;"}]
    harness.serve(_with(evidence=wrong))
    summary = harness.draft()
    (result,) = summary.results
    assert result.drafter == "offline"
    assert result.retries == 1
    assert result.fallback_reason.startswith("the model's draft failed our checks twice")
    assert "does not match the source line" in result.fallback_reason
    assert summary.fallbacks == 1
    _, retry = harness.requests
    assert "quote 'let nothing = here;' does not match" in retry.body["messages"][2]["content"]
    assert harness.notices == [
        f"#1 VM::index_op: {result.fallback_reason}; using the offline draft"
    ]
    lines = harness.pairs[0][1]
    assert draft_problems(result.draft, facts, lines) == []


def test_impact_above_the_share_is_rejected(harness: Harness) -> None:
    inflated = "This removes 99% of the runtime, which is plenty of time saved overall."
    harness.serve(Script([_with(expected_impact=inflated)]))
    (result,) = harness.draft().results
    assert (result.drafter, result.retries) == (MODEL, 1)
    assert (
        "above the hotspot's measured share of 91.0%"
        in (harness.requests[1].body["messages"][2]["content"])
    )


def test_a_refused_key_stops_the_run(harness: Harness) -> None:
    harness.serve(lambda _r: error_reply(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(DraftError) as caught:
        harness.draft(count=4)
    error = caught.value
    assert error.exit_code == 6
    assert error.message.startswith("the model API refused the key in ANTHROPIC_API_KEY (401")
    assert error.hint == "check ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL), or run with --offline"
    assert KEY not in error.message + error.hint
    harness.assert_no_key_on_disk()


def test_a_rate_limit_is_retried_by_the_sdk(harness: Harness) -> None:
    harness.serve(Script([error_reply(429, "rate_limit_error", "slow down", retry_after_ms=5)]))
    summary = harness.draft()
    (result,) = summary.results
    assert (result.drafter, result.retries, result.fallback_reason) == (MODEL, 0, "")
    assert len(harness.requests) == 2
    assert harness.requests[1].headers["x-stainless-retry-count"] == "1"
    assert summary.calls == 2


def test_an_overloaded_model_costs_only_that_hotspot_its_draft(harness: Harness) -> None:
    harness.serve(lambda _r: error_reply(529, "overloaded_error", "Overloaded", retry_after_ms=5))
    summary = harness.draft(count=2, max_retries=2)
    assert [r.drafter for r in summary.results] == ["offline", "offline"]
    reason = summary.results[0].fallback_reason
    assert reason == "the model API answered 529 (overloaded_error: Overloaded) after 3 tries"
    assert len(harness.requests) == 6  # 1 + 2 SDK retries, per hotspot
    assert summary.fallbacks == 2


def test_a_slow_reply_past_the_timeout_falls_back(harness: Harness) -> None:
    def slow(request: RecordedRequest) -> Reply:
        return Reply(body=message_body("{}", request), delay_s=5.0)

    harness.serve(slow)
    (result,) = harness.draft(timeout_s=0.2, max_retries=0).results
    assert result.drafter == "offline"
    assert result.fallback_reason == "the model timed out (0.2s per attempt, 1 try)"


def test_a_hostile_name_is_refused_by_the_schema(harness: Harness) -> None:
    harness.serve(_with(name="../../etc/x"))
    (result,) = harness.draft().results
    assert result.drafter == "offline"
    assert result.draft.name is None
    assert "not a short UPPERCASE_WITH_UNDERSCORES name" in result.fallback_reason
    retry = harness.requests[1].body["messages"][2]["content"]
    assert "name: Value error, '../../etc/x' is not a short" in retry


def test_a_valid_suggested_name_comes_through(harness: Harness) -> None:
    harness.serve(_with(name="GRAPHEME_SEGMENTATION_PER_INDEX"))
    (result,) = harness.draft().results
    assert result.draft.name == "GRAPHEME_SEGMENTATION_PER_INDEX"


def test_the_token_budget_stops_new_calls(harness: Harness) -> None:
    harness.serve()
    summary = harness.draft(count=3, concurrency=1, token_budget=1)
    assert len(harness.requests) == 1
    assert [r.drafter for r in summary.results].count("offline") == 2
    assert summary.budget_fallbacks == 2
    spent = summary.input_tokens + summary.output_tokens
    spent += summary.cache_read_tokens + summary.cache_write_tokens
    reasons = {r.fallback_reason for r in summary.results if r.fallback_reason}
    assert reasons == {f"token budget reached ({spent} of 1 spent)"}


def test_accepted_drafts_are_cached_and_a_corrupt_entry_is_ignored(harness: Harness) -> None:
    harness.serve()
    first = harness.draft(count=2)
    assert len(harness.requests) == 2
    entries = sorted((harness.tmp_path / "cache").glob("*.json"))
    assert len(entries) == 2
    assert all(json.loads(e.read_text())["model"] == MODEL for e in entries)

    again = harness.draft(count=2)
    assert len(harness.requests) == 2  # no call
    assert [r.cached for r in again.results] == [True, True]
    assert [r.draft for r in again.results] == [r.draft for r in first.results]
    assert (again.calls, again.input_tokens) == (0, 0)

    entries[0].write_text("{ not json")
    entries[1].write_text(json.dumps({"format": 1, "key": entries[1].stem, "draft": {"x": 1}}))
    repaired = harness.draft(count=2)
    assert len(harness.requests) == 4
    assert not any(r.cached for r in repaired.results)
    assert not list((harness.tmp_path / "cache").glob(".*.tmp"))

    bypass = harness.draft(count=2, cache_dir=None)
    assert len(harness.requests) == 6
    assert not any(r.cached for r in bypass.results)
    harness.assert_no_key_on_disk()


def test_the_drafting_log_records_every_step_and_no_key(harness: Harness) -> None:
    harness.serve(Script([lambda r: text_reply("not json at all", r)]))
    harness.draft()
    log = (harness.tmp_path / "logs" / "drafting.log").read_text()
    events = [json.loads(line) for line in log.splitlines()]
    assert (events[0]["event"], events[0]["model"]) == ("run", MODEL)
    assert [e["event"] for e in events[1:]] == ["rejected", "accepted"]
    assert "not one valid JSON object" in events[1]["problems"][0]
    harness.assert_no_key_on_disk()


def test_suggested_names_never_take_a_name_with_another_owner() -> None:
    pairs = [(facts, list(lines)) for facts, lines in fake_vm_facts()]
    # An existing file of someone else that does not parse: its name is taken.
    folder = FolderNames.of([FolderEntry("TAKEN_BY_A_FILE", UNREADABLE)])
    suggestions = [
        "TAKEN_BY_A_FILE",  # an existing file of someone else
        pairs[2][0].name,  # another hotspot's name in this run
        "FINE_NEW_NAME",  # free
        None,  # none suggested
    ]
    keys = [(BENCHMARK, facts.file, facts.function) for facts, _ in pairs]
    names = [facts.name for facts, _ in pairs]
    adopted = adopt_suggested_names(keys, names, suggestions, folder)
    assert adopted == [names[0], names[1], "FINE_NEW_NAME", names[3]]
    # A hotspot that already has a file keeps its name whatever is suggested.
    own = FolderNames.of([FolderEntry("OLD_NAME", keys[2], 1, identified=True)])
    assert adopt_suggested_names(keys, names, suggestions, own)[2] == names[2]
