"""The change between two builds, with its uncertainty, from alternating pairs (pure: values in,
values out; no file, process, clock or randomness).

Contract: `change_interval(before_s, after_s)` takes the times of n alternating pairs (pair i is
`before_s[i]` and `after_s[i]`, measured back to back in one ABBA round, all in one measure and
positive) and returns a `ChangeInterval`:

* Each pair gives one log ratio r_i = ln(after_i / before_i). Working per pair, not per sample,
  is what the alternation pays for: a drift of the machine (a noisy neighbour for ten seconds, a
  CPU that throttles) hits both runs of a pair alike and cancels in its ratio, where it would
  move one median of two unpaired samples.
* **Change** (the point) is exp(median r) - 1: the typical pair's change.
* **The interval** is the distribution-free confidence interval of that median, the one a sign
  test gives: the order statistics r_(k) and r_(n+1-k), with k the largest rank whose coverage
  1 - 2·P(B <= k-1), B ~ Binomial(n, 1/2), is still at least 95 %. It assumes nothing about the
  shape of the noise (heavy tails from a preempted run, skew, a few outliers on one side) and
  involves no random numbers: the same runs always give the same interval.

  Why not a bootstrap: a percentile bootstrap of the median undercovers at the pair counts a
  verify can afford (at 10 pairs its interval mostly falls on r_(3) and r_(8), an 89 % interval
  for the median; simulated with noise like a busy machine's, 2,000 resamples each, it held the
  true change 93.5 % of the time, against 98.1 % for this interval), and it needs a fixed seed
  to be reproducible. The order-statistic interval is exact for any continuous noise
  ([r_(2), r_(9)] at 10 pairs, 97.9 %). Its price is width at small n, which the adaptive runs
  of `timing_plan` pay for with more pairs, and only when the verdict needs them.
* Below `MIN_PAIRS` (6) pairs no 95 % interval exists: even the full range of n pairs holds
  their median with only 1 - 2^(1-n) confidence (93.75 % at 5 pairs). The interval is then that
  range, its real confidence is reported, and `band_outcome` decides nothing from it.
* Figures are in percent, rounded to 0.1 as the VERIFICATION section prints them, and the
  outcome is judged on the rounded figures, so it always agrees with the text. Log ratios are
  rounded to 1e-12 first, so scaling both samples by one factor (milliseconds for seconds, a
  machine uniformly 20 % faster) gives the same interval despite floating-point rounding.

`band_outcome(interval, threshold_percent)` places the interval against the noise band
±threshold (5 % by default): FASTER when the whole interval lies below -threshold, SLOWER when
it lies above +threshold, INSIDE when it lies within the band (more pairs narrow it around the
median it already brackets, so they would not make it a speed-up or a slow-down), STRADDLES when
it crosses an edge of the band (more pairs could decide), TOO_FEW below `MIN_PAIRS` (more pairs
could decide). `explain` says which, in one sentence for the issue file.

Verify looks again after each batch of pairs, and every look is a chance to decide wrongly: a
handful of looks (`timing_plan` grows the batches, so they are few) spends a little of the 5 %
error, not all of it, and a wrong VERIFIED needs more than a wrong interval: one that excludes
the whole band on the faster side. A no-op, whose true change is 0, is not at that risk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

CONFIDENCE = 0.95
MIN_PAIRS = 6
"""The fewest pairs whose range is a 95 % interval for their median (1 - 2^-5 = 96.9 %)."""

_LOG_DIGITS = 12


@dataclass(frozen=True, slots=True)
class ChangeInterval:
    """Change = after/before - 1 in percent (negative is faster), with its interval."""

    change_percent: float
    low_percent: float
    high_percent: float
    pairs: int
    confidence: float
    """The interval's coverage of the median pair ratio: at least 0.95 from `MIN_PAIRS` pairs."""

    @property
    def confidence_percent(self) -> int:
        """The confidence to print: 95 when it is at least that, else its floor (never more
        than the interval has)."""
        if self.confidence >= CONFIDENCE:
            return round(CONFIDENCE * 100)
        return math.floor(self.confidence * 100 + 1e-9)

    def range_text(self) -> str:
        """`-95.1% to -94.5%`: the interval as the file prints it."""
        return f"{_signed(self.low_percent)} to {_signed(self.high_percent)}"


class Outcome(StrEnum):
    """Where the interval lies against the noise band ±threshold."""

    FASTER = "faster"
    SLOWER = "slower"
    INSIDE = "inside"
    STRADDLES = "straddles"
    TOO_FEW = "too few"

    @property
    def decided(self) -> bool:
        return self in (Outcome.FASTER, Outcome.SLOWER)

    @property
    def more_pairs_could_decide(self) -> bool:
        return self in (Outcome.STRADDLES, Outcome.TOO_FEW)


