"""`perf-identify install-commands [--repo DIR] [--force]`: the slash commands, into a repo.

For users who install perf-identify as a Python tool (`pip install`, `uv tool install`) instead
of as a Claude Code plugin. Writes `perf-identify.md`, `perf-implement.md` and `perf-verify.md`
into `DIR/.claude/commands/`, where Claude Code finds them as the bare `/perf-identify`,
`/perf-implement` and `/perf-verify`. The texts are the plugin's own `commands/*.md`, shipped in
the wheel as `perf_identify/slash_commands/` (a symlink in the source tree).

A user's edits are never overwritten without `--force`. `DIR/.claude/commands/.perf-identify.json`
records the sha256 of every file this command wrote. A file that is absent is created; one
equal to the shipped text is left alone; one still equal to what was recorded (an older
shipped text) is updated; anything else was edited (or written by hand), and then nothing is
written unless `--force` is given, which first keeps the edited file as `NAME.md.bak`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from dataclasses import dataclass
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import TextIO

from perf_identify import __version__
from perf_identify.arguments import Parser, epilog
from perf_identify.errors import UsageError, WriteError
from perf_identify.issues_dir import write_file_atomically
from perf_identify.repo_files import ISSUE_CAP, read_regular

COMMAND_FILES = ("perf-identify.md", "perf-implement.md", "perf-verify.md")
COMMANDS_DIR = Path(".claude") / "commands"
RECORD_NAME = ".perf-identify.json"


class Outcome(Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    EDITED = "edited"
    """Differs from the shipped text and from what was recorded: the user's."""


@dataclass(frozen=True)
class Plan:
    name: str
    path: Path
    shipped: bytes
    outcome: Outcome


EXAMPLES = [
    (
        "perf-identify install-commands --repo examples/tinsel",
        "write the three slash commands into examples/tinsel/.claude/commands/",
    ),
    (
        "perf-identify install-commands --force",
        "replace edited command files in ./.claude/commands/",
    ),
]
EXIT_CODES = "0 ok, 2 arguments, 7 a command file could not be written, 70 internal error"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="perf-identify install-commands",
        epilog=epilog(EXAMPLES, EXIT_CODES),
        description=(
            "Write the /perf-identify, /perf-implement and /perf-verify slash commands into "
            "DIR/.claude/commands/, for Claude Code sessions in that repo. Use this when "
            "perf-identify is installed as a Python tool; the Claude Code plugin brings the "
            "same commands (as /perf-identify:perf-identify ...). A command file you edited is "
            "not overwritten unless --force is given (your version is kept as NAME.md.bak)."
        ),
    )
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the repo to install into (default: .)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace edited command files (keeping NAME.md.bak)"
    )
    return parser


def shipped_commands() -> dict[str, bytes]:
    """The command texts shipped with this version, by file name."""
    folder = resources.files("perf_identify") / "slash_commands"
    return {name: (folder / name).read_bytes() for name in COMMAND_FILES}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _recorded(record_path: Path) -> dict[str, str]:
    """File name -> sha256 of what install-commands last wrote; empty when unreadable."""
    try:
        data = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {str(k): str(v) for k, v in files.items() if isinstance(v, str)}


def plan(target: Path, shipped: dict[str, bytes]) -> list[Plan]:
    """What would happen to each command file (see the module docstring)."""
    recorded = _recorded(target / RECORD_NAME)
    plans: list[Plan] = []
    for name, text in shipped.items():
        path = target / name
        if not path.exists():
            outcome = Outcome.CREATED
        else:
            current = path.read_bytes()
            if current == text:
                outcome = Outcome.UNCHANGED
            elif recorded.get(name) == _sha256(current):
                outcome = Outcome.UPDATED
            else:
                outcome = Outcome.EDITED
        plans.append(Plan(name=name, path=path, shipped=text, outcome=outcome))
    return plans


def _write(path: Path, data: bytes) -> None:
    """Write `path` through a temp file we create (O_CREAT | O_EXCL | O_NOFOLLOW, random name), so
    a symlink planted at a predictable temp name is never followed or truncated."""
    write_file_atomically(path, data)


def _refuse_links(target: Path) -> None:
    """Refuse a `.claude/commands` (or its `.claude`) that is a symlink: writes stay in the repo."""
    for folder in (target.parent, target):
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise WriteError(
                f"refusing to write under {folder}: it is a symbolic link or not a folder",
                hint=f"remove {folder}; install-commands recreates it as a plain folder",
            )


def install(target: Path, *, force: bool) -> list[Plan]:
    """Install the shipped commands into `target`; return what was done to each file."""
    plans = plan(target, shipped_commands())
    edited = [p for p in plans if p.outcome is Outcome.EDITED]
    if edited and not force:
        names = ", ".join(str(p.path) for p in edited)
        raise WriteError(
            f"{names} differ{'s' if len(edited) == 1 else ''} from the shipped text and from "
            "what install-commands wrote; nothing was written",
            hint="keep your edits, or pass --force to replace them (each edited file is kept "
            "as NAME.md.bak)",
        )
    _refuse_links(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for item in plans:
            if item.outcome is Outcome.EDITED:
                backup = read_regular(item.path, ISSUE_CAP)
                write_file_atomically(item.path.with_name(item.name + ".bak"), backup)
            if item.outcome is not Outcome.UNCHANGED:
                _write(item.path, item.shipped)
        record = {
            "installed_by": f"perf-identify {__version__}",
            "files": {p.name: _sha256(p.shipped) for p in plans},
        }
        _write(target / RECORD_NAME, (json.dumps(record, indent=2) + "\n").encode())
    except OSError as exc:
        raise WriteError(
            f"cannot write the command files into {target}: {exc.strerror or exc}",
            hint="check that the folder is writable",
        ) from exc
    return plans


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    repo = args.repo
    if not repo.is_dir():
        raise UsageError(f"--repo {repo} is not a directory", hint="pass the repo's folder")
    target = repo / COMMANDS_DIR
    for item in install(target, force=args.force):
        note = f" (your version kept as {item.name}.bak)" if item.outcome is Outcome.EDITED else ""
        verb = "replaced" if item.outcome is Outcome.EDITED else item.outcome.value
        stdout.write(f"{verb:<9} {item.path}{note}\n")
    stdout.write(
        f"In Claude Code, in {repo.resolve()}: /perf-identify FILE, then /perf-implement and "
        "/perf-verify ISSUE_FILE.\n"
    )
    found = shutil.which("perf-identify")
    if found is None:
        stderr.write(
            "warning: perf-identify is not on PATH; the commands run `perf-identify`, so put "
            "it on the PATH that Claude Code starts with (e.g. `uv tool install`, or "
            "`pip install --user`)\n"
        )
    return 0
