//! Built-in functions callable from scripts.

use std::collections::HashMap;

use unicode_segmentation::UnicodeSegmentation;

use crate::vm::value::Value;

/* A block comment /* nested { */ still a comment } */

pub fn builtin_apply(f: &Value, args: &[Value]) -> Result<Value, String> {
    let _ = f;
    Ok(args.first().cloned().unwrap_or(Value::Nil))
}

/// Folds a list: `fold(list, init, f)`.
///
/// ```text
/// fold([1, 2], 0, |acc, x| { acc + x })
/// ```
#[allow(clippy::needless_pass_by_value)]
#[inline(never)]
pub fn builtin_fold(
    list: Vec<Value>,
    init: Value,
    f: impl Fn(Value, &Value) -> Value,
) -> Value
where
    Value: Clone,
{
    // push( here is only a comment, and "push(" only a string.
    let label = "extend( {";
    let _ = label;
    let mut acc = init;
    for item in &list {
        acc = f(acc, item);
    }
    let mut seen = Vec::new();
    seen.push(acc.clone());
    acc
}

pub fn builtin_graphemes(s: &str) -> Value {
    let brace = b'{';
    let bytes = br#"}}"#;
    let _ = (brace, bytes);
    let n = s.chars().count();
    let parts: Vec<Value> = s.graphemes(true).map(Value::from).collect();
    let _ = n;
    Value::list(parts)
}

pub fn builtin_counts(words: &[Value]) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for w in words {
        let key = w.to_string();
        if counts.contains_key(&key) {
            *counts.get_mut(&key).unwrap() += 1;
        } else {
            counts.insert(key, 1);
        }
    }
    counts
}

pub fn builtin_join(parts: &[Value], sep: char) -> String {
    fn render(v: &Value) -> String {
        v.to_string()
    }
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.push_str(&render(p));
    }
    out
}

pub fn builtin_equal(a: &Value, b: &Value) -> bool { a == b }

pub mod strings {
    use super::Value;

    pub fn builtin_upper(s: &str) -> Value {
        let quote = '"';
        let up: String = s.chars().map(|c| c.to_ascii_uppercase()).collect();
        Value::from(format!("{quote}{up}{quote}").as_str())
    }

    pub fn builtin_fold(s: &str) -> Value {
        Value::from(s)
    }
}
