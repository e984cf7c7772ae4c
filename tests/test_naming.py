"""Every naming rule, on hand-made hotspots: one place, one 60-character limit."""

from __future__ import annotations

from perf_identify.classify import DETAILS
from perf_identify.hotspots import Hotspot, Share
from perf_identify.naming import (
    MAX_NAME_LENGTH,
    UNREADABLE,
    FolderEntry,
    FolderNames,
    assign_names,
    fit_name,
    issue_name,
    operation_token,
    previous_detail,
)

VM = "lang::vm::runtime::VM"
BENCH = "examples/aoc2018_day05.santa"


def _hotspot(symbol: str, sites: list[tuple[str, int]], *, tiny: bool, value: int = 100) -> Hotspot:
    shares = tuple(Share(name, v, float(v)) for name, v in sites)
    return Hotspot(
        rank=1, symbol=symbol, file="lang/src/vm/runtime.rs", recorded_file="",
        source_exists=True, value=value, share_percent=float(value), flat=0, cum=value,
        self_value=value, leaves=(), chain=(), below=(), callers=shares, call_sites=shares,
        tiny_helper=tiny,
    )  # fmt: skip


def test_fit_name_cuts_at_an_underscore_within_the_limit() -> None:
    long = "PERSISTENT_COPY_ON_WRITE_VIA_SOMETHING_IN_BUILTIN_UPDATE_DICT_ENTRIES"
    fitted = fit_name(long)
    assert len(fitted) <= MAX_NAME_LENGTH
    assert long.startswith(fitted)
    assert not fitted.endswith("_")
    assert long[len(fitted)] == "_"


def test_generic_method_names_carry_their_type() -> None:
    assert operation_token(f"{VM}::index_op") == "INDEX_OP"
    assert operation_token("lang::vm::value::Value::new") == "VALUE_NEW"
    assert operation_token("<lang::vm::value::Value as core::fmt::Display>::fmt") == "VALUE_FMT"
    assert operation_token("<lang::vm::value::Value as core::clone::Clone>::clone") == "CLONE"


def test_a_helper_named_like_its_caller_is_named_once() -> None:
    read_byte = _hotspot(
        "lang::vm::runtime::CallFrame::read_byte", [(f"{VM}::read_byte", 90)], tiny=True
    )
    assert issue_name(read_byte, "INSTRUCTION_FETCH") == "INSTRUCTION_FETCH_IN_READ_BYTE"
    via = _hotspot(f"{VM}::pop", [(f"{VM}::binary_mod", 90)], tiny=True)
    assert issue_name(via, "VALUE_COPY") == "VALUE_COPY_VIA_POP_IN_BINARY_MOD"
    assert issue_name(via, "STACK_POP") == "STACK_POP_IN_BINARY_MOD"


def test_a_name_never_repeats_its_detail() -> None:
    clone = "<lang::vm::value::Value as core::clone::Clone>::clone"
    spread = _hotspot(clone, [(f"{VM}::index_op", 40), (f"{VM}::run", 35)], tiny=True)
    assert issue_name(spread, "VALUE_CLONE") == "VALUE_CLONE_FROM_INDEX_OP"
    alone = _hotspot(clone, [], tiny=True)
    assert issue_name(alone, "VALUE_CLONE") == "VALUE_CLONE"


def test_previous_detail_reads_the_longest_matching_detail_back() -> None:
    assert previous_detail("STRING_GRAPHEME_COLLECT_IN_INDEX_OP", DETAILS) == (
        "STRING_GRAPHEME_COLLECT"
    )
    assert previous_detail("HASH_LOOKUP_IN_LOAD_GLOBAL", DETAILS) == "HASH_LOOKUP"
    assert previous_detail("MY_OWN_NAME", DETAILS) is None


def test_assign_names_keeps_reruns_and_never_takes_another_files_name() -> None:
    ours = (BENCH, "lang/src/vm/runtime.rs", "VM::index_op")
    theirs = (BENCH, "lang/src/vm/runtime.rs", "VM::run")
    folder = FolderNames.of(
        [
            FolderEntry("OLD_INDEX_NAME", ours, 72, identified=True),
            FolderEntry("BYTECODE_DISPATCH_IN_RUN", theirs, 10, identified=True),
            FolderEntry("BROKEN", UNREADABLE),
        ]
    )
    other = (BENCH, "lang/src/vm/value.rs", "<Value as Clone>::clone")
    third = ("examples/other.santa", "lang/src/vm/runtime.rs", "VM::run")
    names = assign_names(
        [ours, other, third, (BENCH, "x.rs", "f")],
        ["NEW_INDEX_NAME", "BROKEN", "BYTECODE_DISPATCH_IN_RUN", "VALUE_CLONE"],
        folder,
    )
    assert names[0] == "OLD_INDEX_NAME"  # a rerun keeps its file
    assert names[1] == "BROKEN_AOC2018_DAY05"  # an unreadable file's name is not ours
    assert names[2] == "BYTECODE_DISPATCH_IN_RUN_OTHER"  # another benchmark's hotspot
    assert names[3] == "VALUE_CLONE"
