"""Tests for perf_identify.timing: ABBA alternation, the figures, both timers, failures."""

from __future__ import annotations

import json
import shutil
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from perf_identify.errors import VerifyError
from perf_identify.timing import (
    BuiltinTimer,
    HyperfineTimer,
    RunTime,
    Timings,
    choose_timer,
    measure_pair,
    measure_rounds,
    timings_of,
)

PY = sys.executable


class ScriptedTimer:
    """Returns 1.0 s for `before`, 0.5 s for `after`, and records every round."""

    name = "scripted"

    def __init__(self) -> None:
        self.rounds: list[tuple[list[str], int]] = []

    def round(
        self, commands: Sequence[Sequence[str]], *, warmup: int, cwd: Path, timeout_s: float
    ) -> list[RunTime]:
        self.rounds.append(([command[0] for command in commands], warmup))
        return [
            RunTime(1.0, 0.75, 0.125) if command[0] == "before" else RunTime(0.5, 0.25, 0.125)
            for command in commands
        ]


def test_runs_alternate_abba_with_warmups_first(tmp_path: Path) -> None:
    timer = ScriptedTimer()
    before, after = measure_pair(
        timer, ["before"], ["after"], runs=4, warmup=2, cwd=tmp_path, timeout_s=1.0
    )
    assert timer.rounds == [
        (["before", "after"], 2),
        (["after", "before"], 0),
        (["before", "after"], 0),
        (["after", "before"], 0),
    ]
    assert before.times_s == (1.0,) * 4
    assert after.times_s == (0.5,) * 4
    assert (before.command, after.command) == ("before", "after")


def test_a_later_batch_continues_the_abba_order(tmp_path: Path) -> None:
    timer = ScriptedTimer()
    first = measure_rounds(
        timer, ["before"], ["after"], start=0, count=3, warmup=2, cwd=tmp_path, timeout_s=1.0
    )
    more = measure_rounds(
        timer, ["before"], ["after"], start=3, count=2, warmup=0, cwd=tmp_path, timeout_s=1.0
    )
    # Round 3 is odd, so the second batch starts with `after`; warm-ups only in round 0.
    assert timer.rounds == [
        (["before", "after"], 2),
        (["after", "before"], 0),
        (["before", "after"], 0),
        (["after", "before"], 0),
        (["before", "after"], 0),
    ]
    assert [(b.wall_s, a.wall_s) for b, a in first + more] == [(1.0, 0.5)] * 5
    before, after = timings_of(first + more, ("b", "a"), "cpu")
    assert (before.times_s, after.times_s) == ((0.875,) * 5, (0.375,) * 5)
    assert before.in_measure("wall").times_s == (1.0,) * 5


def test_cpu_measure(tmp_path: Path) -> None:
    before, after = measure_pair(
        ScriptedTimer(), ["before"], ["after"], runs=2, warmup=0, cwd=tmp_path, timeout_s=1.0,
        measure="cpu",
    )  # fmt: skip
    assert (before.times_s, after.times_s) == ((0.875, 0.875), (0.375, 0.375))
    assert before.median_s == 0.875
    # The baseline JSON keeps hyperfine's meaning: wall times, with mean user and system.
    result = before.hyperfine_result()
    assert (result["times"], result["user"], result["system"]) == ([1.0, 1.0], 0.75, 0.125)


def test_timings_figures_and_hyperfine_shape() -> None:
    runs = tuple(RunTime(wall, wall / 2, 0.0) for wall in (0.3, 0.1, 0.2, 0.6))
    timings = Timings("./vm x", runs)
    assert timings.median_s == pytest.approx(0.25)
    assert timings.min_s == 0.1
    assert timings.max_s == 0.6
    result = timings.hyperfine_result()
    assert list(result) == [
        "command", "mean", "stddev", "median", "user", "system", "min", "max", "times"
    ]  # fmt: skip
    assert result["times"] == [0.3, 0.1, 0.2, 0.6]
    assert result["mean"] == pytest.approx(0.3)
    assert result["user"] == pytest.approx(0.15)
    assert result["stddev"] == pytest.approx(0.2160246899)
    assert Timings("x", (RunTime(0.5, 0, 0),)).hyperfine_result()["stddev"] is None


