"""The samples of a large profile, read from their bytes and decoded with numpy.

Contract:

* `raw_profile_message()` returns an empty RawProfile: pprof's `Profile` with every field as in
  profile.proto except `sample`, which is read as raw bytes, one bytes object per sample. The
  protobuf library's C parser then builds no Python object per id or value (the old decoder's
  cost: most of 20 s on a million samples).
* `packed_stacks(message, source, expected_values, value_index, location_ids)` finds each
  sample's packed `location_id` and `value` with vectorised arithmetic over all samples at once,
  validates them exactly as `pprof._plain_stacks` does (value count, implausible or negative
  values, dangling location ids, each error naming the first sample by index), merges samples
  whose stacks are identical (the same packed bytes are the same ids) and returns the
  `pprof.Stacks`, ids as 32-bit integers when every id fits. A sample laid out otherwise (a
  field split in parts, ids or values not packed, labels) is read by the protobuf library, one
  sample at a time: every encoding proto3 allows is read, the common one fast. Varints are
  decoded in chunks of `CHUNK_BYTES`, so temporary arrays stay bounded.

Pure: bytes and messages in, arrays out; numpy is imported only by this module.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError
from numpy.typing import NDArray

from perf_identify._proto import profile_pb2
from perf_identify.errors import ProfileError
from perf_identify.pprof import (
    MAX_SAMPLE_VALUE,
    Stacks,
    check_sample_value,
    dangling_location_error,
    sample_value_count_error,
)

CHUNK_BYTES = 1 << 24
"""Bytes of packed varints decoded at a time (16 MiB: about 130 MiB of temporary arrays)."""

_RAW_PACKAGE = "perf_identify.raw"


def raw_profile_message() -> Any:
    """An empty RawProfile (see the module docstring); its type is built once per process."""
    return _raw_profile_class()()


@functools.cache
def _raw_profile_class() -> Any:
    base = descriptor_pb2.FileDescriptorProto()
    profile_pb2.DESCRIPTOR.CopyToProto(base)
    raw = descriptor_pb2.FileDescriptorProto(
        name="perf_identify/raw_profile.proto",
        package=_RAW_PACKAGE,
        dependency=[base.name],
        syntax="proto3",
    )
    profile = next(m for m in base.message_type if m.name == "Profile")
    raw_profile = raw.message_type.add()
    raw_profile.CopyFrom(profile)
    raw_profile.name = "RawProfile"
    for field in raw_profile.field:
        if field.name == "sample":
            field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
            field.ClearField("type_name")
        elif field.type_name and not field.type_name.startswith("."):
            field.type_name = f".{base.package}.{field.type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(base)
    pool.Add(raw)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_RAW_PACKAGE}.RawProfile"))


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each sample's packed fields lie in the joined sample bytes (end exclusive)."""

    ids_start: NDArray[np.int64]
    ids_end: NDArray[np.int64]
    values_start: NDArray[np.int64]
    values_end: NDArray[np.int64]
    other: NDArray[np.int64]
    """Samples laid out any other way: read by the protobuf library."""


def packed_stacks(
    message: Any,
    source: str,
    expected_values: int,
    value_index: int,
    location_ids: Iterable[int],
) -> Stacks:
    """The validated, merged samples of a RawProfile; see the module docstring."""
    parts = list(message.sample)
    count = len(parts)
    sample_lengths = np.fromiter(map(len, parts), dtype=np.int64, count=count)
    data = b"".join(parts)
    del parts
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts = np.zeros(count, dtype=np.int64)
    np.cumsum(sample_lengths[:-1], out=starts[1:])
    layout = _layout(buffer, starts, starts + sample_lengths)
    odd = {
        int(i): _read_sample(data[starts[i] : starts[i] + sample_lengths[i]], source)
        for i in layout.other
    }

    values = _sample_values(
        buffer, layout, odd, source, expected_values=expected_values, value_index=value_index
    )

    # Identical stacks are identical packed ids: samples are merged by those bytes.
    keys = list(
        map(data.__getitem__, map(slice, layout.ids_start.tolist(), layout.ids_end.tolist()))
    )
    del data, buffer
    for index, (odd_ids, _) in odd.items():
        keys[index] = b"".join(_varint_bytes(i) for i in odd_ids)
    inverse, representative = _stack_groups(keys)
    merged = np.zeros(len(representative), dtype=np.int64)
    np.add.at(merged, inverse, values)
    distinct_keys = [keys[i] for i in representative.tolist()]
    del keys
    lengths = np.fromiter(map(len, distinct_keys), dtype=np.int64, count=len(distinct_keys))
    distinct = b"".join(distinct_keys)
    del distinct_keys
    ids, per_stack = decode_varints(distinct, lengths, source, "location_id")
    del distinct
    ids = _narrowed(ids)
    offsets = np.zeros(len(per_stack) + 1, dtype=np.int64)
    np.cumsum(per_stack, out=offsets[1:])
    _require_known(ids, offsets, inverse, location_ids, source)
    return Stacks(
        location_ids=ids.data,
        offsets=offsets.data,
        values=merged.data,
        total=int(values.sum()),
        sample_count=count,
    )


