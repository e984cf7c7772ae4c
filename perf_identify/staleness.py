"""Which issue files of an earlier run are no longer hotspots: stale, so they never look current.

Contract: `stale_issues(existing, benchmark, written, unjudged_files)` is pure. It takes the
issue files found in the folder (`issues_dir.scan_issues`), this run's BENCHMARK FILE, the names
of the issue files this run wrote (created, updated, unchanged or kept) and the repo files of the
hotspots it could not resolve, and returns the stale ones, sorted by name: files that

* parse and still say `STATUS: IDENTIFIED` (once /perf-implement or a person moved a file on,
  it is theirs: never called stale, whatever the profile says),
* name the same BENCHMARK FILE (another benchmark's hotspots are not judged by this profile),
* were not written by this run under their name, and
* lie in no file whose hotspot this run failed to resolve (that hotspot may still be this one:
  say nothing rather than guess), and
* are not the function of a hotspot this run had too few samples to judge
  (`unjudged_functions`, demangled symbols; `sample_counts.py`).

A run that writes nothing judges nothing: the caller only asks after its write phase. Marking a
stale file durably is the sidecar's job (`sidecar.Recorder.mark_stale`); the issue text is never
touched, its format is a contract other tools read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from perf_identify.render import IssueDocument, Status
from perf_identify.symbols import compact_name


class ScannedIssue(Protocol):
    """What staleness needs of a scanned issue file (`issues_dir.ExistingIssue` has it)."""

    @property
    def path(self) -> Path: ...

    @property
    def name(self) -> str: ...

    @property
    def document(self) -> IssueDocument | None: ...


@dataclass(frozen=True, slots=True)
class StaleIssue:
    """An IDENTIFIED issue file of this benchmark that this run did not find hot."""

    name: str
    path: Path
    benchmark_file: str
    function: str
    file: str
    share_percent: float
    identified: date
    stale_since: date | None = None
    """When a run first found it stale, as its sidecar records; None when it has no sidecar to
    hold the mark (the file is still reported stale by every run that does not write it)."""


def stale_issues(
    existing: Iterable[ScannedIssue],
    benchmark: str,
    written: Iterable[str],
    unjudged_files: Iterable[str] = (),
    unjudged_functions: Iterable[str] = (),
) -> tuple[StaleIssue, ...]:
    """The stale files among `existing`; see the module docstring."""
    current = frozenset(written)
    unjudged = frozenset(unjudged_files)
    too_thin = tuple(unjudged_functions)
    stale: list[StaleIssue] = []
    for issue in existing:
        doc = issue.document
        if (
            doc is None
            or doc.status is not Status.IDENTIFIED
            or doc.benchmark_file != benchmark
            or issue.name in current
            or doc.file in unjudged
            or any(_same_function(symbol, doc.function) for symbol in too_thin)
        ):
            continue
        stale.append(
            StaleIssue(
                name=issue.name,
                path=issue.path,
                benchmark_file=doc.benchmark_file,
                function=doc.function,
                file=doc.file,
                share_percent=doc.share_percent,
                identified=doc.identified,
            )
        )
    return tuple(sorted(stale, key=lambda s: s.name))


def _same_function(symbol: str, function: str) -> bool:
    """Whether a profile symbol (`lang::vm::runtime::VM::index_op`) is the function an issue
    file names (`VM::index_op`, `builtin_rotate`, `<Value as Clone>::clone (derived)`)."""
    name = function.removesuffix(" (derived)")
    compact = compact_name(symbol)
    return (
        name in (symbol, compact) or symbol.endswith("::" + name) or compact.endswith("::" + name)
    )
