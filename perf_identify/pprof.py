"""Decode a pprof `profile.pb` into a resolved, validated `Profile`.

Contract: `decode_profile(data, source)` takes the file's bytes (raw protobuf, or gzip as pprof
prefers) and a name used in messages, and returns a `Profile` in which every id is resolved:
samples point at `Location` objects, lines at `Function` objects, strings are strings. Anything
the ranking stage could trip over later is rejected here with a `ProfileError` that names the
file, the message and the field: a dangling id, a string index outside the table, no sample
types, no samples, a sample whose value count does not match the sample types, all-zero values.

The profile must measure CPU time: the value index's sample type must be time (`cpu/nanoseconds`,
`wall/nanoseconds`, any type in a unit of time) or a sample count (`samples/count`). A heap or
lock profile (`alloc_space/bytes`, `contentions/count`) is refused with a message naming what it
measures, and so are negative sample values and a negative `duration_nanos`: ranking either as
CPU time would print shares of nothing. A zero duration is legal in pprof (the run's length is
simply not stated); `runtime_ms_from_duration` refuses to turn it into a Runtime.

The value index follows pprof: `default_sample_type` when set, else the last sample type (for
pprof-rs profiles, `cpu/nanoseconds`).

Samples with the same stack are merged (their values summed): every figure pprof prints is a
sum over samples, so a merged profile ranks exactly like the original, and a profile of a
million samples over a few thousand distinct stacks ranks like one of a few thousand.
`sample_count` keeps the number of samples in the file. Small profiles (most of a pprof-rs
run's: pprof-rs writes one sample per distinct stack) are decoded here in plain Python; a file
that inflates past `PACKED_PATH_BYTES` goes through `packed_samples`, which reads the packed
fields as bytes and decodes them with numpy (imported only then).

The module also says what kind of profile it is (`ProfileKind`): pprof-rs de-duplicates
Locations and Functions by function name, so each Location has one Line whose line number is
one arbitrary call site; a per-address recorder (ours) stores one Location per sampled address
with true line numbers. Only the second kind may be trusted for "the hot line".
"""

from __future__ import annotations

import enum
import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from perf_identify.errors import ProfileError

if TYPE_CHECKING:
    from perf_identify._proto import profile_pb2

GZIP_MAGIC = b"\x1f\x8b"
# A profile of a long run is a few MiB; a file that inflates past this is hostile or broken.
DEFAULT_MAX_INFLATED_BYTES = 1 << 30
MAX_SAMPLE_VALUE = 1 << 53
PACKED_PATH_BYTES = 8 << 20
"""Inflated size from which samples are decoded from their packed bytes with numpy: the real
pprof-rs profiles are a few hundred KiB, a million-sample profile hundreds of MiB."""
# The units pprof writers use for time; `samples/count` is the other CPU measure accepted.
TIME_UNITS = frozenset({"nanoseconds", "microseconds", "milliseconds", "seconds"})


@dataclass(frozen=True, slots=True)
class ValueType:
    type: str
    unit: str

    def __str__(self) -> str:
        return f"{self.type}/{self.unit}"


@dataclass(frozen=True, slots=True)
class Function:
    id: int
    name: str
    system_name: str
    filename: str
    start_line: int


@dataclass(frozen=True, slots=True)
class Line:
    function: Function
    line: int


@dataclass(frozen=True, slots=True)
class Location:
    id: int
    address: int
    lines: tuple[Line, ...]
    """Innermost inlined function first; the last entry is the physical caller."""


@dataclass(frozen=True, slots=True)
class Sample:
    location_ids: tuple[int, ...]
    """Leaf first, as in the wire format."""
    value: int
    """The value at the profile's value index."""


class ProfileKind(enum.StrEnum):
    PER_FUNCTION = "per-function"
    """pprof-rs: one Location per function name; line numbers are an arbitrary call site."""
    PER_ADDRESS = "per-address"
    """One Location per sampled address with its inlined frames; line numbers are true."""


