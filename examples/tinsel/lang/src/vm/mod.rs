//! The Tinsel bytecode VM: compiler, instruction set, values, builtins and runtime.

pub mod builtins;
pub mod bytecode;
pub mod compiler;
pub mod runtime;
pub mod value;
