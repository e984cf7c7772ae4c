"""Where a profiled Rust function lives in its source file, and which line of it to cite.

Contract
--------
Everything here is pure: functions take the text of one Rust source file plus strings from the
profile and return values. Nothing reads files, runs processes, looks at the clock or the
environment, and nothing raises on odd input (an empty, `Unknown` or garbled symbol simply finds
nothing).

* `parse_symbol(symbol)` splits a demangled Rust name as pprof-rs writes it
  (`lang::vm::runtime::VM::index_op`, `<lang::vm::value::Value as core::clone::Clone>::clone`,
  `lang::vm::runtime::VM::builtin_map::{{closure}}`, `alloc::vec::Vec<T,A>::extend_desugared`)
  into a `SymbolPath`: module path, impl type, trait, function name and closure depth. `::` is
  split only outside `<...>`, `(...)`, `[...]` and `{...}`; generics, legacy `::h<hash>` suffixes
  and v0 crate disambiguators are dropped.
* `find_function(source_text, symbol)` returns the `FunctionExtent` of that function, found with
  tree-sitter (a brace counter breaks on `"{"`, `'{'`, lifetimes and raw strings). Methods are
  looked up in every `impl` block of the symbol's type, top level or inside `mod` blocks; trait
  methods prefer the impl of the symbol's trait; a trait-less symbol takes the inherent impl, or
  the single trait impl of that type when no inherent one has the name; a trait method the impl
  does not override is found as the trait's default body. Closures are attributed to the function
  that contains them. A name that exists only under another type (or only as a
  method when a free function was asked for, or the reverse) gives `None`: no guessing.
* `choose_line(source_text, extent, callee_names, line_weights)` picks the line to cite, by this
  rule:

  1. If `line_weights` (line -> sample share, from a profile that has true line numbers) has a
     positive weight on some line of the extent, cite the heaviest such line (ties: the lowest
     line).
  2. Otherwise try the hot-chain callees in the order given (first = highest priority). A callee
     matches a line of the function *body* (after the signature, with comments and string/char
     literal contents blanked) where it is called: `name(`, `.name(`, `::name(`, `name::<`.
     If the name itself is not called anywhere in the body, its aliases from `_CALLEE_ALIASES`
     are tried (e.g. `from_iter` -> `.collect(`, `eq` -> `==`). The first callee that matches
     anywhere wins, and within it the first matching line. Callees given as full symbols are
     reduced to their function name; `drop_in_place` is skipped (every scope end drops).
  3. Otherwise cite the signature line, and say so in the reason.

  The chosen line always lies within the extent.
* `numbered_excerpt(...)` renders the extent as numbered lines for a prompt or an issue file,
  optionally with a per-line share column (shares are fractions: 0.123 shows as `12.3%`),
  truncated around a focus line.

Line numbers are 1-based everywhere and count `\\n`-separated lines, as tree-sitter does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from perf_identify.symbols import CLOSERS, OPENERS, split_top_level

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Tree

__all__ = [
    "FunctionExtent",
    "LineChoice",
    "SymbolPath",
    "choose_line",
    "find_function",
    "numbered_excerpt",
    "parse_symbol",
]

# The profile names the function the VM code *calls* (often deep inside std), while the source
# line shows the call the user wrote. These map such std-internal names to the source tokens that
# reach them. A token that is an identifier matches a call of it (`.tok(`, `tok(`, `tok::<`); one
# ending in `!` matches that macro; anything else (`==`) matches literally.
_CALLEE_ALIASES: dict[str, tuple[str, ...]] = {
    # Vec/collection building: `collect()` and `extend()` end in these specialisations.
    "from_iter": ("collect",),
    "spec_from_iter": ("collect",),
    "extend_desugared": ("collect", "extend"),
    "spec_extend": ("collect", "extend"),
    "extend_trusted": ("collect", "extend"),
    "clone": ("to_owned", "cloned"),
    "eq": ("==", "!="),
    "ne": ("!=", "=="),
    # Hashing is reached through map/set operations, not by calling `.hash()`.
    "hash": ("insert", "get", "contains_key", "entry", "remove", "get_mut", "contains"),
    "hash_one": ("insert", "get", "contains_key", "entry", "remove", "get_mut", "contains"),
    "make_hash": ("insert", "get", "contains_key", "entry", "remove", "get_mut", "contains"),
    # Text iteration: grapheme and UTF-8 decoding internals.
    "next_code_point": ("graphemes", "chars", "char_indices", "grapheme_indices"),
    "next_boundary": ("graphemes", "grapheme_indices"),
    "grapheme_category": ("graphemes", "grapheme_indices"),
    # Growth of a Vec/String/map happens inside push/extend/insert.
    "reserve": ("push", "extend", "insert", "push_str", "extend_from_slice"),
    "grow_one": ("push", "extend", "insert", "push_str"),
    "grow_amortized": ("push", "extend", "insert", "push_str", "extend_from_slice"),
    "finish_grow": ("push", "extend", "insert", "push_str", "extend_from_slice"),
    "realloc": ("push", "extend", "insert", "push_str", "extend_from_slice"),
    "reserve_rehash": ("insert", "entry"),
    "format_inner": ("format!", "to_string"),
}

# Callees that say nothing about *which* line runs them (every scope end drops something).
_SKIPPED_CALLEES: frozenset[str] = frozenset({"drop_in_place"})

_RUST_IDENT = re.compile(r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*")
_LEGACY_HASH = re.compile(r"h[0-9a-f]{16}")
# v0 demangling may keep crate disambiguators: `lang[8f3a2b1c]::vm`.
_CRATE_DISAMBIGUATOR = re.compile(r"\[[0-9a-f]{1,16}\]")
_CLOSURE_SEGMENT = re.compile(r"\{\{closure\}\}|\{closure#\d+\}|\{async_(?:fn|block)#\d+\}")


# Node kinds whose text is not code: their contents are blanked before looking for calls.
_NON_CODE_KINDS = frozenset(
    {"line_comment", "block_comment", "string_literal", "raw_string_literal", "char_literal"}
)


@dataclass(frozen=True, slots=True)
class SymbolPath:
    """A demangled Rust symbol split into the parts needed to find it in source.

    `fn_name` is "" when the symbol names no Rust function (empty, `Unknown`, garbage).
    `impl_type` and `trait_name` are short last-segment names with generics stripped.
    """

    raw: str
    module_path: tuple[str, ...]
    impl_type: str | None
    trait_name: str | None
    fn_name: str
    closure_depth: int = 0

    @property
    def is_method(self) -> bool:
        return self.impl_type is not None


@dataclass(frozen=True, slots=True)
class FunctionExtent:
    """The lines a function occupies in its file (1-based, inclusive).

    `start_line` is the item's first line after its attributes and doc comments (the `pub fn`
    line); `signature_line` is where the name stands (the same line unless formatted oddly);
    `end_line` holds the closing `}`. `display_name` is what users read: `VM::index_op`,
    `<Value as Clone>::clone`, `builtin_map`.
    """

    display_name: str
    start_line: int
    end_line: int
    signature_line: int
    impl_type: str | None  # "VM" for `impl VM`, "Value" for `impl Clone for Value`
    trait_name: str | None  # "Clone" for `impl Clone for Value`

    def contains(self, line: int) -> bool:
        return self.start_line <= line <= self.end_line


@dataclass(frozen=True, slots=True)
class LineChoice:
    """The line to cite and why.

    `matched` is the hot-chain callee name (as given by the caller, shortened to its last path
    segment) whose call was found on `line`; the reason names the source token when it was matched
    through an alias.
    """

    line: int
    reason: str
    matched: str | None
    candidates: tuple[int, ...] = ()
    """Every line that fits the same evidence (the chosen one included), when several do."""
    code: str = ""
    """The chosen line's code with comments and string contents blanked."""


