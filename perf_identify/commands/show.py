"""`perf-identify show FUNCTION [--profile P]`: one function's place in a profile, for an agent
checking a hypothesis against the profile instead of guessing.

For every function FUNCTION names (see `peek.py` for the matching rule; at most `--limit`, the
heaviest first): flat and cum, its callers and its callees with the value of each edge, as
`go tool pprof -peek` gives them, and for a per-address profile (true line numbers) its
per-line flat and cum with the source line beside each, as `-list` does. `--json` prints the
same as one object. It reads the profile and the repo's source; it writes nothing.

Failures: a missing or broken profile exits 4 (the decoder's message); a FUNCTION that names
nothing in the profile exits 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from perf_identify.arguments import Parser, add_repo_arguments, epilog, positive_int
from perf_identify.errors import ProfileError, UsageError

EXAMPLES = [
    ("perf-identify show VM::index_op", "one function of the repo's profile.pb"),
    (
        "perf-identify show Iterator::collect --profile old/profile.pb --limit 1",
        "the best match only, in another profile",
    ),
]
EXIT_CODES = "0 ok, 2 arguments (e.g. no function matches), 4 profile problem, 70 internal error"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify show",
        epilog=epilog(EXAMPLES, EXIT_CODES),
        description=(
            "Show one function of a profile: flat and cum, callers and callees with their "
            "shares (pprof's -peek), and per-line figures where the profile has true line "
            "numbers (-list)."
        ),
    )
    parser.add_argument(
        "function",
        metavar="FUNCTION",
        help="a function name, or its last parts: VM::index_op, Iterator::collect",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="the profile (default: profile.pb in the repo; `perf-identify brief` names the "
        "issue's)",
    )
    add_repo_arguments(parser)
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=3,
        metavar="N",
        help="functions shown when several match (default 3)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from perf_identify.hotspots import PathMapper
    from perf_identify.peek import (
        PeekReport,
        matching_functions,
        peek,
        peeks_json,
        render_peeks,
    )
    from perf_identify.pprof import decode_profile
    from perf_identify.ranking import rank_functions

    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo} is not a directory")
    path = args.profile if args.profile is not None else repo / "profile.pb"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProfileError(
            f"cannot read profile {path}: {exc.strerror or exc}",
            hint="pass --profile PATH (`perf-identify brief FILE` names the issue's profile)",
        ) from None
    ranked = rank_functions(decode_profile(data, str(path)))
    nodes = matching_functions(ranked, args.function)
    if not nodes:
        raise UsageError(
            f"no function in {path} matches {args.function!r}",
            hint="give the function's last parts (VM::index_op) or any part of its name; "
            "`go tool pprof -top` lists the profile's functions",
        )
    peeks = tuple(peek(ranked, node) for node in nodes[: args.limit])
    mapper = PathMapper(args.source_root.strip("/"), lambda rel: (repo / rel).is_file())
    files: dict[str, str] = {}
    sources: dict[str, list[str]] = {}
    for item in peeks:
        mapped = mapper.map(item.recorded_file) if item.recorded_file else None
        if mapped is None or not mapped.exists:
            continue
        files[item.recorded_file] = mapped.relative
        if item.lines and mapped.relative not in sources:
            text = (repo / mapped.relative).read_text(encoding="utf-8", errors="replace")
            sources[mapped.relative] = text.splitlines()
    report = PeekReport(
        profile=str(path),
        kind=ranked.profile.kind,
        unit=ranked.profile.value_type.unit,
        total=ranked.profile.total,
        peeks=peeks,
        more=max(0, len(nodes) - args.limit),
        files=files,
        sources=sources,
    )
    if args.json:
        stdout.write(json.dumps(peeks_json(report), indent=2) + "\n")
    else:
        stdout.write(render_peeks(report))
    return 0
