//! Builtin functions. Each takes its arguments already popped off the VM stack.

use super::value::Value;

fn bad_args(name: &str, args: &[Value]) -> String {
    let types: Vec<&str> = args.iter().map(Value::type_name).collect();
    format!("{name}() cannot take ({})", types.join(", "))
}

/// `len(x)`: characters in a string, elements in a list, entries in a dict.
pub fn builtin_len(args: &[Value]) -> Result<Value, String> {
    let n = match args {
        [Value::Str(s)] => s.chars().count(),
        [Value::Ints(xs)] => xs.len(),
        [Value::List(xs)] => xs.len(),
        [Value::Dict(d)] => d.len(),
        _ => return Err(bad_args("len", args)),
    };
    Ok(Value::Int(n as i64))
}

/// `push(xs, v)`: append `v` to the list variable `xs`, in place.
#[inline(never)]
pub fn builtin_push(list: &mut Value, item: Value) -> Result<(), String> {
    match (&mut *list, item) {
        (Value::Ints(xs), Value::Int(n)) => {
            // Packed lists are kept exactly as long as their contents.
            // NOTE: so every push allocates a new buffer and copies the whole list into it (O(len) per push).
            **xs = [xs.as_slice(), &[n]].concat();
        }
        (Value::List(items), item) => items.push(item),
        (Value::Ints(_), item) => {
            list.unpack();
            if let Value::List(items) = list {
                items.push(item);
            }
        }
        (other, item) => return Err(bad_args("push", &[other.clone(), item])),
    }
    Ok(())
}

/// `print(a, b, ...)`: write the values to stdout, separated by spaces.
pub fn builtin_print(args: &[Value]) -> Result<Value, String> {
    let parts: Vec<String> = args.iter().map(Value::to_string).collect();
    println!("{}", parts.join(" "));
    Ok(Value::Nil)
}

/// `str(x)`: the printed form of any value.
pub fn builtin_str(args: &[Value]) -> Result<Value, String> {
    match args {
        [value] => Ok(Value::str(&value.to_string())),
        _ => Err(bad_args("str", args)),
    }
}

/// `keys(d)`: the keys of a dict, sorted.
pub fn builtin_keys(args: &[Value]) -> Result<Value, String> {
    let [Value::Dict(d)] = args else {
        return Err(bad_args("keys", args));
    };
    let mut keys: Vec<&String> = d.keys().collect();
    keys.sort();
    Ok(Value::List(Box::new(keys.into_iter().map(|k| Value::str(k)).collect())))
}

/// `range(n)`: the list `[0, 1, ..., n - 1]`.
pub fn builtin_range(args: &[Value]) -> Result<Value, String> {
    match args {
        [Value::Int(n)] => Ok(Value::Ints(Box::new((0..*n).collect()))),
        _ => Err(bad_args("range", args)),
    }
}