@dataclass(frozen=True, slots=True)
class Stacks:
    """The samples of a profile, identical stacks merged, as flat arrays.

    The arrays are `memoryview`s: of `array.array`s when decoded in plain Python, of numpy
    arrays from `packed_samples`; numpy takes either without a copy (`np.asarray`).
    """

    location_ids: memoryview
    """Every stack's location ids, leaf first, concatenated (format `I` or `Q`)."""
    offsets: memoryview
    """Stack i's ids are `location_ids[offsets[i]:offsets[i + 1]]` (format `q`)."""
    values: memoryview
    """Each stack's summed value at the value index (format `q`)."""
    total: int
    """The sum of every sample's value (none is negative)."""
    sample_count: int
    """Samples in the file, before identical stacks were merged."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A resolved profile. Stacks are kept as flat arrays: a large profile has millions of
    frames, and the numpy engine ranks them vectorized (`samples` builds objects on demand).
    """

    source: str
    sample_types: tuple[ValueType, ...]
    value_index: int
    locations: Mapping[int, Location]
    period_type: ValueType | None
    period: int
    duration_nanos: int
    time_nanos: int
    kind: ProfileKind
    stacks: Stacks

    @property
    def stack_location_ids(self) -> memoryview:
        return self.stacks.location_ids

    @property
    def stack_offsets(self) -> memoryview:
        return self.stacks.offsets

    @property
    def values(self) -> memoryview:
        return self.stacks.values

    @property
    def value_type(self) -> ValueType:
        return self.sample_types[self.value_index]

    @property
    def total(self) -> int:
        return self.stacks.total

    @property
    def sample_count(self) -> int:
        """Samples in the file (identical stacks count once each here, merged in `samples`)."""
        return self.stacks.sample_count

    @property
    def samples(self) -> tuple[Sample, ...]:
        """One `Sample` per distinct stack, its value the sum over the file's samples."""
        ids = self.stacks.location_ids.tolist()
        offsets = self.stacks.offsets.tolist()
        return tuple(
            Sample(tuple(ids[offsets[i] : offsets[i + 1]]), value)
            for i, value in enumerate(self.stacks.values.tolist())
        )


def decode_profile(
    data: bytes,
    source: str,
    *,
    max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES,
    packed_from: int = PACKED_PATH_BYTES,
) -> Profile:
    """Parse, resolve and validate one profile; `source` names it in every error. Profiles that
    inflate to `packed_from` bytes or more are decoded by `packed_samples`."""
    if not data:
        raise ProfileError(
            f"{source} is empty",
            hint="the profiler wrote nothing; re-run make profile and check its log",
        )
    raw = _inflate(data, source, max_inflated_bytes) if data[:2] == GZIP_MAGIC else data
    # Imported here: the core's types (ProfileKind, ValueType) are used by commands that never
    # decode a profile, and the protobuf runtime is 40 ms of start-up.
    from perf_identify._proto import profile_pb2

    if len(raw) >= packed_from:
        from perf_identify import packed_samples

        message = _parsed(packed_samples.raw_profile_message(), raw, source)
        del raw  # a million samples' bytes: the message holds them
        return _resolve(message, source, packed_samples.packed_stacks)
    return _resolve(_parsed(profile_pb2.Profile(), raw, source), source, _plain_stacks)


def _parsed(message: Any, raw: bytes, source: str) -> Any:
    from google.protobuf.message import DecodeError

    try:
        message.ParseFromString(raw)
    except DecodeError as exc:
        raise ProfileError(
            f"{source} is not a pprof protobuf ({exc})",
            hint="the file is truncated or not a profile; re-run make profile",
        ) from exc
    return message