def _signed(value: float) -> str:
    return f"{value + 0.0:+.1f}%"


def _percent(log_ratio: float) -> float:
    # Adding 0.0 turns -0.0 into 0.0.
    return round(math.expm1(log_ratio) * 100.0, 1) + 0.0


def log_ratios(before_s: Sequence[float], after_s: Sequence[float]) -> tuple[float, ...]:
    """ln(after/before) for each pair, rounded to 1e-12 (see the module docstring)."""
    if len(before_s) != len(after_s):
        raise ValueError(f"{len(before_s)} before times but {len(after_s)} after times")
    if not before_s:
        raise ValueError("no pairs to compare")
    bad = [t for t in (*before_s, *after_s) if not (math.isfinite(t) and t > 0)]
    if bad:
        raise ValueError(f"times must be positive and finite, got {bad[0]!r}")
    return tuple(
        round(math.log(after / before), _LOG_DIGITS)
        for before, after in zip(before_s, after_s, strict=True)
    )


def interval_rank(pairs: int) -> tuple[int, float]:
    """(k, coverage) of the interval [r_(k), r_(n+1-k)] for `pairs` = n (see the docstring)."""
    if pairs < 1:
        raise ValueError(f"need at least one pair, got {pairs}")
    total = 1 << pairs
    from fractions import Fraction  # exact binomial tails; only when an interval is made

    wanted = Fraction(round(CONFIDENCE * 100), 100)
    k = 1
    tail = Fraction(1, total)  # P(B <= k - 1) for k = 1
    while k + 1 <= (pairs + 1) // 2:
        # Rank k + 1 gives a narrower interval; take it while it still covers 95 %.
        next_tail = tail + Fraction(math.comb(pairs, k), total)
        if 1 - 2 * next_tail < wanted:
            break
        k, tail = k + 1, next_tail
    return k, float(1 - 2 * tail)


def change_interval(before_s: Sequence[float], after_s: Sequence[float]) -> ChangeInterval:
    """The change and its interval for these pairs; see the module docstring."""
    ratios = sorted(log_ratios(before_s, after_s))
    n = len(ratios)
    k, coverage = interval_rank(n)
    return ChangeInterval(
        change_percent=_percent(_median(ratios)),
        low_percent=_percent(ratios[k - 1]),
        high_percent=_percent(ratios[n - k]),
        pairs=n,
        confidence=coverage,
    )


def band_outcome(interval: ChangeInterval, threshold_percent: float) -> Outcome:
    """Where `interval` lies against ±threshold (see the module docstring)."""
    if interval.pairs < MIN_PAIRS:
        return Outcome.TOO_FEW
    if interval.high_percent < -threshold_percent:
        return Outcome.FASTER
    if interval.low_percent > threshold_percent:
        return Outcome.SLOWER
    if -threshold_percent <= interval.low_percent and interval.high_percent <= threshold_percent:
        return Outcome.INSIDE
    return Outcome.STRADDLES


def explain(interval: ChangeInterval, outcome: Outcome, threshold_percent: float) -> str:
    """One sentence (no final period): why the interval does or does not decide."""
    band = f"{threshold_percent:g}%"
    shown = f"{interval.confidence_percent}% interval ({interval.range_text()})"
    if outcome is Outcome.FASTER:
        return f"decided: the whole {shown} lies beyond -{band}, on the faster side"
    if outcome is Outcome.SLOWER:
        return f"decided: the whole {shown} lies beyond +{band}, on the slower side"
    if outcome is Outcome.INSIDE:
        return (
            f"not decided: the whole {shown} lies inside ±{band}: more runs would not make "
            "this a speed-up"
        )
    if outcome is Outcome.TOO_FEW:
        return (
            f"not decided: {interval.pairs} pair(s) are too few for a 95% interval (their "
            f"range is only a {shown}; {MIN_PAIRS} pairs are needed): more runs could decide"
        )
    low_side = interval.low_percent < -threshold_percent
    high_side = interval.high_percent > threshold_percent
    if low_side and high_side:
        edge = f"both edges of the ±{band} band"
    elif low_side:
        edge = f"the band's edge at -{band}"
    else:
        edge = f"the band's edge at +{band}"
    return f"not decided: the {shown} straddles {edge}: more runs could decide"


def _median(values: Sequence[float]) -> float:
    # Imported here: `statistics` loads fractions and decimal, which `status` and `list` (whose
    # lifecycle rules import this module) never need.
    import statistics

    return statistics.median(values)
