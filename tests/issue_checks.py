"""An independent check of an issue file's format and facts.

Deliberately shares no code with `perf_identify.render` or `perf_identify.source`: the format
is checked with one regular expression written from the spec's template, and "Line lies inside
Function" with a plain scan of the Rust file (good enough for the test sources we control).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PROSE = r"(?:(?:  \S.*\n)+\n)+"
_TEMPLATE = re.compile(
    r"\A={80}\n"
    r"PERFORMANCE ISSUE: (?P<title>[A-Z0-9][A-Z0-9 ]*)\n"
    r"={80}\n\n"
    r"BENCHMARK FILE: (?P<bench>\S+)\n"
    r"IDENTIFIED: (?P<date>\d{4}-\d{2}-\d{2})\n"
    r"STATUS: IDENTIFIED\n\n"
    r"-{80}\nANALYSIS\n-{80}\n\n"
    r"Runtime: (?P<runtime>\d+)ms\n"
    r"Hotspot Rank: (?P<rank>\d+)\n"
    r"Time Contribution: (?P<share>\d+\.\d)% of total execution\n\n"
    r"Location:\n"
    r"  File: (?P<file>\S+)\n"
    r"  Line: (?P<line>\d+)\n"
    r"  Function: (?P<function>\S.*)\n\n"
    rf"Description:\n(?P<description>{_PROSE})"
    rf"Root Cause:\n(?P<root>{_PROSE})"
    r"-{80}\nPROPOSED OPTIMIZATION\n-{80}\n\n"
    rf"Approach:\n(?P<approach>{_PROSE})"
    rf"Expected Impact:\n(?P<impact>{_PROSE})"
    rf"Risk Assessment:\n(?P<risk>{_PROSE})"
    r"-{80}\nPROGRESS LOG\n-{80}\n\n"
    r"\[(?P=date)\] IDENTIFIED - Issue discovered during profiling of (?P=bench)\n\Z"
)
_PLACEHOLDER = re.compile(
    r"\[(?:date|X|line number|function_name|DESCRIPTIVE NAME|1/2/3 etc)\]|"
    r"\[(?:What|Why|Specific|Estimated|Any) [^\]]*\]|\bTODO\b|\bTBD\b|lorem ipsum",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CheckedIssue:
    title: str
    benchmark: str
    date: str
    runtime_ms: int
    rank: int
    share: str
    file: str
    line: int
    function: str
    prose: dict[str, str]


def check_issue_text(text: str, *, name: str) -> CheckedIssue:
    """Assert the spec's layout, 80-column lines and no placeholder; return the fields."""
    match = _TEMPLATE.match(text)
    assert match is not None, f"{name} does not follow the template:\n{text}"
    for number, line in enumerate(text.splitlines(), start=1):
        # The template's log entry is one line whatever its length; everything else wraps.
        if not line.startswith("["):
            assert len(line) <= 80, f"{name}:{number} is {len(line)} characters long"
        assert line == line.rstrip(), f"{name}:{number} has trailing white space"
    assert _PLACEHOLDER.search(text) is None, f"{name} has placeholder text"
    assert match.group("title") == name.replace("_", " "), f"{name}: title and file name differ"
    prose = {
        key: " ".join(match.group(key).split())
        for key in ("description", "root", "approach", "impact", "risk")
    }
    for key, value in prose.items():
        assert len(value) > 40, f"{name}: {key} is too thin: {value!r}"
    return CheckedIssue(
        title=match.group("title"),
        benchmark=match.group("bench"),
        date=match.group("date"),
        runtime_ms=int(match.group("runtime")),
        rank=int(match.group("rank")),
        share=match.group("share"),
        file=match.group("file"),
        line=int(match.group("line")),
        function=match.group("function"),
        prose=prose,
    )


def function_span(source: str, function: str) -> tuple[int, int]:
    """1-based first and last line of `fn <method>` (the last segment of `function`).

    Counts braces from the `fn` line on; the test sources keep braces out of strings. A derived
    method (`<Value as Clone>::clone (derived)`) has no `fn`: its span is the one line of the
    `#[derive(...)]` attribute that names the trait, directly above `enum`/`struct Value`.
    """
    lines = source.splitlines()
    derived = re.fullmatch(r"<(\w+) as (\w+)>::\w+ \(derived\)", function)
    if derived:
        type_name, trait = derived.groups()
        definition = next(
            i
            for i, line in enumerate(lines)
            if re.search(rf"\b(?:enum|struct|union) {type_name}\b", line)
        )
        attribute = next(
            i
            for i in range(definition - 1, -1, -1)
            if "derive(" in lines[i] and re.search(rf"\b{trait}\b", lines[i])
        )
        return attribute + 1, attribute + 1
    method = function.rsplit("::", 1)[-1]
    starts = [i for i, line in enumerate(lines) if re.search(rf"\bfn {re.escape(method)}\b", line)]
    assert len(starts) == 1, f"expected one `fn {method}`, found {len(starts)}"
    start = starts[0]
    depth = 0
    opened = False
    for index in range(start, len(lines)):
        depth += lines[index].count("{") - lines[index].count("}")
        opened = opened or "{" in lines[index]
        if opened and depth == 0:
            return start + 1, index + 1
    raise AssertionError(f"`fn {method}` never closes")


def check_issue_file(path: Path, repo: Path) -> CheckedIssue:
    """Format check plus: the file exists in the repo and Line lies inside Function."""
    issue = check_issue_text(path.read_text(encoding="utf-8"), name=path.stem)
    source = (repo / issue.file).read_text(encoding="utf-8")
    first, last = function_span(source, issue.function)
    assert first <= issue.line <= last, (
        f"{path.name}: Line {issue.line} is outside {issue.function} (lines {first}-{last})"
    )
    return issue
