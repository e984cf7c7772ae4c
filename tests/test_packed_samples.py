"""The packed decoder of large profiles gives what the plain one gives, or defers to it.

`decode_profile(..., packed_from=0)` sends any profile through `packed_samples`; every test here
holds its result equal to the plain decoder's on the same bytes, including the errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_identify._proto import profile_pb2
from perf_identify.errors import ProfileError
from perf_identify.pprof import Profile, decode_profile
from tests.builders import ProfileBuilder, guess_file
from tests.test_pprof import FIXTURE_NAMES, _corrupt


def _both(data: bytes) -> tuple[Profile, Profile]:
    return decode_profile(data, "p.pb"), decode_profile(data, "p.pb", packed_from=0)


def _same(plain: Profile, packed: Profile) -> None:
    assert packed.stack_location_ids.tolist() == plain.stack_location_ids.tolist()
    assert packed.stack_offsets.tolist() == plain.stack_offsets.tolist()
    assert packed.values.tolist() == plain.values.tolist()
    assert (packed.total, packed.sample_count) == (plain.total, plain.sample_count)
    assert packed.locations == plain.locations
    assert packed.kind is plain.kind
    assert packed.sample_types == plain.sample_types


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


_NAMES = [f"lang::vm::runtime::VM::op{i}" for i in range(6)] + ["core::ptr::write", "main"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(_NAMES), max_size=8), st.integers(1, 3)),
        min_size=1,
        max_size=12,
    )
)
def test_the_packed_path_decodes_what_the_plain_one_does(
    stacks: list[tuple[list[str], int]],
) -> None:
    builder = ProfileBuilder()
    for stack, count in stacks:
        builder.sample([(name, guess_file(name), 3) for name in stack], count)
    try:
        plain = decode_profile(builder.build(), "p.pb")
    except ProfileError:
        return
    _same(plain, decode_profile(builder.build(), "p.pb", packed_from=0))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_real_profiles_decode_the_same_both_ways(shared_fixtures: Path, name: str) -> None:
    _same(*_both((shared_fixtures / "profiles" / name / "profile.pb").read_bytes()))


def test_identical_stacks_are_merged_and_the_samples_still_counted() -> None:
    builder = ProfileBuilder()
    for _ in range(3):
        builder.sample(["lang::vm::runtime::VM::run", "main"], 2)
    builder.sample(["main"], 1)
    for profile in _both(builder.build()):
        assert profile.sample_count == 4
        assert [s.value for s in profile.samples] == [6_000_000, 1_000_000]
        assert profile.total == 7_000_000


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda m: m.sample[0].location_id.append(999), "sample 0 refers to location 999"),
        (lambda m: m.sample[0].value.pop(), "sample 0 has 1 values, expected 2"),
        (lambda m: m.sample[0].value.__setitem__(1, -(2**63)), "beyond any plausible"),
        (lambda m: m.sample[1].value.__setitem__(1, -3), "sample 1 has value -3; a CPU"),
        (lambda m: m.sample[1].value.__setitem__(1, 2**62), "sample 1 has value"),
    ],
)
def test_bad_samples_are_the_same_errors_both_ways(mutate: object, fragment: str) -> None:
    data = _corrupt(mutate)
    messages = []
    for packed_from in (1 << 30, 0):
        with pytest.raises(ProfileError) as caught:
            decode_profile(data, "p.pb", packed_from=packed_from)
        assert fragment in caught.value.message
        messages.append(caught.value.message)
    assert messages[0] == messages[1]


def _unpacked_profile() -> bytes:
    """A profile whose samples carry one varint per id and value (not packed): legal protobuf."""
    builder = ProfileBuilder()
    builder.sample(["lang::vm::runtime::VM::run", "main"], 2)
    builder.sample(["main"], 1)
    message = profile_pb2.Profile()
    message.ParseFromString(builder.build())
    samples = list(message.sample)
    message.ClearField("sample")
    out = message.SerializeToString()
    for sample in samples:
        body = b"".join(b"\x08" + _varint(i) for i in sample.location_id)
        body += b"".join(b"\x10" + _varint(v) for v in sample.value)
        out += _field(2, body)
    return out


def test_a_profile_that_does_not_pack_is_decoded_the_plain_way() -> None:
    plain, packed = _both(_unpacked_profile())
    _same(plain, packed)
    assert [s.value for s in packed.samples] == [2_000_000, 1_000_000]


def test_a_packed_field_split_in_two_parts_is_read_whole() -> None:
    builder = ProfileBuilder()
    builder.sample(["lang::vm::runtime::VM::run", "lang::vm::runtime::VM::step", "main"], 2)
    message = profile_pb2.Profile()
    message.ParseFromString(builder.build())
    [sample] = list(message.sample)
    ids = list(sample.location_id)
    message.ClearField("sample")
    body = _field(1, b"".join(_varint(i) for i in ids[:1]))
    body += _field(1, b"".join(_varint(i) for i in ids[1:]))
    body += _field(2, b"".join(_varint(v) for v in sample.value))
    data = message.SerializeToString() + _field(2, body)
    plain, packed = _both(data)
    _same(plain, packed)
    assert packed.samples[0].location_ids == tuple(ids)


def test_a_varint_cut_at_the_end_of_its_part_is_corrupt() -> None:
    builder = ProfileBuilder()
    builder.sample(["lang::vm::runtime::VM::run"], 2)
    message = profile_pb2.Profile()
    message.ParseFromString(builder.build())
    [sample] = list(message.sample)
    message.ClearField("sample")
    body = _field(1, b"\x81") + _field(2, b"".join(_varint(v) for v in sample.value))
    with pytest.raises(ProfileError, match="ends inside a varint"):
        decode_profile(message.SerializeToString() + _field(2, body), "p.pb", packed_from=0)


def test_ids_past_32_bits_stay_whole() -> None:
    builder = ProfileBuilder()
    builder.sample(["lang::vm::runtime::VM::run"], 2)
    message = profile_pb2.Profile()
    message.ParseFromString(builder.build())
    big = (1 << 40) + 7
    message.location[0].id = big
    message.sample[0].location_id[0] = big
    plain, packed = _both(message.SerializeToString())
    _same(plain, packed)
    assert packed.stack_location_ids.tolist() == [big]
    assert packed.stack_location_ids.itemsize == 8
