"""Parse the text `perf script` prints into raw samples: stage 2 of `perf-identify record`.

Contract: `parse_perf_script(lines)` takes the output of

    perf script --no-inline --no-demangle --show-mmap-events -F comm,pid,tid,ip,sym,symoff,dso

(see `PERF_SCRIPT_ARGS`) as an iterable of lines and returns a `PerfScript`: the samples, each a
leaf-first tuple of `RawFrame`s (address, dso, raw symbol, symbol offset) with identical samples
folded into one `RawSample` with a `count`, and the mmap events. It resolves nothing: no symbol is
demangled, no address is turned into a source line. Pure: no file, process, clock or environment.

Why these flags:
- `--no-inline`: perf would otherwise run its own addr2line on every callchain entry, which is the
  slow part of `perf script`; `record` resolves inlined frames itself, one batch per dso.
- `--no-demangle`: keeps the raw (mangled) symbol for pprof's `Function.system_name`.
- `--show-mmap-events`: lets `file_offset` undo an absolute address, should a perf print one.

What perf 6.1 prints as a callchain address: for a file-backed dso the *file offset* of the
instruction (`ip - map.start + map.pgoff`), for PIE and non-PIE executables and shared libraries
alike (checked against `nm` on both); for the kernel the absolute address. Under DWARF unwinding
the caller frames are already `return address - 1` (perf does this so that the line lookup lands
on the call, not on the line after it); under frame pointers they are the return addresses.

Identical samples are folded before their frames are parsed: a hot loop yields the same stack text
thousands of times, and folding first keeps the parse of a long recording to seconds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

PERF_SCRIPT_FIELDS = "comm,pid,tid,ip,sym,symoff,dso"
PERF_SCRIPT_ARGS: tuple[str, ...] = (
    "--no-inline",
    "--no-demangle",
    "--show-mmap-events",
    "-F",
    PERF_SCRIPT_FIELDS,
)

UNKNOWN = "[unknown]"


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One callchain entry as perf printed it.

    `address` is what perf printed (see the module docstring); `symbol` is raw (`_ZN…`, `_R…`,
    `cfree@GLIBC_2.2.5`) or `[unknown]`; `symbol_offset` is the `+0x…` part, None when absent.
    """

    address: int
    dso: str
    symbol: str
    symbol_offset: int | None


@dataclass(frozen=True, slots=True)
class RawSample:
    """`count` identical samples of one thread: its frames leaf first."""

    comm: str
    pid: int
    tid: int
    frames: tuple[RawFrame, ...]
    count: int


@dataclass(frozen=True, slots=True)
class MmapEvent:
    """A PERF_RECORD_MMAP/MMAP2 line: `filename` mapped at [start, start+length) from `pgoff`."""

    pid: int
    start: int
    length: int
    pgoff: int
    filename: str


@dataclass(frozen=True, slots=True)
class PerfScript:
    """Everything `parse_perf_script` understood, in order of first appearance."""

    samples: tuple[RawSample, ...]
    mmaps: tuple[MmapEvent, ...]

    @property
    def sample_count(self) -> int:
        return sum(s.count for s in self.samples)


class PerfScriptParseError(ValueError):
    """A line of `perf script` output that fits none of the known shapes."""


# `comm` may hold spaces ("Web Content") and slashes ("kworker/0:1"); the pid/tid pair after
# whitespace is what ends it.
_HEADER = re.compile(r"^\s*(?P<comm>.*?)\s+(?P<pid>-?\d+)/(?P<tid>-?\d+)(?:\s+(?P<rest>.*?))?\s*$")
_MMAP = re.compile(
    r"^PERF_RECORD_MMAP2? (?P<pid>-?\d+)/-?\d+: "
    r"\[0x(?P<start>[0-9a-f]+)\(0x(?P<len>[0-9a-f]+)\) @ (?P<pgoff>0x[0-9a-f]+|\d+)[^\]]*\]: "
    r"\S+ (?P<file>.*)$"
)
_SYMOFF = re.compile(r"^(?P<sym>.*)\+0x(?P<off>[0-9a-f]+)$")


