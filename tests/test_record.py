"""record: the shell around perf. Unit tests use a fake `perf`; the e2e ones record a real program.

The e2e tests need a working `perf` (root, or a permissive kernel.perf_event_paranoid) and
`rustc`: without them they skip, except under CI (CI set), where they fail with the reason.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from perf_identify._proto import profile_pb2
from perf_identify.errors import Interrupted, RecordError
from perf_identify.perf_script import MmapEvent, PerfScript, RawFrame, RawSample
from perf_identify.pprof_writer import ResolvedLocation, ResolvedStack, SourceLine
from perf_identify.record import (
    DWARF_STACK_BYTES,
    RecordResult,
    fold_stacks,
    perf_failure,
    perf_record_options,
    record,
    stack_is_complete,
)
from perf_identify.stack_symbols import display_names, parse_addr2line, read_elf, resolve_stacks

DATA = Path(__file__).parent / "data" / "perf"
HOT_RS = DATA / "hot.rs"
CAPTURED_BINARY = "/tmp/exp/e2e/hot"
HASH = re.compile(r"::h[0-9a-f]{16}$")

FAKE_PERF = r"""#!/bin/sh
# A stand-in for perf: `record` runs the command after `--`, `script` prints a canned capture.
printf '%s\n' "$*" >> "$FAKE_PERF_DIR/calls"
case "$1" in
version)
    echo "perf version 6.1.fake"
    echo "                  zstd: [ on  ]  # HAVE_ZSTD_SUPPORT"
    exit 0;;
record)
    shift
    out=""
    quiet=""
    while [ "$#" -gt 0 ]; do
        case "$1" in
            -o) out="$2"; shift 2;;
            -q) quiet=1; shift;;
            --) shift; break;;
            *) shift;;
        esac
    done
    if [ -n "$FAKE_PERF_RECORD_ERROR" ]; then
        printf '%s\n' "$FAKE_PERF_RECORD_ERROR" >&2
        exit 255
    fi
    echo "fake perf data" > "$out"
    [ -n "$quiet" ] || [ -z "$FAKE_PERF_RECORD_INFO" ] || printf '%s\n' "$FAKE_PERF_RECORD_INFO" >&2
    [ -n "$quiet" ] || echo "[ perf record: Woken up 1 times to write data ]" >&2
    "$@" &
    child=$!
    trap 'kill -TERM $child; wait $child; exit 130' INT
    wait $child
    rc=$?
    [ -n "$quiet" ] || echo "[ perf record: Captured and wrote 0.010 MB $out (74 samples) ]" >&2
    exit $rc;;
script)
    cat "$FAKE_PERF_SCRIPT_OUTPUT"
    exit 0;;
