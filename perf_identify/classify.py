"""Classify a hotspot by what burns its time, and name its issue file.

Contract: `classify(hotspot, body)` is pure. It scores each `IssueClass` by the attributed value
of the library frames under the hotspot (its leaves and its heaviest chain) whose names carry
that class's markers, adds evidence from the function body (the source between its braces),
and returns the best class with the markers that decided it. Ties break in the enum's order.

`issue_name(...)` builds `UPPERCASE_DESCRIPTIVE_NAME` from the class, the decisive detail and
the VM operation (`STRING_GRAPHEME_COLLECT_IN_INDEX_OP`); for a tiny helper called from one
dominant site, the operation is that site (`VALUE_CLONE_IN_BUILTIN_ROTATE`). `unique_names`
makes a run's names distinct without reordering them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from perf_identify.attribution import Hotspot, Share
from perf_identify.symbols import short_name

MAX_NAME_LENGTH = 60


class IssueClass(enum.StrEnum):
    """Hotspot classes; on equal coverage the earlier, more specific class wins."""

    STRING = "string/unicode work"
    PERSISTENT = "persistent-collection operations"
    LINEAR = "O(n) work per operation"
    HASHING = "hashing"
    ALLOCATION = "allocation/reallocation"
    CLONE_DROP = "clone and drop of values"
    MEMCPY = "memcpy/moves"
    DISPATCH = "bytecode dispatch"
    OWN_CODE = "the function's own code"


# Substrings of demangled library frames that mark a class; lowercase.
_MARKERS: dict[IssueClass, tuple[str, ...]] = {
    IssueClass.STRING: (
        "unicode_segmentation",
        "grapheme",
        "next_code_point",
        "core::str::",
        "alloc::str::",
        "alloc::string::",
        "chars",
        "char_indices",
        "to_string",
        "core::fmt::",
        "utf8",
    ),
    IssueClass.LINEAR: (
        "iterator::nth",
        "::nth",
        "position",
        "contains",
        "slice::iter",
        "iter::adapters::skip",
        "::count",
        "linear",
    ),
    IssueClass.HASHING: (
        "hash",
        "sip",
        "fxhasher",
        "ahash",
        "rawtable",
        "probe_seq",
        "find_inner",
        "hashmap",
        "hashset",
    ),
    IssueClass.ALLOCATION: (
        "alloc::alloc::",
        "raw_vec",
        "finish_grow",
        "grow_one",
        "grow_amortized",
        "reserve",
        "realloc",
        "malloc",
        "__rust_alloc",
        "__rdl_alloc",
        "with_capacity",
        "box::new",
        "::concat",
        # Fresh pages from the kernel: what a new large allocation costs when first touched.
        "page_fault",
        "do_anonymous_page",
        "clear_page",
        "handle_mm_fault",
        "__libc_malloc",
        "_int_malloc",
        "sysmalloc",
        "_int_free",
        "__libc_free",
        "cfree",
        "__mmap",
        "__munmap",
    ),
    IssueClass.CLONE_DROP: (
        "clone",
        "drop_in_place",
        "ops::drop::drop",
        "rc<t,a>::inc",
        "rc<t,a>::dec",
        "counter::inc",
        "counter::dec",
        "inc_strong",
        "dec_strong",
        "return_to_pool",
    ),
    IssueClass.MEMCPY: (
        "memcpy",
        "memmove",
        "copy_nonoverlapping",
        "ptr::write",
        "ptr::read",
        "extend_from_slice",
        "mem::replace",
        "mem::swap",
    ),
    IssueClass.PERSISTENT: (
        "im_rc::",
        "im::",
        "rpds::",
        "sized_chunk",
        "sized_chunks",
        "refpool",
        "rrb::",
        "hamt::",
    ),
}
# Where the body shows the mechanism more plainly than the frames do.
_BODY_MARKERS: dict[IssueClass, tuple[str, ...]] = {
    IssueClass.STRING: (".graphemes(", ".chars()", ".char_indices()", ".to_string()", "format!("),
    IssueClass.LINEAR: (".nth(", ".position(", ".contains(", ".iter().find(", ".skip("),
    IssueClass.HASHING: ("hashmap", "hashset", ".entry(", ".contains_key("),
    IssueClass.ALLOCATION: ("vec::new()", "vec![", "with_capacity(", ".reserve("),
    IssueClass.CLONE_DROP: (".clone()", ".to_owned()", ".cloned()"),
    IssueClass.MEMCPY: ("extend_from_slice(", ".copy_from_slice(", "mem::replace(", "mem::take("),
}
_DISPATCH_FUNCTIONS = re.compile(r"(^|_)(run|execute|execute_until|dispatch|step|interpret|eval)")


@dataclass(frozen=True, slots=True)
class Classification:
    issue_class: IssueClass
    detail: str
    """The decisive mechanism as a name token: GRAPHEME_COLLECT, HASH_LOOKUP, VEC_GROWTH."""
    markers: tuple[str, ...]
    """The frame names that decided the class, heaviest first."""


def classify(hotspot: Hotspot, body: str) -> Classification:
    """Pick the class whose markers cover the most attributed value below `hotspot`.

    A class's coverage is the larger of its heaviest marked frame on the hot chain (every
    sample below that frame passes through it) and the sum of its marked leaves (leaves are
    disjoint). Summing nested chain frames would reward classes whose work has deep stacks.
    """
    chain = [(s.name, s.value) for s in hotspot.chain if s.name != hotspot.symbol]
    leaves = [(s.name, s.value) for s in hotspot.leaves if s.name != hotspot.symbol]
    scores = dict.fromkeys(IssueClass, 0)
    evidence: dict[IssueClass, list[str]] = {issue_class: [] for issue_class in IssueClass}
    for issue_class, markers in _MARKERS.items():
        marked_chain = [(n, v) for n, v in chain if _marked(n, markers)]
        marked_leaves = [(n, v) for n, v in leaves if _marked(n, markers)]
        scores[issue_class] = max(
            max((v for _, v in marked_chain), default=0), sum(v for _, v in marked_leaves)
        )
        for name, _ in sorted([*marked_chain, *marked_leaves], key=lambda item: -item[1]):
            if name not in evidence[issue_class]:
                evidence[issue_class].append(name)
    # The hotspot's own code: its name says what it does (`<Value as Clone>::clone` is clone
    # work), and an interpreter loop's own time is dispatch.
    own = hotspot.self_value
    function_name = short_name(hotspot.symbol)
    for issue_class, markers in _MARKERS.items():
        if own and _marked(hotspot.symbol, markers):
            scores[issue_class] += own
            evidence[issue_class].insert(0, hotspot.symbol)
    if _DISPATCH_FUNCTIONS.search(function_name):
        scores[IssueClass.DISPATCH] += own + hotspot.value // 4
        evidence[IssueClass.DISPATCH].insert(0, hotspot.symbol)
    lowered_body = body.lower()
    for issue_class, markers in _BODY_MARKERS.items():
        if scores[issue_class] and any(marker in lowered_body for marker in markers):
            # Body evidence only breaks near-ties; the profile decides.
            scores[issue_class] += hotspot.value // 20
    # A collect over a per-character iterator is O(n) string work whichever leaf was named.
    if scores[IssueClass.STRING] and scores[IssueClass.LINEAR]:
        scores[IssueClass.STRING] += scores[IssueClass.LINEAR]
    best = max(IssueClass, key=lambda issue_class: (scores[issue_class], -_order(issue_class)))
    if scores[best] == 0:
        best = IssueClass.OWN_CODE
    frames = sorted({*chain, *leaves}, key=lambda item: (-item[1], item[0]))
    return Classification(best, _detail(best, frames, body), tuple(evidence[best][:4]))


def _marked(name: str, markers: tuple[str, ...]) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in markers)


def _order(issue_class: IssueClass) -> int:
    return list(IssueClass).index(issue_class)


def _any(frames: Iterable[tuple[str, int]], *needles: str) -> bool:
    return any(needle in name.lower() for name, _ in frames for needle in needles)


def _detail(issue_class: IssueClass, frames: Sequence[tuple[str, int]], body: str) -> str:
    body_lower = body.lower()
    collects = _any(frames, "collect", "from_iter", "extend_desugared") or ".collect" in body_lower
    if issue_class is IssueClass.STRING:
        unit = (
            "GRAPHEME"
            if _any(frames, "grapheme") or ".graphemes(" in body_lower
            else "CHARS"
            if _any(frames, "chars", "next_code_point") or ".chars()" in body_lower
            else "FORMAT"
            if _any(frames, "core::fmt::", "to_string")
            else "OPS"
        )
        return f"STRING_{unit}_COLLECT" if collects else f"STRING_{unit}"
    if issue_class is IssueClass.LINEAR:
        return "LINEAR_SCAN"
    if issue_class is IssueClass.HASHING:
        if _any(frames, "insert", "entry"):
            return "HASH_INSERT"
        return "HASH_LOOKUP"
    if issue_class is IssueClass.ALLOCATION:
        if _any(frames, "grow", "reserve", "realloc", "::concat", "extend_from_slice"):
            return "VEC_REALLOCATION"
        return "ALLOCATION"
    if issue_class is IssueClass.CLONE_DROP:
        drops = sum(v for n, v in frames if "drop" in n.lower() or "dec" in n.lower())
        clones = sum(v for n, v in frames if "clone" in n.lower() or "inc" in n.lower())
        return "VALUE_DROP" if drops > clones else "VALUE_CLONE"
    if issue_class is IssueClass.MEMCPY:
        return "VALUE_COPY"
    if issue_class is IssueClass.PERSISTENT:
        kind = (
            "VECTOR"
            if _any(frames, "vector", "rrb", "sized_chunk")
            else "MAP"
            if _any(frames, "hashmap", "hamt", "ordmap")
            else "COLLECTION"
        )
        return f"PERSISTENT_{kind}"
    if issue_class is IssueClass.DISPATCH:
        return "BYTECODE_DISPATCH"
    return "SELF_TIME"


def operation_token(symbol: str) -> str:
    """`lang::vm::runtime::VM::index_op` -> `INDEX_OP`; `<Value as Clone>::clone` -> `CLONE`."""
    token = re.sub(r"[^A-Za-z0-9]+", "_", short_name(symbol)).strip("_").upper()
    return token or "VM"


def dominant_call_site(hotspot: Hotspot) -> Share | None:
    """The call site carrying at least half of a tiny helper's value, if there is one."""
    if not hotspot.tiny_helper or not hotspot.call_sites:
        return None
    site = hotspot.call_sites[0]
    return site if 2 * site.value >= hotspot.value else None


def issue_name(hotspot: Hotspot, classification: Classification) -> str:
    detail = classification.detail
    operation = operation_token(hotspot.symbol)
    site = dominant_call_site(hotspot)
    if site is not None:
        helper = operation
        operation = operation_token(site.name)
        if helper not in detail.split("_"):
            detail = f"{detail}_VIA_{helper}"
    name = f"{detail}_IN_{operation}"
    if len(name) > MAX_NAME_LENGTH:
        name = name[:MAX_NAME_LENGTH].rstrip("_")
    return name


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
