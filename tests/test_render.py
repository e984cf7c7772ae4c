"""Tests for perf_identify.render: the template byte for byte, the round trip, broken files.

Golden files live in tests/golden/render/; regenerate with `pytest --update-golden` and read the
diff line by line against the template in the perf-identify spec before committing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_identify.errors import IssueFileError
from perf_identify.render import (
    HEAVY_RULE,
    LIGHT_RULE,
    ChangeRange,
    Implementation,
    IssueDocument,
    LogEntry,
    Status,
    Verdict,
    Verification,
    is_valid_issue_name,
    issue_title,
    normalize_prose,
    parse_issue,
    render_issue,
)
from tests.golden_files import assert_matches_golden

# --------------------------------------------------------------------------------------------
# Realistic documents (figures from the Blitzen fixtures in ../shared/fixtures/blitzen)

BENCHMARK = "examples/aoc2018_day05.santa"


def index_op_document() -> IssueDocument:
    """The aoc2018_day05 hotspot: `VM::index_op` collects graphemes on every string index."""
    return IssueDocument(
        title=issue_title("STRING_GRAPHEME_COLLECT_IN_INDEX_OP"),
        benchmark_file=BENCHMARK,
        identified=date(2026, 11, 26),
        status=Status.IDENTIFIED,
        runtime_ms=37410,
        rank=1,
        share_percent=96.8,
        file="lang/src/vm/runtime.rs",
        line=96,
        function="lang::vm::runtime::VM::index_op",
        description=normalize_prose(
            "`VM::index_op` answers every `s[i]` on a String by collecting the whole string into "
            "a `Vec` of grapheme clusters (`s.graphemes(true).collect::<Vec<&str>>()`) and then "
            "taking element `i`. The polymer reduction in aoc2018_day05 indexes the same long "
            "string position by position inside a `fold`, so every step walks the string from "
            "the start.\n\n"
            "The leaf samples sit in `core::hint::select_unpredictable` (85.0% of flat time) and "
            "`core::str::validations::next_code_point` (3.4%), both under "
            "`unicode_segmentation::grapheme::GraphemeCursor::next_boundary`, which is called "
            "only from `index_op`."
        ),
        root_cause=normalize_prose(
            "Indexing a string is O(n) in its length and allocates a Vec of n slices on every "
            "call, so a loop over all positions is O(n^2) time with n allocations:\n"
            "- grapheme segmentation runs over the whole string even when `i` is 0\n"
            "- the Vec is built and dropped on every index and never reused\n"
            "- nothing records that the string is ASCII, where byte offset and grapheme index "
            "coincide"
        ),
        approach=normalize_prose(
            "Walk the graphemes lazily and stop at the one asked for: "
            "`s.graphemes(true).nth(i)` for non-negative indices and "
            "`s.graphemes(true).rev().nth(-i - 1)` for negative ones, instead of collecting. Add "
            "an ASCII fast path: when `s.is_ascii()`, index the bytes directly in O(1).\n\n"
            "If the same string is indexed many times, cache the ASCII flag in the string value "
            "so the check itself is not repeated."
        ),
        expected_impact=normalize_prose(
            "`index_op` holds 96.8% of all samples. The puzzle input is ASCII, so the fast path "
            "turns each index into O(1) and removes the allocation; expect the benchmark to drop "
            "from about 37 s to under 5 s (more than 85% faster). Non-ASCII strings still gain "
            "about half from the lazy walk."
        ),
        risk=normalize_prose(
            "- Negative and out-of-range indices must keep today's results (`nil`)\n"
            '- Strings with combining marks or emoji ("e\u0301", \U0001f1f3\U0001f1f4, '
            "\U0001f384) must still index by grapheme, not by byte or char\n"
            "- Slicing (`s[a..b]`) may share the collect-then-index path; check it separately, "
            "see https://docs.rs/unicode-segmentation/latest/unicode_segmentation/"
            "trait.UnicodeSegmentation.html#tymethod.graphemes"
        ),
        log=(
            LogEntry(
                day=date(2026, 11, 26),
                status=Status.IDENTIFIED,
                note=f"Issue discovered during profiling of {BENCHMARK}",
            ),
        ),
    )


def rotate_document() -> IssueDocument:
    """The aoc2018_day09 hotspot: `builtin_rotate` copies the whole circle on every call."""
    benchmark = "examples/aoc2018_day09.santa"
    return IssueDocument(
        title=issue_title("LIST_ROTATE_FULL_COPY"),
        benchmark_file=benchmark,
        identified=date(2026, 11, 26),
        status=Status.IDENTIFIED,
        runtime_ms=32503,
        rank=1,
        share_percent=82.9,
        file="lang/src/vm/builtins.rs",
        line=412,
        function="lang::vm::builtins::builtin_rotate",
        description=normalize_prose(
            "The marble game keeps its circle in a List and calls `rotate` once per marble. "
            "`builtin_rotate` splits the `im_rc::Vector` at the rotation point and appends the "
            "two halves into a new vector, touching every element."
        ),
        root_cause=normalize_prose(
            "Each rotation is O(n) in the circle size instead of O(k) in the distance rotated, "
            "and the circle grows to about 7 million marbles in part 2, so the game is O(n^2) "
            "overall. `im_rc::vector::Vector<A>::push_back` and `core::ptr::write` dominate the "
            "leaf samples under `builtin_rotate`."
        ),
        approach=normalize_prose(
            "Rotate by the shorter direction and move only `k` elements: pop `k` from one end "
            "and push them onto the other (`pop_back`/`push_front` for a right rotation). For "
            "`k` larger than half the length, rotate the other way by `len - k`."
        ),
        expected_impact=normalize_prose(
            "The game rotates by 2 or 7 places, so each call becomes O(1) amortized: 82.9% of "
            "the runtime should nearly vanish, taking part 2 from about 32 s to a few seconds."
        ),
        risk=normalize_prose(
            "Rotation of an empty list, by 0, by a multiple of the length and by negative "
            "amounts must keep their current results. Lists shared with other values must not "
            "be mutated in place."
        ),
        log=(
            LogEntry(
                day=date(2026, 11, 26),
                status=Status.IDENTIFIED,
                note=f"Issue discovered during profiling of {benchmark}",
            ),
        ),
    )


def verified_document() -> IssueDocument:
    """The index_op issue after /perf-implement and /perf-verify: every optional section."""
    return dataclasses.replace(
        index_op_document(),
        status=Status.VERIFIED,
        implementation=Implementation(
            files_modified=(
                (
                    "lang/src/vm/runtime.rs",
                    "index_op walks graphemes lazily with nth/rev().nth and indexes ASCII "
                    "strings by byte",
                ),
                ("lang/src/vm/value.rs", "added Value::str_is_ascii helper"),
                ("lang/tests/string_index.rs", ""),
            ),
            changes_made=normalize_prose(
                "Replaced the collect-then-index in `VM::index_op` with a lazy grapheme walk "
                "that stops at the requested index, and added an ASCII fast path that indexes "
                "bytes directly.\n\n"
                "- negative indices walk from the end with `rev()`\n"
                "- out-of-range indices still return `nil`"
            ),
            tests=normalize_prose(
                'Added lang/tests/string_index.rs: ASCII, combining marks ("e\u0301"), flags '
                "and emoji, negative and out-of-range indices, each compared with the old "
                "collect-then-index result."
            ),
        ),
        verification=Verification(
            day=date(2026, 11, 28),
            tests_passed=True,
            before_ms=37410.0,
            after_ms=2114.5,
            change_percent=-94.3,
            meets_expected=True,
            expected="more than 85% faster (from about 37 s to under 5 s)",
            actual="94.3% faster: 37410.0ms -> 2114.5ms (hyperfine, 10 runs, warmup 3)",
            verdict=Verdict.CONFIRMED,
        ),
        log=(
            *index_op_document().log,
            LogEntry(date(2026, 11, 27), Status.IN_PROGRESS, "Started implementation"),
            LogEntry(
                date(2026, 11, 27),
                Status.IMPLEMENTED,
                "Lazy grapheme walk and ASCII fast path in index_op; cargo test -p lang passes",
            ),
            LogEntry(date(2026, 11, 28), Status.VERIFYING, "Running verification benchmarks"),
            LogEntry(
                date(2026, 11, 28),
                Status.VERIFIED,
                "Performance improvement confirmed (94.3% faster)",
            ),
        ),
    )


# --------------------------------------------------------------------------------------------
# Golden files and the template


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("index_op_grapheme_collect.txt", index_op_document),
        ("list_rotate_full_copy.txt", rotate_document),
        ("index_op_verified.txt", verified_document),
    ],
)
def test_render_matches_golden(
    name: str, build: Callable[[], IssueDocument], update_golden: bool
) -> None:
    document = build()
    text = render_issue(document)
    assert_matches_golden(text, f"render/{name}", update=update_golden)
    assert parse_issue(text) == document
    assert render_issue(parse_issue(text)) == text


# The spec's template, verbatim, with its placeholders to fill.
TEMPLATE = """\
================================================================================
PERFORMANCE ISSUE: [DESCRIPTIVE NAME]
================================================================================

