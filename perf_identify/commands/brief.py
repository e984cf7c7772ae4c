"""`perf-identify brief FILE`: what a drafter needs for one issue, for an agent to draft from.

It reads only the issue file, its sidecar, the repo's source and, to rebuild the facts
identification computed, the profile the sidecar names (when it is still there and unchanged);
the only thing it writes is its own cache, `.perf-identify/briefs/NAME.KIND.json`, which gives
the same brief again, without rebuilding it, while every file it was built from is unchanged
(`brief_cache.py`). See `briefing.py` for what a brief holds and `issue_inputs.py` for where
each part comes from. `--json` prints the same as one object.

Failures: a missing or unparsable issue file exits 9; a File not in the repo, or a Function no
longer in its File, exits 5. A missing or changed profile is not a failure: the brief says which
facts are missing and is built from the issue file and the source.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from perf_identify.arguments import Parser, epilog
from perf_identify.errors import UsageError

if TYPE_CHECKING:
    from perf_identify.ports import IssueStore

EXAMPLES = [
    ("perf-identify brief perf-issues/NAME.txt", "what a drafter needs, as text"),
    ("perf-identify brief perf-issues/NAME.txt --json > brief.json", "the same as one JSON object"),
]
EXIT_CODES = "0 ok, 2 arguments, 9 issue file problem, 70 internal error"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify brief",
        epilog=epilog(EXAMPLES, EXIT_CODES),
        description=(
            "Print what a drafter needs for one issue: our facts (share, flat and cum, the call "
            "path, the leaf breakdown, the callers, the class), the function's numbered source, "
            "the benchmark program, the rules the API drafter follows, and the JSON shape of a "
            "draft to submit with `perf-identify draft`. Writes nothing."
        ),
    )
    parser.add_argument("file", metavar="FILE", type=Path, help="perf-issues/NAME.txt")
    parser.add_argument(
        "--repo", type=Path, default=Path("."), metavar="DIR", help="the VM checkout (default: .)"
    )
    parser.add_argument("--json", action="store_true", help="print the brief as one JSON object")
    return parser


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from perf_identify import brief_cache
    from perf_identify.ports import FILE_ISSUE_STORE, LOCAL_REPO_FILES
    from perf_identify.prompt_files import templates_version
    from perf_identify.repo_files import ISSUE_CAP
    from perf_identify.state_layout import StateLayout

    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo} is not a directory")
    kind = "json" if args.json else "text"
    layout = StateLayout.of_issue(args.file)
    name = args.file.stem
    version = templates_version()
    # An unreadable issue file: the full path below says what is wrong with it.
    issue_bytes = _bytes_or_none(FILE_ISSUE_STORE, args.file, ISSUE_CAP)
    sidecar_bytes = _bytes_or_none(FILE_ISSUE_STORE, layout.sidecar(name), ISSUE_CAP)
    if issue_bytes is not None:
        cached = brief_cache.lookup(
            layout,
            name,
            kind,
            templates_version=version,
            issue_bytes=issue_bytes,
            sidecar_bytes=sidecar_bytes,
            files=LOCAL_REPO_FILES,
        )
        if cached is not None:
            stdout.write(cached)
            return 0

    from perf_identify.briefing import brief_json, brief_text
    from perf_identify.issue_inputs import load_issue
    from perf_identify.issue_update import require_issue_file
    from perf_identify.prompt_files import load_draft_schema, load_templates

    require_issue_file(args.file)  # a small regular issue file, before anything reads it whole
    recorder = brief_cache.RecordingFiles(LOCAL_REPO_FILES)
    inputs = load_issue(args.file, repo, files=recorder)
    templates = load_templates()
    if args.json:
        output = json.dumps(brief_json(inputs, templates, load_draft_schema()), indent=2) + "\n"
    else:
        output = brief_text(inputs, templates)
    brief_cache.store(
        layout,
        name,
        kind,
        templates_version=version,
        issue_bytes=inputs.original,
        sidecar_bytes=sidecar_bytes,
        recorded=recorder,
        output=output,
    )
    stdout.write(output)
    return 0


def _bytes_or_none(store: IssueStore, path: Path, cap: int) -> bytes | None:
    try:
        return store.read(path, cap)
    except OSError:
        return None
