"""Build a pprof `Profile` from resolved stacks: stage 4 of `perf-identify record`.

Contract: `build_profile(stacks, …)` takes stacks whose frames are already resolved to source
(`ResolvedLocation`: one sampled instruction, its inlined functions innermost first, each with its
real file and line) and returns the `perftools.profiles.Profile` message; `write_profile` returns
it serialised and gzip-compressed (what pprof's format documentation asks of files on disk).
Pure: it reads no clock (`time_nanos`, `duration_nanos` come in) and touches no file.

The shape follows pprof-rs (see shared/fixtures/blitzen/README.md) so that one reader handles
both, except where pprof-rs loses information:
- `sample_type` = [samples/count, cpu/nanoseconds], `period_type` cpu/nanoseconds, `period` =
  1e9 / frequency; one Sample per distinct (stack, thread) with `value` = [count, count * period]
  and a `thread` label.
- One Location per distinct sampled address (per dso), with `address` set and all its inlined
  frames as Lines, innermost first, each with the true line number of that address. pprof-rs
  instead makes one Location per function name, so its line numbers are one arbitrary call site.
- Functions are keyed by (name, filename); `name` is demangled without the `::h<hash>` suffix,
  `system_name` is the raw symbol where one is known (the physical function of an address) and
  "" otherwise, `start_line` 0 as in pprof-rs. Not the name: pprof re-demangles a Function whose
  system_name equals its name and, for Rust, cuts `<core::fmt::Arguments>::estimated_capacity`
  down to `::estimated_capacity`.
- One Mapping per dso, flagged as fully symbolised so pprof never tries to re-symbolise it.
  Addresses are the dso's own virtual addresses (as `objdump` and `addr2line` use), so each
  Mapping covers the dso's executable segment at that address with its file offset.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Sequence
from dataclasses import dataclass

from perf_identify._proto import profile_pb2

NANOS_PER_SECOND = 1_000_000_000

# rustc's legacy mangling ends every path with a `h` + 16 hex digit hash; demanglers without the
# "alternate" flag keep it. Names must be stable across builds, so it never reaches a Function.
_HASH_SUFFIX = re.compile(r"::h[0-9a-f]{16}$")


@dataclass(frozen=True, slots=True)
class SourceLine:
    """One (possibly inlined) function at an address, with the file and line of that address.

    `system_name` is the raw symbol or "" when unknown; `filename` is "" and `line` 0 when unknown
    (kernel, dsos without debug info).
    """

    function: str
    system_name: str
    filename: str
    line: int


@dataclass(frozen=True, slots=True)
class ResolvedLocation:
    """A sampled instruction of `dso` at the dso's own virtual `address`, lines innermost first."""

    dso: str
    address: int
    lines: tuple[SourceLine, ...]


@dataclass(frozen=True, slots=True)
class ResolvedStack:
    """`count` samples of thread `thread` with this stack, leaf location first."""

    locations: tuple[ResolvedLocation, ...]
    count: int
    thread: str = ""


@dataclass(frozen=True, slots=True)
class MappingInfo:
    """Where a dso's code sits in the address space `ResolvedLocation.address` lives in."""

    filename: str
    memory_start: int
    memory_limit: int
    file_offset: int = 0
    build_id: str = ""


def function_name(name: str) -> str:
    """`name` without a trailing rustc `::h<16 hex>` hash."""
    return _HASH_SUFFIX.sub("", name)


