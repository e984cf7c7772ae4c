"""How many samples stand behind a hotspot's share, and when that is too few to write an issue.

Contract: pure. `samples_in(value, ranking)` converts a profile value into samples: a CPU-time
profile's value over its sampling period (pprof-rs and our recorder both store `count x period`
nanoseconds per sample), a `samples/count` profile's value as it is, and None for values that
are not countable (a profile without a period). `thin_hotspots(...)` splits the selected
hotspots into those with at least `MIN_ISSUE_SAMPLES` samples and those with fewer.

The floor: a share measured from k samples is a binomial count, with a standard error of
sqrt(k (1 - p)) samples, which is at most 1/sqrt(k) of the share itself. At k = 25 that is 20 %,
so the 95 % interval of the share spans about +/- 40 % of its value: a 40 % hotspot is somewhere
between 24 % and 56 %, enough to say it is the biggest thing in the profile and to point at its
code, not less. Below it (the `VM::pop` "43.2 %" from 19 samples of a 44-sample profile) the
order of the hotspots itself is noise, and an issue file would present noise as a finding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from perf_identify.hotspots import Hotspot, Ranking

MIN_ISSUE_SAMPLES = 25

MORE_SAMPLES_HINT = (
    "More samples: profile a longer run (a bigger input for the benchmark), or sample more "
    "often (the frequency the VM passes to pprof-rs's ProfilerGuard, or `perf-identify record "
    "--frequency 4000 -- <command>`)."
)


def samples_in(value: int, ranking: Ranking) -> int | None:
    """`value` of `ranking`'s profile in samples, or None when its values are not countable."""
    unit = ranking.value_type.unit
    if unit == "count":
        return value
    if ranking.period > 0 and unit == "nanoseconds":
        return round(value / ranking.period)
    return None


def share_interval(samples: int, total_samples: int) -> tuple[float, float] | None:
    """A 95 % interval (percent) for a share measured as `samples` of `total_samples` (Wilson's
    score interval, which stays inside 0-100 % for small counts)."""
    if total_samples <= 0:
        return None
    z = 1.96
    p = samples / total_samples
    denominator = 1 + z * z / total_samples
    centre = (p + z * z / (2 * total_samples)) / denominator
    half = z * math.sqrt(p * (1 - p) / total_samples + z * z / (4 * total_samples**2))
    half /= denominator
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class ThinHotspot:
    hotspot: Hotspot
    samples: int


def thin_hotspots(
    hotspots: Sequence[Hotspot], ranking: Ranking
) -> tuple[tuple[Hotspot, ...], tuple[ThinHotspot, ...]]:
    """(hotspots with enough samples for an issue, those without). A profile whose values are
    not countable keeps every hotspot: the floor cannot be judged, so nothing is dropped."""
    kept: list[Hotspot] = []
    thin: list[ThinHotspot] = []
    for hotspot in hotspots:
        count = samples_in(hotspot.value, ranking)
        if count is not None and count < MIN_ISSUE_SAMPLES:
            thin.append(ThinHotspot(hotspot, count))
        else:
            kept.append(hotspot)
    return tuple(kept), tuple(thin)
