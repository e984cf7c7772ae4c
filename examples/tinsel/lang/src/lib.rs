//! Tinsel: a small dynamically typed language compiled to bytecode and run on a stack VM.
//!
//! Pipeline: [`lexer`] -> [`parser`] -> [`vm::compiler`] -> [`vm::runtime::VM`].

pub mod lexer;
pub mod parser;
pub mod vm;

pub use vm::compiler::compile;
pub use vm::runtime::VM;
pub use vm::value::Value;

#[cfg(test)]
mod tests;