# --------------------------------------------------------------------------------------------
# Symbols


def _strip_generics(name: str) -> str:
    """`Vec<T,A>` -> `Vec`, `call<T>` -> `call`; a leading `<` (qualified path) is kept."""
    idx = name.find("<", 1)
    return name[:idx].strip() if idx > 0 else name.strip()


def _base_type_name(type_text: str) -> str:
    """The short name an impl block would use for a type: `&mut lang::Value<'a>` -> `Value`."""
    text = type_text.strip()
    changed = True
    while changed:
        changed = False
        for prefix in ("&", "mut ", "*const ", "*mut ", "dyn ", "impl "):
            if text.startswith(prefix):
                text = text[len(prefix) :].lstrip()
                changed = True
        # A lifetime on a reference: `&'a Value`.
        if text.startswith("'"):
            head, _, rest = text.partition(" ")
            if rest and _RUST_IDENT.fullmatch(head[1:]):
                text = rest.lstrip()
                changed = True
    if not text.startswith(("[", "(")):
        text = _strip_generics(split_top_level(text)[-1])
    # Slices, tuples and fn pointers are compared whitespace-free, like the source side.
    return re.sub(r"\s+", "", text)


def _cut_at_top_level_space(text: str) -> str:
    """Drop trailing annotations such as ` (inlined)`; paths have no spaces outside brackets."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS and not (ch == ">" and i > 0 and text[i - 1] == "-"):
            depth = max(0, depth - 1)
        elif depth == 0 and ch.isspace():
            return text[:i]
    return text


def _parse_qualified(segment: str) -> tuple[tuple[str, ...], str | None, str | None] | None:
    """`<path::Type as path::Trait>` / `<path::Type>` / `<impl ...>` -> (module, type, trait)."""
    if not (segment.startswith("<") and segment.endswith(">")):
        return None
    inner = segment[1:-1].strip()
    if inner.startswith("impl "):
        inner = inner[len("impl ") :].strip()
        parts = split_top_level(inner, " for ")
        if len(parts) == 2:
            return (), _base_type_name(parts[1]), _base_type_name(parts[0])
        return (), _base_type_name(inner), None
    parts = split_top_level(inner, " as ")
    type_text = parts[0].strip()
    trait = _base_type_name(parts[1]) if len(parts) == 2 else None
    type_segments = split_top_level(type_text)
    module = tuple(s for s in type_segments[:-1] if s and not s.startswith(("&", "*")))
    return module, _base_type_name(type_text), trait


def _looks_like_type(segment: str) -> bool:
    # Rust naming convention: types are CamelCase, modules and functions snake_case.
    return bool(segment) and segment[0].isupper()


def parse_symbol(symbol: str) -> SymbolPath:
    """Split a demangled Rust symbol into module path, impl type, trait, fn name, closure depth.

    Never raises; a symbol that names no function gets `fn_name == ""`.
    """
    raw = symbol
    text = _CRATE_DISAMBIGUATOR.sub("", symbol.strip())
    text = _cut_at_top_level_space(text)
    empty = SymbolPath(raw, (), None, None, "", 0)
    if not text or text == "Unknown":
        return empty

    segments = [s.strip() for s in split_top_level(text)]
    if len(segments) > 1 and _LEGACY_HASH.fullmatch(segments[-1]):
        segments.pop()

    closure_depth = 0
    while segments and segments[-1].startswith("{"):
        if _CLOSURE_SEGMENT.fullmatch(segments[-1]):
            closure_depth += 1
        segments.pop()
    # A trailing turbofish (`hash::<DefaultHasher>`) is a generic argument, not a path segment.
    while len(segments) > 1 and segments[-1].startswith("<") and " as " not in segments[-1]:
        if segments[-1].startswith("<impl "):
            break
        segments.pop()
    if not segments:
        return empty

    fn_name = _strip_generics(segments[-1])
    if not _RUST_IDENT.fullmatch(fn_name):
        return SymbolPath(raw, (), None, None, "", closure_depth)
    fn_name = fn_name.removeprefix("r#")

    prefix = segments[:-1]
    module_path: tuple[str, ...] = ()
    impl_type: str | None = None
    trait_name: str | None = None

    qualified_at = next(
        (i for i, seg in enumerate(prefix) if seg.startswith("<") and seg.endswith(">")), None
    )
    if qualified_at is not None:
        parsed = _parse_qualified(prefix[qualified_at])
        if parsed is not None:
            q_module, impl_type, trait_name = parsed
            outer = tuple(_strip_generics(s) for s in prefix[:qualified_at])
            module_path = outer or q_module
    elif prefix and _looks_like_type(_strip_generics(prefix[-1])):
        impl_type = _strip_generics(prefix[-1])
        module_path = tuple(_strip_generics(s) for s in prefix[:-1])
    else:
        module_path = tuple(_strip_generics(s) for s in prefix)

    return SymbolPath(raw, module_path, impl_type, trait_name, fn_name, closure_depth)


# --------------------------------------------------------------------------------------------
# Parsing


@lru_cache(maxsize=1)
def _parser() -> Parser:
    # Imported here so `import perf_identify.source` stays cheap for commands that never parse.
    import tree_sitter_rust
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_rust.language()))


def _encode(source_text: str) -> bytes:
    # "replace" keeps lone surrogates from raising; offsets stay consistent because every
    # consumer works on these same bytes.
    return source_text.encode("utf-8", "replace")


@lru_cache(maxsize=8)
def _parse(source_text: str) -> Tree:
    # The same file is usually asked about several times in a row (find, choose, excerpt).
    return _parser().parse(_encode(source_text))


def _node_text(node: Node) -> str:
    data = node.text
    return data.decode("utf-8", "replace") if data is not None else ""


def _type_node_name(node: Node) -> str:
    """The short name of an impl's `type`/`trait` node: `std::clone::Clone` -> `Clone`."""
    kind = node.type
    if kind in ("generic_type", "reference_type", "pointer_type"):
        inner = node.child_by_field_name("type")
        if inner is not None:
            return _type_node_name(inner)
    if kind in ("scoped_type_identifier", "scoped_identifier"):
        name = node.child_by_field_name("name")
        if name is not None:
            return _node_text(name)
    return re.sub(r"\s+", "", _node_text(node))


