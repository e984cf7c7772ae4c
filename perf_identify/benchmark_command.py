"""The command `make analyze` times, as identification records it in each sidecar.

Contract: `benchmark_argv(repo, file)` is `repo_config.load_config(repo).benchmark_argv(file)`:
the repo's `benchmark` from `.perf-identify.toml` with `{file}` filled in. When the repo has no
config file it is the default command, built here without importing `repo_config`, whose
validation needs pydantic, which an offline identification otherwise never loads. A config file
that exists but is broken still stops the run with `repo_config`'s error, before anything is
written.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

CONFIG_NAME = ".perf-identify.toml"
FILE_PLACEHOLDER = "{file}"
DEFAULT_BENCHMARK = "./target/release/santa-cli {file}"


def benchmark_argv(repo: Path, file: str) -> list[str]:
    """The benchmark command for `file` in `repo` (see the module docstring)."""
    if not os.path.lexists(repo / CONFIG_NAME):
        return [word.replace(FILE_PLACEHOLDER, file) for word in shlex.split(DEFAULT_BENCHMARK)]
    from perf_identify.repo_config import load_config

    return load_config(repo).benchmark_argv(file)
