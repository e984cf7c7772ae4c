"""Rank a decoded profile: pprof's flat/cum per function, then attribution to the VM's own code.

Contract: `rank_profile(profile, paths)` is pure. It returns a `Ranking` with

* `functions`: flat and cum per function exactly as `go tool pprof -top` computes them at its
  default (function) granularity: nodes are keyed by function name; every inlined Line of a
  Location is its own frame; flat goes to the innermost frame of the leaf Location; cum counts a
  node once per sample, however often recursion repeats it.
* `hotspots`: the VM functions, ranked by *attributed* value. Each sample is attributed to its
  innermost frame whose file maps into the repo's source root (`PathMapper`); frames of std,
  core, alloc, hashbrown and crates never receive samples themselves. Closures are folded into
  the function that defines them (`VM::builtin_map::{{closure}}` counts as `VM::builtin_map`),
  because that is where a reader finds the code.

For each hotspot it also records what burns the time below it (the leaf functions and the
heaviest chain of library frames from the VM function down to a leaf), who calls it (the
heaviest chain of VM callers), the immediate VM call sites (where a fix to a tiny, everywhere-
called helper such as `Value::clone` really goes), and, for per-address profiles only, the value
of each of its lines. Sorting is deterministic: value descending, then name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from perf_identify.pprof import Line, Profile, ProfileKind, ValueType
from perf_identify.symbols import split_top_level

# Recorded paths of code that is never the VM's own, whatever suffix happens to match.
_FOREIGN_PATH_MARKERS = ("/rustc/", "/rust/deps/", "/.cargo/registry/", "/.cargo/git/")
_CLOSURE_SUFFIX = re.compile(r"(::\{\{closure\}\}|::\{closure#\d+\})+$")
UNSYMBOLIZED = "<unknown>"

# Methods so small and so widely called that the fix lives at their call sites, not in them.
_TINY_HELPER_METHODS = frozenset(
    {
        "clone",
        "eq",
        "ne",
        "hash",
        "cmp",
        "partial_cmp",
        "drop",
        "pop",
        "push",
        "peek",
        "read_byte",
        "read_u8",
        "read_u16",
        "read_u32",
        "read_u64",
        "read_operand",
        "fetch",
    }
)
_CHAIN_LIMIT = 12
_CALLER_LIMIT = 6
_LIST_LIMIT = 6


@dataclass(frozen=True, slots=True)
class MappedPath:
    relative: str
    """Repo-relative POSIX path ("" when the recorded path has no repo counterpart)."""
    exists: bool
    """True when the file was found in the repo."""


class PathMapper:
    """Maps recorded absolute paths to repo paths by the longest suffix that exists in the repo.

    Profiles are often recorded on another machine (`/home/dev/santa-lang-blitzen/lang/...`).
    When no suffix exists (the VM source is not here), a path that contains the source root is
    still mapped from the source root on, with `exists=False`, so ranking works without source.
    """

    def __init__(self, source_root: str, exists: Callable[[str], bool]) -> None:
        self.source_root = source_root.strip("/")
        self._exists = exists
        self._cache: dict[str, MappedPath] = {}

    def map(self, recorded: str) -> MappedPath:
        cached = self._cache.get(recorded)
        if cached is None:
            cached = self._map(recorded)
            self._cache[recorded] = cached
        return cached

    def _map(self, recorded: str) -> MappedPath:
        normalized = recorded.replace("\\", "/")
        if not normalized or normalized == "Unknown" or _is_foreign(normalized):
            return MappedPath("", exists=False)
        parts = [part for part in normalized.split("/") if part not in ("", ".")]
        for start in range(len(parts)):
            candidate = "/".join(parts[start:])
            if ".." not in parts[start:] and self._exists(candidate):
                return MappedPath(candidate, exists=True)
        root_parts = self.source_root.split("/")
        for start in range(len(parts) - len(root_parts)):
            if parts[start : start + len(root_parts)] == root_parts:
                return MappedPath("/".join(parts[start:]), exists=False)
        return MappedPath("", exists=False)

    def is_vm(self, mapped: MappedPath) -> bool:
        return mapped.relative.startswith(self.source_root + "/")


def _is_foreign(path: str) -> bool:
    return any(marker in path for marker in _FOREIGN_PATH_MARKERS) or path.startswith("/rustc/")


def fold_closures(name: str) -> str:
    """`VM::builtin_map::{{closure}}::{{closure}}` -> `VM::builtin_map`."""
    return _CLOSURE_SUFFIX.sub("", name)


def is_tiny_helper(symbol: str) -> bool:
    """A small method called from everywhere: report its call sites, not just itself."""
    method = symbol.rsplit("::", 1)[-1]
    return method in _TINY_HELPER_METHODS


def short_name(symbol: str) -> str:
    """The last path segment of a demangled name, generics and closures dropped: `collect`."""
    name = fold_closures(symbol)
    return split_top_level(name)[-1].split("<", 1)[0] or name


def compact_name(symbol: str) -> str:
    """`<unicode_segmentation::grapheme::Graphemes as core::iter::Iterator>::next` ->
    `<Graphemes as Iterator>::next`; `core::hint::select_unpredictable` ->
    `hint::select_unpredictable`."""
    symbol = fold_closures(symbol)
    trait_impl = re.fullmatch(r"<(.+?) as (.+)>::([^:]+)", symbol)
    if trait_impl:
        return (
            f"<{_last(trait_impl.group(1))} as {_last(trait_impl.group(2))}>::{trait_impl.group(3)}"
        )
    parts = [part for part in split_top_level(symbol) if part]
    return "::".join(parts[-2:]) if len(parts) > 1 else symbol


def _last(path: str) -> str:
    parts = [part for part in split_top_level(path) if part]
    return re.sub(r"<.*>$", "", parts[-1]) if parts else path


@dataclass(frozen=True, slots=True)
class FunctionStat:
    name: str
    flat: int
    cum: int


@dataclass(frozen=True, slots=True)
class Share:
    name: str
    value: int
    percent: float
    """Of the profile's total."""


