"""The prompt templates shipped with the package, read from `perf_identify/prompts/`.

Contract: `load_templates()` reads every file of `prompting.TEMPLATE_FILES` and `VERSION` from
the package's resources and returns them as `PromptTemplates`. It imports neither the SDK nor
pydantic, so `perf-identify brief` (which states the same rules as the model's prompt) stays
as quick to start as the rest of the CLI.
"""

from __future__ import annotations

from importlib import resources

from perf_identify.prompting import TEMPLATE_FILES, PromptTemplates


def load_templates() -> PromptTemplates:
    """The prompt templates shipped with the package (`perf_identify/prompts/`)."""
    folder = resources.files("perf_identify") / "prompts"
    texts = {name: (folder / name).read_text(encoding="utf-8") for name in TEMPLATE_FILES}
    return PromptTemplates.from_texts((folder / "VERSION").read_text(encoding="utf-8"), texts)
