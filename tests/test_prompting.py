"""Prompt construction (pure) and the prompt templates shipped with the package."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from perf_identify import prompting
from perf_identify.llm_drafter import draft_schema, load_templates
from perf_identify.pprof import ProfileKind
from tests.builders import VM_ROOT, ProfileBuilder
from tests.conftest import REPO_ROOT
from tests.fake_vm import BENCHMARK, FAKE_VM, fake_vm_facts

PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]


def test_templates_ship_with_the_package_and_carry_a_version() -> None:
    templates = load_templates()
    assert re.fullmatch(r"\d+", templates.version)
    packaged = Path(str(prompting.__file__)).parent / "prompts"
    for name in (*prompting.TEMPLATE_FILES, "VERSION"):
        # The top-level prompts/ folder is the one the package reads (through a symlink).
        assert (packaged / name).read_text() == (REPO_ROOT / "prompts" / name).read_text()
    assert "numbers are ours and final" in templates.system


def test_shared_prefix_is_identical_for_every_hotspot_and_marked_for_caching() -> None:
    templates = load_templates()
    facts = [f for f, _ in fake_vm_facts()]
    source = (FAKE_VM / BENCHMARK).read_text()
    blocks = prompting.system_blocks(templates, facts, source)
    assert [b.get("cache_control") for b in blocks] == [None, {"type": "ephemeral"}]
    assert blocks[0]["text"] == templates.system.strip()
    prefix = blocks[1]["text"]
    assert 'read("aoc://2018/5")' in prefix  # the benchmark program itself
    assert "- #1 VM::index_op (lang/src/vm/runtime.rs): 91.0% of runtime" in prefix
    assert "- #4 VM::push (lang/src/vm/runtime.rs): 2.0% of runtime" in prefix
    # Nothing per-hotspot in the prefix: the function's source comes in the user turn.
    assert "graphemes(true)" not in prefix


def test_hotspot_turn_has_our_figures_and_the_numbered_function() -> None:
    templates = load_templates()
    facts, lines = fake_vm_facts()[0]
    text = prompting.hotspot_text(templates, facts)
    assert text.startswith("# Hotspot #1: VM::index_op")
    assert "Attributed share of runtime: 91.0%" in text
    assert "lines 66-85" in text
    assert "hint::select_unpredictable (85.0%)" in text
    assert "VM::execute_until (91.0%) <- VM::call_closure_sync (91.0%)" in text
    assert f"Line to cite: {facts.line.line} (" in text
    numbered = f"{facts.line.line:>5} | {lines[facts.line.line - 1]}"
    assert numbered in text
    assert "$" not in text.replace("${", "")  # every placeholder was filled


def test_per_address_profiles_show_per_line_shares() -> None:
    builder = ProfileBuilder(per_function=False)
    runtime = f"{VM_ROOT}/runtime.rs"
    index_op = ("lang::vm::runtime::VM::index_op", runtime, 72)
    caller = ("lang::vm::runtime::VM::execute_until", runtime, 40)
    builder.sample([index_op, caller], 90)
    builder.sample([("lang::vm::runtime::VM::index_op", runtime, 73), caller], 10)
    pairs = fake_vm_facts(builder.build())
    facts = pairs[0][0]
    assert facts.context.kind is ProfileKind.PER_ADDRESS
    text = prompting.hotspot_text(load_templates(), facts)
    assert "line number, that line's share of all samples, code" in text
    assert re.search(r"^\s+72\s+90\.0% \|", text, re.MULTILINE), text


def test_long_programs_are_cut_at_a_line_boundary() -> None:
    program = "\n".join(f"let x{i} = {i};" for i in range(5000))
    cut = prompting.truncate_lines(program, 1000, "program")
    assert len(cut) < 1100
    assert cut.splitlines()[-1].startswith("... (")
    assert cut.splitlines()[-2].startswith("let x")
    facts = [f for f, _ in fake_vm_facts()]
    blocks = prompting.system_blocks(load_templates(), facts, program)
    assert len(blocks[1]["text"]) < prompting.BENCHMARK_CHAR_BUDGET + 2000
    unreadable = prompting.system_blocks(load_templates(), facts, None)
    assert "could not be read" in unreadable[1]["text"]


def test_retry_turn_lists_exactly_what_was_wrong() -> None:
    templates = load_templates()
    facts, _ = fake_vm_facts()[0]
    problems = ["evidence line 3 is outside VM::index_op", "description: too short"]
    retry = prompting.retry_text(templates, facts, problems)
    assert "- evidence line 3 is outside VM::index_op\n- description: too short" in retry
    assert "lines 66-85" in retry
    turns = prompting.messages("first", '{"bad": 1}', retry)
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert prompting.messages("first") == [{"role": "user", "content": "first"}]


def test_cache_key_covers_version_model_facts_and_source() -> None:
    templates = load_templates()
    pairs = fake_vm_facts()
    facts = [f for f, _ in pairs]
    system = prompting.system_blocks(templates, facts, "a program")
    first = prompting.hotspot_text(templates, facts[0])
    schema = draft_schema()
    key = prompting.cache_key("1", "m", system, first, schema)
    assert key == prompting.cache_key("1", "m", list(system), first, schema)
    other_source = prompting.system_blocks(templates, facts, "another program")
    variants = {
        prompting.cache_key("2", "m", system, first, schema),
        prompting.cache_key("1", "n", system, first, schema),
        prompting.cache_key("1", "m", other_source, first, schema),
        prompting.cache_key("1", "m", system, first.replace("91.0%", "90.9%"), schema),
        prompting.cache_key("1", "m", system, first, {**schema, "title": "Other"}),
    }
    assert key not in variants
    assert len(variants) == 5


def test_the_wheel_contains_the_prompts(tmp_path: Path) -> None:
    # Build from a copy, so the build leaves nothing in the working tree.
    tree = tmp_path / "src"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, tree / name)
    for folder in ("perf_identify", "prompts"):
        shutil.copytree(
            REPO_ROOT / folder,
            tree / folder,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    result = subprocess.run(
        [*PIP_WHEEL, "-w", str(tmp_path / "dist"), str(tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "No module named pip" in result.stderr:
        pytest.skip("pip is not installed in this interpreter")
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (*prompting.TEMPLATE_FILES, "VERSION"):
        assert f"perf_identify/prompts/{name}" in names
