"""perf_script: `perf script` text -> folded raw samples, checked on a real capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf_identify.perf_script import (
    PERF_SCRIPT_ARGS,
    MmapEvent,
    PerfScriptParseError,
    RawFrame,
    file_offset,
    index_mmaps,
    parse_frame,
    parse_perf_script,
)

DATA = Path(__file__).parent / "data" / "perf"
CAPTURE = DATA / "hot.perf-script.txt"
BINARY = "/tmp/exp/e2e/hot"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"


def capture_lines() -> list[str]:
    return CAPTURE.read_text().splitlines(keepends=True)


def headers(lines: list[str]) -> list[str]:
    return [
        line
        for line in lines
        if line.strip() and not line.startswith("\t") and "PERF_RECORD" not in line
    ]


def test_the_capture_is_small_enough_to_keep_in_the_repo() -> None:
    assert CAPTURE.stat().st_size < 200_000


def test_every_sample_of_the_capture_is_counted_once() -> None:
    lines = capture_lines()
    script = parse_perf_script(lines)
    assert script.sample_count == len(headers(lines)) == 74
    # Identical stacks are folded: fewer samples than perf printed, none empty.
    assert len(script.samples) < script.sample_count
    assert all(sample.count >= 1 and sample.frames for sample in script.samples)


def test_samples_carry_thread_and_process() -> None:
    script = parse_perf_script(capture_lines())
    assert {(s.comm, s.pid, s.tid) for s in script.samples} == {("hot", 12178, 12178)}


def test_frames_are_leaf_first_and_end_at_the_entry_point() -> None:
    script = parse_perf_script(capture_lines())
    complete = [s for s in script.samples if s.frames[-1].symbol == "_start"]
    assert len(complete) >= len(script.samples) * 0.8
    hot = [s for s in script.samples if s.frames[0].symbol.startswith("_ZN4main6hot_fn")]
    assert hot, "the capture samples hot_fn as a leaf"
    chain = [frame.symbol for frame in hot[0].frames]
    assert chain[-1] == "_start"
    assert any(symbol.startswith("_ZN4main4main") for symbol in chain)


def test_raw_symbols_offsets_and_dsos_are_kept_as_perf_printed_them() -> None:
    script = parse_perf_script(capture_lines())
    frames = {frame for sample in script.samples for frame in sample.frames}
    hot_fn = next(f for f in frames if f.symbol == "_ZN4main6hot_fn17h4068c1523076404cE")
    assert hot_fn.dso == BINARY
    assert hot_fn.symbol_offset is not None
    # perf 6.1 prints file offsets: hot_fn is at vaddr 0x15840 in a segment 0x1000 above its
    # file offset, so its offsets start at 0x14840.
    assert hot_fn.address == 0x14840 + hot_fn.symbol_offset
    assert any(f.dso == LIBC for f in frames)


def test_kernel_frames_keep_absolute_addresses() -> None:
    script = parse_perf_script(capture_lines())
    kernel = [
        frame
        for sample in script.samples
        for frame in sample.frames
        if frame.dso == "[kernel.kallsyms]"
    ]
    assert kernel
    assert all(frame.address >= 0xFFFFFFFF80000000 for frame in kernel)
    assert any(frame.symbol == "entry_SYSCALL_64_after_hwframe" for frame in kernel)


def test_mmap_events_are_parsed() -> None:
    script = parse_perf_script(capture_lines())
    text = [m for m in script.mmaps if m.filename == BINARY and m.pgoff == 0x13000]
    assert text == [MmapEvent(12178, 0x559C86CF7000, 0x41000, 0x13000, BINARY)]
    kernel = script.mmaps[0]
    assert kernel.pid == -1
    assert kernel.filename == "[kernel.kallsyms]_text"


def test_first_appearance_order_is_kept() -> None:
    lines = capture_lines()
    first = parse_perf_script(lines)
    second = parse_perf_script(lines)
    assert first == second
    first_header = headers(lines)[0]
    first_frame = lines[lines.index(first_header) + 1]
    assert first.samples[0].frames[0] == parse_frame(first_frame)


def test_symbols_with_spaces_and_parentheses() -> None:
    line = (
        "\t           3aa13 <&dyn core::ops::function::Fn<(), Output = i32> + core::marker::Sync "
        "as core::ops::function::FnOnce<()>>::call_once+0x4c3 (/opt/my app/bin/vm)\n"
    )
    frame = parse_frame(line)
    assert frame == RawFrame(
        0x3AA13,
        "/opt/my app/bin/vm",
        "<&dyn core::ops::function::Fn<(), Output = i32> + core::marker::Sync "
        "as core::ops::function::FnOnce<()>>::call_once",
        0x4C3,
    )


def test_unknown_frames() -> None:
    assert parse_frame("\t               0 [unknown] ([unknown])") == RawFrame(
        0, "[unknown]", "[unknown]", None
    )
    assert parse_frame("\t    7f00deadbeef ([vdso])") == RawFrame(
        0x7F00DEADBEEF, "[vdso]", "[unknown]", None
    )


def test_comm_with_spaces_and_a_sample_without_callchain() -> None:
    text = (
        "Web Content  4242/4243  \n"
        "\t           1234 f+0x4 (/bin/x)\n"
        "\n"
        "  kworker/0:1    17/17    ffffffff81000000 schedule+0x10 ([kernel.kallsyms])\n"
        "\n"
    )
    script = parse_perf_script(text.splitlines())
    assert [(s.comm, s.pid, s.tid, s.frames) for s in script.samples] == [
        ("Web Content", 4242, 4243, (RawFrame(0x1234, "/bin/x", "f", 4),)),
        (
            "kworker/0:1",
            17,
            17,
            (RawFrame(0xFFFFFFFF81000000, "[kernel.kallsyms]", "schedule", 0x10),),
        ),
    ]


def test_identical_samples_fold_and_the_last_needs_no_blank_line() -> None:
    block = "vm  1/1  \n\t  10 a+0x1 (/bin/vm)\n\t  20 main+0x2 (/bin/vm)\n"
    script = parse_perf_script((block + "\n" + block + "\n" + block).splitlines())
    assert script.sample_count == 3
    assert len(script.samples) == 1
    assert script.samples[0].count == 3


def test_garbage_is_an_error_naming_the_line() -> None:
    with pytest.raises(PerfScriptParseError, match="no pid here"):
        parse_perf_script(["no pid here\n"])
    with pytest.raises(PerfScriptParseError, match="before any sample header"):
        parse_perf_script(["\t  10 a+0x1 (/bin/vm)\n"])
    with pytest.raises(PerfScriptParseError, match="zzz"):
        parse_frame("\tzzz a+0x1 (/bin/vm)")


def test_file_offset_keeps_offsets_and_translates_absolute_addresses() -> None:
    mapping = MmapEvent(
        pid=7, start=0x5500_0000_0000, length=0x4_0000, pgoff=0x13000, filename="/x"
    )
    mmaps = index_mmaps([mapping])
    offset = RawFrame(0x14899, "/x", "f", 0x59)
    assert file_offset(offset, 7, mmaps, file_size=0x80000) == 0x14899
    absolute = RawFrame(0x5500_0000_1899, "/x", "f", 0x59)
    assert file_offset(absolute, 7, mmaps, file_size=0x80000) == 0x14899
    # Another process's mapping does not apply.
    assert file_offset(absolute, 8, mmaps, file_size=0x80000) == 0x5500_0000_1899


def test_the_flags_match_what_the_parser_expects() -> None:
    assert "--no-inline" in PERF_SCRIPT_ARGS
    assert "--no-demangle" in PERF_SCRIPT_ARGS
    assert "--show-mmap-events" in PERF_SCRIPT_ARGS
    assert PERF_SCRIPT_ARGS[-1] == "comm,pid,tid,ip,sym,symoff,dso"
