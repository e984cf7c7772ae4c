"""Drill-down into one function of a profile: pprof's `-peek` and, with true lines, `-list`.

Contract: everything here is pure. `matching_functions(ranked, query)` finds the functions a
query names; `peek(ranked, node, ...)` computes, for one of them:

* flat and cum, as `ranking.rank_functions` (and `go tool pprof -top`) computes them;
* its callers and callees with the value of each edge, as pprof builds its call graph at
  function granularity: every inlined Line of a Location is its own frame; walking a stack from
  the root, an edge goes from each frame to the next *different* function (a run of one
  function, recursion straight into itself, is one node), and each edge counts once per
  sample. These are the figures `go tool pprof -peek` prints;
* for a per-address profile (true line numbers: our recorder), flat and cum per source line of
  the function (`-list`), cum counting a line once per sample; for pprof-rs's per-function
  profiles, whose one line per function is an arbitrary call site, none.

`render_peeks(...)` and `peeks_json(...)` only render. Source lines shown next to per-line
figures are the repo's text and are fenced as data (`prompting.fence`), as in a brief.

A query matches a function whose full name is the query, or ends with `::` and the query
(`VM::index_op`), or whose compact name (`symbols.compact_name`) is the query; failing all
of those, a function whose name contains the query. Matches are listed by cum, heaviest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from perf_identify.pprof import ProfileKind
from perf_identify.prompting import fence
from perf_identify.ranking import RankedFrames, distinct, group_sums
from perf_identify.symbols import compact_name

EDGE_LIMIT = 12
"""Callers and callees listed per function, heaviest first (the JSON says how many more)."""
DERIVED_SUFFIX = " (derived)"


@dataclass(frozen=True, slots=True)
class Edge:
    name: str
    value: int


@dataclass(frozen=True, slots=True)
class LineFigure:
    line: int
    flat: int
    cum: int


@dataclass(frozen=True, slots=True)
class Peek:
    name: str
    recorded_file: str
    flat: int
    cum: int
    callers: tuple[Edge, ...]
    callees: tuple[Edge, ...]
    lines: tuple[LineFigure, ...] | None
    """Per-line figures; None for a per-function profile (no true lines)."""


def matching_functions(ranked: RankedFrames, query: str) -> list[int]:
    """Nodes the query names (see the module docstring), heaviest cum first, then by name."""
    wanted = query.strip().removesuffix(DERIVED_SUFFIX)
    names = ranked.table.node_names
    live = [node for node in range(len(names)) if ranked.cum[node] != 0]
    exact = [
        node
        for node in live
        if names[node] == wanted
        or names[node].endswith("::" + wanted)
        or compact_name(names[node]) == wanted
    ]
    found = exact or [node for node in live if wanted and wanted in names[node]]
    return sorted(found, key=lambda node: (-int(ranked.cum[node]), names[node]))


def _edges(
    keys: NDArray[np.int64], samples: NDArray[np.int64], ranked: RankedFrames
) -> tuple[Edge, ...]:
    """Sum of sample values per other node, each (sample, node) pair counted once."""
    if not len(keys):
        return ()
    count = len(ranked.table.node_names)
    pairs = distinct(samples * count + keys)
    nodes, sums = group_sums(pairs % count, ranked.values[pairs // count])
    names = ranked.table.node_names
    edges = [
        Edge(names[n], int(v)) for n, v in zip(nodes.tolist(), sums.tolist(), strict=True) if v != 0
    ]
    edges.sort(key=lambda edge: (-edge.value, edge.name))
    return tuple(edges)


def peek(ranked: RankedFrames, node: int) -> Peek:
    """Flat, cum, callers, callees and per-line figures of `node`; see the module docstring."""
    frames = ranked.frames
    table = ranked.table
    positions = np.flatnonzero(frames.node == node)
    samples = frames.sample[positions]
    first = frames.start[samples]
    last = first + frames.count[samples] - 1
    # Frames are leaf first: the caller is the frame above (position + 1), the callee below.
    above = positions + 1
    has_caller = positions < last
    caller_nodes = frames.node[np.minimum(above, len(frames.node) - 1)]
    caller_rows = has_caller & (caller_nodes != node)
    below = positions - 1
    has_callee = positions > first
    callee_nodes = frames.node[np.maximum(below, 0)]
    callee_rows = has_callee & (callee_nodes != node)
    lines: tuple[LineFigure, ...] | None = None
    if ranked.profile.kind is ProfileKind.PER_ADDRESS:
        lines = _line_figures(ranked, positions, samples, first)
    function_ids = table.line_function[frames.line[positions[:1]]].tolist()
    recorded = table.function_files.get(int(function_ids[0]), "") if function_ids else ""
    return Peek(
        name=table.node_names[node],
        recorded_file=recorded,
        flat=int(ranked.flat[node]),
        cum=int(ranked.cum[node]),
        callers=_edges(caller_nodes[caller_rows], samples[caller_rows], ranked),
        callees=_edges(callee_nodes[callee_rows], samples[callee_rows], ranked),
        lines=lines,
    )


def _line_figures(
    ranked: RankedFrames,
    positions: NDArray[np.int64],
    samples: NDArray[np.int64],
    first: NDArray[np.int64],
) -> tuple[LineFigure, ...]:
    numbers = ranked.table.line_number[ranked.frames.line[positions]]
    values = ranked.values
    leaf = positions == first
    flat_lines, flat_sums = group_sums(numbers[leaf], values[samples[leaf]])
    flat = dict(zip(flat_lines.tolist(), flat_sums.tolist(), strict=True))
    span = int(numbers.max()) + 1 if len(numbers) else 1
    pairs = distinct(samples * span + numbers)
    cum_lines, cum_sums = group_sums(pairs % span, values[pairs // span])
    figures = [
        LineFigure(line, int(flat.get(line, 0)), int(cum))
        for line, cum in zip(cum_lines.tolist(), cum_sums.tolist(), strict=True)
        if line > 0 and cum != 0
    ]
    return tuple(figures)


@dataclass(frozen=True, slots=True)
class PeekReport:
    """What `show` prints: the profile, and each matching function's peek."""

    profile: str
    kind: ProfileKind
    unit: str
    total: int
    peeks: tuple[Peek, ...]
    more: int
    """Matching functions not shown."""
    files: Mapping[str, str]
    """Recorded file -> repo-relative path, for the functions whose source is in the repo."""
    sources: Mapping[str, Sequence[str]]
    """Repo-relative path -> its lines, for the per-line listings."""


