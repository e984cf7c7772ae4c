//! Unit tests: lexer, parser, compiler and VM semantics, plus every bundled
//! benchmark program checked against a plain Rust version on a small input.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use crate::lexer::{tokenize, Token};
use crate::parser::{parse, Expr, Stmt};
use crate::vm::bytecode::Op;
use crate::{compile, Value, VM};

/// Compile `src`, run its top level, then its `part_one`.
fn part_one(src: &str) -> Result<Value, String> {
    let program = compile(src)?;
    let part = program.part_one.expect("program has no part_one");
    let mut vm = VM::new(program);
    vm.run_main()?;
    vm.call(part, Vec::new())
}

fn eval(expr: &str) -> Value {
    part_one(&format!("part_one {{ return {expr}; }}")).unwrap()
}

fn int(n: i64) -> Value {
    Value::Int(n)
}

fn ints(xs: &[i64]) -> Value {
    Value::Ints(Box::new(xs.to_vec()))
}

/// Call `func(args...)` in a program after running its top level.
fn call(src: &str, func: &str, args: &[i64]) -> Value {
    let mut vm = VM::new(compile(src).unwrap());
    vm.run_main().unwrap();
    vm.call_named(func, args.iter().map(|&n| int(n)).collect()).unwrap()
}

#[test]
fn lexer_tokens_and_lines() {
    let tokens = tokenize("let x = 10 >= 2; // note\n\"a\\n\" #{").unwrap();
    let expected = [
        (Token::Name("let".into()), 1),
        (Token::Name("x".into()), 1),
        (Token::Punct("="), 1),
        (Token::Int(10), 1),
        (Token::Punct(">="), 1),
        (Token::Int(2), 1),
        (Token::Punct(";"), 1),
        (Token::Str("a\n".into()), 2),
        (Token::Punct("#{"), 2),
        (Token::Eof, 2),
    ];
    assert_eq!(tokens, expected);
}

#[test]
fn lexer_errors() {
    assert!(tokenize("\"open").unwrap_err().contains("unterminated string"));
    assert_eq!(tokenize("x\n@").unwrap_err(), "line 2: unexpected character '@'");
}

#[test]
fn parser_precedence() {
    let ast = parse("1 + 2 * 3 == 7 && !false;").unwrap();
    let b = |op, l, r| Expr::Binary(op, Box::new(l), Box::new(r));
    let sum = b("+", Expr::Int(1), b("*", Expr::Int(2), Expr::Int(3)));
    let expected = b("&&", b("==", sum, Expr::Int(7)), Expr::Unary("!", Box::new(Expr::Bool(false))));
    assert_eq!(ast, vec![Stmt::Expr(expected)]);
}

#[test]
fn parser_errors() {
    assert!(parse("let = 5;").unwrap_err().starts_with("line 1: expected a name"));
    assert!(parse("\n1 = 2;").unwrap_err().starts_with("line 2:"));
    assert!(parse("fn f() { return 1;").unwrap_err().contains("expected '}'"));
    assert!(parse("f(1, 2").is_err());
}

#[test]
fn compiler_resolves_locals_and_globals() {
    let program = compile("let g = 1; fn f(a) { let b = a; return g; }").unwrap();
    assert_eq!(program.global_names, ["g"]);
    assert_eq!(program.functions[0].chunk.code, [Op::Int(1), Op::SetGlobal(0), Op::Nil, Op::Return]);
    let f = &program.functions[program.function_named("f").unwrap()];
    assert_eq!((f.arity, f.num_locals), (1, 2));
    let expected = [Op::GetLocal(0), Op::SetLocal(1), Op::GetGlobal(0), Op::Return, Op::Nil, Op::Return];
    assert_eq!(f.chunk.code, expected);
}

#[test]
fn compiler_errors() {
    assert_eq!(compile("part_one { nope(); }").unwrap_err(), "unknown function 'nope'");
    assert!(compile("fn f(a) { return a; } part_one { f(); }").unwrap_err().contains("takes 1 arguments"));
    assert!(compile("part_one { push([1], 2); }").unwrap_err().contains("list variable"));
    assert!(compile("fn f() {} fn f() {}").unwrap_err().contains("defined twice"));
}