def test_builtin_timer_times_real_processes(tmp_path: Path) -> None:
    sleepy = [PY, "-c", "import time; time.sleep(0.05)"]
    busy = [
        PY,
        "-c",
        "import time\nend = time.process_time() + 0.05\nwhile time.process_time() < end: pass",
    ]
    before, after = measure_pair(
        BuiltinTimer(), sleepy, busy, runs=2, warmup=1, cwd=tmp_path, timeout_s=30
    )
    assert len(before.runs) == len(after.runs) == 2
    assert min(run.wall_s for run in before.runs) >= 0.05
    # Sleeping costs wall time but no CPU time; spinning costs both.
    assert max(run.cpu_s for run in before.runs) < min(run.cpu_s for run in after.runs)
    assert min(run.cpu_s for run in after.runs) >= 0.05


def test_builtin_timer_reports_a_failing_benchmark(tmp_path: Path) -> None:
    failing = [PY, "-c", "import sys; sys.stderr.write('boom: no such file\\n'); sys.exit(3)"]
    with pytest.raises(VerifyError) as info:
        BuiltinTimer().round([failing], warmup=0, cwd=tmp_path, timeout_s=30)
    assert "exited with 3: boom: no such file" in info.value.message
    with pytest.raises(VerifyError, match=r"ran longer than 0\.2s"):
        BuiltinTimer().round(
            [[PY, "-c", "import time; time.sleep(5)"]], warmup=0, cwd=tmp_path, timeout_s=0.2
        )
    with pytest.raises(VerifyError, match="cannot run benchmark"):
        BuiltinTimer().round([[str(tmp_path / "nope")]], warmup=0, cwd=tmp_path, timeout_s=1)


FAKE_HYPERFINE = """\
#!{python}
# A stand-in for hyperfine: records its argv and exports one time per command.
import json, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
export = next(a.split("=", 1)[1] for a in args if a.startswith("--export-json="))
commands = [a for a in args if not a.startswith("--")]
if any("fail" in c for c in commands):
    sys.stderr.write("Command terminated with non-zero exit code: 1\\n")
    sys.exit(1)
results = [
    {{"command": c, "times": [0.25 if "before" in c else 0.125], "user": 0.0625, "system": 0.0}}
    for c in commands
]
json.dump({{"results": results}}, open(export, "w"))
"""


def _fake_hyperfine(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "hyperfine"
    log = tmp_path / "calls.jsonl"
    script.write_text(FAKE_HYPERFINE.format(python=PY, log=str(log)), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def test_hyperfine_timer_runs_one_round_per_invocation(tmp_path: Path) -> None:
    script, log = _fake_hyperfine(tmp_path)
    before, after = measure_pair(
        HyperfineTimer(str(script)),
        ["./before bin", "-p", "x.santa"],
        ["./after", "-p", "x.santa"],
        runs=2,
        warmup=3,
        cwd=tmp_path,
        timeout_s=10,
    )
    assert before.runs == (RunTime(0.25, 0.0625, 0.0),) * 2
    assert after.times_s == (0.125, 0.125)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0][:4] == ["--shell=none", "--style=none", "--runs=1", "--warmup=3"]
    assert calls[0][5:] == ["'./before bin' -p x.santa", "./after -p x.santa"]
    assert calls[1][3] == "--warmup=0"
    assert calls[1][5:] == ["./after -p x.santa", "'./before bin' -p x.santa"]


def test_hyperfine_failure_is_a_verify_error(tmp_path: Path) -> None:
    script, _ = _fake_hyperfine(tmp_path)
    with pytest.raises(VerifyError) as info:
        HyperfineTimer(str(script)).round([["./fail"]], warmup=0, cwd=tmp_path, timeout_s=10)
    assert "Command terminated with non-zero exit code: 1" in info.value.message


@pytest.mark.skipif(shutil.which("hyperfine") is None, reason="hyperfine is not installed")
def test_real_hyperfine(tmp_path: Path) -> None:
    timer = choose_timer("auto")
    assert isinstance(timer, HyperfineTimer)
    times = timer.round([[PY, "-c", "pass"]], warmup=0, cwd=tmp_path, timeout_s=30)
    assert len(times) == 1
    assert 0 < times[0].wall_s < 30
    assert 0 < times[0].cpu_s < 30


def test_choose_timer() -> None:
    assert isinstance(choose_timer("builtin", lambda _: "/usr/bin/hyperfine"), BuiltinTimer)
    assert isinstance(choose_timer("auto", lambda _: None), BuiltinTimer)
    assert isinstance(choose_timer("auto", lambda _: "/usr/bin/hyperfine"), HyperfineTimer)
    with pytest.raises(VerifyError, match="hyperfine is not on PATH"):
        choose_timer("hyperfine", lambda _: None)
