"""The ranked profile as the rest of the pipeline sees it, and the choice of engine behind it.

Contract: `rank_profile(profile, paths)` is pure and returns a `Ranking`: pprof's flat and cum
per function (`FunctionStat`, exactly as `go tool pprof -top`) and the VM's own functions as
`Hotspot`s (see `attribution.py` for what each field means and how samples are attributed).

Two engines compute the same `Ranking`, field for field (a property test holds them equal):
`plain_ranking` walks the samples in plain Python, and `ranking` + `attribution` do it with
numpy. Below `PLAIN_LIMIT` location entries the plain engine is used: it needs no numpy, whose
import alone (about 85 ms) costs more than the whole ranking of a real pprof-rs profile. Above
it, numpy wins by orders of magnitude (a million samples). This module imports neither engine
until a profile is ranked, and numpy only for a large one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from perf_identify.pprof import Profile, ProfileKind, ValueType

UNSYMBOLIZED = "<unknown>"
"""pprof's name for a frame with no function (a Location without Lines)."""

PLAIN_LIMIT = 150_000
"""Location entries (every sample's stack, summed) up to which the plain engine ranks."""


@dataclass(frozen=True, slots=True)
class FunctionStat:
    name: str
    flat: int
    cum: int


# Recorded paths of code that is never the VM's own, whatever suffix happens to match.
_FOREIGN_PATH_MARKERS = ("/rustc/", "/rust/deps/", "/.cargo/registry/", "/.cargo/git/")
CHAIN_LIMIT = 12
"""Frames of a hotspot's chain (the heaviest path below it)."""
CALLER_LIMIT = 6
"""VM callers of a hotspot's callers chain."""
LIST_LIMIT = 6
"""Leaves and call sites listed per hotspot."""
BELOW_LIMIT = 40


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
    """Attributed value over the profile's total, in percent (merged helpers included)."""
    flat: int
    cum: int
    self_value: int
    """Attributed samples whose leaf is this function itself (its own code, not a callee's)."""
    leaves: tuple[Share, ...]
    chain: tuple[Share, ...]
    """Heaviest path of callees from just below this function down to a leaf."""
    below: tuple[Share, ...]
    """Every library frame below this function in its samples, with the value of the samples
    that pass through it (once per sample), heaviest first: the evidence of what it calls,
    on every branch, not only the heaviest one (`BELOW_LIMIT` at most)."""
    callers: tuple[Share, ...]
    """Heaviest path of VM callers, nearest first."""
    call_sites: tuple[Share, ...]
    """Immediate VM callers by attributed value."""
    tiny_helper: bool
    line_values: Mapping[int, int] = field(default_factory=dict)
    """Value per source line of this function; only for per-address profiles."""
    recorded_line: int = 0
    """The Line.line the profile stored (one arbitrary call site in pprof-rs profiles)."""
    merged: tuple[MergedHelper, ...] = ()
    """VM helpers whose time is reported inside this issue (see `fix_sites.py`)."""

    @property
    def own_value(self) -> int:
        """The value attributed to this function itself, merged helpers excluded."""
        return self.value - sum(helper.value for helper in self.merged)

    @property
    def own_percent(self) -> float:
        return self.share_percent * self.own_value / self.value if self.value else 0.0


@dataclass(frozen=True, slots=True)
class MergedHelper:
    """A VM helper reported inside its caller's issue, and the time it takes through it."""

    helper: Hotspot
    value: int
    """The helper's attributed value reached through the owner."""
    percent: float
    """That value over the profile's total, in percent."""


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
    sample_count: int = 0
    """Samples in the profile (pprof-rs: one per distinct stack)."""
    duration_nanos: int = 0
    period: int = 0

    def percent(self, value: int) -> float:
        return 100.0 * value / self.total if self.total else 0.0


def ranking_of(
    profile: Profile,
    functions: tuple[FunctionStat, ...],
    hotspots: tuple[Hotspot, ...],
    *,
    unattributed: int,
    unknown: int,
) -> Ranking:
    """The `Ranking` both engines return, from what each computed (`unknown`: the value whose
    leaf has no file or name)."""
    total = profile.total
    return Ranking(
        source=profile.source,
        value_type=profile.value_type,
        total=total,
        kind=profile.kind,
        functions=functions,
        hotspots=hotspots,
        unattributed=unattributed,
        missing_sources=tuple(sorted({h.file for h in hotspots if not h.source_exists and h.file})),
        unknown_fraction=unknown / total if total else 0.0,
        sample_count=profile.sample_count,
        duration_nanos=profile.duration_nanos,
        period=profile.period,
    )


def rank_profile(profile: Profile, paths: PathMapper, *, detail_limit: int = 50) -> Ranking:
    """Rank `profile` and attribute it to the VM's functions (see the module docstring).

    Leaves, chains, callers, call sites and line values are computed for the `detail_limit`
    heaviest hotspots only."""
    if len(profile.stack_location_ids) <= PLAIN_LIMIT:
        from perf_identify.plain_ranking import plain_rank

        return plain_rank(profile, paths, detail_limit=detail_limit)
    from perf_identify.attribution import attribute
    from perf_identify.ranking import rank_functions

    return attribute(rank_functions(profile), paths, detail_limit=detail_limit)
