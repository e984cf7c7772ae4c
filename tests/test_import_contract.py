"""The import contract: the pure core touches no process, network, environment or shell module.

HOUSE_STYLE keeps decoding, ranking, attribution, naming, prompting and rendering free of I/O so
that they can be tested with plain values; this test is what keeps that true as the code grows.
It reads the source with `ast` (nothing is imported) and checks, for every core module and every
perf_identify module it reaches at run time:

* no `import subprocess` / `socket` / the SDK (`anthropic`), at any depth in the module;
* no use of `os.environ`, `os.getenv`, `os.putenv`, `os.system` or `os.popen`;
* no import of a shell module (below).

Imports under `if TYPE_CHECKING:` are left out: they never run, and a core value may well be
typed with a shell module's model.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "perf_identify"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE

CORE = (
    "attribution",
    "briefing",
    "change_interval",
    "classify",
    "drafts",
    "facts",
    "fix_sites",
    "grounding",
    "hotspots",
    "naming",
    "offline_drafter",
    "packed_samples",
    "peek",
    "plain_ranking",
    "pprof",
    "prompting",
    "ranking",
    "render",
    "runtime_figure",
    "sample_counts",
    "sampling",
    "source",
    "staleness",
    "state_layout",
    "symbols",
    "timing_plan",
)

SHELL = frozenset(
    {
        "benchmark_command",
        "benchmark_file",
        "brief_cache",
        "cli",
        "gitrepo",
        "issue_update",
        "issues_dir",
        "llm_drafter",
        "make_targets",
        "pipeline",
        "ports",
        "processes",
        "record",
        "repo_files",
        "runner",
        "sidecar",
        "stack_symbols",
        "timing",
        "verification",
    }
)
"""Modules that start processes, read the environment or write files (plus `commands.*`)."""

FORBIDDEN_IMPORTS = frozenset({"subprocess", "socket", "anthropic"})
FORBIDDEN_OS = frozenset({"environ", "getenv", "putenv", "system", "popen"})


def _module_path(name: str) -> Path | None:
    """`perf_identify.a.b` -> its file, or None outside the package (or not on disk)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node that can run, skipping the bodies of `if TYPE_CHECKING:`."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _imports(module: str, tree: ast.AST) -> Iterator[str]:
    """Fully qualified names of what `module` imports at run time (`from p import m` gives
    `p.m` as well as `p`, since `m` may be a submodule)."""
    # The package relative imports start from: the module itself for an `__init__.py`.
    is_package = _module_path(module) == PACKAGE_DIR.joinpath(*module.split(".")[1:], "__init__.py")
    package = module if is_package else module.rsplit(".", 1)[0]
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _os_uses(tree: ast.AST) -> Iterator[str]:
    for node in _runtime_nodes(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in FORBIDDEN_OS
        ):
            yield f"os.{node.attr}"
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            yield from (f"os.{a.name}" for a in node.names if a.name in FORBIDDEN_OS)


def _is_shell(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == PACKAGE and len(parts) > 1 and (parts[1] in SHELL or parts[1] == "commands")


def _problems(root: str) -> list[str]:
    """What `root` and every package module it reaches at run time break of the contract."""
    problems: list[str] = []
    seen: set[str] = set()
    todo = [f"{PACKAGE}.{root}"]
    while todo:
        module = todo.pop()
        path = _module_path(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name in set(_imports(module, tree)):
            top = name.split(".")[0]
            if top in FORBIDDEN_IMPORTS:
                problems.append(f"{module} imports {name}")
            elif _is_shell(name):
                problems.append(f"{module} imports the shell module {name}")
            elif _module_path(name) is not None:
                todo.append(name)
        problems.extend(f"{module} uses {use}" for use in sorted(set(_os_uses(tree))))
    return sorted(set(problems))


def test_every_core_module_exists() -> None:
    missing = [name for name in CORE if _module_path(f"{PACKAGE}.{name}") is None]
    assert missing == []


@pytest.mark.parametrize("module", CORE)
def test_core_module_reaches_no_process_environment_network_or_shell(module: str) -> None:
    assert _problems(module) == []


def test_the_checker_catches_what_it_is_for(tmp_path: Path) -> None:
    source = (
        "import os\nimport subprocess\nfrom perf_identify import runner\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from perf_identify.sidecar import X\n"
        "def f():\n    return os.environ['A']\n"
    )
    tree = ast.parse(source)
    names = set(_imports("perf_identify.example", tree))
    assert "subprocess" in names
    assert any(_is_shell(name) for name in names)
    assert "perf_identify.sidecar" not in names
    assert list(_os_uses(tree)) == ["os.environ"]
