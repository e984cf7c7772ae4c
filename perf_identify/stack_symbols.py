"""Stage 3 of `perf-identify record`: perf's frames resolved to functions, files and lines.

Contract: `resolve_stacks(script, call_graph=…, notice=…)` turns every frame of a parsed
`perf script` (`perf_script.PerfScript`) into a `pprof_writer.ResolvedLocation` and returns the
stacks and one `MappingInfo` per dso. Every distinct (dso, address) is turned into the dso's
virtual address through its ELF load segments (perf prints file offsets, and for PIE and
lld-linked binaries offset != address); each dso's addresses go to ONE
`addr2line -f -i -C -a -e DSO` process on stdin (GNU addr2line: LLVM 14's demangler leaves
rustc's legacy symbols mangled); perf's raw symbols for frames without debug info are demangled
in one `c++filt -i` batch. Kernel frames keep perf's symbol, with no file and line 0. A missing
or failing addr2line is a notice, never an error: those frames keep perf's symbols.

The ELF and addr2line readers (`parse_elf`, `parse_addr2line`) are pure over the bytes and text
they are given; the processes run through `processes`, the one process layer.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perf_identify import processes
from perf_identify.perf_script import (
    UNKNOWN,
    PerfScript,
    file_offset,
    index_mmaps,
)
from perf_identify.pprof_writer import (
    MappingInfo,
    ResolvedLocation,
    ResolvedStack,
    SourceLine,
    function_name,
)

# A symbol version suffix perf prints for shared-library frames (`memcpy@@GLIBC_2.14`).
_SYMBOL_VERSION = re.compile(r"@@?[A-Za-z_][A-Za-z0-9_.]*$")


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
