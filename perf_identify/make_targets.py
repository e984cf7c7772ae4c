"""The shell stage: run the repo's `make analyze` / `make profile` and collect what they left.

Contract:

* `validate_file_argument` turns the user's FILE into a repo-relative POSIX path that is safe to
  hand to make as `FILE=…`: an allow-list of characters (`[A-Za-z0-9._+-]` components joined by
  `/`, no `..`, no empty component, no component starting with `-`), checked before the disk is
  touched; then the file must exist, be a regular file, and resolve inside the repo. Anything
  else is a `UsageError`.
* `run_target` runs `make <target> FILE=<file>` as an argv list (never through a shell) in the repo,
  with stdin closed and in its own session, so that a timeout or Ctrl-C can kill the make, its
  recipe shells and everything they started, and nothing is left running afterwards. stdout and
  stderr are read concurrently, timestamped per line, streamed to `on_line` and written raw and
  interleaved to a log file that is kept. `status(step, elapsed_s)` is called about every 0.5 s.
  Failures raise `MakeError` (non-zero exit, missing Makefile or target, missing make binary,
  timeout) or `Interrupted` (Ctrl-C); the hint always names the log when there is one.
* `parse_runtime` (pure) reads the runtime of the timed run out of `make analyze`'s stdout.
* `fresh_artifacts` / `require_fresh_artifacts` decide whether `profile.pb` and `flamegraph.svg` in
  the repo root were written by the run that just happened.
* `run_make_stage` ties these together: `make analyze`, then `make profile` only when analyze did
  not already leave fresh artifacts (or when asked to always run it).

This module never prints; everything the user sees goes through the callbacks.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from perf_identify.errors import Interrupted, MakeError, UsageError, WriteError

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
# FILE validation
# --------------------------------------------------------------------------------------------

# An allow-list rather than a deny-list: make expands `$` and treats `#`, `=`, `:`, `%` and
# whitespace specially in variable values, and Makefiles routinely paste $(FILE) into shell
# commands unquoted, so only characters that mean nothing to either are let through.
_ALLOWED_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-/"
)
_FILE_HINT: Final = (
    "give a path inside the repo made of letters, digits, '.', '_', '+' and '-' separated by '/' "
    "(rename or copy the file if needed)"
)


def _check_characters(file_arg: str, checked: str) -> None:
    """Reject `checked` (the part of `file_arg` that will reach make) unless it is allow-listed."""
    if not checked:
        raise UsageError(f"FILE {file_arg!r} is empty", _FILE_HINT)
    for ch in checked:
        if ch not in _ALLOWED_CHARS:
            raise UsageError(
                f"FILE {file_arg!r} contains {ch!r}, which make or a shell could interpret",
                _FILE_HINT,
            )
    for component in checked.split("/"):
        if component == "":
            raise UsageError(f"FILE {file_arg!r} contains an empty path component", _FILE_HINT)
        if component == "..":
            raise UsageError(f"FILE {file_arg!r} contains a '..' component", _FILE_HINT)
        if component.startswith("-"):
            raise UsageError(
                f"FILE {file_arg!r} has a path component starting with '-'", _FILE_HINT
            )


def _strip_repo_prefix(repo: Path, file_arg: str) -> str | None:
    """The part of an absolute `file_arg` below the repo, compared lexically; None if not below."""
    roots = {os.path.abspath(repo), str(repo.resolve())}
    for root in roots:
        prefix = root.rstrip("/") + "/"
        if file_arg.startswith(prefix):
            return file_arg[len(prefix) :]
    return None


def _drop_dot_components(rel: str) -> str:
    return "/".join(part for part in rel.split("/") if part != ".")


def validate_file_argument(repo: Path, file_arg: str) -> str:
    """Return `file_arg` as a safe repo-relative POSIX path, or raise `UsageError`.

    Order: characters (before touching the disk), existence, type, containment. An absolute path
    inside the repo is accepted; the repo's own location may contain any character because only
    the part below it is handed to make.
    """
    is_absolute = file_arg.startswith("/")
    below_repo = _strip_repo_prefix(repo, file_arg) if is_absolute else file_arg
    # An absolute path outside the repo is still character-checked first so that a hostile value
    # is reported as such rather than as "outside the repo".
    _check_characters(file_arg, below_repo if below_repo is not None else file_arg[1:])

    path = Path(file_arg) if is_absolute else repo / file_arg
    if not path.exists():
        what = "is a broken symlink" if path.is_symlink() else "does not exist"
        raise UsageError(
            f"FILE {file_arg!r} {what}",
            f"looked for {path}; give a path relative to the repo {repo}",
        )
    if path.is_dir():
        raise UsageError(f"FILE {file_arg!r} is a directory", "give the program file itself")
    if not path.is_file():
        raise UsageError(f"FILE {file_arg!r} is not a regular file", "give the program file itself")

    root = repo.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        via = f" (it resolves to {resolved})" if resolved != Path(os.path.abspath(path)) else ""
        raise UsageError(
            f"FILE {file_arg!r} is outside the repo {root}{via}",
            "give a file inside the repo; make runs there and cannot see other files",
        )

    if below_repo is not None:
        rel = _drop_dot_components(below_repo)
    else:
        # Absolute path reaching the repo through a symlinked directory: resolve the directories
        # but keep the file's own name, which the Makefile may rely on.
        rel = (path.parent.resolve() / path.name).relative_to(root).as_posix()
    # The rewritten value is what reaches make, so it must pass the same allow-list.
    _check_characters(file_arg, rel)
    return rel


# --------------------------------------------------------------------------------------------
# Running a make target
# --------------------------------------------------------------------------------------------

_MAKEFILE_NAMES: Final = ("GNUmakefile", "makefile", "Makefile")
_TARGET_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_STATUS_INTERVAL_S: Final = 0.5
_POLL_SLICE_S: Final = 0.1
_TERM_GRACE_S: Final = 5.0
_KILL_WAIT_S: Final = 2.0
_PIPE_DRAIN_S: Final = 2.0


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


_Chunk = tuple[str, float, bytes | None]  # (stream name, monotonic time, line or None at EOF)


def _pump(name: str, pipe: IO[bytes], sink: queue.Queue[_Chunk]) -> None:
    """Reader thread: forward each line of `pipe` with the time it arrived, then an EOF marker."""
    try:
        for line in iter(pipe.readline, b""):
            sink.put((name, time.monotonic(), line))
    except (OSError, ValueError):  # our end was closed while a stray process kept writing
        pass
    finally:
        sink.put((name, time.monotonic(), None))


def _proc_group_members_alive(pgid: int) -> bool | None:
    """Whether a non-zombie process in group `pgid` exists, from /proc; None without /proc."""
    proc_root = Path("/proc")
    if not (proc_root / "self" / "stat").exists():
        return None
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may itself contain spaces or parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) < 3:
            continue
        state, pgrp = fields[0], fields[2]
        # Zombies count as gone: whoever inherited an orphan may be slow to reap it.
        if pgrp == str(pgid) and state not in ("Z", "X"):
            return True
    return False


def _group_alive(pgid: int) -> bool:
    from_proc = _proc_group_members_alive(pgid)
    if from_proc is not None:
        return from_proc
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the group exists, even if we may not signal all of it
        return True
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _terminate_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's whole process group, SIGKILL it after a grace period, reap make.

    The group id is the make's pid (start_new_session), and stays valid while any member lives,
    so signalling it after make itself has exited still reaches orphaned grandchildren.
    """
    pgid = proc.pid
    try:
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + _TERM_GRACE_S
        while time.monotonic() < deadline:
            if proc.poll() is not None and not _group_alive(pgid):
                return
            time.sleep(0.05)
    except KeyboardInterrupt:
        # A second Ctrl-C while waiting for a polite exit: skip straight to SIGKILL.
        pass
    _signal_group(pgid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + _KILL_WAIT_S
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _find_makefile(repo: Path) -> Path | None:
    for name in _MAKEFILE_NAMES:
        candidate = repo / name
        if candidate.is_file():
            return candidate
    return None


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (CSI, OSC and two-character ESC sequences)."""
    return _ANSI_RE.sub("", text)


_ANSI_RE: Final = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                  # CSI: colours, cursor movement, erase
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?     # OSC: titles, hyperlinks
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?          # DCS / SOS / PM / APC strings
    | \x1b[ -/]*[0-~]                        # other ESC sequences (charset selection, RIS, ...)
    | \x9b[0-?]*[ -/]*[@-~]                  # 8-bit CSI
    """,
    re.VERBOSE,
)