#[test]
fn arithmetic() {
    assert_eq!(eval("1 + 2 * 3 - 8 / 2 % 3"), int(6));
    assert_eq!(eval("2 * (3 + 4)"), int(14));
    assert_eq!(eval("-7 / 2"), int(-3));
    assert_eq!(eval("-7 % 3"), int(-1));
    assert_eq!(eval("--5"), int(5));
    assert!(part_one("part_one { return 1 / 0; }").unwrap_err().contains("division by zero"));
}

#[test]
fn comparison_and_logic() {
    assert_eq!(
        eval("[1 < 2, 2 <= 1, 3 > 2, 2 >= 3, 1 == 1, 1 != 1]").to_string(),
        "[true, false, true, false, true, false]"
    );
    let boom = "fn boom() { return 1 / 0; }";
    assert_eq!(part_one(&format!("{boom} part_one {{ return false && boom(); }}")), Ok(Value::Bool(false)));
    assert_eq!(part_one(&format!("{boom} part_one {{ return true || boom(); }}")), Ok(Value::Bool(true)));
    assert_eq!(eval("nil || 5"), int(5));
    assert_eq!(eval("0 && 1"), int(1)); // only false and nil are falsy
    assert_eq!(eval("!nil"), Value::Bool(true));
    assert_eq!(eval("1 == \"1\""), Value::Bool(false));
}

#[test]
fn strings() {
    assert_eq!(eval("\"tin\" + \"sel\""), Value::str("tinsel"));
    assert_eq!(eval("\"héllo\"[1]"), Value::str("é"));
    assert_eq!(eval("\"héllo\"[9]"), Value::Nil);
    assert_eq!(eval("len(\"héllo\")"), int(5));
    assert_eq!(eval("\"abc\" < \"abd\""), Value::Bool(true));
    assert_eq!(eval("str(12) + \"!\""), Value::str("12!"));
    assert!(part_one("part_one { return \"a\" - 1; }").unwrap_err().contains("cannot apply Sub to string and int"));
}

#[test]
fn lists() {
    assert_eq!(eval("[1, 2, 3]"), ints(&[1, 2, 3]));
    assert_eq!(eval("[1, 2, 3][2]"), int(3));
    assert_eq!(eval("[1, 2][5]"), Value::Nil);
    assert_eq!(eval("range(4)"), ints(&[0, 1, 2, 3]));
    let src = "part_one { let xs = []; push(xs, 1); push(xs, 2); xs[0] = 7; return xs; }";
    assert_eq!(part_one(src), Ok(ints(&[7, 2])));
    // A non-integer turns a packed list into a general one.
    let src = "part_one { let xs = [1]; push(xs, \"two\"); xs[0] = nil; return [xs, len(xs)]; }";
    assert_eq!(part_one(src).unwrap().to_string(), "[[nil, \"two\"], 2]");
    // A general list that holds only integers equals the packed one.
    assert_eq!(part_one("part_one { let xs = [\"a\"]; xs[0] = 1; return xs == [1]; }"), Ok(Value::Bool(true)));
    assert!(part_one("part_one { let xs = [1]; xs[3] = 1; }").unwrap_err().contains("index 3 out of range"));
}

#[test]
fn lists_and_dicts_are_values() {
    let src = "
        fn scribble(xs) { xs[0] = 99; return xs; }
        part_one {
            let a = [1, 2];
            let b = a;
            push(b, 3);
            let c = scribble(a);
            return [a, b, c];
        }";
    assert_eq!(part_one(src).unwrap().to_string(), "[[1, 2], [1, 2, 3], [99, 2]]");
    let src = "part_one { let d = #{\"k\": 1}; let e = d; e[\"k\"] = 2; return [d[\"k\"], e[\"k\"]]; }";
    assert_eq!(part_one(src), Ok(ints(&[1, 2])));
}

#[test]
fn dicts() {
    let src = "part_one { let d = #{\"b\": 2, \"a\": [1, \"x\"]}; d[\"c\"] = 3; d[\"b\"] = nil; return [d, len(d), keys(d), d[\"zz\"]]; }";
    let expected = "[#{\"a\": [1, \"x\"], \"b\": nil, \"c\": 3}, 3, [\"a\", \"b\", \"c\"], nil]";
    assert_eq!(part_one(src).unwrap().to_string(), expected);
    assert_eq!(eval("#{\"a\": 1, \"b\": 2} == #{\"b\": 2, \"a\": 1}"), Value::Bool(true));
    assert!(part_one("part_one { return #{1: 2}; }").unwrap_err().contains("dict keys must be strings"));
}

