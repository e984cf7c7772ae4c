//! Lexer: source text to a flat list of tokens, each with its line number.

#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    Int(i64),
    Str(String),
    /// Identifiers and keywords alike; the parser tells them apart.
    Name(String),
    Punct(&'static str),
    Eof,
}

/// Longest first, so that `==` wins over `=`.
const PUNCTS: [&str; 25] = [
    "#{", "==", "!=", "<=", ">=", "&&", "||", "(", ")", "{", "}", "[", "]", ",", ";", ":", "+", "-", "*", "/", "%",
    "<", ">", "=", "!",
];

pub fn tokenize(src: &str) -> Result<Vec<(Token, usize)>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text.parse().map_err(|_| format!("line {line}: integer too large: {text}"))?;
            tokens.push((Token::Int(n), line));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((Token::Name(chars[start..i].iter().collect()), line));
        } else if c == '"' {
            let (start_line, mut s) = (line, String::new());
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("line {start_line}: unterminated string")),
                    Some('"') => break,
                    Some('\\') => {
                        s.push(match chars.get(i + 1) {
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some(&other) => other,
                            None => return Err(format!("line {line}: unterminated string")),
                        });
                        i += 1;
                    }
                    Some(&other) => {
                        line += usize::from(other == '\n');
                        s.push(other);
                    }
                }
                i += 1;
            }
            i += 1;
            tokens.push((Token::Str(s), start_line));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let punct = PUNCTS.iter().find(|p| rest.starts_with(**p));
            let p = punct.ok_or_else(|| format!("line {line}: unexpected character '{c}'"))?;
            tokens.push((Token::Punct(p), line));
            i += p.len();
        }
    }
    tokens.push((Token::Eof, line));
    Ok(tokens)
}
