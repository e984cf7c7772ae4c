"""A fake Anthropic Messages API on 127.0.0.1, for the real SDK to talk to in tests and benchmarks.

`FakeMessagesServer` answers `POST /v1/messages` the way the API answers a structured-output
request: a `message` whose single text block is the JSON document (here, a `Draft`), with a
`usage` block. It records every request (headers, JSON body) so tests can assert on what the
SDK sent, and it can answer with errors (401, 429, 529 ...), with `retry-after-ms` so the SDK's
own retries stay fast, or after a delay (to trip the client's timeout, or to measure
concurrency in `bench/llm_drafting.py`).

Replies come from a responder, a function of the recorded request. `grounded_reply` builds a
draft that passes our checks from the prompt itself: it reads the hotspot's "Line to cite"
and its share back out of the per-hotspot turn, so it works for any hotspot. `Script` plays
a fixed sequence of replies first. Prompt caching is imitated too: the first request with a
given prefix (everything up to the `cache_control` marker) reports it as cache-write tokens,
later ones as cache-read tokens.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN_BYTES = 4
"""Bytes of prompt per token, for the fake usage figures."""


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: dict[str, Any]
    raw: bytes

    @property
    def system_texts(self) -> list[str]:
        system = self.body.get("system") or []
        if isinstance(system, str):
            return [system]
        return [str(block.get("text", "")) for block in system]

    @property
    def user_texts(self) -> list[str]:
        """Each user turn's text; a turn of content blocks (the shared program block, then the
        hotspot's) is its text blocks joined by a blank line."""
        return [
            str(m["content"]) if isinstance(m["content"], str) else _joined(m["content"])
            for m in self.body.get("messages", [])
            if m.get("role") == "user"
        ]

    @property
    def hotspot_text(self) -> str:
        """The first user turn: the per-hotspot part of the prompt."""
        texts = self.user_texts
        return texts[0] if texts else ""

    @property
    def function(self) -> str:
        match = re.search(r"^# Hotspot #\d+: (.+)$", self.hotspot_text, re.MULTILINE)
        return match.group(1) if match else ""


def _joined(blocks: Any) -> str:
    if not isinstance(blocks, list):
        return json.dumps(blocks)
    return "\n\n".join(str(block.get("text", "")) for block in blocks if isinstance(block, dict))


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Mapping[str, Any] | str = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


Responder = Callable[[RecordedRequest], Reply]


def message_body(
    text: str, request: RecordedRequest | None = None, *, usage: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """A Messages API `message` with one text block."""
    model = str(request.body.get("model", "claude-fake")) if request else "claude-fake"
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": dict(usage or {"input_tokens": 10, "output_tokens": len(text) // TOKEN_BYTES}),
    }


def error_reply(status: int, kind: str, message: str, *, retry_after_ms: int | None = 5) -> Reply:
    headers = {} if retry_after_ms is None else {"retry-after-ms": str(retry_after_ms)}
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Reply(status=status, body=body, headers=headers)


def grounded_draft(request: RecordedRequest, **overrides: Any) -> dict[str, Any]:
    """A draft that passes schema and grounding for the hotspot in `request`'s prompt."""
    text = request.hotspot_text
    cite = re.search(r"^Line to cite: (\d+) ", text, re.MULTILINE)
    share = re.search(r"^Attributed share of runtime: ([\d.]+)%", text, re.MULTILINE)
    function = request.function or "the function"
    line = int(cite.group(1)) if cite else 1
    # The cited line's code, from the numbered listing (`  1376 | code`, or with a share column).
    listed = re.search(rf"^\s*{line}(?: +\S*)? \| (.*)$", text, re.MULTILINE)
    quote = listed.group(1).strip() if listed else "?"
    ceiling = share.group(1) if share else "0"
    draft: dict[str, Any] = {
        "description": (
            f"`{function}` spends its time on line {line}, which the profile shows at the top "
            "of the hot chain; the model saw this in the numbered listing."
        ),
        "root_cause": (
            f"Line {line} does work proportional to the size of its input on every call, so the "
            "cost grows with the data instead of staying constant per operation."
        ),
        "approach": (
            f"Hoist the work on line {line} out of the per-call path and keep the result, so "
            "each call does constant work; add a benchmark before changing it."
        ),
        "expected_impact": (
            f"At most {ceiling}% of runtime, the hotspot's measured share; a fix of this kind "
            "usually removes most of it. This is an estimate, not a measurement."
        ),
        "risk": (
            "The cached result must be invalidated whenever the input changes; keep the "
            "existing tests for empty and non-ASCII input."
        ),
        "evidence": [{"line": line, "quote": quote}],
        "name": None,
    }
    draft.update(overrides)
    return draft


class FakeMessagesServer:
    """`with FakeMessagesServer(responder) as server:` then point the SDK at `server.url`."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        latency_s: float = 0.0,
        model_usage: bool = True,
    ) -> None:
        self.responder: Responder = responder or grounded_reply
        self.latency_s = latency_s
        self.model_usage = model_usage
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._prefixes: set[str] = set()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeMessagesServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def usage_for(self, request: RecordedRequest, output_text: str) -> dict[str, int]:
        """Token counts shaped like the API's: the cached prefix written once, then read."""
        system = request.body.get("system") or []
        prefix = json.dumps(system, sort_keys=True) if isinstance(system, list) else ""
        marked = isinstance(system, list) and any("cache_control" in b for b in system)
        prefix_tokens = len(prefix) // TOKEN_BYTES if marked else 0
        rest = len(request.raw) // TOKEN_BYTES - prefix_tokens
        digest = hashlib.sha256(prefix.encode()).hexdigest()
        with self._lock:
            seen = digest in self._prefixes
            self._prefixes.add(digest)
        return {
            "input_tokens": max(rest, 1),
            "output_tokens": max(len(output_text) // TOKEN_BYTES, 1),
            "cache_creation_input_tokens": 0 if seen else prefix_tokens,
            "cache_read_input_tokens": prefix_tokens if seen else 0,
        }

    def _record(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
        return self.responder(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                headers = {k.lower(): v for k, v in self.headers.items()}
                request = RecordedRequest(self.path, headers, body, raw)
                if self.path.split("?")[0] != "/v1/messages":
                    reply = error_reply(404, "not_found_error", f"no route {self.path}")
                else:
                    reply = server._record(request)
                delay = reply.delay_s + server.latency_s
                if delay and server._stop.wait(delay):
                    return
                payload = reply.body
                is_message = isinstance(payload, Mapping) and payload.get("type") == "message"
                if server.model_usage and is_message and isinstance(payload, Mapping):
                    text = str(payload["content"][0].get("text", ""))
                    payload = {**payload, "usage": server.usage_for(request, text)}
                data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("request-id", f"req_fake_{len(server.requests)}")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


def draft_reply(draft: Mapping[str, Any], request: RecordedRequest | None = None) -> Reply:
    """A 200 reply whose text block is `draft` as JSON: a structured-output answer."""
    return Reply(body=message_body(json.dumps(draft), request))


def text_reply(text: str, request: RecordedRequest | None = None) -> Reply:
    return Reply(body=message_body(text, request))


def grounded_reply(request: RecordedRequest) -> Reply:
    return draft_reply(grounded_draft(request), request)


class Script:
    """Answer with `replies` in order (a reply or a responder each), then with `then`."""

    def __init__(
        self, replies: Sequence[Reply | Responder], then: Responder = grounded_reply
    ) -> None:
        self._replies = list(replies)
        self._then = then
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            item = self._replies.pop(0) if self._replies else self._then
        return item if isinstance(item, Reply) else item(request)
