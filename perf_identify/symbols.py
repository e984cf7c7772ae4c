"""Demangled Rust paths, split the way a reader sees them.

Contract: pure string functions. `split_top_level` splits a path such as
`<alloc::vec::Vec<T,A> as core::iter::Extend<T>>::extend` on `::` (or another separator) only
outside brackets, so generics, `<X as Y>` qualifications, fn-pointer types and `{{closure}}`
segments stay whole. Attribution, naming and prose (short and compact names, closures folded)
and source lookup (impl types, traits) all read symbols through it.
"""

from __future__ import annotations

import re

# Brackets that can nest `::` inside one path segment: generics, fn-pointer types, closures.
OPENERS = "<([{"
CLOSERS = ">)]}"


def split_top_level(text: str, sep: str = "::") -> list[str]:
    """Split on `sep` only outside brackets, so `Vec<T, A>` and `<X as Y>` stay whole."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            # `->` in a fn-pointer type is not a closing angle bracket.
            if not (ch == ">" and i > 0 and text[i - 1] == "-"):
                depth = max(0, depth - 1)
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


_CLOSURE_SUFFIX = re.compile(r"(::\{\{closure\}\}|::\{closure#\d+\})+$")

# Methods so small and so widely called that the fix lives at their call sites, not in them.
_TINY_HELPER_METHODS = frozenset(
    {
        "clone",
        "eq",
        "ne",
        "hash",
        "cmp",
        "partial_cmp",
        "drop",
        "pop",
        "push",
        "peek",
        "read_byte",
        "read_u8",
        "read_u16",
        "read_u32",
        "read_u64",
        "read_operand",
        "fetch",
    }
)


def fold_closures(name: str) -> str:
    """`VM::builtin_map::{{closure}}::{{closure}}` -> `VM::builtin_map`."""
    return _CLOSURE_SUFFIX.sub("", name)


def is_tiny_helper(symbol: str) -> bool:
    """A small method called from everywhere: report its call sites, not just itself."""
    method = symbol.rsplit("::", 1)[-1]
    return method in _TINY_HELPER_METHODS


def short_name(symbol: str) -> str:
    """The last path segment of a demangled name, generics and closures dropped: `collect`."""
    name = fold_closures(symbol)
    return split_top_level(name)[-1].split("<", 1)[0] or name


def compact_name(symbol: str) -> str:
    """`<unicode_segmentation::grapheme::Graphemes as core::iter::Iterator>::next` ->
    `<Graphemes as Iterator>::next`; `core::hint::select_unpredictable` ->
    `hint::select_unpredictable`."""
    symbol = fold_closures(symbol)
    trait_impl = re.fullmatch(r"<(.+?) as (.+)>::([^:]+)", symbol)
    if trait_impl:
        return (
            f"<{_last(trait_impl.group(1))} as {_last(trait_impl.group(2))}>::{trait_impl.group(3)}"
        )
    parts = [part for part in split_top_level(symbol) if part]
    return "::".join(parts[-2:]) if len(parts) > 1 else symbol


def _last(path: str) -> str:
    parts = [part for part in split_top_level(path) if part]
    return re.sub(r"<.*>$", "", parts[-1]) if parts else path
