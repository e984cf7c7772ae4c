"""Text from outside (profiles, source, benchmark paths, issue files) made safe to show.

Contract: `visible(text)` is pure and total. It returns `text` with every control character
(Unicode category Cc: C0, DEL and C1) except newline and tab, and every format character
(category Cf: the bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069,
zero-width spaces and joiners, soft hyphens) replaced by a visible `\\u{XXXX}` escape, so a function
name cannot move the cursor, set colours, open a terminal hyperlink, end a string early or
reorder what a reader sees. Everything else, `[` included, is left as it is: rich markup is
a separate matter, handled where text is printed (`Text` objects, `markup=False`).
"""

from __future__ import annotations


def visible(text: str) -> str:
    """`text` with each unsafe character as `\\u{XXXX}` (ESC -> `\\u{001B}`)."""
    if text.isprintable():
        # Every control and format character is non-printable: the common case costs one scan.
        return text
    import unicodedata  # only for text that needs escaping

    return "".join(
        f"\\u{{{ord(ch):04X}}}"
        if ch not in "\t\n" and unicodedata.category(ch) in ("Cc", "Cf")
        else ch
        for ch in text
    )
