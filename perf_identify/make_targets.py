"""The shell stage: run the repo's `make analyze` / `make profile` and collect what they left.

Contract:

* The FILE handed to make as `FILE=…` is checked first by `benchmark_file.validate_file_argument`
  (re-exported here).
* `run_target` runs `make <target> FILE=<file>` as an argv list (never through a shell) in the repo,
  with stdin closed and in its own session, so that a timeout or Ctrl-C can kill the make, its
  recipe shells and everything they started, and nothing is left running afterwards. stdout and
  stderr are read concurrently, timestamped per line, streamed to `on_line` and written raw and
  interleaved to a log file that is kept (starting, streaming and stopping are `processes.run`'s;
  this module only words make's failures). `status(step, elapsed_s)` is called about every 0.5 s.
  Failures raise `MakeError` (non-zero exit, missing Makefile or target, missing make binary,
  timeout) or `Interrupted` (Ctrl-C); the hint always names the log when there is one.
* The runtime of the timed run is read out of `make analyze`'s stdout by the pure
  `runtime_figure.parse_runtime`; this module only runs make and hands it the output.
* `fresh_artifacts` / `require_fresh_artifacts` decide whether `profile.pb` and `flamegraph.svg` in
  the repo root were written by the run that just happened.
* `run_make_stage` ties these together: `make analyze`, then `make profile` only when analyze did
  not already leave fresh artifacts (or when asked to always run it).

This module never prints; everything the user sees goes through the callbacks.
"""

from __future__ import annotations

import re
import shlex
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from perf_identify import processes
from perf_identify.benchmark_file import check_characters, validate_file_argument
from perf_identify.errors import Interrupted, MakeError, UsageError, WriteError
from perf_identify.issues_dir import open_log
from perf_identify.runtime_figure import SECTION_RE, RuntimeFigure, parse_runtime, strip_ansi

__all__ = [
    "MakeOutcome",
    "ProfileArtifacts",
    "RuntimeFigure",
    "TargetRun",
    "fresh_artifacts",
    "parse_runtime",
    "require_fresh_artifacts",
    "run_make_stage",
    "run_target",
    "strip_ansi",
    "validate_file_argument",
]

# --------------------------------------------------------------------------------------------
# Running a make target
# --------------------------------------------------------------------------------------------

_MAKEFILE_NAMES: Final = ("GNUmakefile", "makefile", "Makefile")
_TARGET_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_STATUS_INTERVAL_S: Final = 0.5


@dataclass(frozen=True, slots=True)
class TargetRun:
    """One finished `make <target>` run (only successful runs are returned; failures raise)."""

    target: str
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    log_path: Path
    started_at: float
    elapsed_s: float
    line_times: tuple[tuple[float, str], ...]


def _find_makefile(repo: Path) -> Path | None:
    for name in _MAKEFILE_NAMES:
        candidate = repo / name
        if candidate.is_file():
            return candidate
    return None


_MAKE_OWN_ERROR_RE: Final = re.compile(r"^\S*make(?:\[\d+\])?: \*\*\* ")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _without_newline(line: str) -> str:
    return line.removesuffix("\n").removesuffix("\r")


def _last_meaningful_line(lines: Sequence[str]) -> str:
    for line in reversed(lines):
        text = strip_ansi(line).strip()
        if text:
            return text
    return ""


# Lines that say why a recipe failed, wherever they sit in the output: a missing command, a
# compiler or tool error, a Rust panic. The first ones explain; the last line is usually a
# later step's chatter (`Finished profiling … in 0.01s`).
_EXPLAINING_RE: Final = re.compile(
    r"""
    \bnot\ found\b | \bcommand\ not\ found\b | No\ such\ file\ or\ directory
    | Permission\ denied | ^\s*(?:error|fatal)(?:\[\w+\])?: | \berror:
    | \bpanicked\ at\b | ^\s*Traceback\ \(most\ recent | \bsegmentation\ fault\b
    """,
    re.VERBOSE | re.IGNORECASE,
)
# `sh: 1: x: not found`, `bash: x: command not found`, and make's own exec failure
# `make: x: No such file or directory`.
_NOT_ON_PATH_RE: Final = re.compile(
    r"\bnot found\b|command not found|^\S*make(?:\[\d+\])?: [^:*]+: No such file or directory",
    re.IGNORECASE,
)
_MAX_EXPLAINING: Final = 2


