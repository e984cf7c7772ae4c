"""`perf-identify record -- CMD …`: run CMD under perf, write profile.pb and flamegraph.svg.

Contract: `record(command, out_dir=…)` runs the command under Linux perf, lets its stdout and
stderr through untouched, and on success writes `profile.pb` (gzip pprof, see pprof_writer) and
`flamegraph.svg` (see flamegraph) into `out_dir`, each atomically (temporary file + os.replace).
It prints nothing; `on_notice` receives `Wrote flamegraph.svg` / `Wrote profile.pb` and any
warning worth a line (lost samples, truncated stacks, lowered frequency). Every expected failure is
a `RecordError` with a one-line message and a hint; Ctrl-C stops perf and the command cleanly,
removes the temporary files and raises `Interrupted`.

The stages, in order:
1. `perf record -e cpu-clock -F <hz> --call-graph dwarf,65528 -z -N -o <tmp>/perf.data -- CMD`.
   DWARF, not frame pointers: Rust release builds (and the prebuilt std) omit frame pointers, so
   `--call-graph fp` loses every frame above the leaf's caller (measured on a release binary:
   2.0 frames per sample against 70 with DWARF, none reaching `main`). 65528 bytes is the largest
   stack copy perf allows; a recursive interpreter 30 calls deep reached `_start` in 0 % of samples
   with the default 8192 bytes, 0.7 % with 32768 and 100 % with 65528. The price is 64 KB per
   sample, so the data is zstd-compressed (`-z`, about 90 times smaller: a 30 s recording takes
   about 20 MB instead of 1.9 GB). `-N` keeps perf from copying the binary into ~/.debug.
   As root, `-m 2048` (8 MiB ring buffer per CPU): with perf's default 516 KiB a 10 s recording
   lost 3 chunks of samples, with 8 MiB none.
   CMD is perf's own child with our stdin, stdout and stderr (`-q` silences perf's progress
   lines). Not wrapped in `sh -c 'exec "$@" 2>&3'` to keep perf's stderr apart: perf 6.1 then
   keeps the shell's libc mapping across the exec and 80 % of the stacks stop at
   `__libc_start_call_main`. Instead a probe, `perf record … -- true` with perf's stderr
   captured, runs first and turns perf's refusals (paranoid setting, no perf for this kernel)
   into a RecordError before the command starts, and tells the rate perf will really use.
2. `perf script` (flags in perf_script.PERF_SCRIPT_ARGS), streamed into perf_script's parser.
3. Resolution: every distinct (dso, address) is turned into the dso's virtual address through its
   ELF load segments (perf prints file offsets, and for PIE and lld-linked binaries
   offset ≠ address), then each dso's addresses go to ONE `addr2line -f -i -C -a -e DSO` process
   on stdin. GNU addr2line, not llvm-addr2line: LLVM 14's demangler leaves rustc's legacy symbols
   as `Option$LT$T$GT$::map_or_else::h3d0c…`, GNU's prints `core::option::Option<T>::map_or_else`
   and handles v0 symbols too. Raw symbols perf gave for frames without debug info are demangled
   in one `c++filt -i` batch. Kernel frames keep perf's symbol, with no file and line 0.
4. pprof_writer builds the profile; flamegraph renders the SVG from the same stacks.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perf_identify import processes
from perf_identify.errors import Interrupted, RecordError
from perf_identify.flamegraph import render_flamegraph
from perf_identify.issues_dir import write_file_atomically
from perf_identify.perf_script import (
    PERF_SCRIPT_ARGS,
    UNKNOWN,
    PerfScript,
    PerfScriptParseError,
    RawFrame,
    file_offset,
    index_mmaps,
    parse_perf_script,
)
from perf_identify.pprof_writer import (
    MappingInfo,
    ResolvedLocation,
    ResolvedStack,
    SourceLine,
    function_name,
    write_profile,
)

DWARF_STACK_BYTES = 65528  # the most perf accepts: below 64 KiB and a multiple of 8
ROOT_MMAP_PAGES = 2048  # 8 MiB of ring buffer per CPU
CALL_GRAPHS = ("dwarf", "fp")
PROFILE_NAME = "profile.pb"
FLAMEGRAPH_NAME = "flamegraph.svg"
PARANOID_PATH = Path("/proc/sys/kernel/perf_event_paranoid")

# Outermost frames of a stack that unwound completely; anything else was cut by the stack copy.
_ENTRY_SYMBOLS = frozenset(
    {
        "_start",
        "__libc_start_main",
        "__libc_start_call_main",
        "start_thread",
        "clone",
        "clone3",
        "__clone",
        "__clone3",
        "__GI___clone3",
        "_dl_start",
        "_dl_start_user",
        "ret_from_fork",
        "ret_from_fork_asm",
    }
)
# A few percent fail to unwind in any program (prologues, libc); a tenth means lost context.
_TRUNCATION_NOTICE_FRACTION = 0.1
_SYMBOL_VERSION = re.compile(r"@@?[A-Za-z_][A-Za-z0-9_.]*$")
_PERMISSION_MARKERS = (
    "perf_event_paranoid",
    "Permission denied",
    "No permission",
    "Operation not permitted",
    "Access to performance monitoring",
)
_THROTTLED = re.compile(
    r"throttling from [\d,]+ Hz to ([\d,]+) Hz|frequency rate from \d+ to (\d+)"
)


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What `record` wrote and measured. `perf_data` is set only when `keep_perf_data` was."""

    profile_pb: Path
    flamegraph_svg: Path
    samples: int
    command_exit_code: int
    duration_s: float
    perf_data: Path | None