#[test]
fn functions_scopes_and_recursion() {
    let src = "
        fn fib(n) { if n < 2 { return n; } return fib(n - 1) + fib(n - 2); }
        fn is_even(n) { if n == 0 { return true; } return is_odd(n - 1); }
        fn is_odd(n) { if n == 0 { return false; } return is_even(n - 1); }
        fn nothing() { }
        part_one { return [fib(20), is_even(10), is_odd(7), nothing()]; }";
    assert_eq!(part_one(src).unwrap().to_string(), "[6765, true, true, nil]");
    let src = "part_one { let x = 1; if true { let x = 2; x = 3; } let i = 0; while i < 3 { let y = i; i = y + 1; } return [x, i]; }";
    assert_eq!(part_one(src), Ok(ints(&[1, 3])));
}

#[test]
fn control_flow() {
    let src = "
        fn grade(n) { if n > 90 { return \"a\"; } else if n > 50 { return \"b\"; } else { return \"c\"; } }
        part_one { return grade(95) + grade(60) + grade(10); }";
    assert_eq!(part_one(src), Ok(Value::str("abc")));
    let src = "part_one { let i = 0; let s = 0; while i < 10 { if i % 2 == 0 { s = s + i; } i = i + 1; } return s; }";
    assert_eq!(part_one(src), Ok(int(20)));
}

#[test]
fn globals() {
    let src = "
        let counter = 10;
        fn bump(by) { counter = counter + by; return counter; }
        part_one { bump(1); bump(2); return [counter, never_assigned]; }";
    assert_eq!(part_one(src).unwrap().to_string(), "[13, nil]");
    let src = "let xs = [1]; fn add(n) { push(xs, n); } part_one { add(2); xs[0] = 5; return xs; }";
    assert_eq!(part_one(src), Ok(ints(&[5, 2])));
}

#[test]
fn runtime_errors() {
    let err = part_one("fn down(n) { return down(n + 1); } part_one { return down(0); }").unwrap_err();
    assert!(err.starts_with("runtime error in down: stack overflow"), "{err}");
    assert!(part_one("part_one { return 1[0]; }").unwrap_err().contains("cannot index int with int"));
    assert!(part_one("part_one { return -\"a\"; }").unwrap_err().contains("cannot negate string"));
    assert!(part_one("part_one { let n = 1; push(n, 2); }").unwrap_err().contains("push() cannot take (int, int)"));
    // A VM stays usable after an error.
    let program = compile("fn bad() { return 1 / 0; } fn good() { return 7; }").unwrap();
    let mut vm = VM::new(program);
    assert!(vm.call_named("bad", Vec::new()).is_err());
    assert_eq!(vm.call_named("good", Vec::new()), Ok(int(7)));
}

#[test]
fn value_hash_agrees_with_eq() {
    let hash = |v: &Value| {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    };
    let packed = ints(&[1, 2]);
    let general = Value::List(Box::new(vec![int(1), int(2)]));
    assert_eq!(packed, general);
    assert_eq!(hash(&packed), hash(&general));
    assert_ne!(hash(&int(1)), hash(&Value::str("1")));
    assert_eq!(Value::str("x").to_string(), "x");
    assert_eq!(Value::List(Box::new(vec![Value::str("x"), Value::Nil])).to_string(), "[\"x\", nil]");
}

// ---- The benchmark programs, on small inputs, against plain Rust ----

const STRING_INDEX: &str = include_str!("../../examples/string_index.tinsel");
const CLONE_ON_LOAD: &str = include_str!("../../examples/clone_on_load.tinsel");
const DICT_HASH: &str = include_str!("../../examples/dict_hash.tinsel");
const LIST_GROWTH: &str = include_str!("../../examples/list_growth.tinsel");
const DISPATCH: &str = include_str!("../../examples/dispatch.tinsel");

/// The linear congruential generator all the programs use.
fn lcg(x: i64) -> i64 {
    (x * 1103515245 + 12345) % 2147483648
}

#[test]
fn benchmark_programs_have_both_parts() {
    for src in [STRING_INDEX, CLONE_ON_LOAD, DICT_HASH, LIST_GROWTH, DISPATCH] {
        let program = compile(src).unwrap();
        assert!(program.part_one.is_some() && program.part_two.is_some());
    }
}

#[test]
fn string_index_program() {
    let text = |n: usize, seed| -> Vec<char> {
        let alphabet: Vec<char> = "abcdeéfghö".chars().collect();
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = lcg(x);
                alphabet[(x / 65536 % 10) as usize]
            })
            .collect()
    };
    let echoes = |t: &[char], gap| (0..t.len().saturating_sub(gap)).filter(|&i| t[i] == t[i + gap]).count() as i64;
    let t = text(300, 7);
    assert_eq!(call(STRING_INDEX, "solve_one", &[300]), int(echoes(&t, 1) + echoes(&t, 2) + echoes(&t, 3)));
    let t = text(300, 11);
    let (mut best, mut run) = (1, 1);
    for i in 1..t.len() {
        run = if t[i] == t[i - 1] { run + 1 } else { 1 };
        best = best.max(run);
    }
    assert_eq!(call(STRING_INDEX, "solve_two", &[300]), int(best * 100000 + echoes(&t, 5)));
}

