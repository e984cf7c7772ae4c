//! The stack VM: one value stack shared by all call frames, and a dispatch loop.
//!
//! A frame's locals live on the value stack at `base..base + num_locals`;
//! its temporaries are pushed above them.

use std::collections::HashMap;
use std::rc::Rc;

use super::builtins;
use super::bytecode::{Builtin, Op, Program, Var};
use super::value::Value;

const MAX_FRAMES: usize = 10_000;

struct Frame {
    func: usize,
    ip: usize,
    base: usize,
}

pub struct VM {
    program: Rc<Program>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    globals: HashMap<String, Value>,
}

impl VM {
    pub fn new(program: Program) -> VM {
        VM { program: Rc::new(program), stack: Vec::with_capacity(1024), frames: Vec::new(), globals: HashMap::new() }
    }

    /// Run the top-level statements, which define the globals.
    pub fn run_main(&mut self) -> Result<(), String> {
        self.call(self.program.main, Vec::new()).map(|_| ())
    }

    /// Call a function by name (handy for tests and embedding).
    pub fn call_named(&mut self, name: &str, args: Vec<Value>) -> Result<Value, String> {
        let func = self.program.function_named(name).ok_or_else(|| format!("no function '{name}'"))?;
        self.call(func, args)
    }

    /// Call function `func` with `args` and run it to completion.
    pub fn call(&mut self, func: usize, args: Vec<Value>) -> Result<Value, String> {
        let (depth, height) = (self.frames.len(), self.stack.len());
        let argc = args.len();
        self.stack.extend(args);
        let result = self.call_function(func, argc).and_then(|()| self.run(depth));
        result.map_err(|e| {
            let name = self.frames.last().map_or("?", |f| &self.program.functions[f.func].name);
            let message = format!("runtime error in {name}: {e}");
            self.frames.truncate(depth);
            self.stack.truncate(height);
            message
        })
    }