def _sample_values(
    buffer: NDArray[np.uint8],
    layout: _Layout,
    odd: dict[int, tuple[tuple[int, ...], tuple[int, ...]]],
    source: str,
    *,
    expected_values: int,
    value_index: int,
) -> NDArray[np.int64]:
    """Each sample's value at the value index, validated as `pprof._plain_stacks` does."""
    count = len(layout.values_start)
    value_lengths = layout.values_end - layout.values_start
    decoded, per_sample = decode_varints(
        _gather(buffer, layout.values_start, value_lengths), value_lengths, source, "value"
    )
    for index, (_, odd_values) in odd.items():
        per_sample[index] = len(odd_values)
    wrong = np.flatnonzero(per_sample != expected_values)
    if wrong.size:
        first = int(wrong[0])
        raise sample_value_count_error(source, first, int(per_sample[first]), expected_values)
    values = np.zeros(count, dtype=np.int64)
    regular = np.ones(count, dtype=bool)
    regular[layout.other] = False
    values[regular] = decoded.view(np.int64).reshape(-1, expected_values)[:, value_index]
    for index, (_, odd_values) in odd.items():
        values[index] = odd_values[value_index]
    del decoded
    bad = np.flatnonzero((values > MAX_SAMPLE_VALUE) | (values < 0))
    if bad.size:
        check_sample_value(source, int(bad[0]), int(values[bad[0]]))

    return values


