"""Every naming rule for issue files, in one place: build, shorten, keep, deduplicate.

Contract: everything here is pure. Names are `UPPERCASE_WITH_UNDERSCORES`, at most
`MAX_NAME_LENGTH` characters, cut only at an underscore.

* `issue_name(hotspot, detail)` builds `DETAIL_IN_OPERATION` from the mechanism's detail token
  and the VM operation (`STRING_GRAPHEME_COLLECT_IN_INDEX_OP`). A tiny helper called from one
  dominant site is named for that site, with the helper after `VIA` unless the detail already
  says it (`VALUE_COPY_VIA_POP_IN_BINARY_MOD`, `VALUE_CLONE_IN_BUILTIN_ROTATE`). A name never
  repeats itself: when the operation is already the detail's last word (`VALUE_CLONE_IN_CLONE`),
  it is named for its heaviest caller (`VALUE_CLONE_FROM_EXECUTE_UNTIL`) or, with no caller,
  left at the detail.
* `FolderNames` is one scan of the issue folder: which name belongs to which hotspot (benchmark,
  file, function). `assign_names` keeps the existing name of a hotspot's file on a rerun while
  the name's detail still matches the evidence, never takes a name another hotspot's file has,
  and makes the run's names unique in order;
  `adopt_suggested_names` takes a model's suggestion only where nothing else has a claim on it.
* `previous_detail(name, details)` recovers the detail token an earlier run chose from its name,
  so classification can keep it while the evidence has not clearly changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from perf_identify.hotspots import Hotspot, Share
from perf_identify.symbols import short_name, split_top_level

MAX_NAME_LENGTH = 60
DOMINANT_SITE_FRACTION = 0.5
"""A tiny helper is named for a call site that carries at least this much of its time."""

IssueKey = tuple[str, str, str]
"""(benchmark file, source file, function as the issue file prints it)."""


def fit_name(name: str, limit: int = MAX_NAME_LENGTH) -> str:
    """Shorten `name` to `limit` characters, at an underscore where one is close enough."""
    if len(name) <= limit:
        return name
    cut = name[:limit]
    boundary = cut.rfind("_")
    if boundary >= limit // 2:
        cut = cut[:boundary]
    return cut.rstrip("_")


# Method names that say nothing without their type: `VALUE_NEW`, not `NEW`.
_GENERIC_METHODS = frozenset(
    {"new", "default", "from", "into", "fmt", "error", "get", "set", "call", "run", "drop"}
)


def operation_token(symbol: str) -> str:
    """`lang::vm::runtime::VM::index_op` -> `INDEX_OP`; `<Value as Clone>::clone` -> `CLONE`;
    `lang::vm::value::Value::new` -> `VALUE_NEW`."""
    method = short_name(symbol)
    token = _token(method)
    if method in _GENERIC_METHODS:
        owner = _owner_type(symbol)
        if owner:
            token = f"{_token(owner)}_{token}"
    return token or "VM"


def _token(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()


def _owner_type(symbol: str) -> str:
    """The type a method belongs to: `Value` for `<Value as Clone>::clone` and `a::Value::new`."""
    trait_impl = re.match(r"<(.+?) as ", symbol)
    path = trait_impl.group(1) if trait_impl else symbol
    parts = [p for p in split_top_level(path) if p]
    if not trait_impl:
        parts = parts[:-1]
    if not parts:
        return ""
    owner = parts[-1].split("<", 1)[0]
    return owner if owner[:1].isupper() else ""


def dominant_call_site(hotspot: Hotspot) -> Share | None:
    """The call site carrying at least half of a tiny helper's value, if there is one."""
    if not hotspot.tiny_helper or not hotspot.call_sites:
        return None
    site = hotspot.call_sites[0]
    return site if site.value >= DOMINANT_SITE_FRACTION * hotspot.value else None


def issue_name(hotspot: Hotspot, detail: str) -> str:
    """`DETAIL_IN_OPERATION`, named for the dominant call site of a tiny helper."""
    detail_words = detail.split("_")
    operation = operation_token(hotspot.symbol)
    site = dominant_call_site(hotspot)
    if site is not None:
        helper = operation
        operation = operation_token(site.name)
        # `CallFrame::read_byte` called from `VM::read_byte`: one name, said once.
        said = _contains_words(detail_words, helper.split("_")) or helper == operation
        via = "" if said else f"_VIA_{helper}"
        return fit_name(f"{detail}{via}_IN_{operation}")
    if _contains_words(detail_words, operation.split("_")):
        # `VALUE_CLONE_IN_CLONE` says nothing the detail does not: name the heaviest caller.
        if hotspot.call_sites:
            return fit_name(f"{detail}_FROM_{operation_token(hotspot.call_sites[0].name)}")
        return fit_name(detail)
    return fit_name(f"{detail}_IN_{operation}")