def record(
    command: Sequence[str],
    *,
    out_dir: Path,
    frequency_hz: int = 999,
    call_graph: str = "dwarf",
    keep_perf_data: Path | None = None,
    on_notice: Callable[[str], None] | None = None,
    perf: str = "perf",
) -> RecordResult:
    """Profile `command` with perf and write profile.pb and flamegraph.svg (module docstring)."""
    notice = on_notice or _ignore
    if not command:
        raise RecordError("no command to record", hint="usage: perf-identify record -- CMD [ARGS…]")
    if call_graph not in CALL_GRAPHS:
        raise RecordError(
            f"unknown call graph mode {call_graph!r}", hint="use 'dwarf' (default) or 'fp'"
        )
    if frequency_hz <= 0:
        raise RecordError(
            f"sampling frequency must be positive, got {frequency_hz}", hint="try 999"
        )
    perf_path = shutil.which(perf)
    if perf_path is None:
        raise RecordError(
            f"perf is not installed ({perf!r} is not on PATH)",
            hint="install it: apt-get install linux-perf",
        )
    if shutil.which(command[0]) is None:
        raise RecordError(
            f"command not found: {command[0]}",
            hint="check the program name or path (build it first?)",
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RecordError(
            f"cannot create output folder {out_dir}: {error.strerror}",
            hint="choose a writable --out-dir",
        ) from None

    try:
        with tempfile.TemporaryDirectory(prefix="perf-identify-record-") as tmp_name:
            return _record_in(
                Path(tmp_name),
                command,
                out_dir=out_dir,
                frequency_hz=frequency_hz,
                call_graph=call_graph,
                keep_perf_data=keep_perf_data,
                notice=notice,
                perf_path=perf_path,
            )
    # The process layer already turned a Ctrl-C during its helpers into `Interrupted`; the
    # user hears one message for both.
    except (KeyboardInterrupt, Interrupted):
        raise Interrupted(
            "interrupted: perf was stopped and nothing was written",
            hint="run it again and let the command finish",
        ) from None


def _record_in(
    tmp: Path,
    command: Sequence[str],
    *,
    out_dir: Path,
    frequency_hz: int,
    call_graph: str,
    keep_perf_data: Path | None,
    notice: Callable[[str], None],
    perf_path: str,
) -> RecordResult:
    perf_data = tmp / "perf.data"
    options = perf_record_options(
        frequency_hz=frequency_hz,
        call_graph=call_graph,
        compress=_perf_has_zstd(perf_path),
        # Only root may lock more than kernel.perf_event_mlock_kb (516 KiB) of ring buffer.
        mmap_pages=ROOT_MMAP_PAGES if os.geteuid() == 0 else None,
    )
    probe_log = _probe_perf(perf_path, options, tmp, command)
    frequency_hz = _effective_frequency(probe_log, frequency_hz, notice)
    time_nanos = time.time_ns()
    started = time.monotonic()
    exit_code = _run_perf_record([perf_path, *options, "-q", "-o", str(perf_data), "--", *command])
    duration_s = time.monotonic() - started
    if not (perf_data.exists() and perf_data.stat().st_size > 0):
        raise RecordError(
            f"perf record failed for {shlex.join(command)} (exit status {exit_code})",
            hint="perf's message is above; run the same `perf record` by hand to see more",
        )
    if exit_code != 0:
        raise RecordError(
            f"{shlex.join(command)} {_describe_exit(exit_code)}",
            hint="its output is above; no profile was written",
        )

    script = _run_perf_script(perf_path, perf_data, tmp / "perf-script.log", notice)
    if script.sample_count == 0:
        raise RecordError(
            f"perf took no samples of {command[0]}",
            hint=f"the command ran too briefly; raise the frequency (now {frequency_hz} Hz)",
        )
    _notice_truncation(script, notice)
    stacks, mappings = resolve_stacks(script, call_graph=call_graph, notice=notice)

    duration_nanos = int(duration_s * 1e9)
    profile = write_profile(
        stacks,
        frequency_hz=frequency_hz,
        duration_nanos=duration_nanos,
        time_nanos=time_nanos,
        mappings=mappings,
    )
    svg = render_flamegraph(fold_stacks(stacks), title=f"Flame Graph: {Path(command[0]).name}")
    flamegraph_path = out_dir / FLAMEGRAPH_NAME
    profile_path = out_dir / PROFILE_NAME
    write_file_atomically(flamegraph_path, svg.encode("utf-8"))
    notice(f"Wrote {FLAMEGRAPH_NAME}")
    write_file_atomically(profile_path, profile)
    notice(f"Wrote {PROFILE_NAME}")

    kept: Path | None = None
    if keep_perf_data is not None:
        try:
            shutil.move(perf_data, keep_perf_data)
        except OSError as error:
            raise RecordError(
                f"cannot keep perf.data at {keep_perf_data}: {error.strerror}",
                hint="choose a writable path",
            ) from None
        kept = keep_perf_data
    return RecordResult(
        profile_pb=profile_path,
        flamegraph_svg=flamegraph_path,
        samples=script.sample_count,
        command_exit_code=exit_code,
        duration_s=duration_s,
        perf_data=kept,
    )


def perf_record_options(
    *, frequency_hz: int, call_graph: str, compress: bool, mmap_pages: int | None = None
) -> list[str]:
    """`record` and its options, without `-o` and the command (module docstring for each)."""
    graph = f"dwarf,{DWARF_STACK_BYTES}" if call_graph == "dwarf" else "fp"
    options = ["record", "-e", "cpu-clock", "-F", str(frequency_hz), "--call-graph", graph, "-N"]
    if mmap_pages is not None:
        options += ["-m", str(mmap_pages)]
    return [*options, "-z"] if compress else options


def _probe_perf(perf_path: str, options: Sequence[str], tmp: Path, command: Sequence[str]) -> str:
    """Record `true` with the same options and return perf's messages; raise if perf fails.

    The real run shares the terminal with the command (see the module docstring), so this is
    where perf's own words about a failure (permissions, a kernel without perf) are caught.
    """
    true = shutil.which("true")
    if true is None:
        return ""
    args = [perf_path, *options, "-o", str(tmp / "probe.data"), "--", true]
    try:
        probe = processes.capture(args, cwd=None, timeout_s=120)
    except (OSError, processes.TimedOut) as error:
        raise RecordError(
            f"cannot run {perf_path}: {error}", hint="install it: apt-get install linux-perf"
        ) from None
    finally:
        (tmp / "probe.data").unlink(missing_ok=True)
    if probe.exit_code != 0:
        raise perf_failure(
            probe.stderr, probe.exit_code, paranoid=_read_paranoid(), command=command
        )
    return probe.stderr


def _run_perf_record(args: Sequence[str]) -> int:
    try:
        process = subprocess.Popen(args)
    except OSError as error:
        raise RecordError(
            f"cannot run {args[0]}: {error.strerror}",
            hint="install it: apt-get install linux-perf",
        ) from None
    try:
        return process.wait()
    except KeyboardInterrupt:
        _stop(process)
        raise


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop perf as Ctrl-C in a terminal would: it ends the command and finishes its file."""
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    except (KeyboardInterrupt, subprocess.TimeoutExpired):
        process.kill()
        process.wait()


def _perf_has_zstd(perf_path: str) -> bool:
    try:
        result = processes.capture(
            [perf_path, "version", "--build-options"], cwd=None, timeout_s=30
        )
    except (OSError, processes.TimedOut):
        return False
    return re.search(r"zstd:\s*\[\s*on\s*\]", result.stdout) is not None


def perf_failure(
    log: str, exit_code: int, *, paranoid: str | None, command: Sequence[str]
) -> RecordError:
    """The RecordError for a `perf record` that failed before recording anything."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    if any(marker in log for marker in _PERMISSION_MARKERS):
        setting = f"kernel.perf_event_paranoid is {paranoid}" if paranoid else "perf is restricted"
        return RecordError(
            f"perf is not permitted to sample the CPU ({setting})",
            hint="run as root, or: sudo sysctl kernel.perf_event_paranoid=1",
        )
    if "not found for kernel" in log or "is not installed" in log:
        return RecordError(
            f"perf does not work on this kernel: {lines[0] if lines else 'no message'}",
            hint="install the matching package: apt-get install linux-perf",
        )
    detail = next(
        (line for line in lines if not line.startswith("[ perf record:")),
        f"exit status {exit_code}",
    )
    return RecordError(
        f"perf record failed for {shlex.join(command)}: {detail}",
        hint="run the same `perf record` by hand to see its full output",
    )


def _read_paranoid() -> str | None:
    try:
        return PARANOID_PATH.read_text().strip()
    except OSError:
        return None


def _describe_exit(exit_code: int) -> str:
    if exit_code < 0 or exit_code > 128:
        number = -exit_code if exit_code < 0 else exit_code - 128
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return f"was killed by {name} (exit code {exit_code})"
    return f"exited with code {exit_code}"


def _effective_frequency(log: str, requested: int, notice: Callable[[str], None]) -> int:
    """The rate perf really sampled at: it lowers -F above kernel.perf_event_max_sample_rate."""
    match = _THROTTLED.search(log)
    if match is None:
        return requested
    actual = int((match[1] or match[2]).replace(",", ""))
    if 0 < actual < requested:
        notice(f"perf lowered the sampling rate from {requested} Hz to {actual} Hz")
        return actual
    return requested


def _run_perf_script(
    perf_path: str, perf_data: Path, log_path: Path, notice: Callable[[str], None]
) -> PerfScript:
    args = [perf_path, "script", "-i", str(perf_data), *PERF_SCRIPT_ARGS]
    with log_path.open("wb") as log:
        try:
            process = processes.start(args, cwd=None, stderr=log)
        except OSError as error:
            raise RecordError(
                f"cannot run {perf_path}: {error.strerror or error}",
                hint="install it: apt-get install linux-perf",
            ) from None
        assert process.stdout is not None
        try:
            with io.TextIOWrapper(process.stdout, errors="replace") as stdout:
                script = parse_perf_script(stdout)
        except PerfScriptParseError as error:
            processes.stop_group(process)
            raise RecordError(
                f"cannot read perf script output: {error}",
                hint="this perf version prints something unexpected; please report it",
            ) from None
        except BaseException:
            processes.stop_group(process)
            raise
        exit_code = process.wait()
        processes.stop_leftovers(process)
    messages = log_path.read_text(errors="replace")
    if exit_code != 0:
        first = next((line for line in messages.splitlines() if line.strip()), "")
        raise RecordError(
            f"perf script failed with exit code {exit_code}: {first}",
            hint=f"run `{shlex.join(args)}` by hand",
        )
    for line in messages.splitlines():
        if "lost" in line.lower():
            notice(f"perf: {line.strip()} (percentages stay sound)")
    return script


def _notice_truncation(script: PerfScript, notice: Callable[[str], None]) -> None:
    truncated = sum(s.count for s in script.samples if not stack_is_complete(s.frames))
    total = script.sample_count
    if total and truncated / total > _TRUNCATION_NOTICE_FRACTION:
        notice(
            f"{truncated} of {total} stacks ({100 * truncated / total:.1f}%) did not unwind to "
            "_start (deeper than perf's 64 KB stack copy, or no unwind info at the sampled "
            "instruction); they show as separate roots"
        )


def stack_is_complete(frames: Sequence[RawFrame]) -> bool:
    """Whether a leaf-first stack ends in a process or thread entry point."""
    if not frames:
        return False
    return _SYMBOL_VERSION.sub("", frames[-1].symbol) in _ENTRY_SYMBOLS


# --- Resolution: ELF load segments, one addr2line per dso, one c++filt --------------------------


@dataclass(frozen=True, slots=True)
class LoadSegment:
    """A PT_LOAD program header: file bytes [offset, offset+filesz) at vaddr."""

    offset: int
    vaddr: int
    filesz: int
    memsz: int
    executable: bool


@dataclass(frozen=True, slots=True)
class ElfImage:
    """What resolution needs from an ELF file: its size, load segments and GNU build id."""

    size: int
    segments: tuple[LoadSegment, ...]
    build_id: str

    def vaddr(self, offset: int) -> int:
        """The virtual address of file `offset`; unchanged when no segment holds it."""
        for segment in self.segments:
            if segment.offset <= offset < segment.offset + segment.filesz:
                return offset - segment.offset + segment.vaddr
        return offset

    def text_mapping(self, filename: str) -> MappingInfo | None:
        """The Mapping of the first executable segment, at the dso's own addresses."""
        for segment in self.segments:
            if segment.executable:
                return MappingInfo(
                    filename=filename,
                    memory_start=segment.vaddr,
                    memory_limit=segment.vaddr + segment.memsz,
                    file_offset=segment.offset,
                    build_id=self.build_id,
                )
        return None


_PT_LOAD = 1
_PT_NOTE = 4
_PF_X = 1
_NT_GNU_BUILD_ID = 3


def parse_elf(header: bytes, read_at: Callable[[int, int], bytes], size: int) -> ElfImage | None:
    """Parse an ELF file's load segments and build id; None if `header` is not ELF.

    `header` is the file's first 64 bytes; `read_at(offset, length)` reads more of it.
    """
    if len(header) < 52 or header[:4] != b"\x7fELF":
        return None
    is_64 = header[4] == 2
    endian = "<" if header[5] == 1 else ">"
    if is_64:
        phoff, phentsize, phnum = (
            struct.unpack_from(endian + "Q", header, 32)[0],
            *struct.unpack_from(endian + "HH", header, 54),
        )
        layout, fields = endian + "IIQQQQQQ", (0, 2, 3, 5, 6, 1)
    else:
        phoff, phentsize, phnum = (
            struct.unpack_from(endian + "I", header, 28)[0],
            *struct.unpack_from(endian + "HH", header, 42),
        )
        layout, fields = endian + "IIIIIIII", (0, 1, 2, 4, 5, 6)
    table = read_at(phoff, phentsize * phnum)
    segments: list[LoadSegment] = []
    notes: list[tuple[int, int]] = []
    for index in range(phnum):
        entry = struct.unpack_from(layout, table, index * phentsize)
        p_type, p_offset, p_vaddr, p_filesz, p_memsz, p_flags = (entry[i] for i in fields)
        if p_type == _PT_LOAD:
            segments.append(
                LoadSegment(p_offset, p_vaddr, p_filesz, p_memsz, bool(p_flags & _PF_X))
            )
        elif p_type == _PT_NOTE:
            notes.append((p_offset, p_filesz))
    build_id = ""
    for offset, length in notes:
        build_id = build_id or _gnu_build_id(read_at(offset, length), endian)
    return ElfImage(size=size, segments=tuple(segments), build_id=build_id)


def _gnu_build_id(notes: bytes, endian: str) -> str:
    position = 0
    while position + 12 <= len(notes):
        namesz, descsz, note_type = struct.unpack_from(endian + "III", notes, position)
        name_start = position + 12
        desc_start = name_start + (namesz + 3) // 4 * 4
        if note_type == _NT_GNU_BUILD_ID and notes[name_start : name_start + namesz] == b"GNU\0":
            return notes[desc_start : desc_start + descsz].hex()
        position = desc_start + (descsz + 3) // 4 * 4
    return ""


def read_elf(path: Path) -> ElfImage | None:
    """`parse_elf` on a file; None when it is not a readable ELF file."""
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size

            def read_at(offset: int, length: int) -> bytes:
                file.seek(offset)
                return file.read(length)

            return parse_elf(file.read(64), read_at, size)
    except (OSError, struct.error):
        return None


def parse_addr2line(text: str) -> dict[int, tuple[SourceLine, ...]]:
    """Parse `addr2line -f -i -C -a` output: per address, its frames innermost first.

    Each address is echoed as `0x…` (GNU pads it to 16 digits, LLVM does not), then one
    (function, `file:line[ (discriminator N)]`) pair per inlined level. `??` means unknown and
    becomes "" and line 0. `system_name` is left empty: addr2line only knows demangled names.
    """
    result: dict[int, tuple[SourceLine, ...]] = {}
    address: int | None = None
    frames: list[SourceLine] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if _is_address_echo(line):
            if address is not None:
                result[address] = tuple(frames)
            address, frames = int(line, 16), []
            index += 1
            continue
        if address is None or index + 1 >= len(lines):
            raise ValueError(f"unexpected addr2line output line {index + 1}: {line!r}")
        function = "" if line == "??" else line
        filename, line_number = _file_line(lines[index + 1].strip())
        frames.append(SourceLine(function, "", filename, line_number))
        index += 2
    if address is not None:
        result[address] = tuple(frames)
    return result


def _is_address_echo(line: str) -> bool:
    return line.startswith("0x") and len(line) > 2 and all(c in _HEX for c in line[2:])


_HEX = frozenset("0123456789abcdefABCDEF")


def _file_line(text: str) -> tuple[str, int]:
    text = re.sub(r" \(discriminator \d+\)$", "", text)
    filename, _, number = text.rpartition(":")
    if not filename or filename == "??":
        return "", 0
    return filename, int(number) if number.isdigit() else 0


def display_names(symbols: Iterable[str]) -> dict[str, str]:
    """Raw symbol -> demangled name without hash or symbol version, in one `c++filt -i` run."""
    unique = sorted({s for s in symbols if s and s != UNKNOWN})
    demangled = dict(zip(unique, unique, strict=True))
    cxxfilt = shutil.which("c++filt")
    if unique and cxxfilt is not None:
        with contextlib.suppress(OSError, processes.TimedOut):
            result = processes.capture(
                [cxxfilt, "-i"],
                cwd=None,
                timeout_s=300,
                input=("\n".join(unique) + "\n").encode("utf-8", errors="surrogateescape"),
            )
            names = result.stdout.splitlines()
            if result.exit_code == 0 and len(names) == len(unique):
                demangled = dict(zip(unique, names, strict=True))
    return {raw: function_name(_SYMBOL_VERSION.sub("", name)) for raw, name in demangled.items()}


def _addr2line_tool() -> str | None:
    return shutil.which("addr2line") or shutil.which("llvm-addr2line")


def run_addr2line(
    tool: str, dso: str, addresses: Sequence[int]
) -> dict[int, tuple[SourceLine, ...]]:
    """Resolve all `addresses` of `dso` with one addr2line process (addresses on stdin).

    Raises `OSError` (cannot start), `processes.TimedOut`, or `ValueError` (non-zero exit)."""
    result = processes.capture(
        [tool, "-e", dso, "-f", "-i", "-C", "-a"],
        cwd=None,
        timeout_s=600,
        input="".join(f"{address:#x}\n" for address in addresses).encode(),
    )
    if result.exit_code != 0:
        last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise ValueError(f"exit code {result.exit_code}: {last}")
    return parse_addr2line(result.stdout)


def _is_file_dso(dso: str) -> bool:
    # perf names pseudo-dsos in brackets: [kernel.kallsyms], [vdso], [unknown], [JIT] tid …
    return dso.startswith("/") and not dso.startswith("//")


@dataclass(frozen=True, slots=True)
class _FrameKey:
    dso: str
    address: int  # the dso's virtual address to look up (already -1 for fp return addresses)
    symbol: str


def resolve_stacks(
    script: PerfScript, *, call_graph: str, notice: Callable[[str], None]
) -> tuple[list[ResolvedStack], list[MappingInfo]]:
    """Resolve every frame of `script` to source lines; the stacks and one Mapping per dso."""
    mmaps = index_mmaps(script.mmaps)
    images: dict[str, ElfImage | None] = {}

    def image(dso: str) -> ElfImage | None:
        if dso not in images:
            images[dso] = read_elf(Path(dso)) if _is_file_dso(dso) else None
        return images[dso]

    keyed: list[tuple[tuple[_FrameKey, ...], int, str]] = []
    for sample in script.samples:
        chain: list[_FrameKey] = []
        seen_user = False  # the first user frame is where the sample hit: no return address
        for frame in sample.frames:
            elf = image(frame.dso)
            if elf is None:
                chain.append(_FrameKey(frame.dso, frame.address, frame.symbol))
                seen_user = seen_user or not frame.dso.startswith("[kernel")
                continue
            address = elf.vaddr(file_offset(frame, sample.pid, mmaps, elf.size))
            if call_graph == "fp" and seen_user and address > 0:
                # Frame-pointer chains hold return addresses; the call is the byte before.
                address -= 1
            seen_user = True
            chain.append(_FrameKey(frame.dso, address, frame.symbol))
        keyed.append((tuple(chain), sample.count, sample.comm))

    by_dso: dict[str, set[int]] = {}
    for keys, _, _ in keyed:
        for key in keys:
            if image(key.dso) is not None:
                by_dso.setdefault(key.dso, set()).add(key.address)
    source: dict[tuple[str, int], tuple[SourceLine, ...]] = {}
    tool = _addr2line_tool()
    if tool is None and by_dso:
        notice("addr2line not found: no file or line numbers (install binutils)")
    for dso in sorted(by_dso) if tool is not None else ():
        addresses = sorted(by_dso[dso])
        try:
            resolved = run_addr2line(tool, dso, addresses) if tool else {}
        except (OSError, processes.TimedOut, ValueError) as error:
            notice(f"addr2line failed on {dso} ({error}); using perf's symbols there")
            continue
        for address in addresses:
            source[(dso, address)] = resolved.get(address, ())

    names = display_names(key.symbol for keys, _, _ in keyed for key in keys)
    locations: dict[_FrameKey, ResolvedLocation] = {}

    def location(key: _FrameKey) -> ResolvedLocation:
        found = locations.get(key)
        if found is None:
            found = locations[key] = ResolvedLocation(
                key.dso, key.address, _lines(key, source.get((key.dso, key.address), ()), names)
            )
        return found

    stacks = [
        ResolvedStack(tuple(location(key) for key in keys), count, comm)
        for keys, count, comm in keyed
    ]
    return stacks, _mappings(keyed, images)


def _lines(
    key: _FrameKey, frames: tuple[SourceLine, ...], names: dict[str, str]
) -> tuple[SourceLine, ...]:
    """addr2line's frames with the raw symbol on the physical (outermost) one, or perf's symbol."""
    raw = "" if key.symbol == UNKNOWN else key.symbol
    fallback = names.get(key.symbol, key.symbol) or UNKNOWN
    if not frames:
        return (SourceLine(fallback, raw, "", 0),)
    last = len(frames) - 1
    return tuple(
        SourceLine(
            function_name(frame.function) or (fallback if index == last else UNKNOWN),
            raw if index == last else "",
            frame.filename,
            frame.line,
        )
        for index, frame in enumerate(frames)
    )


def _mappings(
    keyed: Sequence[tuple[tuple[_FrameKey, ...], int, str]], images: dict[str, ElfImage | None]
) -> list[MappingInfo]:
    spans: dict[str, tuple[int, int]] = {}
    for keys, _, _ in keyed:
        for key in keys:
            low, high = spans.get(key.dso, (key.address, key.address))
            spans[key.dso] = (min(low, key.address), max(high, key.address))
    mappings: list[MappingInfo] = []
    for dso in sorted(spans):
        elf = images.get(dso)
        mapping = elf.text_mapping(dso) if elf is not None else None
        low, high = spans[dso]
        if mapping is None or not mapping.memory_start <= low <= high < mapping.memory_limit:
            mapping = MappingInfo(dso, low, high + 1, 0, elf.build_id if elf else "")
        mappings.append(mapping)
    return mappings


def fold_stacks(stacks: Iterable[ResolvedStack]) -> list[tuple[tuple[str, ...], int]]:
    """Root-first frame names per stack (inlined functions as frames, as pprof-rs shows them)."""
    return [
        (
            tuple(
                function_name(line.function)
                for location in reversed(stack.locations)
                for line in reversed(location.lines)
            ),
            stack.count,
        )
        for stack in stacks
    ]


def _ignore(_message: str) -> None:
    return None
