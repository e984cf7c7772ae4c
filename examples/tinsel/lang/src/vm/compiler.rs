//! Compiler: AST to bytecode.
//!
//! Variables declared with `let` inside a function or part are locals (stack
//! slots); everything else is a global, looked up by name at run time.
//! Calls are resolved statically: to a top-level `fn` or to a builtin.

use std::collections::HashMap;

use super::bytecode::{Builtin, Chunk, Function, Op, Program, Var};
use super::value::Value;
use crate::parser::{parse, Expr, Stmt};

pub fn compile(src: &str) -> Result<Program, String> {
    let ast = parse(src)?;
    let mut c = Compiler::default();
    // Pass 1: number every function first, so calls may refer to later ones.
    c.functions.push(Function { name: "<main>".into(), arity: 0, num_locals: 0, chunk: Chunk::default() });
    let mut bodies = Vec::new();
    let mut top = Vec::new();
    let (mut part_one, mut part_two) = (None, None);
    for stmt in ast {
        let (name, params, body) = match stmt {
            Stmt::Fn(name, params, body) => (name, params, body),
            Stmt::Part(n, body) => {
                *(if n == 1 { &mut part_one } else { &mut part_two }) = Some(c.functions.len());
                (format!("<part {n}>"), Vec::new(), body)
            }
            other => {
                top.push(other);
                continue;
            }
        };
        if c.fn_index.insert(name.clone(), c.functions.len()).is_some() {
            return Err(format!("function '{name}' is defined twice"));
        }
        let arity = params.len();
        c.functions.push(Function { name, arity, num_locals: 0, chunk: Chunk::default() });
        bodies.push((params, body));
    }
    // Pass 2: compile the bodies.
    c.compile_function(0, None, &top)?;
    for (i, (params, body)) in bodies.iter().enumerate() {
        c.compile_function(i + 1, Some(params), body)?;
    }
    Ok(Program { functions: c.functions, global_names: c.global_names, main: 0, part_one, part_two })
}

#[derive(Default)]
struct Compiler {
    functions: Vec<Function>,
    fn_index: HashMap<String, usize>,
    global_names: Vec<String>,
    /// State of the function being compiled.
    chunk: Chunk,
    /// `None` at top level, where every variable is global.
    locals: Option<Vec<String>>,
    max_locals: usize,
}

impl Compiler {
    fn compile_function(&mut self, index: usize, params: Option<&Vec<String>>, body: &[Stmt]) -> Result<(), String> {
        self.chunk = Chunk::default();
        self.locals = params.cloned();
        self.max_locals = params.map_or(0, |p| p.len());
        self.block(body)?;
        self.emit(Op::Nil);
        self.emit(Op::Return);
        let function = &mut self.functions[index];
        function.chunk = std::mem::take(&mut self.chunk);
        function.num_locals = self.max_locals;
        Ok(())
    }

    fn emit(&mut self, op: Op) -> usize {
        self.chunk.code.push(op);
        self.chunk.code.len() - 1
    }

    /// Point the jump at `at` to the next instruction.
    fn patch(&mut self, at: usize) {
        let target = self.chunk.code.len() as u32;
        match &mut self.chunk.code[at] {
            Op::Jump(t) | Op::JumpIfFalse(t) => *t = target,
            other => unreachable!("patching {other:?}"),
        }
    }

    fn global(&mut self, name: &str) -> u32 {
        let found = self.global_names.iter().position(|n| n == name);
        found.unwrap_or_else(|| {
            self.global_names.push(name.to_string());
            self.global_names.len() - 1
        }) as u32
    }

    fn resolve(&mut self, name: &str) -> Var {
        let slot = self.locals.as_ref().and_then(|l| l.iter().rposition(|n| n == name));
        match slot {
            Some(slot) => Var::Local(slot as u32),
            None => Var::Global(self.global(name)),
        }
    }

    /// Compile a block; its `let`s go out of scope at the end (their slots are reused).
    fn block(&mut self, body: &[Stmt]) -> Result<(), String> {
        let scope = self.locals.as_ref().map(|l| l.len());
        for stmt in body {
            self.statement(stmt)?;
        }
        if let (Some(locals), Some(len)) = (&mut self.locals, scope) {
            locals.truncate(len);
        }
        Ok(())
    }

    fn store(&mut self, var: Var) {
        self.emit(match var {
            Var::Local(slot) => Op::SetLocal(slot),
            Var::Global(index) => Op::SetGlobal(index),
        });
    }

