//! Builtin functions that do not need the VM.

use std::rc::Rc;

use crate::vm::value::Value;

/// `rotate(xs, n)`: a new list rotated right by `n`.
pub fn builtin_rotate(list: &Rc<Vec<Value>>, n: i64) -> Value {
    let len = list.len() as i64;
    if len == 0 {
        return Value::List(Rc::clone(list));
    }
    let mut rotated = Vec::new();
    for i in 0..len {
        let from = ((i - n) % len + len) % len;
        rotated.push(list[from as usize].clone());
    }
    Value::List(Rc::new(rotated))
}
