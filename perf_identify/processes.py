"""The one way this tool starts, watches and stops other programs.

Contract:

* Every program is started from an argv list (never through a shell), with stdin closed, in a
  new session and so in its own process group: a terminal Ctrl-C does not reach it by itself,
  and one `killpg` reaches it and everything it started.
* `run` streams stdout and stderr line by line, each with the monotonic time it arrived, to an
  optional binary log (raw bytes, interleaved) and to `on_line(stream, at, raw)`; `on_status(
  elapsed_s)` is called about every `status_interval_s`. It returns a `Completed` whatever the
  exit code: a failing program is a result; the caller decides.
* `capture` runs a short command (git, a tool's version probe) and returns its whole stdout and
  stderr; same start, timeout and stop rules. `start` + `finish` is the same without the
  capture's decoding, for a caller that reads its own clock around the program (a timer).
* Stopping is `stop_group`: SIGTERM the whole group, wait until no member of the GROUP is left
  (not just the direct child), then SIGKILL whatever remains. It runs before any error leaves
  `run` or `capture`: a timeout (`TimedOut`), Ctrl-C (`Interrupted`), or a callback raising.
* A program that cannot be started raises the `OSError` from the operating system unchanged,
  so that each stage words its own message.

This module is shell: it touches processes, files (the log) and the clock, and never prints.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from perf_identify.errors import Interrupted

__all__ = [
    "DISCARD",
    "Captured",
    "Completed",
    "TimedOut",
    "capture",
    "finish",
    "group_alive",
    "run",
    "start",
    "stop_group",
    "stop_leftovers",
]

_POLL_SLICE_S: Final = 0.1
_TERM_GRACE_S: Final = 5.0
_KILL_WAIT_S: Final = 2.0
_PIPE_DRAIN_S: Final = 2.0

DISCARD: Final = subprocess.DEVNULL
"""For `start`'s stdout or stderr: the program's output goes nowhere."""

OnLine = Callable[[str, float, bytes], None]
"""(stream name "stdout" or "stderr", monotonic arrival time, the raw line with its newline)."""


class TimedOut(Exception):
    """The program outlived its timeout; its whole process group has already been stopped."""

    def __init__(self, argv: Sequence[str], timeout_s: float) -> None:
        super().__init__(f"`{shlex.join(argv)}` ran longer than {timeout_s:g}s and was stopped")
        self.argv = tuple(argv)
        self.timeout_s = timeout_s


@dataclass(frozen=True, slots=True)
class Completed:
    """A program that ran to its end (any exit code; negative: killed by that signal)."""

    argv: tuple[str, ...]
    exit_code: int
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class Captured:
    """A short command's exit code and its whole output, decoded as UTF-8 with replacement."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


# --------------------------------------------------------------------------------------------
# Starting and stopping
# --------------------------------------------------------------------------------------------