esac
exit 1
"""


@dataclass(frozen=True, slots=True)
class FakePerf:
    path: Path
    folder: Path

    def calls(self) -> list[str]:
        calls = self.folder / "calls"
        return calls.read_text().splitlines() if calls.exists() else []


@pytest.fixture
def fake_perf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakePerf:
    folder = tmp_path / "fake-perf"
    folder.mkdir()
    path = folder / "perf"
    path.write_text(FAKE_PERF)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    # The capture names a binary that exists only where it was recorded: point it nowhere, so
    # every machine takes the no-debug-info path for it.
    capture = folder / "capture.txt"
    text = (DATA / "hot.perf-script.txt").read_text()
    capture.write_text(text.replace(CAPTURED_BINARY, "/nonexistent/e2e/hot"))
    monkeypatch.setenv("FAKE_PERF_DIR", str(folder))
    monkeypatch.setenv("FAKE_PERF_SCRIPT_OUTPUT", str(capture))
    monkeypatch.delenv("FAKE_PERF_RECORD_ERROR", raising=False)
    monkeypatch.delenv("FAKE_PERF_RECORD_INFO", raising=False)
    return FakePerf(path, folder)


def decode(path: Path) -> profile_pb2.Profile:
    profile = profile_pb2.Profile()
    profile.ParseFromString(gzip.decompress(path.read_bytes()))
    return profile


def function_rows(profile: profile_pb2.Profile) -> dict[str, tuple[str, str]]:
    strings = profile.string_table
    return {
        strings[f.name]: (strings[f.system_name], strings[f.filename]) for f in profile.function
    }


# --- record() with a fake perf --------------------------------------------------------------


def test_record_writes_both_files_and_reports_them(
    fake_perf: FakePerf, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    notices: list[str] = []
    out = tmp_path / "out"
    result = record(
        ["sh", "-c", "echo 'Part 1: 42'; echo 'to stderr' >&2"],
        out_dir=out,
        on_notice=notices.append,
        perf=str(fake_perf.path),
    )
    assert result.samples == 74
    assert result.command_exit_code == 0
    assert result.perf_data is None
    assert result.duration_s > 0
    assert result.profile_pb == out / "profile.pb"
    assert result.flamegraph_svg == out / "flamegraph.svg"
    assert notices == ["Wrote flamegraph.svg", "Wrote profile.pb"]
    assert sorted(p.name for p in out.iterdir()) == ["flamegraph.svg", "profile.pb"]
    captured = capfd.readouterr()
    # The command's output passes through; perf's own progress lines do not.
    assert "Part 1: 42" in captured.out
    assert "to stderr" in captured.err
    assert "perf record" not in captured.err


def test_the_profile_takes_its_start_and_length_from_the_clock(
    fake_perf: FakePerf, tmp_path: Path
) -> None:
    """The clock is a port: the recorded profile's time_nanos and duration_nanos are its."""
    from datetime import date

    from tests.fake_ports import FakeClock

    ticks = iter([100.0, 102.5])
    clock = FakeClock(date(2026, 12, 1), seconds=lambda: next(ticks))
    result = record(["true"], out_dir=tmp_path, perf=str(fake_perf.path), clock=clock)
    profile = decode(result.profile_pb)
    assert profile.time_nanos == clock.wall_ns()
    assert profile.duration_nanos == 2_500_000_000
    assert result.duration_s == 2.5


def test_record_runs_perf_with_dwarf_stacks_and_compression(
    fake_perf: FakePerf, tmp_path: Path
) -> None:
    record(["true"], out_dir=tmp_path, frequency_hz=499, perf=str(fake_perf.path))
    calls = fake_perf.calls()
    probe, real = (call for call in calls if call.startswith("record "))
    for record_call in (probe, real):
        assert "-e cpu-clock -F 499" in record_call
        assert f"--call-graph dwarf,{DWARF_STACK_BYTES}" in record_call
        assert " -z " in record_call
        assert " -N " in record_call
    assert " -q " not in probe, "the probe's messages are read"
    assert " -q " in real
    assert real.endswith(" -- true"), "the command runs as perf's own child, unwrapped"
    script_call = next(call for call in calls if call.startswith("script "))
    assert "--no-inline --no-demangle --show-mmap-events" in script_call


def test_the_profile_falls_back_to_perf_symbols_without_debug_info(
    fake_perf: FakePerf, tmp_path: Path
) -> None:
    result = record(["true"], out_dir=tmp_path, perf=str(fake_perf.path))
    profile = decode(result.profile_pb)
    rows = function_rows(profile)
    # Demangled from perf's raw symbol by c++filt, the raw symbol kept as system_name.
    assert rows["main::hot_fn"] == ("_ZN4main6hot_fn17h4068c1523076404cE", "")
    assert "entry_SYSCALL_64_after_hwframe" in rows
    assert not [name for name in rows if HASH.search(name)]
    assert sum(sample.value[0] for sample in profile.sample) == 74
    assert profile.period == 1_000_000_000 // 999
    strings = profile.string_table
    threads = {strings[label.str] for s in profile.sample for label in s.label}
    assert threads == {"hot"}
    svg = result.flamegraph_svg.read_text()
    ET.fromstring(svg)
    assert "main::hot_fn" in svg


def test_a_throttled_rate_is_reported_and_used_for_the_period(
    fake_perf: FakePerf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "FAKE_PERF_RECORD_INFO",
        "warning: Maximum frequency rate (100000 Hz) exceeded, throttling from 200000 Hz to "
        "100000 Hz.",
    )
    notices: list[str] = []
    result = record(
        ["true"],
        out_dir=tmp_path,
        frequency_hz=200_000,
        on_notice=notices.append,
        perf=str(fake_perf.path),
    )
    assert notices[0] == "perf lowered the sampling rate from 200000 Hz to 100000 Hz"
    assert decode(result.profile_pb).period == 10_000