@dataclass(frozen=True, slots=True)
class Hotspot:
    rank: int
    symbol: str
    """The VM function, closures folded: `lang::vm::runtime::VM::index_op`."""
    file: str
    """Repo-relative path of its source file."""
    recorded_file: str
    source_exists: bool
    value: int
    share_percent: float
    """Attributed value over the profile's total, in percent."""
    flat: int
    cum: int
    self_value: int
    """Attributed samples whose leaf is this function itself (its own code, not a callee's)."""
    leaves: tuple[Share, ...]
    chain: tuple[Share, ...]
    """Heaviest path of callees from just below this function down to a leaf."""
    callers: tuple[Share, ...]
    """Heaviest path of VM callers, nearest first."""
    call_sites: tuple[Share, ...]
    """Immediate VM callers by attributed value."""
    tiny_helper: bool
    line_values: Mapping[int, int] = field(default_factory=dict)
    """Value per source line of this function; only for per-address profiles."""
    recorded_line: int = 0
    """The Line.line the profile stored (one arbitrary call site in pprof-rs profiles)."""


@dataclass(frozen=True, slots=True)
class Ranking:
    source: str
    value_type: ValueType
    total: int
    kind: ProfileKind
    functions: tuple[FunctionStat, ...]
    hotspots: tuple[Hotspot, ...]
    unattributed: int
    """Value of samples with no VM frame at all (startup, the profiler, libc)."""
    missing_sources: tuple[str, ...]
    """Repo-relative VM files the profile names but the repo lacks."""
    unknown_fraction: float
    """Share of the total whose leaf has no file or name (`Unknown`): no debug info."""

    def percent(self, value: int) -> float:
        return 100.0 * value / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class _Tables:
    """Per-line facts, indexed by a line's position in the flattened location table."""

    node_names: list[str]
    """Function name per node (pprof's node key at function granularity)."""
    line_node: NDArray[np.int64]
    line_number: NDArray[np.int64]
    line_function: NDArray[np.int64]
    """Function id per line (0 for an unsymbolized location)."""
    line_vm_key: NDArray[np.int64]
    """Index into `vm_keys` for lines in the VM's source, else -1."""
    line_unknown: NDArray[np.bool_]
    vm_keys: list[str]
    location_ids: NDArray[np.uint64]
    """Sorted location ids; location i's lines start at `location_line_start[i]`."""
    location_line_start: NDArray[np.int64]
    location_line_count: NDArray[np.int64]
    function_files: dict[int, str]


