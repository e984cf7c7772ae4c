"""Tests for perf_identify.display_text and the report's plain-text printing."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from perf_identify.display_text import visible
from perf_identify.report import _say


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\x1b[31mb", "a\\u{001B}[31mb"),
        ("nul\x00", "nul\\u{0000}"),
        ("del\x7f c1\x9b", "del\\u{007F} c1\\u{009B}"),
        ("\u202eevil\u2066\u200f\u061c", "\\u{202E}evil\\u{2066}\\u{200F}\\u{061C}"),
        ("keeps\tand\nnewline [b]x[/b] é ∑", "keeps\tand\nnewline [b]x[/b] é ∑"),
    ],
)
def test_visible_escapes_control_and_bidi_characters(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_report_lines_are_never_rich_markup() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=200, color_system="truecolor")
    _say(console, "#1: no issue file: [link=file:///etc/passwd]x[/link] [/x] \x1b]8;;x\x07")
    output = stream.getvalue()
    assert "\x1b]8;" not in output  # no OSC 8 hyperlink
    assert "[link=file:///etc/passwd]x[/link] [/x]" in output
    assert "\\u{001B}]8;;x\\u{0007}" in output
