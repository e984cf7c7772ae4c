"""The offline drafter: issue prose written from the facts alone, deterministically.

Contract: `offline_draft(facts)` is pure and returns a `Draft` that passes the schema and
`grounding.draft_problems`. It says only what the facts back: the function, its file and lines,
the VM callers, the library chain and leaves with their measured shares, the line where the hot
chain starts and why that line was chosen, and the mechanism and fix typical of the hotspot's
class. Expected Impact is bounded by the measured share: the estimate is that share times a
class-specific recoverable fraction, stated as an estimate, and worded without percentages of
anything but total runtime.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from perf_identify.attribution import Share
from perf_identify.classify import IssueClass
from perf_identify.facts import HotspotFacts
from perf_identify.pprof import ProfileKind
from perf_identify.schema import Draft, Evidence
from perf_identify.symbols import compact_name


@dataclass(frozen=True, slots=True)
class _Playbook:
    mechanism: str
    approach: str
    risk: str
    recoverable: tuple[float, float]
    """Fraction of the attributed time a fix of this class usually removes (low, high)."""
    recoverable_words: str


_PLAYBOOKS: dict[IssueClass, _Playbook] = {
    IssueClass.STRING: _Playbook(
        mechanism=(
            "Each call walks the string from its start to split it into characters or "
            "grapheme clusters, and materialises the whole sequence before using a single "
            "element. One operation therefore costs O(n) in the length of the string, and a "
            "loop that touches every position of a string costs O(n^2). Grapheme segmentation "
            "is the expensive kind of walk: every boundary decision consults Unicode property "
            "tables, which is where the leaf frames below spend their time."
        ),
        approach=(
            "Stop rebuilding the sequence on every access. For a single lookup, iterate "
            "lazily and stop at the wanted position (`.nth(i)` on the iterator) instead of "
            "collecting into a Vec. Better, make indexing O(1) after the first access: keep "
            "strings as shared immutable values (for example `Rc<str>`) with a lazily built "
            "table of boundary offsets, or take a fast path for ASCII-only strings "
            "(`s.is_ascii()`), where the byte index is the character index. Add a benchmark "
            "that indexes a long string in a loop before changing the code."
        ),
        risk=(
            "Indexing must keep its current Unicode semantics: the same clusters for "
            "combining marks, emoji ZWJ sequences, regional-indicator flags and CRLF, and the "
            "same behaviour for negative and out-of-range indexes. A cached offset table must "
            "never outlive or mismatch the string it describes; if strings can be mutated in "
            "place, the cache has to be invalidated there."
        ),
        recoverable=(0.8, 0.95),
        recoverable_words="most (four-fifths or more)",
    ),
    IssueClass.LINEAR: _Playbook(
        mechanism=(
            "The operation scans a collection from the start to find one element, so each "
            "call costs O(n) in the collection's size and a loop over the collection becomes "
            "quadratic."
        ),
        approach=(
            "Replace the scan with a direct lookup: index by position where the data allows "
            "it, keep a side index (a HashMap from key to position) that is updated with the "
            "collection, or keep the data sorted and use binary search."
        ),
        risk=(
            "A side index must be updated on every mutation of the collection, including "
            "removals and reordering; results for duplicate keys must keep their current "
            "order of precedence."
        ),
        recoverable=(0.6, 0.9),
        recoverable_words="most",
    ),
    IssueClass.HASHING: _Playbook(
        mechanism=(
            "Every access hashes its key again before probing the table. With string keys "
            "the hash walks the whole key, and the default SipHash is built to resist "
            "collision attacks rather than for speed, so a lookup that runs once per "
            "executed instruction pays for hashing far more often than for the work it "
            "guards."
        ),
        approach=(
            "Hash less often: resolve names to slots once, at compile time, so globals and "
            "locals are read by index (`Vec<Value>` indexed by a slot number in the "
            "bytecode); intern string keys so equal keys share one allocation and a "
            "precomputed hash; or, where keys are not attacker-controlled, switch the map to "
            "a faster non-cryptographic hasher. Look up once and keep the entry (the `entry` "
            "API) where the code currently does a `get` followed by an `insert`."
        ),
        risk=(
            "Slot resolution must match the current scoping rules exactly, including "
            "shadowing, globals defined after first use and closures capturing variables. A "
            "faster hasher changes iteration order of hash maps; any output that depends on "
            "that order (printing a dict, iterating a set) must not change."
        ),
        recoverable=(0.3, 0.7),
        recoverable_words="between a third and two-thirds",
    ),
    IssueClass.ALLOCATION: _Playbook(
        mechanism=(
            "The hot path allocates on every call, or grows a vector one element at a time so "
            "that it reallocates and copies its contents again and again. The allocator and "
            "the copies, not the VM's own logic, dominate the time."
        ),
        approach=(
            "Allocate once and reuse: size vectors up front with `Vec::with_capacity` when the "
            "final length is known, let `push` grow geometrically instead of reserving one "
            "slot at a time, and keep scratch buffers in the VM between calls instead of "
            "creating them per operation. Where copy-on-write semantics force a copy per "
            "update, share the buffer (`Rc<Vec<_>>` with `Rc::make_mut`) so the copy only "
            "happens when the value is really shared."
        ),
        risk=(
            "Reused buffers must be cleared before reuse and must not leak values from one "
            "call into the next. With `Rc::make_mut`, a value that is shared must still be "
            "copied before mutation, or updates would become visible through other "
            "references."
        ),
        recoverable=(0.5, 0.85),
        recoverable_words="about half to most",
    ),
    IssueClass.CLONE_DROP: _Playbook(
        mechanism=(
            "Values are cloned (and later dropped) on a path that only needs to read them. "
            "For heap-backed values, a clone is a deep copy or at least a reference-count "
            "update on every element, and every clone is paid for again when it is dropped."
        ),
        approach=(
            "Borrow instead of cloning where the consumer only reads: return `&Value` from "
            "loads and peeks, match on references, and move values out (`std::mem::take`, "
            "`pop`) where the source is discarded anyway. Make the remaining clones cheap by "
            "keeping heavy payloads (lists, dicts, strings) behind `Rc`, so cloning a value "
            "is one reference-count increment."
        ),
        risk=(
            "Borrowing across a call that mutates the VM's stack or heap will not pass the "
            "borrow checker, and working around that with unsafe code is not worth the risk. "
            "Moving values out must not change semantics where the VM relies on the old slot "
            "still holding the value (for example, variables read again later)."
        ),
        recoverable=(0.5, 0.9),
        recoverable_words="about half to most",
    ),
    IssueClass.MEMCPY: _Playbook(
        mechanism=(
            "The time goes to moving `Value`s around: reads and writes of whole values "
            "through the operand stack or into new collections. Each move copies the full "
            "size of the enum, so a large `Value` or an operation that pops and pushes "
            "instead of working in place pays for copies that do no useful work."
        ),
        approach=(
            "Copy less: operate in place on the top of the stack (`last_mut()`) for unary and "
            "binary operations instead of pop, compute, push; shrink `Value` by boxing rare "
            "large variants so the enum fits in 16 bytes; and pass values by reference into "
            "helpers that only read them. Check the size with `std::mem::size_of::<Value>()` "
            "in a test so it cannot grow back unnoticed."
        ),
        risk=(
            "In-place stack operations must leave the stack exactly as before on error "
            "paths. Boxing variants adds an allocation when those values are created; make "
            "sure the boxed variants really are the rare ones in the benchmarks."
        ),
        recoverable=(0.3, 0.6),
        recoverable_words="between a third and a half",
    ),
    IssueClass.PERSISTENT: _Playbook(
        mechanism=(
            "The VM uses persistent (immutable, structurally shared) collections. Each "
            "element access walks a tree of chunks, and each update copies the chunks on the "
            "path to the changed element, so per-element loops pay tree overhead that a plain "
            "vector or hash map would not."
        ),
        approach=(
            "Use the cheap access patterns of the persistent structure: iterate with its "
            "iterators or a focus instead of indexing element by element, and batch updates "
            "through a mutable builder before freezing the result. Where a value is not "
            "shared (reference count of one), mutate it in place instead of building a new "
            "version."
        ),
        risk=(
            "Persistent collections exist so that old versions stay valid: any in-place "
            "mutation must first prove the value is unshared. Iteration order and equality "
            "of collections must not change."
        ),
        recoverable=(0.3, 0.6),
        recoverable_words="between a third and a half",
    ),
    IssueClass.DISPATCH: _Playbook(
        mechanism=(
            "The time is in the interpreter loop itself: fetching and decoding each "
            "instruction, matching on the opcode, and moving operands through the stack. "
            "Every executed instruction pays this overhead, so programs made of many cheap "
            "instructions spend most of their time on dispatch rather than on work."
        ),
        approach=(
            "Cut the cost per instruction: keep the instruction pointer, the current chunk "
            "and the stack top in local variables inside the loop, decode operands once at "
            "compile time into a typed instruction enum, fuse frequent instruction sequences "
            "into superinstructions (for example load-local plus add-constant), and avoid "
            "bounds checks by validating bytecode once when it is loaded."
        ),
        risk=(
            "Superinstructions and operand caching must keep error reporting intact: the "
            "same error, at the same source position, for the same failing instruction. "
            "Removing bounds checks is only safe if the bytecode is validated before it runs."
        ),
        recoverable=(0.1, 0.3),
        recoverable_words="a tenth to a third",
    ),
    IssueClass.OWN_CODE: _Playbook(
        mechanism=(
            "The samples land in the function's own instructions rather than in a library "
            "call, so the cost is its own control flow and data access: branches on value "
            "types, pattern matches and arithmetic executed once per call, on a path that "
            "runs for almost every instruction of the benchmark."
        ),
        approach=(
            "Make the common case short: check the most frequent value types first, return "
            "early, and move rare cases out of line into a separate `#[cold]` function so the "
            "hot path stays small enough to inline into its callers."
        ),
        risk=(
            "Reordering type checks must not change results for mixed-type inputs; keep "
            "existing tests for every value type the function accepts."
        ),
        recoverable=(0.1, 0.3),
        recoverable_words="a tenth to a third",
    ),
}


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _shares(shares: tuple[Share, ...], limit: int) -> str:
    items = [f"`{compact_name(s.name)}` ({_pct(s.percent)})" for s in shares[:limit]]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _names(symbols: tuple[str, ...]) -> str:
    names = [f"`{compact_name(symbol)}`" for symbol in symbols]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _floor(value: float, digits: int) -> float:
    scale = 10.0**digits
    return math.floor(value * scale) / scale


def offline_draft(facts: HotspotFacts) -> Draft:
    """Write the five prose sections for `facts` without a model."""
    playbook = _PLAYBOOKS[facts.classification.issue_class]
    return Draft(
        description=_description(facts),
        root_cause=_root_cause(facts, playbook),
        approach=_approach(facts, playbook),
        expected_impact=_expected_impact(facts, playbook),
        risk=playbook.risk,
        evidence=_evidence(facts),
    )


def _description(facts: HotspotFacts) -> str:
    hotspot = facts.hotspot
    extent = facts.extent
    benchmark = facts.context.benchmark_file
    text = (
        f"`{facts.function}` ({facts.file}, lines {extent.start_line}-{extent.end_line}) "
        f"accounts for {_pct(facts.share_percent)} of the sampled CPU time of {benchmark}: "
        f"that share of all samples has this function as its innermost frame in the VM's own "
        f"source (flat {facts.figure(hotspot.flat)}, cum {facts.figure(hotspot.cum)})."
    )
    if hotspot.callers:
        path = " <- ".join(f"`{compact_name(s.name)}`" for s in hotspot.callers[:3])
        text += f" It is reached through {path}."
    if facts.call_site is not None:
        site = facts.call_site
        text += (
            f" It is a small helper called from many places; its heaviest call site is "
            f"`{compact_name(site.name)}`, which accounts for {_pct(site.percent)} of "
            f"runtime through it, so that is where the fix belongs."
        )
    if hotspot.chain:
        chain = " -> ".join(f"`{compact_name(s.name)}`" for s in hotspot.chain[:5])
        hidden = len(hotspot.chain) - 5
        more = f" and {hidden} more frame{'s' if hidden > 1 else ''}" if hidden > 0 else ""
        text += f" Below it, the heaviest path runs {chain}{more}."
    library_leaves = tuple(s for s in hotspot.leaves if s.name != hotspot.symbol)
    if library_leaves:
        text += f" The time itself is spent in {_shares(library_leaves, 3)}."
    own = 100.0 * hotspot.self_value / facts.context.total if facts.context.total else 0.0
    if hotspot.self_value:
        text += f" Its own instructions account for {_pct(own)}."
    text += "\n\n" + _line_sentence(facts)
    return text


def _line_sentence(facts: HotspotFacts) -> str:
    quote = facts.line_text.strip()
    line_value = facts.hotspot.line_values.get(facts.line.line, 0)
    if facts.context.kind is ProfileKind.PER_ADDRESS and line_value and facts.context.total:
        share = 100.0 * line_value / facts.context.total
        basis = f"The profile records true line numbers; {_pct(share)} of runtime is on"
        return f"{basis} line {facts.line.line}, the hottest in the function: `{quote}`."
    if facts.context.kind is ProfileKind.PER_ADDRESS:
        basis = "The profile records true line numbers, and"
    else:
        basis = (
            "The profile stores one arbitrary line per function (pprof-rs de-duplicates by "
            "name), so the line was chosen from the source:"
        )
    return f"{basis} line {facts.line.line} ({facts.line.reason}) reads `{quote}`."


def _root_cause(facts: HotspotFacts, playbook: _Playbook) -> str:
    markers = facts.classification.markers
    evidence = f" The profile shows this through {_names(markers)}." if markers else ""
    return (
        f"This is {facts.classification.issue_class.value} in `{facts.function}`. "
        f"{playbook.mechanism}{evidence}"
    )


def _approach(facts: HotspotFacts, playbook: _Playbook) -> str:
    where = f"In `{facts.function}`, starting at line {facts.line.line}: "
    if facts.call_site is not None:
        where = (
            f"Fix the callers rather than `{facts.function}` itself, starting with "
            f"`{compact_name(facts.call_site.name)}`: "
        )
    return where + playbook.approach[0].lower() + playbook.approach[1:]


def _expected_impact(facts: HotspotFacts, playbook: _Playbook) -> str:
    share = round(facts.share_percent, 1)
    low, high = playbook.recoverable
    digits = 0 if share >= 10 else 1
    cut_low = _floor(share * low, digits)
    cut_high = _floor(share * high, digits)
    runtime = facts.context.runtime_ms
    after_high = round(runtime * (1 - cut_low / 100))
    after_low = round(runtime * (1 - cut_high / 100))
    fmt = f"{{:.{digits}f}}%"
    return (
        f"Upper bound: {share:.1f}% of runtime, the time attributed to `{facts.function}`; "
        f"no change here can save more. A fix of this kind usually removes "
        f"{playbook.recoverable_words} of that time, so expect roughly a "
        f"{fmt.format(cut_low)} to {fmt.format(cut_high)} cut in this benchmark's runtime, "
        f"from {runtime}ms to about {after_low}-{after_high}ms. This is an estimate from the "
        f"class of fix, not a measurement; /perf-verify measures the real change."
    )


def _evidence(facts: HotspotFacts) -> list[Evidence]:
    evidence = [Evidence(line=facts.line.line, quote=facts.line_text.strip())]
    if facts.extent.signature_line != facts.line.line:
        evidence.append(
            Evidence(line=facts.extent.signature_line, quote=facts.signature_text.strip())
        )
    return evidence
