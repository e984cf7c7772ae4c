"""Text from outside (profiles, source, benchmark paths, issue files) made safe to show.

Contract: `visible(text)` is pure and total. It returns `text` with every C0 and C1 control
character except newline and tab, DEL, and the Unicode bidirectional controls (U+061C, U+200E,
U+200F, U+202A-U+202E, U+2066-U+2069) replaced by a visible `\\u{XXXX}` escape, so a function
name cannot move the cursor, set colours, open a terminal hyperlink, end a string early or
reorder what a reader sees. Everything else, `[` included, is left as it is: rich markup is
a separate matter, handled where text is printed (`Text` objects, `markup=False`).
"""

from __future__ import annotations

import re

# C0 without \t (0x09) and \n (0x0a), DEL and C1, then the bidi marks, embeddings, overrides
# and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with each unsafe character as `\\u{XXXX}` (ESC -> `\\u{001B}`)."""
    return _UNSAFE.sub(lambda match: f"\\u{{{ord(match.group()):04X}}}", text)