@dataclass(frozen=True, slots=True)
class _Frames:
    """Every sample's frames, leaf first, concatenated (inlined Lines expanded)."""

    line: NDArray[np.int64]
    node: NDArray[np.int64]
    sample: NDArray[np.int64]
    start: NDArray[np.int64]
    """First frame of each sample (== its leaf); meaningful only where `count > 0`."""
    count: NDArray[np.int64]


def rank_profile(profile: Profile, paths: PathMapper, *, detail_limit: int = 50) -> Ranking:
    """Compute pprof's flat/cum and the attributed hotspots of `profile`.

    The figures are computed for every function and every VM function; leaves, chains,
    callers, call sites and line values only for the `detail_limit` heaviest hotspots.
    """
    tables = _tables(profile, paths)
    frames = _frames(profile, tables)
    values = profile.values
    node_count = len(tables.node_names)
    nonempty = frames.count > 0
    leaf_nodes = frames.node[frames.start[nonempty]]
    flat = _sum_by(leaf_nodes, values[nonempty], node_count)
    # cum counts a node once per sample, however often recursion repeats it.
    pairs = _distinct(frames.sample * node_count + frames.node)
    cum = _sum_by(pairs % node_count, values[pairs // node_count], node_count)

    vm_frames = np.flatnonzero(tables.line_vm_key[frames.line] >= 0)
    vm_samples = frames.sample[vm_frames]
    first = np.ones(len(vm_frames), dtype=bool)
    first[1:] = vm_samples[1:] != vm_samples[:-1]
    attributed_frame = vm_frames[first]
    attributed_sample = vm_samples[first]
    attributed_key = tables.line_vm_key[frames.line[attributed_frame]]
    key_values = _sum_by(attributed_key, values[attributed_sample], len(tables.vm_keys))
    unattributed = int(values[nonempty].sum()) - int(values[attributed_sample].sum())
    leaf_lines = frames.line[frames.start[nonempty]]
    unknown = int(np.abs(values[nonempty][tables.line_unknown[leaf_lines]]).sum())

    total = profile.total
    functions = tuple(
        sorted(
            (
                FunctionStat(tables.node_names[node], int(flat[node]), int(cum[node]))
                for node in np.flatnonzero(cum != 0).tolist()
            ),
            key=lambda stat: (-stat.flat, -stat.cum, stat.name),
        )
    )
    present = sorted(
        {int(key) for key in attributed_key.tolist()},
        key=lambda key: (-int(key_values[key]), tables.vm_keys[key]),
    )
    order = np.argsort(attributed_key, kind="stable")
    bounds = np.searchsorted(attributed_key[order], np.arange(len(tables.vm_keys) + 1))
    context = _Context(profile, paths, tables, frames, flat, cum, vm_frames, total)
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
    missing = tuple(sorted({h.file for h in hotspots if not h.source_exists and h.file}))
    return Ranking(
        source=profile.source,
        value_type=profile.value_type,
        total=total,
        kind=profile.kind,
        functions=functions,
        hotspots=hotspots,
        unattributed=unattributed,
        missing_sources=missing,
        unknown_fraction=unknown / total if total else 0.0,
    )


def _distinct(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """The distinct values of `keys`, sorted: sort plus a neighbour mask, which is an order of
    magnitude faster than np.unique's hash path on tens of millions of int64 keys."""
    ordered = np.sort(keys)
    if not len(ordered):
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _group_sums(
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


def _best(keys: NDArray[np.int64], sums: NDArray[np.int64], names: list[str]) -> int:
    """Index into `keys` of the heaviest key; ties go to the name that sorts first."""
    return min(range(len(keys)), key=lambda i: (-int(sums[i]), names[int(keys[i])]))


def _sum_by(keys: NDArray[np.int64], weights: NDArray[np.int64], size: int) -> NDArray[np.int64]:
    """Exact integer sums of `weights` grouped by `keys` into an array of `size`."""
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, keys, weights)
    return sums


def _tables(profile: Profile, paths: PathMapper) -> _Tables:
    node_of: dict[str, int] = {}
    vm_key_of: dict[str, int] = {}
    vm_by_function: dict[int, bool] = {}
    function_files: dict[int, str] = {0: ""}
    line_node: list[int] = []
    line_number: list[int] = []
    line_function: list[int] = []
    line_vm_key: list[int] = []
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
                line_vm_key.append(-1)
                line_unknown.append(True)
                continue
            function = line.function
            function_files[function.id] = function.filename
            is_vm = vm_by_function.get(function.id)
            if is_vm is None:
                is_vm = paths.is_vm(paths.map(function.filename))
                vm_by_function[function.id] = is_vm
            key = fold_closures(name)
            line_number.append(line.line)
            line_function.append(function.id)
            line_vm_key.append(vm_key_of.setdefault(key, len(vm_key_of)) if is_vm else -1)
            line_unknown.append(name == "Unknown" or function.filename in ("", "Unknown"))
    return _Tables(
        node_names=list(node_of),
        line_node=np.array(line_node, dtype=np.int64),
        line_number=np.array(line_number, dtype=np.int64),
        line_function=np.array(line_function, dtype=np.int64),
        line_vm_key=np.array(line_vm_key, dtype=np.int64),
        line_unknown=np.array(line_unknown, dtype=bool),
        vm_keys=list(vm_key_of),
        location_ids=np.array(location_ids, dtype=np.uint64),
        location_line_start=np.array(starts, dtype=np.int64),
        location_line_count=np.array(counts, dtype=np.int64),
        function_files=function_files,
    )


def _location_indices(
    sorted_ids: NDArray[np.uint64], stack_ids: NDArray[np.uint64]
) -> NDArray[np.int64]:
    """Position of each stack entry's location id in `sorted_ids` (all ids exist: decode
    checked). Profiles number locations densely from 1, so a lookup table usually beats a
    binary search per entry."""
    if not len(sorted_ids):
        return np.zeros(0, dtype=np.int64)
    largest = int(sorted_ids[-1])
    if largest <= 4 * len(sorted_ids) + 1024:
        table = np.zeros(largest + 1, dtype=np.int64)
        table[sorted_ids.astype(np.int64)] = np.arange(len(sorted_ids), dtype=np.int64)
        return table[stack_ids.astype(np.int64)]
    return np.searchsorted(sorted_ids, stack_ids).astype(np.int64)


def _frames(profile: Profile, tables: _Tables) -> _Frames:
    entry_location = _location_indices(tables.location_ids, profile.stack_location_ids)
    per_entry = tables.location_line_count[entry_location]
    entry_start = np.zeros(len(per_entry) + 1, dtype=np.int64)
    np.cumsum(per_entry, out=entry_start[1:])
    frame_count = int(entry_start[-1])
    # Frame f of entry e is line `location_line_start[e] + (f - entry_start[e])`.
    shift = np.repeat(tables.location_line_start[entry_location] - entry_start[:-1], per_entry)
    line = shift + np.arange(frame_count, dtype=np.int64)
    sample_start = entry_start[profile.stack_offsets]
    count = np.diff(sample_start)
    sample = np.repeat(np.arange(len(count), dtype=np.int64), count)
    return _Frames(
        line=line,
        node=tables.line_node[line],
        sample=sample,
        start=sample_start[:-1],
        count=count,
    )


class _Context:
    """What every hotspot's details are computed from."""

    def __init__(  # noqa: PLR0917 - one plain record of what rank_profile computed
        self,
        profile: Profile,
        paths: PathMapper,
        tables: _Tables,
        frames: _Frames,
        flat: NDArray[np.int64],
        cum: NDArray[np.int64],
        vm_frames: NDArray[np.int64],
        total: int,
    ) -> None:
        self.profile = profile
        self.paths = paths
        self.tables = tables
        self.frames = frames
        self.flat = flat
        self.cum = cum
        self.vm_frames = vm_frames
        self.total = total
        self.node_of = {name: node for node, name in enumerate(tables.node_names)}

    def _share(self, name: str, value: int) -> Share:
        return Share(name, value, 100.0 * value / self.total if self.total else 0.0)

    def _ranked(
        self, keys: NDArray[np.int64], weights: NDArray[np.int64], names: list[str], limit: int
    ) -> tuple[Share, ...]:
        distinct, sums = _group_sums(keys, weights)
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
        symbol = tables.vm_keys[key]
        weights = self.profile.values[sample]
        first_function = int(tables.line_function[frames.line[frame[0]]])
        recorded_file = tables.function_files[first_function]
        mapped = self.paths.map(recorded_file)
        node = self.node_of.get(symbol)
        leaf = frames.start[sample]
        self_value = int(weights[frame == leaf].sum())
        leaves: tuple[Share, ...] = ()
        chain: tuple[Share, ...] = ()
        callers: tuple[Share, ...] = ()
        call_sites: tuple[Share, ...] = ()
        line_values: dict[int, int] = {}
        if detailed:
            leaves = self._ranked(frames.node[leaf], weights, tables.node_names, _LIST_LIMIT)
            chain = self._chain(frame, leaf, weights)
            caller_keys = self._caller_keys(frame, sample, key)
            callers = self._heaviest(caller_keys, weights, tables.vm_keys, _CALLER_LIMIT)
            has_site = caller_keys[:, 0] >= 0
            call_sites = self._ranked(
                caller_keys[has_site, 0], weights[has_site], tables.vm_keys, _LIST_LIMIT
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
            callers=callers,
            call_sites=call_sites,
            tiny_helper=is_tiny_helper(symbol),
            line_values=line_values,
            recorded_line=int(self.tables.line_number[frames.line[frame[0]]]),
        )

    def _line_values(self, frame: NDArray[np.int64], weights: NDArray[np.int64]) -> dict[int, int]:
        numbers, sums = _group_sums(self.tables.line_number[self.frames.line[frame]], weights)
        return dict(zip(numbers.tolist(), sums.tolist(), strict=True))

    def _chain(
        self, frame: NDArray[np.int64], leaf: NDArray[np.int64], weights: NDArray[np.int64]
    ) -> tuple[Share, ...]:
        """Heaviest path from just below the VM frame down to a leaf, one level at a time."""
        names = self.tables.node_names
        result: list[Share] = []
        position = frame - 1
        active = position >= leaf
        while active.any() and len(result) < _CHAIN_LIMIT:
            nodes = self.frames.node[position[active]]
            distinct, sums = _group_sums(nodes, weights[active])
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
        """Per sample, up to `_CALLER_LIMIT` VM callers above `frame` (closures folded, runs of
        one caller collapsed as in recursion), nearest first; -1 pads."""
        line_key = self.tables.line_vm_key
        rows_total = len(frame)
        result = np.full((rows_total, _CALLER_LIMIT), -1, dtype=np.int64)
        pointer = frame.copy()
        previous = np.full(rows_total, key, dtype=np.int64)
        alive = np.ones(rows_total, dtype=bool)
        for level in range(_CALLER_LIMIT):
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
            distinct, sums = _group_sums(keys, weights[active])
            index = _best(distinct, sums, names)
            best = int(distinct[index])
            result.append(self._share(names[best], int(sums[index])))
            keep = np.zeros_like(active)
            keep[active] = keys == best
            if depth + 1 >= paths.shape[1]:
                break
            active = keep & (paths[:, depth + 1] >= 0)
        return tuple(result)
