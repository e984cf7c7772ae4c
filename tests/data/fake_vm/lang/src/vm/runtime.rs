//! The interpreter loop and the operations it dispatches to.

use std::collections::HashMap;
use std::rc::Rc;

use unicode_segmentation::UnicodeSegmentation;

use crate::vm::bytecode::{Chunk, Op};
use crate::vm::value::Value;

pub struct VM {
    stack: Vec<Value>,
    globals: HashMap<String, Value>,
    frames: Vec<Frame>,
}

struct Frame {
    chunk: Rc<Chunk>,
    ip: usize,
    base: usize,
}

impl VM {
    pub fn new() -> Self {
        VM { stack: Vec::with_capacity(256), globals: HashMap::new(), frames: Vec::new() }
    }

    pub fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    pub fn pop(&mut self) -> Value {
        self.stack.pop().expect("stack underflow")
    }

    /// Runs frames until the frame count drops back to `depth`.
    pub fn execute_until(&mut self, depth: usize) -> Result<Value, String> {
        while self.frames.len() > depth {
            let frame = self.frames.last_mut().unwrap();
            let op = frame.chunk.code[frame.ip].clone();
            frame.ip += 1;
            match op {
                Op::Constant(index) => {
                    let value = frame.chunk.constants[index].clone();
                    self.push(value);
                }
                Op::Index => self.index_op()?,
                Op::Add => {
                    let right = self.pop();
                    let left = self.pop();
                    self.push(left.add(&right)?);
                }
                Op::Call(argc) => self.call_closure_sync(argc)?,
                Op::Return => {
                    let result = self.pop();
                    let frame = self.frames.pop().unwrap();
                    self.stack.truncate(frame.base);
                    self.push(result);
                }
            }
        }
        Ok(self.pop())
    }

    /// `s[i]`, `xs[i]` and `d[k]`.
    fn index_op(&mut self) -> Result<(), String> {
        let index = self.pop();
        let target = self.pop();
        let value = match (&target, &index) {
            (Value::Str(s), Value::Int(i)) => {
                // Graphemes, not bytes: "e\u{301}"[0] is one character.
                let graphemes: Vec<&str> = s.graphemes(true).collect();
                let i = if *i < 0 { graphemes.len() as i64 + i } else { *i };
                graphemes
                    .get(i as usize)
                    .map(|g| Value::Str(Rc::from(*g)))
                    .unwrap_or(Value::Nil)
            }
            (Value::List(items), Value::Int(i)) => items.get(*i as usize).cloned().unwrap_or(Value::Nil),
            (Value::Dict(map), key) => map.get(key).cloned().unwrap_or(Value::Nil),
            _ => return Err(format!("cannot index {} with {}", target.type_name(), index.type_name())),
        };
        self.push(value);
        Ok(())
    }

    fn call_closure_sync(&mut self, argc: usize) -> Result<(), String> {
        let callee = self.stack[self.stack.len() - argc - 1].clone();
        match callee {
            Value::Function(chunk) => {
                let base = self.stack.len() - argc;
                self.frames.push(Frame { chunk, ip: 0, base });
                Ok(())
            }
            other => Err(format!("{} is not callable", other.type_name())),
        }
    }

    pub fn builtin_fold(&mut self, list: &[Value], init: Value, f: Value) -> Result<Value, String> {
        let mut acc = init;
        for item in list {
            self.push(f.clone());
            self.push(acc);
            self.push(item.clone());
            self.call_closure_sync(2)?;
            acc = self.execute_until(self.frames.len() - 1)?;
        }
        Ok(acc)
    }

    pub fn builtin_map(&mut self, list: &[Value], f: Value) -> Result<Value, String> {
        let mapped: Result<Vec<Value>, String> = list
            .iter()
            .map(|item| {
                self.push(f.clone());
                self.push(item.clone());
                self.call_closure_sync(1)?;
                self.execute_until(self.frames.len() - 1)
            })
            .collect();
        Ok(Value::List(Rc::new(mapped?)))
    }
}