def _inflate(data: bytes, source: str, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
        # A gzip file may hold several members; pprof writes one, but `cat a.gz b.gz` is legal.
        while inflater.eof and inflater.unused_data and len(out) <= limit:
            rest = inflater.unused_data
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            out += inflater.decompress(rest, limit + 1 - len(out))
    except zlib.error as exc:
        raise ProfileError(
            f"{source} is a damaged gzip file ({exc})",
            hint="the file is truncated or corrupt; re-run make profile",
        ) from exc
    if len(out) > limit:
        raise ProfileError(
            f"{source} inflates to more than {limit} bytes",
            hint="this is not a plausible CPU profile; check where the file came from",
        )
    if not inflater.eof:
        raise ProfileError(
            f"{source} is a truncated gzip file",
            hint="the profiler was interrupted while writing; re-run make profile",
        )
    return out


class _Strings:
    """The string table, with lookups that name the referring field on a bad index."""

    def __init__(self, table: Sequence[str], source: str) -> None:
        if not table:
            raise ProfileError(
                f"{source}: string_table is empty (it must start with the empty string)",
                hint="the file is not a complete pprof profile",
            )
        if table[0] != "":
            raise ProfileError(
                f"{source}: string_table[0] is {table[0]!r}, it must be the empty string",
                hint="the file is not a valid pprof profile",
            )
        self._table = table
        self._source = source

    def get(self, index: int, where: str) -> str:
        if 0 <= index < len(self._table):
            return self._table[index]
        raise ProfileError(
            f"{self._source}: {where} refers to string {index}, "
            f"but string_table has {len(self._table)} entries",
            hint="the profile is inconsistent; re-record it",
        )


def _resolve(message: Any, source: str, read_stacks: Any) -> Profile:
    """`message` is a `profile_pb2.Profile`, or `packed_samples`' RawProfile (the same fields,
    samples as packed bytes); `read_stacks` is the sample reader that fits it."""
    strings = _Strings(message.string_table, source)
    sample_types = tuple(
        ValueType(
            strings.get(vt.type, f"sample_type[{i}].type"),
            strings.get(vt.unit, f"sample_type[{i}].unit"),
        )
        for i, vt in enumerate(message.sample_type)
    )
    if not sample_types:
        raise ProfileError(
            f"{source} has no sample types (field sample_type is empty)",
            hint="the file is not a CPU profile written by pprof-rs or perf-identify record",
        )
    value_index = _value_index(message, sample_types, strings)
    _require_cpu_measure(sample_types, value_index, source)
    if message.duration_nanos < 0:
        raise ProfileError(
            f"{source}: duration_nanos is {message.duration_nanos}, a negative duration",
            hint="the profile is corrupt; re-record it",
        )

    functions: dict[int, Function] = {}
    for i, fn in enumerate(message.function):
        if fn.id == 0 or fn.id in functions:
            raise ProfileError(
                f"{source}: function[{i}] has id {fn.id}, which is "
                + ("reserved" if fn.id == 0 else "used twice"),
                hint="the profile is inconsistent; re-record it",
            )
        where = f"function {fn.id}"
        functions[fn.id] = Function(
            id=fn.id,
            name=strings.get(fn.name, f"{where} name"),
            system_name=strings.get(fn.system_name, f"{where} system_name"),
            filename=strings.get(fn.filename, f"{where} filename"),
            start_line=fn.start_line,
        )

    locations: dict[int, Location] = {}
    for i, loc in enumerate(message.location):
        if loc.id == 0 or loc.id in locations:
            raise ProfileError(
                f"{source}: location[{i}] has id {loc.id}, which is "
                + ("reserved" if loc.id == 0 else "used twice"),
                hint="the profile is inconsistent; re-record it",
            )
        lines: list[Line] = []
        for j, line in enumerate(loc.line):
            function = functions.get(line.function_id)
            if function is None:
                raise ProfileError(
                    f"{source}: location {loc.id} line[{j}] refers to function "
                    f"{line.function_id}, which does not exist",
                    hint="the profile is inconsistent; re-record it",
                )
            lines.append(Line(function, line.line))
        locations[loc.id] = Location(loc.id, loc.address, tuple(lines))

    if not message.sample:
        raise ProfileError(
            f"{source} has no samples (field sample is empty)",
            hint="the program ran too briefly to be sampled; profile a longer run",
        )
    stacks: Stacks = read_stacks(message, source, len(sample_types), value_index, locations.keys())
    if stacks.total == 0:
        raise ProfileError(
            f"{source}: every sample's {sample_types[value_index]} value is zero",
            hint="nothing was measured; profile a longer run",
        )

    period_type = (
        ValueType(
            strings.get(message.period_type.type, "period_type.type"),
            strings.get(message.period_type.unit, "period_type.unit"),
        )
        if message.HasField("period_type")
        else None
    )
    return Profile(
        source=source,
        sample_types=sample_types,
        value_index=value_index,
        stacks=stacks,
        locations=locations,
        period_type=period_type,
        period=message.period,
        duration_nanos=message.duration_nanos,
        time_nanos=message.time_nanos,
        kind=_kind(locations.values()),
    )


def _plain_stacks(
    message: profile_pb2.Profile,
    source: str,
    expected_values: int,
    value_index: int,
    location_ids: Iterable[int],
) -> Stacks:
    """The samples of a small profile, validated and merged by stack, in plain Python."""
    samples = message.sample
    for index, sample in enumerate(samples):
        if len(sample.value) != expected_values:
            raise sample_value_count_error(source, index, len(sample.value), expected_values)
    values = [sample.value[value_index] for sample in samples]
    for index, value in enumerate(values):
        check_sample_value(source, index, value)
    merged: dict[tuple[int, ...], int] = {}
    for sample, value in zip(samples, values, strict=True):
        key = tuple(sample.location_id)
        merged[key] = merged.get(key, 0) + value
    known = set(location_ids)
    if any(not known.issuperset(key) for key in merged):
        for index, sample in enumerate(samples):
            missing = next((i for i in sample.location_id if i not in known), None)
            if missing is not None:
                raise dangling_location_error(source, index, missing)
    ids = array("Q", [i for key in merged for i in key])
    offsets = array("q", [0])
    for key in merged:
        offsets.append(offsets[-1] + len(key))
    merged_values = array("q", merged.values())
    return Stacks(
        location_ids=memoryview(ids),
        offsets=memoryview(offsets),
        values=memoryview(merged_values),
        total=sum(merged_values),
        sample_count=len(values),
    )


def sample_value_count_error(source: str, index: int, found: int, expected: int) -> ProfileError:
    return ProfileError(
        f"{source}: sample {index} has {found} values, expected {expected} (one per sample_type)",
        hint="the profile is inconsistent; re-record it",
    )


def check_sample_value(source: str, index: int, value: int) -> None:
    """Refuse an implausible or negative value (the first one, by sample index)."""
    # Beyond 2**53 a value is no measurement (2**53 ns is 104 days), and sums could overflow.
    if value > MAX_SAMPLE_VALUE or value < -MAX_SAMPLE_VALUE:
        raise ProfileError(
            f"{source}: sample {index} has value {value}, beyond any plausible measurement",
            hint="the profile is corrupt; re-record it",
        )
    if value < 0:
        raise ProfileError(
            f"{source}: sample {index} has value {value}; "
            "a CPU profile's values are never negative",
            hint="the profile is corrupt or not a CPU profile; re-record it",
        )


def dangling_location_error(source: str, index: int, location_id: int) -> ProfileError:
    return ProfileError(
        f"{source}: sample {index} refers to location {location_id}, which does not exist",
        hint="the profile is inconsistent; re-record it",
    )


def is_cpu_measure(value_type: ValueType) -> bool:
    """Whether values of this type are CPU time: a unit of time, or `samples/count`."""
    return value_type.unit in TIME_UNITS or (
        value_type.type == "samples" and value_type.unit == "count"
    )


def _require_cpu_measure(
    sample_types: tuple[ValueType, ...], value_index: int, source: str
) -> None:
    chosen = sample_types[value_index]
    if is_cpu_measure(chosen):
        return
    listed = ", ".join(str(t) for t in sample_types)
    raise ProfileError(
        f"{source} measures {chosen} (sample types: {listed}), not CPU time",
        hint="rank a CPU profile: cpu/nanoseconds or samples/count, as make profile writes",
    )


def runtime_ms_from_duration(profile: Profile) -> int:
    """The Runtime in ms taken from the profile's `duration_nanos`, which must state one.

    A zero duration (or one under half a millisecond) would print `Runtime: 0ms` and be
    written into every issue file as a fact; no Runtime is better than a false one, so it is
    a `ProfileError` whose hint asks for `--runtime-ms`.
    """
    milliseconds = round(profile.duration_nanos / 1_000_000)
    if milliseconds <= 0:
        raise ProfileError(
            f"{profile.source} states no duration (duration_nanos is {profile.duration_nanos}), "
            "so the Runtime is unknown",
            hint="pass --runtime-ms with the benchmark's wall time, or let make analyze time it",
        )
    return milliseconds


def _value_index(message: Any, sample_types: tuple[ValueType, ...], strings: _Strings) -> int:
    default = strings.get(message.default_sample_type, "default_sample_type")
    if default:
        for index, value_type in enumerate(sample_types):
            if value_type.type == default:
                return index
    return len(sample_types) - 1


def _kind(locations: Iterable[Location]) -> ProfileKind:
    """Per-address when any Location carries an address or several Locations share a function.

    pprof-rs writes address 0 everywhere and exactly one Location per function name, so a
    profile with real addresses, or with one function at several Locations, has per-site lines.
    """
    seen: set[str] = set()
    for location in locations:
        if location.address:
            return ProfileKind.PER_ADDRESS
        for line in location.lines:
            if line.function.name in seen:
                return ProfileKind.PER_ADDRESS
            seen.add(line.function.name)
    return ProfileKind.PER_FUNCTION