BENCHMARK FILE: $ARGUMENTS
IDENTIFIED: [date]
STATUS: IDENTIFIED

--------------------------------------------------------------------------------
ANALYSIS
--------------------------------------------------------------------------------

Runtime: [X]ms
Hotspot Rank: [1/2/3 etc]
Time Contribution: [X]% of total execution

Location:
  File: [lang/src/vm/file.rs]
  Line: [line number]
  Function: [function_name]

Description:
  [What is happening in this code path]

Root Cause:
  [Why this is slow - be specific about the algorithmic or implementation issue]

--------------------------------------------------------------------------------
PROPOSED OPTIMIZATION
--------------------------------------------------------------------------------

Approach:
  [Specific change to make]

Expected Impact:
  [Estimated improvement percentage and reasoning]

Risk Assessment:
  [Any correctness concerns or edge cases to watch for]

--------------------------------------------------------------------------------
PROGRESS LOG
--------------------------------------------------------------------------------

[date] IDENTIFIED - Issue discovered during profiling of $ARGUMENTS
"""


def test_render_fills_the_spec_template_exactly() -> None:
    # A short benchmark path keeps the IDENTIFIED log line within 80 columns, unwrapped.
    doc = dataclasses.replace(
        index_op_document(),
        benchmark_file="examples/d5.santa",
        log=(
            LogEntry(
                date(2026, 11, 26),
                Status.IDENTIFIED,
                "Issue discovered during profiling of examples/d5.santa",
            ),
        ),
        description="Collects graphemes.",
        root_cause="O(n) per index.",
        approach="Walk lazily.",
        expected_impact="90% faster.",
        risk="Negative indices.",
    )
    expected = TEMPLATE
    for placeholder, value in [
        ("[DESCRIPTIVE NAME]", "STRING GRAPHEME COLLECT IN INDEX OP"),
        ("$ARGUMENTS", "examples/d5.santa"),
        # The log keeps its brackets: `[YYYY-MM-DD] STATUS - note`.
        ("[date] IDENTIFIED -", "[2026-11-26] IDENTIFIED -"),
        ("[date]", "2026-11-26"),
        ("[X]ms", "37410ms"),
        ("[1/2/3 etc]", "1"),
        ("[X]%", "96.8%"),
        ("[lang/src/vm/file.rs]", "lang/src/vm/runtime.rs"),
        ("[line number]", "96"),
        ("[function_name]", "lang::vm::runtime::VM::index_op"),
        ("[What is happening in this code path]", "Collects graphemes."),
        (
            "[Why this is slow - be specific about the algorithmic or implementation issue]",
            "O(n) per index.",
        ),
        ("[Specific change to make]", "Walk lazily."),
        ("[Estimated improvement percentage and reasoning]", "90% faster."),
        ("[Any correctness concerns or edge cases to watch for]", "Negative indices."),
    ]:
        assert placeholder in expected
        expected = expected.replace(placeholder, value)
    assert render_issue(doc) == expected


def test_rules_are_80_characters_and_file_ends_with_one_newline() -> None:
    text = render_issue(verified_document())
    assert len(HEAVY_RULE) == len(LIGHT_RULE) == 80
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    rules = [line for line in text.split("\n") if line and set(line) <= {"=", "-"}]
    assert all(len(line) == 80 for line in rules)
    assert len(rules) == 2 + 2 * 5  # header, then ANALYSIS .. PROGRESS LOG


def test_verified_document_layout_of_optional_sections() -> None:
    text = render_issue(verified_document())
    proposal_end = text.index("Risk Assessment:")
    implementation = text.index(f"{LIGHT_RULE}\nIMPLEMENTATION\n{LIGHT_RULE}\n\nFiles Modified:\n")
    verification = text.index(f"{LIGHT_RULE}\nVERIFICATION\n{LIGHT_RULE}\n\nDate: 2026-11-28\n")
    log = text.index(f"{LIGHT_RULE}\nPROGRESS LOG\n{LIGHT_RULE}\n")
    assert proposal_end < implementation < verification < log
    assert (
        "Tests: PASS\n\nBenchmark Results:\n  Before: 37410.0ms\n  After: 2114.5ms\n"
        "  Change: -94.3%\n\nMeets Expected Impact: YES\n"
    ) in text
    assert "\n\nVerdict: CONFIRMED\n\n" in text
    assert "  - lang/tests/string_index.rs\n\nChanges Made:\n" in text


def test_change_sign_is_always_shown() -> None:
    doc = verified_document()
    assert doc.verification is not None
    for change, shown in [(12.0, "+12.0%"), (0.0, "+0.0%"), (-3.25, "-3.2%"), (-0.0, "-0.0%")]:
        ver = dataclasses.replace(doc.verification, change_percent=change)
        assert f"  Change: {shown}\n" in render_issue(dataclasses.replace(doc, verification=ver))


def test_unsigned_figures_never_print_negative_zero() -> None:
    text = render_issue(dataclasses.replace(index_op_document(), share_percent=-0.0))
    assert "Time Contribution: 0.0% of total execution\n" in text


# --------------------------------------------------------------------------------------------
# Wrapping


def _section_lines(text: str, label: str) -> list[str]:
    lines = text.split("\n")
    start = lines.index(f"{label}:") + 1
    end = start
    while end < len(lines) and (not lines[end] or lines[end].startswith(" ")):
        end += 1
    while lines[end - 1] == "":
        end -= 1
    return lines[start:end]


def test_prose_wraps_at_80_with_bullets_and_long_words() -> None:
    text = render_issue(index_op_document())
    assert _section_lines(text, "Root Cause") == [
        "  Indexing a string is O(n) in its length and allocates a Vec of n slices on",
        "  every call, so a loop over all positions is O(n^2) time with n allocations:",
        "  - grapheme segmentation runs over the whole string even when `i` is 0",
        "  - the Vec is built and dropped on every index and never reused",
        "  - nothing records that the string is ASCII, where byte offset and grapheme",
        "    index coincide",
    ]
    risk = _section_lines(text, "Risk Assessment")
    url = (
        "https://docs.rs/unicode-segmentation/latest/unicode_segmentation/"
        "trait.UnicodeSegmentation.html#tymethod.graphemes"
    )
    # The URL is longer than the width: it stays whole on its own continuation line.
    assert f"    {url}" in risk
    assert all(len(line) <= 80 for line in risk if url not in line)


def test_long_symbol_is_not_broken_at_colons_or_hyphens() -> None:
    symbol = "core::str::validations::next_code_point" * 3
    doc = dataclasses.replace(index_op_document(), description=f"see {symbol} and well-known-x")
    lines = _section_lines(render_issue(doc), "Description")
    assert lines == ["  see", f"  {symbol}", "  and well-known-x"]


def test_lone_hyphen_never_starts_a_continuation_line() -> None:
    # The lead fills the line to exactly 80 columns, so plain textwrap would start the next
    # line with "- tail", which would read back as a bullet item.
    lead = "x" * 74 + " aaa"
    doc = dataclasses.replace(index_op_document(), description=f"{lead} - tail")
    lines = _section_lines(render_issue(doc), "Description")
    assert lines == ["  " + "x" * 74, "  aaa - tail"]
    assert parse_issue(render_issue(doc)).description == f"{lead} - tail"


def test_log_entries_stay_on_one_line_as_in_the_template() -> None:
    text = render_issue(index_op_document())
    assert text.endswith(
        "\n\n[2026-11-26] IDENTIFIED - Issue discovered during profiling of "
        "examples/aoc2018_day05.santa\n"
    )


def test_hand_wrapped_log_entries_still_parse() -> None:
    text = render_issue(index_op_document()).replace(
        "profiling of examples/", "profiling of\n  examples/"
    )
    assert parse_issue(text).log[0].note.endswith("of examples/aoc2018_day05.santa")


def test_expected_and_actual_continue_four_spaces_in() -> None:
    doc = verified_document()
    assert doc.verification is not None
    ver = dataclasses.replace(doc.verification, expected="word " * 30)
    lines = render_issue(dataclasses.replace(doc, verification=ver)).split("\n")
    start = lines.index("Meets Expected Impact: YES")
    assert lines[start + 1].startswith("  Expected: word word")
    assert lines[start + 2].startswith("    word")
    assert all(len(line) <= 80 for line in lines[start : start + 4])


def test_empty_texts_render_as_bare_labels_and_read_back() -> None:
    doc = verified_document()
    assert doc.verification is not None
    assert doc.implementation is not None
    doc = dataclasses.replace(
        doc,
        description="",
        implementation=dataclasses.replace(doc.implementation, files_modified=(), tests=""),
        verification=dataclasses.replace(doc.verification, expected="", actual=""),
        log=(LogEntry(date(2026, 11, 26), Status.IDENTIFIED, ""),),
    )
    text = render_issue(doc)
    assert "\nDescription:\n\nRoot Cause:\n" in text
    assert "\nFiles Modified:\n\nChanges Made:\n" in text
    assert "  Expected:\n  Actual:\n" in text
    assert text.endswith("\n[2026-11-26] IDENTIFIED -\n")
    assert parse_issue(text) == doc


# --------------------------------------------------------------------------------------------
# normalize_prose, names


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("", ""),
        ("  \n\t\n", ""),
        ("one  two\tthree\nfour", "one two three four"),
        ("a\n\n\n\nb", "a\n\nb"),
        ("  lead:\n  - one\n    more\n-   two", "lead:\n- one more\n- two"),
        ("- a\ncontinues a\n\n- b", "- a continues a\n\n- b"),
        ("-\nnot a bullet", "- not a bullet"),
        ("- ", "-"),
        ("x\u00a0\u2028y\r\nz", "x y z"),
        ("--flag is not a bullet\n-x neither", "--flag is not a bullet -x neither"),
    ],
)
def test_normalize_prose(raw: str, normalized: str) -> None:
    assert normalize_prose(raw) == normalized
    assert normalize_prose(normalized) == normalized


def test_issue_title() -> None:
    assert issue_title("STRING_CLONE_IN_LOOP") == "STRING CLONE IN LOOP"


@pytest.mark.parametrize(
    "name", ["DICT_HASH_OVERHEAD", "ABC", "X2_Y", "BYTECODE_DISPATCH_COST", "A" * 60]
)
def test_valid_issue_names(name: str) -> None:
    assert is_valid_issue_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "AB", "A" * 61, "../x", "a/b", "X.txt", "lower", "Mixed_Case", "_LEAD", "TRAIL_",
     "DOUBLE__UNDERSCORE", "1ST", "SPACE NAME", "TAB\tX", "NEW\nLINE", "ÄÖÜ_NAME", "ABC\n"],
)  # fmt: skip
def test_invalid_issue_names(name: str) -> None:
    assert not is_valid_issue_name(name)


def _with_interval(span: ChangeRange) -> Verification:
    verification = verified_document().verification
    assert verification is not None
    return dataclasses.replace(verification, interval=span)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": ""}, "title"),
        ({"title": "TWO\nLINES"}, "title"),
        ({"benchmark_file": " padded"}, "benchmark_file"),
        ({"function": "f\u2028g"}, "function"),
        ({"rank": 0}, "rank"),
        ({"runtime_ms": -1}, "runtime_ms"),
        ({"share_percent": float("nan")}, "share_percent"),
        ({"share_percent": -1.0}, "share_percent"),
        ({"log": ()}, "progress log is empty"),
        ({"implementation": Implementation((("a: b", "x"),), "", "")}, "files_modified path"),
        ({"verification": _with_interval(ChangeRange(95, -1.0, 1.0, 10, " "))}, "measure"),
        ({"verification": _with_interval(ChangeRange(95, -1.0, 1.0, 0, "wall"))}, "pairs 0"),
        (
            {"verification": _with_interval(ChangeRange(95, float("inf"), 1.0, 10, "wall"))},
            "interval inf",
        ),
    ],
)
def test_render_refuses_what_would_not_read_back(change: dict[str, object], message: str) -> None:
    doc = dataclasses.replace(index_op_document(), **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        render_issue(doc)


# --------------------------------------------------------------------------------------------
# Parser tolerances


def test_parse_tolerates_crlf_missing_newline_bom_and_trailing_spaces() -> None:
    text = render_issue(verified_document())
    variants = [
        text.replace("\n", "\r\n"),
        text.rstrip("\n"),
        text + "\n\n",
        "\ufeff" + text,
        text.replace("\n", "  \n"),
    ]
    for variant in variants:
        assert parse_issue(variant) == verified_document()


def test_parse_tolerates_rewrapped_prose_and_blank_line_changes() -> None:
    text = render_issue(index_op_document())
    edited = text.replace(
        "Root Cause:\n  Indexing a string is O(n) in its length and allocates a Vec of n slices"
        " on\n",
        "Root Cause: Indexing a string is O(n)\n        in its length and allocates a Vec\n"
        "\tof n slices on\n",
    ).replace("STATUS: IDENTIFIED\n\n", "STATUS: IDENTIFIED\n\n\n\n")
    edited = edited.replace("\nLocation:\n", "\nLocation:\n\n")
    assert parse_issue(edited) == index_op_document()


def test_parse_accepts_perf_verify_remarks_after_figures() -> None:
    text = render_issue(verified_document())
    edited = text.replace(
        "  Before: 37410.0ms\n", "  Before: 37410ms (from original analysis)\n"
    ).replace("  Change: -94.3%\n", "  Change: -94.3% (faster)\n")
    assert parse_issue(edited) == verified_document()


def test_the_change_interval_is_a_remark_on_the_change_line() -> None:
    doc = verified_document()
    assert doc.verification is not None
    span = ChangeRange(95, -95.1, -94.5, 12, "CPU time: single-threaded")
    ver = dataclasses.replace(doc.verification, change_percent=-94.8, interval=span)
    text = render_issue(dataclasses.replace(doc, verification=ver))
    assert (
        "  Change: -94.8% (95% interval -95.1% to -94.5%, 12 alternating pairs, "
        "CPU time: single-threaded)\n\nMeets Expected Impact:"
    ) in text
    parsed = parse_issue(text)
    assert parsed.verification is not None
    assert parsed.verification.interval == span
    assert render_issue(parsed) == text
    one = dataclasses.replace(span, pairs=1, low_percent=0.0, high_percent=0.0)
    text = render_issue(
        dataclasses.replace(doc, verification=dataclasses.replace(ver, interval=one))
    )
    assert "(95% interval +0.0% to +0.0%, 1 alternating pair, CPU time" in text
    assert parse_issue(text) == dataclasses.replace(
        doc, verification=dataclasses.replace(ver, interval=one)
    )


def test_a_file_written_before_the_interval_existed_still_parses() -> None:
    # The golden VERIFIED file has the older Change line, with no remark.
    text = render_issue(verified_document())
    assert "  Change: -94.3%\n" in text
    parsed = parse_issue(text)
    assert parsed.verification is not None
    assert parsed.verification.interval is None
    # A remark of another shape is a /perf-verify remark: skipped, not an interval.
    edited = text.replace("  Change: -94.3%\n", "  Change: -94.3% (95% interval, roughly)\n")
    assert parse_issue(edited) == verified_document()


def test_parse_reads_a_hand_edited_status_and_appended_log_entry() -> None:
    text = render_issue(index_op_document())
    edited = text.replace("STATUS: IDENTIFIED", "STATUS: IN_PROGRESS") + (
        "[2026-11-27] IN_PROGRESS - Started implementation\n"
    )
    parsed = parse_issue(edited)
    assert parsed.status is Status.IN_PROGRESS
    assert parsed.log[-1] == LogEntry(
        date(2026, 11, 27), Status.IN_PROGRESS, "Started implementation"
    )


# --------------------------------------------------------------------------------------------
# Broken files


def _line_number(text: str, prefix: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(prefix):
            return number
    raise AssertionError(prefix)


VERIFIED_TEXT = render_issue(verified_document())


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "Hotspot Rank: 1\n",
            "Hotspot Rank: first\n",
            "line 14: expected 'Hotspot Rank: <n>', found 'Hotspot Rank: first'",
        ),
        (
            "STATUS: VERIFIED\n",
            "STATUS: DONE\n",
            "line 7: expected 'STATUS: IDENTIFIED|IN_PROGRESS|IMPLEMENTED|VERIFYING|VERIFIED|"
            "MARGINAL|REGRESSION', found 'STATUS: DONE'",
        ),
        (
            "IDENTIFIED: 2026-11-26\n",
            "IDENTIFIED: 26/11/2026\n",
            "line 6: expected 'IDENTIFIED: YYYY-MM-DD', found 'IDENTIFIED: 26/11/2026'",
        ),
        (
            "IDENTIFIED: 2026-11-26\n",
            "IDENTIFIED: 2026-02-30\n",
            "line 6: expected 'IDENTIFIED: YYYY-MM-DD (a real date)', found",
        ),
        (
            HEAVY_RULE + "\nPERF",
            "=" * 79 + "\nPERF",
            "line 1: expected 'a rule of 80 '='', found '=====",
        ),
        (
            "Time Contribution: 96.8% of total execution\n",
            "Time Contribution: most of it\n",
            "line 15: expected 'Time Contribution: <n.n>% of total execution'",
        ),
        ("Location:\n", "Where:\n", "line 17: expected 'Location:', found 'Where:'"),
        ("  Line: 96\n", "  Line: ninety-six\n", "line 19: expected 'Line: <n>'"),
        ("Verdict: CONFIRMED\n", "Verdict: GREAT\n", "expected 'Verdict: CONFIRMED|INSUFF"),
        ("Tests: PASS\n", "Tests: OK\n", "expected 'Tests: PASS|FAIL', found 'Tests: OK'"),
        (
            "  After: 2114.5ms\n",
            "  After: fast\n",
            "expected 'After: <n>ms', found '  After: fast'",
        ),
        ("\nPROGRESS LOG\n", "\nNOTES\n", "expected 'PROGRESS LOG', found 'NOTES'"),
        (
            "\nVERIFICATION\n",
            "\nVERIFY\n",
            "expected 'VERIFICATION' or 'PROGRESS LOG', found 'VERIFY'",
        ),
        (
            "  - lang/src/vm/runtime.rs:",
            "  lang/src/vm/runtime.rs:",
            "expected '  - <path>: <what changed>', found '  lang/src/vm/runtime.rs:",
        ),
        (
            "[2026-11-27] IN_PROGRESS - Started implementation\n",
            "2026-11-27 IN_PROGRESS Started implementation\n",
            "expected '[YYYY-MM-DD] STATUS - note', found '2026-11-27 IN_PROGRESS",
        ),
        (
            "[2026-11-27] IN_PROGRESS - Started",
            "[2026-11-27] STARTED - Started",
            "expected '[YYYY-MM-DD] STATUS - note', found '[2026-11-27] STARTED",
        ),
    ],
)
def test_broken_file_names_line_and_expectation(old: str, new: str, message: str) -> None:
    assert old in VERIFIED_TEXT
    with pytest.raises(IssueFileError) as caught:
        parse_issue(VERIFIED_TEXT.replace(old, new, 1))
    assert message in caught.value.message
    assert caught.value.hint


def test_unknown_section_after_the_proposal_lists_every_choice() -> None:
    text = render_issue(index_op_document()).replace("\nPROGRESS LOG\n", "\nNOTES\n")
    line = text.split("\n").index("NOTES") + 1
    with pytest.raises(IssueFileError) as caught:
        parse_issue(text)
    assert caught.value.message == (
        f"line {line}: expected 'IMPLEMENTATION' or 'VERIFICATION' or 'PROGRESS LOG', found 'NOTES'"
    )


def test_deleted_label_is_reported_where_the_next_block_starts() -> None:
    broken = VERIFIED_TEXT.replace("Root Cause:\n", "", 1)
    # Root Cause's text now reads as more Description; the parser stops at the next rule.
    # The rule sits just above the title, so its 1-based number is the title's 0-based index.
    rule_line = broken.split("\n").index("PROPOSED OPTIMIZATION")
    with pytest.raises(IssueFileError, match=rf"^line {rule_line}: expected 'Root Cause:'"):
        parse_issue(broken)


def test_unindented_prose_is_reported_with_its_line() -> None:
    broken = VERIFIED_TEXT.replace("  Walk the graphemes lazily", "Walk the graphemes lazily", 1)
    line = _line_number(broken, "Walk the graphemes lazily")
    with pytest.raises(IssueFileError, match=rf"^line {line}: expected 'Expected Impact:'"):
        parse_issue(broken)


def test_truncated_file_reports_end_of_file() -> None:
    truncated = VERIFIED_TEXT[: VERIFIED_TEXT.index("Runtime:")]
    line = truncated.count("\n") + 1
    with pytest.raises(IssueFileError) as caught:
        parse_issue(truncated)
    assert caught.value.message == (f"line {line}: expected 'Runtime: <n>ms', found end of file")


def test_empty_file_and_missing_log() -> None:
    with pytest.raises(IssueFileError, match=r"^line 1: expected 'a rule of 80 '=''"):
        parse_issue("")
    without_log = VERIFIED_TEXT[: VERIFIED_TEXT.index("[2026-11-26] IDENTIFIED")]
    with pytest.raises(
        IssueFileError, match="expected '\\[YYYY-MM-DD\\] STATUS - note', found end"
    ):
        parse_issue(without_log)


def test_long_found_text_is_clipped() -> None:
    broken = VERIFIED_TEXT.replace("Location:\n", "Location is " + "x" * 200 + "\n", 1)
    with pytest.raises(IssueFileError) as caught:
        parse_issue(broken)
    assert len(caught.value.message) < 140
    assert caught.value.message.endswith("…'")


# --------------------------------------------------------------------------------------------
# Round trip properties


def _one_line(value: str) -> bool:
    return bool(value) and value == value.strip() and len(f"a{value}b".splitlines()) == 1


# Surrogates cannot be written as UTF-8; every other code point may appear in the text.
_TEXT_CHARS = st.characters(exclude_categories=["Cs"])
_SPECIAL_WORDS = [
    "core::str::validations::next_code_point",
    "<alloc::vec::Vec<T,A>::extend_desugared>",
    "https://github.com/rust-lang/rust/blob/master/library/core/src/str/validations.rs#L36-L70",
    "-",
    "--",
    "-x",
    "- ",
    "`s[i]`",
    "O(n²)",
    "naïve",
    "日本語のテキスト",
    "\U0001f384\U0001f1f3\U0001f1f4",
    "e\u0301",
    "50%",
    "Root",
    "Cause:",
    "Expected:",
    "[2026-01-01]",
    "IDENTIFIED",
    "a" * 90,
]
words = st.one_of(
    st.from_regex(r"[a-z]{1,12}", fullmatch=True),
    st.sampled_from(_SPECIAL_WORDS).map(str.strip),
    st.text(_TEXT_CHARS, min_size=1, max_size=14).filter(lambda w: w.split() == [w]),
)
sentences = st.lists(words, min_size=1, max_size=30).map(" ".join)
inline_texts = st.lists(words, max_size=25).map(" ".join)


@st.composite
def normalized_prose(draw: st.DrawFn) -> str:
    paragraphs: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        lead = draw(st.none() | sentences)
        bullets = draw(st.lists(sentences, max_size=3))
        lines = ([lead] if lead is not None else []) + [f"- {b}" for b in bullets]
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


raw_prose = st.lists(
    st.one_of(
        st.text(_TEXT_CHARS, max_size=40), st.sampled_from(["\n", "\n\n", "- ", "\t", " - "])
    ),
    max_size=12,
).map("".join)

one_line_texts = st.one_of(
    sentences, st.text(_TEXT_CHARS, min_size=1, max_size=40).filter(_one_line)
)
paths = st.one_of(
    st.lists(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), min_size=1, max_size=5).map(
        lambda parts: "/".join(parts) + ".rs"
    ),
    one_line_texts.filter(lambda p: ": " not in p and " ".join(p.split()) == p),
)
tenths = st.integers(0, 10**8).map(lambda k: k / 10)
signed_tenths = st.integers(-(10**6), 10**6).map(lambda k: k / 10)


def documents(prose: st.SearchStrategy[str], figures: st.SearchStrategy[float],
              signed: st.SearchStrategy[float], inline: st.SearchStrategy[str]
              ) -> st.SearchStrategy[IssueDocument]:  # fmt: skip
    log_entries = st.builds(LogEntry, day=st.dates(), status=st.sampled_from(Status), note=inline)
    implementations = st.builds(
        Implementation,
        files_modified=st.lists(st.tuples(paths, inline), max_size=4).map(tuple),
        changes_made=prose,
        tests=prose,
    )
    intervals = st.builds(
        ChangeRange,
        confidence_percent=st.integers(0, 100),
        low_percent=signed,
        high_percent=signed,
        pairs=st.integers(1, 10**4),
        measure=one_line_texts.map(lambda text: " ".join(text.split())).filter(bool),
    )
    verifications = st.builds(
        Verification,
        day=st.dates(),
        tests_passed=st.booleans(),
        before_ms=figures,
        after_ms=figures,
        change_percent=signed,
        meets_expected=st.booleans(),
        expected=inline,
        actual=inline,
        verdict=st.sampled_from(Verdict),
        interval=st.none() | intervals,
    )
    return st.builds(
        IssueDocument,
        title=one_line_texts,
        benchmark_file=one_line_texts,
        identified=st.dates(),
        status=st.sampled_from(Status),
        runtime_ms=st.integers(0, 10**9),
        rank=st.integers(1, 1000),
        share_percent=figures,
        file=one_line_texts,
        line=st.integers(0, 10**6),
        function=one_line_texts,
        description=prose,
        root_cause=prose,
        approach=prose,
        expected_impact=prose,
        risk=prose,
        log=st.lists(log_entries, min_size=1, max_size=5).map(tuple),
        implementation=st.none() | implementations,
        verification=st.none() | verifications,
    )


@settings(max_examples=200, deadline=None)
@given(documents(normalized_prose(), tenths, signed_tenths, inline_texts))
def test_parse_inverts_render_for_normalized_documents(doc: IssueDocument) -> None:
    for prose in (doc.description, doc.root_cause, doc.approach, doc.expected_impact, doc.risk):
        assert normalize_prose(prose) == prose
    text = render_issue(doc)
    assert parse_issue(text) == doc
    assert render_issue(parse_issue(text)) == text


_any_figures = st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False)
_any_signed = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
_any_inline = st.text(_TEXT_CHARS, max_size=60)


@settings(max_examples=200, deadline=None)
@given(documents(raw_prose, _any_figures, _any_signed, _any_inline))
def test_render_inverts_parse_for_any_rendered_text(doc: IssueDocument) -> None:
    text = render_issue(doc)
    parsed = parse_issue(text)
    assert render_issue(parsed) == text
    assert parsed.description == normalize_prose(doc.description)
    assert parsed.risk == normalize_prose(doc.risk)
    assert [entry.note for entry in parsed.log] == [" ".join(e.note.split()) for e in doc.log]


@settings(max_examples=200, deadline=None)
@given(raw_prose)
def test_normalize_prose_is_idempotent(text: str) -> None:
    once = normalize_prose(text)
    assert normalize_prose(once) == once


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.from_regex(r"[a-z\-]{1,20}", fullmatch=True), min_size=1, max_size=40).map(
            " ".join
        ),
        min_size=1,
        max_size=4,
    ).map("\n\n".join)
)
def test_wrapped_lines_fit_in_80_columns_when_words_do(prose: str) -> None:
    doc = dataclasses.replace(index_op_document(), description=prose, risk=f"- {prose}")
    text = render_issue(doc)
    for label in ("Description", "Risk Assessment"):
        assert all(len(line) <= 80 for line in _section_lines(text, label))
    assert parse_issue(text).description == normalize_prose(prose)