def test_keep_perf_data_moves_the_recording(fake_perf: FakePerf, tmp_path: Path) -> None:
    kept = tmp_path / "kept.data"
    result = record(
        ["true"], out_dir=tmp_path / "out", keep_perf_data=kept, perf=str(fake_perf.path)
    )
    assert result.perf_data == kept
    assert kept.exists()


def test_a_failing_command_raises_with_its_exit_code_and_writes_nothing(
    fake_perf: FakePerf, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with pytest.raises(RecordError) as caught:
        record(["sh", "-c", "exit 3"], out_dir=out, perf=str(fake_perf.path))
    assert caught.value.message == "sh -c 'exit 3' exited with code 3"
    assert "output is above" in caught.value.hint
    assert list(out.iterdir()) == []


def test_a_crashing_command_names_the_signal(fake_perf: FakePerf, tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="killed by SIGSEGV"):
        record(["sh", "-c", "kill -SEGV $$"], out_dir=tmp_path, perf=str(fake_perf.path))


def test_no_samples(fake_perf: FakePerf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    monkeypatch.setenv("FAKE_PERF_SCRIPT_OUTPUT", str(empty))
    with pytest.raises(RecordError) as caught:
        record(["true"], out_dir=tmp_path, perf=str(fake_perf.path))
    assert caught.value.message == "perf took no samples of true"
    assert "raise the frequency" in caught.value.hint


def test_perf_not_permitted(
    fake_perf: FakePerf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "FAKE_PERF_RECORD_ERROR",
        "Error:\nAccess to performance monitoring and observability operations is limited.\n"
        "Consider adjusting /proc/sys/kernel/perf_event_paranoid setting",
    )
    with pytest.raises(RecordError) as caught:
        record(["true"], out_dir=tmp_path, perf=str(fake_perf.path))
    assert caught.value.message.startswith("perf is not permitted to sample the CPU")
    assert "sysctl kernel.perf_event_paranoid=1" in caught.value.hint


def test_perf_failing_otherwise_quotes_perf(
    fake_perf: FakePerf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PERF_RECORD_ERROR", "event syntax error: 'cpu-clock'")
    with pytest.raises(RecordError, match="perf record failed for true: event syntax error"):
        record(["true"], out_dir=tmp_path, perf=str(fake_perf.path))


def test_perf_not_installed(tmp_path: Path) -> None:
    with pytest.raises(RecordError) as caught:
        record(["true"], out_dir=tmp_path, perf=str(tmp_path / "no-perf-here"))
    assert "perf is not installed" in caught.value.message
    assert caught.value.hint == "install it: apt-get install linux-perf"


def test_command_not_found(fake_perf: FakePerf, tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="command not found: no-such-program-xyz"):
        record(["no-such-program-xyz"], out_dir=tmp_path, perf=str(fake_perf.path))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"call_graph": "lbr"}, "unknown call graph mode 'lbr'"),
        ({"frequency_hz": 0}, "sampling frequency must be positive"),
    ],
)
def test_bad_options(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        record(["true"], out_dir=tmp_path, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(RecordError, match="no command"):
        record([], out_dir=tmp_path)


def test_ctrl_c_stops_perf_cleans_up_and_raises_interrupted(
    fake_perf: FakePerf, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    out = tmp_path / "out"
    calls = fake_perf.folder / "calls"
    stop = threading.Event()

    def interrupt_once_recording() -> None:
        # Ctrl-C while the real recording runs, not during the probe: wait for its call line,
        # however slow a loaded machine is to get there.
        while not stop.is_set():
            if calls.exists() and "-- sleep 30" in calls.read_text():
                time.sleep(0.3)
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    # A process started in the background by a non-interactive shell inherits SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler: install it for this test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = threading.Thread(target=interrupt_once_recording, daemon=True)
    watcher.start()
    try:
        with pytest.raises(Interrupted):
            record(["sleep", "30"], out_dir=out, perf=str(fake_perf.path))
    finally:
        stop.set()
        watcher.join(timeout=5)
        signal.signal(signal.SIGINT, previous)
    assert list(scratch.iterdir()) == []
    assert list(out.iterdir()) == []


# --- the pure helpers ---------------------------------------------------------------------


def test_perf_record_options() -> None:
    assert perf_record_options(frequency_hz=999, call_graph="fp", compress=False) == [
        "record",
        "-e",
        "cpu-clock",
        "-F",
        "999",
        "--call-graph",
        "fp",
        "-N",
    ]
    dwarf = perf_record_options(frequency_hz=99, call_graph="dwarf", compress=True)
    assert dwarf[-3:] == ["dwarf,65528", "-N", "-z"]
    bigger = perf_record_options(frequency_hz=99, call_graph="fp", compress=False, mmap_pages=64)
    assert bigger[-2:] == ["-m", "64"]


def test_parse_gnu_addr2line() -> None:
    parsed = parse_addr2line((DATA / "hot.addr2line.txt").read_text())
    std = "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library"
    assert parsed[0x15899] == (
        SourceLine("<u64>::wrapping_mul", "", f"{std}/core/src/num/uint_macros.rs", 2533),
        SourceLine("main::mix", "", "/build/main.rs", 5),
        SourceLine("main::hot_fn", "", "/build/main.rs", 12),
    )
    assert [line.function for line in parsed[0x15764]] == [
        "alloc::fmt::format::{{closure}}",
        "core::option::Option<T>::map_or_else",
        "alloc::fmt::format",
        "main::build",
    ]
    assert parsed[0] == (SourceLine("", "", "", 0),)


def test_parse_llvm_addr2line_drops_discriminators() -> None:
    parsed = parse_addr2line((DATA / "hot.llvm-addr2line.txt").read_text())
    assert parsed[0x15764][-1] == SourceLine(
        "main::build::h85dff03da7540444", "", "/build/main.rs", 21
    )
    with pytest.raises(ValueError, match="unexpected addr2line output"):
        parse_addr2line("main::f\n/a.rs:1\n")


def test_read_elf_on_a_real_executable(tmp_path: Path) -> None:
    image = read_elf(Path(sys.executable).resolve())
    assert image is not None
    assert image.size > 0
    assert any(segment.executable for segment in image.segments)
    for segment in image.segments:
        assert image.vaddr(segment.offset) == segment.vaddr
    text = tmp_path / "not-elf"
    text.write_text("hello")
    assert read_elf(text) is None
    assert read_elf(tmp_path / "missing") is None


@pytest.mark.skipif(shutil.which("c++filt") is None, reason="c++filt (binutils) is not installed")
def test_display_names_demangle_both_rust_schemes_and_drop_versions() -> None:
    v0 = (
        "_RNvXsZ_NtCslNYArtu3iFV_5alloc6stringNtB5_6StringNtNtCsgEmfK2I1SDS_"
        "4core3fmt5Write9write_str"
    )
    names = display_names(
        [
            "_ZN3hot5build17hc7871affb95ee218E",
            v0,
            "cfree@GLIBC_2.2.5",
            "__libc_start_main@@GLIBC_2.34",
            "[unknown]",
        ]
    )
    assert names == {
        "_ZN3hot5build17hc7871affb95ee218E": "hot::build",
        v0: "<alloc::string::String as core::fmt::Write>::write_str",
        "cfree@GLIBC_2.2.5": "cfree",
        "__libc_start_main@@GLIBC_2.34": "__libc_start_main",
    }


def test_stack_is_complete() -> None:
    def frames(*symbols: str) -> tuple[RawFrame, ...]:
        return tuple(RawFrame(0, "/bin/vm", symbol, 0) for symbol in symbols)

    assert stack_is_complete(frames("f", "main", "_start"))
    assert stack_is_complete(frames("f", "__clone3@GLIBC_2.34"))
    assert not stack_is_complete(frames("f", "vm::execute"))
    assert not stack_is_complete(())


def test_resolve_stacks_without_binaries_keeps_perf_symbols() -> None:
    leaf = RawFrame(0x1234, "/nonexistent/vm", "_ZN2vm4leaf17h0123456789abcdefE", 4)
    kernel = RawFrame(0xFFFFFFFF81000000, "[kernel.kallsyms]", "asm_exc_page_fault", 0x22)
    unknown = RawFrame(0, "[unknown]", "[unknown]", None)
    script = PerfScript(
        samples=(
            RawSample("vm", 1, 1, (kernel, leaf, unknown), 3),
            RawSample("vm", 1, 2, (leaf, unknown), 1),
        ),
        mmaps=(MmapEvent(1, 0x5500_0000_0000, 0x1000, 0, "/nonexistent/vm"),),
    )
    stacks, mappings = resolve_stacks(script, call_graph="dwarf", notice=lambda _: None)
    assert [stack.count for stack in stacks] == [3, 1]
    assert stacks[0].locations[1] is stacks[1].locations[0], "one location per address"
    assert stacks[0].locations[0].lines == (
        SourceLine("asm_exc_page_fault", "asm_exc_page_fault", "", 0),
    )
    (leaf_line,) = stacks[0].locations[1].lines
    assert leaf_line.system_name == "_ZN2vm4leaf17h0123456789abcdefE"
    assert leaf_line.filename == ""
    assert leaf_line.line == 0
    if shutil.which("c++filt"):
        assert leaf_line.function == "vm::leaf"
    assert stacks[0].locations[2].lines == (SourceLine("[unknown]", "", "", 0),)
    assert [m.filename for m in mappings] == ["/nonexistent/vm", "[kernel.kallsyms]", "[unknown]"]


def test_fold_stacks_is_root_first_with_inlined_frames() -> None:
    inner = ResolvedLocation(
        "/bin/vm", 1, (SourceLine("mix", "", "", 0), SourceLine("hot_fn", "", "", 0))
    )
    outer = ResolvedLocation("/bin/vm", 2, (SourceLine("main::h0123456789abcdef", "", "", 0),))
    assert fold_stacks([ResolvedStack((inner, outer), 7)]) == [(("main", "hot_fn", "mix"), 7)]


def test_perf_failure_messages() -> None:
    denied = perf_failure(
        "Error: perf_event_open(...) failed: Permission denied", 255, paranoid="3", command=["vm"]
    )
    assert denied.message == (
        "perf is not permitted to sample the CPU (kernel.perf_event_paranoid is 3)"
    )
    wrapper = perf_failure(
        "WARNING: perf not found for kernel 6.18\n", 2, paranoid="2", command=["vm"]
    )
    assert "apt-get install linux-perf" in wrapper.hint
    quiet = perf_failure("", 255, paranoid=None, command=["vm", "x"])
    assert quiet.message == "perf record failed for vm x: exit status 255"


# --- e2e: real perf, real Rust ----------------------------------------------------------------


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _perf_problem(scratch: Path) -> str | None:
    perf = shutil.which("perf")
    if perf is None:
        return "perf is not installed (apt-get install linux-perf)"
    probe = subprocess.run(
        [perf, "record", "-q", "-e", "cpu-clock", "-o", str(scratch / "probe.data"), "--", "true"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if probe.returncode != 0:
        return f"perf record cannot run here (exit {probe.returncode}): {probe.stderr.strip()}"
    return None


@dataclass(frozen=True, slots=True)
class HotProgram:
    binary: Path
    source: Path


@pytest.fixture(scope="module")
def hot_program(tmp_path_factory: pytest.TempPathFactory) -> HotProgram:
    scratch = tmp_path_factory.mktemp("hot")
    problem = _perf_problem(scratch)
    if problem:
        _unavailable(problem)
    rustc = shutil.which("rustc")
    if rustc is None:
        _unavailable("rustc is not installed")
    assert rustc is not None
    source = scratch / "main.rs"
    shutil.copy(HOT_RS, source)
    binary = scratch / "hot"
    subprocess.run(
        [rustc, "-C", "opt-level=3", "-g", "-o", str(binary), str(source)],
        check=True,
        cwd=scratch,
        timeout=600,
    )
    return HotProgram(binary, source)


@dataclass(frozen=True, slots=True)
class Recorded:
    profile: profile_pb2.Profile
    result: RecordResult
    out: Path
    notices: tuple[str, ...]


@pytest.fixture(scope="module")
def recorded(hot_program: HotProgram, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    out = tmp_path_factory.mktemp("recorded")
    notices: list[str] = []
    result = record([str(hot_program.binary), "30000"], out_dir=out, on_notice=notices.append)
    return Recorded(decode(result.profile_pb), result, out, tuple(notices))


def _hot_fn_lines(source: Path) -> range:
    lines = source.read_text().splitlines()
    start = next(i for i, line in enumerate(lines, 1) if line.startswith("fn hot_fn"))
    end = next(i for i, line in enumerate(lines, 1) if i > start and line == "}")
    return range(start, end + 1)


@pytest.fixture
def hot_fn_lines(hot_program: HotProgram) -> range:
    return _hot_fn_lines(hot_program.source)


@pytest.mark.e2e
def test_e2e_profile_has_true_inlined_frames_and_lines(
    recorded: Recorded, hot_program: HotProgram, hot_fn_lines: range
) -> None:
    profile = recorded.profile
    strings = profile.string_table
    assert recorded.notices[-2:] == ("Wrote flamegraph.svg", "Wrote profile.pb")
    assert [(strings[t.type], strings[t.unit]) for t in profile.sample_type] == [
        ("samples", "count"),
        ("cpu", "nanoseconds"),
    ]
    total = sum(sample.value[0] for sample in profile.sample)
    assert total > 100
    assert all(s.value[1] == s.value[0] * profile.period for s in profile.sample)

    functions = {f.id: f for f in profile.function}
    names = {strings[f.name] for f in profile.function}
    assert "main::hot_fn" in names
    assert not [name for name in names if HASH.search(name)], "no ::h<hash> suffixes"
    assert any(len(location.line) > 1 for location in profile.location), "inlining visible"

    hot_lines = [
        (line.line, strings[functions[line.function_id].filename])
        for location in profile.location
        for line in location.line
        if strings[functions[line.function_id].name] == "main::hot_fn"
    ]
    assert hot_lines
    assert all(filename == str(hot_program.source) for _, filename in hot_lines)
    assert all(number in hot_fn_lines for number, _ in hot_lines), hot_lines
    hot_fn = next(f for f in profile.function if strings[f.name] == "main::hot_fn")
    assert strings[hot_fn.system_name].startswith("_ZN4main6hot_fn17h")

    # mix() is #[inline(always)]: where it shows, hot_fn is the next frame out.
    for location in profile.location:
        line_names = [strings[functions[line.function_id].name] for line in location.line]
        if "main::mix" in line_names:
            assert line_names[line_names.index("main::mix") + 1] == "main::hot_fn"

    svg = recorded.out / "flamegraph.svg"
    ET.fromstring(svg.read_text())
    assert "main::hot_fn" in svg.read_text()


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("go") is None, reason="go (for go tool pprof) is not installed")
def test_e2e_go_tool_pprof_lists_hot_fn_per_line(recorded: Recorded, hot_fn_lines: range) -> None:
    profile_pb = recorded.out / "profile.pb"
    listing = subprocess.run(
        ["go", "tool", "pprof", "-list", "^main::hot_fn$", str(profile_pb)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert "ROUTINE ======================== main::hot_fn" in listing
    figures = {
        int(match[3]): match[2]
        for match in re.finditer(r"^\s+(\S+)\s+(\S+)\s+(\d+):", listing, re.MULTILINE)
    }
    busy = [number for number, cum in figures.items() if cum != "."]
    assert busy, listing
    assert all(number in hot_fn_lines for number in busy), listing


@pytest.mark.e2e
def test_e2e_the_command_output_passes_through(
    hot_program: HotProgram, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    result = record([str(hot_program.binary), "4000"], out_dir=tmp_path)
    assert result.samples > 0
    captured = capfd.readouterr()
    assert "Part 1: " in captured.out
    assert "perf record" not in captured.err


@pytest.mark.e2e
def test_e2e_frame_pointer_mode_still_records(hot_program: HotProgram, tmp_path: Path) -> None:
    result = record([str(hot_program.binary), "4000"], out_dir=tmp_path, call_graph="fp")
    assert result.samples > 0
    assert decode(result.profile_pb).sample


@pytest.mark.e2e
def test_e2e_a_failing_command_is_reported(hot_program: HotProgram, tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="exited with code 3"):
        record(["sh", "-c", "exit 3"], out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
