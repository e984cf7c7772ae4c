"""Rank a decoded profile: pprof's flat and cum per function, over every sample's frames.

Contract: `rank_functions(profile)` is pure. It expands every sample into its frames (leaf
first, every inlined Line of a Location its own frame) and returns `RankedFrames`:

* `functions`: flat and cum per function exactly as `go tool pprof -top` computes them at its
  default (function) granularity: nodes are keyed by function name; flat goes to the innermost
  frame of the leaf Location; cum counts a node once per sample, however often recursion repeats
  it. Sorted by flat, then cum (both descending), then name, as `-top` prints them.
* the expanded frame tables the attribution stage (`attribution.py`) reads: which function and
  source line each frame is, which sample it belongs to, where each sample's leaf is.

Nothing here knows which code is the VM's own; that is the attribution stage's question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from perf_identify.hotspots import UNSYMBOLIZED, FunctionStat
from perf_identify.pprof import Line, Profile


@dataclass(frozen=True, slots=True)
class LineTable:
    """Per-line facts, indexed by a line's position in the flattened location table."""

    node_names: list[str]
    """Function name per node (pprof's node key at function granularity)."""
    line_node: NDArray[np.int64]
    line_number: NDArray[np.int64]
    line_function: NDArray[np.int64]
    """Function id per line (0 for an unsymbolized location)."""
    line_unknown: NDArray[np.bool_]
    """The line has no file or name (`Unknown`): no debug info."""
    location_ids: NDArray[np.uint64]
    """Sorted location ids; location i's lines start at `location_line_start[i]`."""
    location_line_start: NDArray[np.int64]
    location_line_count: NDArray[np.int64]
    function_files: dict[int, str]
    """Recorded file per function id (`""` for id 0, the unsymbolized function)."""


@dataclass(frozen=True, slots=True)
class Frames:
    """Every sample's frames, leaf first, concatenated (inlined Lines expanded)."""

    line: NDArray[np.int64]
    """Index into the `LineTable` of each frame."""
    node: NDArray[np.int64]
    sample: NDArray[np.int64]
    start: NDArray[np.int64]
    """First frame of each sample (== its leaf); meaningful only where `count > 0`."""
    count: NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RankedFrames:
    """The rank stage's result: pprof's figures plus the frames they were computed from."""

    profile: Profile
    table: LineTable
    frames: Frames
    values: NDArray[np.int64]
    """Each stack's value (the profile's, as a numpy array)."""
    flat: NDArray[np.int64]
    """Flat value per node."""
    cum: NDArray[np.int64]
    """Cum value per node."""
    functions: tuple[FunctionStat, ...]

    @property
    def nonempty(self) -> NDArray[np.bool_]:
        """Samples that have at least one frame."""
        return self.frames.count > 0

    def node_of(self, name: str) -> int | None:
        try:
            return self.table.node_names.index(name)
        except ValueError:
            return None


