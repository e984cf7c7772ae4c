"""Classify a hotspot by the mechanisms its own evidence shows, and nothing else.

Contract: `find_mechanisms(hotspot)` and `classify(hotspot, cited_code)` are pure.

A `Mechanism` is one way a VM function can burn time (grapheme segmentation, UTF-8 decoding,
hashing, a persistent-vector walk, a clone, a drop, …) together with its *signature*: the
library frame names that prove it happened, and the source tokens that show it on a line.
A mechanism is claimed for a hotspot only when its signature is in that hotspot's own evidence:

* a library frame below it on any branch (`Hotspot.below`) or among its leaves (the mechanism's
  weight is the larger of the heaviest such frame, counted once per sample, and the sum of such
  leaves, because leaves are disjoint while nested frames are not);
* its own name, for the time spent in its own code (`<Value as Clone>::clone` is clone work);
* the same, for each helper merged into it as one fix site (`fix_sites.py`), weighted by the
  helper's time through this hotspot;
* or the cited line (`cited_code`, comments and strings blanked): `.chars()` there is UTF-8
  decoding, `format!` formatting, `==` element comparison, `.contains(` a membership scan.

Nothing is borrowed from the function's other lines or from another class's story. The
`Classification` carries every claimed mechanism heaviest first; the first decides the issue
class and the name's detail token (`STRING_GRAPHEME_COLLECT`, `PERSISTENT_MAP_INSERT`). With no
mechanism at all the class is OWN_CODE and the detail `SELF_TIME`: the drafter then says
what the profile shows and that the mechanism needs a reading of the code.

Re-runs stay stable: `classify(..., prefer=DETAIL)` keeps the detail an earlier run chose as long
as its mechanism still carries at least half the weight of the heaviest one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from perf_identify.hotspots import Hotspot
from perf_identify.symbols import short_name


class IssueClass(enum.StrEnum):
    """Hotspot classes; on equal weight the earlier, more specific class wins."""

    STRING = "string/unicode work"
    PERSISTENT = "persistent-collection operations"
    LINEAR = "O(n) work per operation"
    COMPARISON = "value comparison"
    HASHING = "hashing"
    ALLOCATION = "allocation/reallocation"
    CLONE_DROP = "clone and drop of values"
    MEMCPY = "memcpy/moves"
    DISPATCH = "bytecode dispatch"
    OWN_CODE = "the function's own code"


@dataclass(frozen=True, slots=True)
class Mechanism:
    """One mechanism and its signature."""

    key: str
    issue_class: IssueClass
    frames: re.Pattern[str] | None
    """Matches the full demangled name of a frame that proves the mechanism."""
    line_tokens: tuple[str, ...] = ()
    """Source tokens that show it on a line, in `source.choose_line`'s token syntax."""
    line_is_evidence: bool = False
    """Whether the tokens on the cited line prove it on their own (`.chars()`, `format!`)."""


def _frames(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives))


_INDEXING = r"re:[A-Za-z0-9_)\]]\s*\[[^\]]"
"""`list[i]`, `self.items[idx]`: an index expression (not `vec![`, `#[`, `&[T]`)."""