def _contains_words(words: Sequence[str], part: Sequence[str]) -> bool:
    """Whether `part` occurs in `words` as a run of whole words."""
    size = len(part)
    return any(list(words[i : i + size]) == list(part) for i in range(len(words) - size + 1))


def previous_detail(name: str, details: Iterable[str]) -> str | None:
    """The longest detail token that `name` starts with as whole words, if any."""
    matches = [d for d in details if name == d or name.startswith(d + "_")]
    return max(matches, key=len) if matches else None


def unique_names(names: Sequence[str]) -> list[str]:
    """Suffix repeats with _2, _3, … in order, keeping every name within the length limit."""
    seen: dict[str, int] = {}
    result: list[str] = []
    taken = set(names)
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        if count == 1:
            result.append(name)
            continue
        candidate = name
        while candidate in taken:
            suffix = f"_{count}"
            candidate = name[: MAX_NAME_LENGTH - len(suffix)].rstrip("_") + suffix
            count += 1
        taken.add(candidate)
        result.append(candidate)
    return result


UNREADABLE: IssueKey = ("", "", "")
"""The key of a file that does not parse: its name is taken, by nobody we know."""


@dataclass(frozen=True, slots=True)
class FolderEntry:
    name: str
    key: IssueKey
    """`("", "", "")` for a file that does not parse: its name is taken by nobody we know."""
    line: int = 0
    identified: bool = False
    """Still `STATUS: IDENTIFIED` (ours to rewrite)."""


@dataclass(frozen=True, slots=True)
class FolderNames:
    """What one scan of the issue folder says about names."""

    entries: tuple[FolderEntry, ...] = ()
    owners: dict[str, IssueKey] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Iterable[FolderEntry]) -> FolderNames:
        listed = tuple(entries)
        return cls(listed, {entry.name: entry.key for entry in listed})

    def previous(self, key: IssueKey) -> FolderEntry | None:
        """The file an earlier run wrote for this hotspot of this benchmark, if any."""
        return next((e for e in self.entries if e.key == key), None)


def assign_names(
    keys: Sequence[IssueKey],
    fresh: Sequence[str],
    folder: FolderNames,
    details: Sequence[str] | None = None,
    known_details: Iterable[str] = (),
) -> list[str]:
    """One name per hotspot: its existing file's name, else its fresh name made free.

    A rerun keeps the file of the same benchmark, file and function under its name, so it is
    rewritten rather than duplicated, as long as the name still tells the truth: when the
    existing name starts with one of `known_details` and this run's detail for the hotspot is
    another (the evidence clearly moved, see `classify`), the hotspot gets its fresh name and
    the old file is left to be reported stale. Names a person or a model chose are kept.
    """
    known = tuple(known_details)
    names: list[str] = []
    for index, (key, name) in enumerate(zip(keys, fresh, strict=True)):
        existing = folder.previous(key)
        if existing is not None:
            earlier = previous_detail(existing.name, known) if known else None
            if earlier is None or details is None or earlier == details[index]:
                names.append(existing.name)
                continue
        owner = folder.owners.get(name)
        # A computed name that belongs to another hotspot's file is never written over.
        free = name if owner is None or owner == key else _free_name(name, folder.owners, key[0])
        names.append(free)
    return unique_names(names)


def _free_name(name: str, taken: dict[str, IssueKey], benchmark: str) -> str:
    """`NAME_<BENCHMARK>` (the same hotspot seen in another benchmark), else `NAME_2`, …"""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", PurePosixPath(benchmark).stem).strip("_").upper()
    candidate = fit_name(f"{name}_{stem}") if stem else name
    index = 2
    while candidate in taken or candidate == name:
        suffix = f"_{index}"
        candidate = name[: MAX_NAME_LENGTH - len(suffix)].rstrip("_") + suffix
        index += 1
    return candidate


def adopt_suggested_names(
    keys: Sequence[IssueKey],
    names: Sequence[str],
    suggested: Sequence[str | None],
    folder: FolderNames,
) -> list[str]:
    """A drafter's suggested name replaces ours when nothing else has a claim on it.

    The schema already checked its shape. It is taken only if no other hotspot of this run has
    or suggests it, no existing file of another hotspot has it, and this hotspot has no issue
    file yet: a rerun keeps the existing name.
    """
    result = list(names)
    owned = set(folder.owners.values())
    for index, (key, name) in enumerate(zip(keys, suggested, strict=True)):
        others = result[:index] + result[index + 1 :]
        if (
            name is None
            or key in owned
            or suggested.count(name) > 1
            or name in others
            or folder.owners.get(name, key) != key
        ):
            continue
        result[index] = name
    return result
