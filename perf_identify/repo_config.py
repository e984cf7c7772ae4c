"""The target repo's settings for `perf-identify verify`: one small TOML file, validated.

Contract: `load_config(repo)` reads `repo/.perf-identify.toml` with `tomllib` and validates it
with pydantic (`extra="forbid"`, strict types), so a misspelt key or a wrong type is an error
naming the file, the key and the problem (`UsageError`, exit 2), never a silent default. A
missing file gives the defaults, which fit the Blitzen VM's layout::

    test = "cargo test -p lang"                          # the repo's tests; exit 0 = PASS
    build = "cargo build --release -p santa-cli"         # the release build, run in each tree
    benchmark = "./target/release/santa-cli {file}"      # the timed command
    baseline = "benchmark/results/baseline.json"         # "" = never write a baseline
    runs = 10                                            # alternating pairs timed first
    max_runs = 100                                       # at most this many pairs in all
    time_budget = 120.0                                  # seconds of timing for more pairs
    warmup = 2                                           # untimed runs of each build first
    timer = "auto"                                       # "hyperfine", "builtin" or "auto"
    measure = "auto"                                     # "cpu", "wall", or chosen per run
    threshold_percent = 5.0                              # the noise band of the verdict
    timeout = 1800.0                                     # seconds, for each command run

Commands are split with `shlex` and run as argv lists, never through a shell (write
`sh -c '…'` for a pipeline). `benchmark` must contain `{file}`, replaced by the absolute path of
the issue's BENCHMARK FILE, and its first word must be the path, relative to the tree, of the
program that `build` produces (`./target/release/santa-cli`): verify builds the baseline commit
and the working tree, copies that program out of each, and times the two copies with the same
arguments, input and working directory. It is the command `make analyze` times (Blitzen's
TIMING step runs `./target/release/santa-cli $(FILE)`), not the profiled one: santa-cli's `-p`
turns on pprof profiling in a profiling build and is no part of the benchmark.
`profiling_flag_notice` says so when a command still passes it (the config is never rewritten).

`runs` pairs are timed first; while the verdict is undecided and more pairs could decide it,
verify adds batches up to `max_runs` pairs in all or until the timing has taken `time_budget`
seconds (see `timing_plan`). `measure` picks what the verdict is computed from: wall time, as
hyperfine reports it, the benchmark process's CPU time (user + system), which stays steady on a
busy machine (see `timing.py`), or "auto": CPU time when the benchmark is single-threaded and
CPU-bound, wall time otherwise. When `$CARGO_TARGET_DIR` is set, a program under `target/` is
looked up there instead, where cargo puts it; verify sets it for the baseline's build, so
`build` must honour it (cargo does, and so does a make target that runs cargo).
"""

from __future__ import annotations

import os
import shlex
import tomllib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from perf_identify.benchmark_command import CONFIG_NAME, DEFAULT_BENCHMARK, FILE_PLACEHOLDER
from perf_identify.errors import UsageError

__all__ = ["CONFIG_NAME", "FILE_PLACEHOLDER", "RepoConfig", "load_config", "parse_config"]


def _split(value: str, key: str) -> list[str]:
    try:
        words = shlex.split(value)
    except ValueError as exc:
        raise ValueError(f"cannot split {key} into words: {exc}") from None
    if not words:
        raise ValueError(f"{key} is empty")
    return words


