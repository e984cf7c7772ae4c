"""The offline drafter: issue prose written from the facts alone, deterministically.

Contract: `offline_draft(facts)` is pure, never raises on any facts `hotspot_facts` can build,
and returns a `Draft` that passes the schema and `grounding.draft_problems`.

It says only what the evidence backs. The Description states the figures (share, flat and cum
as sampled CPU time, the merged helpers with their shares), the VM callers, the library chain
and leaves, and the cited line with why it was chosen (and the other lines that fit the same
evidence). The Root Cause explains each mechanism `classify` *claimed* for this hotspot, naming
the frames or the line that show it; a mechanism is never borrowed from another class. With no
claimed mechanism it says what the profile shows and that the cause needs a reading of the code,
and what to read and record next. Approach and Risk follow the decisive mechanism. Expected
Impact is bounded by the measured share: that share times a mechanism-specific recoverable
fraction, stated as an estimate, or only the bound when the mechanism is unknown.

Text from outside (symbol names, source lines) is quoted in code spans and shortened to fit;
the schema elides what is still too long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perf_identify.classify import COLLECT, Finding
from perf_identify.display_text import visible
from perf_identify.drafts import MAX_QUOTE_CHARS, CheckedDraft, checked_draft
from perf_identify.facts import HotspotFacts
from perf_identify.hotspots import Share
from perf_identify.pprof import ProfileKind
from perf_identify.symbols import compact_name

NAME_CHARS = 72
"""Longest symbol name quoted in prose; longer ones are shortened in the middle, so that a
quoted name (which never wraps) with its backticks and punctuation fits the 80 columns."""
QUOTE_CHARS = 160
"""Longest source line quoted in prose."""


@dataclass(frozen=True, slots=True)
class _Playbook:
    explain: str
    """What the mechanism does, as shown by its frames; `{frames}` names them."""
    approach: str
    risk: str
    recoverable: tuple[float, float]
    """Fraction of the attributed time a fix of this kind usually removes (low, high)."""
    recoverable_words: str


_UNICODE_RISK = (
    "Indexing must keep its current Unicode semantics: the same clusters for combining marks, "
    "emoji ZWJ sequences, regional-indicator flags and CRLF, and the same behaviour for "
    "negative and out-of-range indexes. A cached offset table must never outlive or mismatch "
    "the string it describes."
)
_PERSISTENT_RISK = (
    "Persistent collections exist so that old versions stay valid: any version the program can "
    "still reach must not change, so an in-place update must first prove the value is unshared. "
    "Element order, equality and the behaviour for empty collections and out-of-range indexes "
    "must not change."
)
_STACK_RISK = (
    "In-place stack operations must leave the stack exactly as before on every error path, and "
    "keep the evaluation order of operands."
)

_PLAYBOOKS: dict[str, _Playbook] = {
    "GRAPHEME": _Playbook(
        explain=(
            "The string is segmented into grapheme clusters from its start ({frames}): every "
            "boundary decision consults Unicode property tables. One operation therefore costs "
            "O(n) in the length of the string, and a loop that touches every position of a "
            "string costs O(n^2)."
        ),
        approach=(
            "Stop segmenting the whole string on every access. For a single lookup, iterate "
            "lazily and stop at the wanted position (`.nth(i)` on the grapheme iterator) instead "
            "of collecting into a Vec. Better, make indexing O(1) after the first access: keep a "
            "lazily built table of cluster offsets with the string, or take a fast path for "
            "ASCII-only strings (`s.is_ascii()`), where every byte is one cluster. Add a "
            "benchmark that indexes a long string in a loop before changing the code."
        ),
        risk=_UNICODE_RISK,
        recoverable=(0.8, 0.95),
        recoverable_words="most (four-fifths or more)",
    ),
    "UTF8_DECODE": _Playbook(
        explain=(
            "The string's UTF-8 is decoded into chars from its start ({frames}), so one "
            "operation costs O(n) in the length of the string and a loop over its positions "
            "costs O(n^2)."
        ),
        approach=(
            "Decode no more than needed: take the wanted char lazily (`s.chars().nth(i)`) "
            "instead of materialising all of them, and for ASCII-only strings (`s.is_ascii()`) "
            "index the bytes directly, where the byte index is the char index. Where the same "
            "string is indexed repeatedly, keep its chars (or char offsets) with the value."
        ),
        risk=(
            "Results must stay the same for multi-byte characters and for negative and "
            "out-of-range indexes; an ASCII fast path must fall back for any non-ASCII byte."
        ),
        recoverable=(0.6, 0.9),
        recoverable_words="most",
    ),
    "FORMAT": _Playbook(
        explain=(
            "Text is built through the formatting machinery ({frames}): every call walks the "
            "format arguments through dynamic dispatch and allocates a new String."
        ),
        approach=(
            "Build strings without `format!` where the pieces are already text: "
            "`String::with_capacity` and `push_str`, or one buffer reused across calls. Where the "
            "formatted string only serves as a key or for a comparison, use the parts directly."
        ),
        risk=(
            "The text must stay byte for byte the same, including number formatting and the "
            "`Display` output of every value type."
        ),
        recoverable=(0.4, 0.8),
        recoverable_words="about half or more",
    ),
    "PERSISTENT_VECTOR_INDEX": _Playbook(
        explain=(
            "Elements of a persistent vector are read by position ({frames}): each access walks "
            "the vector's tree from the root to a leaf chunk, O(log n) pointer hops instead of "
            "one load, and a loop that reads element after element pays that walk every time."
        ),
        approach=(
            "Traverse instead of indexing: iterate with the vector's iterator (`iter()`, or a "
            "`focus()` for repeated access), and build results with the structure's bulk "
            "operations (`split_at`, `append`, `skip`/`take`, `slice`) instead of reading and "
            "pushing one element at a time."
        ),
        risk=_PERSISTENT_RISK,
        recoverable=(0.5, 0.9),
        recoverable_words="about half to most",
    ),
    "PERSISTENT_VECTOR_PUSH": _Playbook(
        explain=(
            "A persistent vector is built one element at a time ({frames}): every push checks "
            "and fills the tail chunk, and allocates or copies a chunk when it is full or shared."
        ),
        approach=(
            "Build the vector in one step: collect an iterator into it (`.collect()`), or fill a "
            "`Vec` and convert it once, instead of a `push_back` per element."
        ),
        risk=_PERSISTENT_RISK,
        recoverable=(0.3, 0.6),
        recoverable_words="between a third and a half",
    ),
    "PERSISTENT_MAP": _Playbook(
        explain=(
            "The time is in a persistent hash map or set ({frames}): every operation hashes "
            "the key and walks the structure's trie of nodes."
        ),
        approach=(
            "Touch the persistent map less: look a key up once and keep the result, batch "
            "several updates through a mutable std `HashMap` and convert once, or keep data the "
            "program never shares in a mutable collection."
        ),
        risk=_PERSISTENT_RISK,
        recoverable=(0.3, 0.6),
        recoverable_words="between a third and a half",
    ),
    "COPY_ON_WRITE": _Playbook(
        explain=(
            "Shared nodes are copied before they are written ({frames}): the structure is shared "
            "with another version of itself, so an update first clones every node on its path."
        ),
        approach=(
            "Make the updated value unshared before the update (drop or move out the other "
            "reference, for example with `std::mem::take`), so the copy-on-write finds a unique "
            "owner and writes in place; or batch updates through a mutable builder."
        ),
        risk=_PERSISTENT_RISK,
        recoverable=(0.3, 0.7),
        recoverable_words="between a third and two-thirds",
    ),
    "HASHING": _Playbook(
        explain=(
            "The time goes to hashing keys ({frames}): every lookup or insert hashes its key "
            "again, and the default SipHash costs more than the probe for small keys."
        ),
        approach=(
            "Hash less often: look up once and keep the entry (the `entry` API) instead of a "
            "`get` followed by an `insert`; resolve names to slots once, at compile time; intern "
            "string keys; or, where keys are not attacker-controlled, use a faster "
            "non-cryptographic hasher."
        ),
        risk=(
            "A faster hasher changes the iteration order of hash maps; any output that depends "
            "on that order (printing a dict, iterating a set) must not change. Slot resolution "
            "must keep the scoping rules exactly."
        ),
        recoverable=(0.3, 0.7),
        recoverable_words="between a third and two-thirds",
    ),
    "MEMBERSHIP_SCAN": _Playbook(
        explain=(
            "A membership test scans the collection element by element until it finds a match "
            "({frames}): O(n) per test, O(n^2) when a loop tests once per element."
        ),
        approach=(
            "For repeated membership tests on the same collection, build a set once and test "
            "against it; where the program tests a list it also appends to, keep a set beside "
            "the list."
        ),
        risk=(
            "Membership must keep the current equality semantics (for example integer versus "
            "decimal values), and a side set must be updated with every change of the list."
        ),
        recoverable=(0.5, 0.9),
        recoverable_words="about half to most",
    ),
    "VALUE_EQ": _Playbook(
        explain=(
            "The time goes to comparing values for equality ({frames}): each comparison matches "
            "on both values' variants and, for strings and collections, compares their contents."
        ),
        approach=(
            "Compare less often and less deeply: where this is a membership scan, test a set "
            "built once instead; give the common cheap variants (integers) a fast path before "
            "the general match; compare lengths before contents."
        ),
        risk=(
            "Equality must keep its semantics across value types (integer versus decimal, "
            "nested collections), and a set-based test must agree with the scan it replaces."
        ),
        recoverable=(0.3, 0.7),
        recoverable_words="between a third and two-thirds",
    ),
    "CLONE": _Playbook(
        explain=(
            "Values are cloned on this path ({frames}): a clone matches on the value's variant "
            "and copies it or bumps the reference counts of its heap payloads, and every clone "
            "is paid for again when it is dropped."
        ),
        approach=(
            "Borrow instead of cloning where the consumer only reads: pass `&Value`, match on "
            "references, and move values out (`std::mem::take`, `pop`) where the source is "
            "discarded anyway. Where a clone feeds a structure being rebuilt, build it from the "
            "source with bulk operations instead of cloning element by element."
        ),
        risk=(
            "Borrowing across a call that mutates the VM's stack or heap will not pass the "
            "borrow checker; do not work around it with unsafe code. Moving a value out must not "
            "change semantics where the old slot is read again later."
        ),
        recoverable=(0.5, 0.9),
        recoverable_words="about half to most",
    ),
    "DROP": _Playbook(
        explain=(
            "The time goes to dropping values ({frames}): each drop decrements reference counts "
            "and, for the last reference, releases every element and chunk it owns."
        ),
        approach=(
            "Create and drop fewer values: reuse a buffer kept in the VM (clear and refill it) "
            "instead of building and dropping a new one per call, and move values out instead "
            "of cloning them and dropping the original."
        ),
        risk=(
            "A reused buffer must be cleared before reuse and must not keep values alive longer "
            "than the program can observe (for example through reference counts)."
        ),
        recoverable=(0.3, 0.7),
        recoverable_words="between a third and two-thirds",
    ),
    "COLLECT": _Playbook(
        explain=(
            "An iterator is materialised into a new collection on every call ({frames}): the "
            "allocation and the copy of every element are paid each time."
        ),
        approach=(
            "Consume the iterator lazily where only part of it is used (`nth`, `take`, `find`), "
            "or keep the collected result between calls when its input does not change."
        ),
        risk="The lazily consumed result must equal the collected one, element for element.",
        recoverable=(0.4, 0.8),
        recoverable_words="about half or more",
    ),
    "ALLOCATION": _Playbook(
        explain=(
            "The hot path allocates, or grows a buffer step by step so that it reallocates and "
            "copies its contents again and again ({frames})."
        ),
        approach=(
            "Allocate once and reuse: size buffers up front with `with_capacity` when the final "
            "length is known, and keep scratch buffers in the VM between calls. Where "
            "copy-on-write semantics force a copy per update, share the buffer (`Rc<Vec<_>>` with "
            "`Rc::make_mut`) so the copy happens only when the value is really shared."
        ),
        risk=(
            "Reused buffers must be cleared before reuse. With `Rc::make_mut`, a shared value "
            "must still be copied before mutation."
        ),
        recoverable=(0.5, 0.85),
        recoverable_words="about half to most",
    ),
    "STACK_POP": _Playbook(
        explain=(
            "The samples land in moving values off the operand stack ({frames}). Moving one value "
            "is a few machine words, so this share means pops run extremely often here, or that "
            "code inlined around them is counted under this name (pprof-rs names a hot address "
            "after the first function it saw there); a per-address profile tells which."
        ),
        approach=(
            "Record a per-address profile first (`perf-identify record -- <the benchmark "
            "command>`) to see the hot lines. If the pops are real, operate on the top of the "
            "stack in place (`last_mut()`) for unary and binary operations instead of "
            "pop, compute, push."
        ),
        risk=_STACK_RISK,
        recoverable=(0.1, 0.4),
        recoverable_words="a tenth to two-fifths",
    ),
    "STACK_PUSH": _Playbook(
        explain=(
            "The samples land in moving values onto the operand stack ({frames}). Moving one "
            "value is a few machine words, so this share means pushes run extremely often here, "
            "or that code inlined around them is counted under this name (pprof-rs names a hot "
            "address after the first function it saw there); a per-address profile tells which."
        ),
        approach=(
            "Record a per-address profile first (`perf-identify record -- <the benchmark "
            "command>`) to see the hot lines. If the pushes are real, reserve stack capacity "
            "once per call frame and write results in place of their operands instead of "
            "pop, compute, push."
        ),
        risk=_STACK_RISK,
        recoverable=(0.1, 0.4),
        recoverable_words="a tenth to two-fifths",
    ),
    "VALUE_COPY": _Playbook(
        explain=(
            "The time goes to copying memory ({frames}): values moved or copied whole, which "
            "pays for bytes that do no useful work."
        ),
        approach=(
            "Copy less: work in place where the value stays put, pass large values by reference "
            "into helpers that only read them, and box rare large variants so the common value "
            "is small."
        ),
        risk=_STACK_RISK,
        recoverable=(0.2, 0.5),
        recoverable_words="a fifth to a half",
    ),
    "DISPATCH": _Playbook(
        explain=(
            "The time is the interpreter's per-instruction overhead ({frames}): fetching and "
            "decoding each instruction, matching on the opcode and checking each step's result, "
            "paid for every executed instruction."
        ),
        approach=(
            "Cut the cost per instruction: keep the instruction pointer, the current chunk and "
            "the stack top in local variables inside the loop, decode operands once into a typed "
            "instruction, and fuse frequent instruction pairs into superinstructions."
        ),
        risk=(
            "Operand caching and superinstructions must keep error reporting intact: the same "
            "error at the same source position for the same failing instruction."
        ),
        recoverable=(0.1, 0.3),
        recoverable_words="a tenth to a third",
    ),
}
_LINE_EXPLAIN: dict[str, str] = {
    "GRAPHEME": "segments a string into grapheme clusters",
    "UTF8_DECODE": "decodes a string into chars",
    "FORMAT": "formats a string (`format!` allocates a new String)",
    "MEMBERSHIP_SCAN": "tests membership by scanning a collection",
    "VALUE_EQ": "compares values element by element",
    "CLONE": "clones a value",
    "COLLECT": "collects an iterator into a new collection",
}
_UNEXPLAINED_RISK = (
    "No change can be assessed before the cause is known; keep the existing tests for every "
    "value type the function handles and add a benchmark before changing it."
)


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _shorten(text: str, limit: int) -> str:
    """`text` cut in the middle to `limit` characters, one line, no backticks."""
    flat = " ".join(visible(text.replace("`", "'")).split())
    if len(flat) <= limit:
        return flat
    half = (limit - 1) // 2
    return flat[:half] + "\u2026" + flat[-(limit - 1 - half) :]


def _code(text: str, limit: int = NAME_CHARS) -> str:
    return f"`{_shorten(text, limit)}`"


def _name(symbol: str) -> str:
    return _code(compact_name(symbol))


def _series(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _shares(shares: tuple[Share, ...] | list[Share], limit: int) -> str:
    return _series([f"{_name(s.name)} ({_pct(s.percent)})" for s in shares[:limit]])


def _floor(value: float, digits: int) -> float:
    scale = 10.0**digits
    return math.floor(value * scale) / scale


def offline_draft(facts: HotspotFacts) -> CheckedDraft:
    """Write the five prose sections for `facts` without a model."""
    findings = facts.classification.findings
    decisive = findings[0] if findings else None
    playbook = _PLAYBOOKS.get(decisive.key) if decisive is not None else None
    return checked_draft(
        description=_description(facts),
        root_cause=_root_cause(facts),
        approach=_approach(facts, playbook),
        expected_impact=_expected_impact(facts, playbook),
        risk=playbook.risk if playbook is not None else _UNEXPLAINED_RISK,
        evidence=_evidence(facts),
    )


def _description(facts: HotspotFacts) -> str:
    hotspot = facts.hotspot
    extent = facts.extent
    benchmark = _code(facts.context.benchmark_file)
    span = f"lines {extent.start_line}-{extent.end_line}"
    where = f"{_code(facts.function)} ({_code(facts.file)}, {span})"
    figures = (
        f"flat {facts.figure(hotspot.flat)}, cum {facts.figure(hotspot.cum)} of sampled CPU time"
    )
    if hotspot.merged:
        helpers = _series(
            [
                f"{_name(m.helper.symbol)} ({_pct(m.percent)}), called from it"
                for m in hotspot.merged
            ]
        )
        text = (
            f"{where} accounts for {_pct(facts.share_percent)} of the sampled CPU time of "
            f"{benchmark}: {_pct(hotspot.own_percent)} in its own code and the library calls "
            f"below it ({figures}), and {helpers}. Almost all of the helper's time is reached "
            f"through this function, so both are one fix site and are reported together."
        )
    else:
        text = (
            f"{where} accounts for {_pct(facts.share_percent)} of the sampled CPU time of "
            f"{benchmark}: that share of all samples has this function as its innermost frame "
            f"in the VM's own source ({figures})."
        )
    if hotspot.callers:
        path = " <- ".join(_name(s.name) for s in hotspot.callers[:3])
        text += f" It is reached through {path}."
    if facts.call_site is not None:
        site = facts.call_site
        text += (
            f" It is a small helper; its heaviest call site is {_name(site.name)}, which "
            f"accounts for {_pct(site.percent)} of runtime through it, so that is where the fix "
            f"belongs."
        )
    if hotspot.chain:
        chain = " -> ".join(_name(s.name) for s in hotspot.chain[:5])
        hidden = len(hotspot.chain) - 5
        more = f" and {hidden} more frame{'s' if hidden > 1 else ''}" if hidden > 0 else ""
        text += f" Below it, the heaviest path runs {chain}{more}."
    library_leaves = [s for s in hotspot.leaves if s.name != hotspot.symbol]
    if library_leaves:
        text += f" The time itself is spent in {_shares(library_leaves, 3)}."
    own = 100.0 * hotspot.self_value / facts.context.total if facts.context.total else 0.0
    if round(own, 1) > 0:
        text += f" Its own instructions account for {_pct(own)}."
    return text + "\n\n" + _line_sentence(facts)


def _quote(text: str) -> str:
    return _code(text.strip(), QUOTE_CHARS)


def _line_sentence(facts: HotspotFacts) -> str:
    quote = _quote(facts.line_text)
    line = facts.line.line
    line_value = facts.hotspot.line_values.get(line, 0)
    if facts.context.kind is ProfileKind.PER_ADDRESS and line_value and facts.context.total:
        share = 100.0 * line_value / facts.context.total
        basis = f"The profile records true line numbers; {_pct(share)} of runtime is on"
        return f"{basis} line {line}, the hottest in the function: {quote}."
    if facts.context.kind is ProfileKind.PER_ADDRESS:
        basis = "The profile records true line numbers, and"
    else:
        basis = (
            "The profile stores one arbitrary line per function (pprof-rs de-duplicates by "
            "name), so the line was chosen from the source:"
        )
    text = f"{basis} line {line} ({_reason(facts.line.reason)}) reads {quote}."
    others = [c for c in facts.line.candidates if c != line]
    if others:
        listed = _series([str(c) for c in others[:6]])
        more = f" and {len(others) - 6} more" if len(others) > 6 else ""
        text += (
            f" Line{'s' if len(others) > 1 else ''} {listed}{more} "
            f"{'fit' if len(others) > 1 else 'fits'} the same evidence; "
            f"this profile cannot tell which of them is hot, so read them all."
        )
    return text


def _reason(reason: str) -> str:
    """Our reason text with the source tokens it quotes (between backticks) kept as code."""
    parts = reason.split("`")
    return "".join(
        _code(part, 60) if index % 2 else _keep_spaces(part, _shorten(part, 200))
        for index, part in enumerate(parts)
    ).strip()


def _keep_spaces(raw: str, text: str) -> str:
    lead = " " if raw[:1].isspace() else ""
    trail = " " if raw[-1:].isspace() else ""
    return f"{lead}{text}{trail}" if text else lead or trail


def _collects(finding: Finding) -> bool:
    pattern = COLLECT.frames
    return pattern is not None and any(pattern.search(name) for name in finding.frames)


def _frames_phrase(finding: Finding) -> str:
    names = [_name(name) for name in finding.frames[:3]]
    return "the profile shows " + _series(names) if names else "shown on the cited line"


def _root_cause(facts: HotspotFacts) -> str:
    findings = facts.classification.findings
    if not findings:
        return _unexplained(facts)
    parts: list[str] = []
    for index, finding in enumerate(findings[:3]):
        playbook = _PLAYBOOKS.get(finding.key)
        if playbook is None:
            continue
        if finding.value > 0:
            share = 100.0 * finding.value / facts.context.total if facts.context.total else 0.0
            explain = playbook.explain.format(frames=f"{_frames_phrase(finding)}, {_pct(share)}")
        else:
            action = _LINE_EXPLAIN.get(finding.key, "shows this work")
            explain = (
                f"The cited line {action}; the profile's frames do not separate its cost, so "
                f"this is a lead to check, not a measured cause."
            )
        if finding.key in ("GRAPHEME", "UTF8_DECODE") and _collects(finding):
            explain += (
                " The whole sequence is collected into a new collection on every call "
                "(`collect` in the chain), so every call walks the string to its end, whichever "
                "element it then uses."
            )
        lead = "" if index == 0 else "Also: "
        parts.append(lead + explain)
    own = facts.hotspot.self_value
    explains_own = facts.hotspot.symbol in findings[0].frames or findings[0].key == "DISPATCH"
    if not explains_own and own >= findings[0].value and facts.context.total:
        parts.insert(
            0,
            f"{_pct(100.0 * own / facts.context.total)} of runtime is in the function's own "
            f"instructions, which this profile does not break down by line; the rest is "
            f"explained here.",
        )
    if facts.hotspot.merged:
        names = _series([_name(m.helper.symbol) for m in facts.hotspot.merged])
        parts.append(
            f"The time of {names} counts here because it is spent on calls made from this "
            f"function; fixing how it calls {names} removes that time too."
        )
    return " ".join(parts)


def _unexplained(facts: HotspotFacts) -> str:
    hotspot = facts.hotspot
    shown: list[str] = []
    library_leaves = [s for s in hotspot.leaves if s.name != hotspot.symbol]
    if hotspot.self_value and facts.context.total:
        own = 100.0 * hotspot.self_value / facts.context.total
        shown.append(f"{_pct(own)} in the function's own instructions")
    if library_leaves:
        shown.append(f"time in {_shares(library_leaves, 3)}")
    what = _series(shown) or "time attributed to this function"
    extent = facts.extent
    return (
        f"The profile shows {what}, but no frame names a known mechanism (string, hashing, "
        f"collection, clone, drop or allocation work), so which operation costs the time needs "
        f"a reading of the code: lines {extent.start_line}-{extent.end_line} of "
        f"{_code(facts.file)}, starting at line {facts.line.line}. A per-address profile "
        f"(`perf-identify record -- <the benchmark command>`) gives per-line figures that "
        f"settle it."
    )


def _approach(facts: HotspotFacts, playbook: _Playbook | None) -> str:
    if playbook is None:
        return (
            f"First find the costly operation in {_code(facts.function)}: record a per-address "
            f"profile and read the lines it marks, starting with line {facts.line.line}. Until "
            f"that is known there is no specific change to recommend; a guess here would "
            f"optimise the wrong code."
        )
    where = f"In {_code(facts.function)}, starting at line {facts.line.line}: "
    if facts.call_site is not None:
        where = (
            f"Fix the callers rather than {_code(facts.function)} itself, starting with "
            f"{_name(facts.call_site.name)}: "
        )
    text = where + playbook.approach[0].lower() + playbook.approach[1:]
    for merged in facts.hotspot.merged:
        text += (
            f" The same change should remove most calls to {_name(merged.helper.symbol)} made "
            f"from here ({_pct(merged.percent)})."
        )
    return text


def _expected_impact(facts: HotspotFacts, playbook: _Playbook | None) -> str:
    share = round(facts.share_percent, 1)
    bound = (
        f"Upper bound: {share:.1f}% of runtime, the time attributed to {_code(facts.function)}"
        + (" and the helpers reported with it" if facts.hotspot.merged else "")
        + "; no change here can save more."
    )
    if playbook is None:
        return (
            f"{bound} Until the costly operation is known there is no basis for a smaller "
            f"estimate; /perf-verify measures the real change."
        )
    low, high = playbook.recoverable
    digits = 0 if share >= 10 else 1
    cut_low = _floor(share * low, digits)
    cut_high = _floor(share * high, digits)
    runtime = facts.context.runtime_ms
    after_high = round(runtime * (1 - cut_low / 100))
    after_low = round(runtime * (1 - cut_high / 100))
    fmt = f"{{:.{digits}f}}%"
    return (
        f"{bound} A fix of this kind usually removes {playbook.recoverable_words} of that time, "
        f"so expect roughly a {fmt.format(cut_low)} to {fmt.format(cut_high)} cut in this "
        f"benchmark's runtime, from {runtime}ms to about {after_low}-{after_high}ms. This is an "
        f"estimate from the kind of fix, not a measurement; /perf-verify measures the real change."
    )


def _evidence_quote(line_text: str) -> str:
    """The line's code, verbatim, cut to the schema's limit (a prefix still matches it)."""
    return line_text.strip()[:MAX_QUOTE_CHARS].rstrip() or line_text[:MAX_QUOTE_CHARS]


def _evidence(facts: HotspotFacts) -> list[tuple[int, str]]:
    evidence = [(facts.line.line, _evidence_quote(facts.line_text))]
    if facts.extent.signature_line != facts.line.line:
        evidence.append((facts.extent.signature_line, _evidence_quote(facts.signature_text)))
    return evidence
