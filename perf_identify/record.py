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
3. Resolution to functions, files and lines: `stack_symbols.resolve_stacks` (ELF load segments,
   one GNU addr2line per dso, one c++filt; its docstring says why each).
4. pprof_writer builds the profile; flamegraph renders the SVG from the same stacks.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perf_identify import processes
from perf_identify.errors import Interrupted, RecordError
from perf_identify.flamegraph import render_flamegraph
from perf_identify.issues_dir import write_file_atomically
from perf_identify.perf_script import (
    PERF_SCRIPT_ARGS,
    PerfScript,
    PerfScriptParseError,
    RawFrame,
    parse_perf_script,
)
from perf_identify.ports import SYSTEM_CLOCK, Clock
from perf_identify.pprof_writer import (
    ResolvedStack,
    function_name,
    write_profile,
)
from perf_identify.stack_symbols import resolve_stacks

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
    clock: Clock = SYSTEM_CLOCK,
) -> RecordResult:
    """Profile `command` with perf and write profile.pb and flamegraph.svg (module docstring).

    `clock` gives the profile's start (`time_nanos`) and its length (`duration_nanos`)."""
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
                clock=clock,
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
    clock: Clock,
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
    time_nanos = clock.wall_ns()
    started = clock.monotonic()
    exit_code = _run_perf_record([perf_path, *options, "-q", "-o", str(perf_data), "--", *command])
    duration_s = clock.monotonic() - started
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