#[test]
fn clone_on_load_program() {
    let readings = |n, seed| -> Vec<i64> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = lcg(x);
                x / 65536 % 100000
            })
            .collect()
    };
    let r = readings(500, 3);
    let (mut best, mut count, mut total) = (-1, 0, 0);
    for &v in &r {
        if v > best {
            (best, count, total) = (v, count + 1, total + v);
        }
    }
    assert_eq!(call(CLONE_ON_LOAD, "solve_one", &[500]), int(count * 1000000000 + total));
    let r = readings(500, 5);
    let rises = (3..r.len()).filter(|&i| r[i] > r[i - 3]).count() as i64;
    assert_eq!(call(CLONE_ON_LOAD, "solve_two", &[500]), int(rises));
}

#[test]
fn dict_hash_program() {
    let m = 1000000007;
    let rolling = (0..1000).fold(0i64, |h, i| (h * 131 + i + 17) % m);
    assert_eq!(call(DICT_HASH, "rolling_checksum", &[1000]), int(rolling));
    let weighted = (0..1000).fold(0i64, |h, i| (h + i * if i % 2 == 0 { 3 } else { 7 }) % m);
    assert_eq!(call(DICT_HASH, "weighted_checksum", &[1000]), int(weighted));
}

#[test]
fn list_growth_program() {
    let mut expected = 0;
    for seed in 1..=3 {
        let mut x = seed;
        let terms: Vec<i64> = (0..400)
            .map(|_| {
                x = lcg(x);
                x / 65536
            })
            .collect();
        expected += 400 + terms[0] + terms[200] + terms[399];
    }
    assert_eq!(call(LIST_GROWTH, "solve_one", &[400, 3]), int(expected));
    let digit_sum = |mut i: i64| {
        let mut s = 0;
        while i > 0 {
            s += i % 10;
            i /= 10;
        }
        s
    };
    let (even, odd): (Vec<i64>, Vec<i64>) = (0..1000).partition(|&i| digit_sum(i) % 2 == 0);
    assert_eq!(call(LIST_GROWTH, "solve_two", &[1000]), int(even.len() as i64 * 1000000 + odd[odd.len() - 1]));
}

#[test]
fn dispatch_program() {
    let collatz: i64 = (1..300i64)
        .map(|mut x| {
            let mut steps = 0;
            while x != 1 {
                x = if x % 2 == 0 { x / 2 } else { 3 * x + 1 };
                steps += 1;
            }
            steps
        })
        .sum();
    assert_eq!(call(DISPATCH, "collatz_steps", &[300]), int(collatz));
    let gcd = |mut a: i64, mut b: i64| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let gcd_sum: i64 = (1..40).flat_map(|a| (1..40).map(move |b| (a, b))).map(|(a, b)| gcd(a, b)).sum();
    assert_eq!(call(DISPATCH, "gcd_sum", &[40]), int(gcd_sum));
}