def _stack_groups(keys: list[bytes]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Group the samples whose packed ids are the same bytes: each sample's group, and each
    group's first sample, groups in order of first appearance.

    A dict of the bytes, driven by `map` over builtins so that no Python bytecode runs per
    sample: a million samples are grouped in a fraction of a second."""
    count = len(keys)
    first_of: dict[bytes, int] = {}
    firsts = np.fromiter(map(first_of.setdefault, keys, range(count)), dtype=np.int64, count=count)
    del first_of
    # A group's first sample is the one that is its own first; groups are numbered in that
    # order by a running count (linear, where np.unique would sort a million ids).
    starts_group = firsts == np.arange(count, dtype=np.int64)
    representative = np.flatnonzero(starts_group)
    number = np.cumsum(starts_group, dtype=np.int64) - 1
    return number[firsts], representative.astype(np.int64)


def _layout(
    buffer: NDArray[np.uint8], starts: NDArray[np.int64], ends: NDArray[np.int64]
) -> _Layout:
    """Each sample as written by pprof-rs and Go's pprof: packed ids (field 1), then packed
    values (field 2), nothing else; an empty field may be absent. Others go to `other`."""
    count = len(starts)
    position = starts.copy()
    ok = np.ones(count, dtype=bool)
    regions: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = []
    for tag in (0x0A, 0x12):
        here = (position < ends) & (_byte_at(buffer, position, ends) == tag)
        length, width = _varint_at(buffer, position + 1, ends, here)
        start = np.where(here, position + 1 + width, position)
        end = np.where(here, start + length, position)
        ok &= end <= ends
        regions.append((start, np.minimum(end, ends)))
        position = np.where(ok, end, ends)
    ok &= position == ends
    other = np.flatnonzero(~ok)
    (ids_start, ids_end), (values_start, values_end) = regions
    for array in (ids_start, ids_end, values_start, values_end):
        array[other] = 0
    return _Layout(ids_start, ids_end, values_start, values_end, other)


def _byte_at(
    buffer: NDArray[np.uint8], position: NDArray[np.int64], ends: NDArray[np.int64]
) -> NDArray[np.int64]:
    """The byte at each position (-1 past its sample's end)."""
    if not len(buffer):
        return np.full(len(position), -1, dtype=np.int64)
    # One gather at clipped positions, then a mask: cheaper than gathering the inside rows.
    byte = buffer[np.minimum(position, len(buffer) - 1)].astype(np.int64)
    return np.where(position < ends, byte, -1)


def _varint_at(
    buffer: NDArray[np.uint8],
    position: NDArray[np.int64],
    ends: NDArray[np.int64],
    where: NDArray[np.bool_],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The varint at each position where `where` (a length, so at most 5 bytes read), and its
    width in bytes; a varint running past its sample's end gives a length past it."""
    first = _byte_at(buffer, position, ends)
    inside = where & (first >= 0)
    value = np.where(inside, first & 0x7F, 0)
    width = inside.astype(np.int64)
    going = inside & (first >= 0x80)
    finished = inside & ~going
    # Lengths of 128 bytes or more are the few that need a second byte, or more.
    rows = np.flatnonzero(going)
    for k in range(1, 5):
        at = position[rows] + k
        rows = rows[at < ends[rows]]
        byte = buffer[position[rows] + k].astype(np.int64)
        value[rows] |= (byte & 0x7F) << (7 * k)
        width[rows] = k + 1
        last = byte < 0x80
        finished[rows[last]] = True
        rows = rows[~last]
    # Unfinished (past the sample's end, or longer than 5 bytes): a length no sample can hold.
    value[where & ~finished] = np.iinfo(np.int64).max // 2
    return value, width


def _gather(
    buffer: NDArray[np.uint8], starts: NDArray[np.int64], lengths: NDArray[np.int64]
) -> bytes:
    """The bytes of every [start, start + length) region, concatenated. Used for the values (a
    few bytes per sample); the ids are sliced as bytes, which needs no index array."""
    total = int(lengths.sum())
    if total == 0:
        return b""
    region_starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=region_starts[1:])
    index = np.repeat(starts - region_starts, lengths) + np.arange(total, dtype=np.int64)
    return buffer[index].tobytes()


def _read_sample(raw: bytes, source: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """One sample laid out otherwise, read by the protobuf library: its ids and values."""
    sample = profile_pb2.Sample()
    try:
        sample.ParseFromString(raw)
    except DecodeError as exc:
        raise ProfileError(
            f"{source} is not a pprof protobuf ({exc})",
            hint="the file is truncated or not a profile; re-run make profile",
        ) from exc
    return tuple(sample.location_id), tuple(sample.value)


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _varint_width(lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """Bytes of the varint of each non-negative length."""
    width = np.ones(len(lengths), dtype=np.int64)
    for shift in range(7, 64, 7):
        width += lengths >= (1 << shift)
    return width


def decode_varints(
    buffer: bytes, part_lengths: NDArray[np.int64], source: str, field: str
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Every varint of `buffer` (parts of `part_lengths` bytes, concatenated), as unsigned
    64-bit integers, and how many varints each part holds. A part that does not end on a whole
    varint is a `ProfileError` (the profile is corrupt)."""
    data = np.frombuffer(buffer, dtype=np.uint8)
    ends = np.cumsum(part_lengths)
    nonempty = part_lengths > 0
    if len(data) and (data[ends[nonempty] - 1] >= 0x80).any():
        raise ProfileError(
            f"{source}: a sample's packed {field} ends inside a varint",
            hint="the profile is corrupt; re-record it",
        )
    total = 0
    for start, stop in _chunks(data):
        total += int(np.count_nonzero(data[start:stop] < 0x80))
    out = np.empty(total, dtype=np.uint64)
    # Varints before each part's end, chunk by chunk (`ends` ascend, as the chunks do).
    before_end = np.empty(len(ends), dtype=np.int64)
    written = 0
    next_part = 0
    for start, stop in _chunks(data):
        chunk = data[start:stop]
        stops = np.flatnonzero(chunk < 0x80)
        firsts = np.empty_like(stops)
        firsts[0] = 0
        firsts[1:] = stops[:-1] + 1
        width = stops - firsts + 1
        if int(width.max()) > 10:
            raise ProfileError(
                f"{source}: a varint of the packed {field} is longer than 10 bytes",
                hint="the profile is corrupt; re-record it",
            )
        values = (chunk[firsts] & 0x7F).astype(np.uint64)
        for k in range(1, int(width.max())):
            longer = np.flatnonzero(width > k)
            values[longer] |= (chunk[firsts[longer] + k] & 0x7F).astype(np.uint64) << np.uint64(
                7 * k
            )
        out[written : written + len(values)] = values
        last = next_part + int(np.searchsorted(ends[next_part:], stop, side="right"))
        before_end[next_part:last] = written + np.searchsorted(
            stops, ends[next_part:last] - start, side="left"
        )
        next_part = last
        written += len(values)
    before_end[next_part:] = written
    per_part = np.diff(before_end, prepend=0)
    return out, per_part


def _chunks(data: NDArray[np.uint8]) -> Iterable[tuple[int, int]]:
    """[start, stop) ranges of about `CHUNK_BYTES`, each ending just after a varint's last byte."""
    start = 0
    size = len(data)
    while start < size:
        stop = min(start + CHUNK_BYTES, size)
        if stop < size:
            tail = np.flatnonzero(data[start:stop] < 0x80)
            stop = start + int(tail[-1]) + 1 if tail.size else size
        yield start, stop
        start = stop


def _narrowed(ids: NDArray[np.uint64]) -> NDArray[Any]:
    """32-bit ids when every id fits (half the memory of a million stacks' frames)."""
    if not len(ids) or int(ids.max()) < (1 << 32):
        return ids.astype(np.uint32)
    return ids


def _require_known(
    ids: NDArray[Any],
    offsets: NDArray[np.int64],
    inverse: NDArray[np.int64],
    location_ids: Iterable[int],
    source: str,
) -> None:
    """Every id names a Location; else the error names the first sample that refers to one."""
    known = np.fromiter(location_ids, dtype=np.uint64)
    dangling = np.flatnonzero(~np.isin(ids.astype(np.uint64, copy=False), known))
    if not dangling.size:
        return
    stacks = np.unique(np.searchsorted(offsets, dangling, side="right") - 1)
    first_sample = int(np.flatnonzero(np.isin(inverse, stacks))[0])
    stack = int(inverse[first_sample])
    # Its first dangling id: the first dangling position at or after the stack's start.
    position = int(dangling[np.searchsorted(dangling, offsets[stack])])
    raise dangling_location_error(source, first_sample, int(ids[position]))
