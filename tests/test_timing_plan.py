"""Tests for perf_identify.timing_plan: which measure verify uses, and when it takes more pairs."""

from __future__ import annotations

import pytest

from perf_identify.change_interval import Outcome
from perf_identify.timing_plan import (
    MeasureChoice,
    NextBatch,
    SamplingPolicy,
    StopReason,
    choose_measure,
    next_batch,
    stop_text,
)


def _runs(*ratios: float, wall: float = 0.5) -> list[tuple[float, float]]:
    return [(wall, wall * ratio) for ratio in ratios]


def test_a_single_threaded_vm_is_timed_in_cpu_time() -> None:
    choice = choose_measure("auto", _runs(0.99, 0.98, 1.0), _runs(0.97, 0.99, 0.99))
    assert choice == MeasureChoice("cpu", "single-threaded", 0.99)
    assert choice.label == "CPU time: single-threaded"


def test_a_competing_process_does_not_make_it_look_like_waiting() -> None:
    # A second job on the machine preempts most runs; one run that kept the CPU busy shows the
    # benchmark itself does not wait.
    before = _runs(0.62, 0.7, 0.55, 0.93, 0.66)
    after = _runs(0.58, 0.85, 0.71, 0.6, 0.64)
    assert choose_measure("auto", before, after).measure == "cpu"


def test_a_benchmark_that_waits_is_timed_in_wall_time() -> None:
    # The side that waits most decides: the after runs reach 0.02 at best.
    choice = choose_measure("auto", _runs(0.02, 0.01, 0.03), _runs(0.02, 0.02, 0.02))
    assert choice == MeasureChoice(
        "wall", "CPU/wall 0.02 at best: it waits, or found no free core", 0.02
    )
    assert choice.label == "wall time: CPU/wall 0.02 at best: it waits, or found no free core"
    # A change that swaps work for waiting is judged in wall time too.
    assert choose_measure("auto", _runs(0.99, 0.98), _runs(0.4, 0.5)).measure == "wall"


def test_a_parallel_benchmark_is_timed_in_wall_time() -> None:
    choice = choose_measure("auto", _runs(1.9, 1.8, 1.95), _runs(1.0, 0.99, 0.98))
    assert choice.measure == "wall"
    assert choice.reason == "uses more than one core, CPU/wall 1.90"
    # A change that makes the benchmark parallel is too.
    assert choose_measure("auto", _runs(0.99, 0.98), _runs(1.6, 1.7)).measure == "wall"


@pytest.mark.parametrize("setting", ["wall", "cpu"])
def test_the_config_can_set_the_measure(setting: str) -> None:
    assert setting in ("wall", "cpu")
    choice = choose_measure(setting, _runs(0.02), _runs(1.9))  # type: ignore[arg-type]
    assert (choice.measure, choice.reason) == (setting, "set in .perf-identify.toml")


POLICY = SamplingPolicy(initial_pairs=10, max_pairs=100, time_budget_s=120.0)


@pytest.mark.parametrize(
    ("outcome", "stop"),
    [
        (Outcome.FASTER, StopReason.DECIDED),
        (Outcome.SLOWER, StopReason.DECIDED),
        (Outcome.INSIDE, StopReason.INSIDE),
    ],
)
def test_no_more_pairs_when_more_would_not_change_the_verdict(
    outcome: Outcome, stop: StopReason
) -> None:
    assert next_batch(POLICY, pairs=10, outcome=outcome, elapsed_s=2.0) == NextBatch(0, stop)


def test_failing_tests_stop_the_timing() -> None:
    got = next_batch(POLICY, pairs=10, outcome=Outcome.STRADDLES, elapsed_s=2, tests_passed=False)
    assert got == NextBatch(0, StopReason.TESTS_FAIL)


def test_batches_grow_by_half_the_pairs_so_far_in_even_counts() -> None:
    sizes = []
    pairs = 10
    while pairs < 100:
        batch = next_batch(POLICY, pairs=pairs, outcome=Outcome.STRADDLES, elapsed_s=pairs * 0.2)
        assert batch.stop is None
        sizes.append(batch.pairs)
        pairs += batch.pairs
    assert sizes == [6, 8, 12, 18, 28, 18]
    assert next_batch(POLICY, pairs=100, outcome=Outcome.STRADDLES, elapsed_s=20) == NextBatch(
        0, StopReason.MAX_PAIRS
    )
    # Too few pairs for a 95 % interval: at least 4 more.
    assert next_batch(POLICY, pairs=3, outcome=Outcome.TOO_FEW, elapsed_s=0.6).pairs == 4


def test_the_time_budget_cuts_the_batch_and_then_stops() -> None:
    # 10 pairs took 100 s: 20 s of budget left is 2 more pairs, not 6.
    assert next_batch(POLICY, pairs=10, outcome=Outcome.STRADDLES, elapsed_s=100.0) == NextBatch(
        2, None
    )
    assert next_batch(POLICY, pairs=12, outcome=Outcome.STRADDLES, elapsed_s=120.0) == NextBatch(
        0, StopReason.TIME_BUDGET
    )
    # Blitzen's slow baseline: 10 pairs of 6.6 s already spent the budget.
    assert next_batch(POLICY, pairs=10, outcome=Outcome.STRADDLES, elapsed_s=132.0).stop is (
        StopReason.TIME_BUDGET
    )
    no_budget = SamplingPolicy(initial_pairs=10, max_pairs=100, time_budget_s=0.0)
    assert next_batch(no_budget, pairs=10, outcome=Outcome.STRADDLES, elapsed_s=1.0).stop is (
        StopReason.TIME_BUDGET
    )


def test_stop_texts() -> None:
    texts = {stop: stop_text(stop, POLICY, pairs=64, elapsed_s=119.6) for stop in StopReason}
    assert texts == {
        StopReason.DECIDED: "stopped: decided: 64 pairs in 120 s of timing",
        StopReason.INSIDE: "stopped: the interval lies inside the band: 64 pairs in 120 s of "
        "timing",
        StopReason.TESTS_FAIL: "stopped: the tests fail, so the timing cannot change the "
        "verdict: 64 pairs in 120 s of timing",
        StopReason.MAX_PAIRS: "stopped at the maximum of 100 pairs: 64 pairs in 120 s of timing",
        StopReason.TIME_BUDGET: "stopped at the time budget (120 s): 64 pairs in 120 s of timing",
    }