@dataclass(frozen=True, slots=True)
class _Candidate:
    node: Node
    name: str
    owner: Literal["free", "impl", "trait"]  # "trait": a default method in a `trait` block
    impl_type: str | None  # the impl's type; None outside impl blocks
    trait_name: str | None  # the impl's trait, or the trait declaring a default method
    modules: tuple[str, ...]  # enclosing `mod` names inside the file


def _iter_candidates(container: Node, modules: tuple[str, ...] = ()) -> Iterator[_Candidate]:
    """Every function defined at item level, in file order: free, in `mod`, in `impl`, and
    default methods in `trait`. Function bodies are not entered (nested fns are not items the
    profile can name by path)."""
    # An explicit stack of child iterators, not recursion: a file of 1,000 nested `mod`s must
    # not raise RecursionError, and file order is kept by descending into a `mod` at once.
    stack = [(iter(container.named_children), modules)]
    while stack:
        children, mods = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        kind = child.type
        if kind == "function_item":
            name = child.child_by_field_name("name")
            if name is not None:
                yield _Candidate(child, _node_text(name), "free", None, None, mods)
        elif kind == "mod_item":
            body = child.child_by_field_name("body")
            mod_name = child.child_by_field_name("name")
            if body is not None:
                label = _node_text(mod_name) if mod_name is not None else ""
                stack.append((iter(body.named_children), (*mods, label)))
        elif kind in ("impl_item", "trait_item"):
            yield from _members(child, mods)


