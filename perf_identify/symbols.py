"""Demangled Rust paths, split the way a reader sees them.

Contract: pure string functions. `split_top_level` splits a path such as
`<alloc::vec::Vec<T,A> as core::iter::Extend<T>>::extend` on `::` (or another separator) only
outside brackets, so generics, `<X as Y>` qualifications, fn-pointer types and `{{closure}}`
segments stay whole. Ranking (short and compact names) and source lookup (impl types, traits)
both read symbols through it.
"""

from __future__ import annotations

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
