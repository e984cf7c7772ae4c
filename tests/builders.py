"""Build pprof profiles as real protobuf bytes, the way pprof-rs or a per-address recorder would.

`ProfileBuilder` interns strings, functions and locations, and takes stacks as lists of frames
from the leaf to the root. A frame is a function name, a `(name, file, line)` triple, or a list
of such (one Location with inlined Lines, innermost first).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass, field

from perf_identify._proto import profile_pb2

VM_ROOT = "/home/dev/santa-lang-blitzen/lang/src/vm"
CRATES_ROOT = "/home/dev/.cargo/registry/src/index.crates.io-6f17d22bba15001f"
STD_ROOT = "/rustc/17067e9ac6d7e98f18d4a1f3e4ae1c8b1b8d4a2f/library"

FrameSpec = str | tuple[str, str, int]
LocationSpec = FrameSpec | Sequence[FrameSpec]


@dataclass
class ProfileBuilder:
    """Collects stacks and emits a `profile.pb`.

    `per_function=True` mimics pprof-rs: one Location per function name (Location.id ==
    Function.id, address 0), so a name's line is whatever call site was seen first.
    Otherwise each distinct (inlined frames, lines) tuple is its own Location with an address.
    """

    sample_types: Sequence[tuple[str, str]] = (("samples", "count"), ("cpu", "nanoseconds"))
    period: int = 1_000_000
    per_function: bool = True
    default_sample_type: str = ""
    duration_nanos: int = 1_000_000_000
    strings: list[str] = field(default_factory=lambda: [""])
    _string_ids: dict[str, int] = field(default_factory=dict)
    _functions: dict[tuple[str, str], int] = field(default_factory=dict)
    _locations: dict[object, int] = field(default_factory=dict)
    _message: profile_pb2.Profile = field(default_factory=profile_pb2.Profile)

    def string(self, text: str) -> int:
        if text == "":
            return 0
        index = self._string_ids.get(text)
        if index is None:
            index = len(self.strings)
            self.strings.append(text)
            self._string_ids[text] = index
        return index

    def function(self, name: str, filename: str) -> int:
        key = (name, "" if self.per_function else filename)
        function_id = self._functions.get(key)
        if function_id is None:
            function_id = len(self._functions) + 1
            self._functions[key] = function_id
            fn = self._message.function.add()
            fn.id = function_id
            fn.name = self.string(name)
            fn.system_name = self.string("_ZN" + name.replace("::", "_") + "E")
            fn.filename = self.string(filename)
        return function_id

    def location(self, spec: LocationSpec) -> int:
        frames = [spec] if isinstance(spec, str | tuple) else list(spec)
        resolved = [_frame(frame) for frame in frames]
        key: object = (
            resolved[0][0] if self.per_function and len(resolved) == 1 else tuple(resolved)
        )
        location_id = self._locations.get(key)
        if location_id is None:
            location_id = len(self._locations) + 1
            self._locations[key] = location_id
            loc = self._message.location.add()
            loc.id = location_id
            loc.address = 0 if self.per_function else 0x1000 + 16 * location_id
            for name, filename, line_no in resolved:
                line = loc.line.add()
                line.function_id = self.function(name, filename)
                line.line = line_no
        return location_id

    def sample(self, stack: Sequence[LocationSpec], count: int = 1) -> ProfileBuilder:
        """Add `count` samples of `stack`, leaf first."""
        sample = self._message.sample.add()
        sample.location_id.extend(self.location(spec) for spec in stack)
        values = []
        for sample_type, _unit in self.sample_types:
            values.append(count * self.period if sample_type == "cpu" else count)
        sample.value.extend(values)
        return self

    def sample_ids(self, location_ids: Sequence[int], count: int = 1) -> None:
        """Add samples by location id (from `location`), for generating very large profiles."""
        sample = self._message.sample.add()
        sample.location_id.extend(location_ids)
        sample.value.extend(
            count * self.period if sample_type == "cpu" else count
            for sample_type, _unit in self.sample_types
        )

    def message(self) -> profile_pb2.Profile:
        message = profile_pb2.Profile()
        message.CopyFrom(self._message)
        for sample_type, unit in self.sample_types:
            vt = message.sample_type.add()
            vt.type = self.string(sample_type)
            vt.unit = self.string(unit)
        message.period_type.type = self.string("cpu")
        message.period_type.unit = self.string("nanoseconds")
        message.period = self.period
        message.duration_nanos = self.duration_nanos
        message.time_nanos = 1_764_000_000_000_000_000
        if self.default_sample_type:
            message.default_sample_type = self.string(self.default_sample_type)
        message.string_table.extend(self.strings)
        return message

    def build(self, *, compress: bool = False) -> bytes:
        data = self.message().SerializeToString()
        return gzip.compress(data, mtime=0) if compress else data


def _frame(frame: FrameSpec) -> tuple[str, str, int]:
    if isinstance(frame, tuple):
        return frame
    return frame, guess_file(frame), 1


def guess_file(name: str) -> str:
    """A plausible recorded file for a demangled name, as pprof-rs would store it."""
    if "lang::vm::" in name:
        module = name.split("lang::vm::", 1)[1].split("::", 1)[0]
        return f"{VM_ROOT}/{module}.rs"
    if name.startswith(("core::", "<core::")):
        return f"{STD_ROOT}/core/src/lib.rs"
    if name.startswith(("alloc::", "<alloc::")):
        return f"{STD_ROOT}/alloc/src/lib.rs"
    if name.startswith(("std::", "<std::", "hashbrown")):
        return f"{STD_ROOT}/std/src/lib.rs"
    if name in ("main", "_start", "__libc_start_main_impl"):
        return "Unknown"
    crate = name.split("::", maxsplit=1)[0]
    return f"{CRATES_ROOT}/{crate}-1.0.0/src/lib.rs"