class _Builder:
    """Interns strings, functions, locations and samples in order of first use."""

    def __init__(self, profile: profile_pb2.Profile) -> None:
        self.profile = profile
        self.strings: dict[str, int] = {}
        self.functions: dict[tuple[str, str], profile_pb2.Function] = {}
        self.locations: dict[tuple[str, int], int] = {}
        self.mappings: dict[str, int] = {}
        self.samples: dict[tuple[tuple[int, ...], str], profile_pb2.Sample] = {}
        self.string("")  # pprof requires string_table[0] == "".

    def string(self, text: str) -> int:
        index = self.strings.get(text)
        if index is None:
            index = self.strings[text] = len(self.profile.string_table)
            self.profile.string_table.append(text)
        return index

    def mapping(self, info: MappingInfo) -> int:
        mapping_id = len(self.profile.mapping) + 1
        self.profile.mapping.add(
            id=mapping_id,
            memory_start=info.memory_start,
            memory_limit=info.memory_limit,
            file_offset=info.file_offset,
            filename=self.string(info.filename),
            build_id=self.string(info.build_id),
            has_functions=True,
            has_filenames=True,
            has_line_numbers=True,
            has_inline_frames=True,
        )
        self.mappings[info.filename] = mapping_id
        return mapping_id

    def function(self, line: SourceLine) -> int:
        name = function_name(line.function)
        key = (name, line.filename)
        function = self.functions.get(key)
        if function is None:
            function = self.profile.function.add(
                id=len(self.profile.function) + 1,
                name=self.string(name),
                system_name=self.string(line.system_name),
                filename=self.string(line.filename),
                start_line=0,
            )
            self.functions[key] = function
        elif line.system_name and not function.system_name:
            # First seen inlined (no raw symbol), now seen as a physical function: keep the symbol.
            function.system_name = self.string(line.system_name)
        return int(function.id)

    def location(self, location: ResolvedLocation) -> int:
        key = (location.dso, location.address)
        location_id = self.locations.get(key)
        if location_id is None:
            mapping_id = self.mappings.get(location.dso, 0)
            location_id = len(self.profile.location) + 1
            pb_location = self.profile.location.add(
                id=location_id, mapping_id=mapping_id, address=location.address
            )
            for line in location.lines:
                pb_location.line.add(function_id=self.function(line), line=line.line)
            self.locations[key] = location_id
        return location_id

    def sample(self, stack: ResolvedStack, period: int) -> None:
        ids = tuple(self.location(location) for location in stack.locations)
        key = (ids, stack.thread)
        sample = self.samples.get(key)
        if sample is None:
            sample = self.profile.sample.add(location_id=ids, value=[0, 0])
            if stack.thread:
                sample.label.add(key=self.string("thread"), str=self.string(stack.thread))
            self.samples[key] = sample
        sample.value[0] += stack.count
        sample.value[1] += stack.count * period


def build_profile(
    stacks: Sequence[ResolvedStack],
    *,
    frequency_hz: int,
    duration_nanos: int,
    time_nanos: int,
    mappings: Sequence[MappingInfo] = (),
) -> profile_pb2.Profile:
    """The pprof Profile of `stacks` sampled at `frequency_hz` (see the module docstring).

    Ids, strings and samples are numbered in order of first appearance in `stacks`, so the same
    input gives the same bytes.
    """
    if frequency_hz <= 0:
        raise ValueError(f"frequency_hz must be positive, got {frequency_hz}")
    period = NANOS_PER_SECOND // frequency_hz
    profile = profile_pb2.Profile()
    builder = _Builder(profile)
    profile.sample_type.add(type=builder.string("samples"), unit=builder.string("count"))
    profile.sample_type.add(type=builder.string("cpu"), unit=builder.string("nanoseconds"))
    profile.period_type.type = builder.string("cpu")
    profile.period_type.unit = builder.string("nanoseconds")
    profile.period = period
    profile.time_nanos = time_nanos
    profile.duration_nanos = duration_nanos
    for info in mappings:
        builder.mapping(info)
    for stack in stacks:
        if stack.count > 0 and stack.locations:
            builder.sample(stack, period)
    return profile


def write_profile(
    stacks: Sequence[ResolvedStack],
    *,
    frequency_hz: int,
    duration_nanos: int,
    time_nanos: int,
    mappings: Sequence[MappingInfo] = (),
) -> bytes:
    """`build_profile(…)` serialised and gzip-compressed, with a zero gzip mtime (deterministic)."""
    profile = build_profile(
        stacks,
        frequency_hz=frequency_hz,
        duration_nanos=duration_nanos,
        time_nanos=time_nanos,
        mappings=mappings,
    )
    return gzip.compress(profile.SerializeToString(deterministic=True), mtime=0)
