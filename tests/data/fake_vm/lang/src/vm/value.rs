//! Runtime values.

use std::collections::HashMap;
use std::rc::Rc;

use crate::vm::bytecode::Chunk;

#[derive(Debug)]
pub enum Value {
    Nil,
    Int(i64),
    Str(Rc<str>),
    List(Rc<Vec<Value>>),
    Dict(Rc<HashMap<Value, Value>>),
    Function(Rc<Chunk>),
}

impl Clone for Value {
    fn clone(&self) -> Self {
        match self {
            Value::Nil => Value::Nil,
            Value::Int(n) => Value::Int(*n),
            Value::Str(s) => Value::Str(Rc::clone(s)),
            Value::List(items) => Value::List(Rc::clone(items)),
            Value::Dict(map) => Value::Dict(Rc::clone(map)),
            Value::Function(chunk) => Value::Function(Rc::clone(chunk)),
        }
    }
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Int(_) => "int",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Function(_) => "function",
        }
    }

    pub fn add(&self, other: &Value) -> Result<Value, String> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Ok(Value::Int(a + b)),
            (Value::Str(a), Value::Str(b)) => Ok(Value::Str(Rc::from(format!("{a}{b}")))),
            _ => Err(format!("cannot add {} and {}", self.type_name(), other.type_name())),
        }
    }
}
