"""Decoding: real fixtures, builder profiles, and every way a profile can be broken."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from perf_identify._proto import profile_pb2
from perf_identify.errors import ProfileError
from perf_identify.pprof import ProfileKind, decode_profile, runtime_ms_from_duration
from tests.builders import ProfileBuilder

FIXTURE_NAMES = [
    "aoc2018_day05",
    "aoc2018_day09",
    "aoc2022_day11",
    "aoc2022_day12",
    "aoc2023_day05",
]


def _simple() -> ProfileBuilder:
    builder = ProfileBuilder()
    builder.sample(
        ["core::hint::select_unpredictable", "lang::vm::runtime::VM::index_op", "main"], 3
    )
    builder.sample(["lang::vm::runtime::VM::execute_until", "main"], 1)
    return builder


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_real_profiles_decode_with_pprof_rs_shape(shared_fixtures: Path, name: str) -> None:
    path = shared_fixtures / "profiles" / name / "profile.pb"
    profile = decode_profile(path.read_bytes(), str(path))
    assert [str(t) for t in profile.sample_types] == ["samples/count", "cpu/nanoseconds"]
    assert profile.value_index == 1
    assert profile.kind is ProfileKind.PER_FUNCTION
    assert profile.period == 1_000_000
    assert profile.total > 0
    assert profile.total % 1_000_000 == 0
    assert all(len(loc.lines) == 1 for loc in profile.locations.values())


def test_raw_and_gzip_decode_identically() -> None:
    builder = _simple()
    raw = decode_profile(builder.build(), "raw")
    packed = decode_profile(builder.build(compress=True), "gz")
    assert raw.total == packed.total == 4_000_000
    assert [s.location_ids for s in raw.samples] == [s.location_ids for s in packed.samples]


def test_value_index_is_last_type_without_default() -> None:
    builder = ProfileBuilder(sample_types=(("samples", "count"), ("cpu", "nanoseconds")))
    builder.sample(["lang::vm::runtime::VM::run"], 2)
    profile = decode_profile(builder.build(), "p")
    assert profile.value_index == 1
    assert profile.samples[0].value == 2_000_000


def test_default_sample_type_selects_its_index() -> None:
    builder = ProfileBuilder(default_sample_type="samples")
    builder.sample(["lang::vm::runtime::VM::run"], 2)
    profile = decode_profile(builder.build(), "p")
    assert profile.value_index == 0
    assert profile.samples[0].value == 2
    assert str(profile.value_type) == "samples/count"


def test_three_sample_types_and_unknown_default_fall_back_to_last() -> None:
    builder = ProfileBuilder(
        sample_types=(("samples", "count"), ("cpu", "nanoseconds"), ("wall", "nanoseconds")),
        default_sample_type="wall",
    )
    builder.sample(["lang::vm::runtime::VM::run"], 1)
    profile = decode_profile(builder.build(), "p")
    assert profile.value_index == 2


def test_inlined_lines_are_kept_innermost_first() -> None:
    builder = ProfileBuilder(per_function=False)
    inlined = [
        ("alloc::vec::Vec<T,A>::push", "/rustc/x/library/alloc/src/vec/mod.rs", 2410),
        ("lang::vm::runtime::VM::push", "/repo/lang/src/vm/runtime.rs", 88),
    ]
    builder.sample([inlined, ("lang::vm::runtime::VM::run", "/repo/lang/src/vm/runtime.rs", 140)])
    profile = decode_profile(builder.build(), "p")
    leaf = profile.locations[profile.samples[0].location_ids[0]]
    assert [line.function.name for line in leaf.lines] == [
        "alloc::vec::Vec<T,A>::push",
        "lang::vm::runtime::VM::push",
    ]
    assert [line.line for line in leaf.lines] == [2410, 88]
    assert profile.kind is ProfileKind.PER_ADDRESS


def _corrupt(mutate: object) -> bytes:
    message = _simple().message()
    assert callable(mutate)
    mutate(message)
    return message.SerializeToString()


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda m: m.sample[0].location_id.append(999), "refers to location 999"),
        (lambda m: m.location[0].line[0].__setattr__("function_id", 77), "function 77"),
        (lambda m: m.function[0].__setattr__("name", 10_000), "refers to string 10000"),
        (lambda m: m.ClearField("sample_type"), "no sample types"),
        (lambda m: m.ClearField("sample"), "no samples"),
        (lambda m: m.sample[0].value.pop(), "expected 2 (one per sample_type)"),
        (lambda m: m.string_table.__setitem__(0, "x"), "string_table[0]"),
        (lambda m: m.location[1].__setattr__("id", m.location[0].id), "used twice"),
        (lambda m: m.sample[0].value.__setitem__(1, -(2**63)), "beyond any plausible"),
        (lambda m: m.sample[1].value.__setitem__(1, 2**62), "sample 1 has value"),
    ],
)
def test_inconsistent_profiles_name_the_field(mutate: object, fragment: str) -> None:
    with pytest.raises(ProfileError) as caught:
        decode_profile(_corrupt(mutate), "perf/profile.pb")
    assert "perf/profile.pb" in caught.value.message
    assert fragment in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    "sample_types",
    [
        (("alloc_space", "bytes"),),
        (("alloc_objects", "count"), ("alloc_space", "bytes")),
        (("contentions", "count"),),
    ],
)
def test_a_profile_that_does_not_measure_cpu_time_is_refused(
    sample_types: tuple[tuple[str, str], ...],
) -> None:
    builder = ProfileBuilder(sample_types=sample_types)
    builder.sample(["lang::vm::runtime::VM::run"], 3)
    with pytest.raises(ProfileError) as caught:
        decode_profile(builder.build(), "heap.pb")
    measured = "/".join(sample_types[-1])
    assert f"heap.pb measures {measured}" in caught.value.message
    assert "not CPU time" in caught.value.message
    assert "cpu/nanoseconds" in caught.value.hint


@pytest.mark.parametrize(
    "sample_types",
    [(("cpu", "nanoseconds"),), (("samples", "count"),), (("wall", "microseconds"),)],
)
def test_time_and_sample_counts_are_accepted(sample_types: tuple[tuple[str, str], ...]) -> None:
    builder = ProfileBuilder(sample_types=sample_types)
    builder.sample(["lang::vm::runtime::VM::run"], 3)
    assert decode_profile(builder.build(), "p").total > 0


def test_negative_values_and_durations_are_refused() -> None:
    builder = ProfileBuilder()
    builder.sample(["lang::vm::runtime::VM::run"], 3)
    builder.sample(["lang::vm::runtime::VM::step"], -2)
    with pytest.raises(ProfileError, match="sample 1 has value -2000000; a CPU profile"):
        decode_profile(builder.build(), "p")
    builder = ProfileBuilder(duration_nanos=-5)
    builder.sample(["lang::vm::runtime::VM::run"], 3)
    with pytest.raises(ProfileError, match="duration_nanos is -5, a negative duration"):
        decode_profile(builder.build(), "p")


@pytest.mark.parametrize("duration_nanos", [0, 400_000])
def test_a_profile_without_a_duration_gives_no_runtime(duration_nanos: int) -> None:
    builder = ProfileBuilder(duration_nanos=duration_nanos)
    builder.sample(["lang::vm::runtime::VM::run"], 3)
    profile = decode_profile(builder.build(), "p")
    with pytest.raises(ProfileError, match="states no duration") as caught:
        runtime_ms_from_duration(profile)
    assert "--runtime-ms" in caught.value.hint
    assert (
        runtime_ms_from_duration(decode_profile(ProfileBuilder().sample(["f"], 1).build(), "p"))
        == 1000
    )


def test_all_zero_values_are_rejected() -> None:
    builder = ProfileBuilder()
    builder.sample(["lang::vm::runtime::VM::run"], 0)
    with pytest.raises(ProfileError, match="value is zero"):
        decode_profile(builder.build(), "p")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "is empty"),
        (b"\x1f\x8b\x08\x00garbage", "gzip file"),
        (b"\xff\xff\xff\xff\xff", "not a pprof protobuf"),
    ],
)
def test_unreadable_bytes(data: bytes, fragment: str) -> None:
    with pytest.raises(ProfileError, match=fragment):
        decode_profile(data, "p")


def test_truncated_gzip_is_reported() -> None:
    data = _simple().build(compress=True)
    with pytest.raises(ProfileError, match=r"truncated|damaged"):
        decode_profile(data[: len(data) // 2], "p")


def test_truncated_raw_protobuf_is_reported() -> None:
    data = _simple().build()
    with pytest.raises(ProfileError):
        decode_profile(data[: len(data) - 7], "p")


def test_gzip_bomb_is_capped() -> None:
    bomb = gzip.compress(b"\x00" * (4 << 20))
    with pytest.raises(ProfileError, match="inflates to more than"):
        decode_profile(bomb, "p", max_inflated_bytes=1 << 20)


def test_empty_message_has_no_string_table() -> None:
    data = profile_pb2.Profile(duration_nanos=5).SerializeToString()
    with pytest.raises(ProfileError, match="string_table is empty"):
        decode_profile(data, "p")