GRAPHEME = Mechanism(
    "GRAPHEME",
    IssueClass.STRING,
    _frames(r"unicode_segmentation::", r"GraphemeCursor", r"Graphemes"),
    ("graphemes", "grapheme_indices"),
    line_is_evidence=True,
)
UTF8_DECODE = Mechanism(
    "UTF8_DECODE",
    IssueClass.STRING,
    _frames(
        r"next_code_point",
        r"core::str::iter::Chars",
        r"core::str::iter::CharIndices",
        r"utf8_first_byte",
        r"utf8_acc_cont_byte",
    ),
    ("chars", "char_indices"),
    line_is_evidence=True,
)
FORMAT = Mechanism(
    "FORMAT",
    IssueClass.STRING,
    _frames(r"core::fmt::", r"alloc::fmt::format", r"as alloc::string::ToString>", r"write_fmt"),
    ("format!", "to_string", "write!"),
    line_is_evidence=True,
)
COLLECT = Mechanism(
    "COLLECT",
    IssueClass.ALLOCATION,
    _frames(r"Iterator::collect$", r"FromIterator", r"spec_from_iter", r"extend_desugared"),
    ("collect",),
    line_is_evidence=True,
)
PERSISTENT_VECTOR_INDEX = Mechanism(
    "PERSISTENT_VECTOR_INDEX",
    IssueClass.PERSISTENT,
    _frames(
        r"^<im(?:_rc)?::vector::Vector<A> as core::ops::index::Index",
        r"^im(?:_rc)?::vector::Vector<A>::(?:get|index|focus)",
        r"^im(?:_rc)?::nodes::rrb::Node<A>::index",
    ),
    (_INDEXING, "get"),
)
PERSISTENT_VECTOR_PUSH = Mechanism(
    "PERSISTENT_VECTOR_PUSH",
    IssueClass.PERSISTENT,
    _frames(
        r"^im(?:_rc)?::vector::(?:Vector|Rrb)<A>::push_(?:back|front)",
        r"^sized_chunks::sized_chunk::Chunk<A,N>::push_(?:back|front)",
    ),
    ("push_back", "push_front"),
)
PERSISTENT_MAP = Mechanism(
    "PERSISTENT_MAP",
    IssueClass.PERSISTENT,
    _frames(
        r"^im(?:_rc)?::hash::",
        r"^<im(?:_rc)?::hash::",
        r"^im(?:_rc)?::ord::",
        r"^im(?:_rc)?::nodes::hamt::",
        r"^<im(?:_rc)?::nodes::hamt::",
        r"sized_chunks::sparse_chunk::",
    ),
    ("insert", "update", "entry", "remove", "get", "contains_key", "contains"),
)
COPY_ON_WRITE = Mechanism(
    "COPY_ON_WRITE",
    IssueClass.PERSISTENT,
    _frames(r"PoolRef<A>::make_mut", r"clone_uninit", r"Rc<T,A>::make_mut"),
    ("insert", "update", "push_back", "set"),
)
HASHING = Mechanism(
    "HASHING",
    IssueClass.HASHING,
    _frames(
        r"core::hash::",
        r"Hasher",
        r"siphash",
        r"hash_one",
        r"make_hash",
        r"BuildHasher",
        r"hashbrown::raw::",
        r"RawTable",
        r"probe_seq",
    ),
    ("entry", "insert", "get", "contains_key", "get_mut", "remove"),
)
VALUE_EQ = Mechanism(
    "VALUE_EQ",
    IssueClass.COMPARISON,
    _frames(r"as core::cmp::PartialEq(?:<[^>]*>)?>::(?:eq|ne)$", r"PartialEq<&B> for &A>::eq"),
    ("==", "!=", "eq"),
    line_is_evidence=True,
)
MEMBERSHIP_SCAN = Mechanism(
    "MEMBERSHIP_SCAN",
    IssueClass.LINEAR,
    _frames(
        r"::contains$",
        r"Iterator>::position$",
        r"Iterator::position$",
        r"Iterator::any$",
        r"Iterator::find$",
    ),
    ("contains", "position", "any", "find"),
    line_is_evidence=True,
)
CLONE = Mechanism(
    "CLONE",
    IssueClass.CLONE_DROP,
    _frames(r"as core::clone::Clone>::clone$", r"::to_owned$", r"Counter>::inc$", r"inc_strong"),
    ("clone", "cloned", "to_owned"),
    line_is_evidence=True,
)
DROP = Mechanism(
    "DROP",
    IssueClass.CLONE_DROP,
    _frames(
        r"drop_in_place",
        r"as core::ops::drop::Drop>::drop$",
        r"return_to_pool",
        r"Counter>::dec$",
        r"dec_strong",
        r"drop_slow",
    ),
)
ALLOCATION = Mechanism(
    "ALLOCATION",
    IssueClass.ALLOCATION,
    _frames(
        r"alloc::alloc::",
        r"Allocator>::allocate",
        r"GlobalAlloc>::alloc",
        r"raw_vec::",
        r"RawVec",
        r"finish_grow",
        r"grow_one",
        r"grow_amortized",
        r"reserve",
        r"realloc",
        r"__rust_alloc",
        r"__rdl_alloc",
        r"malloc",
        r"with_capacity",
        r"::concat$",
        r"page_fault",
        r"clear_page",
    ),
    ("with_capacity", "concat", "to_vec", "vec!", "reserve"),
)
STACK_POP = Mechanism(
    "STACK_POP",
    IssueClass.MEMCPY,
    _frames(r"^alloc::vec::Vec<T,A>::pop$"),
    ("pop",),
)
STACK_PUSH = Mechanism(
    "STACK_PUSH",
    IssueClass.MEMCPY,
    _frames(r"^alloc::vec::Vec<T,A>::push(?:_mut)?$"),
    ("push",),
)
VALUE_COPY = Mechanism(
    "VALUE_COPY",
    IssueClass.MEMCPY,
    _frames(
        r"memcpy",
        r"memmove",
        r"copy_nonoverlapping",
        r"^core::ptr::read",
        r"^core::ptr::write",
        r"^core::mem::replace",
        r"^core::mem::swap",
        r"extend_from_slice",
    ),
)
DISPATCH = Mechanism(
    "DISPATCH",
    IssueClass.DISPATCH,
    None,
    (r"re:\bmatch\b[^{]*\b(?:op|opcode|instruction|instr|inst)\b",),
)
"""Own time of the interpreter loop or of a tiny instruction-fetch helper of it."""

