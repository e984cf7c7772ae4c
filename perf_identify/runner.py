"""Run one of the repo's commands (tests, a release build) with its output in a log file.

Contract: `run_logged(argv, cwd=, log_path=, timeout_s=)` runs `argv` (never through a shell)
in `cwd` with stdin closed, in its own session, stdout and stderr both written to `log_path`
(the folder is created; the log is kept). It returns a `CommandRun` with the exit code, whatever
it is: a failing test suite is a result, not an error; the caller decides. It raises
`VerifyError` when the program cannot be started or outlives `timeout_s`, and `Interrupted` on
Ctrl-C; in both cases the whole process group (cargo and the compilers or test binaries it
started, grandchildren included) is stopped, SIGTERM then SIGKILL, before the error propagates;
starting, streaming and stopping are `processes.run`'s.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perf_identify import processes
from perf_identify.errors import Interrupted, VerifyError
from perf_identify.issues_dir import open_log

# How often `on_status` hears the elapsed time (the old poll interval, kept for the display).
_STATUS_S = 0.25


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
    with open_log(log_path) as log:
        log.write(f"$ cd {shlex.quote(str(cwd))} && {shown}\n".encode())
        log.flush()
        try:
            done = processes.run(
                argv,
                cwd=cwd,
                log=log,
                timeout_s=timeout_s,
                env=env,
                on_status=on_status,
                status_interval_s=_STATUS_S,
                merge_stderr=True,
            )
        except OSError as exc:
            raise VerifyError(
                f"cannot run `{shown}` in {cwd}: {exc.strerror or exc}",
                hint="check the command in .perf-identify.toml and that its program is installed",
            ) from None
        except processes.TimedOut:
            raise VerifyError(
                f"`{shown}` ran longer than {timeout_s:g}s and was stopped",
                hint=f"see {log_path}; raise `timeout` in .perf-identify.toml",
            ) from None
        except Interrupted:
            raise Interrupted(f"interrupted while running `{shown}`") from None
    return CommandRun(tuple(argv), done.exit_code, done.elapsed_s, log_path)
