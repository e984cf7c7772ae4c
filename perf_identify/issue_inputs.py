"""Everything `brief` and `draft` know about one issue, read from disk (the shell side).

Contract: `load_issue(path, repo, with_facts=...)` reads only the issue file, its sidecar, the
repo's source (the issue's File, related functions' files, the benchmark program) and, for the
full facts, the profile the sidecar names; it writes nothing. Every repo file it reads, and every
file it asks about, goes through `files` (`ports.RepoFiles`), so `brief` can record what a brief
was built from (`brief_cache.py`). It returns `IssueInputs`:

* the parsed document and its exact bytes (so `draft` can refuse to write over a hand edit);
* the `IssueScope` a draft is held to: the function as the file names it, its extent in the
  source as it is now, the file's share (`issue_facts.issue_scope`);
* with `with_facts`, the `HotspotFacts` identification computed, rebuilt from the profile when
  it is still there and its sha256 is the sidecar's (`issue_facts.rebuild_facts`); otherwise
  `facts` is None and `missing` says why (no sidecar, the profile gone or changed, …), and a
  brief is built from the issue file and the source alone.

Expected failures: an issue file that is missing or does not parse is an `IssueFileError`
(exit 9); its File outside the repo, absent, or no longer holding its Function is a
`SourceError` (exit 5). A broken sidecar or profile is not an error here: it is a reason in
`missing`, because the issue file and the source are enough to draft from.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from perf_identify.errors import PerfIdentifyError, SourceError, VerifyError
from perf_identify.facts import HotspotFacts
from perf_identify.issue_facts import (
    DEFAULT_MIN_PERCENT,
    DEFAULT_SOURCE_ROOT,
    IssueInputs,
    Rebuilt,
    RelatedSection,
    ScopeProblem,
    issue_scope,
    rebuild_facts,
    related_section,
)
from perf_identify.issue_update import read_document
from perf_identify.ports import LOCAL_REPO_FILES, RepoFiles
from perf_identify.render import IssueDocument
from perf_identify.repo_files import PROFILE_CAP, SOURCE_CAP
from perf_identify.sidecar import IdentificationFacts, issue_sidecar_path, read_sidecar

__all__ = ["IssueInputs", "load_issue"]


def _read_text(repo: Path, relative: str, files: RepoFiles) -> str | None:
    """The text of `repo/relative`, or None: outside the repo (`..`, an absolute path, a link
    out of it: `RepoFiles.read_in_repo` refuses those, as an issue file is text anyone can
    edit), absent, or not a regular file under the cap (a FIFO, a 2 GB file)."""
    try:
        return files.read_in_repo(repo, relative, SOURCE_CAP).decode("utf-8", errors="replace")
    except OSError:
        return None


def load_issue(
    path: Path, repo: Path, *, with_facts: bool = True, files: RepoFiles = LOCAL_REPO_FILES
) -> IssueInputs:
    """Read one issue and what backs it; see the module docstring."""
    document, original = read_document(path)
    try:
        sidecar = read_sidecar(issue_sidecar_path(path))
        sidecar_problem = ""
    except VerifyError as exc:
        sidecar, sidecar_problem = None, exc.message
    source_text = _read_text(repo, document.file, files)
    if source_text is None:
        raise SourceError(
            f"{path}: its File {document.file} is not in {repo}",
            hint="run in the VM checkout the issue was identified in, or pass --repo DIR",
        )
    symbol = sidecar.symbol if sidecar is not None else None
    scope = issue_scope(document, source_text, symbol)
    if isinstance(scope, ScopeProblem):
        raise SourceError(
            f"{path}: {scope.reason}",
            hint="rerun perf-identify on the benchmark to identify the hotspot in the current "
            "source",
        )
    profile_path = _profile_path(repo, sidecar)
    facts: HotspotFacts | None = None
    missing = ""
    related: tuple[RelatedSection, ...] = ()
    if with_facts:
        rebuilt = _rebuild(path, repo, document, source_text, sidecar, sidecar_problem, files)
        if isinstance(rebuilt, str):
            missing = rebuilt
        else:
            facts = rebuilt.facts
            sections = (
                related_section(item, _read_text(repo, item.file, files))
                for item in rebuilt.related
            )
            related = tuple(section for section in sections if section is not None)
    benchmark = _read_text(repo, document.benchmark_file, files)
    return IssueInputs(
        path=path,
        repo=repo,
        document=document,
        original=original,
        sidecar=sidecar,
        sidecar_problem=sidecar_problem,
        source_text=source_text,
        scope=scope,
        facts=facts,
        missing=missing,
        related=related,
        benchmark_source=benchmark,
        profile_path=profile_path,
    )


def _profile_path(repo: Path, sidecar: IdentificationFacts | None) -> Path | None:
    if sidecar is None:
        return None
    recorded = Path(sidecar.profile_path)
    return recorded if recorded.is_absolute() else repo / recorded


def _rebuild(  # noqa: PLR0917 - the pieces `load_issue` has already read
    path: Path,
    repo: Path,
    document: IssueDocument,
    source_text: str,
    sidecar: IdentificationFacts | None,
    sidecar_problem: str,
    files: RepoFiles,
) -> Rebuilt | str:
    """The rebuilt facts, or why they cannot be rebuilt (one phrase for the brief)."""
    if sidecar is None:
        return sidecar_problem or (
            f"there is no sidecar ({issue_sidecar_path(path)}), so the profile is unknown"
        )
    profile_path = _profile_path(repo, sidecar)
    assert profile_path is not None
    try:
        data = files.read_regular(profile_path.resolve(), PROFILE_CAP)
    except OSError as exc:
        return f"the profile {profile_path} cannot be read ({exc.strerror or exc})"
    if hashlib.sha256(data).hexdigest() != sidecar.profile_sha256:
        return f"the profile {profile_path} changed since identification (its sha256 differs)"
    from perf_identify.pprof import decode_profile

    try:
        profile = decode_profile(data, str(profile_path))
    except PerfIdentifyError as exc:
        return f"the profile {profile_path} does not decode ({exc.message})"
    root = sidecar.source_root or DEFAULT_SOURCE_ROOT
    return rebuild_facts(
        document,
        path.stem,
        profile,
        source_text,
        sidecar.symbol,
        root,
        sidecar.min_percent if sidecar.min_percent is not None else DEFAULT_MIN_PERCENT,
        lambda relative: files.is_file(repo / relative),
    )