def _members(item: Node, modules: tuple[str, ...]) -> Iterator[_Candidate]:
    body = item.child_by_field_name("body")
    if body is None:
        return
    owner: Literal["impl", "trait"]
    if item.type == "impl_item":
        type_node = item.child_by_field_name("type")
        trait_node = item.child_by_field_name("trait")
        owner = "impl"
        impl_type = _type_node_name(type_node) if type_node is not None else None
        trait = _type_node_name(trait_node) if trait_node is not None else None
    else:
        trait_name_node = item.child_by_field_name("name")
        owner = "trait"
        impl_type = None
        trait = _node_text(trait_name_node) if trait_name_node is not None else None
    for member in body.named_children:
        if member.type != "function_item":
            continue
        name = member.child_by_field_name("name")
        if name is not None:
            yield _Candidate(member, _node_text(name), owner, impl_type, trait, modules)


def _pick(symbol: SymbolPath, candidates: list[_Candidate]) -> _Candidate | None:
    named = [c for c in candidates if c.name == symbol.fn_name]
    if symbol.impl_type is None:
        free = [c for c in named if c.owner == "free"]
        if len(free) <= 1:
            return free[0] if free else None
        # Several same-named free fns in different `mod`s: the one whose mod chain ends the
        # symbol's module path, the most specific first.
        suffix_matches = [
            c for c in free if not c.modules or symbol.module_path[-len(c.modules) :] == c.modules
        ]
        suffix_matches.sort(key=lambda c: -len(c.modules))
        return suffix_matches[0] if suffix_matches else free[0]

    of_type = _in_module(
        symbol, [c for c in named if c.owner == "impl" and c.impl_type == symbol.impl_type]
    )
    if symbol.trait_name is not None:
        for c in of_type:
            if c.trait_name == symbol.trait_name:
                return c
        # The impl may not override a default method: the code is in the trait itself.
        for c in named:
            if c.owner == "trait" and c.trait_name == symbol.trait_name:
                return c
        return None
    inherent = [c for c in of_type if c.trait_name is None]
    if inherent:
        return inherent[0]
    # Without a trait in the symbol, a single trait impl of the type is unambiguous; several
    # (Display::fmt and Debug::fmt) are not.
    return of_type[0] if len(of_type) == 1 else None


