"""In-memory fakes of the ports in `perf_identify.ports` (and verify's runner and timer)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from perf_identify.gitrepo import HeadState
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
