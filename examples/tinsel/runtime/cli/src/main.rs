//! `tinsel-cli [-p] FILE`: run a Tinsel program and print its parts like santa-cli does:
//! `Part 1: <value> <N>ms`, coloured with ANSI escapes (also into a pipe).

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    // `-p` is accepted for compatibility with santa-cli; it changes nothing here.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "-p").collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: tinsel-cli [-p] FILE");
        return ExitCode::from(2);
    };
    match run(path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str) -> Result<(), String> {
    let source = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let program = lang::compile(&source)?;
    let parts = [(1, program.part_one), (2, program.part_two)];
    let mut vm = lang::VM::new(program);
    vm.run_main()?;
    for (number, func) in parts {
        let Some(func) = func else { continue };
        let start = Instant::now();
        let value = vm.call(func, Vec::new())?;
        let ms = start.elapsed().as_millis();
        println!("Part {number}: \x1b[32m{value}\x1b[0m \x1b[90m{ms}ms\x1b[0m");
    }
    Ok(())
}