def _in_module(symbol: SymbolPath, candidates: list[_Candidate]) -> list[_Candidate]:
    """The candidates whose `mod` chain ends the symbol's module path, the most specific first.

    The file's own module path is unknown (it depends on where the file sits), so a candidate
    matches when its in-file `mod` names are a suffix of the symbol's module path: for
    `a::runtime::alt::VM::f`, `impl VM` in `mod alt` beats the top-level one, and for
    `a::runtime::VM::f` only the top-level one matches. When none matches (a re-export, an odd
    symbol), every candidate is kept, as before the module path was considered.
    """
    path = symbol.module_path
    matching = [
        c for c in candidates if not c.modules or path[len(path) - len(c.modules) :] == c.modules
    ]
    if not matching:
        return candidates
    # sorted() is stable: among equally specific candidates the file order is kept.
    return sorted(matching, key=lambda c: -len(c.modules))


def _display_name(symbol: SymbolPath, cand: _Candidate) -> str:
    if cand.owner == "free":
        return cand.name
    if cand.owner == "trait":
        return f"<{symbol.impl_type} as {cand.trait_name}>::{cand.name}"
    if cand.trait_name is not None:
        return f"<{cand.impl_type} as {cand.trait_name}>::{cand.name}"
    return f"{cand.impl_type}::{cand.name}"


def find_function(source_text: str, symbol: str) -> FunctionExtent | None:
    """The extent of the function `symbol` names in `source_text`, or None if it is not there.

    Closures (`...::{{closure}}`) map to the function that contains them.
    """
    parsed = parse_symbol(symbol)
    if not parsed.fn_name or not source_text:
        return None
    tree = _parse(source_text)
    cand = _pick(parsed, list(_iter_candidates(tree.root_node)))
    if cand is None:
        return _derived_extent(tree.root_node, parsed)
    node = cand.node
    name_node = node.child_by_field_name("name")
    start = node.start_point.row + 1
    end_point = node.end_point
    # end_point is exclusive; a node ending exactly at a line start ends on the line before.
    end = end_point.row + 1 if end_point.column > 0 else max(start, end_point.row)
    signature = name_node.start_point.row + 1 if name_node is not None else start
    trait = cand.trait_name
    # A default method's code is in the trait, but it runs for the symbol's type.
    impl_type = parsed.impl_type if cand.owner == "trait" else cand.impl_type
    return FunctionExtent(
        display_name=_display_name(parsed, cand),
        start_line=start,
        end_line=end,
        signature_line=signature,
        impl_type=impl_type,
        trait_name=trait,
    )