def parse_frame(line: str) -> RawFrame:
    """Parse one callchain line: `<hex ip> <sym>[+0x<off>] (<dso>)`.

    Symbols may hold spaces and parentheses (`<&dyn Fn<(), Output = i32> …>::call_once`), so
    the dso is the text inside the *last* ` (`…`)`.
    """
    text = line.strip()
    ip_text, sep, rest = text.partition(" ")
    open_paren = rest.rfind(" (")
    if not sep or not rest.endswith(")") or open_paren < 0:
        if sep and rest.startswith("(") and rest.endswith(")"):
            # An entry perf printed without a symbol at all.
            return RawFrame(_hex(ip_text, line), rest[1:-1] or UNKNOWN, UNKNOWN, None)
        raise PerfScriptParseError(f"not a callchain line: {line!r}")
    dso = rest[open_paren + 2 : -1] or UNKNOWN
    symbol_text = rest[:open_paren].strip() or UNKNOWN
    match = _SYMOFF.match(symbol_text)
    if match:
        return RawFrame(_hex(ip_text, line), dso, match["sym"], int(match["off"], 16))
    return RawFrame(_hex(ip_text, line), dso, symbol_text, None)


def parse_mmap(text: str) -> MmapEvent | None:
    """Parse the part of a header line from `PERF_RECORD_MMAP…` on; None for other records."""
    match = _MMAP.match(text)
    if match is None:
        return None
    return MmapEvent(
        pid=int(match["pid"]),
        start=int(match["start"], 16),
        length=int(match["len"], 16),
        pgoff=int(match["pgoff"], 0),
        filename=match["file"],
    )


def parse_perf_script(lines: Iterable[str]) -> PerfScript:
    """Parse `perf script` output (see the module docstring) into folded samples and mmaps.

    Raises PerfScriptParseError, naming the line, on text that is neither a sample header, a
    callchain line, a PERF_RECORD line nor blank.
    """
    blocks: Counter[tuple[str, int, int, tuple[str, ...]]] = Counter()
    mmaps: list[MmapEvent] = []
    header: tuple[str, int, int] | None = None
    chain: list[str] = []

    def flush() -> None:
        if header is not None and chain:
            blocks[(*header, tuple(chain))] += 1

    for raw_line in lines:
        line = raw_line.rstrip("\n")
        if line.startswith("\t"):
            if header is None:
                raise PerfScriptParseError(f"callchain line before any sample header: {line!r}")
            chain.append(line.strip())
            continue
        if not line.strip():
            flush()
            header, chain = None, []
            continue
        match = _HEADER.match(line)
        if match is None:
            raise PerfScriptParseError(f"unrecognised perf script line: {line!r}")
        rest = match["rest"] or ""
        if rest.startswith("PERF_RECORD_"):
            event = parse_mmap(rest)
            if event is not None:
                mmaps.append(event)
            continue
        flush()
        header, chain = (match["comm"], int(match["pid"]), int(match["tid"])), []
        if rest:
            # A sample recorded without a callchain prints its one frame on the header line.
            chain.append(rest)
    flush()

    frame_cache: dict[str, RawFrame] = {}

    def frame(text: str) -> RawFrame:
        cached = frame_cache.get(text)
        if cached is None:
            cached = frame_cache[text] = parse_frame(text)
        return cached

    samples = tuple(
        RawSample(comm, pid, tid, tuple(frame(text) for text in chain_text), count)
        for (comm, pid, tid, chain_text), count in blocks.items()
    )
    return PerfScript(samples=samples, mmaps=tuple(mmaps))


def index_mmaps(mmaps: Sequence[MmapEvent]) -> dict[tuple[int, str], tuple[MmapEvent, ...]]:
    """Group mmap events by (pid, filename), the key `file_offset` looks them up by."""
    grouped: dict[tuple[int, str], list[MmapEvent]] = {}
    for event in mmaps:
        grouped.setdefault((event.pid, event.filename), []).append(event)
    return {key: tuple(events) for key, events in grouped.items()}


def file_offset(
    frame: RawFrame,
    pid: int,
    mmaps: Mapping[tuple[int, str], Sequence[MmapEvent]],
    file_size: int,
) -> int:
    """The offset in `frame.dso`'s file of the instruction `frame` points at.

    perf 6.1 already prints file offsets (see the module docstring). An address that cannot be
    an offset (it is at or past the end of the file) but lies inside one of this process's
    mappings of the file is taken for an absolute address and translated through that mapping.
    """
    if frame.address < file_size:
        return frame.address
    for event in mmaps.get((pid, frame.dso), ()):
        if event.start <= frame.address < event.start + event.length:
            return frame.address - event.start + event.pgoff
    return frame.address


def _hex(text: str, line: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise PerfScriptParseError(f"bad address {text!r} in line {line!r}") from None