class RepoConfig(BaseModel):
    """Validated settings; see the module docstring for each key and its default."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    test: str = "cargo test -p lang"
    build: str = "cargo build --release -p santa-cli"
    benchmark: str = DEFAULT_BENCHMARK
    baseline: str = "benchmark/results/baseline.json"
    runs: int = Field(default=10, ge=1, le=1000)
    max_runs: int = Field(default=100, ge=1, le=10000)
    time_budget: float = Field(default=120.0, ge=0)
    warmup: int = Field(default=2, ge=0, le=100)
    timer: Literal["auto", "hyperfine", "builtin"] = "auto"
    measure: Literal["auto", "wall", "cpu"] = "auto"
    threshold_percent: float = Field(default=5.0, gt=0, lt=100)
    timeout: float = Field(default=1800.0, gt=0)

    @field_validator("test", "build")
    @classmethod
    def _command(cls, value: str) -> str:
        _split(value, "the command")
        return value

    @field_validator("benchmark")
    @classmethod
    def _benchmark(cls, value: str) -> str:
        words = _split(value, "benchmark")
        if not any(FILE_PLACEHOLDER in word for word in words):
            raise ValueError("benchmark must contain {file}, the benchmark program's path")
        program = words[0]
        if "/" not in program or FILE_PLACEHOLDER in program:
            raise ValueError(
                f"benchmark's first word {program!r} must be the path of the program that "
                "`build` produces, relative to the repo, e.g. ./target/release/santa-cli"
            )
        return value

    @field_validator("baseline")
    @classmethod
    def _baseline(cls, value: str) -> str:
        if not value:
            return value
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or value.endswith("/"):
            raise ValueError(f"baseline {value!r} must be a file path inside the repo, or ''")
        return value

    @model_validator(mode="after")
    def _max_runs(self) -> RepoConfig:
        if self.max_runs < self.runs:
            raise ValueError(f"max_runs ({self.max_runs}) is below runs ({self.runs})")
        return self

    def test_argv(self) -> list[str]:
        return _split(self.test, "test")

    def build_argv(self) -> list[str]:
        return _split(self.build, "build")

    def benchmark_argv(self, file: str) -> list[str]:
        """The benchmark command for `file`, `{file}` replaced in every word."""
        words = _split(self.benchmark, "benchmark")
        return [word.replace(FILE_PLACEHOLDER, file) for word in words]

    def program_in(self, tree: Path, env: dict[str, str] | None = None) -> Path:
        """Where `build` leaves the benchmark's program in `tree` (see the module docstring)."""
        program = PurePosixPath(_split(self.benchmark, "benchmark")[0])
        if program.is_absolute():
            return Path(program)
        parts = [part for part in program.parts if part != "."]
        target_dir = (os.environ if env is None else env).get("CARGO_TARGET_DIR", "")
        if target_dir and parts and parts[0] == "target":
            return Path(target_dir, *parts[1:])
        return tree.joinpath(*parts)


PROFILING_FLAG = "-p"
_PROFILED_PROGRAMS = ("santa-cli",)


def profiling_flag_notice(argv: Sequence[str], where: str) -> str | None:
    """A notice when `argv` runs santa-cli with its profiling flag `-p` (see the docstring);
    `where` names the command's source, e.g. "benchmark in .perf-identify.toml"."""
    if not argv or PurePosixPath(argv[0]).name not in _PROFILED_PROGRAMS:
        return None
    if PROFILING_FLAG not in argv[1:]:
        return None
    program = argv[0]
    plain = [word for word in argv if word != PROFILING_FLAG]
    return (
        f"{where} runs `{shlex.join(argv)}`: `-p` is {PurePosixPath(program).name}'s profiling "
        f"flag (pprof in a profiling build), not part of the benchmark that `make analyze` "
        f"times (`{shlex.join(plain)}`); remove it from `benchmark` in {CONFIG_NAME}"
    )


def config_path(repo: Path) -> Path:
    return repo / CONFIG_NAME


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(file)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{key}: {message}")
    return "; ".join(problems)


def parse_config(text: str, source: str) -> RepoConfig:
    """Validate the TOML `text`; `source` names it in errors."""
    keys = ", ".join(RepoConfig.model_fields)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML: {exc}", hint=f"the keys are {keys}") from None
    try:
        return RepoConfig.model_validate(data)
    except ValidationError as exc:
        raise UsageError(
            f"{source}: {_describe(exc)}",
            hint=f"the keys are {keys}; see the README's 'The config file'",
        ) from None


def load_config(repo: Path) -> RepoConfig:
    """The repo's settings, or the defaults when it has no config file."""
    path = config_path(repo)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return RepoConfig()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    return parse_config(text, str(path))
