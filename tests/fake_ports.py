"""In-memory fakes of the ports in `perf_identify.ports` (and verify's runner and timer).

`MemoryRepoFiles` and `MemoryIssueStore` hold files in dicts, so identify, verify and the
lifecycle commands run against them without touching the disk where they would."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from perf_identify.errors import IssueFileError, WriteError
from perf_identify.gitrepo import HeadState
from perf_identify.issues_dir import (
    ExistingIssue,
    StateLayout,
    WriteOutcome,
    outcome_over,
    parse_issue_bytes,
)
from perf_identify.render import IssueDocument
from perf_identify.repo_files import ISSUE_CAP, SOURCE_CAP, Refused
from perf_identify.runner import CommandRun
from perf_identify.timing import RunTime


@dataclass
class FakeClock:
    """A fixed day; `monotonic` reads `seconds` (0 unless a test moves it)."""

    day: date
    seconds: Callable[[], float] = lambda: 0.0

    def today(self) -> date:
        return self.day

    def monotonic(self) -> float:
        return self.seconds()

    def wall_ns(self) -> int:
        """Midnight UTC of `day`, in nanoseconds since the epoch."""
        return (
            int(datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC).timestamp())
            * 10**9
        )


@dataclass
class FakeGit:
    """A repo whose only commit is `head`; a worktree of it is an empty folder plus `files`."""

    head: str = "c0ffee" * 6 + "beef"
    files: Mapping[str, str] = field(default_factory=dict)
    worktrees: list[Path] = field(default_factory=list)

    def is_work_tree(self, repo: Path) -> bool:
        return True

    def resolve_commit(self, repo: Path, ref: str) -> str | None:
        return self.head if ref in (self.head, "HEAD") else None

    def repo_prefix(self, repo: Path) -> str:
        return ""

    def head_state(self, repo: Path, exclude: Path | None = None) -> HeadState | None:
        return HeadState(commit=self.head, dirty=False, dirty_paths=())

    @contextlib.contextmanager
    def worktree(self, repo: Path, commit: str, path: Path) -> Iterator[Path]:
        path.mkdir(parents=True)
        for name, text in self.files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(text)
        self.worktrees.append(path)
        try:
            yield path
        finally:
            shutil.rmtree(path)


@dataclass
class FakeRunner:
    """verify's `run`: a command with `test` in it exits `test_exit`; any other is a build that
    writes `program` in the tree, or below CARGO_TARGET_DIR when that is set (as cargo does)."""

    program: str = "target/release/vm"
    test_exit: int = 0
    calls: list[tuple[tuple[str, ...], Path]] = field(default_factory=list)

    def __call__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        log_path: Path,
        timeout_s: float,
        env: Mapping[str, str] | None = None,
        on_status: Callable[[float], None] | None = None,
    ) -> CommandRun:
        self.calls.append((tuple(argv), cwd))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")
        exit_code = 0
        if "test" in argv:
            exit_code = self.test_exit
        else:
            target = (env or {}).get("CARGO_TARGET_DIR")
            built = (
                Path(target) / Path(self.program).relative_to("target")
                if target
                else cwd / self.program
            )
            built.parent.mkdir(parents=True, exist_ok=True)
            built.write_text(f"built in {cwd}\n")
        return CommandRun(argv=tuple(argv), exit_code=exit_code, elapsed_s=0.0, log_path=log_path)


@dataclass
class CannedTimer:
    """Every round: `before` for the baseline's copy of the program, `after` for the other."""

    before: RunTime
    after: RunTime
    name: str = "canned timer"
    rounds: int = 0

    def round(
        self, commands: Sequence[Sequence[str]], *, warmup: int, cwd: Path, timeout_s: float
    ) -> list[RunTime]:
        self.rounds += 1
        return [self.before if "before-bin" in command[0] else self.after for command in commands]