# Traits `#[derive]` implements: their methods have no `fn` in the source, only the attribute.
_DERIVABLE = frozenset(
    {"Clone", "Copy", "PartialEq", "Eq", "PartialOrd", "Ord", "Hash", "Debug", "Default"}
)


def _derived_extent(root: Node, symbol: SymbolPath) -> FunctionExtent | None:
    """A derived trait method: the extent of the type's definition, from its `#[derive]` line.

    rustc attributes the generated code to the derive attribute (and the fields it visits), so
    that is the line to cite; the display name says `(derived)` so nobody looks for a `fn`.
    """
    if symbol.trait_name not in _DERIVABLE or not symbol.impl_type:
        return None
    for item in _type_items(root):
        name = item.child_by_field_name("name")
        if name is None or _node_text(name) != symbol.impl_type:
            continue
        derive = _derive_attribute(item, symbol.trait_name)
        if derive is None:
            continue
        end_point = item.end_point
        end = end_point.row + 1 if end_point.column > 0 else end_point.row
        line = derive.start_point.row + 1
        return FunctionExtent(
            display_name=f"<{symbol.impl_type} as {symbol.trait_name}>::{symbol.fn_name} (derived)",
            start_line=line,
            end_line=max(line, end),
            signature_line=line,
            impl_type=symbol.impl_type,
            trait_name=symbol.trait_name,
        )
    return None


