"""Tests for perf_identify.source: symbol parsing, function extents, line choice, excerpts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf_identify.source import (
    FunctionExtent,
    LineChoice,
    SymbolPath,
    choose_line,
    find_function,
    numbered_excerpt,
    parse_symbol,
)

DATA = Path(__file__).parent / "data" / "rust"
RUNTIME = (DATA / "runtime.rs").read_text(encoding="utf-8")
VALUE = (DATA / "value.rs").read_text(encoding="utf-8")
BUILTINS = (DATA / "builtins.rs").read_text(encoding="utf-8")
SOURCES = {"runtime": RUNTIME, "value": VALUE, "builtins": BUILTINS}


def _basic(choice: LineChoice) -> LineChoice:
    """The choice without its candidates and code, which these tests do not state."""
    return LineChoice(choice.line, choice.reason, choice.matched)


def _line(source: str, number: int) -> str:
    return source.split("\n")[number - 1]


def _extent(source: str, symbol: str) -> FunctionExtent:
    extent = find_function(source, symbol)
    assert extent is not None, symbol
    return extent


# --------------------------------------------------------------------------------------------
# parse_symbol


@pytest.mark.parametrize(
    ("symbol", "module", "impl_type", "trait", "fn", "closures"),
    [
        ("lang::vm::runtime::VM::index_op", ("lang", "vm", "runtime"), "VM", None, "index_op", 0),
        ("lang::vm::value::Value::pop", ("lang", "vm", "value"), "Value", None, "pop", 0),
        (
            "<lang::vm::value::Value as core::clone::Clone>::clone",
            ("lang", "vm", "value"),
            "Value",
            "Clone",
            "clone",
            0,
        ),
        (
            "<lang::vm::value::Value as core::cmp::PartialEq>::eq",
            ("lang", "vm", "value"),
            "Value",
            "PartialEq",
            "eq",
            0,
        ),
        (
            "<lang::vm::value::Value as core::hash::Hash>::hash::<std::hash::DefaultHasher>",
            ("lang", "vm", "value"),
            "Value",
            "Hash",
            "hash",
            0,
        ),
        (
            "lang::vm::runtime::VM::builtin_map::{{closure}}",
            ("lang", "vm", "runtime"),
            "VM",
            None,
            "builtin_map",
            1,
        ),
        (
            "lang::vm::runtime::VM::builtin_map::{{closure}}::{{closure}}",
            ("lang", "vm", "runtime"),
            "VM",
            None,
            "builtin_map",
            2,
        ),
        (
            "lang::vm::runtime::VM::builtin_map::{closure#0}",
            ("lang", "vm", "runtime"),
            "VM",
            None,
            "builtin_map",
            1,
        ),
        (
            "lang::vm::builtins::builtin_fold",
            ("lang", "vm", "builtins"),
            None,
            None,
            "builtin_fold",
            0,
        ),
        ("lang::vm::runtime::VM::call<T>", ("lang", "vm", "runtime"), "VM", None, "call", 0),
        (
            "alloc::vec::Vec<T,A>::extend_desugared",
            ("alloc", "vec"),
            "Vec",
            None,
            "extend_desugared",
            0,
        ),
        (
            "<alloc::vec::Vec<T> as core::iter::traits::collect::FromIterator<T>>::from_iter",
            ("alloc", "vec"),
            "Vec",
            "FromIterator",
            "from_iter",
            0,
        ),
        (
            "<alloc::collections::btree::map::BTreeMap<K, V, A> as core::ops::drop::Drop>::drop",
            ("alloc", "collections", "btree", "map"),
            "BTreeMap",
            "Drop",
            "drop",
            0,
        ),
        # Legacy mangling leaves a hash segment; v0 leaves crate disambiguators.
        (
            "lang::vm::runtime::VM::run::h0123456789abcdef",
            ("lang", "vm", "runtime"),
            "VM",
            None,
            "run",
            0,
        ),
        ("lang[5f3a9c21]::vm::runtime::VM::run", ("lang", "vm", "runtime"), "VM", None, "run", 0),
        ("core::str::<impl str>::chars", ("core", "str"), "str", None, "chars", 0),
        (
            "<F as core::ops::function::FnOnce<(A,)>>::call_once",
            (),
            "F",
            "FnOnce",
            "call_once",
            0,
        ),
        # `->` inside a fn-pointer type must not close an angle bracket.
        (
            "<fn(&lang::Value) -> bool as core::ops::function::Fn<(A,)>>::call",
            (),
            "fn(&lang::Value)->bool",
            "Fn",
            "call",
            0,
        ),
        ("lang::vm::runtime::VM::pop (inlined)", ("lang", "vm", "runtime"), "VM", None, "pop", 0),
        (
            "core::ptr::drop_in_place<lang::vm::value::Value>",
            ("core", "ptr"),
            None,
            None,
            "drop_in_place",
            0,
        ),
        ("main", (), None, None, "main", 0),
    ],
)
def test_parse_symbol(  # noqa: PLR0917 - one argument per parametrized column
    symbol: str,
    module: tuple[str, ...],
    impl_type: str | None,
    trait: str | None,
    fn: str,
    closures: int,
) -> None:
    parsed = parse_symbol(symbol)
    assert parsed == SymbolPath(symbol, module, impl_type, trait, fn, closures)
    assert parsed.is_method == (impl_type is not None)


@pytest.mark.parametrize(
    "symbol", ["", "   ", "Unknown", "0x7f3a2b10", "::", "<>", "<<<", "{{closure}}", "a::b::1x"]
)
def test_parse_symbol_names_nothing_for_odd_input(symbol: str) -> None:
    assert parse_symbol(symbol).fn_name == ""


def test_symbol_path_is_frozen() -> None:
    parsed = parse_symbol("lang::vm::runtime::VM::pop")
    with pytest.raises(AttributeError):
        parsed.fn_name = "push"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# find_function: extents


@pytest.mark.parametrize(
    ("source", "symbol", "display", "start", "end", "impl_type", "trait"),
    [
        ("runtime", "lang::vm::runtime::VM::index_op", "VM::index_op", 92, 110, "VM", None),
        ("runtime", "lang::vm::runtime::VM::pop", "VM::pop", 50, 53, "VM", None),
        ("value", "lang::vm::value::Value::pop", "Value::pop", 31, 36, "Value", None),
        ("runtime", "lang::vm::runtime::Stack<T>::pop", "Stack::pop", 33, 35, "Stack", None),
        # After the doc comment (line 39) and `#[must_use]` (line 40).
        ("runtime", "lang::vm::runtime::VM::new", "VM::new", 41, 47, "VM", None),
        # Strings with braces, '{' / '}' chars, a raw string and a block comment with `{`.
        ("runtime", "lang::vm::runtime::VM::run", "VM::run", 61, 90, "VM", None),
        ("runtime", "lang::vm::runtime::VM::call<T>", "VM::call", 128, 133, "VM", None),
        ("runtime", "lang::vm::runtime::VM::lookup", "VM::lookup", 143, 147, "VM", None),
        (
            "runtime",
            "<lang::vm::runtime::VM as core::default::Default>::default",
            "<VM as Default>::default",
            151,
            153,
            "VM",
            "Default",
        ),
        ("runtime", "lang::vm::runtime::disassemble", "disassemble", 156, 158, None, None),
        ("runtime", "lang::vm::runtime::helpers::stack_depth", "stack_depth", 163, 165, None, None),
        (
            "value",
            "<lang::vm::value::Value as core::clone::Clone>::clone",
            "<Value as Clone>::clone",
            40,
            51,
            "Value",
            "Clone",
        ),
        (
            "value",
            "<lang::vm::value::Value as core::cmp::PartialEq>::eq",
            "<Value as PartialEq>::eq",
            55,
            63,
            "Value",
            "PartialEq",
        ),
        (
            "value",
            "<lang::vm::value::Value as core::hash::Hash>::hash",
            "<Value as Hash>::hash",
            69,
            81,
            "Value",
            "Hash",
        ),
        (
            "value",
            "<lang::vm::value::Wrapper as core::fmt::Debug>::fmt",
            "<Wrapper as Debug>::fmt",
            105,
            107,
            "Wrapper",
            "Debug",
        ),
        (
            "value",
            "<lang::vm::value::Wrapper as core::fmt::Display>::fmt",
            "<Wrapper as Display>::fmt",
            111,
            113,
            "Wrapper",
            "Display",
        ),
        # `impl<'a> From<&'a str> for Value`: generics and lifetimes on the impl.
        (
            "value",
            "<lang::vm::value::Value as core::convert::From<&str>>::from",
            "<Value as From>::from",
            130,
            132,
            "Value",
            "From",
        ),
        (
            "value",
            "<lang::vm::value::Value as core::iter::traits::collect::FromIterator<T>>::from_iter",
            "<Value as FromIterator>::from_iter",
            136,
            138,
            "Value",
            "FromIterator",
        ),
        # Not overridden in `impl Describe for Value`: the code is the trait's default body.
        (
            "value",
            "<lang::vm::value::Value as lang::vm::value::Describe>::describe",
            "<Value as Describe>::describe",
            20,
            22,
            "Value",
            "Describe",
        ),
        # No trait in the symbol, but exactly one impl of Value has `hash`.
        ("value", "lang::vm::value::Value::hash", "<Value as Hash>::hash", 69, 81, "Value", "Hash"),
        # Doc comment with a code block containing braces, two attributes, multi-line signature
        # and a `where` clause.
        ("builtins", "lang::vm::builtins::builtin_fold", "builtin_fold", 23, 41, None, None),
        (
            "builtins",
            "lang::vm::builtins::strings::builtin_fold",
            "builtin_fold",
            91,
            93,
            None,
            None,
        ),
        (
            "builtins",
            "lang::vm::builtins::strings::builtin_upper",
            "builtin_upper",
            85,
            89,
            None,
            None,
        ),
        (
            "builtins",
            "lang::vm::builtins::builtin_graphemes",
            "builtin_graphemes",
            43,
            51,
            None,
            None,
        ),
        ("builtins", "lang::vm::builtins::builtin_equal", "builtin_equal", 80, 80, None, None),
    ],
)
def test_find_function_extents(  # noqa: PLR0917 - one argument per parametrized column
    source: str,
    symbol: str,
    display: str,
    start: int,
    end: int,
    impl_type: str | None,
    trait: str | None,
) -> None:
    text = SOURCES[source]
    extent = find_function(text, symbol)
    assert extent == FunctionExtent(display, start, end, start, impl_type, trait)
    assert "fn " in _line(text, start)
    assert _line(text, end).rstrip().endswith("}")


def test_brace_traps_do_not_end_run_early() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::run")
    # The traps really are inside the extent, and the next method starts right after it.
    body = RUNTIME.split("\n")[extent.start_line - 1 : extent.end_line]
    joined = "\n".join(body)
    assert "'{'" in joined
    assert 'r#"fn main() { println!("{}", "}"); "#' in joined
    assert "/* a block comment with an unbalanced brace { */" in joined
    assert _line(RUNTIME, extent.end_line) == "    }"
    assert "pub fn index_op" in _line(RUNTIME, extent.end_line + 2)


def test_closures_map_to_the_enclosing_function() -> None:
    plain = _extent(RUNTIME, "lang::vm::runtime::VM::builtin_map")
    assert (plain.start_line, plain.end_line) == (112, 126)
    assert _extent(RUNTIME, "lang::vm::runtime::VM::builtin_map::{{closure}}") == plain
    assert _extent(RUNTIME, "lang::vm::runtime::VM::builtin_map::{{closure}}::{{closure}}") == plain
    # The closure's own line lies inside the extent.
    assert plain.contains(119)
    assert "|x|" in _line(RUNTIME, 119)


def test_same_method_name_in_different_impl_types() -> None:
    vm_pop = _extent(RUNTIME, "lang::vm::runtime::VM::pop")
    stack_pop = _extent(RUNTIME, "lang::vm::runtime::Stack<T>::pop")
    value_pop = _extent(VALUE, "lang::vm::value::Value::pop")
    assert (vm_pop.display_name, vm_pop.start_line) == ("VM::pop", 50)
    assert (stack_pop.display_name, stack_pop.start_line) == ("Stack::pop", 33)
    assert (value_pop.display_name, value_pop.start_line) == ("Value::pop", 31)
    # Each file only has the impls it has: no borrowing a same-named method from another type.
    assert find_function(VALUE, "lang::vm::runtime::VM::pop") is None
    assert find_function(RUNTIME, "lang::vm::value::Value::pop") is None


@pytest.mark.parametrize(
    ("source", "symbol"),
    [
        ("runtime", "Unknown"),
        ("runtime", ""),
        ("runtime", "   "),
        ("runtime", "lang::vm::runtime::VM::no_such_method"),
        # `index_op` exists, but only in `impl VM`.
        ("runtime", "lang::vm::runtime::Stack<T>::index_op"),
        # A method asked for as a free function, and a free function asked for as a method.
        ("runtime", "lang::vm::runtime::index_op"),
        ("runtime", "lang::vm::runtime::VM::disassemble"),
        # Two trait impls of Wrapper have `fmt` and the symbol names neither: ambiguous.
        ("value", "lang::vm::value::Wrapper::fmt"),
        # `clone` exists for Value, but in `impl Clone`, not in `impl Hash`.
        ("value", "<lang::vm::value::Value as core::hash::Hash>::clone"),
        # Trait methods are not free functions, and `kind` has no body in the trait.
        ("value", "lang::vm::value::describe"),
        ("value", "<lang::vm::value::Other as lang::vm::value::Describe>::kind"),
        ("builtins", "lang::vm::builtins::render"),
    ],
)
def test_find_function_returns_none_instead_of_guessing(source: str, symbol: str) -> None:
    assert find_function(SOURCES[source], symbol) is None


def test_find_function_on_empty_or_broken_source() -> None:
    assert find_function("", "lang::vm::runtime::VM::pop") is None
    # tree-sitter recovers from errors elsewhere in the file, and inside a body.
    ok = _extent("fn ok() -> u8 {\n    1\n}\nfn broken( {\n", "lang::ok")
    assert (ok.start_line, ok.end_line) == (1, 3)
    pop = _extent(
        "impl VM {\n    fn pop(&mut self) {\n        let x = \n    }\n}\n", "lang::VM::pop"
    )
    assert (pop.start_line, pop.end_line) == (2, 4)
    assert find_function("impl VM { fn pop(&mut self) { let x = ", "lang::VM::pop") is None
    assert find_function("}}}} fn {{{{ ''' \"", "lang::f") is None


def test_impl_paths_and_generic_impls() -> None:
    source = (
        "impl std::clone::Clone for Value<'_> {\n"
        "    fn clone(&self) -> Self {\n"
        "        todo!()\n"
        "    }\n"
        "}\n"
        "impl<T: Copy> Foo for Bar<T> {\n"
        "    fn go(&self) {}\n"
        "}\n"
        "impl<'a> VM<'a> {\n"
        "    fn go(&self) {}\n"
        "}\n"
    )
    clone = _extent(source, "<lang::Value as core::clone::Clone>::clone")
    assert (clone.display_name, clone.start_line, clone.end_line) == (
        "<Value as Clone>::clone",
        2,
        4,
    )
    bar = _extent(source, "<lang::Bar<u32> as lang::Foo>::go")
    assert (bar.display_name, bar.start_line) == ("<Bar as Foo>::go", 7)
    vm = _extent(source, "lang::VM::go")
    assert (vm.display_name, vm.start_line, vm.impl_type) == ("VM::go", 10, "VM")


def test_impls_inside_nested_modules() -> None:
    source = (
        "mod outer {\n"
        "    mod inner {\n"
        "        impl super::VM {\n"
        "            fn step(&mut self) {\n"
        "                self.ip += 1;\n"
        "            }\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    extent = _extent(source, "lang::vm::VM::step")
    assert (extent.start_line, extent.end_line, extent.display_name) == (4, 6, "VM::step")


def test_signature_line_differs_when_name_is_on_its_own_line() -> None:
    source = "pub(crate) fn\nweird(x: u8) -> u8 {\n    x\n}\n"
    extent = _extent(source, "lang::weird")
    assert (extent.start_line, extent.signature_line, extent.end_line) == (1, 2, 4)


def test_extent_contains() -> None:
    extent = FunctionExtent("f", 10, 20, 10, None, None)
    assert extent.contains(10)
    assert extent.contains(20)
    assert not extent.contains(9)
    assert not extent.contains(21)


# --------------------------------------------------------------------------------------------
# choose_line


@pytest.mark.parametrize(
    ("source", "symbol", "callees", "line", "matched"),
    [
        # Priority order decides which callee wins, not the order of lines.
        ("runtime", "lang::vm::runtime::VM::index_op", ["graphemes", "collect"], 96, "graphemes"),
        ("runtime", "lang::vm::runtime::VM::index_op", ["to_string", "graphemes"], 97, "to_string"),
        ("runtime", "lang::vm::runtime::VM::index_op", ["nth", "ok_or_else"], 101, "ok_or_else"),
        ("runtime", "lang::vm::runtime::VM::run", ["index_op", "clone"], 83, "index_op"),
        ("runtime", "lang::vm::runtime::VM::run", ["clone", "index_op"], 72, "clone"),
        ("runtime", "lang::vm::runtime::VM::builtin_map", ["call"], 122, "call"),
        ("runtime", "lang::vm::runtime::VM::builtin_map", ["collect"], 124, "collect"),
        ("runtime", "lang::vm::runtime::VM::lookup", ["get"], 146, "get"),
        ("value", "<lang::vm::value::Value as core::hash::Hash>::hash", ["hash"], 70, "hash"),
        ("value", "<lang::vm::value::Value as core::cmp::PartialEq>::eq", ["eq"], 59, "eq"),
        # A nested `fn render(` is a definition, not a call.
        ("builtins", "lang::vm::builtins::builtin_join", ["render"], 75, "render"),
        # `push(` in a comment and in a string literal do not count.
        ("builtins", "lang::vm::builtins::builtin_fold", ["push"], 39, "push"),
        ("builtins", "lang::vm::builtins::builtin_graphemes", ["graphemes"], 48, "graphemes"),
        # Full symbol names are reduced to the function name.
        (
            "runtime",
            "lang::vm::runtime::VM::index_op",
            ["<str as unicode_segmentation::UnicodeSegmentation>::graphemes"],
            96,
            "graphemes",
        ),
    ],
)
def test_choose_line_direct_calls(
    source: str, symbol: str, callees: list[str], line: int, matched: str
) -> None:
    text = SOURCES[source]
    extent = _extent(text, symbol)
    choice = choose_line(text, extent, callees)
    assert _basic(choice) == LineChoice(line, f"first call to `{matched}` in the body", matched)
    assert extent.contains(choice.line)


@pytest.mark.parametrize(
    ("source", "symbol", "callee", "line", "token"),
    [
        ("runtime", "lang::vm::runtime::VM::index_op", "from_iter", 96, "collect"),
        ("runtime", "lang::vm::runtime::VM::builtin_map", "spec_from_iter", 124, "collect"),
        ("runtime", "lang::vm::runtime::VM::builtin_map", "extend_desugared", 124, "collect"),
        ("runtime", "lang::vm::runtime::VM::builtin_map", "spec_extend", 124, "collect"),
        ("runtime", "lang::vm::runtime::VM::index_op", "next_code_point", 96, "graphemes"),
        ("runtime", "lang::vm::runtime::VM::index_op", "next_boundary", 96, "graphemes"),
        ("runtime", "lang::vm::runtime::VM::index_op", "grapheme_category", 96, "graphemes"),
        ("builtins", "lang::vm::builtins::builtin_graphemes", "next_code_point", 47, "chars"),
        # `.get(` is a hash-map probe: the hashing happens there.
        ("runtime", "lang::vm::runtime::VM::run", "hash", 76, "get"),
        ("builtins", "lang::vm::builtins::builtin_counts", "hash", 57, "contains_key"),
        ("builtins", "lang::vm::builtins::builtin_counts", "reserve_rehash", 60, "insert"),
        ("value", "<lang::vm::value::Value as core::clone::Clone>::clone", "clone", 47, "cloned"),
        ("runtime", "lang::vm::runtime::VM::concat_all", "grow_one", 138, "push_str"),
        ("builtins", "lang::vm::builtins::builtin_fold", "reserve", 39, "push"),
        ("builtins", "lang::vm::builtins::builtin_join", "finish_grow", 73, "push"),
        ("builtins", "lang::vm::builtins::builtin_equal", "eq", 80, "=="),
        ("value", "<lang::vm::value::Value as core::cmp::PartialEq>::eq", "ne", 58, "=="),
        ("runtime", "lang::vm::runtime::VM::run", "format_inner", 75, "format!"),
    ],
)
def test_choose_line_aliases(source: str, symbol: str, callee: str, line: int, token: str) -> None:
    text = SOURCES[source]
    extent = _extent(text, symbol)
    choice = choose_line(text, extent, [callee])
    assert _basic(choice) == LineChoice(
        line, f"first use of `{token}` in the body, which reaches `{callee}`", callee
    )


def test_direct_call_beats_alias_of_the_same_callee() -> None:
    # Line 58 has `a == b` (an `eq` alias) but line 59 calls `.eq(` itself.
    extent = _extent(VALUE, "<lang::vm::value::Value as core::cmp::PartialEq>::eq")
    assert choose_line(VALUE, extent, ["eq"]).line == 59


def test_first_callee_matching_anywhere_wins_even_through_an_alias() -> None:
    # `from_iter` (via `.collect(`, line 124) outranks a direct `clone` call on line 121.
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::builtin_map")
    choice = choose_line(RUNTIME, extent, ["from_iter", "clone"])
    assert (choice.line, choice.matched) == (124, "from_iter")


def test_unmatched_callees_fall_through_to_later_ones() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    choice = choose_line(RUNTIME, extent, ["memcpy", "drop_in_place", "collect"])
    assert _basic(choice) == LineChoice(96, "first call to `collect` in the body", "collect")


@pytest.mark.parametrize(
    ("source", "symbol", "callees"),
    [
        # `drop_in_place` never matches, even though nothing else is given.
        ("runtime", "lang::vm::runtime::VM::index_op", ["drop_in_place"]),
        ("runtime", "lang::vm::runtime::VM::index_op", ["nth", "extend_from_slice"]),
        # `main(` and `println!` only appear inside a raw string literal.
        ("runtime", "lang::vm::runtime::VM::run", ["main", "println"]),
        # `Fn(` only appears in the (multi-line) signature, which is not the body.
        ("builtins", "lang::vm::builtins::builtin_fold", ["Fn"]),
        # `extend(` only appears inside a string literal.
        ("builtins", "lang::vm::builtins::builtin_fold", ["extend"]),
        # The function's own name in its signature is not a call.
        ("runtime", "lang::vm::runtime::VM::index_op", ["index_op"]),
    ],
)
def test_choose_line_falls_back_to_signature(source: str, symbol: str, callees: list[str]) -> None:
    text = SOURCES[source]
    extent = _extent(text, symbol)
    assert _basic(choose_line(text, extent, callees)) == LineChoice(
        extent.signature_line,
        "no callee of the hot chain appears in the body; the signature line",
        None,
    )


def test_choose_line_without_callees() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::pop")
    assert _basic(choose_line(RUNTIME, extent, [])) == LineChoice(
        50, "no hot-chain callee was given; the signature line", None
    )


def test_choose_line_one_line_body_on_the_signature_line() -> None:
    extent = _extent(BUILTINS, "lang::vm::builtins::builtin_equal")
    assert choose_line(BUILTINS, extent, ["eq"]).line == 80


def test_line_weights_pick_the_hottest_line_in_the_extent() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    weights = {5: 0.9, 99: 0.1, 100: 0.3, 104: 0.3, 300: 0.5}
    # 5 and 300 are outside the extent; 100 and 104 tie and the lower line wins.
    assert _basic(choose_line(RUNTIME, extent, ["graphemes"], weights)) == LineChoice(
        100, "hottest line in the profile", None
    )


def test_line_weights_report_a_callee_found_on_the_hot_line() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    choice = choose_line(RUNTIME, extent, ["nth", "collect", "graphemes"], {96: 0.4, 97: 0.1})
    assert _basic(choice) == LineChoice(96, "hottest line in the profile", "collect")


@pytest.mark.parametrize("weights", [{}, {1: 0.5, 500: 0.5}, {100: 0.0}])
def test_line_weights_without_usable_lines_fall_back_to_callees(weights: dict[int, float]) -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    choice = choose_line(RUNTIME, extent, ["graphemes"], weights)
    assert _basic(choice) == LineChoice(96, "first call to `graphemes` in the body", "graphemes")


def test_choose_line_with_an_extent_from_another_file_stays_inside_it() -> None:
    extent = _extent(VALUE, "<lang::vm::value::Value as core::clone::Clone>::clone")
    choice = choose_line("fn unrelated() {}\n", extent, ["clone"])
    assert choice.line == extent.signature_line
    assert choice.matched is None


def test_multibyte_text_and_crlf_keep_lines_right() -> None:
    source = (
        "impl VM {\r\n"
        "    fn greet(&self) -> usize {\r\n"
        '        let s = "héllo wörld {";\r\n'
        '        let n = "ünï".len(); let v: Vec<_> = s.chars().collect();\r\n'
        "        v.len() + n\r\n"
        "    }\r\n"
        "}\r\n"
    )
    extent = _extent(source, "lang::VM::greet")
    assert (extent.start_line, extent.end_line) == (2, 6)
    assert choose_line(source, extent, ["collect"]).line == 4
    assert (
        numbered_excerpt(source, extent).split("\n")[0] == "    2 |     fn greet(&self) -> usize {"
    )


def test_lone_surrogates_do_not_raise() -> None:
    source = 'fn f() {\n    let s = "\ud800";\n    g();\n}\n'
    extent = _extent(source, "lang::f")
    assert (extent.start_line, extent.end_line) == (1, 4)
    assert choose_line(source, extent, ["g"]).line == 3


# --------------------------------------------------------------------------------------------
# numbered_excerpt


def test_excerpt_whole_function() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::Stack<T>::pop")
    assert numbered_excerpt(RUNTIME, extent) == (
        "   33 |     pub fn pop(&mut self) -> Option<T> {\n"
        "   34 |         self.items.pop()\n"
        "   35 |     }"
    )


def test_excerpt_with_shares() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::Stack<T>::pop")
    assert numbered_excerpt(RUNTIME, extent, line_shares={34: 0.123, 35: 0.0004, 33: 0.0}) == (
        "   33        |     pub fn pop(&mut self) -> Option<T> {\n"
        "   34  12.3% |         self.items.pop()\n"
        "   35  <0.1% |     }"
    )


def test_excerpt_truncated_from_the_top() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    assert numbered_excerpt(RUNTIME, extent, max_lines=3) == (
        "   92 |     pub fn index_op(&mut self, target: &Value, index: &Value)"
        " -> Result<Value, String> {\n"
        "   93 |         match (target, index) {\n"
        "   94 |             (Value::Str(s), Value::Int(i)) => {\n"
        "  ... (16 more lines)"
    )


def test_excerpt_window_around_focus_keeps_the_signature() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    text = numbered_excerpt(RUNTIME, extent, max_lines=4, focus_line=100, line_shares={100: 0.25})
    assert text == (
        "   92        |     pub fn index_op(&mut self, target: &Value, index: &Value)"
        " -> Result<Value, String> {\n"
        "  ... (6 more lines)\n"
        "   99        |                     .get(i)\n"
        "  100  25.0% |                     .map(|g| Value::Str(Rc::from(*g)))\n"
        '  101        |                     .ok_or_else(|| format!("index {i} out of range for'
        ' \\"{s}\\""))\n'
        "  ... (9 more lines)"
    )


def test_excerpt_focus_near_the_start_is_one_block() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    lines = numbered_excerpt(RUNTIME, extent, max_lines=4, focus_line=93).split("\n")
    assert [ln[:5] for ln in lines] == ["   92", "   93", "   94", "   95", "  ..."]
    assert lines[-1] == "  ... (15 more lines)"


def test_excerpt_focus_at_the_end() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    lines = numbered_excerpt(RUNTIME, extent, max_lines=4, focus_line=110).split("\n")
    assert [ln[:5] for ln in lines] == ["   92", "  ...", "  108", "  109", "  110"]
    assert lines[1] == "  ... (15 more lines)"


def test_excerpt_focus_outside_the_extent_is_ignored() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    assert numbered_excerpt(RUNTIME, extent, max_lines=3, focus_line=5) == numbered_excerpt(
        RUNTIME, extent, max_lines=3
    )


def test_excerpt_max_lines_one_shows_the_focus() -> None:
    extent = _extent(RUNTIME, "lang::vm::runtime::VM::index_op")
    assert numbered_excerpt(RUNTIME, extent, max_lines=1, focus_line=96).split("\n") == [
        "  ... (4 more lines)",
        "   96 |                 let chars: Vec<&str> = s.graphemes(true).collect::<Vec<&str>>();",
        "  ... (14 more lines)",
    ]


def test_excerpt_of_an_extent_past_the_end_of_the_text() -> None:
    extent = FunctionExtent("f", 2, 50, 2, None, None)
    assert numbered_excerpt("a\nb\nc", extent) == "    2 | b\n    3 | c"
    assert numbered_excerpt("a", extent) == ""


# --------------------------------------------------------------------------------------------
# Robustness and cost


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_parse_symbol_never_raises(symbol: str) -> None:
    parsed = parse_symbol(symbol)
    assert parsed.raw == symbol
    assert parsed.closure_depth >= 0


@settings(max_examples=100, deadline=None)
@given(
    st.text(alphabet="fn implVMa{}()<>:;'\"#r/*\n ", max_size=120),
    st.sampled_from(["lang::f", "lang::VM::a", "<lang::VM as Clone>::clone", "Unknown"]),
)
def test_find_function_never_raises_on_garbage(source: str, symbol: str) -> None:
    extent = find_function(source, symbol)
    if extent is not None:
        assert 1 <= extent.start_line <= extent.signature_line <= extent.end_line
        choice = choose_line(source, extent, ["a", "clone", "f"], {3: 0.5})
        assert extent.contains(choice.line)
        assert isinstance(numbered_excerpt(source, extent, max_lines=2, focus_line=2), str)


def test_importing_the_module_does_not_load_tree_sitter() -> None:
    code = (
        "import sys, perf_identify.source\n"
        "assert 'tree_sitter' not in sys.modules\n"
        "assert 'tree_sitter_rust' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


DERIVED = """\
use std::rc::Rc;

