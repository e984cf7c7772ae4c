"""What verify times and for how long (pure: values in, values out).

Contract, two decisions:

**The measure** (`choose_measure(setting, before, after)`, each side a sequence of (wall, cpu)
seconds, cpu = user + system of the benchmark process). `setting` "wall" or "cpu" is taken as
it is ("set in .perf-identify.toml"). "auto" (the default) asks whether CPU time is the
benchmark's cost:

* Wall time when the benchmark keeps more than one core busy: the median CPU/wall ratio of
  either side is above 1.1. CPU time would count a parallel speed-up as no change.
* Wall time when it waits: on either side even its best run spent less than 0.8 of its wall
  time on the CPU. CPU time would not see the waiting (I/O, sleeps), so a change that swaps work
  for waiting would look faster. (Or it found no free core in any run; see below.)
* Otherwise CPU time: the benchmark is single-threaded and CPU-bound, so its CPU time is its
  cost, and a process competing for the cores (a second job on a 2-core machine) barely moves
  it, where it can move wall time by ±20 %.

Why the best run and not the median for the waiting test: competition lowers CPU/wall too (a
preempted run waits for a core, not for I/O), and on a busy machine most runs can be preempted
a little; one run that kept the CPU busy for 80 % of its wall time shows the program itself
does not wait. A machine saturated for the whole timing makes every run look as if it waits:
auto then takes wall time, and the interval (see `change_interval`) stays honest, only wider.

**More pairs** (`next_batch(policy, pairs=, outcome=, elapsed_s=)`): verify first times
`policy.initial_pairs` (the config's `runs`); after each batch it asks for the next. It stops
when the outcome is decided (DECIDED), when the interval lies inside the band (INSIDE: more pairs
only narrow it, so they would not make it a speed-up), when the tests failed (the verdict is
REGRESSION whatever the timing), at `policy.max_pairs`, or when the next batch would not fit in
`policy.time_budget_s` of timing (the whole timing phase, warm-ups included, projected from the
mean cost of the pairs so far). A batch is half the pairs so far, at least 4, rounded up to an
even count so the ABBA order stays balanced, and cut to what is left of the budget and the
maximum: so the number of looks grows with the logarithm of the pairs, not with each pair.
The initial pairs are always taken, whatever the budget.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from perf_identify.change_interval import Outcome

Measure = Literal["wall", "cpu"]
MeasureSetting = Literal["auto", "wall", "cpu"]

SINGLE_CORE_MAX = 1.1
CPU_BOUND_MIN = 0.8
MIN_BATCH = 4


@dataclass(frozen=True, slots=True)
class MeasureChoice:
    measure: Measure
    reason: str
    """Short, for the Change line: `single-threaded`, `uses more than one core`, …"""
    cpu_per_wall: float | None
    """The ratio behind an automatic choice (None when the config set the measure)."""

    @property
    def label(self) -> str:
        """`CPU time: single-threaded`, as the Change line of the file says it."""
        name = "CPU time" if self.measure == "cpu" else "wall time"
        return f"{name}: {self.reason}"


def _ratios(runs: Sequence[tuple[float, float]]) -> list[float]:
    return [cpu / wall for wall, cpu in runs if wall > 0]


def choose_measure(
    setting: MeasureSetting,
    before: Sequence[tuple[float, float]],
    after: Sequence[tuple[float, float]],
) -> MeasureChoice:
    """Wall or CPU time for these runs; see the module docstring."""
    if setting != "auto":
        return MeasureChoice(setting, "set in .perf-identify.toml", None)
    sides = [_ratios(before), _ratios(after)]
    if not all(sides):
        return MeasureChoice("wall", "no runs to judge by", None)
    busiest = max(statistics.median(side) for side in sides)
    if busiest > SINGLE_CORE_MAX:
        return MeasureChoice("wall", f"uses more than one core, CPU/wall {busiest:.2f}", busiest)
    best = min(max(side) for side in sides)
    if best < CPU_BOUND_MIN:
        return MeasureChoice(
            "wall", f"CPU/wall {best:.2f} at best: it waits, or found no free core", best
        )
    return MeasureChoice("cpu", "single-threaded", best)


class StopReason(StrEnum):
    DECIDED = "decided"
    INSIDE = "inside the band"
    TESTS_FAIL = "tests fail"
    MAX_PAIRS = "maximum pairs"
    TIME_BUDGET = "time budget"


@dataclass(frozen=True, slots=True)
class SamplingPolicy:
    initial_pairs: int
    max_pairs: int
    time_budget_s: float


@dataclass(frozen=True, slots=True)
class NextBatch:
    """Either `pairs` more pairs to time, or why to stop (`pairs` 0)."""

    pairs: int
    stop: StopReason | None


def next_batch(
    policy: SamplingPolicy,
    *,
    pairs: int,
    outcome: Outcome,
    elapsed_s: float,
    tests_passed: bool = True,
) -> NextBatch:
    """How many more pairs to time after `pairs`, or why to stop (see the module docstring)."""
    if not tests_passed:
        return NextBatch(0, StopReason.TESTS_FAIL)
    if outcome.decided:
        return NextBatch(0, StopReason.DECIDED)
    if not outcome.more_pairs_could_decide:
        return NextBatch(0, StopReason.INSIDE)
    room = policy.max_pairs - pairs
    if room <= 0:
        return NextBatch(0, StopReason.MAX_PAIRS)
    wanted = max(MIN_BATCH, math.ceil(pairs / 2))
    wanted += wanted % 2
    per_pair = elapsed_s / pairs if pairs else 0.0
    if per_pair > 0:
        affordable = math.floor((policy.time_budget_s - elapsed_s) / per_pair)
        if affordable <= 0:
            return NextBatch(0, StopReason.TIME_BUDGET)
        wanted = min(wanted, affordable)
    return NextBatch(min(wanted, room), None)


def stop_text(stop: StopReason, policy: SamplingPolicy, *, pairs: int, elapsed_s: float) -> str:
    """Why the timing stopped, for the Actual line: `stopped: decided after 12 pairs, 3 s`."""
    shown = f"{elapsed_s:.1f}" if elapsed_s < 10 else f"{elapsed_s:.0f}"
    spent = f"{pairs} pairs in {shown} s of timing"
    if stop is StopReason.TIME_BUDGET:
        return f"stopped at the time budget ({policy.time_budget_s:g} s): {spent}"
    if stop is StopReason.MAX_PAIRS:
        return f"stopped at the maximum of {policy.max_pairs} pairs: {spent}"
    if stop is StopReason.TESTS_FAIL:
        return f"stopped: the tests fail, so the timing cannot change the verdict: {spent}"
    if stop is StopReason.INSIDE:
        return f"stopped: the interval lies inside the band: {spent}"
    return f"stopped: decided: {spent}"