MECHANISMS: tuple[Mechanism, ...] = (
    GRAPHEME,
    UTF8_DECODE,
    FORMAT,
    PERSISTENT_VECTOR_INDEX,
    PERSISTENT_VECTOR_PUSH,
    PERSISTENT_MAP,
    COPY_ON_WRITE,
    HASHING,
    MEMBERSHIP_SCAN,
    VALUE_EQ,
    CLONE,
    DROP,
    COLLECT,
    ALLOCATION,
    STACK_POP,
    STACK_PUSH,
    VALUE_COPY,
    DISPATCH,
)
BY_KEY = {mechanism.key: mechanism for mechanism in MECHANISMS}

_DISPATCH_FUNCTIONS = re.compile(r"(^|_)(run|execute|execute_until|dispatch|step|interpret|eval)$")
_FETCH_HELPERS = re.compile(
    r"^(read_byte|read_u8|read_u16|read_u32|read_u64|read_short|read_operand|read_constant"
    r"|fetch|chunk|current_frame|frame|current_chunk|ip|next_op|next_opcode)$"
)
# A weaker mechanism is claimed beside the first only when it carries this much of the
# hotspot: below it the claim would rest on a few samples.
SECONDARY_FRACTION = 0.15


@dataclass(frozen=True, slots=True)
class Finding:
    """One mechanism claimed for a hotspot and the evidence that backs it."""

    mechanism: Mechanism
    value: int
    """Attributed value its frames carry (0 when only the cited line shows it)."""
    frames: tuple[str, ...]
    """Full names of the frames that carry it, heaviest first."""
    on_line: bool = False
    """The cited line shows it."""

    @property
    def key(self) -> str:
        return self.mechanism.key


@dataclass(frozen=True, slots=True)
class Classification:
    issue_class: IssueClass
    detail: str
    """The decisive mechanism as a name token: STRING_GRAPHEME_COLLECT, PERSISTENT_MAP_INSERT."""
    findings: tuple[Finding, ...]
    """Every mechanism claimed, the decisive one first."""

    @property
    def markers(self) -> tuple[str, ...]:
        """The frame names that decided the class, heaviest first."""
        return self.findings[0].frames[:4] if self.findings else ()

    def has(self, key: str) -> bool:
        return any(finding.key == key for finding in self.findings)

    def finding(self, key: str) -> Finding | None:
        return next((f for f in self.findings if f.key == key), None)


