"""Shared test switches and paths.

`--update-golden` rewrites golden files instead of comparing against them. The real profiles
recorded from the Blitzen VM live outside the repo, in `../shared/fixtures/blitzen`, and the
Blitzen source with its offline build script in `../shared/blitzen`; tests that need either skip
with a loud reason when it is absent (and fail under CI, where it must be).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "blitzen"
SHARED_BLITZEN = REPO_ROOT.parent / "shared" / "blitzen"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files under tests/golden/ from the current output",
    )


@pytest.fixture(autouse=True)
def _no_real_model_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches the real Anthropic API: no key, and a base URL nothing listens on.

    Tests that draft with a model set both to a `tests.fake_messages_server` instance.
    """
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")


@pytest.fixture(autouse=True)
def _internal_error_logs_stay_in_the_test(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A bug a test triggers through the CLI logs its traceback under a temporary state folder,
    never into the developer's real `~/.local/state`."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="session")
def _session_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def _caches_stay_in_the_test_session(
    monkeypatch: pytest.MonkeyPatch, _session_cache_home: Path
) -> None:
    """verify's baseline builds go under a temporary `XDG_CACHE_HOME`, never the developer's
    `~/.cache`. One folder for the whole session, so tests that verify one repo several times
    reuse its baseline build, as a user's repeated verifies do (each repo has its own folder)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache_home))


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """The real Blitzen fixtures; skipped loudly when absent, an error under CI."""
    if not SHARED_FIXTURES.is_dir():
        message = f"real Blitzen fixtures not found at {SHARED_FIXTURES} (../shared is absent)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_FIXTURES


@pytest.fixture(scope="session")
def blitzen_source() -> Path:
    """The read-only Blitzen folder (`build.sh`, `src/`); skipped when absent, an error under CI.

    Never write into it: copy what a test needs (`blitzen_source_copy`) or build from it.
    """
    if not (SHARED_BLITZEN / "src" / "lang" / "src" / "vm" / "runtime.rs").is_file():
        message = f"the Blitzen VM source was not found at {SHARED_BLITZEN} (../shared is absent)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_BLITZEN


@pytest.fixture(scope="session")
def blitzen_source_copy(blitzen_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable copy of the Blitzen checkout (`src/`, about 2 MB of source), made once a session.

    The profiles in `shared_fixtures` were recorded from this source, so their VM frames resolve
    against it. Tests may write into the copy (issue files, profiles) but not change its sources.
    """
    copy = tmp_path_factory.mktemp("blitzen") / "santa-lang-blitzen"
    shutil.copytree(blitzen_source / "src", copy, symlinks=True)
    for path in [copy, *copy.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return copy
