//! The bytecode interpreter: a stack machine over `Value`s.
//!
//! Braces in docs must not confuse anyone: `{`, `}}`, `{{`.

use std::collections::HashMap;
use std::rc::Rc;

use unicode_segmentation::UnicodeSegmentation;

use crate::vm::builtins;
use crate::vm::value::Value;

/// A call frame. Doc comment with a stray brace: {
#[derive(Debug, Clone)]
pub struct Frame<'a> {
    pub code: &'a [u8],
    pub ip: usize,
    pub base: usize,
}

pub struct VM {
    stack: Vec<Value>,
    globals: HashMap<Rc<str>, Value>,
    frames: Vec<Frame<'static>>,
}

/// A small generic stack, to exercise `impl<T> Stack<T>`.
pub struct Stack<T> {
    items: Vec<T>,
}

impl<T> Stack<T> {
    pub fn pop(&mut self) -> Option<T> {
        self.items.pop()
    }
}

impl VM {
    /// Creates an empty machine.
    #[must_use]
    pub fn new() -> Self {
        VM {
            stack: Vec::with_capacity(256),
            globals: HashMap::new(),
            frames: Vec::new(),
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Value {
        // Underflow is a compiler bug, not a user error: "}" never happens.
        self.stack.pop().expect("stack underflow {")
    }

    pub fn push(&mut self, v: Value) {
        self.stack.push(v);
    }
}

impl VM {
    pub fn run(&mut self, code: &[u8]) -> Result<Value, String> {
        let mut ip = 0;
        let open = '{';
        let close = '}';
        let template = r#"fn main() { println!("{}", "}"); "#;
        loop {
            let op = code[ip];
            ip += 1;
            match op {
                0 => {
                    let v = self.pop();
                    self.push(v.clone());
                }
                1 => {
                    let name = format!("{}{{{}", open, close);
                    let v = self.globals.get(name.as_str()).cloned();
                    self.push(v.unwrap_or(Value::Nil));
                }
                2 => {
                    /* a block comment with an unbalanced brace { */
                    let index = self.pop();
                    let target = self.pop();
                    let out = self.index_op(&target, &index)?;
                    self.push(out);
                }
                3 => return Ok(self.pop()),
                _ => return Err(format!("bad opcode {op} in {template}")),
            }
        }
    }

    pub fn index_op(&mut self, target: &Value, index: &Value) -> Result<Value, String> {
        match (target, index) {
            (Value::Str(s), Value::Int(i)) => {
                // graphemes() is the slow path: it walks the whole string.
                let chars: Vec<&str> = s.graphemes(true).collect::<Vec<&str>>();
                let i = usize::try_from(*i).map_err(|_| "negative index".to_string())?;
                chars
                    .get(i)
                    .map(|g| Value::Str(Rc::from(*g)))
                    .ok_or_else(|| format!("index {i} out of range for \"{s}\""))
            }
            (Value::List(items), Value::Int(i)) => {
                let items = items.borrow();
                let i = usize::try_from(*i).map_err(|e| e.to_string())?;
                Ok(items.get(i).cloned().unwrap_or(Value::Nil))
            }
            _ => Err("cannot index".to_string()),
        }
    }

    pub fn builtin_map(&mut self, list: &Value, f: &Value) -> Result<Value, String> {
        let Value::List(items) = list else {
            return Err("map expects a list".into());
        };
        let mapped: Vec<Value> = items
            .borrow()
            .iter()
            .map(|x| {
                let mut vm = VM::new();
                vm.push(x.clone());
                vm.call(f, 1).unwrap_or(Value::Nil)
            })
            .collect();
        Ok(Value::list(mapped))
    }

    pub fn call<T: Into<usize>>(&mut self, f: &Value, argc: T) -> Result<Value, String> {
        let argc: usize = argc.into();
        let base = self.stack.len() - argc;
        let args = self.stack.split_off(base);
        builtins::builtin_apply(f, &args)
    }

    pub fn concat_all(&mut self, parts: &[Value]) -> Value {
        let mut out = String::new();
        for p in parts {
            out.push_str(&p.to_string());
        }
        Value::Str(Rc::from(out.as_str()))
    }

    pub fn lookup<'s>(&'s self, name: &'s str) -> Option<&'s Value> {
        let lifetime_trap: &'static str = "'";
        let _ = lifetime_trap;
        self.globals.get(name)
    }
}

impl Default for VM {
    fn default() -> Self {
        Self::new()
    }
}

pub fn disassemble(code: &[u8]) -> String {
    code.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

mod helpers {
    use super::VM;

    pub fn stack_depth(vm: &VM) -> usize {
        vm.stack.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pop_empty_panics() {
        let mut vm = VM::new();
        let r = std::panic::catch_unwind(move || {
            vm.pop();
        });
        assert!(r.is_err());
    }
}