/// A value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Str(Rc<str>),
}

#[derive(Debug)]
pub struct Plain {
    x: i64,
}

impl Clone for Plain {
    fn clone(&self) -> Self {
        Plain { x: self.x }
    }
}
"""


def test_derived_trait_method_maps_to_its_derive_attribute() -> None:
    extent = find_function(DERIVED, "<lang::vm::value::Value as core::clone::Clone>::clone")
    assert extent is not None
    assert extent.display_name == "<Value as Clone>::clone (derived)"
    assert (extent.start_line, extent.signature_line, extent.end_line) == (4, 4, 8)
    choice = choose_line(DERIVED, extent, ["clone", "drop_in_place"])
    assert choice.line == 4


def test_derived_debug_in_the_test_data_points_at_its_attribute() -> None:
    source = (DATA / "value.rs").read_text()
    extent = find_function(source, "<lang::vm::value::Value as core::fmt::Debug>::fmt")
    assert extent is not None
    assert extent.display_name == "<Value as Debug>::fmt (derived)"
    assert source.splitlines()[extent.signature_line - 1].strip() == "#[derive(Debug)]"


def test_an_explicit_impl_wins_over_a_derive_and_a_missing_derive_is_none() -> None:
    explicit = find_function(DERIVED, "<lang::vm::value::Plain as core::clone::Clone>::clone")
    assert explicit is not None
    assert explicit.display_name == "<Plain as Clone>::clone"
    assert explicit.start_line == 16
    assert find_function(DERIVED, "<lang::vm::value::Plain as core::hash::Hash>::hash") is None
    assert find_function(DERIVED, "<lang::vm::value::Value as core::hash::Hash>::hash") is None


ALT_MODULE = (
    "impl VM {\n"  # 1
    "    fn index_op(&mut self) {}\n"  # 2
    "}\n"  # 3
    "mod alt {\n"  # 4
    "    impl VM {\n"  # 5
    "        fn index_op(&mut self) {}\n"  # 6
    "    }\n"  # 7
    "}\n"  # 8
)


@pytest.mark.parametrize(
    ("symbol", "line"),
    [
        ("lang::vm::runtime::VM::index_op", 2),
        ("lang::vm::runtime::alt::VM::index_op", 6),
        ("lang::vm::runtime::alt::VM::index_op::{{closure}}", 6),
    ],
)
def test_a_method_is_found_in_the_mod_its_symbol_names(symbol: str, line: int) -> None:
    extent = find_function(ALT_MODULE, symbol)
    assert extent is not None
    assert extent.signature_line == line


def test_a_thousand_nested_mods_do_not_raise() -> None:
    depth = 1000
    text = (
        "".join(f"mod m{i} {{\n" for i in range(depth))
        + "#[derive(Clone)]\nstruct Deep;\nimpl Deep { fn op(&self) {} }\n"
        + "}\n" * depth
    )
    path = "::".join(f"m{i}" for i in range(depth))
    extent = find_function(text, f"lang::{path}::Deep::op")
    assert extent is not None
    assert extent.signature_line == depth + 3
    # The derive search walks the same nesting.
    assert find_function(text, f"<lang::{path}::Deep as core::clone::Clone>::clone") is not None