def is_dispatch_function(symbol: str) -> bool:
    return bool(_DISPATCH_FUNCTIONS.search(short_name(symbol)))


def is_fetch_helper(symbol: str) -> bool:
    return bool(_FETCH_HELPERS.match(short_name(symbol)))


def _evidence(hotspot: Hotspot) -> list[tuple[str, int, bool]]:
    """(frame name, value, is_leaf) of every frame that can prove a mechanism for `hotspot`:
    its chain and leaves, its own name for its own time, and the same for merged helpers
    (scaled to the part of their time that runs through `hotspot`)."""
    items: list[tuple[str, int, bool]] = []
    sources = [
        (hotspot, 1.0),
        *((m.helper, _fraction(m.value, m.helper.value)) for m in hotspot.merged),
    ]
    for source, scale in sources:
        for share in source.below or source.chain:
            if share.name != source.symbol:
                items.append((share.name, round(share.value * scale), False))
        for share in source.leaves:
            if share.name != source.symbol:
                items.append((share.name, round(share.value * scale), True))
        if source.self_value:
            items.append((source.symbol, round(source.self_value * scale), True))
    return items


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def find_mechanisms(hotspot: Hotspot) -> list[Finding]:
    """Every mechanism whose frames appear in `hotspot`'s own evidence, heaviest first."""
    evidence = _evidence(hotspot)
    findings: list[Finding] = []
    for mechanism in MECHANISMS:
        if mechanism.frames is None:
            continue
        pattern = mechanism.frames
        chain = [(n, v) for n, v, leaf in evidence if not leaf and _proves(mechanism, pattern, n)]
        leaves = [(n, v) for n, v, leaf in evidence if leaf and _proves(mechanism, pattern, n)]
        value = max(max((v for _, v in chain), default=0), sum(v for _, v in leaves))
        if value <= 0:
            continue
        names = [n for n, _ in sorted([*chain, *leaves], key=lambda item: (-item[1], item[0]))]
        findings.append(Finding(mechanism, value, tuple(dict.fromkeys(names))))
    dispatch = _dispatch_value(hotspot)
    if dispatch and is_dispatch_function(hotspot.symbol):
        # Moving operands through the stack is part of what an interpreter loop does per
        # instruction: inside the loop itself it is dispatch cost, not a separate mechanism.
        moves = [f for f in findings if f.key in _OPERAND_MOVES]
        dispatch += sum(f.value for f in moves if f.key != "VALUE_COPY")
        findings = [f for f in findings if f.key not in _OPERAND_MOVES]
    if dispatch:
        findings.append(Finding(DISPATCH, dispatch, (hotspot.symbol,)))
    return _promote_specific(_ordered(findings))


_OPERAND_MOVES = frozenset({"STACK_POP", "STACK_PUSH", "VALUE_COPY"})
_GENERIC = frozenset({"VALUE_COPY"})
SPECIFIC_FRACTION = 0.85
"""A specific mechanism decides over a generic one (a memcpy) that it nearly covers: the copy
inside a clone is the clone's."""


def _promote_specific(findings: list[Finding]) -> list[Finding]:
    if not findings or findings[0].key not in _GENERIC:
        return findings
    head = findings[0]
    for index, finding in enumerate(findings[1:], start=1):
        if finding.key not in _GENERIC and finding.value >= SPECIFIC_FRACTION * head.value:
            return [finding, *findings[:index], *findings[index + 1 :]]
    return findings


def _proves(mechanism: Mechanism, pattern: re.Pattern[str], name: str) -> bool:
    """Whether frame `name` proves `mechanism`. A drop or a clone of a structure is drop or
    clone work, whatever the structure: `<SparseChunk as Drop>::drop` says nothing about map
    lookups, and `<HashMap as Clone>::clone` nothing about inserts."""
    if not pattern.search(name):
        return False
    for owner in (DROP, CLONE):
        if mechanism is not owner and owner.frames is not None and owner.frames.search(name):
            return False
    return True


