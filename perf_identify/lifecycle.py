"""The issue lifecycle as a pure state machine over `IssueDocument` values (no file, no clock).

Statuses and their only legal moves::

    IDENTIFIED -> IN_PROGRESS -> IMPLEMENTED -> VERIFYING -> VERIFIED | MARGINAL | REGRESSION
    MARGINAL -> IN_PROGRESS        REGRESSION -> IN_PROGRESS        (another try)

VERIFIED is final. Every move sets STATUS and appends exactly one `[day] STATUS - note` entry to
the PROGRESS LOG; nothing else in the document changes unless the move records a section.

Who makes which move (so that the file never goes out of shape):

* `set_status` (the `status` command) makes only the moves into IN_PROGRESS. A move into
  IMPLEMENTED needs the IMPLEMENTATION section, so it is `record_implementation`'s (the
  `implemented` command); moves into VERIFYING and the three verdicts need measurements, so they
  are `begin_verification` / `record_verification`'s (the `verify` command). Asking `set_status`
  for one of those is refused with a hint naming the command that makes it.
* Every refusal is an `IssueFileError` (exit 9) saying the current status, the requested one and
  the legal moves; the caller leaves the file untouched.

Shape (`shape_problems`): the STATUS line equals the status of the last log entry; IMPLEMENTED
and later carry an IMPLEMENTATION section; VERIFIED, MARGINAL and REGRESSION carry a VERIFICATION
section whose verdict matches (CONFIRMED, INSUFFICIENT, REGRESSION). A new try (back to
IN_PROGRESS) keeps the previous try's sections until `implemented` and `verify` replace them; the
log keeps the whole journey.

The verdict (`judge`) is decided from the change's confidence interval, not from a point
(`change_interval`: Change = after/before - 1 per alternating pair, its median, and a 95 %
interval for it). Failing tests give REGRESSION whatever the timing; otherwise the interval's
place against the noise band ±threshold (5 % by default) decides: the whole interval faster
than -threshold gives VERIFIED / CONFIRMED, the whole interval slower than +threshold gives
REGRESSION / REGRESSION, anything else (inside the band, straddling an edge of it, or too few
pairs for a 95 % interval) MARGINAL / INSUFFICIENT. A point is the degenerate interval
(`ChangeInterval` with low = high = Change), for which the rule is the older one on the point.

Meets Expected Impact (`expected_estimate`, `meets_expected`): the estimate is read from the
issue's Expected Impact prose: the first percentage range (`72% to 86%`, `40-60%`, an en dash),
else the first percentage after `expect`, `roughly`, `about`, `around`, `approximately` or `~`.
Its lower end is the runtime cut the change must reach: YES when the tests pass and the whole
interval shows at least that cut (its slower end, -high, is at least the lower end: the cut is
shown, not just the median's). When no estimate can be read, YES exactly when the verdict is
CONFIRMED. A small estimate reached inside the noise band reads `Meets Expected Impact: YES`
with `Verdict: INSUFFICIENT`: the change did what was promised, but not measurably.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from perf_identify.change_interval import ChangeInterval, Outcome, band_outcome
from perf_identify.errors import IssueFileError
from perf_identify.render import (
    Implementation,
    IssueDocument,
    LogEntry,
    Status,
    Verdict,
    Verification,
)

S = Status
LEGAL_MOVES: Mapping[Status, frozenset[Status]] = {
    S.IDENTIFIED: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.IMPLEMENTED}),
    S.IMPLEMENTED: frozenset({S.VERIFYING}),
    S.VERIFYING: frozenset({S.VERIFIED, S.MARGINAL, S.REGRESSION}),
    S.VERIFIED: frozenset(),
    S.MARGINAL: frozenset({S.IN_PROGRESS}),
    S.REGRESSION: frozenset({S.IN_PROGRESS}),
}

# The command that makes each move, for refusals that point at the right tool.
_MOVED_BY: Mapping[Status, str] = {
    S.IN_PROGRESS: "perf-identify status FILE IN_PROGRESS --note TEXT",
    S.IMPLEMENTED: "perf-identify implemented FILE --file-modified PATH:WHAT --changes TEXT "
    "--tests TEXT",
    S.VERIFYING: "perf-identify verify FILE",
    S.VERIFIED: "perf-identify verify FILE",
    S.MARGINAL: "perf-identify verify FILE",
    S.REGRESSION: "perf-identify verify FILE",
}

VERDICT_STATUS: Mapping[Verdict, Status] = {
    Verdict.CONFIRMED: S.VERIFIED,
    Verdict.INSUFFICIENT: S.MARGINAL,
    Verdict.REGRESSION: S.REGRESSION,
}
_NEEDS_IMPLEMENTATION = frozenset(
    {S.IMPLEMENTED, S.VERIFYING, S.VERIFIED, S.MARGINAL, S.REGRESSION}
)
_NEEDS_VERIFICATION = frozenset({S.VERIFIED, S.MARGINAL, S.REGRESSION})

DEFAULT_THRESHOLD_PERCENT = 5.0


def _order() -> str:
    return " -> ".join(s.value for s in (S.IDENTIFIED, S.IN_PROGRESS, S.IMPLEMENTED, S.VERIFYING))


def legal_moves_text(current: Status) -> str:
    targets = sorted(t.value for t in LEGAL_MOVES[current])
    if not targets:
        return f"{current.value} is final: no move is allowed"
    return f"from {current.value} the only legal move is to {' or '.join(targets)}"


def check_move(current: Status, new: Status) -> None:
    """Refuse anything but a legal move, naming the legal ones."""
    if new in LEGAL_MOVES[current]:
        return
    raise IssueFileError(
        f"illegal status move {current.value} -> {new.value}: {legal_moves_text(current)}",
        hint=f"the lifecycle is {_order()} -> VERIFIED|MARGINAL|REGRESSION, and MARGINAL or "
        "REGRESSION -> IN_PROGRESS for another try",
    )


def _one_line(note: str) -> str:
    return " ".join(note.split())


def move(doc: IssueDocument, new: Status, day: date, note: str) -> IssueDocument:
    """`doc` moved to `new` with one log entry appended; `IssueFileError` if the move is illegal."""
    check_move(doc.status, new)
    entry = LogEntry(day=day, status=new, note=_one_line(note))
    return dataclasses.replace(doc, status=new, log=(*doc.log, entry))


def set_status(doc: IssueDocument, new: Status, day: date, note: str) -> IssueDocument:
    """The `status` command: a legal move that needs no section (into IN_PROGRESS)."""
    check_move(doc.status, new)
    if new is not S.IN_PROGRESS:
        raise IssueFileError(
            f"{doc.status.value} -> {new.value} is a legal move, but it records a section: "
            f"make it with `{_MOVED_BY[new]}`",
            hint="`perf-identify status` only starts work (IN_PROGRESS); the section-writing "
            "moves belong to `implemented` and `verify`, so the file never goes out of shape",
        )
    return move(doc, new, day, note)


def record_implementation(
    doc: IssueDocument, implementation: Implementation, day: date, note: str
) -> IssueDocument:
    """IN_PROGRESS -> IMPLEMENTED with the IMPLEMENTATION section (a previous try's replaced)."""
    check_move(doc.status, S.IMPLEMENTED)
    moved = move(doc, S.IMPLEMENTED, day, note)
    return dataclasses.replace(moved, implementation=implementation)


def begin_verification(doc: IssueDocument, day: date, note: str) -> IssueDocument:
    """IMPLEMENTED -> VERIFYING. A document already VERIFYING (a run that was killed before it
    could roll back) is returned unchanged: the caller holds the issue's lock, so no other
    verification of it is running."""
    if doc.status is S.VERIFYING:
        return doc
    return move(doc, S.VERIFYING, day, note)


def record_verification(
    doc: IssueDocument, verification: Verification, day: date, note: str
) -> IssueDocument:
    """VERIFYING -> the verdict's status, with the VERIFICATION section set."""
    moved = move(doc, VERDICT_STATUS[verification.verdict], day, note)
    return dataclasses.replace(moved, verification=verification)


def shape_problems(doc: IssueDocument) -> list[str]:
    """What makes `doc` out of shape for its status (empty when it is in shape)."""
    problems: list[str] = []
    last = doc.log[-1].status if doc.log else None
    if last is not doc.status:
        shown = last.value if last is not None else "missing"
        problems.append(f"STATUS is {doc.status.value} but the last PROGRESS LOG entry is {shown}")
    if doc.status in _NEEDS_IMPLEMENTATION and doc.implementation is None:
        problems.append(f"STATUS {doc.status.value} needs an IMPLEMENTATION section")
    if doc.status in _NEEDS_VERIFICATION:
        if doc.verification is None:
            problems.append(f"STATUS {doc.status.value} needs a VERIFICATION section")
        elif VERDICT_STATUS[doc.verification.verdict] is not doc.status:
            problems.append(
                f"STATUS {doc.status.value} does not match Verdict {doc.verification.verdict.value}"
            )
    return problems


def require_shape(doc: IssueDocument) -> None:
    """`IssueFileError` naming the first shape problem (see `shape_problems`)."""
    problems = shape_problems(doc)
    if problems:
        raise IssueFileError(
            f"the file is out of shape: {problems[0]}",
            hint="restore the file from version control, or undo the hand edit; the lifecycle "
            "commands keep STATUS, the sections and the log consistent",
        )


# ----------------------------------------------------------------------------------------------
# Verdict and expected impact


@dataclass(frozen=True, slots=True)
class Judgement:
    change_percent: float
    verdict: Verdict
    status: Status
    interval: ChangeInterval
    outcome: Outcome
    """Where the interval lies against the band (decided by the timing alone, tests aside)."""


_OUTCOME_VERDICT: Mapping[Outcome, Verdict] = {
    Outcome.FASTER: Verdict.CONFIRMED,
    Outcome.SLOWER: Verdict.REGRESSION,
    Outcome.INSIDE: Verdict.INSUFFICIENT,
    Outcome.STRADDLES: Verdict.INSUFFICIENT,
    Outcome.TOO_FEW: Verdict.INSUFFICIENT,
}


def change_percent(before_ms: float, after_ms: float) -> float:
    """Change = after/before - 1, in percent (negative is faster)."""
    if before_ms <= 0:
        raise ValueError(f"before time must be positive, got {before_ms!r}")
    return (after_ms / before_ms - 1.0) * 100.0


def point_interval(change: float, pairs: int = 10) -> ChangeInterval:
    """A Change known exactly: the degenerate interval [change, change]."""
    return ChangeInterval(change, change, change, pairs=pairs, confidence=1.0)


def judge(
    *,
    tests_passed: bool,
    interval: ChangeInterval,
    threshold_percent: float = DEFAULT_THRESHOLD_PERCENT,
) -> Judgement:
    """The verdict for a measured Change and its interval (in percent, as written in the file:
    judge the rounded figures, so the verdict always agrees with the numbers printed)."""
    outcome = band_outcome(interval, threshold_percent)
    verdict = _OUTCOME_VERDICT[outcome] if tests_passed else Verdict.REGRESSION
    return Judgement(
        change_percent=interval.change_percent,
        verdict=verdict,
        status=VERDICT_STATUS[verdict],
        interval=interval,
        outcome=outcome,
    )


@dataclass(frozen=True, slots=True)
class Estimate:
    """A runtime cut, in percent, read from Expected Impact."""

    low: float
    high: float

    def summary(self) -> str:
        if self.low == self.high:
            return f"about a {self.low:g}% cut in runtime (the issue's Expected Impact)"
        return f"a {self.low:g}% to {self.high:g}% cut in runtime (the issue's Expected Impact)"


_NUM = r"(\d+(?:\.\d+)?)"
_RANGE = re.compile(rf"{_NUM}\s*%?\s*(?:-|\u2013|\u2014|to)\s*{_NUM}\s*%")
_SINGLE = re.compile(
    rf"(?:(?:expect\w*|roughly|about|around|approximately)\s+(?:an?\s+)?|~\s*){_NUM}\s*%",
    re.IGNORECASE,
)


def expected_estimate(expected_impact: str) -> Estimate | None:
    """The estimated runtime cut in Expected Impact, or None (see the module docstring)."""
    text = " ".join(expected_impact.split())
    found = _RANGE.search(text)
    if found is not None:
        low, high = sorted((float(found.group(1)), float(found.group(2))))
        if high <= 100:
            return Estimate(low, high)
    single = _SINGLE.search(text)
    if single is not None and float(single.group(1)) <= 100:
        value = float(single.group(1))
        return Estimate(value, value)
    return None


def expected_summary(expected_impact: str, limit: int = 160) -> str:
    """One line for `Expected:`: the estimate, else the first sentence of Expected Impact."""
    estimate = expected_estimate(expected_impact)
    if estimate is not None:
        return estimate.summary()
    text = " ".join(expected_impact.split())
    if not text:
        return "no estimate given in the issue's Expected Impact"
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def meets_expected(
    *, tests_passed: bool, interval: ChangeInterval, verdict: Verdict, estimate: Estimate | None
) -> bool:
    """YES/NO for Meets Expected Impact; see the module docstring for the rule."""
    if not tests_passed:
        return False
    if estimate is None:
        return verdict is Verdict.CONFIRMED
    return -interval.high_percent >= estimate.low
