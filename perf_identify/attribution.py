"""Attribute a ranked profile to the VM's own functions: the hotspots an issue is written for.

Contract: `attribute(ranked, paths)` is pure. It takes the rank stage's `RankedFrames` and a
`PathMapper` (which recorded files are the VM's own source) and returns a `Ranking`:

* `hotspots`: the VM functions, ranked by *attributed* value. Each sample is attributed to its
  innermost frame whose file maps into the repo's source root; frames of std, core, alloc,
  hashbrown and crates never receive samples themselves. Closures are folded into the function
  that defines them (`VM::builtin_map::{{closure}}` counts as `VM::builtin_map`), because that is
  where a reader finds the code.
* for each hotspot, what burns the time below it (the leaf functions and the heaviest chain of
  library frames from the VM function down to a leaf), who calls it (the heaviest chain of VM
  callers), the immediate VM call sites (where a fix to a tiny, everywhere-called helper such as
  `Value::clone` really goes), and, for per-address profiles only, the value of
  each of its lines.

Sorting is deterministic: value descending, then name. This is the numpy engine, for large
profiles; `plain_ranking` computes the same `Ranking` in plain Python for small ones, and
`hotspots.rank_profile` picks between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from perf_identify.hotspots import (
    BELOW_LIMIT,
    CALLER_LIMIT,
    CHAIN_LIMIT,
    LIST_LIMIT,
    Hotspot,
    PathMapper,
    Ranking,
    Share,
    ranking_of,
)
from perf_identify.pprof import ProfileKind
from perf_identify.ranking import (
    Frames,
    LineTable,
    RankedFrames,
    distinct,
    group_sums,
    sum_by,
)
from perf_identify.symbols import fold_closures, is_tiny_helper


@dataclass(frozen=True, slots=True)
class _VmTable:
    keys: list[str]
    """The VM functions (closures folded), in order of first appearance."""
    line_key: NDArray[np.int64]
    """Index into `keys` for lines in the VM's source, else -1."""


def _vm_table(table: LineTable, paths: PathMapper) -> _VmTable:
    key_of: dict[str, int] = {}
    vm_by_function: dict[int, bool] = {}
    line_key = np.full(len(table.line_node), -1, dtype=np.int64)
    for index, function_id in enumerate(table.line_function.tolist()):
        if function_id == 0:
            continue
        is_vm = vm_by_function.get(function_id)
        if is_vm is None:
            is_vm = paths.is_vm(paths.map(table.function_files[function_id]))
            vm_by_function[function_id] = is_vm
        if is_vm:
            name = table.node_names[int(table.line_node[index])]
            line_key[index] = key_of.setdefault(fold_closures(name), len(key_of))
    return _VmTable(list(key_of), line_key)


def attribute(ranked: RankedFrames, paths: PathMapper, *, detail_limit: int = 50) -> Ranking:
    """Attribute every sample to its innermost VM frame and rank the VM functions.

    The figures are computed for every VM function; leaves, chains, callers, call sites and
    line values only for the `detail_limit` heaviest hotspots.
    """
    profile, table, frames = ranked.profile, ranked.table, ranked.frames
    vm = _vm_table(table, paths)
    values = ranked.values
    nonempty = frames.count > 0
    vm_frames = np.flatnonzero(vm.line_key[frames.line] >= 0)
    vm_samples = frames.sample[vm_frames]
    first = np.ones(len(vm_frames), dtype=bool)
    first[1:] = vm_samples[1:] != vm_samples[:-1]
    attributed_frame = vm_frames[first]
    attributed_sample = vm_samples[first]
    attributed_key = vm.line_key[frames.line[attributed_frame]]
    key_values = sum_by(attributed_key, values[attributed_sample], len(vm.keys))
    unattributed = int(values[nonempty].sum()) - int(values[attributed_sample].sum())
    leaf_lines = frames.line[frames.start[nonempty]]
    unknown = int(np.abs(values[nonempty][table.line_unknown[leaf_lines]]).sum())

    total = profile.total
    present = sorted(
        {int(key) for key in attributed_key.tolist()},
        key=lambda key: (-int(key_values[key]), vm.keys[key]),
    )
    order = np.argsort(attributed_key, kind="stable")
    bounds = np.searchsorted(attributed_key[order], np.arange(len(vm.keys) + 1))
    context = _Context(ranked, paths, vm, vm_frames, total)
    hotspots = tuple(
        context.hotspot(
            rank,
            key,
            int(key_values[key]),
            attributed_frame[order[bounds[key] : bounds[key + 1]]],
            attributed_sample[order[bounds[key] : bounds[key + 1]]],
            detailed=rank <= detail_limit,
        )
        for rank, key in enumerate(present, start=1)
    )
    return ranking_of(
        profile, ranked.functions, hotspots, unattributed=unattributed, unknown=unknown
    )


