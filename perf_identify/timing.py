"""Timing two builds of one benchmark against each other, in one run, alternating.

Contract: `measure_rounds(timer, before, after, start=, count=, warmup=, cwd=, timeout_s=)` times
rounds `start` to `start + count - 1` and returns one (before, after) pair of `RunTime`s per
round. The two commands alternate in an ABBA order by the round's index (an even round runs
before then after, an odd one after then before), so a drift of the machine (thermal throttling,
a noisy neighbour, a cache warming up) falls on both sides equally instead of on whichever ran
second, and a later batch (verify's adaptive runs start at the next index) keeps the order
balanced. `warmup` untimed runs of each command precede the batch's first round (verify asks for
them only in its first batch). `measure_pair(...)` is rounds 0 to `runs - 1` as two `Timings`.

Every run records its wall time and the CPU time (user + system) of the benchmark process.
A `Timings`' `measure` picks which one its figures (median, min, max…) are computed from:
`wall`, what hyperfine reports, or `cpu`, which other processes competing for the cores barely
move (on a busy 2-core machine a no-op change can read ±15 % in wall time and ±1 % in CPU time);
for a single-threaded VM the two agree on an idle machine. Which one verify uses is
`timing_plan.choose_measure`'s decision.

Timers:

* `HyperfineTimer` runs one `hyperfine -N --runs 1` per round with both commands in that
  round's order (warm-ups in the first round), reads `--export-json`, and takes each command's
  one `times` entry, `user` and `system`. `-N` runs the command without a shell, so no shell
  start-up is timed or subtracted.
* `BuiltinTimer` spawns each run itself and times it with `time.perf_counter`, its CPU time from
  the growth of `RUSAGE_CHILDREN` (stdin closed, stdout and stderr discarded).

`choose_timer("auto")` is hyperfine when it is on PATH, else the builtin one. A benchmark that
exits non-zero, or outlives `timeout_s`, is a `VerifyError` naming the command and its last line
of stderr. `Timings` is one command's runs with the figures hyperfine reports (mean, sample
standard deviation, median, min, max) in the chosen measure; `hyperfine_result()` renders it as a
hyperfine `results` entry, whose `times` are always wall times, as hyperfine's are, with
hyperfine's mean `user` and `system` beside them.
"""

from __future__ import annotations

import json
import resource
import shlex
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from perf_identify import processes
from perf_identify.errors import VerifyError
from perf_identify.timing_plan import Measure


@dataclass(frozen=True, slots=True)
class RunTime:
    """One run of a benchmark, in seconds."""

    wall_s: float
    user_s: float
    system_s: float

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.system_s


@dataclass(frozen=True, slots=True)
class Timings:
    """The runs of one command, in the order they were taken, and the measure of the figures."""

    command: str
    runs: tuple[RunTime, ...]
    measure: Measure = "wall"

    @property
    def times_s(self) -> tuple[float, ...]:
        if self.measure == "cpu":
            return tuple(run.cpu_s for run in self.runs)
        return tuple(run.wall_s for run in self.runs)

    def in_measure(self, measure: Measure) -> Timings:
        return Timings(self.command, self.runs, measure)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def min_s(self) -> float:
        return min(self.times_s)

    @property
    def max_s(self) -> float:
        return max(self.times_s)

    def hyperfine_result(self) -> dict[str, Any]:
        """One entry of hyperfine's `--export-json` `results` list (wall times, as hyperfine)."""
        wall = [run.wall_s for run in self.runs]
        return {
            "command": self.command,
            "mean": statistics.fmean(wall),
            "stddev": statistics.stdev(wall) if len(wall) > 1 else None,
            "median": statistics.median(wall),
            "user": statistics.fmean(run.user_s for run in self.runs),
            "system": statistics.fmean(run.system_s for run in self.runs),
            "min": min(wall),
            "max": max(wall),
            "times": wall,
        }


class Timer(Protocol):
    name: str

    def round(
        self,
        commands: Sequence[Sequence[str]],
        *,
        warmup: int,
        cwd: Path,
        timeout_s: float,
    ) -> list[RunTime]:
        """Run each command once, in order (after `warmup` untimed runs of each); their times."""


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output on stderr)"


class BuiltinTimer:
    """Our own runner: one process per run, timed with `time.perf_counter`."""

    name = "builtin timer"

    def _once(self, argv: Sequence[str], cwd: Path, timeout_s: float) -> RunTime:
        # The child's CPU time is what RUSAGE_CHILDREN grows by once it has been waited for;
        # nothing else in this process starts children while a benchmark runs.
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            proc = processes.start(argv, cwd=cwd, stdout=processes.DISCARD)
            code, _, stderr = processes.finish(proc, argv, timeout_s)
        except processes.TimedOut:
            raise VerifyError(
                f"benchmark `{shlex.join(argv)}` ran longer than {timeout_s:g}s",
                hint="raise `timeout` in .perf-identify.toml, or use a smaller benchmark input",
            ) from None
        except OSError as exc:
            raise VerifyError(f"cannot run benchmark `{shlex.join(argv)}`: {exc}") from None
        elapsed = time.perf_counter() - start
        # After the clock: a benchmark's stray background child is not part of its time.
        processes.stop_leftovers(proc)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if code != 0:
            raise VerifyError(
                f"benchmark `{shlex.join(argv)}` exited with {code}: "
                f"{_tail(stderr.decode('utf-8', 'replace'))}",
                hint="run the command by hand; both builds must run the benchmark successfully",
            )
        return RunTime(
            wall_s=elapsed,
            user_s=after.ru_utime - usage.ru_utime,
            system_s=after.ru_stime - usage.ru_stime,
        )

    def round(
        self,
        commands: Sequence[Sequence[str]],
        *,
        warmup: int,
        cwd: Path,
        timeout_s: float,
    ) -> list[RunTime]:
        for _ in range(warmup):
            for argv in commands:
                self._once(argv, cwd, timeout_s)
        return [self._once(argv, cwd, timeout_s) for argv in commands]


