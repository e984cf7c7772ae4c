"""The benchmark program the user named (FILE), checked before make or anything else sees it.

Contract: `validate_file_argument(repo, file_arg)` turns the user's FILE into a repo-relative POSIX
path that is safe to hand to make as `FILE=…`: an allow-list of characters (`[A-Za-z0-9._+-]`
components joined by `/`, no `..`, no empty component, no component starting with `-`), checked
before the disk is touched; then the file must exist, be a regular file, and resolve inside the
repo. Anything else is a `UsageError`. A module of its own so that a run that skips make
(`--skip-make`, `--profile`) checks FILE without loading the process layer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from perf_identify.errors import UsageError

# An allow-list rather than a deny-list: make expands `$` and treats `#`, `=`, `:`, `%` and
# whitespace specially in variable values, and Makefiles routinely paste $(FILE) into shell
# commands unquoted, so only characters that mean nothing to either are let through.
_ALLOWED_CHARS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-/"
)
_FILE_HINT: Final = (
    "give a path inside the repo made of letters, digits, '.', '_', '+' and '-' separated by '/' "
    "(rename or copy the file if needed)"
)


def check_characters(file_arg: str, checked: str) -> None:
    """Reject `checked` (the part of `file_arg` that will reach make) unless it is allow-listed."""
    if not checked:
        raise UsageError(f"FILE {file_arg!r} is empty", _FILE_HINT)
    for ch in checked:
        if ch not in _ALLOWED_CHARS:
            raise UsageError(
                f"FILE {file_arg!r} contains {ch!r}, which make or a shell could interpret",
                _FILE_HINT,
            )
    for component in checked.split("/"):
        if component == "":
            raise UsageError(f"FILE {file_arg!r} contains an empty path component", _FILE_HINT)
        if component == "..":
            raise UsageError(f"FILE {file_arg!r} contains a '..' component", _FILE_HINT)
        if component.startswith("-"):
            raise UsageError(
                f"FILE {file_arg!r} has a path component starting with '-'", _FILE_HINT
            )


def _strip_repo_prefix(repo: Path, file_arg: str) -> str | None:
    """The part of an absolute `file_arg` below the repo, compared lexically; None if not below."""
    roots = {os.path.abspath(repo), str(repo.resolve())}
    for root in roots:
        prefix = root.rstrip("/") + "/"
        if file_arg.startswith(prefix):
            return file_arg[len(prefix) :]
    return None


def _drop_dot_components(rel: str) -> str:
    return "/".join(part for part in rel.split("/") if part != ".")


def validate_file_argument(repo: Path, file_arg: str) -> str:
    """Return `file_arg` as a safe repo-relative POSIX path, or raise `UsageError`.

    Order: characters (before touching the disk), existence, type, containment. An absolute path
    inside the repo is accepted; the repo's own location may contain any character because only
    the part below it is handed to make.
    """
    is_absolute = file_arg.startswith("/")
    below_repo = _strip_repo_prefix(repo, file_arg) if is_absolute else file_arg
    # An absolute path outside the repo is still character-checked first so that a hostile value
    # is reported as such rather than as "outside the repo".
    check_characters(file_arg, below_repo if below_repo is not None else file_arg[1:])

    path = Path(file_arg) if is_absolute else repo / file_arg
    if not path.exists():
        what = "is a broken symlink" if path.is_symlink() else "does not exist"
        raise UsageError(
            f"FILE {file_arg!r} {what}",
            f"looked for {path}; give a path relative to the repo {repo}",
        )
    if path.is_dir():
        raise UsageError(f"FILE {file_arg!r} is a directory", "give the program file itself")
    if not path.is_file():
        raise UsageError(f"FILE {file_arg!r} is not a regular file", "give the program file itself")

    root = repo.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        via = f" (it resolves to {resolved})" if resolved != Path(os.path.abspath(path)) else ""
        raise UsageError(
            f"FILE {file_arg!r} is outside the repo {root}{via}",
            "give a file inside the repo; make runs there and cannot see other files",
        )

    if below_repo is not None:
        rel = _drop_dot_components(below_repo)
    else:
        # Absolute path reaching the repo through a symlinked directory: resolve the directories
        # but keep the file's own name, which the Makefile may rely on.
        rel = (path.parent.resolve() / path.name).relative_to(root).as_posix()
    # The rewritten value is what reaches make, so it must pass the same allow-list.
    check_characters(file_arg, rel)
    return rel