def _figure(report: PeekReport, value: int) -> str:
    if report.unit == "nanoseconds":
        return f"{value / 1_000_000:.0f}ms"
    return f"{value} {report.unit}"


def _percent(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def _edge_rows(report: PeekReport, peek_: Peek, edges: Sequence[Edge]) -> list[str]:
    rows = [
        f"    {_figure(report, e.value):>9} {_percent(e.value, report.total):>6} "
        f"{_percent(e.value, peek_.cum):>7}  {e.name}"
        for e in edges[:EDGE_LIMIT]
    ]
    if len(edges) > EDGE_LIMIT:
        rows.append(f"    … {len(edges) - EDGE_LIMIT} more")
    return rows or ["    (none)"]


def render_peeks(report: PeekReport) -> str:
    """The text `perf-identify show` prints."""
    out = [
        f"Profile: {report.profile} ({report.kind.value}); total {_figure(report, report.total)} "
        "sampled; figures: value, % of the total, % of the function's cum",
    ]
    for item in report.peeks:
        where = report.files.get(item.recorded_file) or item.recorded_file or "?"
        out += [
            "",
            f"{item.name} ({where})",
            f"  flat {_figure(report, item.flat)} ({_percent(item.flat, report.total)}), "
            f"cum {_figure(report, item.cum)} ({_percent(item.cum, report.total)})",
            "  callers (who calls it):",
            *_edge_rows(report, item, item.callers),
            "  callees (what it calls):",
            *_edge_rows(report, item, item.callees),
            *_line_rows(report, item),
        ]
    if report.more:
        out += ["", f"{report.more} more function(s) match; name one more fully to see it."]
    return "\n".join(out) + "\n"


def _line_rows(report: PeekReport, item: Peek) -> list[str]:
    if item.lines is None:
        return [
            "  per-line figures: none: this profile stores one arbitrary line per function "
            "(pprof-rs); a per-address profile (`perf-identify record`) has true lines"
        ]
    if not item.lines:
        return ["  per-line figures: none recorded"]
    relative = report.files.get(item.recorded_file, "")
    source = report.sources.get(relative)
    rows = [
        f"{figure.line:>6} {_figure(report, figure.flat):>8} {_figure(report, figure.cum):>8}"
        + (
            f" | {source[figure.line - 1]}"
            if source is not None and figure.line <= len(source)
            else ""
        )
        for figure in item.lines
    ]
    table = "\n".join([f"{'line':>6} {'flat':>8} {'cum':>8}", *rows])
    if source is None:
        return [f"  per-line figures ({item.recorded_file}):", table]
    return [
        f"  per-line figures ({relative}):",
        fence(table, f"per-line figures and source of {item.name} ({relative})"),
    ]


def peeks_json(report: PeekReport) -> dict[str, Any]:
    def edges(peek_: Peek, items: Sequence[Edge]) -> list[dict[str, Any]]:
        return [
            {
                "name": e.name,
                "value": e.value,
                "percent": round(100.0 * e.value / report.total, 3) if report.total else None,
                "of_cum_percent": round(100.0 * e.value / peek_.cum, 3) if peek_.cum else None,
            }
            for e in items
        ]

    return {
        "profile": report.profile,
        "profile_kind": report.kind.value,
        "unit": report.unit,
        "total": report.total,
        "functions": [
            {
                "name": item.name,
                "file": report.files.get(item.recorded_file) or item.recorded_file or None,
                "flat": item.flat,
                "cum": item.cum,
                "flat_percent": round(100.0 * item.flat / report.total, 3)
                if report.total
                else None,
                "cum_percent": round(100.0 * item.cum / report.total, 3) if report.total else None,
                "callers": edges(item, item.callers),
                "callees": edges(item, item.callees),
                "lines": None
                if item.lines is None
                else [{"line": f.line, "flat": f.flat, "cum": f.cum} for f in item.lines],
            }
            for item in report.peeks
        ],
        "more": report.more,
    }
