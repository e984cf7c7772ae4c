"""Tests for perf_identify.processes and every entry point built on it: a timeout stops the
whole process group, grandchildren included, wherever the program was started from."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from perf_identify import processes
from perf_identify.errors import MakeError, VerifyError
from perf_identify.make_targets import run_target
from perf_identify.runner import run_logged
from perf_identify.timing import BuiltinTimer

PY = sys.executable


def _spawner(pid_file: Path) -> list[str]:
    """A program whose backgrounded grandchild ignores SIGTERM and would outlive it, noting the
    grandchild's pid: only waiting for the whole group, then SIGKILL, gets rid of it (waiting
    for the direct child alone, as one entry point used to, leaves it running)."""
    script = pid_file.with_suffix(".sh")
    script.write_text(f"(trap '' TERM; exec sleep 60) &\necho $! > {pid_file}\nsleep 60\n")
    return ["sh", str(script)]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def _grandchild(pid_file: Path) -> int:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = pid_file.read_text().strip() if pid_file.exists() else ""
        if text:
            return int(text)
        time.sleep(0.05)
    raise AssertionError("the grandchild never started")


def _assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 2
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), f"grandchild {pid} outlived the timeout"


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _via_run(argv: list[str], tmp: Path) -> None:
    with pytest.raises(processes.TimedOut):
        processes.run(argv, cwd=tmp, timeout_s=0.5)


def _via_capture(argv: list[str], tmp: Path) -> None:
    with pytest.raises(processes.TimedOut):
        processes.capture(argv, cwd=tmp, timeout_s=0.5)


def _via_run_logged(argv: list[str], tmp: Path) -> None:
    with pytest.raises(VerifyError, match="ran longer than"):
        run_logged(argv, cwd=tmp, log_path=tmp / "logs" / "run.log", timeout_s=0.5)


def _via_builtin_timer(argv: list[str], tmp: Path) -> None:
    with pytest.raises(VerifyError, match="ran longer than"):
        BuiltinTimer().round([argv], warmup=0, cwd=tmp, timeout_s=0.5)


def _via_make(argv: list[str], tmp: Path) -> None:
    (tmp / "Makefile").write_text(f"analyze:\n\t{' '.join(argv)}\n")
    (tmp / "prog.txt").write_text("")
    with pytest.raises(MakeError, match="timed out"):
        run_target(tmp, "analyze", "prog.txt", tmp / "logs", timeout_s=0.5)


ENTRY_POINTS: dict[str, Callable[[list[str], Path], None]] = {
    "processes.run": _via_run,
    "processes.capture": _via_capture,
    "runner.run_logged": _via_run_logged,
    "timing.BuiltinTimer": _via_builtin_timer,
    "make_targets.run_target": _via_make,
}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_a_timeout_stops_the_grandchildren_too(entry: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    ENTRY_POINTS[entry](_spawner(pid_file), tmp_path)
    _assert_gone(_grandchild(pid_file))


def test_a_finished_program_leaves_nothing_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    done = processes.capture(
        ["sh", "-c", f"sleep 60 > /dev/null 2>&1 & echo $! > {pid_file}; echo hi"],
        cwd=tmp_path,
        timeout_s=10,
    )
    assert (done.exit_code, done.stdout) == (0, "hi\n")
    _assert_gone(_grandchild(pid_file))


def test_run_streams_lines_to_the_log_and_the_callback(tmp_path: Path) -> None:
    seen: list[tuple[str, bytes]] = []
    log = tmp_path / "out.log"
    script = "import sys; print('one', flush=True); sys.stderr.write('two\\n'); sys.exit(4)"
    with log.open("wb") as sink:
        done = processes.run(
            [PY, "-c", script],
            cwd=tmp_path,
            log=sink,
            timeout_s=30,
            on_line=lambda stream, _at, raw: seen.append((stream, raw)),
        )
    assert done.exit_code == 4
    assert sorted(seen) == [("stderr", b"two\n"), ("stdout", b"one\n")]
    assert sorted(log.read_bytes().splitlines()) == [b"one", b"two"]


def test_capture_feeds_stdin_and_reports_a_missing_program(tmp_path: Path) -> None:
    done = processes.capture(["cat"], cwd=tmp_path, timeout_s=10, input=b"a\nb\n")
    assert done.stdout == "a\nb\n"
    with pytest.raises(FileNotFoundError):
        processes.capture([str(tmp_path / "nope")], cwd=tmp_path, timeout_s=10)


def test_a_raising_callback_stops_the_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"

    def boom(_stream: str, _at: float, _raw: bytes) -> None:
        raise RuntimeError("callback failed")

    argv = ["sh", "-c", f"sleep 60 & echo $! > {pid_file}; echo started; sleep 60"]
    with pytest.raises(RuntimeError, match="callback failed"):
        processes.run(argv, cwd=tmp_path, timeout_s=30, on_line=boom)
    _assert_gone(_grandchild(pid_file))
