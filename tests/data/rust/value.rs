//! Runtime values of the language.

use std::cell::RefCell;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

#[derive(Debug)]
pub enum Value {
    Nil,
    Int(i64),
    Str(Rc<str>),
    List(Rc<RefCell<Vec<Value>>>),
}

/// Something that can describe itself; `describe` has a default body.
pub trait Describe {
    fn kind(&self) -> &'static str;

    fn describe(&self) -> String {
        format!("<{}>", self.kind())
    }
}

impl Value {
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    /// Removes the last element of a list value.
    pub fn pop(&self) -> Option<Value> {
        match self {
            Value::List(items) => items.borrow_mut().pop(),
            _ => None,
        }
    }
}

impl Clone for Value {
    fn clone(&self) -> Self {
        match self {
            Value::Nil => Value::Nil,
            Value::Int(i) => Value::Int(*i),
            // Deep copy on purpose: the slow path this tool should find.
            Value::Str(s) => Value::Str(Rc::from(s.to_string().as_str())),
            Value::List(items) => {
                let copied: Vec<Value> = items.borrow().iter().cloned().collect();
                Value::list(copied)
            }
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a.chars().eq(b.chars()),
            (Value::List(a), Value::List(b)) => *a.borrow() == *b.borrow(),
            _ => false,
        }
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Nil => {}
            Value::Int(i) => i.hash(state),
            Value::Str(s) => s.hash(state),
            Value::List(items) => {
                for item in items.borrow().iter() {
                    item.hash(state);
                }
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s}"),
            Value::List(items) => {
                write!(f, "[")?;
                for (n, item) in items.borrow().iter().enumerate() {
                    if n > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
        }
    }
}

impl fmt::Debug for Wrapper<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Wrapper {{ {:?} }}", self.0)
    }
}

impl fmt::Display for Wrapper<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

pub struct Wrapper<'a>(pub &'a Value);

impl Describe for Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Int(_) => "int",
            Value::Str(_) => "str",
            Value::List(_) => "list",
        }
    }
}

impl<'a> From<&'a str> for Value {
    fn from(s: &'a str) -> Self {
        Value::Str(Rc::from(s))
    }
}

impl<T: Into<Value>> FromIterator<T> for Value {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Value::list(iter.into_iter().map(Into::into).collect())
    }
}