def _type_items(container: Node) -> Iterator[Node]:
    """Every struct, enum and union at item level, top level or in `mod`s, in file order."""
    # Iterative for the same reason as `_iter_candidates`: nesting depth is the file's choice.
    stack = [iter(container.named_children)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif child.type in ("struct_item", "enum_item", "union_item"):
            yield child
        elif child.type == "mod_item":
            body = child.child_by_field_name("body")
            if body is not None:
                stack.append(iter(body.named_children))


def _derive_attribute(item: Node, trait: str) -> Node | None:
    """The `#[derive(..., trait, ...)]` attribute directly above `item`, if any."""
    sibling = item.prev_named_sibling
    while sibling is not None and sibling.type in ("attribute_item", "line_comment"):
        text = _node_text(sibling)
        if sibling.type == "attribute_item" and re.search(
            rf"\bderive\s*\((?:[^)]*[\s,(:])?{re.escape(trait)}\s*[,)]", text
        ):
            return sibling
        sibling = sibling.prev_named_sibling
    return None


# --------------------------------------------------------------------------------------------
# Line choice


def _function_node(tree: Tree, extent: FunctionExtent) -> Node | None:
    """The function_item that the extent was made from (matched by its lines)."""
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_item":
            name = node.child_by_field_name("name")
            if (
                node.start_point.row + 1 == extent.start_line
                and name is not None
                and name.start_point.row + 1 == extent.signature_line
            ):
                return node
        # Only descend into nodes that can still contain the extent's first line.
        stack.extend(
            c
            for c in node.named_children
            if c.start_point.row + 1 <= extent.start_line <= c.end_point.row + 1
        )
    return None


def _body_code_lines(source_text: str, extent: FunctionExtent) -> dict[int, str]:
    """Line -> code of the function body, with comments and string/char contents blanked."""
    tree = _parse(source_text)
    data = _encode(source_text)
    node = _function_node(tree, extent)
    body = node.child_by_field_name("body") if node is not None else None
    if body is None:
        return {}
    # Skip the opening `{` so a one-line body starting on the signature line still counts.
    lo, hi = body.start_byte + 1, max(body.start_byte + 1, body.end_byte - 1)
    masked = bytearray(data[lo:hi])
    stack = [body]
    while stack:
        cur = stack.pop()
        if cur.type in _NON_CODE_KINDS:
            for i in range(max(cur.start_byte, lo), min(cur.end_byte, hi)):
                if masked[i - lo] != 0x0A:
                    masked[i - lo] = 0x20
            continue
        stack.extend(cur.children)
    first_row = body.start_point.row + 1
    return {
        first_row + i: line.decode("utf-8", "replace")
        for i, line in enumerate(bytes(masked).split(b"\n"))
    }


@lru_cache(maxsize=256)
def _token_pattern(token: str) -> re.Pattern[str]:
    if token.startswith("re:"):
        return re.compile(token[3:])
    if token.endswith("!"):
        return re.compile(rf"(?<!\w){re.escape(token)}\s*[(\[{{]")
    if _RUST_IDENT.fullmatch(token):
        # A call or method call (`name(`, `.name(`, `::name(`, `name::<`); `name!(` is a macro
        # and does not match. `fn name(` is filtered out by the caller.
        return re.compile(rf"(?<!\w){re.escape(token)}\s*(?:\(|::\s*<)")
    return re.compile(re.escape(token))


def line_calls(code: str, token: str) -> bool:
    """Whether a line of code (comments and strings blanked) shows `token`: a call of an
    identifier (`name(`, `.name(`, `name::<`), a macro (`format!`), a regular expression
    (`re:…`), or any other text literally (`==`)."""
    for m in _token_pattern(token).finditer(code):
        if re.search(r"\bfn\s+$", code[: m.start()]):
            continue
        return True
    return False


def _short_callee(name: str) -> str:
    name = name.strip()
    if "::" in name or "<" in name:
        return parse_symbol(name).fn_name
    return name


def _first_line_calling(lines: dict[int, str], tokens: Sequence[str]) -> tuple[int, str] | None:
    for line in sorted(lines):
        for token in tokens:
            if line_calls(lines[line], token):
                return line, token
    return None


def choose_line(
    source_text: str,
    extent: FunctionExtent,
    callee_names: Sequence[str],
    line_weights: Mapping[int, float] | None = None,
    *,
    preferred_tokens: Sequence[str] = (),
    previous_line: int | None = None,
) -> LineChoice:
    """The line of `extent` to cite for a hot chain; see the module docstring for the rule."""
    given = [c for c in (_short_callee(n) for n in callee_names) if c]
    callees = [c for c in given if c not in _SKIPPED_CALLEES]
    lines = _body_code_lines(source_text, extent)

    if line_weights:
        inside = [(w, ln) for ln, w in line_weights.items() if extent.contains(ln) and w > 0]
        if inside:
            best_line = min(inside, key=lambda wl: (-wl[0], wl[1]))[1]
            code = lines.get(best_line, "")
            matched = next((c for c in callees if line_calls(code, c)), None)
            return LineChoice(best_line, "hottest line in the profile", matched, code=code)

    # The mechanisms the profile shows name the source tokens that implement them, most
    # decisive first; they say more than the first callee that happens to match.
    for token in preferred_tokens:
        fitting = _lines_showing(lines, (token,))
        if fitting:
            matched = _short_callee(token) if _RUST_IDENT.fullmatch(token) else None
            return _cite(
                lines, fitting, previous_line, f"line showing {_token_words(token)}", matched
            )

    for callee in callees:
        fitting = _lines_showing(lines, (callee,))
        if fitting:
            what = f"call to `{_plain(callee)}` in the body"
            return _cite(lines, fitting, previous_line, what, callee)
        aliases = _CALLEE_ALIASES.get(callee, ())
        hit = _first_line_calling(lines, aliases) if aliases else None
        if hit is not None:
            line, token = hit
            return LineChoice(
                line,
                f"first use of `{_plain(token)}` in the body, which reaches `{_plain(callee)}`",
                callee,
                candidates=tuple(_lines_showing(lines, (token,))),
                code=lines.get(line, ""),
            )

    if not given:
        reason = "no hot-chain callee was given; the signature line"
    else:
        reason = "no callee of the hot chain appears in the body; the signature line"
    line = extent.signature_line
    if not extent.contains(line):
        line = extent.start_line
    return LineChoice(line, reason, None)


def _cite(
    lines: dict[int, str],
    fitting: list[int],
    previous_line: int | None,
    what: str,
    matched: str | None,
) -> LineChoice:
    """The first fitting line, or the earlier run's line while it still fits. The reason names
    the earlier run only when that changed the choice, so a rerun on the same evidence words it
    the same way (and a model's prompt and cache key stay the same)."""
    line = previous_line if previous_line in fitting else fitting[0]
    why = "first" if line == fitting[0] else "kept from the earlier run: a"
    return LineChoice(
        line, f"{why} {what}", matched, candidates=tuple(fitting), code=lines.get(line, "")
    )


def _plain(token: str) -> str:
    """A name for a reason text, which quotes it between backticks: none inside."""
    return token.replace("`", "'")


def _lines_showing(lines: dict[int, str], tokens: Sequence[str]) -> list[int]:
    return [line for line in sorted(lines) if any(line_calls(lines[line], t) for t in tokens)]


def _token_words(token: str) -> str:
    """How a reason names what the cited line shows, and why that is the evidence."""
    if token.startswith("re:\\bmatch"):
        return "the match on the opcode, around which a dispatch loop spends its own time"
    if token.startswith("re:"):
        return "an index expression (`x[i]`), as the profile's frames do"
    if _RUST_IDENT.fullmatch(token):
        return f"a call of `{token}`, as the profile's frames do"
    return f"`{_plain(token)}`, as the profile's frames do"


# --------------------------------------------------------------------------------------------
# Excerpts


def _format_share(share: float | None) -> str:
    """Shares are fractions of all samples: 0.123 -> `12.3%`; none or zero -> blank."""
    if share is None or share <= 0:
        return ""
    percent = share * 100
    return "<0.1%" if percent < 0.05 else f"{percent:.1f}%"


def _kept_lines(
    first: int, last: int, max_lines: int, signature: int, focus: int | None
) -> list[int]:
    if last - first + 1 <= max_lines:
        return list(range(first, last + 1))
    if focus is None or not first <= focus <= last:
        return list(range(first, first + max_lines))
    if max_lines == 1:
        return [focus]
    keep_signature = first <= signature <= last
    width = max_lines - 1 if keep_signature else max_lines
    lo = max(first, min(focus - (width - 1) // 2, last - width + 1))
    hi = lo + width - 1
    if not keep_signature:
        return list(range(lo, hi + 1))
    if signature == lo - 1:
        return list(range(signature, hi + 1))
    if lo <= signature <= hi:
        # The signature is already shown: spend the spare line on more context.
        return list(range(lo, hi + 2)) if hi < last else list(range(lo - 1, hi + 1))
    return [signature, *range(lo, hi + 1)]


def numbered_excerpt(
    source_text: str,
    extent: FunctionExtent,
    max_lines: int = 200,
    line_shares: Mapping[int, float] | None = None,
    focus_line: int | None = None,
) -> str:
    """The extent's lines as `{lineno:>5} | {code}` (with shares: `{lineno:>5} {share:>6} | ...`).

    `line_shares` are fractions of all samples (0.123 renders as `12.3%`). Past `max_lines`, the
    rest is replaced by `  ... (N more lines)`; with `focus_line`, a window around it is kept
    together with the signature line and each gap gets its own marker.
    """
    all_lines = source_text.split("\n")
    first = max(1, extent.start_line)
    last = min(len(all_lines), extent.end_line)
    if last < first:
        return ""
    kept = _kept_lines(first, last, max(1, max_lines), extent.signature_line, focus_line)

    out: list[str] = []
    previous = first - 1
    for ln in kept:
        if ln - previous > 1:
            out.append(f"  ... ({ln - previous - 1} more lines)")
        code = all_lines[ln - 1].rstrip("\r")
        if line_shares is not None:
            share = _format_share(line_shares.get(ln))
            out.append(f"{ln:>5} {share:>6} | {code}")
        else:
            out.append(f"{ln:>5} | {code}")
        previous = ln
    if last > previous:
        out.append(f"  ... ({last - previous} more lines)")
    return "\n".join(out)