@dataclass
class MemoryRepoFiles:
    """`ports.RepoFiles` over a dict of absolute paths to bytes: the profile and the source
    exist only here. A path mapped to a `Refused` is refused as the real port would refuse it
    (a link out of the repo, a FIFO, a file over the cap)."""

    files: dict[Path, bytes | Refused] = field(default_factory=dict)
    reads: list[Path] = field(default_factory=list)

    def _get(self, path: Path, cap: int) -> bytes:
        self.reads.append(path)
        if path not in self.files:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        data = self.files[path]
        if isinstance(data, Refused):
            raise data
        if len(data) > cap:
            raise Refused(f"{len(data)} bytes, over the {cap} bytes limit")
        return data

    def read_regular(self, path: Path, cap: int) -> bytes:
        return self._get(path, cap)

    def read_in_repo(self, repo: Path, relative: str | Path, cap: int = SOURCE_CAP) -> bytes:
        return self._get(repo / relative, cap)

    def is_file(self, path: Path) -> bool:
        return path in self.files


@dataclass
class MemoryIssueStore:
    """`ports.IssueStore` over a dict: issue files, sidecars and records live only here.

    It keeps the store's promises that tests rely on: a file past IDENTIFIED is KEPT,
    `replace_issue` writes only over the bytes it expects, and a lock held is refused a second
    time (`WriteError`, as the flock of the real store is)."""

    files: dict[Path, bytes] = field(default_factory=dict)
    held: set[Path] = field(default_factory=set)
    writes: list[Path] = field(default_factory=list)

    def layout(self, issue_path: Path) -> StateLayout:
        return StateLayout.of_issue(issue_path)

    def scan(self, out_dir: Path) -> list[ExistingIssue]:
        found: list[ExistingIssue] = []
        for path in sorted(self.files, key=lambda p: p.name):
            if path.parent != out_dir or path.suffix != ".txt" or path.name.startswith("."):
                continue
            try:
                document: IssueDocument | None = parse_issue_bytes(path, self.files[path])
                error: IssueFileError | None = None
            except IssueFileError as exc:
                document, error = None, exc
            found.append(ExistingIssue(path=path, name=path.stem, document=document, error=error))
        return found

    @contextlib.contextmanager
    def _lock(self, key: Path) -> Iterator[object]:
        if key in self.held:
            raise WriteError(f"{key} is locked by another perf-identify command")
        self.held.add(key)
        try:
            yield key
        finally:
            self.held.discard(key)

    def lock_issue(self, issue_path: Path) -> AbstractContextManager[object]:
        return self._lock(self.layout(issue_path).issue_lock(issue_path.stem))

    def lock_folder(self, out_dir: Path) -> AbstractContextManager[object]:
        return self._lock(StateLayout(out_dir).lock)

    def read(self, path: Path, cap: int = ISSUE_CAP) -> bytes:
        if path not in self.files:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        if len(self.files[path]) > cap:
            raise Refused(f"{len(self.files[path])} bytes, over the {cap} bytes limit")
        return self.files[path]

    def exists(self, path: Path) -> bool:
        return path in self.files

    def write_atomically(self, target: Path, data: bytes) -> None:
        self.writes.append(target)
        self.files[target] = data

    def write_issue(self, out_dir: Path, name: str, text: str) -> WriteOutcome:
        target = out_dir / f"{name}.txt"
        data = text.encode("utf-8")
        if target in self.files:
            outcome = outcome_over(target, self.files[target], data)
            if outcome is not None:
                return outcome
            self.write_atomically(target, data)
            return WriteOutcome.UPDATED
        self.write_atomically(target, data)
        return WriteOutcome.CREATED

    def replace_issue(self, path: Path, expected: bytes, text: str) -> None:
        if self.files.get(path) != expected:
            raise IssueFileError(f"{path} changed while this command ran; it was left as it is")
        self.write_atomically(path, text.encode("utf-8"))

    def text(self, path: Path) -> str:
        return self.files[path].decode("utf-8")


class RecordingProgress:
    """`pipeline.Progress` that keeps the notices (what a run said besides its result)."""

    def __init__(self) -> None:
        self.notices: list[str] = []

    def step(self, text: str) -> None:
        pass

    def status(self, text: str, elapsed_s: float) -> None:
        pass

    def output(self, line: str) -> None:
        pass

    def notice(self, text: str) -> None:
        self.notices.append(text)