    fn statement(&mut self, stmt: &Stmt) -> Result<(), String> {
        match stmt {
            Stmt::Let(name, value) => {
                self.expr(value)?;
                let var = match &mut self.locals {
                    Some(locals) => {
                        locals.push(name.clone());
                        self.max_locals = self.max_locals.max(locals.len());
                        Var::Local(locals.len() as u32 - 1)
                    }
                    None => Var::Global(self.global(name)),
                };
                self.store(var);
            }
            Stmt::Assign(name, value) => {
                self.expr(value)?;
                let var = self.resolve(name);
                self.store(var);
            }
            Stmt::SetIndex(name, key, value) => {
                self.expr(key)?;
                self.expr(value)?;
                let var = self.resolve(name);
                self.emit(Op::SetIndex(var));
            }
            Stmt::If(cond, then, otherwise) => {
                self.expr(cond)?;
                let skip_then = self.emit(Op::JumpIfFalse(0));
                self.block(then)?;
                let skip_else = self.emit(Op::Jump(0));
                self.patch(skip_then);
                self.block(otherwise)?;
                self.patch(skip_else);
            }
            Stmt::While(cond, body) => {
                let top = self.chunk.code.len() as u32;
                self.expr(cond)?;
                let exit = self.emit(Op::JumpIfFalse(0));
                self.block(body)?;
                self.emit(Op::Jump(top));
                self.patch(exit);
            }
            Stmt::Return(value) => {
                match value {
                    Some(value) => self.expr(value)?,
                    None => _ = self.emit(Op::Nil),
                }
                self.emit(Op::Return);
            }
            Stmt::Expr(e) => {
                self.expr(e)?;
                self.emit(Op::Pop);
            }
            Stmt::Fn(..) | Stmt::Part(..) => return Err("functions and parts must be at top level".into()),
        }
        Ok(())
    }

    fn expr(&mut self, expr: &Expr) -> Result<(), String> {
        match expr {
            Expr::Int(n) => _ = self.emit(Op::Int(*n)),
            Expr::Str(s) => {
                self.chunk.constants.push(Value::str(s));
                self.emit(Op::Const(self.chunk.constants.len() as u32 - 1));
            }
            Expr::Bool(b) => _ = self.emit(if *b { Op::True } else { Op::False }),
            Expr::Nil => _ = self.emit(Op::Nil),
            Expr::Var(name) => {
                let op = match self.resolve(name) {
                    Var::Local(slot) => Op::GetLocal(slot),
                    Var::Global(index) => Op::GetGlobal(index),
                };
                self.emit(op);
            }
            Expr::List(items) => {
                for item in items {
                    self.expr(item)?;
                }
                self.emit(Op::MakeList(items.len() as u32));
            }
            Expr::Dict(pairs) => {
                for (key, value) in pairs {
                    self.expr(key)?;
                    self.expr(value)?;
                }
                self.emit(Op::MakeDict(pairs.len() as u32));
            }
            Expr::Index(container, key) => {
                self.expr(container)?;
                self.expr(key)?;
                self.emit(Op::Index);
            }
            Expr::Unary(op, operand) => {
                self.expr(operand)?;
                self.emit(if *op == "-" { Op::Neg } else { Op::Not });
            }
            Expr::Binary("&&", left, right) => {
                // Leave the left value when it is falsy, else evaluate the right.
                self.expr(left)?;
                self.emit(Op::Dup);
                let done = self.emit(Op::JumpIfFalse(0));
                self.emit(Op::Pop);
                self.expr(right)?;
                self.patch(done);
            }
            Expr::Binary("||", left, right) => {
                self.expr(left)?;
                self.emit(Op::Dup);
                let eval_right = self.emit(Op::JumpIfFalse(0));
                let done = self.emit(Op::Jump(0));
                self.patch(eval_right);
                self.emit(Op::Pop);
                self.expr(right)?;
                self.patch(done);
            }
            Expr::Binary(op, left, right) => {
                self.expr(left)?;
                self.expr(right)?;
                self.emit(match *op {
                    "+" => Op::Add,
                    "-" => Op::Sub,
                    "*" => Op::Mul,
                    "/" => Op::Div,
                    "%" => Op::Mod,
                    "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    other => unreachable!("parser produced operator {other}"),
                });
            }
            Expr::Call(name, args) => self.call(name, args)?,
        }
        Ok(())
    }

    fn call(&mut self, name: &str, args: &[Expr]) -> Result<(), String> {
        if let Some(&index) = self.fn_index.get(name) {
            let arity = self.functions[index].arity;
            if args.len() != arity {
                return Err(format!("{name}() takes {arity} arguments, got {}", args.len()));
            }
            for arg in args {
                self.expr(arg)?;
            }
            self.emit(Op::Call(index as u32, args.len() as u32));
        } else if name == "push" {
            // push(xs, v) appends to the variable xs in place, so it needs a variable.
            let [Expr::Var(list), item] = args else {
                return Err("push() takes a list variable and a value".into());
            };
            self.expr(item)?;
            let var = self.resolve(list);
            self.emit(Op::Push(var));
            self.emit(Op::Nil);
        } else {
            let builtin = Builtin::from_name(name).ok_or_else(|| format!("unknown function '{name}'"))?;
            for arg in args {
                self.expr(arg)?;
            }
            self.emit(Op::CallBuiltin(builtin, args.len() as u32));
        }
        Ok(())
    }
}
