"""The prompt templates shipped with the package, read from `perf_identify/prompts/`.

Contract: `load_templates()` reads every file of `prompting.TEMPLATE_FILES` and `VERSION` from
the package's resources and returns them as `PromptTemplates`. It imports neither the SDK nor
pydantic, so `perf-identify brief` (which states the same rules as the model's prompt) stays
as quick to start as the rest of the CLI.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perf_identify.prompting import PromptTemplates


def load_templates() -> PromptTemplates:
    """The prompt templates shipped with the package (`perf_identify/prompts/`)."""
    from perf_identify.prompting import TEMPLATE_FILES, PromptTemplates

    folder = resources.files("perf_identify") / "prompts"
    texts = {name: (folder / name).read_text(encoding="utf-8") for name in TEMPLATE_FILES}
    return PromptTemplates.from_texts((folder / "VERSION").read_text(encoding="utf-8"), texts)


def load_draft_schema() -> dict[str, Any]:
    """The JSON schema of `schema.Draft`, as shipped (`prompts/draft_schema.json`): read, not
    generated, so `brief --json` needs no pydantic. A test holds it equal to the model's."""
    folder = resources.files("perf_identify") / "prompts"
    schema: dict[str, Any] = json.loads((folder / "draft_schema.json").read_text(encoding="utf-8"))
    return schema


def templates_version() -> str:
    """The templates' VERSION alone (what a cached brief is keyed by)."""
    return (resources.files("perf_identify") / "prompts" / "VERSION").read_text(encoding="utf-8")
