"""The one spelling of an issues folder's `.perf-identify` state folder, and its parts.

Paths only: nothing here touches the disk (writes go through `issues_dir.safe_dir`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".perf-identify"
LOCK_DIR = STATE_DIR  # the old name, kept for callers outside this package's owners
LOCK_FILE = "lock"
ISSUE_LOCKS = "locks"


BASELINE_LOCK_FILE = "baseline.json.lock"


@dataclass(frozen=True, slots=True)
class StateLayout:
    """The one place that spells the `.perf-identify` folder of an issues folder.

    `out_dir/.perf-identify/` holds `lock` (the folder's lock), `locks/NAME.lock` (one issue's),
    `logs/` (make, drafting and verify logs), `issues/NAME.json` (sidecars), `drafts/` (agent
    drafts), `briefs/NAME.KIND.json` (cached briefs), `verify/NAME.json` (a verify's raw times)
    and `locks/baseline.json.lock`.
    Paths only: nothing here touches the disk (writes go through `safe_dir`).
    """

    out_dir: Path

    @classmethod
    def of_issue(cls, issue_path: Path) -> StateLayout:
        """The layout of the folder that holds `issue_path` (`perf-issues/NAME.txt`)."""
        return cls(issue_path.parent)

    @property
    def state_dir(self) -> Path:
        return self.out_dir / STATE_DIR

    @property
    def lock(self) -> Path:
        return self.state_dir / LOCK_FILE

    def issue_lock(self, name: str) -> Path:
        return self.state_dir / ISSUE_LOCKS / f"{name}.lock"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    def sidecar(self, name: str) -> Path:
        return self.state_dir / "issues" / f"{name}.json"

    @property
    def drafts(self) -> Path:
        return self.state_dir / "drafts"

    def brief(self, name: str, kind: str) -> Path:
        """The cached brief of issue `name` (`kind`: text or json; see `brief_cache.py`)."""
        return self.state_dir / "briefs" / f"{name}.{kind}.json"

    def verify_record(self, name: str) -> Path:
        """Raw times and decisions of the last `verify` of issue `name`."""
        return self.state_dir / "verify" / f"{name}.json"

    @property
    def baseline_lock(self) -> Path:
        """The lock of the repo's baseline JSON, beside the issue locks (no issue name has a
        dot, so it can never be one of theirs)."""
        return self.state_dir / ISSUE_LOCKS / BASELINE_LOCK_FILE
