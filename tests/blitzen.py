"""Independent checks for issue files written against the real Blitzen VM source.

`tests.issue_checks.function_span` counts braces from the one `fn <name>` line of a file; that
is enough for the small sources we write, not for Blitzen: `runtime.rs` holds both
`CallFrame::read_byte` and `VM::read_byte` (and three `fn new`), `value.rs` has several `fn fmt`
and writes `"{{"` in format strings. This module finds a function's extent with a small lexer
(comments, strings, raw strings and char literals blanked; lifetimes kept) and a brace-stack
parser that knows which `impl`, `trait` or `fn` each brace opens. Like `issue_checks`, it shares
no code with `perf_identify.source` (which uses tree-sitter): two independent readings of the
same file must agree on where a function starts and ends.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from tests.issue_checks import CheckedIssue, check_issue_text
from tests.pprof_top import parse_duration_ns

_RAW_STRING = re.compile(r'(?:b|c)?r(#*)"')
_CHAR = re.compile(r"'(?:\\(?:x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]{1,6}\}|.)|[^\\'\n])'")
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|::|->|=>|\S")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DROPPED = re.compile(r"^Dropped \d+ nodes \(cum <= (?P<cum>\S+)\)$", re.MULTILINE)


def mask_rust(text: str) -> str:
    """`text` with every comment, string and char literal replaced by spaces.

    The result has the same length and the same newlines, so offsets and line numbers still
    hold; lifetimes (`'a`) and labels stay, since they are not literals. Block comments nest,
    as in Rust.
    """
    out = list(text)
    size = len(text)

    def blank(start: int, end: int) -> None:
        for index in range(start, min(end, size)):
            if out[index] != "\n":
                out[index] = " "

    index = 0
    while index < size:
        char = text[index]
        token_start = index == 0 or not (text[index - 1].isalnum() or text[index - 1] == "_")
        raw = _RAW_STRING.match(text, index) if token_start else None
        if text.startswith("//", index):
            end = text.find("\n", index)
            end = size if end < 0 else end
        elif text.startswith("/*", index):
            depth, end = 1, index + 2
            while end < size and depth:
                if text.startswith("/*", end):
                    depth, end = depth + 1, end + 2
                elif text.startswith("*/", end):
                    depth, end = depth - 1, end + 2
                else:
                    end += 1
        elif raw is not None:
            closing = '"' + raw.group(1)
            found = text.find(closing, raw.end())
            end = size if found < 0 else found + len(closing)
        elif char == '"':
            end = index + 1
            while end < size and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            end += 1
        elif char == "'" and (literal := _CHAR.match(text, index)) is not None:
            end = literal.end()
        else:
            index += 1
            continue
        blank(index, end)
        index = end
    return "".join(out)


@dataclass(frozen=True)
class RustFn:
    """One `fn` item with a body: its name, where it sits, and its 1-based line extent.

    `owners` lists the named items around it, outermost first: an impl contributes its self
    type, a trait its name, a fn its name (modules and plain blocks contribute nothing).
    `parent_kind`/`parent_trait` describe the innermost of them: "impl" (with the trait it
    implements, or None for an inherent impl), "trait", "fn", or None at module level.
    """

    name: str
    owners: tuple[str, ...]
    parent_kind: str | None
    parent_trait: str | None
    first_line: int
    last_line: int


@dataclass(frozen=True)
class _Frame:
    kind: str  # "impl", "trait", "fn", "mod" or "block"
    name: str | None
    trait: str | None
    line: int


def _last_type_name(tokens: list[str]) -> str | None:
    """The last identifier outside `<...>` in a type path (`std::fmt::Display` -> `Display`)."""
    depth = 0
    name: str | None = None
    for token in tokens:
        if token == "<":
            depth += 1
        elif token == ">":
            depth -= 1
        elif depth == 0 and _IDENT.fullmatch(token) and token not in ("dyn", "mut", "const"):
            name = token
    return name


def _impl_frame(header: list[str], line: int) -> _Frame:
    """The frame an `impl` header opens: `impl<G> [Trait for] Type [where ...]`."""
    tokens = list(header)
    if tokens and tokens[0] == "<":  # the impl's own generic parameters
        depth = 0
        for index, token in enumerate(tokens):
            depth += (token == "<") - (token == ">")
            if depth == 0:
                tokens = tokens[index + 1 :]
                break
    depth = 0
    split: int | None = None
    end = len(tokens)
    for index, token in enumerate(tokens):
        depth += (token == "<") - (token == ">")
        if depth == 0 and token == "for" and split is None:
            split = index
        if depth == 0 and token == "where":
            end = index
            break
    if split is None:
        return _Frame("impl", _last_type_name(tokens[:end]), None, line)
    trait = _last_type_name(tokens[:split])
    return _Frame("impl", _last_type_name(tokens[split + 1 : end]), trait, line)


def _tokens(source: str) -> list[tuple[str, int]]:
    """The tokens of `source` outside comments and literals, each with its 1-based line."""
    masked = mask_rust(source)
    line_starts = [0] + [m.end() for m in re.finditer("\n", masked)]
    return [
        (m.group(), bisect.bisect_right(line_starts, m.start())) for m in _TOKEN.finditer(masked)
    ]


def rust_functions(source: str) -> list[RustFn]:
    """Every `fn` with a body in `source`, in order of their closing braces.

    Raises AssertionError if the braces of the masked source do not balance.
    """
    tokens = _tokens(source)
    stack: list[_Frame] = []
    found: list[RustFn] = []
    pending: tuple[str, str | None, int] | None = None  # kind, name, line of the keyword
    header: list[str] = []
    for index, (token, line) in enumerate(tokens):
        following = tokens[index + 1][0] if index + 1 < len(tokens) else ""
        if pending is not None:
            if token == "{":
                kind, name, start = pending
                if kind == "impl":
                    stack.append(_impl_frame(header, start))
                else:
                    stack.append(_Frame(kind, name, None, start))
                pending = None
            elif token == ";":  # a declaration without a body: `fn f();`, `mod m;`
                pending = None
            else:
                header.append(token)
            continue
        if token in ("fn", "trait", "mod") and _IDENT.fullmatch(following):
            pending, header = (token, following, line), []
        elif token == "impl":
            pending, header = ("impl", None, line), []
        elif token == "{":
            stack.append(_Frame("block", None, None, line))
        elif token == "}":
            assert stack, f"unbalanced `}}` on line {line}"
            frame = stack.pop()
            if frame.kind == "fn" and frame.name is not None:
                named = [f for f in stack if f.kind in ("impl", "trait", "fn") and f.name]
                parent = named[-1] if named else None
                found.append(
                    RustFn(
                        name=frame.name,
                        owners=tuple(f.name for f in named if f.name),
                        parent_kind=parent.kind if parent else None,
                        parent_trait=parent.trait if parent else None,
                        first_line=frame.line,
                        last_line=line,
                    )
                )
    assert not stack, f"{len(stack)} unclosed braces; the first opened on line {stack[0].line}"
    return found


def _plain(path: str) -> str:
    """The last segment of a type path without generics: `im_rc::Vector<A>` -> `Vector`."""
    return re.sub(r"<.*>", "", path).rsplit("::", 1)[-1].strip()


def _derive_lines(source: str, type_name: str, trait: str) -> tuple[int, int]:
    """First and last line of the `#[derive(...)]` naming `trait` above `type_name`'s definition."""
    tokens = _tokens(source)
    for index, (token, _) in enumerate(tokens[:-1]):
        if token not in ("struct", "enum", "union") or tokens[index + 1][0] != type_name:
            continue
        cursor = index - 1
        while cursor >= 0 and tokens[cursor][0] in ("pub", "(", ")", "crate", "super", "in"):
            cursor -= 1
        while cursor >= 0 and tokens[cursor][0] == "]":  # attributes, innermost first
            close = cursor
            depth = 0
            while cursor >= 0:
                depth += (tokens[cursor][0] == "]") - (tokens[cursor][0] == "[")
                if depth == 0:
                    break
                cursor -= 1
            hash_index = cursor - 1
            body = [t for t, _ in tokens[cursor + 1 : close]]
            if body[:1] == ["derive"] and trait in body:
                return tokens[hash_index][1], tokens[close][1]
            cursor = hash_index - 1
        raise AssertionError(f"no #[derive({trait})] above `{token} {type_name}`")
    raise AssertionError(f"no `struct`/`enum`/`union {type_name}` in the file")


