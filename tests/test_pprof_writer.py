"""pprof_writer: resolved stacks -> gzip pprof bytes, decoded back and checked field by field."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from perf_identify._proto import profile_pb2
from perf_identify.pprof_writer import (
    MappingInfo,
    ResolvedLocation,
    ResolvedStack,
    SourceLine,
    build_profile,
    function_name,
    write_profile,
)

VM = "/src/vm"
STD = "/rustc/abc/library/core/src"
WRAPPING_MUL = SourceLine("<u64>::wrapping_mul", "", f"{STD}/num/uint_macros.rs", 2533)
MIX = SourceLine("vm::mix", "", f"{VM}/main.rs", 5)
HOT_FN_12 = SourceLine("vm::hot_fn", "_ZN2vm6hot_fn17h4068c1523076404cE", f"{VM}/main.rs", 12)
HOT_FN_11 = SourceLine("vm::hot_fn", "_ZN2vm6hot_fn17h4068c1523076404cE", f"{VM}/main.rs", 11)
MAIN = SourceLine(
    "vm::main::h8da7fa642d137fc6", "_ZN2vm4main17h8da7fa642d137fc6E", f"{VM}/main.rs", 33
)
KERNEL = SourceLine("do_syscall_64", "do_syscall_64", "", 0)

INLINED = ResolvedLocation("/bin/vm", 0x15899, (WRAPPING_MUL, MIX, HOT_FN_12))
PLAIN = ResolvedLocation("/bin/vm", 0x15870, (HOT_FN_11,))
CALLER = ResolvedLocation("/bin/vm", 0x15404, (MAIN,))
SYSCALL = ResolvedLocation("[kernel.kallsyms]", 0xFFFFFFFF8225A6C1, (KERNEL,))

STACKS = [
    ResolvedStack((INLINED, CALLER), 5, "vm"),
    ResolvedStack((PLAIN, CALLER), 2, "vm"),
    ResolvedStack((INLINED, CALLER), 1, "vm"),  # same stack again: adds to the first Sample
    ResolvedStack((SYSCALL, CALLER), 1, "vm"),
    ResolvedStack((PLAIN, CALLER), 3, "worker"),  # same stack, other thread: its own Sample
]
MAPPINGS = [MappingInfo("/bin/vm", 0x14E20, 0x54430, 0x13E20, "b07e62cc")]


def decode(data: bytes) -> profile_pb2.Profile:
    profile = profile_pb2.Profile()
    profile.ParseFromString(gzip.decompress(data))
    return profile


def written() -> profile_pb2.Profile:
    return decode(
        write_profile(
            STACKS,
            frequency_hz=999,
            duration_nanos=2_500_000_000,
            time_nanos=1_700_000_000_000_000_000,
            mappings=MAPPINGS,
        )
    )


def names(profile: profile_pb2.Profile, location: profile_pb2.Location) -> list[tuple[str, int]]:
    functions = {f.id: f for f in profile.function}
    return [
        (profile.string_table[functions[line.function_id].name], line.line)
        for line in location.line
    ]


def test_the_output_is_gzip_and_deterministic() -> None:
    first = write_profile(STACKS, frequency_hz=999, duration_nanos=1, time_nanos=2)
    second = write_profile(STACKS, frequency_hz=999, duration_nanos=1, time_nanos=2)
    assert first[:2] == b"\x1f\x8b"
    assert first == second


def test_header_fields() -> None:
    profile = written()
    strings = profile.string_table
    assert strings[0] == ""
    assert [(strings[t.type], strings[t.unit]) for t in profile.sample_type] == [
        ("samples", "count"),
        ("cpu", "nanoseconds"),
    ]
    assert (strings[profile.period_type.type], strings[profile.period_type.unit]) == (
        "cpu",
        "nanoseconds",
    )
    assert profile.period == 1_000_000_000 // 999
    assert profile.duration_nanos == 2_500_000_000
    assert profile.time_nanos == 1_700_000_000_000_000_000
    assert profile.default_sample_type == 0
    assert len(set(strings)) == len(strings), "strings are interned once"


def test_one_sample_per_distinct_stack_and_thread() -> None:
    profile = written()
    strings = profile.string_table
    period = profile.period
    samples = [
        (
            list(s.location_id),
            list(s.value),
            [(strings[label.key], strings[label.str]) for label in s.label],
        )
        for s in profile.sample
    ]
    assert samples == [
        ([1, 2], [6, 6 * period], [("thread", "vm")]),
        ([3, 2], [2, 2 * period], [("thread", "vm")]),
        ([4, 2], [1, period], [("thread", "vm")]),
        ([3, 2], [3, 3 * period], [("thread", "worker")]),
    ]


def test_one_location_per_address_with_inlined_lines_innermost_first() -> None:
    profile = written()
    assert [location.id for location in profile.location] == [1, 2, 3, 4]
    assert [location.address for location in profile.location] == [
        0x15899,
        0x15404,
        0x15870,
        0xFFFFFFFF8225A6C1,
    ]
    inlined = profile.location[0]
    assert names(profile, inlined) == [
        ("<u64>::wrapping_mul", 2533),
        ("vm::mix", 5),
        ("vm::hot_fn", 12),
    ]
    # The same function at another address has its own true line.
    assert names(profile, profile.location[2]) == [("vm::hot_fn", 11)]
    assert names(profile, profile.location[3]) == [("do_syscall_64", 0)]


def test_functions_are_keyed_by_name_and_file_without_hashes() -> None:
    profile = written()
    strings = profile.string_table
    functions = [
        (strings[f.name], strings[f.system_name], strings[f.filename], f.start_line)
        for f in profile.function
    ]
    assert functions == [
        ("<u64>::wrapping_mul", "", f"{STD}/num/uint_macros.rs", 0),
        ("vm::mix", "", f"{VM}/main.rs", 0),
        ("vm::hot_fn", "_ZN2vm6hot_fn17h4068c1523076404cE", f"{VM}/main.rs", 0),
        ("vm::main", "_ZN2vm4main17h8da7fa642d137fc6E", f"{VM}/main.rs", 0),
        ("do_syscall_64", "do_syscall_64", "", 0),
    ]
    assert [f.id for f in profile.function] == [1, 2, 3, 4, 5]


def test_a_function_first_seen_inlined_gets_its_symbol_when_seen_physical() -> None:
    inlined = ResolvedLocation("/bin/vm", 0x10, (SourceLine("vm::f", "", "/a.rs", 3),))
    physical = ResolvedLocation("/bin/vm", 0x20, (SourceLine("vm::f", "_ZN2vm1f", "/a.rs", 4),))
    profile = build_profile(
        [ResolvedStack((inlined,), 1), ResolvedStack((physical,), 1)],
        frequency_hz=100,
        duration_nanos=0,
        time_nanos=0,
    )
    assert len(profile.function) == 1
    assert profile.string_table[profile.function[0].system_name] == "_ZN2vm1f"
    # No thread given: no label.
    assert all(not sample.label for sample in profile.sample)


def test_mappings_are_marked_symbolised_and_locations_point_at_them() -> None:
    profile = written()
    strings = profile.string_table
    (mapping,) = profile.mapping
    assert mapping.id == 1
    assert strings[mapping.filename] == "/bin/vm"
    assert strings[mapping.build_id] == "b07e62cc"
    assert (mapping.memory_start, mapping.memory_limit, mapping.file_offset) == (
        0x14E20,
        0x54430,
        0x13E20,
    )
    assert mapping.has_functions
    assert mapping.has_filenames
    assert mapping.has_line_numbers
    assert mapping.has_inline_frames
    assert [location.mapping_id for location in profile.location] == [1, 1, 1, 0]


def test_function_name_strips_only_a_rustc_hash() -> None:
    assert function_name("hot::build::hc7871affb95ee218") == "hot::build"
    assert function_name("alloc::vec::Vec<T,A>::extend_desugared") == (
        "alloc::vec::Vec<T,A>::extend_desugared"
    )
    assert function_name("a::hash::h") == "a::hash::h"


def test_empty_stacks_and_zero_counts_make_no_samples() -> None:
    profile = build_profile(
        [ResolvedStack((), 3), ResolvedStack((PLAIN,), 0)],
        frequency_hz=1000,
        duration_nanos=0,
        time_nanos=0,
    )
    assert not profile.sample
    assert profile.period == 1_000_000


def test_frequency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="frequency_hz"):
        build_profile(STACKS, frequency_hz=0, duration_nanos=0, time_nanos=0)


@pytest.mark.skipif(shutil.which("go") is None, reason="go (for go tool pprof) is not installed")
def test_go_tool_pprof_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "profile.pb"
    path.write_bytes(
        write_profile(
            STACKS, frequency_hz=1000, duration_nanos=10**9, time_nanos=0, mappings=MAPPINGS
        )
    )
    top = subprocess.run(
        ["go", "tool", "pprof", "-top", "-nodecount=20", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert "Type: cpu" in top
    # Full names: pprof does not re-demangle (and cut) names whose system_name differs.
    assert "<u64>::wrapping_mul (inline)" in top
    assert "vm::hot_fn" in top
    assert "Total samples = 12ms" in top
