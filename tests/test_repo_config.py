"""Tests for perf_identify.repo_config: defaults, strict validation, the program's location."""

from __future__ import annotations

from pathlib import Path

import pytest

from perf_identify.errors import UsageError
from perf_identify.repo_config import (
    RepoConfig,
    load_config,
    parse_config,
    profiling_flag_notice,
)


def test_missing_file_gives_the_blitzen_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == RepoConfig()
    assert config.test_argv() == ["cargo", "test", "-p", "lang"]
    assert config.build_argv() == ["cargo", "build", "--release", "-p", "santa-cli"]
    # What `make analyze` times: santa-cli's `-p` turns on profiling and is no part of it.
    assert config.benchmark_argv("examples/x.santa") == [
        "./target/release/santa-cli",
        "examples/x.santa",
    ]
    assert (config.baseline, config.runs, config.warmup, config.timer) == (
        "benchmark/results/baseline.json",
        10,
        2,
        "auto",
    )
    assert (config.threshold_percent, config.measure) == (5.0, "auto")
    assert (config.max_runs, config.time_budget) == (100, 120.0)


def test_a_full_file(tmp_path: Path) -> None:
    (tmp_path / ".perf-identify.toml").write_text(
        'test = "cargo test --workspace"\n'
        'build = "make release"\n'
        "benchmark = \"./target/release/tinsel-cli --input '{file}'\"\n"
        'baseline = ""\n'
        "runs = 3\nwarmup = 0\n"
        'timer = "builtin"\n'
        "threshold_percent = 2.5\n"
        'measure = "cpu"\n'
        "max_runs = 40\ntime_budget = 0\n"
        "timeout = 60\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    assert config.benchmark_argv("a b.tinsel") == [
        "./target/release/tinsel-cli",
        "--input",
        "a b.tinsel",
    ]
    assert (config.runs, config.warmup, config.timer, config.timeout) == (3, 0, "builtin", 60.0)
    assert (config.measure, config.max_runs, config.time_budget) == ("cpu", 40, 0.0)
    assert config.baseline == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tests = 'cargo test'\n", "tests: unknown key"),
        ("runs = '10'\n", "runs: Input should be a valid integer"),
        ("runs = 0\n", "runs: Input should be greater than or equal to 1"),
        ("timer = 'stopwatch'\n", "timer: Input should be 'auto', 'hyperfine' or 'builtin'"),
        ("benchmark = './target/release/x -p'\n", "benchmark must contain {file}"),
        ("benchmark = 'santa-cli {file}'\n", "must be the path of the program"),
        ("test = ''\n", "test: the command is empty"),
        ('build = "cargo \'build"\n', "cannot split the command into words"),
        ("baseline = '/tmp/b.json'\n", "must be a file path inside the repo"),
        ("baseline = '../b.json'\n", "must be a file path inside the repo"),
        ("runs = 3\nruns = 4\n", "not valid TOML"),
        ("[verify]\nruns = 3\n", "verify: unknown key"),
        ("measure = 'process'\n", "measure: Input should be 'auto', 'wall' or 'cpu'"),
        ("runs = 20\nmax_runs = 10\n", "(file): max_runs (10) is below runs (20)"),
        ("time_budget = -1.0\n", "time_budget: Input should be greater than or equal to 0"),
    ],
)
def test_mistakes_are_errors_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_config(text, "repo/.perf-identify.toml")
    assert info.value.message.startswith("repo/.perf-identify.toml: ")
    assert message in info.value.message
    assert "the keys are test, build, benchmark, baseline" in info.value.hint


def test_program_location(tmp_path: Path) -> None:
    config = RepoConfig(benchmark="./target/release/tinsel-cli {file}")
    assert config.program_in(tmp_path, {}) == tmp_path / "target/release/tinsel-cli"
    shared = {"CARGO_TARGET_DIR": "/cache/target"}
    assert config.program_in(tmp_path, shared) == Path("/cache/target/release/tinsel-cli")
    elsewhere = RepoConfig(benchmark="bin/vm {file}")
    assert elsewhere.program_in(tmp_path, shared) == tmp_path / "bin/vm"
    absolute = RepoConfig(benchmark="/opt/vm/bin/vm {file}")
    assert absolute.program_in(tmp_path, {}) == Path("/opt/vm/bin/vm")


def test_santa_clis_profiling_flag_is_pointed_out() -> None:
    notice = profiling_flag_notice(
        ["./target/release/santa-cli", "-p", "examples/a.santa"], "`benchmark`"
    )
    assert notice == (
        "`benchmark` runs `./target/release/santa-cli -p examples/a.santa`: `-p` is santa-cli's "
        "profiling flag (pprof in a profiling build), not part of the benchmark that `make "
        "analyze` times (`./target/release/santa-cli examples/a.santa`); remove it from "
        "`benchmark` in .perf-identify.toml"
    )
    assert profiling_flag_notice(["./target/release/santa-cli", "examples/a.santa"], "x") is None
    # Another program's -p means something else.
    assert profiling_flag_notice(["./target/release/tinsel-cli", "-p", "a.tinsel"], "x") is None
    assert profiling_flag_notice([], "x") is None


def test_the_default_benchmark_needs_no_config_module(tmp_path: Path) -> None:
    """Without a config file the command is built without repo_config (and pydantic): the same
    command as the config's default; with one, the config's own."""
    from perf_identify.benchmark_command import benchmark_argv
    from perf_identify.repo_config import RepoConfig

    assert benchmark_argv(tmp_path, "examples/x.santa") == RepoConfig().benchmark_argv(
        "examples/x.santa"
    )
    (tmp_path / ".perf-identify.toml").write_text('benchmark = "./bin/vm --fast {file}"\n')
    assert benchmark_argv(tmp_path, "x.santa") == ["./bin/vm", "--fast", "x.santa"]
