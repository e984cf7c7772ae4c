"""The issue file text, byte for byte, and its parser (pure: no file, clock or environment).

An issue file is a contract shared with /perf-implement and /perf-verify, which read it back and
edit it. `render_issue` writes the template from the perf-identify spec exactly; `parse_issue`
reads it back. The round trip is the contract:

* `render_issue(parse_issue(t)) == t` for every `t` that `render_issue` produced;
* `parse_issue(render_issue(d)) == d` for every document whose prose fields are normalized
  (`normalize_prose(x) == x`), whose one-line texts (log notes, `what changed`, Expected,
  Actual) are whitespace-collapsed (`" ".join(x.split()) == x`) and whose floats print exactly
  at one decimal (`float(f"{x:.1f}") == x`).

Layout (every rule is exactly 80 characters; dates are YYYY-MM-DD; the file is UTF-8 and ends
with exactly one newline)::

    ================================================================================
    PERFORMANCE ISSUE: <title>
    ================================================================================

    BENCHMARK FILE: <benchmark_file>
    IDENTIFIED: <identified>
    STATUS: <status>

    --------------------------------------------------------------------------------
    ANALYSIS
    --------------------------------------------------------------------------------

    Runtime: <runtime_ms>ms
    Hotspot Rank: <rank>
    Time Contribution: <share_percent:.1f>% of total execution

    Location:
      File: <file>
      Line: <line>
      Function: <function>

    Description:
      <prose>

    Root Cause:
      <prose>

    --------------------------------------------------------------------------------
    PROPOSED OPTIMIZATION
    --------------------------------------------------------------------------------

    Approach:
      <prose>

    Expected Impact:
      <prose>

    Risk Assessment:
      <prose>

    --------------------------------------------------------------------------------
    IMPLEMENTATION
    --------------------------------------------------------------------------------

    Files Modified:
      - <path>: <what changed>
      - <path>

    Changes Made:
      <prose>

    Tests Added/Modified:
      <prose>

    --------------------------------------------------------------------------------
    VERIFICATION
    --------------------------------------------------------------------------------

    Date: <day>
    Tests: PASS|FAIL

    Benchmark Results:
      Before: <before_ms:.1f>ms
      After: <after_ms:.1f>ms
      Change: <change_percent:+.1f>% (<c>% interval <low>% to <high>%, <n> alternating pairs, <m>)

    Meets Expected Impact: YES|NO
      Expected: <one-line text>
      Actual: <one-line text>

    Verdict: CONFIRMED|INSUFFICIENT|REGRESSION

    --------------------------------------------------------------------------------
    PROGRESS LOG
    --------------------------------------------------------------------------------

    [YYYY-MM-DD] STATUS - note
    [YYYY-MM-DD] STATUS - note

The remark after Change is the change's confidence interval (`Verification.interval`, a
`ChangeRange`: its confidence in whole percent, low and high signed at one decimal, the pairs
timed and the measure, e.g. `CPU time: single-threaded`): present when verify measured it,
absent in files written before it existed (they parse, with `interval` None). It stays on the
Change line, however long, rather than in lines of its own, so that a parser that only knows
the older layout still reads the file: it takes the remark for a /perf-verify remark and skips
it.

The IMPLEMENTATION section is present only when `implementation` is set and the VERIFICATION
section only when `verification` is set, always in this order, between PROPOSED OPTIMIZATION and
PROGRESS LOG; their fields follow the maintainers' /perf-implement and /perf-verify templates.
`Files Modified` has one item per file, `- <path>` alone when nothing is said about the change
(a path may not contain `": "`, where the item is split); an empty list, like empty prose,
leaves the label followed by the blank line. An empty Expected, Actual or log note leaves
`  Expected:` / `[YYYY-MM-DD] STATUS -` with nothing after it. The progress log has at least one
entry and the file ends right after the last one.

Wrapping: prose is wrapped with `textwrap` at 80 columns, indented two spaces, paragraphs
separated by one blank line, bullet items `- text` rendered `  - text` with continuation lines
indented four spaces. `Files Modified` items wrap like bullets; `Expected:` / `Actual:`
continue on lines indented four spaces. A progress-log entry is always one line, however long,
as in the spec's template (the parser still joins indented continuation lines written by hand).
Words longer than the width are never broken (a URL or
`core::str::validations::next_code_point` stays whole and may overrun 80 columns), and words are
not split at hyphens. One deliberate difference from plain `textwrap`: a lone `-` word is glued
to the word before it, so no continuation line can start with `- ` and be read back as a new
bullet.

Prose normalization (`normalize_prose`, applied by `render_issue` and returned by `parse_issue`):
lines are stripped; a blank line separates paragraphs; a line whose first word is `-` followed by
more words starts a bullet item; every other line continues the item or paragraph before it;
runs of whitespace (any Unicode whitespace, including tabs and line separators) collapse to one
space. The result is paragraphs joined by one blank line, each an optional lead line followed by
one `- item` line per bullet.

Parser tolerances (hand edits by the other tools or by people): CRLF or CR line endings, a
missing final newline, a leading BOM, trailing whitespace on any line, extra or missing blank
lines between blocks, prose re-wrapped or re-indented (its lines must stay indented), text on a
prose label's line (`Description: text`), and a ` (...)` remark after the Before/After/Change
figures (the /perf-verify template suggests `Before: 812ms (from original analysis)`); such
remarks are not kept, except the Change line's interval, which is read back when it has exactly
the rendered form. Any other departure from the layout raises `IssueFileError` naming the
1-based line and what was expected there, e.g. `line 14: expected 'Hotspot Rank: <n>', found
'Hotspot Rank: first'`.

`render_issue` normalizes prose with `normalize_prose` and one-line texts by collapsing
whitespace, and raises `ValueError` for a document it cannot write faithfully: an empty or
multi-line title, path or function (or surrounding whitespace), a negative or non-finite figure,
a rank below 1, an empty log.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from perf_identify.errors import IssueFileError

WIDTH = 80
HEAVY_RULE = "=" * WIDTH
LIGHT_RULE = "-" * WIDTH

_PROSE_INDENT = "  "
_BULLET_FIRST = "  - "
_BULLET_REST = "    "


class Status(StrEnum):
    """The lifecycle on the STATUS line and in the progress log (perf-verify's Status Lifecycle)."""

    IDENTIFIED = "IDENTIFIED"
    IN_PROGRESS = "IN_PROGRESS"
    IMPLEMENTED = "IMPLEMENTED"
    VERIFYING = "VERIFYING"
    VERIFIED = "VERIFIED"
    MARGINAL = "MARGINAL"
    REGRESSION = "REGRESSION"


class Verdict(StrEnum):
    """The last line of a VERIFICATION section."""

    CONFIRMED = "CONFIRMED"
    INSUFFICIENT = "INSUFFICIENT"
    REGRESSION = "REGRESSION"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One `[YYYY-MM-DD] STATUS - note` line of the progress log."""

    day: date
    status: Status
    note: str


@dataclass(frozen=True, slots=True)
class Implementation:
    """What /perf-implement records: files touched, the change, the tests."""

    files_modified: tuple[tuple[str, str], ...]  # (path, what changed)
    changes_made: str
    tests: str


@dataclass(frozen=True, slots=True)
class ChangeRange:
    """The Change line's remark: `(95% interval -95.1% to -94.5%, 12 alternating pairs,
    CPU time: single-threaded)`: the confidence, the interval, the pairs timed, the measure."""

    confidence_percent: int
    low_percent: float
    high_percent: float
    pairs: int
    measure: str


@dataclass(frozen=True, slots=True)
class Verification:
    """What /perf-verify records: test result, before/after timings and a verdict."""

    day: date
    tests_passed: bool
    before_ms: float
    after_ms: float
    change_percent: float
    meets_expected: bool
    expected: str
    actual: str
    verdict: Verdict
    interval: ChangeRange | None = None


@dataclass(frozen=True, slots=True)
class IssueDocument:
    """Everything an issue file says, as values."""

    title: str
    benchmark_file: str
    identified: date
    status: Status
    runtime_ms: int
    rank: int
    share_percent: float
    file: str
    line: int
    function: str
    description: str
    root_cause: str
    approach: str
    expected_impact: str
    risk: str
    log: tuple[LogEntry, ...]
    implementation: Implementation | None = None
    verification: Verification | None = None


# ----------------------------------------------------------------------------------------------
# Names


_ISSUE_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")


def is_valid_issue_name(name: str) -> bool:
    """True for `UPPERCASE_WITH_UNDERSCORES` names of 3 to 60 ASCII characters.

    The name becomes a file name, so the pattern admits no dot, slash, space or lowercase letter:
    `../x`, `a/b` and `X.txt` are all refused.
    """
    return 3 <= len(name) <= 60 and _ISSUE_NAME.fullmatch(name) is not None


def issue_title(name: str) -> str:
    """The header title for an issue name: `STRING_CLONE_IN_LOOP` -> `STRING CLONE IN LOOP`."""
    return name.replace("_", " ")


# ----------------------------------------------------------------------------------------------
# Normalization


def normalize_prose(text: str) -> str:
    """Collapse whitespace inside paragraphs and bullet items; keep paragraph breaks and bullets.

    Idempotent. See the module docstring for the exact rules.
    """
    paragraphs: list[list[list[str]]] = []
    items: list[list[str]] = []
    for raw in text.splitlines():
        words = raw.split()
        if not words:
            if items:
                paragraphs.append(items)
                items = []
        elif (words[0] == "-" and len(words) > 1) or not items:
            items.append(words)
        else:
            items[-1].extend(words)
    if items:
        paragraphs.append(items)
    return "\n\n".join("\n".join(" ".join(item) for item in items) for items in paragraphs)


def _inline(text: str) -> str:
    """One-line text: every run of whitespace becomes one space, ends stripped."""
    return " ".join(text.split())


# ----------------------------------------------------------------------------------------------
# Rendering


class _Wrapper(textwrap.TextWrapper):
    """`textwrap` that never starts a continuation line with a lone `-`.

    A continuation line `  - foo` would read back as a new bullet item, so a `-` word is glued
    to the word before it and moves to the next line with it.
    """

    def _split(self, text: str) -> list[str]:
        merged: list[str] = []
        for chunk in super()._split(text):
            if chunk == "-" and len(merged) >= 2 and merged[-1] == " ":
                merged[-2:] = [merged[-2] + " -"]
            else:
                merged.append(chunk)
        return merged


def _wrap(text: str, first: str, rest: str) -> list[str]:
    wrapper = _Wrapper(
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return wrapper.wrap(text)


def _prose_lines(text: str) -> list[str]:
    lines: list[str] = []
    for number, paragraph in enumerate(normalize_prose(text).split("\n\n")):
        if not paragraph:
            continue
        if number:
            lines.append("")
        for item in paragraph.split("\n"):
            if item.startswith("- "):
                lines.extend(_wrap(item[2:], _BULLET_FIRST, _BULLET_REST))
            else:
                lines.extend(_wrap(item, _PROSE_INDENT, _PROSE_INDENT))
    return lines


def _block(label: str, body: Iterable[str]) -> list[str]:
    return [f"{label}:", *body, ""]


def _section(name: str) -> list[str]:
    return [LIGHT_RULE, name, LIGHT_RULE, ""]


def _fixed(value: float, *, signed: bool = False) -> str:
    # Adding 0.0 turns -0.0 into 0.0, so an unsigned zero never prints as "-0.0".
    return f"{value:+.1f}" if signed else f"{value + 0.0:.1f}"


def _labelled_text(label: str, text: str) -> list[str]:
    text = _inline(text)
    if not text:
        return [f"  {label}:"]
    return _wrap(text, f"  {label}: ", _BULLET_REST)


def _implementation_lines(impl: Implementation) -> list[str]:
    files: list[str] = []
    for path, raw_what in impl.files_modified:
        what = _inline(raw_what)
        files.extend(_wrap(f"{path}: {what}" if what else path, _BULLET_FIRST, _BULLET_REST))
    return [
        *_section("IMPLEMENTATION"),
        *_block("Files Modified", files),
        *_block("Changes Made", _prose_lines(impl.changes_made)),
        *_block("Tests Added/Modified", _prose_lines(impl.tests)),
    ]


def _change_line(ver: Verification) -> str:
    line = f"  Change: {_fixed(ver.change_percent, signed=True)}%"
    span = ver.interval
    if span is None:
        return line
    pairs = "pair" if span.pairs == 1 else "pairs"
    return (
        f"{line} ({span.confidence_percent}% interval {_fixed(span.low_percent, signed=True)}% "
        f"to {_fixed(span.high_percent, signed=True)}%, {span.pairs} alternating {pairs}, "
        f"{_inline(span.measure)})"
    )


def _verification_lines(ver: Verification) -> list[str]:
    return [
        *_section("VERIFICATION"),
        f"Date: {ver.day.isoformat()}",
        f"Tests: {'PASS' if ver.tests_passed else 'FAIL'}",
        "",
        "Benchmark Results:",
        f"  Before: {_fixed(ver.before_ms)}ms",
        f"  After: {_fixed(ver.after_ms)}ms",
        _change_line(ver),
        "",
        f"Meets Expected Impact: {'YES' if ver.meets_expected else 'NO'}",
        *_labelled_text("Expected", ver.expected),
        *_labelled_text("Actual", ver.actual),
        "",
        f"Verdict: {ver.verdict.value}",
        "",
    ]


def _log_lines(entry: LogEntry) -> list[str]:
    # One line per entry, however long: the spec's template writes the first entry as one
    # line, and the other commands append and read entries line by line.
    head = f"[{entry.day.isoformat()}] {entry.status.value} -"
    note = _inline(entry.note)
    return [f"{head} {note}" if note else head]


def render_issue(doc: IssueDocument) -> str:
    """The issue file for `doc`, byte for byte (see the module docstring for the layout)."""
    _check_renderable(doc)
    lines = [
        HEAVY_RULE,
        f"PERFORMANCE ISSUE: {doc.title}",
        HEAVY_RULE,
        "",
        f"BENCHMARK FILE: {doc.benchmark_file}",
        f"IDENTIFIED: {doc.identified.isoformat()}",
        f"STATUS: {doc.status.value}",
        "",
        *_section("ANALYSIS"),
        f"Runtime: {doc.runtime_ms}ms",
        f"Hotspot Rank: {doc.rank}",
        f"Time Contribution: {_fixed(doc.share_percent)}% of total execution",
        "",
        "Location:",
        f"  File: {doc.file}",
        f"  Line: {doc.line}",
        f"  Function: {doc.function}",
        "",
        *_block("Description", _prose_lines(doc.description)),
        *_block("Root Cause", _prose_lines(doc.root_cause)),
        *_section("PROPOSED OPTIMIZATION"),
        *_block("Approach", _prose_lines(doc.approach)),
        *_block("Expected Impact", _prose_lines(doc.expected_impact)),
        *_block("Risk Assessment", _prose_lines(doc.risk)),
    ]
    if doc.implementation is not None:
        lines.extend(_implementation_lines(doc.implementation))
    if doc.verification is not None:
        lines.extend(_verification_lines(doc.verification))
    lines.extend(_section("PROGRESS LOG"))
    for entry in doc.log:
        lines.extend(_log_lines(entry))
    return "\n".join(lines) + "\n"


def _is_one_line(value: str) -> bool:
    """Non-empty, no surrounding whitespace, and nothing `str.splitlines` would break on."""
    return bool(value) and value == value.strip() and len(f"a{value}b".splitlines()) == 1


def _check_renderable(doc: IssueDocument) -> None:
    """Refuse what would not read back as written (a bug in the caller, hence ValueError)."""
    problems: list[str] = []
    one_line = [
        ("title", doc.title),
        ("benchmark_file", doc.benchmark_file),
        ("file", doc.file),
        ("function", doc.function),
    ]
    days = [("identified", doc.identified)] + [("log day", entry.day) for entry in doc.log]
    counts = [("runtime_ms", doc.runtime_ms, 0), ("rank", doc.rank, 1), ("line", doc.line, 0)]
    figures = [("share_percent", doc.share_percent)]
    if doc.implementation is not None:
        for path, _ in doc.implementation.files_modified:
            # `path: what` is split at the first ": " when read back.
            if not _is_one_line(path) or _inline(path) != path or ": " in path:
                problems.append(f"files_modified path {path!r} is not one line without ': '")
    if doc.verification is not None:
        ver = doc.verification
        days.append(("verification day", ver.day))
        figures += [("before_ms", ver.before_ms), ("after_ms", ver.after_ms)]
        if not math.isfinite(ver.change_percent):
            problems.append(f"change_percent {ver.change_percent!r} is not finite")
        span = ver.interval
        if span is not None:
            if not (math.isfinite(span.low_percent) and math.isfinite(span.high_percent)):
                problems.append(f"interval {span.low_percent!r} to {span.high_percent!r}")
            if not 0 <= span.confidence_percent <= 100 or span.pairs < 1:
                problems.append(
                    f"interval confidence {span.confidence_percent!r}% or pairs {span.pairs!r}"
                )
            if not _is_one_line(_inline(span.measure)):
                problems.append(f"interval measure {span.measure!r} is not one non-blank line")
    problems += [
        f"{name} {value!r} is not one non-blank line"
        for name, value in one_line
        if not _is_one_line(value)
    ]
    problems += [
        f"{name} {value!r} is a datetime, not a date"
        for name, value in days
        if isinstance(value, datetime)
    ]
    problems += [f"{name} {value!r} is below {low}" for name, value, low in counts if value < low]
    problems += [
        f"{name} {value!r} is negative or not finite"
        for name, value in figures
        if not (math.isfinite(value) and value >= 0)
    ]
    if not doc.log:
        problems.append("the progress log is empty")
    if problems:
        raise ValueError("cannot render issue document: " + "; ".join(problems))


# ----------------------------------------------------------------------------------------------
# Parsing


_HINT = (
    "compare the file with the layout in a freshly generated issue file and restore that line, "
    "or delete the file and rerun perf-identify to regenerate it"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_REMARK = r"(?:\s+\(.*\))?"
_SIGNED = rf"[+-]?{_NUMBER}"
_CHANGE = re.compile(rf"({_SIGNED})\s*%(?:\s+\((.*)\))?")
_INTERVAL = re.compile(
    rf"([0-9]{{1,3}})% interval ({_SIGNED})% to ({_SIGNED})%, ([0-9]+) alternating pairs?, (\S.*)"
)
_LOG_ENTRY = re.compile(r"\[([^\]]*)\]\s+(\S+)\s+-(?:\s+(.*))?")

_E = TypeVar("_E", Status, Verdict)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Cursor:
    """The file's lines (1-based in messages), read front to back."""

    def __init__(self, text: str) -> None:
        self.lines = [line.rstrip() for line in text.removeprefix("\ufeff").splitlines()]
        self.pos = 0

    def error(self, lineno: int, expected: str, hint: str = _HINT) -> IssueFileError:
        at_end = lineno > len(self.lines)
        found = "end of file" if at_end else f"'{_clip(self.lines[lineno - 1])}'"
        return IssueFileError(f"line {lineno}: expected '{expected}', found {found}", hint=hint)

    def at_end(self) -> bool:
        return self.pos >= len(self.lines)

    def skip_blank(self) -> None:
        while not self.at_end() and not self.lines[self.pos]:
            self.pos += 1

    def next_line(self, expected: str) -> tuple[int, str]:
        """The next non-blank line and its number; an error naming `expected` at end of file."""
        self.skip_blank()
        if self.at_end():
            raise self.error(self.pos + 1, expected)
        self.pos += 1
        return self.pos, self.lines[self.pos - 1]

    def indented_after(self, indent: int) -> list[str]:
        """Following lines indented deeper than `indent`, up to the first blank or shallower."""
        taken: list[str] = []
        while not self.at_end():
            line = self.lines[self.pos]
            if not line or len(line) - len(line.lstrip()) <= indent:
                break
            taken.append(line.strip())
            self.pos += 1
        return taken

    def body(self) -> list[tuple[int, str]]:
        """Blank or indented lines up to the next line that starts in column 0."""
        taken: list[tuple[int, str]] = []
        while not self.at_end() and (not self.lines[self.pos] or self.lines[self.pos][0].isspace()):
            taken.append((self.pos + 1, self.lines[self.pos].strip()))
            self.pos += 1
        return taken

    def rule(self, char: str) -> None:
        expected = f"a rule of {WIDTH} '{char}'"
        lineno, line = self.next_line(expected)
        if line != char * WIDTH:
            raise self.error(lineno, expected)

    def section(self, choices: tuple[str, ...]) -> str:
        """`-` rule, one of `choices`, `-` rule; returns the choice."""
        self.rule("-")
        expected = "' or '".join(choices)
        lineno, line = self.next_line(expected)
        title = line.strip()
        if title not in choices:
            raise self.error(lineno, expected)
        self.rule("-")
        return title

    def label(self, label: str, placeholder: str) -> tuple[int, str, str]:
        """A `label: value` line: its number, its raw text and the stripped value (maybe empty)."""
        expected = f"{label}: {placeholder}" if placeholder else f"{label}:"
        lineno, line = self.next_line(expected)
        stripped = line.strip()
        if stripped != f"{label}:" and not stripped.startswith(f"{label}: "):
            raise self.error(lineno, expected)
        return lineno, line, stripped[len(label) + 1 :].strip()

    def text(self, label: str, placeholder: str) -> str:
        lineno, _, value = self.label(label, placeholder)
        if not value:
            raise self.error(lineno, f"{label}: {placeholder}")
        return value

    def matched(self, label: str, placeholder: str, pattern: str, hint: str = _HINT) -> str:
        lineno, _, value = self.label(label, placeholder)
        found = re.fullmatch(pattern, value)
        if found is None:
            raise self.error(lineno, f"{label}: {placeholder}", hint)
        return found.group(1)

    def day(self, label: str) -> date:
        lineno, _, value = self.label(label, "YYYY-MM-DD")
        return _parse_day(value, lineno, self, f"{label}: YYYY-MM-DD")

    def choice(self, label: str, enum: type[_E]) -> _E:
        names = "|".join(member.value for member in enum)
        value = self.matched(label, names, r"(\S+)", hint=f"{label} is one of {names}")
        try:
            return enum(value)
        except ValueError:
            raise self.error(self.pos, f"{label}: {names}", f"{label} is one of {names}") from None

    def flag(self, label: str, yes: str, no: str) -> bool:
        value = self.matched(label, f"{yes}|{no}", f"({yes}|{no})")
        return value == yes

    def prose(self, label: str) -> str:
        _, _, first = self.label(label, "")
        return normalize_prose("\n".join([first, *(line for _, line in self.body())]))

    def wrapped_text(self, label: str) -> str:
        """`  label: text` with continuation lines indented deeper than the label."""
        _, line, first = self.label(label, "<text>")
        indent = len(line) - len(line.lstrip())
        return _inline(" ".join([first, *self.indented_after(indent)]))


def _parse_day(value: str, lineno: int, cursor: _Cursor, expected: str) -> date:
    hint = "dates are written YYYY-MM-DD, for example 2025-01-31"
    if not _DATE.fullmatch(value):
        raise cursor.error(lineno, expected, hint)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise cursor.error(lineno, expected + " (a real date)", hint) from None


def _parse_files(cursor: _Cursor) -> tuple[tuple[str, str], ...]:
    cursor.label("Files Modified", "")
    expected = "  - <path>: <what changed>"
    items: list[tuple[int, list[str]]] = []
    for lineno, line in cursor.body():
        if line.startswith("- "):
            items.append((lineno, [line[2:]]))
        elif line and items:
            items[-1][1].append(line)
        elif line:
            raise cursor.error(lineno, expected)
    files: list[tuple[str, str]] = []
    for lineno, parts in items:
        path, _, what = _inline(" ".join(parts)).partition(": ")
        if not path:
            raise cursor.error(lineno, expected)
        files.append((path, what))
    return tuple(files)


def _parse_implementation(cursor: _Cursor) -> Implementation:
    files = _parse_files(cursor)
    return Implementation(
        files_modified=files,
        changes_made=cursor.prose("Changes Made"),
        tests=cursor.prose("Tests Added/Modified"),
    )


def _parse_verification(cursor: _Cursor) -> Verification:
    day = cursor.day("Date")
    tests_passed = cursor.flag("Tests", "PASS", "FAIL")
    cursor.label("Benchmark Results", "")
    before = cursor.matched("Before", "<n>ms", rf"({_NUMBER})\s*ms{_REMARK}")
    after = cursor.matched("After", "<n>ms", rf"({_NUMBER})\s*ms{_REMARK}")
    change, interval = _parse_change(cursor)
    meets = cursor.flag("Meets Expected Impact", "YES", "NO")
    expected = cursor.wrapped_text("Expected")
    actual = cursor.wrapped_text("Actual")
    verdict = cursor.choice("Verdict", Verdict)
    return Verification(
        day=day,
        tests_passed=tests_passed,
        before_ms=float(before),
        after_ms=float(after),
        change_percent=float(change),
        meets_expected=meets,
        expected=expected,
        actual=actual,
        verdict=verdict,
        interval=interval,
    )


def _parse_change(cursor: _Cursor) -> tuple[str, ChangeRange | None]:
    """The Change figure, and its interval when the remark has exactly the rendered form (any
    other remark, such as a /perf-verify `(faster)`, is skipped)."""
    lineno, _, value = cursor.label("Change", "<+/-n>%")
    found = _CHANGE.fullmatch(value)
    if found is None:
        raise cursor.error(lineno, "Change: <+/-n>%")
    span = _INTERVAL.fullmatch(found.group(2) or "")
    if span is None:
        return found.group(1), None
    return found.group(1), ChangeRange(
        confidence_percent=int(span.group(1)),
        low_percent=float(span.group(2)),
        high_percent=float(span.group(3)),
        pairs=int(span.group(4)),
        measure=span.group(5),
    )


def _parse_log(cursor: _Cursor) -> tuple[LogEntry, ...]:
    expected = "[YYYY-MM-DD] STATUS - note"
    statuses = "|".join(status.value for status in Status)
    entries: list[LogEntry] = []
    while True:
        cursor.skip_blank()
        if cursor.at_end():
            break
        lineno, line = cursor.next_line(expected)
        found = _LOG_ENTRY.fullmatch(line)
        if found is None:
            raise cursor.error(
                lineno, expected, "log entries start in column 0; notes continue indented"
            )
        day = _parse_day(found.group(1), lineno, cursor, expected)
        try:
            status = Status(found.group(2))
        except ValueError:
            raise cursor.error(lineno, expected, f"STATUS is one of {statuses}") from None
        note = _inline(" ".join([found.group(3) or "", *cursor.indented_after(0)]))
        entries.append(LogEntry(day=day, status=status, note=note))
    if not entries:
        raise cursor.error(cursor.pos + 1, expected)
    return tuple(entries)


def parse_issue(text: str) -> IssueDocument:
    """Read an issue file back; `IssueFileError` names the 1-based line and what was expected."""
    cursor = _Cursor(text)
    cursor.rule("=")
    title = cursor.text("PERFORMANCE ISSUE", "<name>")
    cursor.rule("=")
    benchmark_file = cursor.text("BENCHMARK FILE", "<path>")
    identified = cursor.day("IDENTIFIED")
    status = cursor.choice("STATUS", Status)
    cursor.section(("ANALYSIS",))
    runtime_ms = int(cursor.matched("Runtime", "<n>ms", r"([0-9]+)\s*ms"))
    rank = int(cursor.matched("Hotspot Rank", "<n>", r"([0-9]+)"))
    share = cursor.matched(
        "Time Contribution", "<n.n>% of total execution", rf"({_NUMBER})\s*% of total execution"
    )
    cursor.label("Location", "")
    file = cursor.text("File", "<path>")
    line = int(cursor.matched("Line", "<n>", r"([0-9]+)"))
    function = cursor.text("Function", "<name>")
    description = cursor.prose("Description")
    root_cause = cursor.prose("Root Cause")
    cursor.section(("PROPOSED OPTIMIZATION",))
    approach = cursor.prose("Approach")
    expected_impact = cursor.prose("Expected Impact")
    risk = cursor.prose("Risk Assessment")

    # The optional sections come in a fixed order; each one narrows what may follow.
    implementation: Implementation | None = None
    verification: Verification | None = None
    name = cursor.section(("IMPLEMENTATION", "VERIFICATION", "PROGRESS LOG"))
    if name == "IMPLEMENTATION":
        implementation = _parse_implementation(cursor)
        name = cursor.section(("VERIFICATION", "PROGRESS LOG"))
    if name == "VERIFICATION":
        verification = _parse_verification(cursor)
        cursor.section(("PROGRESS LOG",))
    log = _parse_log(cursor)

    return IssueDocument(
        title=title,
        benchmark_file=benchmark_file,
        identified=identified,
        status=status,
        runtime_ms=runtime_ms,
        rank=rank,
        share_percent=float(share),
        file=file,
        line=line,
        function=function,
        description=description,
        root_cause=root_cause,
        approach=approach,
        expected_impact=expected_impact,
        risk=risk,
        log=log,
        implementation=implementation,
        verification=verification,
    )