def _best(keys: NDArray[np.int64], sums: NDArray[np.int64], names: list[str]) -> int:
    """Index into `keys` of the heaviest key; ties go to the name that sorts first."""
    return min(range(len(keys)), key=lambda i: (-int(sums[i]), names[int(keys[i])]))


class _Context:
    """What every hotspot's details are computed from."""

    def __init__(
        self,
        ranked: RankedFrames,
        paths: PathMapper,
        vm: _VmTable,
        vm_frames: NDArray[np.int64],
        total: int,
    ) -> None:
        self.profile = ranked.profile
        self.values = ranked.values
        self.paths = paths
        self.tables = ranked.table
        self.frames: Frames = ranked.frames
        self.flat = ranked.flat
        self.cum = ranked.cum
        self.vm = vm
        self.vm_frames = vm_frames
        self.total = total
        self.node_of = {name: node for node, name in enumerate(ranked.table.node_names)}

    def _share(self, name: str, value: int) -> Share:
        return Share(name, value, 100.0 * value / self.total if self.total else 0.0)

    def _ranked(
        self, keys: NDArray[np.int64], weights: NDArray[np.int64], names: list[str], limit: int
    ) -> tuple[Share, ...]:
        distinct, sums = group_sums(keys, weights)
        pairs = [(names[k], int(v)) for k, v in zip(distinct.tolist(), sums.tolist(), strict=True)]
        pairs = [pair for pair in pairs if pair[1] != 0]
        pairs.sort(key=lambda pair: (-pair[1], pair[0]))
        return tuple(self._share(name, value) for name, value in pairs[:limit])

    def hotspot(
        self,
        rank: int,
        key: int,
        value: int,
        frame: NDArray[np.int64],
        sample: NDArray[np.int64],
        *,
        detailed: bool,
    ) -> Hotspot:
        tables, frames = self.tables, self.frames
        symbol = self.vm.keys[key]
        weights = self.values[sample]
        first_function = int(tables.line_function[frames.line[frame[0]]])
        recorded_file = tables.function_files[first_function]
        mapped = self.paths.map(recorded_file)
        node = self.node_of.get(symbol)
        leaf = frames.start[sample]
        self_value = int(weights[frame == leaf].sum())
        leaves: tuple[Share, ...] = ()
        chain: tuple[Share, ...] = ()
        below: tuple[Share, ...] = ()
        callers: tuple[Share, ...] = ()
        call_sites: tuple[Share, ...] = ()
        line_values: dict[int, int] = {}
        if detailed:
            leaves = self._ranked(frames.node[leaf], weights, tables.node_names, LIST_LIMIT)
            chain = self._chain(frame, leaf, weights)
            below = self._below(frame, leaf, weights)
            caller_keys = self._caller_keys(frame, sample, key)
            callers = self._heaviest(caller_keys, weights, self.vm.keys, CALLER_LIMIT)
            has_site = caller_keys[:, 0] >= 0
            call_sites = self._ranked(
                caller_keys[has_site, 0], weights[has_site], self.vm.keys, LIST_LIMIT
            )
            line_values = (
                self._line_values(frame, weights)
                if self.profile.kind is ProfileKind.PER_ADDRESS
                else {}
            )
        return Hotspot(
            rank=rank,
            symbol=symbol,
            file=mapped.relative,
            recorded_file=recorded_file,
            source_exists=mapped.exists,
            value=value,
            share_percent=100.0 * value / self.total if self.total else 0.0,
            flat=int(self.flat[node]) if node is not None else 0,
            cum=int(self.cum[node]) if node is not None else 0,
            self_value=self_value,
            leaves=leaves,
            chain=chain,
            below=below,
            callers=callers,
            call_sites=call_sites,
            tiny_helper=is_tiny_helper(symbol),
            line_values=line_values,
            recorded_line=int(self.tables.line_number[frames.line[frame[0]]]),
        )

    def _below(
        self, frame: NDArray[np.int64], leaf: NDArray[np.int64], weights: NDArray[np.int64]
    ) -> tuple[Share, ...]:
        """Value through each frame below the VM frame (leaf up to, not including, it)."""
        lengths = frame - leaf
        count = int(lengths.sum())
        if count == 0:
            return ()
        starts = np.cumsum(lengths) - lengths
        position = np.repeat(leaf - starts, lengths) + np.arange(count, dtype=np.int64)
        row = np.repeat(np.arange(len(frame), dtype=np.int64), lengths)
        node_count = len(self.tables.node_names)
        # Once per sample, however often recursion repeats a frame (as pprof's cum).
        pairs = distinct(row * node_count + self.frames.node[position])
        nodes = pairs % node_count
        return self._ranked(
            nodes, weights[pairs // node_count], self.tables.node_names, BELOW_LIMIT
        )

    def _line_values(self, frame: NDArray[np.int64], weights: NDArray[np.int64]) -> dict[int, int]:
        numbers, sums = group_sums(self.tables.line_number[self.frames.line[frame]], weights)
        return dict(zip(numbers.tolist(), sums.tolist(), strict=True))

    def _chain(
        self, frame: NDArray[np.int64], leaf: NDArray[np.int64], weights: NDArray[np.int64]
    ) -> tuple[Share, ...]:
        """Heaviest path from just below the VM frame down to a leaf, one level at a time."""
        names = self.tables.node_names
        result: list[Share] = []
        position = frame - 1
        active = position >= leaf
        while active.any() and len(result) < CHAIN_LIMIT:
            nodes = self.frames.node[position[active]]
            distinct, sums = group_sums(nodes, weights[active])
            index = _best(distinct, sums, names)
            best = int(distinct[index])
            result.append(self._share(names[best], int(sums[index])))
            keep = np.zeros_like(active)
            keep[active] = nodes == best
            position = position - 1
            active = keep & (position >= leaf)
        return tuple(result)

    def _caller_keys(
        self, frame: NDArray[np.int64], sample: NDArray[np.int64], key: int
    ) -> NDArray[np.int64]:
        """Per sample, up to `CALLER_LIMIT` VM callers above `frame` (closures folded, runs of
        one caller collapsed as in recursion), nearest first; -1 pads."""
        line_key = self.vm.line_key
        rows_total = len(frame)
        result = np.full((rows_total, CALLER_LIMIT), -1, dtype=np.int64)
        pointer = frame.copy()
        previous = np.full(rows_total, key, dtype=np.int64)
        alive = np.ones(rows_total, dtype=bool)
        for level in range(CALLER_LIMIT):
            seeking = alive.copy()
            while seeking.any():
                rows = np.flatnonzero(seeking)
                next_frame, found = self._next_vm_frame(pointer[rows], sample[rows])
                alive[rows[~found]] = False
                seeking[rows[~found]] = False
                rows, next_frame = rows[found], next_frame[found]
                pointer[rows] = next_frame
                next_key = line_key[self.frames.line[next_frame]]
                new = next_key != previous[rows]
                result[rows[new], level] = next_key[new]
                previous[rows[new]] = next_key[new]
                seeking[rows[new]] = False
            if not alive.any():
                break
        return result

    def _next_vm_frame(
        self, pointer: NDArray[np.int64], sample: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """The next VM frame above each pointer within its own sample, and whether there is one."""
        vm_frames = self.vm_frames
        index = np.searchsorted(vm_frames, pointer, side="right")
        found = index < len(vm_frames)
        next_frame = vm_frames[np.minimum(index, max(len(vm_frames) - 1, 0))]
        found &= self.frames.sample[next_frame] == sample
        return next_frame, found

    def _heaviest(
        self, paths: NDArray[np.int64], weights: NDArray[np.int64], names: list[str], limit: int
    ) -> tuple[Share, ...]:
        """The heaviest path through rows of `paths` (-1 ends a row), level by level."""
        result: list[Share] = []
        active = paths[:, 0] >= 0
        for depth in range(min(limit, paths.shape[1])):
            if not active.any():
                break
            keys = paths[active, depth]
            distinct, sums = group_sums(keys, weights[active])
            index = _best(distinct, sums, names)
            best = int(distinct[index])
            result.append(self._share(names[best], int(sums[index])))
            keep = np.zeros_like(active)
            keep[active] = keys == best
            if depth + 1 >= paths.shape[1]:
                break
            active = keep & (paths[:, depth + 1] >= 0)
        return tuple(result)