def _dispatch_value(hotspot: Hotspot) -> int:
    """Own time of a dispatch loop (with its `?` checks), or of a fetch helper of it."""
    if is_dispatch_function(hotspot.symbol):
        branch = sum(
            s.value for s in hotspot.leaves if s.name.endswith("core::ops::try_trait::Try>::branch")
        )
        return hotspot.self_value + branch
    if is_fetch_helper(hotspot.symbol):
        return hotspot.self_value
    return 0


def _ordered(findings: Iterable[Finding]) -> list[Finding]:
    order = {mechanism.key: index for index, mechanism in enumerate(MECHANISMS)}
    return sorted(findings, key=lambda f: (-f.value, order[f.key]))


def classify(
    hotspot: Hotspot,
    cited_code: str = "",
    *,
    prefer: str | None = None,
    found: Sequence[Finding] | None = None,
) -> Classification:
    """The claimed mechanisms of `hotspot`, the decisive one first, and its class and detail.

    `cited_code` is the cited line with comments and strings blanked; mechanisms whose tokens
    it shows (and whose tokens are evidence on their own) are added or marked `on_line`.
    `found` is `find_mechanisms(hotspot)` when the caller computed it already.
    """
    from perf_identify.source import line_calls

    findings = list(found) if found is not None else find_mechanisms(hotspot)
    keys = {f.key for f in findings}
    marked: list[Finding] = []
    for finding in findings:
        on_line = any(line_calls(cited_code, token) for token in finding.mechanism.line_tokens)
        marked.append(
            Finding(finding.mechanism, finding.value, finding.frames, on_line)
            if on_line
            else finding
        )
    for mechanism in MECHANISMS:
        if mechanism.key in keys or not mechanism.line_is_evidence:
            continue
        if any(line_calls(cited_code, token) for token in mechanism.line_tokens):
            marked.append(Finding(mechanism, 0, (), on_line=True))
    kept = _claimable(hotspot, _merge_string_work(marked))
    kept = _prefer(kept, prefer)
    if not kept:
        return Classification(IssueClass.OWN_CODE, "SELF_TIME", ())
    first = kept[0]
    return Classification(first.mechanism.issue_class, _detail(first, kept), tuple(kept))


def _merge_string_work(findings: list[Finding]) -> list[Finding]:
    """Graphemes decode UTF-8 themselves, and a collect over a per-character iterator is that
    string work materialised: fold both into the grapheme or UTF-8 finding they belong to."""
    keys = {f.key for f in findings}
    text = "GRAPHEME" if "GRAPHEME" in keys else "UTF8_DECODE" if "UTF8_DECODE" in keys else None
    if text is None:
        return _promote_specific(_ordered(findings))
    result: list[Finding] = []
    main = next(f for f in findings if f.key == text)
    collect = next((f for f in findings if f.key == "COLLECT"), None)
    for finding in findings:
        if finding.key == text:
            value = max(finding.value, collect.value if collect else 0)
            frames = finding.frames + (collect.frames if collect else ())
            on_line = finding.on_line or bool(collect and collect.on_line)
            result.append(Finding(main.mechanism, value, frames, on_line))
        elif finding.key == "COLLECT" or (
            text == "GRAPHEME" and finding.key == "UTF8_DECODE" and not finding.on_line
        ):
            continue
        else:
            result.append(finding)
    return _promote_specific(_ordered(result))


def _claimable(hotspot: Hotspot, findings: list[Finding]) -> list[Finding]:
    """The decisive finding, and the others that carry enough of the hotspot or are on the
    cited line. Line-only findings never decide over frame-backed ones."""
    if not findings:
        return []
    backed = [f for f in findings if f.value > 0]
    line_only = [f for f in findings if f.value == 0]
    if not backed:
        return line_only
    floor = SECONDARY_FRACTION * max(hotspot.value, 1)
    first = backed[0]
    # A frame-backed finding is claimed beside the first only with enough weight: its frames
    # say how much it costs, and being on the cited line does not make a small cost large.
    rest = [f for f in backed[1:] if f.value >= floor and not _subsumed(f, [first, *backed[1:]])]
    return [first, *rest, *line_only]


