"""Tests for perf_identify.lifecycle: the legal moves, the shape of each status, the verdict
rule and the reading of Expected Impact. Pure: documents in, documents out."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_identify.change_interval import ChangeInterval, Outcome
from perf_identify.errors import IssueFileError
from perf_identify.lifecycle import (
    LEGAL_MOVES,
    Estimate,
    begin_verification,
    check_move,
    expected_estimate,
    expected_summary,
    judge,
    meets_expected,
    move,
    point_interval,
    record_implementation,
    record_verification,
    require_shape,
    set_status,
    shape_problems,
)
from perf_identify.render import (
    Implementation,
    IssueDocument,
    Status,
    Verdict,
    Verification,
    parse_issue,
    render_issue,
)
from tests.test_render import index_op_document

DAY = date(2026, 11, 27)
S = Status
EXPECTED_MOVES = {
    (S.IDENTIFIED, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.IMPLEMENTED),
    (S.IMPLEMENTED, S.VERIFYING),
    (S.VERIFYING, S.VERIFIED),
    (S.VERIFYING, S.MARGINAL),
    (S.VERIFYING, S.REGRESSION),
    (S.MARGINAL, S.IN_PROGRESS),
    (S.REGRESSION, S.IN_PROGRESS),
}
IMPLEMENTATION = Implementation(
    files_modified=(("lang/src/vm/runtime.rs", "index by char lazily"),),
    changes_made="Walk to the i-th char with nth instead of collecting a Vec.",
    tests="Existing string indexing tests cover it.",
)


def verification(verdict: Verdict, *, tests_passed: bool = True) -> Verification:
    return Verification(
        day=DAY,
        tests_passed=tests_passed,
        before_ms=812.0,
        after_ms=55.1,
        change_percent=-93.2,
        meets_expected=True,
        expected="a 72% to 86% cut in runtime (the issue's Expected Impact)",
        actual="93.2% faster",
        verdict=verdict,
    )


def implemented_document() -> IssueDocument:
    doc = set_status(index_op_document(), S.IN_PROGRESS, DAY, "start")
    return record_implementation(doc, IMPLEMENTATION, DAY, "done")


# --------------------------------------------------------------------------------------------
# Moves


@pytest.mark.parametrize(("current", "new"), list(itertools.product(Status, Status)))
def test_exactly_the_lifecycle_moves_are_legal(current: Status, new: Status) -> None:
    if (current, new) in EXPECTED_MOVES:
        check_move(current, new)
    else:
        with pytest.raises(IssueFileError) as info:
            check_move(current, new)
        assert f"illegal status move {current.value} -> {new.value}" in info.value.message
    assert (new in LEGAL_MOVES[current]) == ((current, new) in EXPECTED_MOVES)


def test_refusal_names_the_legal_moves() -> None:
    with pytest.raises(IssueFileError) as info:
        check_move(S.IDENTIFIED, S.VERIFIED)
    assert info.value.message == (
        "illegal status move IDENTIFIED -> VERIFIED: from IDENTIFIED the only legal move is to "
        "IN_PROGRESS"
    )
    with pytest.raises(IssueFileError, match="VERIFIED is final"):
        check_move(S.VERIFIED, S.IN_PROGRESS)


def test_move_appends_one_log_entry_and_changes_nothing_else() -> None:
    doc = index_op_document()
    moved = move(doc, S.IN_PROGRESS, DAY, "  Started:\n lazy   walk ")
    assert moved.status is S.IN_PROGRESS
    assert moved.log[:-1] == doc.log
    assert (moved.log[-1].day, moved.log[-1].status, moved.log[-1].note) == (
        DAY,
        S.IN_PROGRESS,
        "Started: lazy walk",
    )
    assert dataclasses.replace(moved, status=doc.status, log=doc.log) == doc


def test_set_status_makes_only_the_section_free_moves() -> None:
    doc = set_status(index_op_document(), S.IN_PROGRESS, DAY, "start")
    with pytest.raises(IssueFileError) as info:
        set_status(doc, S.IMPLEMENTED, DAY, "done")
    assert "perf-identify implemented" in info.value.message
    implemented = record_implementation(doc, IMPLEMENTATION, DAY, "done")
    with pytest.raises(IssueFileError, match="perf-identify verify"):
        set_status(implemented, S.VERIFYING, DAY, "go")


def test_record_implementation_needs_in_progress() -> None:
    with pytest.raises(IssueFileError, match="IDENTIFIED -> IMPLEMENTED"):
        record_implementation(index_op_document(), IMPLEMENTATION, DAY, "x")
    doc = implemented_document()
    assert doc.status is S.IMPLEMENTED
    assert doc.implementation == IMPLEMENTATION
    assert [entry.status for entry in doc.log] == [S.IDENTIFIED, S.IN_PROGRESS, S.IMPLEMENTED]


@pytest.mark.parametrize(
    ("verdict", "status"),
    [
        (Verdict.CONFIRMED, S.VERIFIED),
        (Verdict.INSUFFICIENT, S.MARGINAL),
        (Verdict.REGRESSION, S.REGRESSION),
    ],
)
def test_verdict_sets_its_status(verdict: Verdict, status: Status) -> None:
    verifying = begin_verification(implemented_document(), DAY, "measuring")
    assert verifying.status is S.VERIFYING
    done = record_verification(verifying, verification(verdict), DAY, "measured")
    assert done.status is status
    assert done.verification == verification(verdict)
    assert shape_problems(done) == []


def test_begin_verification_resumes_a_stale_verifying() -> None:
    verifying = begin_verification(implemented_document(), DAY, "measuring")
    assert begin_verification(verifying, DAY, "again") == verifying
    with pytest.raises(IssueFileError):
        begin_verification(index_op_document(), DAY, "too early")


def test_another_try_after_marginal_keeps_the_history() -> None:
    verifying = begin_verification(implemented_document(), DAY, "measuring")
    marginal = record_verification(verifying, verification(Verdict.INSUFFICIENT), DAY, "meh")
    retry = set_status(marginal, S.IN_PROGRESS, DAY, "second try")
    assert retry.verification == marginal.verification
    second = record_implementation(
        retry, dataclasses.replace(IMPLEMENTATION, tests="New tests."), DAY, "second"
    )
    assert second.implementation is not None
    assert second.implementation.tests == "New tests."
    assert shape_problems(second) == []


# --------------------------------------------------------------------------------------------
# Shape


def test_shape_problems_name_what_is_missing() -> None:
    doc = index_op_document()
    assert shape_problems(doc) == []
    assert shape_problems(dataclasses.replace(doc, status=S.IN_PROGRESS)) == [
        "STATUS is IN_PROGRESS but the last PROGRESS LOG entry is IDENTIFIED"
    ]
    no_section = move(move(doc, S.IN_PROGRESS, DAY, "a"), S.IMPLEMENTED, DAY, "b")
    assert shape_problems(no_section) == ["STATUS IMPLEMENTED needs an IMPLEMENTATION section"]
    verifying = begin_verification(implemented_document(), DAY, "measuring")
    mismatch = record_verification(verifying, verification(Verdict.CONFIRMED), DAY, "ok")
    mismatch = dataclasses.replace(mismatch, verification=verification(Verdict.REGRESSION))
    assert shape_problems(mismatch) == ["STATUS VERIFIED does not match Verdict REGRESSION"]
    with pytest.raises(IssueFileError, match="out of shape: STATUS VERIFIED does not match"):
        require_shape(mismatch)


_STEPS = st.lists(st.sampled_from(["start", "implement", "verify"]), max_size=12)


@settings(max_examples=100, deadline=None)
@given(_STEPS, st.lists(st.sampled_from(list(Verdict)), min_size=12, max_size=12))
def test_any_run_of_commands_keeps_the_file_in_shape(
    steps: list[str], verdicts: list[Verdict]
) -> None:
    """Whatever the commands and in whatever order, what is written is in shape and reads
    back byte for byte; a refused command changes nothing."""
    doc = index_op_document()
    for step, verdict in zip(steps, verdicts, strict=False):
        try:
            if step == "start":
                doc = set_status(doc, S.IN_PROGRESS, DAY, "start")
            elif step == "implement":
                doc = record_implementation(doc, IMPLEMENTATION, DAY, "done")
            else:
                verifying = begin_verification(doc, DAY, "measuring")
                doc = record_verification(verifying, verification(verdict), DAY, "measured")
        except IssueFileError:
            pass
        assert shape_problems(doc) == []
        text = render_issue(doc)
        assert render_issue(parse_issue(text)) == text
        assert parse_issue(text) == doc


# --------------------------------------------------------------------------------------------
# Verdict and Expected Impact


@pytest.mark.parametrize(
    ("tests_passed", "change", "verdict"),
    [
        (True, -93.2, Verdict.CONFIRMED),
        (True, -5.1, Verdict.CONFIRMED),
        (True, -5.0, Verdict.INSUFFICIENT),
        (True, 0.0, Verdict.INSUFFICIENT),
        (True, 5.0, Verdict.INSUFFICIENT),
        (True, 5.1, Verdict.REGRESSION),
        (False, -93.2, Verdict.REGRESSION),
        (False, 0.0, Verdict.REGRESSION),
    ],
)
def test_judge_on_a_point_is_the_rule_on_the_point(
    tests_passed: bool, change: float, verdict: Verdict
) -> None:
    assert judge(tests_passed=tests_passed, interval=point_interval(change)).verdict is verdict


def test_judge_threshold_is_configurable() -> None:
    judgement = judge(tests_passed=True, interval=point_interval(-3.0), threshold_percent=2.0)
    assert judgement.verdict is Verdict.CONFIRMED


def _interval(low: float, change: float, high: float, pairs: int = 12) -> ChangeInterval:
    return ChangeInterval(change, low, high, pairs=pairs, confidence=0.96)


@pytest.mark.parametrize(
    ("interval", "outcome", "verdict"),
    [
        # The whole interval must lie beyond the band: a median of -19.3% is not enough.
        (_interval(-35.2, -19.3, 8.1), Outcome.STRADDLES, Verdict.INSUFFICIENT),
        (_interval(-6.0, -5.5, -5.1), Outcome.FASTER, Verdict.CONFIRMED),
        (_interval(-6.0, -5.5, -5.0), Outcome.STRADDLES, Verdict.INSUFFICIENT),
        (_interval(-2.0, 0.3, 4.9), Outcome.INSIDE, Verdict.INSUFFICIENT),
        (_interval(5.1, 30.0, 40.0), Outcome.SLOWER, Verdict.REGRESSION),
        (_interval(4.0, 30.0, 40.0), Outcome.STRADDLES, Verdict.INSUFFICIENT),
        (_interval(-95.0, -94.8, -94.5, pairs=5), Outcome.TOO_FEW, Verdict.INSUFFICIENT),
    ],
)
def test_judge_decides_from_the_whole_interval(
    interval: ChangeInterval, outcome: Outcome, verdict: Verdict
) -> None:
    judgement = judge(tests_passed=True, interval=interval)
    assert (judgement.outcome, judgement.verdict) == (outcome, verdict)
    assert judgement.change_percent == interval.change_percent
    failing = judge(tests_passed=False, interval=interval)
    assert (failing.verdict, failing.status) == (Verdict.REGRESSION, Status.REGRESSION)


@pytest.mark.parametrize(
    ("text", "estimate"),
    [
        (
            "Upper bound: 91.0% of runtime, the time attributed to `VM::index_op`; no change "
            "here can save more. A fix of this kind usually removes most of that time, so "
            "expect roughly a 72% to 86% cut in this benchmark's runtime, from 2000ms to about "
            "280-560ms.",
            Estimate(72.0, 86.0),
        ),
        ("Expect a 40-60% reduction.", Estimate(40.0, 60.0)),
        ("Roughly 40\u201360 % faster.", Estimate(40.0, 60.0)),
        ("Expect roughly 0.3% to 0.9% less runtime.", Estimate(0.3, 0.9)),
        ("We expect about 30% less time.", Estimate(30.0, 30.0)),
        ("~25% faster", Estimate(25.0, 25.0)),
        ("Upper bound: 12.0% of runtime; hard to say more.", None),
        ("Much faster.", None),
        ("", None),
    ],
)
def test_expected_estimate(text: str, estimate: Estimate | None) -> None:
    assert expected_estimate(text) == estimate


def test_expected_summary() -> None:
    assert expected_summary("Expect a 40-60% reduction.") == (
        "a 40% to 60% cut in runtime (the issue's Expected Impact)"
    )
    assert expected_summary("About 30% less.") == (
        "about a 30% cut in runtime (the issue's Expected Impact)"
    )
    assert expected_summary("Much faster. It will fly.") == "Much faster."
    assert expected_summary("") == "no estimate given in the issue's Expected Impact"
    assert len(expected_summary("word " * 100)) == 160


@pytest.mark.parametrize(
    ("tests_passed", "interval", "verdict", "estimate", "meets"),
    [
        (True, point_interval(-82.5), Verdict.CONFIRMED, Estimate(72, 86), True),
        (True, point_interval(-72.0), Verdict.CONFIRMED, Estimate(72, 86), True),
        (True, point_interval(-60.0), Verdict.CONFIRMED, Estimate(72, 86), False),
        # The median reaches the estimate, but the interval's slower end does not.
        (True, _interval(-85.0, -75.0, -65.0), Verdict.CONFIRMED, Estimate(72, 86), False),
        (True, _interval(-85.0, -80.0, -72.0), Verdict.CONFIRMED, Estimate(72, 86), True),
        (True, point_interval(-1.0), Verdict.INSUFFICIENT, Estimate(0.3, 0.9), True),
        (False, point_interval(-90.0), Verdict.REGRESSION, Estimate(72, 86), False),
        (True, point_interval(-10.0), Verdict.CONFIRMED, None, True),
        (True, point_interval(-1.0), Verdict.INSUFFICIENT, None, False),
    ],
)
def test_meets_expected(
    tests_passed: bool,
    interval: ChangeInterval,
    verdict: Verdict,
    estimate: Estimate | None,
    meets: bool,
) -> None:
    got = meets_expected(
        tests_passed=tests_passed, interval=interval, verdict=verdict, estimate=estimate
    )
    assert got is meets
