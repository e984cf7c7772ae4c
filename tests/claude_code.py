"""Headless Claude Code, for real, against a scripted model on 127.0.0.1.

`claude -p "/command ARGS" --output-format json` loads the slash command (from `--plugin-dir`, an
installed plugin or `.claude/commands/`), substitutes `$ARGUMENTS`, and sends the expanded
text to whatever `ANTHROPIC_BASE_URL` names, over the streaming Messages API. `ScriptedModel`
is that server: a threaded HTTP server that records every request and answers from a `Script`,
a list of steps, one per model turn. A step sees the request (the expanded command text, the
tool results so far) and returns a `ToolUse` (Claude Code then really runs the tool, under the
command's `allowed-tools`, and sends the result back) or a final `Text`. The JSON result that
`claude` prints lists every tool call it refused (`permission_denials`).

`run_claude` starts `claude` with a `HOME` of its own, no network traffic but the model's, and
`ANTHROPIC_AUTH_TOKEN` (not `ANTHROPIC_API_KEY`, which the Bash tool would pass on to
perf-identify, whose drafter would then call the scripted model too).

`find_claude` looks for the pinned Claude Code that `.ci/run` installs (`.tools/claude-code/`),
then `PERF_IDENTIFY_CLAUDE`, then `claude` on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT

CLAUDE_CODE_VERSION = "2.1.332"
"""The version `.ci/run` installs; these tests rely on its plugin checks and `bin/` on PATH."""
PINNED_CLAUDE = REPO_ROOT / ".tools" / "claude-code" / "node_modules" / ".bin" / "claude"
AUTH_TOKEN = "scripted-model-token"


def _version(text: str) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(part) for part in match.groups()) if match else None


def find_claude() -> tuple[Path | None, str]:
    """The Claude Code executable to test with, or None and why not."""
    candidates: list[Path] = [PINNED_CLAUDE]
    if os.environ.get("PERF_IDENTIFY_CLAUDE"):
        candidates.insert(0, Path(os.environ["PERF_IDENTIFY_CLAUDE"]))
    on_path = shutil.which("claude")
    if on_path:
        candidates.append(Path(on_path))
    wanted = _version(CLAUDE_CODE_VERSION)
    assert wanted is not None
    seen: list[str] = []
    for candidate in candidates:
        if not candidate.exists():
            continue
        done = subprocess.run(
            [str(candidate), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
        found = _version(done.stdout)
        if done.returncode == 0 and found is not None and found >= wanted:
            return candidate, ""
        seen.append(f"{candidate} ({done.stdout.strip() or done.stderr.strip()})")
    why = f"Claude Code >= {CLAUDE_CODE_VERSION} not found"
    if seen:
        why += f"; found only {', '.join(seen)}"
    why += (
        f"; install it with `npm install --no-save --prefix .tools/claude-code "
        f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}` (as .ci/run does)"
    )
    return None, why


# --- the scripted model ---------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRequest:
    """One POST /v1/messages, as Claude Code sent it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body.get("messages", [])
        return messages

    @property
    def has_tools(self) -> bool:
        return bool(self.body.get("tools"))

    @property
    def turn(self) -> int:
        """How many assistant turns the conversation already has (0 for the first request)."""
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    @property
    def command_text(self) -> str:
        """The first user message's text: the expanded slash command (and system reminders)."""
        for message in self.messages:
            if message.get("role") == "user":
                return "\n".join(_texts(message.get("content")))
        return ""

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """Every tool_result block so far, oldest first."""
        results: list[dict[str, Any]] = []
        for message in self.messages:
            content = message.get("content")
            if message.get("role") == "user" and isinstance(content, list):
                results += [b for b in content if b.get("type") == "tool_result"]
        return results

    @property
    def last_tool_output(self) -> str:
        results = self.tool_results
        return tool_result_text(results[-1]) if results else ""


def _texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "text":
                yield str(block.get("text", ""))


def tool_result_text(block: Mapping[str, Any]) -> str:
    return "\n".join(_texts(block.get("content")))


def bash_blocks(text: str) -> list[str]:
    """The ```bash blocks of an expanded command text, in order."""
    return [m.group(1).strip() for m in re.finditer(r"```bash\n(.*?)```", text, re.DOTALL)]


def command_line(text: str, prefix: str, *, fill: str = "") -> str:
    """The first ```bash block starting with `prefix`, with `<placeholders>` set to `fill`."""
    for block in bash_blocks(text):
        if block.startswith(prefix):
            return re.sub(r"<[^<>\n]+>", fill, block) if fill else block
    raise AssertionError(f"no ```bash block starting with {prefix!r} in:\n{text}")


@dataclass(frozen=True)
class ToolUse:
    name: str
    input: Mapping[str, Any]


@dataclass(frozen=True)
class Text:
    text: str


Reply = ToolUse | Text
Step = Callable[[ModelRequest], Reply]


def bash(command: str, description: str = "") -> ToolUse:
    # A 10-minute timeout, as the command texts ask for builds.
    return ToolUse(
        "Bash", {"command": command, "description": description or command, "timeout": 600_000}
    )


@dataclass
class Script:
    """The replies of one headless run: step N answers the request with N assistant turns."""

    steps: Sequence[Step]

    def reply(self, request: ModelRequest) -> Reply:
        if not request.has_tools:
            return Text("ok")  # a side request (a title, a summary): not part of the script
        if request.turn >= len(self.steps):
            return Text(f"(the script has no step {request.turn + 1})")
        return self.steps[request.turn](request)