# A generic finding adds nothing when a more specific one explains the same frames: a move off
# the stack is a memory copy, and so are the copies inside a clone or a copy-on-write.
_SUBSUMED_BY = {
    "VALUE_COPY": (
        "STACK_POP",
        "STACK_PUSH",
        "CLONE",
        "COPY_ON_WRITE",
        "PERSISTENT_VECTOR_PUSH",
        "ALLOCATION",
    )
}


def _subsumed(finding: Finding, findings: Sequence[Finding]) -> bool:
    owners = _SUBSUMED_BY.get(finding.key, ())
    return any(
        other.key in owners and other.value >= SPECIFIC_FRACTION * finding.value
        for other in findings
    )


def _prefer(findings: list[Finding], prefer: str | None) -> list[Finding]:
    """Keep an earlier run's decisive mechanism while the evidence has not clearly moved."""
    if not prefer or not findings:
        return findings
    head = findings[0]
    for index, finding in enumerate(findings):
        if finding.key == prefer and finding is not head and 2 * finding.value >= head.value > 0:
            return [finding, *findings[:index], *findings[index + 1 :]]
    return findings


def _any(names: Sequence[str], *needles: str) -> bool:
    return any(needle in name for name in names for needle in needles)


def _detail(first: Finding, findings: Sequence[Finding]) -> str:
    """The name token of the decisive mechanism, refined by what its frames show."""
    keys = {f.key for f in findings}
    frames = first.frames
    match first.key:
        case "GRAPHEME" | "UTF8_DECODE":
            unit = "GRAPHEME" if first.key == "GRAPHEME" else "CHARS"
            pattern = COLLECT.frames
            collects = pattern is not None and any(pattern.search(name) for name in frames)
            return f"STRING_{unit}_COLLECT" if collects else f"STRING_{unit}"
        case "FORMAT":
            return "STRING_FORMAT"
        case "PERSISTENT_VECTOR_INDEX":
            return "PERSISTENT_VECTOR_INDEX"
        case "PERSISTENT_VECTOR_PUSH":
            return "PERSISTENT_VECTOR_PUSH"
        case "PERSISTENT_MAP":
            writes = _any(frames, "::insert", "::update", "::remove", "::entry")
            return "PERSISTENT_MAP_INSERT" if writes else "PERSISTENT_MAP_LOOKUP"
        case "COPY_ON_WRITE":
            return "PERSISTENT_COPY_ON_WRITE"
        case "HASHING":
            return "HASH_INSERT" if _any(frames, "insert", "entry") else "HASH_LOOKUP"
        case "MEMBERSHIP_SCAN":
            return "LIST_SCAN"
        case "VALUE_EQ":
            return "LIST_SCAN_EQ" if "MEMBERSHIP_SCAN" in keys else "VALUE_EQ"
        case "CLONE":
            return "VALUE_CLONE"
        case "DROP":
            return "VALUE_DROP"
        case "COLLECT":
            return "ITER_COLLECT"
        case "ALLOCATION":
            grows = _any(frames, "grow", "reserve", "realloc", "concat", "extend_from_slice")
            return "VEC_REALLOCATION" if grows else "ALLOCATION"
        case "STACK_POP":
            return "STACK_POP"
        case "STACK_PUSH":
            return "STACK_PUSH"
        case "VALUE_COPY":
            return "VALUE_COPY"
        case "DISPATCH":
            fetch = bool(first.frames) and is_fetch_helper(first.frames[0])
            return "INSTRUCTION_FETCH" if fetch else "BYTECODE_DISPATCH"
    return "SELF_TIME"


def frame_claims(
    hotspot: Hotspot, found: Sequence[Finding], *, prefer: str | None = None
) -> list[Finding]:
    """The findings of `find_mechanisms` that `classify` would claim before looking at the
    cited line, the decisive one first: what picks the line to cite."""
    return _prefer(_claimable(hotspot, _merge_string_work(list(found))), prefer)