def rank_functions(profile: Profile) -> RankedFrames:
    """Compute pprof's flat/cum for every function of `profile`; see the module docstring."""
    table = _line_table(profile)
    frames = _frames(profile, table)
    values = np.asarray(profile.values, dtype=np.int64)
    node_count = len(table.node_names)
    nonempty = frames.count > 0
    leaf_nodes = frames.node[frames.start[nonempty]]
    flat = sum_by(leaf_nodes, values[nonempty], node_count)
    # cum counts a node once per sample, however often recursion repeats it.
    pairs = distinct(frames.sample * node_count + frames.node)
    cum = sum_by(pairs % node_count, values[pairs // node_count], node_count)
    functions = tuple(
        sorted(
            (
                FunctionStat(table.node_names[node], int(flat[node]), int(cum[node]))
                for node in np.flatnonzero(cum != 0).tolist()
            ),
            key=lambda stat: (-stat.flat, -stat.cum, stat.name),
        )
    )
    return RankedFrames(profile, table, frames, values, flat, cum, functions)


def distinct(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """The distinct values of `keys`, sorted: sort plus a neighbour mask, which is an order of
    magnitude faster than np.unique's hash path on tens of millions of int64 keys."""
    ordered = np.sort(keys)
    if not len(ordered):
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def group_sums(
    keys: NDArray[np.int64], weights: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Distinct `keys` and the sum of `weights` for each: sized by the input, not the key
    space, which matters when a hotspot's few samples are grouped by one of 50,000 nodes."""
    if not len(keys):
        return keys, weights
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.add.reduceat(weights[order], starts)


def sum_by(keys: NDArray[np.int64], weights: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """Exact integer sums of `weights` grouped by `keys` into an array of `size`."""
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, keys, weights)
    return sums


def _line_table(profile: Profile) -> LineTable:
    node_of: dict[str, int] = {}
    function_files: dict[int, str] = {0: ""}
    line_node: list[int] = []
    line_number: list[int] = []
    line_function: list[int] = []
    line_unknown: list[bool] = []
    location_ids = sorted(profile.locations)
    starts: list[int] = []
    counts: list[int] = []
    for location_id in location_ids:
        location = profile.locations[location_id]
        starts.append(len(line_node))
        entries: list[tuple[str, Line | None]] = [
            (line.function.name or line.function.system_name or UNSYMBOLIZED, line)
            for line in location.lines
        ] or [(UNSYMBOLIZED, None)]
        counts.append(len(entries))
        for name, line in entries:
            line_node.append(node_of.setdefault(name, len(node_of)))
            if line is None:
                line_number.append(0)
                line_function.append(0)
                line_unknown.append(True)
                continue
            function = line.function
            function_files[function.id] = function.filename
            line_number.append(line.line)
            line_function.append(function.id)
            line_unknown.append(name == "Unknown" or function.filename in ("", "Unknown"))
    return LineTable(
        node_names=list(node_of),
        line_node=np.array(line_node, dtype=np.int64),
        line_number=np.array(line_number, dtype=np.int64),
        line_function=np.array(line_function, dtype=np.int64),
        line_unknown=np.array(line_unknown, dtype=bool),
        location_ids=np.array(location_ids, dtype=np.uint64),
        location_line_start=np.array(starts, dtype=np.int64),
        location_line_count=np.array(counts, dtype=np.int64),
        function_files=function_files,
    )


def _location_indices(sorted_ids: NDArray[np.uint64], stack_ids: NDArray[Any]) -> NDArray[np.int64]:
    """Position of each stack entry's location id in `sorted_ids` (all ids exist: decode
    checked). Profiles number locations densely from 1, so a lookup table usually beats a
    binary search per entry."""
    if not len(sorted_ids):
        return np.zeros(0, dtype=np.int64)
    largest = int(sorted_ids[-1])
    if largest <= 4 * len(sorted_ids) + 1024:
        lookup = np.zeros(largest + 1, dtype=np.int64)
        lookup[sorted_ids.astype(np.int64)] = np.arange(len(sorted_ids), dtype=np.int64)
        return lookup[stack_ids.astype(np.int64)]
    return np.searchsorted(sorted_ids, stack_ids).astype(np.int64)


def _frames(profile: Profile, table: LineTable) -> Frames:
    entry_location = _location_indices(table.location_ids, np.asarray(profile.stack_location_ids))
    per_entry = table.location_line_count[entry_location]
    entry_start = np.zeros(len(per_entry) + 1, dtype=np.int64)
    np.cumsum(per_entry, out=entry_start[1:])
    frame_count = int(entry_start[-1])
    # Frame f of entry e is line `location_line_start[e] + (f - entry_start[e])`.
    shift = np.repeat(table.location_line_start[entry_location] - entry_start[:-1], per_entry)
    line = shift + np.arange(frame_count, dtype=np.int64)
    sample_start = entry_start[np.asarray(profile.stack_offsets, dtype=np.int64)]
    count = np.diff(sample_start)
    sample = np.repeat(np.arange(len(count), dtype=np.int64), count)
    return Frames(
        line=line,
        node=table.line_node[line],
        sample=sample,
        start=sample_start[:-1],
        count=count,
    )
