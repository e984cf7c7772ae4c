"""Small git repos for the lifecycle tests: the fake VM plus a "VM" that builds in milliseconds.

`scripted_vm(root)` is the fake VM (tests/data/fake_vm, whose source backs the recorded
profile's hotspot) with a `.perf-identify.toml` whose commands are tiny shell scripts: `build`
copies `vm.py` (a Python program that sleeps `DELAY` seconds) to `$CARGO_TARGET_DIR/release/vm`
(default `target/`), as cargo would, and `test` fails when a file `TESTS_FAIL` exists. So the
whole lifecycle, real git worktrees and real timing included, runs without cargo. Its 3 `runs`
are too few pairs for a 95 % interval, so verify always takes a second batch (7 pairs), and
`max_runs = 12` bounds what a noisy real timing can add. The repo is
committed; `identify(repo)` writes the IDENTIFIED issue and its sidecar through the real CLI.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from perf_identify.cli import main
from tests.fake_vm import BENCHMARK, make_fake_vm

ISSUE = "STRING_GRAPHEME_COLLECT_IN_INDEX_OP"
ISSUE_FILE = f"perf-issues/{ISSUE}.txt"
IDENTIFIED_DAY = "2026-11-20"

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "perf-identify tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "perf-identify tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}

VM_PY = """\
#!{python} -S
import sys, time
DELAY = {delay}
time.sleep(DELAY)
print("Part 1: 42", open(sys.argv[-1]).read().strip())
"""

BUILD = (
    "sh -c 'test ! -e BUILD_FAILS || { echo cannot compile >&2; exit 101; }; "
    "d=${CARGO_TARGET_DIR:-target}/release; mkdir -p $d && cp vm.py $d/vm && chmod +x $d/vm'"
)
CONFIG = f"""\
test = "sh -c 'test ! -e TESTS_FAIL || {{ echo test index_op ... FAILED; exit 101; }}'"
build = "{BUILD}"
benchmark = "./target/release/vm -p {{file}}"
runs = 3
max_runs = 12
warmup = 1
timer = "builtin"
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def init_and_commit(repo: Path) -> str:
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "commit.gpgsign", "false")
    return commit_all(repo, "baseline")


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def set_delay(repo: Path, delay: float) -> None:
    (repo / "vm.py").write_text(VM_PY.format(python=sys.executable, delay=delay))


def scripted_vm(root: Path, *, delay: float = 0.06, config: str = CONFIG) -> Path:
    """The scripted VM, committed (see the module docstring); returns the repo."""
    repo = make_fake_vm(root)
    set_delay(repo, delay)
    (repo / ".perf-identify.toml").write_text(config, encoding="utf-8")
    (repo / ".gitignore").write_text("perf-issues/\ntarget/\n*.pb\n", encoding="utf-8")
    (repo / "benchmark" / "results").mkdir(parents=True)
    (repo / "benchmark" / "results" / ".keep").write_text("")
    init_and_commit(repo)
    return repo


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def identify(repo: Path) -> Path:
    """Identify the recorded profile's top hotspot (offline, no make); the issue file's path."""
    code, _, err = run_cli(
        BENCHMARK,
        "--repo",
        str(repo),
        "--profile",
        str(repo / "recorded-profile.pb"),
        "--top",
        "1",
        "--offline",
        "--quiet",
        "--date",
        IDENTIFIED_DAY,
    )
    assert code == 0, err
    path = repo / ISSUE_FILE
    assert path.is_file()
    return path
