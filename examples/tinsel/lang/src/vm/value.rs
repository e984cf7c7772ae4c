//! Runtime values.
//!
//! Lists and dicts are *values*, like numbers: assigning one or passing it to a
//! function hands over a copy, so nobody else can see later changes to it.
//! They are changed in place only through a variable (`xs[i] = v`, `push(xs, v)`).

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

/// Containers are boxed so that a `Value` stays two words (16 bytes): values are
/// moved on and off the operand stack constantly.
#[derive(Clone, Debug)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    /// Strings are immutable, so copies share one buffer.
    Str(Rc<String>),
    /// A list whose elements are all integers, stored unboxed (8 bytes each).
    /// Most lists in puzzle code are like this.
    Ints(Box<Vec<i64>>),
    /// Any other list.
    List(Box<Vec<Value>>),
    Dict(Box<HashMap<String, Value>>),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::new(s.to_string()))
    }

    /// Build a list, packing it when every element is an integer.
    pub fn list(items: Vec<Value>) -> Value {
        let ints: Option<Vec<i64>> = items
            .iter()
            .map(|v| match v {
                Value::Int(n) => Some(*n),
                _ => None,
            })
            .collect();
        match ints {
            Some(ints) => Value::Ints(Box::new(ints)),
            None => Value::List(Box::new(items)),
        }
    }

    /// Turn a packed list into a general one, so it can hold any value.
    pub fn unpack(&mut self) {
        if let Value::Ints(xs) = self {
            *self = Value::List(Box::new(xs.iter().map(|&n| Value::Int(n)).collect()));
        }
    }

    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Nil | Value::Bool(false))
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Str(_) => "string",
            Value::Ints(_) | Value::List(_) => "list",
            Value::Dict(_) => "dict",
        }
    }

    /// How the value is written inside a list or dict: strings are quoted.
    fn repr(&self) -> String {
        match self {
            Value::Str(s) => format!("{s:?}"),
            other => other.to_string(),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Ints(a), Value::Ints(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            // A general list may hold only integers (e.g. after `xs[0] = 1`).
            (Value::Ints(a), Value::List(b)) | (Value::List(b), Value::Ints(a)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| *y == Value::Int(*x))
            }
            (Value::Dict(a), Value::Dict(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    /// Consistent with `==`: a packed list hashes like the same general list.
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Nil => 0u8.hash(state),
            Value::Bool(b) => (1u8, b).hash(state),
            Value::Int(n) => (2u8, n).hash(state),
            Value::Str(s) => (3u8, s).hash(state),
            Value::Ints(xs) => {
                (4u8, xs.len()).hash(state);
                xs.iter().for_each(|n| (2u8, n).hash(state));
            }
            Value::List(items) => {
                (4u8, items.len()).hash(state);
                items.iter().for_each(|v| v.hash(state));
            }
            // Entry order is arbitrary, so only the size takes part.
            Value::Dict(d) => (5u8, d.len()).hash(state),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::Ints(xs) => {
                let items: Vec<String> = xs.iter().map(|n| n.to_string()).collect();
                write!(f, "[{}]", items.join(", "))
            }
            Value::List(xs) => {
                let items: Vec<String> = xs.iter().map(Value::repr).collect();
                write!(f, "[{}]", items.join(", "))
            }
            Value::Dict(d) => {
                let mut entries: Vec<String> = d.iter().map(|(k, v)| format!("{k:?}: {}", v.repr())).collect();
                entries.sort();
                write!(f, "#{{{}}}", entries.join(", "))
            }
        }
    }
}
