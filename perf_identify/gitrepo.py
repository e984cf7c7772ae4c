"""The few git facts and operations the lifecycle needs, as argv calls to the `git` binary.

Contract:

* `head_state(repo, exclude)` is the state identification records: HEAD's commit, and whether
  tracked files under `repo` differ from it (staged or not), ignoring untracked files and the
  `exclude` folder (the issue folder: writing issue files must not make the tree dirty). It
  returns None when `repo` is not inside a git work tree with at least one commit, or when git
  is not installed: identification outside git is allowed, verification then needs `--before`.
* `resolve_commit(repo, ref)` is the full commit id for `ref`, or None when the repo has no
  such commit (for example, a sidecar written in another clone, or history rewritten since).
* `repo_prefix(repo)` is `repo`'s path below the top of its work tree (`""` at the top), so
  that the same folder can be found inside a worktree of the whole repository.
* `temporary_worktree(repo, commit, path)` checks `commit` out, detached, at `path` for the
  duration of a `with` block and removes it afterwards (`git worktree remove --force`, then
  `prune`), even when the block raises; the repo's own branches and index are never touched.

Every failure of a git command that must succeed is a `VerifyError` naming the command and its
last line of stderr.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from perf_identify import processes
from perf_identify.errors import VerifyError

_GIT_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class HeadState:
    commit: str
    dirty: bool
    dirty_paths: tuple[str, ...]
    """Up to 20 of the changed tracked paths, relative to the top of the work tree."""


def _git(repo: Path, *args: str) -> processes.Captured:
    # Through the process layer like every other program: a hung git (a credential prompt, a
    # hook) is stopped with everything it started when the timeout passes.
    return processes.capture(["git", *args], cwd=repo, timeout_s=_GIT_TIMEOUT_S)


def _must(repo: Path, *args: str) -> str:
    try:
        done = _git(repo, *args)
    except (OSError, processes.TimedOut) as exc:
        raise VerifyError(f"git {' '.join(args)} failed in {repo}: {exc}") from None
    if done.exit_code != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise VerifyError(f"git {' '.join(args)} failed in {repo}: {last}")
    return done.stdout


def head_state(repo: Path, exclude: Path | None = None) -> HeadState | None:
    """HEAD and the dirty flag for `repo`, or None outside git (see the module docstring)."""
    try:
        head = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        if head.exit_code != 0:
            return None
        pathspec = ["--", "."]
        if exclude is not None:
            with contextlib.suppress(ValueError):
                rel = exclude.resolve().relative_to(repo.resolve()).as_posix()
                if rel != ".":
                    pathspec.append(f":(exclude){rel}")
        status = _git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=no", *pathspec)
    except (OSError, processes.TimedOut):
        return None
    if status.exit_code != 0:
        return None
    paths = tuple(_porcelain_paths(status.stdout))
    return HeadState(commit=head.stdout.strip(), dirty=bool(paths), dirty_paths=paths[:20])


def _porcelain_paths(output: str) -> Iterator[str]:
    """Paths of `git status --porcelain=v1 -z` records: `XY path`, and for a rename or copy
    (X or Y is R or C) one more bare record with the old path, which is skipped."""
    records = iter(output.split("\0"))
    for record in records:
        if len(record) < 4:
            continue
        yield record[3:]
        if "R" in record[:2] or "C" in record[:2]:
            next(records, None)


def is_work_tree(repo: Path) -> bool:
    try:
        done = _git(repo, "rev-parse", "--is-inside-work-tree")
    except (OSError, processes.TimedOut):
        return False
    return done.exit_code == 0 and done.stdout.strip() == "true"


def resolve_commit(repo: Path, ref: str) -> str | None:
    """The full id of the commit `ref` names in `repo`, or None."""
    if not ref or ref.startswith("-"):
        return None
    try:
        done = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except (OSError, processes.TimedOut):
        return None
    return done.stdout.strip() if done.exit_code == 0 else None


def repo_prefix(repo: Path) -> str:
    return _must(repo, "rev-parse", "--show-prefix").strip().rstrip("/")


@contextlib.contextmanager
def temporary_worktree(repo: Path, commit: str, path: Path) -> Iterator[Path]:
    """`commit` checked out, detached, at `path` while the block runs (see the docstring)."""
    _must(repo, "worktree", "add", "--detach", "--force", "--quiet", str(path), commit)
    try:
        yield path
    finally:
        try:
            removed = _git(repo, "worktree", "remove", "--force", "--force", str(path))
            if removed.exit_code != 0:
                shutil.rmtree(path, ignore_errors=True)
            _git(repo, "worktree", "prune")
        except (OSError, processes.TimedOut):
            shutil.rmtree(path, ignore_errors=True)