_SECTION_RE: Final = re.compile(r"^\s*-{3,}\s*(?P<name>[^-\s].*?)\s*-{3,}\s*$")
_RULER_RE: Final = re.compile(r"^\s*={5,}\s*$")
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


def _no_rule_for_target(stderr_lines: Sequence[str], target: str) -> bool:
    # Only the top-level form ("No rule to make target 'analyze'.  Stop."): the form with
    # ", needed by '…'" is a missing prerequisite, i.e. a broken target rather than a missing one.
    # Older makes open the quote with a backquote, localised ones with typographic quotes.
    quote_open, quote_close = "[`'\u2018\"]", "['\u2019\"]"
    pattern = re.compile(
        rf"No rule to make target {quote_open}{re.escape(target)}{quote_close}\s*\.\s*Stop"
    )
    return any(pattern.search(line) for line in stderr_lines)


class _Interrupted(Exception):
    """Internal: KeyboardInterrupt arrived while make ran; the group is already stopped."""


class _TimedOut(Exception):
    """Internal: the timeout passed while make ran; the group is already stopped."""


class _MakeSession:
    """One running make: its process group, its pipes, its log and what it printed so far."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        log: IO[bytes],
        start: float,
        target: str,
        on_line: Callable[[str], None] | None,
    ) -> None:
        assert proc.stdout is not None
        assert proc.stderr is not None
        self.proc = proc
        self.log = log
        self.start = start
        self.target = target
        self.on_line = on_line
        self.stdout_parts: list[str] = []
        self.line_times: list[tuple[float, str]] = []
        self.stderr_lines: list[str] = []
        self.section = ""
        self.chunks: queue.Queue[_Chunk] = queue.Queue()
        self.open_streams = 2
        self.readers: list[tuple[threading.Thread, IO[bytes]]] = []
        for name, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            reader = threading.Thread(target=_pump, args=(name, pipe, self.chunks), daemon=True)
            reader.start()
            self.readers.append((reader, pipe))

    def close_pipes(self) -> None:
        """Close our ends of the pipes once their reader threads are done with them."""
        for reader, pipe in self.readers:
            reader.join(timeout=_PIPE_DRAIN_S)
            # A reader still blocked means a process outside our session holds the pipe; closing
            # it under the thread could crash the read, so that one is left to the daemon thread.
            if not reader.is_alive():
                pipe.close()

    def _handle(self, name: str, at: float, raw: bytes | None) -> None:
        if raw is None:
            self.open_streams -= 1
            return
        self.log.write(raw)
        text = _decode(raw)
        line = _without_newline(text)
        if name == "stdout":
            self.stdout_parts.append(text)
            self.line_times.append((at - self.start, line))
            header = _SECTION_RE.match(strip_ansi(line))
            if header:
                self.section = header.group("name")
        else:
            self.stderr_lines.append(line)
        if self.on_line is not None:
            self.on_line(line)

    def _take(self, wait: float) -> None:
        """Handle the next chunk (waiting up to `wait` s), then whatever else is queued."""
        try:
            self._handle(*self.chunks.get(timeout=wait))
        except queue.Empty:
            return
        while True:
            try:
                chunk = self.chunks.get_nowait()
            except queue.Empty:
                return
            self._handle(*chunk)

    def step_name(self) -> str:
        return f"make {self.target}: {self.section}" if self.section else f"make {self.target}"

    def wait(self, deadline: float | None, status: Callable[[str, float], None] | None) -> int:
        """Stream output until make has exited and its pipes are closed; return the exit code.

        Raises `_TimedOut` / `_Interrupted` after stopping the process group. Whatever else
        escapes (a callback raising, say) also stops the group first.
        """
        finished = False
        try:
            self._pump_until_exit(deadline, status)
            finished = True
        except KeyboardInterrupt as exc:
            self.log.write(b"\n# interrupted; killing the process group\n")
            _terminate_group(self.proc)
            finished = True
            raise _Interrupted from exc
        finally:
            if not finished:
                _terminate_group(self.proc)
            # Orphans that did not hold the pipes are still this run's processes.
            if _group_alive(self.proc.pid):
                _terminate_group(self.proc)
            self.close_pipes()
        return self.proc.wait()

    def _pump_until_exit(
        self, deadline: float | None, status: Callable[[str, float], None] | None
    ) -> None:
        next_status = self.start
        exited_at: float | None = None
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline and self.proc.poll() is None:
                self.log.write(b"\n# timed out; killing the process group\n")
                _terminate_group(self.proc)
                raise _TimedOut
            if status is not None and now >= next_status:
                status(self.step_name(), now - self.start)
                next_status = max(next_status + _STATUS_INTERVAL_S, now)

            wait = _POLL_SLICE_S
            if deadline is not None:
                wait = min(wait, max(deadline - now, 0.0))
            if status is not None:
                wait = min(wait, max(next_status - now, 0.0))
            self._take(wait)

            if self.proc.poll() is None:
                continue
            if self.open_streams == 0:
                return
            # make has exited but someone still holds its pipes: a backgrounded recipe child.
            # It belongs to this run's session, so it goes too; then the readers get EOF.
            if exited_at is None:
                exited_at = time.monotonic()
                if _group_alive(self.proc.pid):
                    _terminate_group(self.proc)
            elif time.monotonic() - exited_at > _PIPE_DRAIN_S:
                return  # only a grandchild that left the session can keep the pipes open


def _start_make(argv: tuple[str, ...], repo: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    make = argv[0]
    try:
        return subprocess.Popen(
            list(argv),
            cwd=repo,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Own session and process group: a terminal Ctrl-C does not reach it by itself, and
            # one killpg reaches make, its recipe shells and everything they spawned.
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        log.write(f"# {make!r} not found\n".encode())
        raise MakeError(
            f"cannot run make: {make!r} was not found",
            "install GNU make (for example `apt-get install make`) or put it on PATH",
        ) from exc
    except PermissionError as exc:
        log.write(f"# {make!r} is not executable\n".encode())
        raise MakeError(
            f"cannot run make: {make!r} is not executable",
            "install GNU make (for example `apt-get install make`) or fix its permissions",
        ) from exc


def _open_log(log_dir: Path, target: str) -> tuple[IO[bytes], Path]:
    log_path = log_dir / f"make-{target}.log"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        # Unbuffered binary: the log must be readable with `tail -f` while make runs, and keeps
        # the child's bytes exactly (ANSI escapes, invalid UTF-8 and all).
        return open(log_path, "wb", buffering=0), log_path
    except OSError as exc:
        raise WriteError(
            f"cannot write the make log {log_path}: {exc.strerror or exc}",
            "choose a writable output folder",
        ) from exc


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
    # make's own "make: *** [Makefile:3: analyze] Error 2" only restates the exit code; the line
    # before it is the one that says what went wrong.
    recipe_stderr = [ln for ln in session.stderr_lines if not _MAKE_OWN_ERROR_RE.match(ln)]
    last = (
        _last_meaningful_line(recipe_stderr)
        or _last_meaningful_line([line for _, line in session.line_times])
        or _last_meaningful_line(session.stderr_lines)
    )
    hint = f"full log: {log_path}"
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
    _check_characters(file_arg, file_arg)
    if _find_makefile(repo) is None:
        raise MakeError(
            f"no Makefile in {repo}",
            f"looked for {', '.join(_MAKEFILE_NAMES)}; point perf-identify at the VM's checkout",
        )

    argv = (make, target, f"FILE={file_arg}")
    shown = shlex.join(argv)
    log, log_path = _open_log(log_dir, target)
    with log:
        log.write(f"$ {shown}\n# cwd: {repo}\n".encode())
        started_at = time.time()
        start = time.monotonic()
        proc = _start_make(argv, repo, log)
        try:
            session = _MakeSession(proc, log, start, target, on_line)
        except BaseException:
            _terminate_group(proc)
            raise
        deadline = None if timeout_s is None else start + timeout_s
        try:
            exit_code = session.wait(deadline, status)
        except _TimedOut:
            raise MakeError(
                f"make {target} timed out after {timeout_s:g} s",
                f"full log: {log_path}; the make process group was stopped",
            ) from None
        except _Interrupted:
            raise Interrupted(
                f"interrupted while {shown} was running",
                f"the make process group was stopped; partial log: {log_path}",
            ) from None
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
# Runtime of the timed run
# --------------------------------------------------------------------------------------------

_RUNTIME_SOURCES: Final = frozenset({"parts", "wall", "profile", "option"})
_TIMING_RE: Final = re.compile(r"^\s*-{3,}\s*TIMING\b.*-{3,}\s*$", re.IGNORECASE)
_PART_RE: Final = re.compile(r"^\s*Part\s+\w+\s*:(?P<rest>.*)$")
_DURATION_RE: Final = re.compile(
    r"(?:^|[\s:])(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|µs|μs|us|ns)\s*$"
)
_UNIT_TO_MS: Final = {"s": 1000.0, "ms": 1.0, "µs": 1e-3, "μs": 1e-3, "us": 1e-3, "ns": 1e-6}


@dataclass(frozen=True, slots=True)
class RuntimeFigure:
    """How long the measured program ran, and where that figure came from.

    `source`: "parts" (sum of the Part durations in TIMING), "wall" (wall time of the timed run
    from stdout line timestamps), "profile" (profile duration), "option" (--runtime-ms).
    """

    milliseconds: int
    source: str
    parts: tuple[int, ...] = ()
    runs: int = 1
    """How many timed runs the figure is the median of."""
    spread: tuple[int, int] | None = None
    """The lowest and highest run, when there is more than one."""

    def __post_init__(self) -> None:
        if self.source not in _RUNTIME_SOURCES:
            raise ValueError(f"unknown runtime source {self.source!r}")
        if self.milliseconds < 0:
            raise ValueError(f"negative runtime {self.milliseconds} ms")
        if self.parts and self.source != "parts":
            raise ValueError("parts are only kept for source 'parts'")


def parse_part_lines(stdout: str) -> tuple[int, ...] | None:
    """The Part durations a benchmark run printed itself (`Part 1: 42 25ms`), in order; None
    unless every Part line carries a duration (a partial sum would under-report)."""
    parts: list[int] = []
    for line in (strip_ansi(raw) for raw in stdout.splitlines()):
        part = _PART_RE.match(line)
        if part is None:
            continue
        duration = _part_duration_ms(part.group("rest"))
        if duration is None:
            return None
        parts.append(duration)
    return tuple(parts) or None


def repeated_runtime(first: RuntimeFigure, more: Sequence[tuple[int, ...]]) -> RuntimeFigure:
    """The median of `first` (make analyze's timed run) and `more` runs' Part sums, with the
    run count and the spread. Only a "parts" figure is repeated: the sums compare like with
    like (the program's own timing, without start-up)."""
    if first.source != "parts" or not more:
        return first
    sums = sorted([first.milliseconds, *(sum(parts) for parts in more)])
    middle = len(sums) // 2
    median = sums[middle] if len(sums) % 2 else round((sums[middle - 1] + sums[middle]) / 2)
    return RuntimeFigure(
        milliseconds=median,
        source="parts",
        parts=first.parts,
        runs=len(sums),
        spread=(sums[0], sums[-1]),
    )


def _is_section_end(clean_line: str) -> bool:
    return bool(_SECTION_RE.match(clean_line) or _RULER_RE.match(clean_line))


def _timing_section(lines: Sequence[str]) -> tuple[int, int] | None:
    """(header index, end index exclusive) of the first TIMING section in ANSI-free `lines`."""
    for index, line in enumerate(lines):
        if _TIMING_RE.match(line):
            end = index + 1
            while end < len(lines) and not _is_section_end(lines[end]):
                end += 1
            return index, end
    return None


def _part_duration_ms(rest: str) -> int | None:
    match = _DURATION_RE.search(rest.rstrip())
    if match is None:
        return None
    return round(float(match.group("value")) * _UNIT_TO_MS[match.group("unit")])


def _wall_ms(line_times: Sequence[tuple[float, str]]) -> int | None:
    clean = [strip_ansi(line) for _, line in line_times]
    span = _timing_section(clean)
    if span is None:
        return None
    header, end = span
    # The header is echoed just before the timed run starts and the next header (or ruler) just
    # after it ends; without a closing line, the section's last line is the best end we have.
    finish = end if end < len(line_times) else len(line_times) - 1
    if finish <= header:
        return None
    elapsed = line_times[finish][0] - line_times[header][0]
    if elapsed <= 0:
        return None
    return round(elapsed * 1000.0)


def parse_runtime(
    analyze_stdout: str, line_times: Sequence[tuple[float, str]] = ()
) -> RuntimeFigure | None:
    """The runtime of the timed run in `make analyze`'s stdout, or None if it does not say.

    Sum of the `Part N: … <duration>` lines of the `--- TIMING … ---` section when every Part line
    carries a duration (a partial sum would under-report); otherwise the section's wall time from
    `line_times`; otherwise None.
    """
    lines = [strip_ansi(line) for line in analyze_stdout.splitlines()]
    span = _timing_section(lines)
    if span is None:
        return None
    header, end = span
    parts: list[int] = []
    complete = True
    for line in lines[header + 1 : end]:
        part = _PART_RE.match(line)
        if part is None:
            continue
        duration = _part_duration_ms(part.group("rest"))
        if duration is None:
            complete = False
        else:
            parts.append(duration)
    if parts and complete:
        return RuntimeFigure(milliseconds=sum(parts), source="parts", parts=tuple(parts))
    wall = _wall_ms(line_times)
    if wall is None:
        return None
    return RuntimeFigure(milliseconds=wall, source="wall")


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