def explaining_lines(lines: Sequence[str], limit: int = _MAX_EXPLAINING) -> list[str]:
    """The first `limit` lines of `lines` that look like the cause of a failure, ANSI-free."""
    found: list[str] = []
    for line in lines:
        text = strip_ansi(line).strip()
        if text and not _MAKE_OWN_ERROR_RE.match(text) and _EXPLAINING_RE.search(text):
            if text not in found:
                found.append(text)
            if len(found) == limit:
                break
    return found


def _no_rule_for_target(stderr_lines: Sequence[str], target: str) -> bool:
    # Only the top-level form ("No rule to make target 'analyze'.  Stop."): the form with
    # ", needed by '…'" is a missing prerequisite, i.e. a broken target rather than a missing one.
    # Older makes open the quote with a backquote, localised ones with typographic quotes.
    quote_open, quote_close = "[`'\u2018\"]", "['\u2019\"]"
    pattern = re.compile(
        rf"No rule to make target {quote_open}{re.escape(target)}{quote_close}\s*\.\s*Stop"
    )
    return any(pattern.search(line) for line in stderr_lines)


class _MakeSession:
    """What one running make printed so far; `processes.run` feeds it line by line."""

    def __init__(self, start: float, target: str, on_line: Callable[[str], None] | None) -> None:
        self.start = start
        self.target = target
        self.on_line = on_line
        self.stdout_parts: list[str] = []
        self.line_times: list[tuple[float, str]] = []
        self.stderr_lines: list[str] = []
        self.section = ""

    def handle(self, name: str, at: float, raw: bytes) -> None:
        text = _decode(raw)
        line = _without_newline(text)
        if name == "stdout":
            self.stdout_parts.append(text)
            self.line_times.append((at - self.start, line))
            header = SECTION_RE.match(strip_ansi(line))
            if header:
                self.section = header.group("name")
        else:
            self.stderr_lines.append(line)
        if self.on_line is not None:
            self.on_line(line)

    def step_name(self) -> str:
        return f"make {self.target}: {self.section}" if self.section else f"make {self.target}"


def _start_failure(make: str, exc: OSError, log: IO[bytes]) -> MakeError:
    if isinstance(exc, PermissionError):
        log.write(f"# {make!r} is not executable\n".encode())
        return MakeError(
            f"cannot run make: {make!r} is not executable",
            "install GNU make (for example `apt-get install make`) or fix its permissions",
        )
    if isinstance(exc, FileNotFoundError):
        log.write(f"# {make!r} not found\n".encode())
        return MakeError(
            f"cannot run make: {make!r} was not found",
            "install GNU make (for example `apt-get install make`) or put it on PATH",
        )
    log.write(f"# cannot start {make!r}: {exc.strerror or exc}\n".encode())
    return MakeError(
        f"cannot run make: {exc.strerror or exc}",
        "install GNU make (for example `apt-get install make`) or put it on PATH",
    )


def _open_log(log_dir: Path, target: str) -> tuple[IO[bytes], Path]:
    log_path = log_dir / f"make-{target}.log"
    # Unbuffered binary: the log must be readable with `tail -f` while make runs, and keeps the
    # child's bytes exactly (ANSI escapes, invalid UTF-8 and all). `open_log` never follows a
    # link a repo shipped in its place.
    try:
        return open_log(log_path, what="the make log", unbuffered=True), log_path
    except WriteError as exc:
        raise WriteError(exc.message, "choose a writable output folder") from exc


