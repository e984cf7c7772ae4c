"""The model drafter's settings and price table: plain data, cheap to import.

Contract: `LlmSettings` carries everything `llm_drafter.LlmDrafter` needs from the command line
and the environment (the API key is kept out of its repr). `estimate_cost(...)` turns token
counts into US dollars from `PRICES`, a small table of list prices per model family; it is an
estimate (prices change, and batch or priority tiers are not modelled) and returns None for a
model whose family is not in the table. This module imports nothing heavy, so the CLI can show
the defaults in `--help` without loading the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MODEL = "claude-sonnet-5-5"
"""A current Sonnet-class model, as named in the installed SDK's model literals."""
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_RETRIES = 2
NO_KEY_NOTICE = "no ANTHROPIC_API_KEY; drafting offline"


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    """Writing the prompt cache (5-minute TTL)."""
    cache_read: float


# List prices per family when this table was written; the family is found in the model name.
PRICES: dict[str, Price] = {
    "opus": Price(input=5.00, output=25.00, cache_write=6.25, cache_read=0.50),
    "sonnet": Price(input=3.00, output=15.00, cache_write=3.75, cache_read=0.30),
    "haiku": Price(input=1.00, output=5.00, cache_write=1.25, cache_read=0.10),
}


def price_for(model: str) -> Price | None:
    lowered = model.lower()
    for family, price in PRICES.items():
        if family in lowered:
            return price
    return None


def estimate_cost(
    model: str, *, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int
) -> float | None:
    """Estimated US dollars for these token counts, or None when the model's price is unknown."""
    price = price_for(model)
    if price is None:
        return None
    return (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_write * price.cache_write
        + cache_read * price.cache_read
    ) / 1_000_000


@dataclass(frozen=True, slots=True)
class LlmSettings:
    api_key: str = field(repr=False)
    model: str = DEFAULT_MODEL
    concurrency: int = DEFAULT_CONCURRENCY
    token_budget: int | None = None
    """Stop calling the model once this many tokens (in, out, cache read and write) are spent."""
    timeout_s: float = DEFAULT_TIMEOUT_S
    """The SDK's timeout for one HTTP attempt."""
    max_retries: int = DEFAULT_MAX_RETRIES
    """The SDK's retries of 408/409/429/5xx/529 and connection errors, per call."""
    cache_dir: Path | None = None
    """Where accepted drafts are cached; None bypasses the cache (`--no-cache`)."""
    log_path: Path | None = None
    base_url: str | None = None
    """None: the SDK's choice (ANTHROPIC_BASE_URL, else the public API)."""