def function_extent(source: str, function: str) -> tuple[int, int]:
    """1-based first and last line of the function an issue file's `Function:` names.

    Accepted forms: `name` (a free or nested fn), `Type::name` / `outer::name` (a method of an
    inherent impl, or a fn nested in `outer`), `<Type as Trait>::name` (a method of that trait
    impl, or the trait's default method), and `<Type as Trait>::name (derived)`, whose extent is
    the `#[derive(...)]` attribute naming Trait above Type's definition (rustc attributes the
    generated code to it). Raises AssertionError unless exactly one function matches.
    """
    derived = re.fullmatch(r"<(.+) as (.+)>::\w+ \(derived\)", function)
    if derived:
        return _derive_lines(source, _plain(derived.group(1)), _plain(derived.group(2)))
    qualified = re.fullmatch(r"<(.+) as (.+)>::(\w+)", function)
    functions = rust_functions(source)
    if qualified:
        self_type, trait, name = (
            _plain(qualified.group(1)),
            _plain(qualified.group(2)),
            qualified.group(3),
        )
        matches = [
            f
            for f in functions
            if f.name == name
            and f.owners
            and (
                (f.parent_kind == "impl" and f.owners[-1] == self_type and f.parent_trait == trait)
                or (f.parent_kind == "trait" and f.owners[-1] == trait)
            )
        ]
    else:
        *qualifiers, name = [_plain(part) for part in function.split("::")]
        matches = [
            f
            for f in functions
            if f.name == name
            and (
                list(f.owners[-len(qualifiers) :]) == qualifiers
                and f.parent_trait is None
                and f.parent_kind in ("impl", "fn")
                if qualifiers
                else f.parent_kind in (None, "fn")
            )
        ]
    assert len(matches) == 1, (
        f"expected one function for {function!r}, found {len(matches)}: "
        + ", ".join(f"{'::'.join((*m.owners, m.name))}@{m.first_line}" for m in matches)
    )
    return matches[0].first_line, matches[0].last_line


def check_blitzen_issue_file(path: Path, repo: Path) -> CheckedIssue:
    """The format check of `issue_checks`, plus: File exists and Line lies inside Function."""
    issue = check_issue_text(path.read_text(encoding="utf-8"), name=path.stem)
    source_path = repo / issue.file
    assert source_path.is_file(), f"{path.name}: File {issue.file} is not in {repo}"
    first, last = function_extent(source_path.read_text(encoding="utf-8"), issue.function)
    assert first <= issue.line <= last, (
        f"{path.name}: Line {issue.line} is outside {issue.function} (lines {first}-{last})"
    )
    return issue


def dropped_cum_ns(top_text: str) -> int:
    """The cut-off of `go tool pprof -top`'s `Dropped N nodes (cum <= X)` line; 0 if none.

    Nodes whose cum is at most this figure are missing from the listing; all others are in it.
    """
    match = _DROPPED.search(top_text)
    return 0 if match is None else parse_duration_ns(match.group("cum"))
