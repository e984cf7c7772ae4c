"""Tests for perf_identify.runner: logs, exit codes, timeouts and missing programs."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from perf_identify.errors import VerifyError
from perf_identify.runner import run_logged

PY = sys.executable


def test_output_goes_to_the_log_and_the_exit_code_is_returned(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "tests.log"
    script = "import sys; print('ok 1'); sys.stderr.write('FAILED 2\\n'); sys.exit(101)"
    run = run_logged([PY, "-c", script], cwd=tmp_path, log_path=log, timeout_s=30)
    assert (run.exit_code, run.ok) == (101, False)
    text = log.read_text()
    assert text.startswith(f"$ cd {tmp_path} && ")
    assert "ok 1\n" in text
    assert "FAILED 2\n" in text
    assert run.tail(2) == "ok 1 | FAILED 2"


def test_a_timeout_stops_the_whole_group(tmp_path: Path) -> None:
    # The child starts a grandchild that would outlive it; both must be gone afterwards.
    marker = tmp_path / "still-running"
    grandchild = tmp_path / "grandchild.py"
    grandchild.write_text(f"import time\ntime.sleep(3)\nopen({str(marker)!r}, 'w')\n")
    script = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, {str(grandchild)!r}])\n"
        "time.sleep(30)\n"
    )
    started = time.monotonic()
    with pytest.raises(VerifyError, match=r"ran longer than 0\.5s and was stopped"):
        run_logged([PY, "-c", script], cwd=tmp_path, log_path=tmp_path / "l.log", timeout_s=0.5)
    assert time.monotonic() - started < 10
    time.sleep(3.5)
    assert not marker.exists()


def test_a_missing_program(tmp_path: Path) -> None:
    with pytest.raises(VerifyError, match="cannot run `no-such-cargo test`"):
        run_logged(["no-such-cargo", "test"], cwd=tmp_path, log_path=tmp_path / "l", timeout_s=5)