def start(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[bytes] | None = subprocess.PIPE,
    stderr: int | IO[bytes] | None = subprocess.PIPE,
    stdin_pipe: bool = False,
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session with stdin closed (a pipe for `finish`'s `input` with
    `stdin_pipe`, never the terminal); raises `OSError` if it cannot."""
    return subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        env=None if env is None else dict(env),
    )


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


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is left in process group `pgid`."""
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


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's whole process group, SIGKILL it after a grace period, reap the child.

    The group id is the child's pid (new session), and stays valid while any member lives, so
    signalling it after the child itself has exited still reaches orphaned grandchildren. A
    second Ctrl-C while waiting skips straight to SIGKILL.
    """
    pgid = proc.pid
    try:
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + _TERM_GRACE_S
        while time.monotonic() < deadline:
            if proc.poll() is not None and not group_alive(pgid):
                return
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    _signal_group(pgid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + _KILL_WAIT_S
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------
# Streaming run
# --------------------------------------------------------------------------------------------

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


class _Session:
    """One running program: its process group, its pipes' reader threads and the log."""

    def __init__(
        self, proc: subprocess.Popen[bytes], log: IO[bytes] | None, on_line: OnLine | None
    ) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.log = log
        self.on_line = on_line
        self.chunks: queue.Queue[_Chunk] = queue.Queue()
        pipes = [("stdout", proc.stdout)]
        if proc.stderr is not None:
            pipes.append(("stderr", proc.stderr))
        self.open_streams = len(pipes)
        self.readers: list[tuple[threading.Thread, IO[bytes]]] = []
        for name, pipe in pipes:
            reader = threading.Thread(target=_pump, args=(name, pipe, self.chunks), daemon=True)
            reader.start()
            self.readers.append((reader, pipe))

    def note(self, text: str) -> None:
        if self.log is not None:
            self.log.write(text.encode())
            self.log.flush()

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
        if self.log is not None:
            self.log.write(raw)
        if self.on_line is not None:
            self.on_line(name, at, raw)

    def take(self, wait: float) -> None:
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

    def pump_until_exit(
        self,
        start: float,
        deadline: float | None,
        on_status: Callable[[float], None] | None,
        status_interval_s: float,
    ) -> bool:
        """Stream until the program has exited and its pipes are closed; False on timeout."""
        next_status = start
        exited_at: float | None = None
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline and self.proc.poll() is None:
                return False
            if on_status is not None and now >= next_status:
                on_status(now - start)
                next_status = max(next_status + status_interval_s, now)
            wait = _POLL_SLICE_S
            if deadline is not None:
                wait = min(wait, max(deadline - now, 0.0))
            if on_status is not None:
                wait = min(wait, max(next_status - now, 0.0))
            self.take(wait)
            if self.proc.poll() is None:
                continue
            if self.open_streams == 0:
                return True
            # The program has exited but someone still holds its pipes: a backgrounded child.
            # It belongs to this run's session, so it goes too; then the readers get EOF.
            if exited_at is None:
                exited_at = time.monotonic()
                if group_alive(self.proc.pid):
                    stop_group(self.proc)
            elif time.monotonic() - exited_at > _PIPE_DRAIN_S:
                return True  # only a grandchild that left the session can keep the pipes open


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    log: IO[bytes] | None = None,
    timeout_s: float | None = None,
    env: Mapping[str, str] | None = None,
    on_line: OnLine | None = None,
    on_status: Callable[[float], None] | None = None,
    status_interval_s: float = 0.5,
    merge_stderr: bool = False,
) -> Completed:
    """Run `argv` to its end, streaming its output; see the module docstring.

    `log` is an open binary file the caller owns (it writes its own header); the program's raw
    bytes and a `# timed out` / `# interrupted` note go there. Raises `OSError` (cannot start),
    `TimedOut` or `Interrupted`, always after the whole process group is gone. With
    `merge_stderr`, stderr shares stdout's pipe (every line arrives as "stdout"), which keeps
    the two in exactly the order the program wrote them.
    """
    shown = shlex.join(argv)
    start_at = time.monotonic()
    stderr = subprocess.STDOUT if merge_stderr else subprocess.PIPE
    proc = start(argv, cwd=cwd, env=env, stderr=stderr)
    try:
        session = _Session(proc, log, on_line)
    except BaseException:
        stop_group(proc)
        raise
    deadline = None if timeout_s is None else start_at + timeout_s
    try:
        finished = session.pump_until_exit(start_at, deadline, on_status, status_interval_s)
        if not finished:
            session.note("\n# timed out; killing the process group\n")
            stop_group(proc)
            assert timeout_s is not None
            raise TimedOut(argv, timeout_s)
    except KeyboardInterrupt:
        session.note("\n# interrupted; killing the process group\n")
        stop_group(proc)
        raise Interrupted(
            f"interrupted while `{shown}` was running", "its process group was stopped"
        ) from None
    finally:
        # Whatever escaped (a callback raising, say) stops the group first; orphans that did
        # not hold the pipes are still this run's processes.
        if proc.poll() is None or group_alive(proc.pid):
            stop_group(proc)
        session.close_pipes()
    return Completed(tuple(argv), proc.wait(), time.monotonic() - start_at)


def finish(
    proc: subprocess.Popen[bytes],
    argv: Sequence[str],
    timeout_s: float,
    input: bytes | None = None,
) -> tuple[int, bytes, bytes]:
    """Wait for a program `start`ed with pipes (or DEVNULL) and collect its whole output.

    For callers that time the program themselves (no reader threads, no polling between the
    exit and the return). Raises `TimedOut` or `Interrupted` after the whole group is stopped;
    anything else that escapes stops it too. Leftover group members of a program that exited
    are the caller's to `stop_leftovers`, after it has read its clock.
    """
    try:
        out, err = proc.communicate(input=input, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _abandon(proc)
        raise TimedOut(argv, timeout_s) from None
    except KeyboardInterrupt:
        _abandon(proc)
        raise Interrupted(
            f"interrupted while `{shlex.join(argv)}` was running", "its process group was stopped"
        ) from None
    except BaseException:
        _abandon(proc)
        raise
    return proc.returncode, out or b"", err or b""


def _abandon(proc: subprocess.Popen[bytes]) -> None:
    """Stop the group and close our ends of its pipes, whose output nobody will read now."""
    stop_group(proc)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


def stop_leftovers(proc: subprocess.Popen[bytes]) -> None:
    """Stop what a finished program left running in its group (a backgrounded child)."""
    if group_alive(proc.pid):
        stop_group(proc)


def capture(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
) -> Captured:
    """Run a short command (fed `input` on stdin, if given) and return its whole output; same
    stop rules as `run`."""
    proc = start(argv, cwd=cwd, env=env, stdin_pipe=input is not None)
    try:
        code, out, err = finish(proc, argv, timeout_s, input)
    finally:
        stop_leftovers(proc)
    return Captured(
        tuple(argv),
        code,
        out.decode("utf-8", errors="replace"),
        err.decode("utf-8", errors="replace"),
    )
