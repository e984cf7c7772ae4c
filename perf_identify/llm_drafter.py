"""The model drafter: issue prose from Claude, held to the same checks as the offline drafter.

Contract: `LlmDrafter(settings, repo=..., state_dir=...)` implements `drafting.Drafter`.
`draft_all(facts, sources)` drafts every hotspot concurrently (at most `settings.concurrency`
requests in flight, `asyncio.run` inside) with the official SDK's structured output,
`AsyncAnthropic().messages.parse(..., output_format=Draft)`, so a reply parses straight into
the pydantic `Draft`. Each hotspot's draft then goes through `grounding.draft_problems`; a
reply that fails the schema or the grounding gets one retry that lists exactly what was wrong,
and if that fails too the hotspot gets the offline draft with the reason in `fallback_reason`.

Failures: a refused key (401/403) or an unknown model (404) raises `DraftError` and stops the
run. Everything else the model can do wrong (429, 5xx, 529 overloaded, timeouts, connection
errors, all first retried by the SDK itself) costs only that hotspot its model draft: the run
never fails because the model is down. Once `settings.token_budget` tokens are spent, no new
call starts and the remaining hotspots get budget fallbacks.

Side effects, all under the output folder's `.perf-identify/`: accepted drafts are cached in
`cache/` (see `draft_cache.py`; a rerun on unchanged code makes no call) and every step is
logged to `logs/drafting.log` as JSON lines. The API key goes to the SDK only: it is never
printed, logged, cached or put into an error message.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import anthropic
import pydantic
from anthropic import AsyncAnthropic, AsyncAPIResponse, AsyncCallNext, Middleware
from anthropic.types import MessageParam, TextBlockParam

from perf_identify import prompting
from perf_identify.draft_cache import DraftCache
from perf_identify.drafting import BUDGET_REASON, DraftingSummary, DraftResult, OfflineDrafter
from perf_identify.drafts import CheckedDraft
from perf_identify.errors import DraftError, WriteError
from perf_identify.facts import HotspotFacts
from perf_identify.grounding import draft_problems
from perf_identify.issues_dir import open_log
from perf_identify.model_config import LlmSettings, estimate_cost
from perf_identify.prompt_files import load_templates
from perf_identify.prompting import PromptTemplates
from perf_identify.schema import Draft

MAX_TOKENS = 4096
"""Room for five sections of up to 2400 characters and the evidence, as JSON."""
MAX_PROBLEMS = 8
"""Problems listed in the retry turn; more would bury the first ones."""


def draft_schema() -> dict[str, Any]:
    return Draft.model_json_schema()


@dataclass
class _Usage:
    """Tokens billed so far in this run, from every reply's `usage` (rejected ones too)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    calls: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_read + self.cache_write

    def add(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        self.input += _count(usage.get("input_tokens"))
        self.output += _count(usage.get("output_tokens"))
        self.cache_read += _count(usage.get("cache_read_input_tokens"))
        self.cache_write += _count(usage.get("cache_creation_input_tokens"))


def _count(value: object) -> int:
    return value if isinstance(value, int) and value > 0 else 0


class _Exchange(Middleware):
    """One call's HTTP attempts, seen through the SDK's middleware hook.

    It runs inside the SDK's retry loop, once per attempt, so it sees every status and the
    usage and text of every 200 reply, including a reply that `parse` then rejects: those
    tokens are billed too, and the rejected text goes back to the model in the retry turn.
    """

    def __init__(self, usage: _Usage) -> None:
        self.usage = usage
        self.statuses: list[int] = []
        self.reply_text: str | None = None

    async def handle_async(
        self, request: anthropic.APIRequest, call_next: AsyncCallNext
    ) -> AsyncAPIResponse[Any]:
        response = await call_next(request)
        self.statuses.append(response.status_code)
        self.usage.calls += 1
        if response.status_code == 200:
            try:
                body = await response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                self.usage.add(body.get("usage"))
                texts = [
                    block.get("text", "")
                    for block in body.get("content") or []
                    if isinstance(block, dict) and block.get("type") == "text"
                ]
                self.reply_text = "".join(str(t) for t in texts)
        return response


@dataclass
class _Run:
    """The state of one `draft_all`: shared by the hotspots' tasks on one event loop."""

    settings: LlmSettings
    templates: PromptTemplates
    system: list[prompting.TextBlock]
    shared: prompting.TextBlock
    """The fenced benchmark program: the first block of every hotspot's user turn."""
    cache: DraftCache | None
    notice: Callable[[str], None]
    usage: _Usage = field(default_factory=_Usage)
    events: list[dict[str, Any]] = field(default_factory=list)

    def log(self, facts: HotspotFacts, event: str, **details: Any) -> None:
        self.events.append(
            {"rank": facts.rank, "function": facts.function, "event": event, **details}
        )

    def budget_reached(self) -> bool:
        budget = self.settings.token_budget
        return budget is not None and self.usage.total >= budget

    async def draft_all(
        self, facts: Sequence[HotspotFacts], sources: Sequence[Sequence[str]]
    ) -> list[DraftResult]:
        settings = self.settings
        semaphore = asyncio.Semaphore(settings.concurrency)
        async with AsyncAnthropic(
            api_key=settings.api_key,
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
        ) as client:
            try:
                async with asyncio.TaskGroup() as group:
                    tasks = [
                        group.create_task(self.draft_one(client, semaphore, fact, lines))
                        for fact, lines in zip(facts, sources, strict=True)
                    ]
            except ExceptionGroup as failures:
                # One refused key fails every hotspot alike: report it once, as itself.
                first = next((e for e in failures.exceptions if isinstance(e, DraftError)), None)
                if first is not None:
                    raise first from None
                raise
        return [task.result() for task in tasks]

    async def draft_one(
        self,
        client: AsyncAnthropic,
        semaphore: asyncio.Semaphore,
        facts: HotspotFacts,
        lines: Sequence[str],
    ) -> DraftResult:
        model = self.settings.model
        first = prompting.hotspot_text(self.templates, facts)
        key = prompting.cache_key(
            self.templates.version, model, self.system, self.shared, first, draft_schema()
        )
        if self.cache is not None:
            cached = self.cache.load(key)
            if cached is not None and not draft_problems(cached, facts, lines):
                self.log(facts, "cache-hit", key=key)
                return DraftResult(draft=cached, drafter=model, cached=True)
        async with semaphore:
            return await self._call_twice(client, facts, lines, first, key)

    async def _call_twice(
        self,
        client: AsyncAnthropic,
        facts: HotspotFacts,
        lines: Sequence[str],
        first: str,
        key: str,
    ) -> DraftResult:
        problems: list[str] = []
        rejected: str | None = None
        for attempt in range(2):
            if self.budget_reached():
                spent = f"{self.usage.total} of {self.settings.token_budget} spent"
                return self.fallback(facts, lines, f"{BUDGET_REASON} reached ({spent})", attempt)
            turns = (
                prompting.messages(self.shared, first)
                if attempt == 0
                else prompting.messages(
                    self.shared,
                    first,
                    rejected,
                    prompting.retry_text(self.templates, facts, problems),
                )
            )
            exchange = _Exchange(self.usage)
            try:
                draft = await self._parse(client, exchange, turns)
            except pydantic.ValidationError as exc:
                problems = schema_problems(exc)
            except anthropic.APIError as exc:
                reason = self._api_failure(exc, exchange)
                self.log(facts, "model-error", attempt=attempt, statuses=exchange.statuses)
                return self.fallback(facts, lines, reason, attempt)
            else:
                problems = (
                    draft_problems(draft, facts, lines)
                    if draft is not None
                    else ["the reply had no JSON text block"]
                )
                if draft is not None and not problems:
                    self.log(facts, "accepted", attempt=attempt, statuses=exchange.statuses)
                    self._store(key, draft)
                    return DraftResult(draft=draft, drafter=self.settings.model, retries=attempt)
            rejected = exchange.reply_text
            self.log(
                facts, "rejected", attempt=attempt, statuses=exchange.statuses, problems=problems
            )
        return self.fallback(
            facts, lines, f"the model's draft failed our checks twice: {problems[0]}", 1
        )

    async def _parse(
        self, client: AsyncAnthropic, exchange: _Exchange, turns: list[prompting.Turn]
    ) -> CheckedDraft | None:
        scoped = client.with_options(middleware=[*client.middleware, exchange])
        parsed = await scoped.messages.parse(
            model=self.settings.model,
            max_tokens=MAX_TOKENS,
            system=cast(list[TextBlockParam], self.system),
            messages=cast(list[MessageParam], turns),
            output_format=Draft,
        )
        output = parsed.parsed_output
        return None if output is None else output.checked()

    def _api_failure(self, exc: anthropic.APIError, exchange: _Exchange) -> str:
        """The fallback reason for a failed call; raises `DraftError` when no call can work."""
        count = len(exchange.statuses) or (1 + self.settings.max_retries)
        tries = f"{count} {'try' if count == 1 else 'tries'}"
        if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
            raise DraftError(
                f"the model API refused the key in ANTHROPIC_API_KEY "
                f"({exc.status_code}: {self._redact(_api_message(exc))})",
                hint="check ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL), or run with --offline",
            )
        if isinstance(exc, anthropic.NotFoundError):
            raise DraftError(
                f"the model API does not know model {self.settings.model!r} "
                f"(404: {self._redact(_api_message(exc))})",
                hint="pass another --model, or run with --offline",
            )
        if isinstance(exc, anthropic.APITimeoutError):
            return f"the model timed out ({self.settings.timeout_s:g}s per attempt, {tries})"
        if isinstance(exc, anthropic.APIStatusError):
            return (
                f"the model API answered {exc.status_code} "
                f"({self._redact(_api_message(exc))}) after {tries}"
            )
        return f"could not reach the model API ({type(exc).__name__}) after {tries}"

    def fallback(
        self, facts: HotspotFacts, lines: Sequence[str], reason: str, retries: int
    ) -> DraftResult:
        self.notice(f"#{facts.rank} {facts.function}: {reason}; using the offline draft")
        self.log(facts, "fallback", reason=reason)
        offline = OfflineDrafter().draft_all([facts], [lines]).results[0]
        return replace(offline, retries=retries, fallback_reason=reason)

    def _store(self, key: str, draft: CheckedDraft) -> None:
        if self.cache is None:
            return
        try:
            self.cache.store(
                key, draft, model=self.settings.model, prompt_version=self.templates.version
            )
        except OSError as exc:
            self.notice(f"could not cache a draft in {self.cache.folder}: {exc.strerror or exc}")

    def _redact(self, text: str) -> str:
        key = self.settings.api_key
        return text.replace(key, "[redacted]") if key else text


def _api_message(exc: anthropic.APIError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return f"{error.get('type', 'error')}: {error['message']}"[:300]
    return exc.message[:300]


def schema_problems(exc: pydantic.ValidationError) -> list[str]:
    """One sentence per schema error, naming the field, for the retry turn."""
    problems = []
    for error in exc.errors(include_url=False)[:MAX_PROBLEMS]:
        where = ".".join(str(part) for part in error["loc"])
        if error["type"] == "json_invalid":
            problems.append(f"the reply is not one valid JSON object ({error['msg']})")
        else:
            problems.append(f"{where or 'the reply'}: {error['msg']}")
    return problems


class LlmDrafter:
    """Claude's prose for every hotspot, or the offline draft where the model's fails."""

    def __init__(
        self,
        settings: LlmSettings,
        *,
        repo: Path,
        notice: Callable[[str], None] | None = None,
        templates: PromptTemplates | None = None,
    ) -> None:
        self.name = settings.model
        self.settings = settings
        self.repo = repo
        self.notice = notice or (lambda _text: None)
        self.templates = templates or load_templates()

    def draft_all(
        self, facts: Sequence[HotspotFacts], sources: Sequence[Sequence[str]]
    ) -> DraftingSummary:
        if not facts:
            return DraftingSummary(drafter=self.name, results=())
        settings = self.settings
        benchmark = self._read_benchmark(facts[0].context.benchmark_file)
        run = _Run(
            settings=settings,
            templates=self.templates,
            system=prompting.system_blocks(self.templates, facts),
            shared=prompting.program_block(
                self.templates, facts[0].context.benchmark_file, benchmark
            ),
            cache=None if settings.cache_dir is None else DraftCache(settings.cache_dir),
            notice=self.notice,
        )
        try:
            results = asyncio.run(run.draft_all(facts, sources))
        finally:
            self._write_log(run)
        usage = run.usage
        return DraftingSummary(
            drafter=self.name,
            results=tuple(results),
            input_tokens=usage.input,
            output_tokens=usage.output,
            cache_read_tokens=usage.cache_read,
            cache_write_tokens=usage.cache_write,
            estimated_cost_usd=estimate_cost(
                settings.model,
                input_tokens=usage.input,
                output_tokens=usage.output,
                cache_read=usage.cache_read,
                cache_write=usage.cache_write,
            ),
            calls=usage.calls,
        )

    def _read_benchmark(self, file_arg: str) -> str | None:
        try:
            return (self.repo / file_arg).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def _write_log(self, run: _Run) -> None:
        path = self.settings.log_path
        if path is None:
            return
        usage = run.usage
        header = {
            "event": "run",
            "model": self.settings.model,
            "prompt_version": self.templates.version,
            "concurrency": self.settings.concurrency,
            "token_budget": self.settings.token_budget,
            "cache": str(self.settings.cache_dir) if self.settings.cache_dir else None,
            "calls": usage.calls,
            "tokens": {
                "input": usage.input,
                "output": usage.output,
                "cache_read": usage.cache_read,
                "cache_write": usage.cache_write,
            },
        }
        text = "".join(json.dumps(event) + "\n" for event in [header, *run.events])
        key = self.settings.api_key
        if key:
            text = text.replace(key, "[redacted]")
        try:
            with open_log(path, what="the drafting log") as log:
                log.write(text.encode("utf-8"))
        except WriteError as exc:
            self.notice(f"could not write the drafting log: {exc.message}")
        except OSError as exc:
            self.notice(f"could not write the drafting log {path}: {exc.strerror or exc}")
