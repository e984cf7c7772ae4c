"""What a benchmark's own output says about how long it ran: pure text in, a figure out.

Contract:

* `parse_runtime(analyze_stdout, line_times)` reads the runtime of the timed run out of
  `make analyze`'s stdout: the sum of the `Part N: … <duration>` lines of the `--- TIMING … ---`
  section when every Part line carries a duration (a partial sum would under-report); otherwise
  the section's wall time from the lines' timestamps; otherwise None.
* `parse_part_lines(stdout)` reads the Part durations a benchmark run printed itself, and
  `repeated_runtime(first, more)` is the median of several runs, with their spread.
* `strip_ansi(text)` removes terminal escape sequences (CSI, OSC, DCS and two-character ESC
  sequences) before any of this matches a line, and before make's output is quoted.

Pure: no file, process, clock or environment. `make_targets` runs make and hands the output here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (CSI, OSC and two-character ESC sequences)."""
    return _ANSI_RE.sub("", text)


_ANSI_RE: Final = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                  # CSI: colours, cursor movement, erase
    | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?     # OSC: titles, hyperlinks
    | \x1b[PX^_][^\x1b]*(?:\x1b\\)?          # DCS / SOS / PM / APC strings
    | \x1b[ -/]*[0-~]                        # other ESC sequences (charset selection, RIS, ...)
    | \x9b[0-?]*[ -/]*[@-~]                  # 8-bit CSI
    """,
    re.VERBOSE,
)

SECTION_RE: Final = re.compile(r"^\s*-{3,}\s*(?P<name>[^-\s].*?)\s*-{3,}\s*$")
_RULER_RE: Final = re.compile(r"^\s*={5,}\s*$")


_RUNTIME_SOURCES: Final = frozenset({"parts", "wall", "profile", "option"})
_TIMING_RE: Final = re.compile(r"^\s*-{3,}\s*TIMING\b.*-{3,}\s*$", re.IGNORECASE)
_PART_RE: Final = re.compile(r"^\s*Part\s+\w+\s*:(?P<rest>.*)$")
_DURATION_RE: Final = re.compile(
    r"(?:^|[\s:])(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|µs|μs|us|ns)\s*$"
)
_UNIT_TO_MS: Final = {"s": 1000.0, "ms": 1.0, "µs": 1e-3, "μs": 1e-3, "us": 1e-3, "ns": 1e-6}


@dataclass(frozen=True, slots=True)
class RuntimeFigure:
    """How long the measured program ran, and where that figure came from.

    `source`: "parts" (sum of the Part durations in TIMING), "wall" (wall time of the timed run
    from stdout line timestamps), "profile" (profile duration), "option" (--runtime-ms).
    """

    milliseconds: int
    source: str
    parts: tuple[int, ...] = ()
    runs: int = 1
    """How many timed runs the figure is the median of."""
    spread: tuple[int, int] | None = None
    """The lowest and highest run, when there is more than one."""

    def __post_init__(self) -> None:
        if self.source not in _RUNTIME_SOURCES:
            raise ValueError(f"unknown runtime source {self.source!r}")
        if self.milliseconds < 0:
            raise ValueError(f"negative runtime {self.milliseconds} ms")
        if self.parts and self.source != "parts":
            raise ValueError("parts are only kept for source 'parts'")


def parse_part_lines(stdout: str) -> tuple[int, ...] | None:
    """The Part durations a benchmark run printed itself (`Part 1: 42 25ms`), in order; None
    unless every Part line carries a duration (a partial sum would under-report)."""
    parts: list[int] = []
    for line in (strip_ansi(raw) for raw in stdout.splitlines()):
        part = _PART_RE.match(line)
        if part is None:
            continue
        duration = _part_duration_ms(part.group("rest"))
        if duration is None:
            return None
        parts.append(duration)
    return tuple(parts) or None


def repeated_runtime(first: RuntimeFigure, more: Sequence[tuple[int, ...]]) -> RuntimeFigure:
    """The median of `first` (make analyze's timed run) and `more` runs' Part sums, with the
    run count and the spread. Only a "parts" figure is repeated: the sums compare like with
    like (the program's own timing, without start-up)."""
    if first.source != "parts" or not more:
        return first
    sums = sorted([first.milliseconds, *(sum(parts) for parts in more)])
    middle = len(sums) // 2
    median = sums[middle] if len(sums) % 2 else round((sums[middle - 1] + sums[middle]) / 2)
    return RuntimeFigure(
        milliseconds=median,
        source="parts",
        parts=first.parts,
        runs=len(sums),
        spread=(sums[0], sums[-1]),
    )


def _is_section_end(clean_line: str) -> bool:
    return bool(SECTION_RE.match(clean_line) or _RULER_RE.match(clean_line))


def _timing_section(lines: Sequence[str]) -> tuple[int, int] | None:
    """(header index, end index exclusive) of the first TIMING section in ANSI-free `lines`."""
    for index, line in enumerate(lines):
        if _TIMING_RE.match(line):
            end = index + 1
            while end < len(lines) and not _is_section_end(lines[end]):
                end += 1
            return index, end
    return None


def _part_duration_ms(rest: str) -> int | None:
    match = _DURATION_RE.search(rest.rstrip())
    if match is None:
        return None
    return round(float(match.group("value")) * _UNIT_TO_MS[match.group("unit")])


def _wall_ms(line_times: Sequence[tuple[float, str]]) -> int | None:
    clean = [strip_ansi(line) for _, line in line_times]
    span = _timing_section(clean)
    if span is None:
        return None
    header, end = span
    # The header is echoed just before the timed run starts and the next header (or ruler) just
    # after it ends; without a closing line, the section's last line is the best end we have.
    finish = end if end < len(line_times) else len(line_times) - 1
    if finish <= header:
        return None
    elapsed = line_times[finish][0] - line_times[header][0]
    if elapsed <= 0:
        return None
    return round(elapsed * 1000.0)


def parse_runtime(
    analyze_stdout: str, line_times: Sequence[tuple[float, str]] = ()
) -> RuntimeFigure | None:
    """The runtime of the timed run in `make analyze`'s stdout, or None if it does not say.

    Sum of the `Part N: … <duration>` lines of the `--- TIMING … ---` section when every Part line
    carries a duration (a partial sum would under-report); otherwise the section's wall time from
    `line_times`; otherwise None.
    """
    lines = [strip_ansi(line) for line in analyze_stdout.splitlines()]
    span = _timing_section(lines)
    if span is None:
        return None
    header, end = span
    parts: list[int] = []
    complete = True
    for line in lines[header + 1 : end]:
        part = _PART_RE.match(line)
        if part is None:
            continue
        duration = _part_duration_ms(part.group("rest"))
        if duration is None:
            complete = False
        else:
            parts.append(duration)
    if parts and complete:
        return RuntimeFigure(milliseconds=sum(parts), source="parts", parts=tuple(parts))
    wall = _wall_ms(line_times)
    if wall is None:
        return None
    return RuntimeFigure(milliseconds=wall, source="wall")