    /// The dispatch loop. Returns when the frame at depth `stop_depth` returns.
    #[inline(never)]
    fn run(&mut self, stop_depth: usize) -> Result<Value, String> {
        // Operand stack traffic of the loop.
        // NOTE: every push and pop goes through Vec's capacity/length checks and moves a whole Value.
        macro_rules! push {
            ($value:expr) => {
                self.stack.push($value)
            };
        }
        macro_rules! pop {
            () => {
                self.stack.pop().expect("stack underflow")
            };
        }
        // The running function's code, instruction pointer and stack base live in
        // locals; `ip` is saved into the frame only when another function is entered.
        let program = Rc::clone(&self.program);
        let frame = self.frames.last().expect("no call frame");
        let (mut func, mut ip, mut base) = (frame.func, frame.ip, frame.base);
        let mut code = &program.functions[func].chunk.code[..];
        loop {
            let op = code[ip];
            ip += 1;
            match op {
                Op::Int(n) => push!(Value::Int(n)),
                Op::Const(i) => {
                    let value = program.functions[func].chunk.constants[i as usize].clone();
                    push!(value);
                }
                Op::Nil => push!(Value::Nil),
                Op::True => push!(Value::Bool(true)),
                Op::False => push!(Value::Bool(false)),
                Op::Pop => _ = pop!(),
                Op::Dup => {
                    let top = self.stack.last().expect("stack underflow").clone();
                    push!(top);
                }
                Op::GetLocal(slot) => match self.stack[base + slot as usize] {
                    // Integers are by far the most common local; copy them right here.
                    Value::Int(n) => push!(Value::Int(n)),
                    _ => self.load_local(base + slot as usize),
                },
                Op::SetLocal(slot) => self.stack[base + slot as usize] = pop!(),
                Op::GetGlobal(index) => self.load_global(index),
                Op::SetGlobal(index) => self.store_global(index),
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => {
                    let b = pop!();
                    let a = pop!();
                    let result = match (&a, &b) {
                        (Value::Int(x), Value::Int(y)) => Value::Int(match op {
                            Op::Add => x.wrapping_add(*y),
                            Op::Sub => x.wrapping_sub(*y),
                            Op::Mul => x.wrapping_mul(*y),
                            Op::Div => x.checked_div(*y).ok_or("division by zero")?,
                            _ => x.checked_rem(*y).ok_or("division by zero")?,
                        }),
                        _ => self.binary_op(op, a, b)?,
                    };
                    push!(result);
                }
                Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let b = pop!();
                    let a = pop!();
                    let result = match (&a, &b) {
                        (Value::Int(x), Value::Int(y)) => Value::Bool(match op {
                            Op::Eq => x == y,
                            Op::Ne => x != y,
                            Op::Lt => x < y,
                            Op::Le => x <= y,
                            Op::Gt => x > y,
                            _ => x >= y,
                        }),
                        _ => self.binary_op(op, a, b)?,
                    };
                    push!(result);
                }
                Op::Neg => match pop!() {
                    Value::Int(n) => push!(Value::Int(n.wrapping_neg())),
                    other => return Err(format!("cannot negate {}", other.type_name())),
                },
                Op::Not => {
                    let falsy = matches!(pop!(), Value::Nil | Value::Bool(false));
                    push!(Value::Bool(falsy));
                }
                Op::Jump(target) => ip = target as usize,
                Op::JumpIfFalse(target) => {
                    if let Value::Nil | Value::Bool(false) = pop!() {
                        ip = target as usize;
                    }
                }
                Op::MakeList(n) => {
                    let items = self.stack.split_off(self.stack.len() - n as usize);
                    push!(Value::list(items));
                }
                Op::MakeDict(n) => self.make_dict(n as usize)?,
                Op::Index => self.index_op()?,
                Op::SetIndex(var) => self.set_index(var)?,
                Op::Push(var) => {
                    let item = pop!();
                    builtins::builtin_push(self.var_mut(var)?, item)?;
                }
                Op::Call(callee, argc) => {
                    self.frames.last_mut().expect("no call frame").ip = ip;
                    self.call_function(callee as usize, argc as usize)?;
                    (func, ip, base) = (callee as usize, 0, self.frames.last().expect("no call frame").base);
                    code = &program.functions[func].chunk.code;
                }
                Op::CallBuiltin(builtin, argc) => self.call_builtin(builtin, argc as usize)?,
                Op::Return => {
                    let result = pop!();
                    let frame = self.frames.pop().expect("no call frame");
                    self.stack.truncate(frame.base);
                    if self.frames.len() == stop_depth {
                        return Ok(result);
                    }
                    let caller = self.frames.last().expect("no call frame");
                    (func, ip, base) = (caller.func, caller.ip, caller.base);
                    code = &program.functions[func].chunk.code;
                    push!(result);
                }
            }
        }
    }

    /// `GetLocal` for anything but an integer: push a copy of the local at `index`.
    #[inline(never)]
    fn load_local(&mut self, index: usize) {
        let value = match &self.stack[index] {
            // Packed lists are copied with one memcpy rather than element by element.
            // NOTE: lists are values, so every read of a list variable copies the whole list (O(len)).
            Value::Ints(xs) => Value::Ints(xs.clone()),
            other => other.clone(),
        };
        self.stack.push(value);
    }

    /// `GetGlobal`: push the value of a global variable. Like Lua, a global
    /// that was never assigned reads as nil.
    #[inline(never)]
    fn load_global(&mut self, index: u32) {
        let name = &self.program.global_names[index as usize];
        // NOTE: globals are kept by name: every read copies the name into a fresh key and hashes all of it.
        let value = self.globals.entry(name.clone()).or_insert(Value::Nil).clone();
        self.stack.push(value);
    }

    /// `SetGlobal`: pop into a global, defining it on first use.
    #[inline(never)]
    fn store_global(&mut self, index: u32) {
        let value = self.stack.pop().expect("stack underflow");
        let name = &self.program.global_names[index as usize];
        self.globals.insert(name.clone(), value);
    }

    /// The variable an in-place instruction writes through.
    fn var_mut(&mut self, var: Var) -> Result<&mut Value, String> {
        match var {
            Var::Local(slot) => {
                let base = self.frames.last().expect("no call frame").base;
                Ok(&mut self.stack[base + slot as usize])
            }
            Var::Global(index) => {
                let name = &self.program.global_names[index as usize];
                self.globals.get_mut(name).ok_or_else(|| format!("undefined variable '{name}'"))
            }
        }
    }

    /// Arithmetic and comparison on anything that is not a pair of integers.
    #[inline(never)]
    fn binary_op(&mut self, op: Op, a: Value, b: Value) -> Result<Value, String> {
        Ok(match (op, &a, &b) {
            (Op::Eq, _, _) => Value::Bool(a == b),
            (Op::Ne, _, _) => Value::Bool(a != b),
            (Op::Add, Value::Str(x), Value::Str(y)) => Value::Str(Rc::new(format!("{x}{y}"))),
            (Op::Lt, Value::Str(x), Value::Str(y)) => Value::Bool(x < y),
            (Op::Le, Value::Str(x), Value::Str(y)) => Value::Bool(x <= y),
            (Op::Gt, Value::Str(x), Value::Str(y)) => Value::Bool(x > y),
            (Op::Ge, Value::Str(x), Value::Str(y)) => Value::Bool(x >= y),
            _ => return Err(format!("cannot apply {op:?} to {} and {}", a.type_name(), b.type_name())),
        })
    }

    /// `Index`: `container[key]` for strings, lists and dicts. Out of range gives nil.
    #[inline(never)]
    fn index_op(&mut self) -> Result<(), String> {
        let key = self.stack.pop().expect("stack underflow");
        let container = self.stack.pop().expect("stack underflow");
        let position = |i: &i64| usize::try_from(*i).ok();
        let value = match (&container, &key) {
            (Value::Str(s), Value::Int(i)) => {
                // Index by character, not byte, so that non-ASCII text works.
                // NOTE: decodes the whole string into a fresh Vec<char> on every access (O(len)).
                let chars: Vec<char> = s.chars().collect();
                match position(i).and_then(|i| chars.get(i)) {
                    Some(c) => Value::Str(c.to_string().into()),
                    None => Value::Nil,
                }
            }
            (Value::Ints(xs), Value::Int(i)) => {
                position(i).and_then(|i| xs.get(i)).map_or(Value::Nil, |n| Value::Int(*n))
            }
            (Value::List(xs), Value::Int(i)) => position(i).and_then(|i| xs.get(i)).cloned().unwrap_or(Value::Nil),
            (Value::Dict(d), Value::Str(k)) => d.get(k.as_str()).cloned().unwrap_or(Value::Nil),
            _ => return Err(format!("cannot index {} with {}", container.type_name(), key.type_name())),
        };
        self.stack.push(value);
        Ok(())
    }

    /// `SetIndex`: `name[key] = value`, in place.
    fn set_index(&mut self, var: Var) -> Result<(), String> {
        let value = self.stack.pop().expect("stack underflow");
        let key = self.stack.pop().expect("stack underflow");
        let target = self.var_mut(var)?;
        if matches!(target, Value::Ints(_)) && !matches!(value, Value::Int(_)) {
            target.unpack();
        }
        fn slot<T>(xs: &mut [T], i: i64) -> Result<&mut T, String> {
            let len = xs.len();
            usize::try_from(i)
                .ok()
                .and_then(|i| xs.get_mut(i))
                .ok_or_else(|| format!("index {i} out of range for length {len}"))
        }
        match (target, key, value) {
            (Value::Ints(xs), Value::Int(i), Value::Int(n)) => *slot(xs, i)? = n,
            (Value::List(xs), Value::Int(i), value) => *slot(xs, i)? = value,
            (Value::Dict(d), Value::Str(k), value) => _ = d.insert(k.to_string(), value),
            (target, key, _) => return Err(format!("cannot set {}[{}]", target.type_name(), key.type_name())),
        }
        Ok(())
    }

    fn make_dict(&mut self, pairs: usize) -> Result<(), String> {
        let items = self.stack.split_off(self.stack.len() - 2 * pairs);
        let mut dict = HashMap::new();
        let mut items = items.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            let Value::Str(key) = key else {
                return Err(format!("dict keys must be strings, not {}", key.type_name()));
            };
            dict.insert(key.to_string(), value);
        }
        self.stack.push(Value::Dict(Box::new(dict)));
        Ok(())
    }

    /// Push a frame for `func`, whose `argc` arguments are on top of the stack.
    #[inline(never)]
    fn call_function(&mut self, func: usize, argc: usize) -> Result<(), String> {
        let function = &self.program.functions[func];
        if argc != function.arity {
            return Err(format!("{}() takes {} arguments, got {argc}", function.name, function.arity));
        }
        if self.frames.len() >= MAX_FRAMES {
            return Err("stack overflow (too much recursion)".into());
        }
        let base = self.stack.len() - argc;
        // Locals past the parameters start out as nil.
        self.stack.resize(base + function.num_locals, Value::Nil);
        self.frames.push(Frame { func, ip: 0, base });
        Ok(())
    }

    fn call_builtin(&mut self, builtin: Builtin, argc: usize) -> Result<(), String> {
        let args = self.stack.split_off(self.stack.len() - argc);
        let result = match builtin {
            Builtin::Len => builtins::builtin_len(&args)?,
            Builtin::Print => builtins::builtin_print(&args)?,
            Builtin::Str => builtins::builtin_str(&args)?,
            Builtin::Keys => builtins::builtin_keys(&args)?,
            Builtin::Range => builtins::builtin_range(&args)?,
        };
        self.stack.push(result);
        Ok(())
    }
}