@dataclass
class ScriptedModel:
    """The Messages API on 127.0.0.1 (see the module docstring). Use as a context manager."""

    script: Script = field(default_factory=lambda: Script([]))
    requests: list[ModelRequest] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ScriptedModel:
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                request = ModelRequest(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                if not self.path.startswith("/v1/messages") or "count_tokens" in self.path:
                    self._empty(404)
                    return
                with model._lock:
                    model.requests.append(request)
                try:
                    reply = model.script.reply(request)
                except Exception as exc:  # a broken step: say so to the test, end the turn
                    model.errors.append(f"step {request.turn + 1}: {exc!r}")
                    reply = Text(f"scripted model error: {exc!r}")
                if body.get("stream"):
                    self._stream(reply, str(body.get("model", "scripted")))
                else:
                    self._json(reply, str(body.get("model", "scripted")))

            def do_GET(self) -> None:
                self._empty(404)

            def do_HEAD(self) -> None:
                self._empty(404)

            def _empty(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def _json(self, reply: Reply, model_name: str) -> None:
                message = _message(reply, model_name)
                message["content"] = [_block(reply)]
                data = json.dumps(message).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply, model_name: str) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                # No length and no chunking: the end of the stream is the end of the connection.
                self.send_header("connection", "close")
                self.end_headers()
                self.close_connection = True
                for name, data in sse_events(reply, model_name):
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                    self.wfile.flush()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def start(self, script: Script) -> None:
        """Play `script` from now on, with a fresh request log."""
        with self._lock:
            self.script = script
            self.requests = []
            self.errors = []


_ids = iter(range(1, 1_000_000))


def _message(reply: Reply, model_name: str) -> dict[str, Any]:
    return {
        "id": f"msg_scripted_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": model_name,
        "content": [],
        "stop_reason": "tool_use" if isinstance(reply, ToolUse) else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 10},
    }


def _block(reply: Reply) -> dict[str, Any]:
    if isinstance(reply, ToolUse):
        return {
            "type": "tool_use",
            "id": f"toolu_scripted_{next(_ids)}",
            "name": reply.name,
            "input": dict(reply.input),
        }
    return {"type": "text", "text": reply.text}


def sse_events(reply: Reply, model_name: str) -> list[tuple[str, dict[str, Any]]]:
    """The server-sent events of one streamed reply with a single content block."""
    message = _message(reply, model_name)
    stop_reason = message.pop("stop_reason")
    message["stop_reason"] = None
    block = _block(reply)
    if isinstance(reply, ToolUse):
        start = {**block, "input": {}}
        delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": reply.text}
    return [
        ("message_start", {"type": "message_start", "message": message}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": start},
        ),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 10},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


# --- running claude -------------------------------------------------------------------------


def tool_env(home: Path) -> dict[str, str]:
    """Where the real toolchains live, for processes whose HOME is `home` (cargo, rustup, pyenv
    find theirs under HOME by default)."""
    real_home = Path(os.environ.get("HOME") or Path.home())
    env: dict[str, str] = {"HOME": str(home)}
    for name, default in (
        ("CARGO_HOME", real_home / ".cargo"),
        ("RUSTUP_HOME", real_home / ".rustup"),
        ("PYENV_ROOT", real_home / ".pyenv"),
    ):
        value = os.environ.get(name) or (str(default) if default.exists() else "")
        if value:
            env[name] = value
    return env


def path_without(executable: str) -> str:
    """PATH minus every folder that has `executable`, so a test picks which one runs."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not (Path(f) / executable).exists())


@dataclass(frozen=True)
class ClaudeRun:
    argv: list[str]
    returncode: int
    result: dict[str, Any]
    stderr: str
    requests: list[ModelRequest]
    seconds: float

    @property
    def denials(self) -> list[Any]:
        denials: list[Any] = self.result.get("permission_denials", [])
        return denials

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """The tool results the last model request carried: every tool the run used."""
        main = [r for r in self.requests if r.has_tools]
        return main[-1].tool_results if main else []

    def describe(self) -> str:
        results = [
            f"  {'ERROR ' if b.get('is_error') else ''}{tool_result_text(b)[-1500:]}"
            for b in self.tool_results
        ]
        return (
            f"{' '.join(self.argv)} -> exit {self.returncode} in {self.seconds:.0f}s\n"
            f"result: {json.dumps(self.result)[:2000]}\nstderr: {self.stderr[-2000:]}\n"
            "tool results:\n" + "\n".join(results)
        )


def run_claude(
    claude: Path,
    prompt: str,
    *,
    cwd: Path,
    home: Path,
    model: ScriptedModel,
    script: Script,
    plugin_dirs: Sequence[Path] = (),
    path: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout_s: float = 900,
) -> ClaudeRun:
    """`claude -p PROMPT --output-format json` in `cwd`, the model playing `script`."""
    model.start(script)
    argv = [str(claude), "-p", prompt, "--output-format", "json"]
    for folder in plugin_dirs:
        argv += ["--plugin-dir", str(folder)]
    env = {
        **tool_env(home),
        "PATH": path if path is not None else os.environ.get("PATH", ""),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "ANTHROPIC_BASE_URL": model.base_url,
        "ANTHROPIC_AUTH_TOKEN": AUTH_TOKEN,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        **(extra_env or {}),
    }
    started = time.monotonic()
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    seconds = time.monotonic() - started
    try:
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"unparsed_stdout": done.stdout[-4000:]}
    return ClaudeRun(argv, done.returncode, result, done.stderr, list(model.requests), seconds)


def claude_cli(
    claude: Path, *args: str, home: Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """A `claude` management command (plugin validate, marketplace add, install, list)."""
    env = {
        **tool_env(home),
        "PATH": os.environ.get("PATH", ""),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    return subprocess.run(
        [str(claude), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
