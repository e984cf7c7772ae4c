"""Parse `go tool pprof -top` text, the reference for flat/cum figures."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ROW = re.compile(
    r"^\s*(?P<flat>\S+)\s+(?P<flatp>\S+%)\s+(?P<sump>\S+%)\s+(?P<cum>\S+)\s+(?P<cump>\S+%)\s+(?P<name>.+)$"
)
_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


@dataclass(frozen=True)
class TopRow:
    name: str
    flat_ns: int
    cum_ns: int


def parse_duration_ns(text: str) -> int:
    if text == "0":
        return 0
    match = re.fullmatch(r"([\d.]+)(ns|us|µs|ms|s)", text)
    if match is None:
        raise ValueError(f"not a pprof duration: {text!r}")
    return round(float(match.group(1)) * _UNITS_NS[match.group(2)])


def parse_top(text: str) -> list[TopRow]:
    rows: list[TopRow] = []
    in_table = False
    for line in text.splitlines():
        if line.split() == ["flat", "flat%", "sum%", "cum", "cum%"]:
            in_table = True
            continue
        match = _ROW.match(line) if in_table else None
        if match:
            rows.append(
                TopRow(
                    name=match.group("name").strip(),
                    flat_ns=parse_duration_ns(match.group("flat")),
                    cum_ns=parse_duration_ns(match.group("cum")),
                )
            )
    return rows
