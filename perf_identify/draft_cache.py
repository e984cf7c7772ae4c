"""On-disk cache of accepted model drafts, so a rerun on unchanged code makes no call.

Contract: `DraftCache(folder)` stores one JSON file per key (`<key>.json`, the key being
`prompting.cache_key`: a hash of the prompt version, the model, the facts, the sources and the
output schema). `store` writes atomically (a temp file in the same folder, fsynced, renamed
over the target), so a crash leaves the old entry or the new one, never half of one. `load`
returns None for a missing entry and for any entry that is not what `store` writes (bad JSON,
another key, a draft that no longer passes the schema): a corrupt entry is a cache miss, never
an error. The caller still checks a loaded draft against the facts before using it. Only
drafts are stored: no prompt, no header, no key.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from perf_identify.drafts import CheckedDraft
from perf_identify.schema import Draft

FORMAT = 1


class DraftCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> CheckedDraft | None:
        try:
            data = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            return None
        try:
            return Draft.model_validate(data.get("draft")).checked()
        except ValidationError:
            return None

    def store(self, key: str, draft: CheckedDraft, *, model: str, prompt_version: str) -> None:
        """Write the entry atomically; raises OSError when the folder is not writable."""
        self.folder.mkdir(parents=True, exist_ok=True)
        entry = {
            "format": FORMAT,
            "key": key,
            "model": model,
            "prompt_version": prompt_version,
            "draft": draft.to_json(),
        }
        fd, temp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle, indent=2, sort_keys=True)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path(key))
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
