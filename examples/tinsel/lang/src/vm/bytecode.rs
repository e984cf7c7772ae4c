//! The instruction set: what the compiler emits and the VM executes.

use super::value::Value;

/// The variable an in-place instruction (`xs[i] = v`, `push(xs, v)`) writes through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Var {
    /// Slot in the current call frame.
    Local(u32),
    /// Index into `Program::global_names`.
    Global(u32),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Builtin {
    Len,
    Print,
    Str,
    Keys,
    Range,
}

impl Builtin {
    pub fn from_name(name: &str) -> Option<Builtin> {
        Some(match name {
            "len" => Builtin::Len,
            "print" => Builtin::Print,
            "str" => Builtin::Str,
            "keys" => Builtin::Keys,
            "range" => Builtin::Range,
            _ => return None,
        })
    }
}

/// One instruction. Operands are inline; jump targets are absolute indices into `Chunk::code`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// Push an integer literal.
    Int(i64),
    /// Push `chunk.constants[i]` (string literals).
    Const(u32),
    Nil,
    True,
    False,
    Pop,
    Dup,
    GetLocal(u32),
    /// Pop into a local slot.
    SetLocal(u32),
    GetGlobal(u32),
    /// Pop into a global (defining it if needed).
    SetGlobal(u32),
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Neg,
    Not,
    Jump(u32),
    /// Pop the condition; jump when it is false or nil.
    JumpIfFalse(u32),
    /// Pop n values into a list.
    MakeList(u32),
    /// Pop n key/value pairs into a dict.
    MakeDict(u32),
    /// `[container, key]` -> `[container[key]]`.
    Index,
    /// `[key, value]` -> `[]`, storing into the variable in place.
    SetIndex(Var),
    /// `[value]` -> `[]`, appending to the list variable in place.
    Push(Var),
    /// Call function `.0` with `.1` arguments from the stack.
    Call(u32, u32),
    CallBuiltin(Builtin, u32),
    Return,
}

#[derive(Debug, Default)]
pub struct Chunk {
    pub code: Vec<Op>,
    pub constants: Vec<Value>,
}

#[derive(Debug)]
pub struct Function {
    pub name: String,
    pub arity: usize,
    /// Parameters plus every `let` slot the body needs.
    pub num_locals: usize,
    pub chunk: Chunk,
}

#[derive(Debug)]
pub struct Program {
    pub functions: Vec<Function>,
    /// Global variable names, indexed by `GetGlobal` / `SetGlobal`.
    pub global_names: Vec<String>,
    /// The top-level statements, run once before the parts.
    pub main: usize,
    pub part_one: Option<usize>,
    pub part_two: Option<usize>,
}

impl Program {
    pub fn function_named(&self, name: &str) -> Option<usize> {
        self.functions.iter().position(|f| f.name == name)
    }
}
