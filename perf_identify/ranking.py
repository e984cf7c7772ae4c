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
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from perf_identify.pprof import Profile, ProfileKind, ValueType

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
    depth = 0
    cut = 0
    for index, char in enumerate(name):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif char == ":" and depth == 0 and name[index : index + 2] == "::":
            cut = index + 2
    tail = name[cut:]
    return tail.split("<", 1)[0] or name


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


@dataclass(slots=True)
class _Accumulator:
    value: int = 0
    self_value: int = 0
    leaves: Counter[str] = field(default_factory=Counter)
    below: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    above: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    lines: Counter[int] = field(default_factory=Counter)
    recorded_line: int = 0
    file: str = ""
    recorded_file: str = ""
    exists: bool = False


def rank_profile(profile: Profile, paths: PathMapper) -> Ranking:
    """Compute pprof's flat/cum and the attributed hotspots of `profile`."""
    frame_names, frame_vm, frame_files = _function_tables(profile, paths)
    # One frame is (function id, line); a Location with no Lines is one unsymbolized frame.
    location_frames: dict[int, tuple[tuple[int, int], ...]] = {
        location.id: tuple((line.function.id, line.line) for line in location.lines) or ((0, 0),)
        for location in profile.locations.values()
    }

    stacks: Counter[tuple[int, ...]] = Counter()
    for sample in profile.samples:
        stacks[sample.location_ids] += sample.value

    flat: Counter[str] = Counter()
    cum: Counter[str] = Counter()
    per_vm: dict[str, _Accumulator] = defaultdict(_Accumulator)
    unattributed = 0
    unknown = 0
    for location_ids, value in stacks.items():
        frames = [frame for location_id in location_ids for frame in location_frames[location_id]]
        if not frames:
            continue
        names = [frame_names[function_id] for function_id, _ in frames]
        flat[names[0]] += value
        for name in set(names):
            cum[name] += value
        if names[0] in (UNSYMBOLIZED, "Unknown") or frame_files.get(frames[0][0], "") in (
            "",
            "Unknown",
        ):
            unknown += abs(value)
        vm_index = next(
            (i for i, (function_id, _) in enumerate(frames) if frame_vm.get(function_id)), None
        )
        if vm_index is None:
            unattributed += value
            continue
        function_id, line = frames[vm_index]
        key = fold_closures(names[vm_index])
        acc = per_vm[key]
        acc.value += value
        acc.leaves[names[0]] += value
        if vm_index == 0:
            acc.self_value += value
        acc.below.append((tuple(reversed(names[:vm_index])), value))
        acc.above.append((_vm_callers(frames, names, frame_vm, vm_index, key), value))
        acc.lines[line] += value
        if not acc.file:
            recorded_file = frame_files[function_id]
            mapped = paths.map(recorded_file)
            acc.file, acc.exists, acc.recorded_file = mapped.relative, mapped.exists, recorded_file
            acc.recorded_line = line

    total = profile.total
    functions = tuple(
        sorted(
            (FunctionStat(name, flat[name], cum[name]) for name in cum),
            key=lambda stat: (-stat.flat, -stat.cum, stat.name),
        )
    )
    ordered = sorted(per_vm.items(), key=lambda item: (-item[1].value, item[0]))
    hotspots = tuple(
        _hotspot(rank=rank, key=key, acc=acc, flat=flat, cum=cum, total=total, kind=profile.kind)
        for rank, (key, acc) in enumerate(ordered, start=1)
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


def _function_tables(
    profile: Profile, paths: PathMapper
) -> tuple[dict[int, str], dict[int, bool], dict[int, str]]:
    names: dict[int, str] = {0: UNSYMBOLIZED}
    vm: dict[int, bool] = {0: False}
    files: dict[int, str] = {0: ""}
    for location in profile.locations.values():
        for line in location.lines:
            function = line.function
            if function.id in names:
                continue
            names[function.id] = function.name or function.system_name or UNSYMBOLIZED
            files[function.id] = function.filename
            vm[function.id] = paths.is_vm(paths.map(function.filename))
    return names, vm, files


def _vm_callers(
    frames: list[tuple[int, int]],
    names: list[str],
    frame_vm: Mapping[int, bool],
    vm_index: int,
    key: str,
) -> tuple[str, ...]:
    callers: list[str] = []
    previous = key
    for index in range(vm_index + 1, len(frames)):
        if not frame_vm.get(frames[index][0]):
            continue
        name = fold_closures(names[index])
        if name != previous:
            callers.append(name)
            previous = name
        if len(callers) >= _CALLER_LIMIT:
            break
    return tuple(callers)


def _heaviest_path(
    paths: Iterable[tuple[tuple[str, ...], int]], limit: int
) -> list[tuple[str, int]]:
    """Follow the heaviest child at each depth, as a reader of a flame graph would."""
    current = [(path, value) for path, value in paths if path]
    result: list[tuple[str, int]] = []
    depth = 0
    while current and depth < limit:
        totals: Counter[str] = Counter()
        for path, value in current:
            totals[path[depth]] += value
        best, best_value = min(totals.items(), key=lambda item: (-item[1], item[0]))
        result.append((best, best_value))
        depth += 1
        current = [
            (path, value)
            for path, value in current
            if path[depth - 1] == best and len(path) > depth
        ]
    return result


def _shares(pairs: Iterable[tuple[str, int]], total: int) -> tuple[Share, ...]:
    return tuple(
        Share(name, value, 100.0 * value / total if total else 0.0) for name, value in pairs
    )


def _hotspot(
    *,
    rank: int,
    key: str,
    acc: _Accumulator,
    flat: Mapping[str, int],
    cum: Mapping[str, int],
    total: int,
    kind: ProfileKind,
) -> Hotspot:
    leaves = sorted(acc.leaves.items(), key=lambda item: (-item[1], item[0]))[:_LIST_LIMIT]
    call_sites: Counter[str] = Counter()
    for callers, value in acc.above:
        if callers:
            call_sites[callers[0]] += value
    sites = sorted(call_sites.items(), key=lambda item: (-item[1], item[0]))[:_LIST_LIMIT]
    return Hotspot(
        rank=rank,
        symbol=key,
        file=acc.file,
        recorded_file=acc.recorded_file,
        source_exists=acc.exists,
        value=acc.value,
        share_percent=100.0 * acc.value / total if total else 0.0,
        flat=flat.get(key, 0),
        cum=cum.get(key, 0),
        self_value=acc.self_value,
        leaves=_shares(leaves, total),
        chain=_shares(_heaviest_path(acc.below, _CHAIN_LIMIT), total),
        callers=_shares(_heaviest_path(acc.above, _CALLER_LIMIT), total),
        call_sites=_shares(sites, total),
        tiny_helper=is_tiny_helper(key),
        line_values=dict(acc.lines) if kind is ProfileKind.PER_ADDRESS else {},
        recorded_line=acc.recorded_line,
    )