def _failure(
    session: _MakeSession, repo: Path, shown: str, exit_code: int, log_path: Path
) -> MakeError:
    if _no_rule_for_target(session.stderr_lines, session.target):
        return MakeError(
            f"the Makefile in {repo} has no `{session.target}` target",
            f"perf-identify needs `make analyze` and `make profile`; full log: {log_path}",
        )
    if exit_code < 0:
        try:
            how = f"was killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            how = f"was killed by signal {-exit_code}"
    else:
        how = f"failed with exit code {exit_code}"
    # make's own "make: *** [Makefile:3: analyze] Error 2" only restates the exit code. The
    # lines that explain the failure (`sh: 1: perf-identify: not found`, `error: …`, a panic)
    # are often followed by more output, so they are looked for first; the last line is the
    # fallback.
    recipe_stderr = [ln for ln in session.stderr_lines if not _MAKE_OWN_ERROR_RE.match(ln)]
    stdout_lines = [line for _, line in session.line_times]
    causes = explaining_lines(recipe_stderr) or explaining_lines(stdout_lines)
    hint = f"full log: {log_path}"
    if causes:
        how += ": " + " | ".join(causes)
        if any(_NOT_ON_PATH_RE.search(cause) for cause in causes):
            hint = (
                "a command the Makefile runs is not on PATH; put it there (for perf-identify: "
                f'export PATH="$PWD/.venv/bin:$PATH" in its checkout) and re-run; {hint}'
            )
        return MakeError(f"{shown} {how}", hint)
    last = (
        _last_meaningful_line(recipe_stderr)
        or _last_meaningful_line(stdout_lines)
        or _last_meaningful_line(session.stderr_lines)
    )
    if last:
        hint += f"; last line: {last}"
    return MakeError(f"{shown} {how}", hint)


def run_target(
    repo: Path,
    target: str,
    file_arg: str,
    log_dir: Path,
    *,
    timeout_s: float | None = None,
    on_line: Callable[[str], None] | None = None,
    status: Callable[[str, float], None] | None = None,
    make: str = "make",
) -> TargetRun:
    """Run `make <target> FILE=<file_arg>` in `repo`, logging to `log_dir/make-<target>.log`.

    `file_arg` must already be repo-relative (see `validate_file_argument`); its characters are
    checked again here because this is the last point before they reach make. `timeout_s` limits
    this one target (None: no limit). Returns only on exit code 0.
    """
    if not _TARGET_RE.fullmatch(target):
        raise ValueError(f"not a make target name: {target!r}")
    if timeout_s is not None and not timeout_s > 0:
        raise UsageError(
            f"the make timeout must be a positive number of seconds, got {timeout_s!r}",
            "leave the timeout unset to wait as long as make takes",
        )
    check_characters(file_arg, file_arg)
    if _find_makefile(repo) is None:
        raise MakeError(
            f"no Makefile in {repo}",
            f"looked for {', '.join(_MAKEFILE_NAMES)}; pass the VM's checkout with --repo DIR "
            "(default: the current directory)",
        )

    argv = (make, target, f"FILE={file_arg}")
    shown = shlex.join(argv)
    log, log_path = _open_log(log_dir, target)
    with log:
        log.write(f"$ {shown}\n# cwd: {repo}\n".encode())
        started_at = time.time()
        start = time.monotonic()
        session = _MakeSession(start, target, on_line)

        def on_status(elapsed: float) -> None:
            if status is not None:
                status(session.step_name(), elapsed)

        try:
            done = processes.run(
                argv,
                cwd=repo,
                log=log,
                timeout_s=timeout_s,
                on_line=session.handle,
                on_status=None if status is None else on_status,
                status_interval_s=_STATUS_INTERVAL_S,
            )
        except OSError as exc:
            raise _start_failure(make, exc, log) from exc
        except processes.TimedOut:
            raise MakeError(
                f"make {target} timed out after {timeout_s:g} s",
                f"full log: {log_path}; the make process group was stopped",
            ) from None
        except Interrupted:
            raise Interrupted(
                f"interrupted while {shown} was running",
                f"the make process group was stopped; partial log: {log_path}",
            ) from None
        exit_code = done.exit_code
        elapsed_s = time.monotonic() - start
        log.write(f"\n# exit code {exit_code} after {elapsed_s:.1f} s\n".encode())

    if exit_code != 0:
        raise _failure(session, repo, shown, exit_code, log_path)
    return TargetRun(
        target=target,
        argv=argv,
        exit_code=exit_code,
        stdout="".join(session.stdout_parts),
        log_path=log_path,
        started_at=started_at,
        elapsed_s=elapsed_s,
        line_times=tuple(session.line_times),
    )


# --------------------------------------------------------------------------------------------
# Output files
# --------------------------------------------------------------------------------------------