def line_tokens(findings: Sequence[Finding]) -> list[str]:
    """Source tokens of the claimed mechanisms (`frame_claims`), the decisive one's first:
    the lines that implement them are the lines to cite."""
    tokens: list[str] = []
    for finding in findings:
        for token in _tokens_for(finding, findings):
            if token not in tokens:
                tokens.append(token)
    return tokens


def decided_by_drop(findings: Sequence[Finding]) -> bool:
    """Whether dropping values is the decisive mechanism of the claims (`frame_claims`)."""
    return bool(findings) and findings[0].key == "DROP"


_LOOKUP_TOKENS = ("get", "contains_key", "contains", "get_mut")
_WRITE_TOKENS = ("insert", "update", "entry", "remove")


def _tokens_for(finding: Finding, findings: Sequence[Finding]) -> tuple[str, ...]:
    """A map's lookups and writes are different lines: cite the kind the frames show."""
    if finding.key in ("PERSISTENT_MAP", "HASHING"):
        detail = _detail(finding, findings)
        return _LOOKUP_TOKENS if detail.endswith("LOOKUP") else _WRITE_TOKENS
    return finding.mechanism.line_tokens


DETAILS = (
    "STRING_GRAPHEME_COLLECT",
    "STRING_GRAPHEME",
    "STRING_CHARS_COLLECT",
    "STRING_CHARS",
    "STRING_FORMAT",
    "PERSISTENT_VECTOR_INDEX",
    "PERSISTENT_VECTOR_PUSH",
    "PERSISTENT_MAP_INSERT",
    "PERSISTENT_MAP_LOOKUP",
    "PERSISTENT_COPY_ON_WRITE",
    "HASH_INSERT",
    "HASH_LOOKUP",
    "LIST_SCAN_EQ",
    "LIST_SCAN",
    "VALUE_EQ",
    "VALUE_CLONE",
    "VALUE_DROP",
    "ITER_COLLECT",
    "VEC_REALLOCATION",
    "ALLOCATION",
    "STACK_POP",
    "STACK_PUSH",
    "VALUE_COPY",
    "INSTRUCTION_FETCH",
    "BYTECODE_DISPATCH",
    "SELF_TIME",
)
"""Every detail token `classify` can return: how a name's detail is read back."""

_KEY_OF_DETAIL = {
    "STRING_GRAPHEME_COLLECT": "GRAPHEME",
    "STRING_GRAPHEME": "GRAPHEME",
    "STRING_CHARS_COLLECT": "UTF8_DECODE",
    "STRING_CHARS": "UTF8_DECODE",
    "STRING_FORMAT": "FORMAT",
    "PERSISTENT_VECTOR_INDEX": "PERSISTENT_VECTOR_INDEX",
    "PERSISTENT_VECTOR_PUSH": "PERSISTENT_VECTOR_PUSH",
    "PERSISTENT_MAP_INSERT": "PERSISTENT_MAP",
    "PERSISTENT_MAP_LOOKUP": "PERSISTENT_MAP",
    "PERSISTENT_COPY_ON_WRITE": "COPY_ON_WRITE",
    "HASH_INSERT": "HASHING",
    "HASH_LOOKUP": "HASHING",
    "LIST_SCAN_EQ": "VALUE_EQ",
    "LIST_SCAN": "MEMBERSHIP_SCAN",
    "VALUE_EQ": "VALUE_EQ",
    "VALUE_CLONE": "CLONE",
    "VALUE_DROP": "DROP",
    "ITER_COLLECT": "COLLECT",
    "VEC_REALLOCATION": "ALLOCATION",
    "ALLOCATION": "ALLOCATION",
    "STACK_POP": "STACK_POP",
    "STACK_PUSH": "STACK_PUSH",
    "VALUE_COPY": "VALUE_COPY",
    "INSTRUCTION_FETCH": "DISPATCH",
    "BYTECODE_DISPATCH": "DISPATCH",
}


def mechanism_of_detail(detail: str | None) -> str | None:
    """The mechanism key behind a detail token, for keeping an earlier run's choice."""
    return _KEY_OF_DETAIL.get(detail or "")