class HyperfineTimer:
    """hyperfine, one invocation per round (see the module docstring)."""

    name = "hyperfine"

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def round(
        self,
        commands: Sequence[Sequence[str]],
        *,
        warmup: int,
        cwd: Path,
        timeout_s: float,
    ) -> list[RunTime]:
        with tempfile.TemporaryDirectory(prefix="perf-identify-hyperfine-") as scratch:
            export = Path(scratch) / "round.json"
            argv = [
                self.executable,
                "--shell=none",
                "--style=none",
                "--runs=1",
                f"--warmup={warmup}",
                f"--export-json={export}",
                *(shlex.join(command) for command in commands),
            ]
            try:
                done = processes.capture(
                    argv, cwd=cwd, timeout_s=timeout_s * (warmup + 1) * len(commands) + 30
                )
            except processes.TimedOut:
                raise VerifyError(
                    f"hyperfine ran longer than the benchmark timeout ({timeout_s:g}s a run)",
                    hint="raise `timeout` in .perf-identify.toml, or use a smaller input",
                ) from None
            except OSError as exc:
                raise VerifyError(f"cannot run {self.executable}: {exc}") from None
            if done.exit_code != 0:
                raise VerifyError(
                    f"hyperfine failed on `{' | '.join(shlex.join(c) for c in commands)}`: "
                    f"{_tail(done.stderr)}",
                    hint="run the benchmark by hand; both builds must run it successfully "
                    '(or set timer = "builtin" in .perf-identify.toml)',
                )
            try:
                results = json.loads(export.read_text(encoding="utf-8"))["results"]
                return [
                    RunTime(
                        wall_s=float(result["times"][0]),
                        user_s=float(result["user"]),
                        system_s=float(result["system"]),
                    )
                    for result in results
                ]
            except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
                raise VerifyError(f"cannot read hyperfine's JSON export: {exc}") from None


def choose_timer(setting: str, which: Callable[[str], str | None] = shutil.which) -> Timer:
    """The timer for the config's `timer` setting (`auto`, `hyperfine` or `builtin`)."""
    if setting == "builtin":
        return BuiltinTimer()
    found = which("hyperfine")
    if found is not None:
        return HyperfineTimer(found)
    if setting == "hyperfine":
        raise VerifyError(
            'timer = "hyperfine" but hyperfine is not on PATH',
            hint='install hyperfine, or set timer = "auto" to fall back to the builtin timer',
        )
    return BuiltinTimer()


def measure_rounds(
    timer: Timer,
    before: Sequence[str],
    after: Sequence[str],
    *,
    start: int,
    count: int,
    warmup: int,
    cwd: Path,
    timeout_s: float,
    on_round: Callable[[int], None] | None = None,
) -> list[tuple[RunTime, RunTime]]:
    """Rounds `start`..`start + count - 1` in ABBA order; (before, after) for each."""
    pairs: list[tuple[RunTime, RunTime]] = []
    for index in range(start, start + count):
        if on_round is not None:
            on_round(index)
        swapped = index % 2 == 1
        order = (after, before) if swapped else (before, after)
        first, second = timer.round(
            order, warmup=warmup if index == start else 0, cwd=cwd, timeout_s=timeout_s
        )
        pairs.append((second, first) if swapped else (first, second))
    return pairs


def timings_of(
    pairs: Sequence[tuple[RunTime, RunTime]], labels: tuple[str, str], measure: Measure = "wall"
) -> tuple[Timings, Timings]:
    """The before and after `Timings` of these pairs."""
    return (
        Timings(labels[0], tuple(b for b, _ in pairs), measure),
        Timings(labels[1], tuple(a for _, a in pairs), measure),
    )


def measure_pair(
    timer: Timer,
    before: Sequence[str],
    after: Sequence[str],
    *,
    runs: int,
    warmup: int,
    cwd: Path,
    timeout_s: float,
    measure: Measure = "wall",
    labels: tuple[str, str] | None = None,
    on_round: Callable[[int, int], None] | None = None,
) -> tuple[Timings, Timings]:
    """`runs` alternating runs of each command (ABBA order) after `warmup` of each."""
    pairs = measure_rounds(
        timer,
        before,
        after,
        start=0,
        count=runs,
        warmup=warmup,
        cwd=cwd,
        timeout_s=timeout_s,
        on_round=None if on_round is None else (lambda index: on_round(index, runs)),
    )
    names = labels or (shlex.join(before), shlex.join(after))
    return timings_of(pairs, names, measure)
