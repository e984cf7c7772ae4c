"""argparse pieces shared by the commands: a parser that raises `UsageError`, value types."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from perf_identify.errors import UsageError

MAX_HELP_WIDTH = 100
"""Help pages are never wider than this, however wide the terminal (COLUMNS) is."""


def _terminal_columns() -> int:
    """What `shutil.get_terminal_size((MAX_HELP_WIDTH, 24)).columns` says, without importing
    shutil (which loads the archive modules): $COLUMNS when it is a positive number, else the
    terminal's width, else `MAX_HELP_WIDTH`."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns if columns > 0 else MAX_HELP_WIDTH


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter at most `MAX_HELP_WIDTH` columns wide, that never splits a word at
    a hyphen (`YYYY-MM-DD`, `--min-percent`) and keeps indented lines of a description or epilog
    as written (examples, tables) while re-flowing the other paragraphs."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        columns = _terminal_columns()
        kwargs.setdefault("width", min(columns, MAX_HELP_WIDTH) - 2)
        kwargs.setdefault("max_help_position", 28)
        super().__init__(prog, **kwargs)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.strip("\n").split("\n\n"):
            lines = paragraph.split("\n")
            if any(line[:1].isspace() for line in lines):
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                paragraphs.append(
                    textwrap.fill(
                        " ".join(paragraph.split()),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                        break_on_hyphens=False,
                    )
                )
        return "\n\n".join(paragraphs)


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting with 2, and
    formats its help with `HelpFormatter`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"see {self.prog} --help")


def epilog(examples: Sequence[tuple[str, str]], exit_codes: str) -> str:
    """A help page's closing text: examples (command, what it does) and the exit codes."""
    lines = ["examples:"]
    for command, what in examples:
        lines.append(f"  {command}")
        lines.append(f"      {what}")
    codes = textwrap.fill(
        exit_codes, 94, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
    )
    return "\n".join(lines) + "\n\nexit codes:\n" + codes


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def percent(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, got {value}")
    return value


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from exc


def seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def add_repo_arguments(parser: argparse.ArgumentParser) -> None:
    """`--repo DIR` and `--source-root DIR`, worded the same on every page that takes them."""
    parser.add_argument(
        "--repo", type=Path, default=Path("."), metavar="DIR", help="the VM checkout (default: .)"
    )
    parser.add_argument(
        "--source-root",
        default="lang/src/vm",
        metavar="DIR",
        help="the VM's own source, relative to the repo (default: lang/src/vm)",
    )
