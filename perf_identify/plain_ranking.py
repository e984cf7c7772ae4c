"""The plain-Python engine: pprof's flat/cum and the attributed hotspots of a small profile.

Contract: `plain_rank(profile, paths, detail_limit=…)` is pure and returns exactly the `Ranking`
the numpy engine (`ranking` + `attribution`) returns for the same profile, field for field; a
property test over generated profiles holds the two equal. It walks every frame of every
distinct stack in Python: easy to read, no numpy to import, and faster than numpy's import alone
on a pprof-rs profile (thousands of distinct stacks), far too slow for a million samples
(`hotspots.PLAIN_LIMIT` picks the engine).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from perf_identify.hotspots import (
    BELOW_LIMIT,
    CALLER_LIMIT,
    CHAIN_LIMIT,
    LIST_LIMIT,
    UNSYMBOLIZED,
    FunctionStat,
    Hotspot,
    PathMapper,
    Ranking,
    Share,
    ranking_of,
)
from perf_identify.pprof import Profile, ProfileKind
from perf_identify.symbols import fold_closures, is_tiny_helper


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


def plain_rank(profile: Profile, paths: PathMapper, *, detail_limit: int = 50) -> Ranking:
    """pprof's flat/cum and the attributed hotspots of `profile`; details (leaves, chain,
    below, callers, call sites, line values) for the `detail_limit` heaviest hotspots only."""
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
        _hotspot(
            rank=rank,
            key=key,
            acc=acc,
            flat=flat,
            cum=cum,
            total=total,
            kind=profile.kind,
            detailed=rank <= detail_limit,
        )
        for rank, (key, acc) in enumerate(ordered, start=1)
    )
    return ranking_of(profile, functions, hotspots, unattributed=unattributed, unknown=unknown)


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
        if len(callers) >= CALLER_LIMIT:
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


def _through(paths: list[tuple[tuple[str, ...], int]]) -> list[tuple[str, int]]:
    """Value through every frame of the paths below a hotspot, once per path."""
    through: Counter[str] = Counter()
    for names, value in paths:
        for name in set(names):
            through[name] += value
    items = [(name, value) for name, value in through.items() if value != 0]
    return sorted(items, key=lambda item: (-item[1], item[0]))[:BELOW_LIMIT]


def _hotspot(
    *,
    rank: int,
    key: str,
    acc: _Accumulator,
    flat: Mapping[str, int],
    cum: Mapping[str, int],
    total: int,
    kind: ProfileKind,
    detailed: bool,
) -> Hotspot:
    figures = Hotspot(
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
        leaves=(),
        chain=(),
        below=(),
        callers=(),
        call_sites=(),
        tiny_helper=is_tiny_helper(key),
        recorded_line=acc.recorded_line,
    )
    if not detailed:
        return figures
    leaves = sorted(acc.leaves.items(), key=lambda item: (-item[1], item[0]))[:LIST_LIMIT]
    call_sites: Counter[str] = Counter()
    for callers, value in acc.above:
        if callers:
            call_sites[callers[0]] += value
    sites = sorted(call_sites.items(), key=lambda item: (-item[1], item[0]))[:LIST_LIMIT]
    return replace(
        figures,
        leaves=_shares(leaves, total),
        chain=_shares(_heaviest_path(acc.below, CHAIN_LIMIT), total),
        below=_shares(_through(acc.below), total),
        callers=_shares(_heaviest_path(acc.above, CALLER_LIMIT), total),
        call_sites=_shares(sites, total),
        line_values=dict(acc.lines) if kind is ProfileKind.PER_ADDRESS else {},
    )