_ARTIFACT_NAMES: Final = ("profile.pb", "flamegraph.svg")
# Some filesystems store mtimes with one-second (or coarser) resolution.
_MTIME_SLACK_S: Final = 1.0


@dataclass(frozen=True, slots=True)
class ProfileArtifacts:
    profile_pb: Path
    flamegraph_svg: Path


def _format_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _artifact_problem(path: Path, since: float, after_target: str) -> str | None:
    """Why `path` is not a fresh, non-empty output of the run that started at `since`."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"make {after_target} did not write {path.name}"
    except OSError as exc:
        return f"cannot read {path.name}: {exc.strerror or exc}"
    if not path.is_file():
        return f"{path.name} is not a regular file"
    if st.st_mtime < since - _MTIME_SLACK_S:
        return (
            f"{path.name} is stale: written {_format_time(st.st_mtime)}, "
            f"before make {after_target} started at {_format_time(since)}"
        )
    if st.st_size == 0:
        return f"{path.name} is empty"
    return None


def fresh_artifacts(repo: Path, since: float) -> ProfileArtifacts | None:
    """profile.pb and flamegraph.svg in `repo`, if both are non-empty and written since `since`.

    Empty files count as not fresh, so that the stage falls back to `make profile` for them.
    """
    paths = [repo / name for name in _ARTIFACT_NAMES]
    if any(_artifact_problem(path, since, "") is not None for path in paths):
        return None
    return ProfileArtifacts(profile_pb=paths[0], flamegraph_svg=paths[1])


def require_fresh_artifacts(
    repo: Path, since: float, after_target: str, log_path: Path | None
) -> ProfileArtifacts:
    """Like `fresh_artifacts`, but raise `MakeError` naming the first problem found."""
    paths = [repo / name for name in _ARTIFACT_NAMES]
    for path in paths:
        problem = _artifact_problem(path, since, after_target)
        if problem is not None:
            hint = f"expected {path} to be written by make {after_target}"
            if log_path is not None:
                hint += f"; full log: {log_path}"
            raise MakeError(problem, hint)
    return ProfileArtifacts(profile_pb=paths[0], flamegraph_svg=paths[1])


# --------------------------------------------------------------------------------------------
# The whole stage
# --------------------------------------------------------------------------------------------

SKIP_PROFILE_NOTICE: Final = (
    "make analyze already wrote a fresh profile.pb and flamegraph.svg; "
    "skipping make profile (use --always-profile to run it)"
)


@dataclass(frozen=True, slots=True)
class MakeOutcome:
    analyze: TargetRun
    profile: TargetRun | None
    artifacts: ProfileArtifacts
    profile_skipped: bool
    runtime: RuntimeFigure | None


def run_make_stage(
    repo: Path,
    file_arg: str,
    log_dir: Path,
    *,
    always_profile: bool,
    timeout_s: float | None,
    on_line: Callable[[str], None] | None,
    status: Callable[[str, float], None] | None,
    notice: Callable[[str], None],
) -> MakeOutcome:
    """Run `make analyze`, then `make profile` unless analyze already left fresh artifacts.

    `timeout_s` applies to each target separately. `file_arg` is validated again (idempotent for
    an already validated value), since this is the stage's public entry point.
    """
    file_rel = validate_file_argument(repo, file_arg)
    analyze = run_target(
        repo, "analyze", file_rel, log_dir, timeout_s=timeout_s, on_line=on_line, status=status
    )
    runtime = parse_runtime(analyze.stdout, analyze.line_times)

    artifacts = fresh_artifacts(repo, analyze.started_at)
    if artifacts is not None and not always_profile:
        notice(SKIP_PROFILE_NOTICE)
        return MakeOutcome(
            analyze=analyze,
            profile=None,
            artifacts=artifacts,
            profile_skipped=True,
            runtime=runtime,
        )

    profile = run_target(
        repo, "profile", file_rel, log_dir, timeout_s=timeout_s, on_line=on_line, status=status
    )
    artifacts = require_fresh_artifacts(repo, profile.started_at, "profile", profile.log_path)
    return MakeOutcome(
        analyze=analyze,
        profile=profile,
        artifacts=artifacts,
        profile_skipped=False,
        runtime=runtime,
    )
