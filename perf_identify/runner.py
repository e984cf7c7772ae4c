"""Run one of the repo's commands (tests, a release build) with its output in a log file.

Contract: `run_logged(argv, cwd=, log_path=, timeout_s=)` runs `argv` (never through a shell)
in `cwd` with stdin closed, in its own session, stdout and stderr both written to `log_path`
(the folder is created; the log is kept). It returns a `CommandRun` with the exit code, whatever
it is: a failing test suite is a result, not an error; the caller decides. It raises
`VerifyError` when the program cannot be started or outlives `timeout_s`, and `Interrupted` on
Ctrl-C; in both cases the whole process group (cargo and the compilers or test binaries it
started) is stopped, SIGTERM then SIGKILL, before the error propagates.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perf_identify.errors import Interrupted, VerifyError

_POLL_S = 0.25
_TERM_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class CommandRun:
    argv: tuple[str, ...]
    exit_code: int
    elapsed_s: float
    log_path: Path

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def tail(self, lines: int = 5) -> str:
        """The last non-blank lines of the log, joined with ` | ` for a one-line message."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:])


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait_s in ((signal.SIGTERM, _TERM_GRACE_S), (signal.SIGKILL, _TERM_GRACE_S)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)
            return


def run_logged(
    argv: Sequence[str],
    *,
    cwd: Path,
    log_path: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    on_status: Callable[[float], None] | None = None,
) -> CommandRun:
    """Run `argv` with its output in `log_path`; see the module docstring."""
    shown = shlex.join(argv)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log_path.open("wb") as log:
        log.write(f"$ cd {shlex.quote(str(cwd))} && {shown}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=None if env is None else dict(env),
            )
        except OSError as exc:
            raise VerifyError(
                f"cannot run `{shown}` in {cwd}: {exc.strerror or exc}",
                hint="check the command in .perf-identify.toml and that its program is installed",
            ) from None
        try:
            while True:
                try:
                    code = proc.wait(timeout=_POLL_S)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - start
                    if elapsed > timeout_s:
                        _stop_group(proc)
                        raise VerifyError(
                            f"`{shown}` ran longer than {timeout_s:g}s and was stopped",
                            hint=f"see {log_path}; raise `timeout` in .perf-identify.toml",
                        ) from None
                    if on_status is not None:
                        on_status(elapsed)
        except KeyboardInterrupt:
            _stop_group(proc)
            raise Interrupted(f"interrupted while running `{shown}`") from None
        finally:
            if proc.poll() is None:
                _stop_group(proc)
    return CommandRun(tuple(argv), code, time.monotonic() - start, log_path)
