"""Shared test switches and paths.

`--update-golden` rewrites golden files instead of comparing against them. The real profiles
recorded from the Blitzen VM live outside the repo, in `../shared/fixtures/blitzen`; tests that
need them skip with a loud reason when that folder is absent (and fail under CI, where it must be).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures" / "blitzen"


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
