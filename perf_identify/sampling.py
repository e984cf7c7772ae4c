"""How much of the run the profile sampled: the figures behind "flat and cum are not wall time".

Contract: `sampling_note(ranking, runtime_ms)` is pure. For a profile whose values are time in
nanoseconds and which states its duration, it returns a `SamplingNote`: the sampled time, the
profile's duration and the run's Runtime in milliseconds, the ratios between them, the samples
the profiler asked for (duration over period) against the samples it took (total over period),
and whether the profile fell short of the run (`shortfall`). It returns None when the values are
not time (a count profile has nothing to compare), when there is no sampled time, or when the
profile has no duration (our own `perf-identify record` may write 0): then it says nothing
rather than guess.

Why it matters: pprof-rs samples with `setitimer(ITIMER_PROF)`; on the 250 Hz kernel the real
Blitzen profiles were recorded on, only about one tick in four is recorded (8913ms sampled in
37419ms of aoc2018_day05). Shares of the total stay sound; absolute milliseconds do not, and must
never be set next to the Runtime as if they were wall time.
"""

from __future__ import annotations

from dataclasses import dataclass

from perf_identify.hotspots import Ranking

NANOS_PER_MS = 1_000_000

# The Blitzen VM is a single-threaded interpreter that computes from start to end, so a complete
# CPU profile samples about as much CPU time as the profile lasted (a little less for startup and
# the odd page fault; more only for a program with busy threads). Below 60 % more than two fifths
# of the run is missing: more than startup, I/O or a busy machine explain for a CPU-bound
# benchmark, and far above what the real shortfall looks like (17-24 % on the five real
# profiles), so neither a healthy profile nor a short one is misread.
SHORTFALL_BELOW = 0.60


@dataclass(frozen=True, slots=True)
class SamplingNote:
    """Sampled time against the profile's duration and the run's Runtime."""

    measure: str
    """What the values are time of, for people: `CPU` for pprof's `cpu` sample type."""
    sampled_ms: float
    duration_ms: float
    runtime_ms: int
    of_duration: float
    """Sampled time over the profile's duration (1.0 = every moment sampled)."""
    of_runtime: float | None
    """Sampled time over the Runtime; None when the Runtime is 0."""
    period_nanos: int
    expected_samples: int | None
    """Samples the profiler asked for: duration over period; None without a period."""
    samples_taken: int | None
    """Samples it recorded: the total over the period (each sample is worth one period)."""
    shortfall: bool
    """The sampled time is below `SHORTFALL_BELOW` of the profile's duration."""


def sampling_note(ranking: Ranking, runtime_ms: int) -> SamplingNote | None:
    """The note for `ranking` and the run's Runtime; None when there is nothing sound to say."""
    return assess_sampling(
        value_type=ranking.value_type.type,
        unit=ranking.value_type.unit,
        total=ranking.total,
        duration_nanos=ranking.duration_nanos,
        period=ranking.period,
        runtime_ms=runtime_ms,
    )


def assess_sampling(
    *,
    value_type: str,
    unit: str,
    total: int,
    duration_nanos: int,
    period: int,
    runtime_ms: int,
) -> SamplingNote | None:
    """`sampling_note` on plain figures (see the module docstring)."""
    if unit != "nanoseconds" or total <= 0 or duration_nanos <= 0:
        return None
    # Samples taken come from the total, not from the profile's Sample count: pprof-rs (and our
    # recorder) write one Sample per distinct stack, each valued count * period.
    expected = round(duration_nanos / period) if period > 0 else None
    taken = round(total / period) if period > 0 else None
    of_duration = total / duration_nanos
    return SamplingNote(
        measure="CPU" if value_type == "cpu" else value_type,
        sampled_ms=total / NANOS_PER_MS,
        duration_ms=duration_nanos / NANOS_PER_MS,
        runtime_ms=runtime_ms,
        of_duration=of_duration,
        of_runtime=total / (runtime_ms * NANOS_PER_MS) if runtime_ms > 0 else None,
        period_nanos=period,
        expected_samples=expected,
        samples_taken=taken,
        shortfall=of_duration < SHORTFALL_BELOW,
    )
