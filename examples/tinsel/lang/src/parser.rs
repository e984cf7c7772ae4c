//! Recursive-descent parser: tokens to a small AST.

use crate::lexer::{tokenize, Token};

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(i64),
    Str(String),
    Bool(bool),
    Nil,
    Var(String),
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Index(Box<Expr>, Box<Expr>),
    /// `-x` or `!x`.
    Unary(&'static str, Box<Expr>),
    /// Any binary operator, including the short-circuiting `&&` and `||`.
    Binary(&'static str, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    Let(String, Expr),
    Assign(String, Expr),
    /// `name[key] = value`: writes into the variable in place.
    SetIndex(String, Expr, Expr),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
    While(Expr, Vec<Stmt>),
    Return(Option<Expr>),
    Expr(Expr),
    Fn(String, Vec<String>, Vec<Stmt>),
    /// `part_one { ... }` (1) or `part_two { ... }` (2).
    Part(u8, Vec<Stmt>),
}

/// Binary operators by precedence, loosest first.
const LEVELS: [&[&str]; 5] = [&["||"], &["&&"], &["==", "!=", "<", "<=", ">", ">="], &["+", "-"], &["*", "/", "%"]];

pub fn parse(src: &str) -> Result<Vec<Stmt>, String> {
    let mut parser = Parser { tokens: tokenize(src)?, pos: 0 };
    let mut program = Vec::new();
    while parser.peek() != &Token::Eof {
        program.push(parser.statement(true)?);
    }
    Ok(program)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos].0
    }

    fn next(&mut self) -> Token {
        let token = self.tokens[self.pos].0.clone();
        self.pos = (self.pos + 1).min(self.tokens.len() - 1);
        token
    }

    fn error<T>(&self, what: &str) -> Result<T, String> {
        let (token, line) = &self.tokens[self.pos];
        Err(format!("line {line}: expected {what}, found {token:?}"))
    }

    fn is(&self, punct: &str) -> bool {
        matches!(self.peek(), Token::Punct(p) if *p == punct)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Name(n) if n == word)
    }

    fn eat(&mut self, punct: &str) -> bool {
        let found = self.is(punct);
        if found {
            self.next();
        }
        found
    }

    fn expect(&mut self, punct: &str) -> Result<(), String> {
        if self.eat(punct) {
            Ok(())
        } else {
            self.error(&format!("'{punct}'"))
        }
    }

    fn name(&mut self) -> Result<String, String> {
        match self.peek().clone() {
            Token::Name(n) => {
                self.next();
                Ok(n)
            }
            _ => self.error("a name"),
        }
    }

    fn block(&mut self) -> Result<Vec<Stmt>, String> {
        self.expect("{")?;
        let mut body = Vec::new();
        while !self.eat("}") {
            if self.peek() == &Token::Eof {
                return self.error("'}'");
            }
            body.push(self.statement(false)?);
        }
        Ok(body)
    }

    fn statement(&mut self, top_level: bool) -> Result<Stmt, String> {
        let word = match self.peek() {
            Token::Name(n) => n.clone(),
            _ => String::new(),
        };
        match word.as_str() {
            "fn" if top_level => {
                self.next();
                let name = self.name()?;
                self.expect("(")?;
                let mut params = Vec::new();
                while !self.eat(")") {
                    params.push(self.name()?);
                    if !self.is(")") {
                        self.expect(",")?;
                    }
                }
                Ok(Stmt::Fn(name, params, self.block()?))
            }
            "part_one" | "part_two" if top_level => {
                self.next();
                Ok(Stmt::Part(if word == "part_one" { 1 } else { 2 }, self.block()?))
            }
            "let" => {
                self.next();
                let name = self.name()?;
                self.expect("=")?;
                let value = self.expr()?;
                self.expect(";")?;
                Ok(Stmt::Let(name, value))
            }
            "if" => {
                self.next();
                let cond = self.expr()?;
                let then = self.block()?;
                let otherwise = if !self.is_word("else") {
                    Vec::new()
                } else {
                    self.next();
                    if self.is_word("if") {
                        vec![self.statement(false)?]
                    } else {
                        self.block()?
                    }
                };
                Ok(Stmt::If(cond, then, otherwise))
            }
            "while" => {
                self.next();
                let cond = self.expr()?;
                Ok(Stmt::While(cond, self.block()?))
            }
            "return" => {
                self.next();
                let value = if self.is(";") { None } else { Some(self.expr()?) };
                self.expect(";")?;
                Ok(Stmt::Return(value))
            }
            _ => {
                let target = self.expr()?;
                let stmt = if !self.eat("=") {
                    Stmt::Expr(target)
                } else {
                    let value = self.expr()?;
                    match target {
                        Expr::Var(name) => Stmt::Assign(name, value),
                        Expr::Index(list, key) => match *list {
                            Expr::Var(name) => Stmt::SetIndex(name, *key, value),
                            _ => return self.error("a variable before '[' in an assignment"),
                        },
                        _ => return self.error("a variable or index on the left of '='"),
                    }
                };
                self.expect(";")?;
                Ok(stmt)
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        self.binary(0)
    }

    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = LEVELS[level].iter().find(|op| self.is(op)) {
            self.next();
            left = Expr::Binary(op, Box::new(left), Box::new(self.binary(level + 1)?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        for op in ["-", "!"] {
            if self.eat(op) {
                return Ok(Expr::Unary(op, Box::new(self.unary()?)));
            }
        }
        let mut expr = self.primary()?;
        while self.eat("[") {
            let key = self.expr()?;
            self.expect("]")?;
            expr = Expr::Index(Box::new(expr), Box::new(key));
        }
        Ok(expr)
    }

    /// Comma-separated expressions up to `close`.
    fn list(&mut self, close: &str) -> Result<Vec<Expr>, String> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(self.expr()?);
            if !self.is(close) {
                self.expect(",")?;
            }
        }
        Ok(items)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let start = self.pos;
        match self.next() {
            Token::Int(n) => Ok(Expr::Int(n)),
            Token::Str(s) => Ok(Expr::Str(s)),
            Token::Name(n) => Ok(match n.as_str() {
                "true" => Expr::Bool(true),
                "false" => Expr::Bool(false),
                "nil" => Expr::Nil,
                _ if self.eat("(") => Expr::Call(n, self.list(")")?),
                _ => Expr::Var(n),
            }),
            Token::Punct("(") => {
                let inner = self.expr()?;
                self.expect(")")?;
                Ok(inner)
            }
            Token::Punct("[") => Ok(Expr::List(self.list("]")?)),
            Token::Punct("#{") => {
                let mut pairs = Vec::new();
                while !self.eat("}") {
                    let key = self.expr()?;
                    self.expect(":")?;
                    pairs.push((key, self.expr()?));
                    if !self.is("}") {
                        self.expect(",")?;
                    }
                }
                Ok(Expr::Dict(pairs))
            }
            _ => {
                self.pos = start;
                self.error("an expression")
            }
        }
    }
}
