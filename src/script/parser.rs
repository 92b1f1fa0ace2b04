//! A recursive-descent parser for the Painless subset, from tokens to a [`Program`].
//!
//! Precedence, loosest first: assignment (`=`, `+=`, ...; right-associative), `?:`, `||`, `&&`,
//! `==` `!=`, `<` `<=` `>` `>=`, `+` `-`, `*` `/` `%`, unary `!` `-` `++` `--`, then postfix
//! `.field`, `[index]`, `.method(args)`, `++`, `--`. Constructs outside the subset (loops,
//! lambdas, `new`, casts, bitwise operators, ...) are compile errors that name them, so that a
//! script is never run with a different meaning.

use serde_json::{Number, Value};

use super::ast::{BinOp, Expr, ExprKind, Program, Stmt, StmtKind};
use super::error::ScriptError;
use super::lexer::{tokenize, Spanned, Token};

/// How deeply expressions and blocks may nest: a bound on the parser's and evaluator's stack.
const MAX_DEPTH: usize = 64;

/// Declared types, all taken as `def` (esocc does not type-check).
const TYPES: [&str; 19] = [
    "def",
    "int",
    "long",
    "short",
    "byte",
    "float",
    "double",
    "boolean",
    "char",
    "String",
    "Object",
    "List",
    "Map",
    "ArrayList",
    "HashMap",
    "Integer",
    "Long",
    "Double",
    "Boolean",
];

/// Keywords of constructs outside the subset, and how an error names them.
const UNSUPPORTED_KEYWORDS: [(&str, &str); 11] = [
    ("for", "[for] loops"),
    ("while", "[while] loops"),
    ("do", "[do] loops"),
    ("try", "[try] statements"),
    ("catch", "[catch] clauses"),
    ("throw", "[throw] statements"),
    ("return", "[return] statements"),
    ("break", "[break] statements"),
    ("continue", "[continue] statements"),
    ("new", "[new] expressions"),
    ("instanceof", "the [instanceof] operator"),
];

/// Operators outside the subset, and how an error names them.
const UNSUPPORTED_PUNCTUATION: [(&str, &str); 13] = [
    ("->", "lambdas [->]"),
    ("::", "method references [::]"),
    ("?.", "the null-safe operator [?.]"),
    ("===", "the identity operator [===]"),
    ("!==", "the identity operator [!==]"),
    ("&", "bitwise operator [&]"),
    ("|", "bitwise operator [|]"),
    ("^", "bitwise operator [^]"),
    ("~", "bitwise operator [~]"),
    ("<<", "shift operator [<<]"),
    (">>", "shift operator [>>]"),
    (">>>", "shift operator [>>>]"),
    ("<<=", "shift operator [<<=]"),
];

/// Parse a script.
pub fn parse(source: &str) -> Result<Program, ScriptError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
        scopes: vec![vec!["ctx".into(), "params".into()]],
        statement_starts: Vec::new(),
    };
    let body = parser.statements(true)?;
    let mut statement_starts = parser.statement_starts;
    statement_starts.sort_unstable();
    statement_starts.dedup();
    Ok(Program {
        body,
        statement_starts,
    })
}

struct Parser {
    tokens: Vec<Spanned>,
    at: usize,
    depth: usize,
    scopes: Vec<Vec<String>>,
    statement_starts: Vec<usize>,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].token
    }

    fn offset(&self) -> usize {
        self.tokens[self.at].offset
    }

    fn next(&mut self) -> Spanned {
        let token = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn is(&self, punct: &str) -> bool {
        matches!(self.peek(), Token::Punct(p) if *p == punct)
    }

    fn eat(&mut self, punct: &str) -> bool {
        let found = self.is(punct);
        if found {
            self.next();
        }
        found
    }

    fn expect(&mut self, punct: &str) -> Result<(), ScriptError> {
        if self.eat(punct) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("['{punct}']")))
        }
    }

    /// Painless's "unexpected token" error for the current token.
    fn unexpected(&self, expecting: &str) -> ScriptError {
        if let Some(error) = self.unsupported_here() {
            return error;
        }
        let text = match self.peek() {
            Token::End => "<EOF>".to_string(),
            Token::Ident(s) => s.clone(),
            Token::Int(i) => i.to_string(),
            Token::Float(f) => f.to_string(),
            Token::Str(s) => format!("'{s}'"),
            Token::Punct(p) => p.to_string(),
        };
        ScriptError::compile(
            self.offset(),
            format!("unexpected token ['{text}'] was expecting one of [{expecting}]."),
        )
    }

    /// The error for a construct outside the subset at the current token, if it is one.
    fn unsupported_here(&self) -> Option<ScriptError> {
        let name = match self.peek() {
            Token::Ident(word) => UNSUPPORTED_KEYWORDS
                .iter()
                .find(|(k, _)| k == word)
                .map(|(_, name)| *name),
            Token::Punct(p) => UNSUPPORTED_PUNCTUATION
                .iter()
                .find(|(k, _)| k == p)
                .map(|(_, name)| *name),
            _ => None,
        }?;
        Some(ScriptError::unsupported(self.offset(), name))
    }

    fn enter(&mut self) -> Result<(), ScriptError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ScriptError::unsupported(
                self.offset(),
                &format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Statements up to `}` (or the end, at the top level).
    fn statements(&mut self, top: bool) -> Result<Vec<Stmt>, ScriptError> {
        let mut body = Vec::new();
        loop {
            while self.eat(";") {}
            match self.peek() {
                Token::End if top => return Ok(body),
                Token::Punct("}") if !top => return Ok(body),
                Token::End => return Err(self.unexpected("'}'")),
                _ => {}
            }
            let (statement, needs_separator) = self.statement()?;
            body.push(statement);
            let closes = matches!(self.peek(), Token::End) || self.is("}");
            if needs_separator && !closes && !self.eat(";") {
                return Err(self.unexpected("';'"));
            }
        }
    }

    /// One statement, and whether a `;` must separate it from the next.
    fn statement(&mut self) -> Result<(Stmt, bool), ScriptError> {
        self.enter()?;
        let at = self.offset();
        self.statement_starts.push(at);
        let result = match self.peek().clone() {
            Token::Ident(word) if word == "if" => {
                self.next();
                self.expect("(")?;
                let condition = self.expression()?;
                self.expect(")")?;
                let then = self.branch()?;
                let otherwise = match self.peek() {
                    Token::Ident(word) if word == "else" => {
                        self.next();
                        self.branch()?
                    }
                    _ => Vec::new(),
                };
                Ok((
                    Stmt {
                        at,
                        kind: StmtKind::If(condition, then, otherwise),
                    },
                    false,
                ))
            }
            Token::Ident(word) if word == "else" => Err(self.unexpected("<statement>")),
            Token::Ident(word) if TYPES.contains(&word.as_str()) && self.declares() => {
                self.declaration(at).map(|s| (s, true))
            }
            _ => {
                if let Some(error) = self.unsupported_here() {
                    return Err(error);
                }
                let expr = self.expression()?;
                Ok((
                    Stmt {
                        at,
                        kind: StmtKind::Expr(expr),
                    },
                    true,
                ))
            }
        };
        self.leave();
        result
    }

    /// A type name followed by a variable name: a declaration (not `String.valueOf(..)`).
    fn declares(&self) -> bool {
        matches!(
            self.tokens.get(self.at + 1),
            Some(Spanned {
                token: Token::Ident(_),
                ..
            })
        ) || matches!(
            self.tokens.get(self.at + 1),
            Some(Spanned {
                token: Token::Punct("<" | "["),
                ..
            })
        )
    }

    fn declaration(&mut self, at: usize) -> Result<Stmt, ScriptError> {
        self.next();
        if self.is("<") || self.is("[") {
            return Err(ScriptError::unsupported(
                self.offset(),
                "generic and array types",
            ));
        }
        let Token::Ident(name) = self.next().token else {
            return Err(self.unexpected("<identifier>"));
        };
        if self.is("(") {
            return Err(ScriptError::unsupported(at, "function definitions"));
        }
        let value = if self.eat("=") {
            Some(self.expression()?)
        } else {
            None
        };
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(name.clone());
        }
        Ok(Stmt {
            at,
            kind: StmtKind::Declare(name, value),
        })
    }

    /// The body of an `if` or `else`: a block or one statement, in a scope of its own.
    fn branch(&mut self) -> Result<Vec<Stmt>, ScriptError> {
        self.scopes.push(Vec::new());
        let body = if self.eat("{") {
            let body = self.statements(false)?;
            self.expect("}")?;
            body
        } else {
            let (statement, needs_separator) = self.statement()?;
            if needs_separator {
                self.eat(";");
            }
            vec![statement]
        };
        self.scopes.pop();
        Ok(body)
    }

    pub fn expression(&mut self) -> Result<Expr, ScriptError> {
        self.enter()?;
        let result = self.assignment();
        self.leave();
        result
    }

    fn assignment(&mut self) -> Result<Expr, ScriptError> {
        let target = self.ternary()?;
        let op = match self.peek() {
            Token::Punct("=") => None,
            Token::Punct("+=") => Some(BinOp::Add),
            Token::Punct("-=") => Some(BinOp::Sub),
            Token::Punct("*=") => Some(BinOp::Mul),
            Token::Punct("/=") => Some(BinOp::Div),
            Token::Punct("%=") => Some(BinOp::Rem),
            Token::Punct(p @ (">>=" | "<<=")) => {
                return Err(ScriptError::unsupported(
                    self.offset(),
                    &format!("shift operator [{p}]"),
                ))
            }
            _ => return Ok(target),
        };
        let at = self.offset();
        self.next();
        check_assignable(&target)?;
        let value = self.expression()?;
        Ok(Expr {
            at,
            kind: ExprKind::Assign(Box::new(target), op, Box::new(value)),
        })
    }

    fn ternary(&mut self) -> Result<Expr, ScriptError> {
        let condition = self.binary(0)?;
        if !self.is("?") {
            return Ok(condition);
        }
        let at = self.offset();
        self.next();
        let then = self.expression()?;
        self.expect(":")?;
        let otherwise = self.expression()?;
        Ok(Expr {
            at,
            kind: ExprKind::Ternary(Box::new(condition), Box::new(then), Box::new(otherwise)),
        })
    }

    /// Binary operators by precedence level (`||` is level 0).
    fn binary(&mut self, level: usize) -> Result<Expr, ScriptError> {
        const LEVELS: [&[(&str, BinOp)]; 6] = [
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
            &[
                ("<", BinOp::Lt),
                ("<=", BinOp::Le),
                (">", BinOp::Gt),
                (">=", BinOp::Ge),
            ],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        ];
        let Some(operators) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        loop {
            let Some((_, op)) = operators.iter().find(|(p, _)| self.is(p)) else {
                if let Some(error) = self.unsupported_here() {
                    return Err(error);
                }
                return Ok(left);
            };
            let at = self.offset();
            self.next();
            self.enter()?;
            let right = self.binary(level + 1);
            self.leave();
            left = Expr {
                at,
                kind: ExprKind::Binary(*op, Box::new(left), Box::new(right?)),
            };
        }
    }

    fn unary(&mut self) -> Result<Expr, ScriptError> {
        let at = self.offset();
        let wrap = |kind| Expr { at, kind };
        if self.eat("!") {
            return Ok(wrap(ExprKind::Not(Box::new(self.nested_unary()?))));
        }
        if self.eat("-") {
            return Ok(match self.nested_unary()? {
                Expr {
                    kind: ExprKind::Literal(Value::Number(n)),
                    ..
                } => wrap(ExprKind::Literal(negate(&n))),
                operand => wrap(ExprKind::Neg(Box::new(operand))),
            });
        }
        if self.eat("+") {
            return self.nested_unary();
        }
        for (punct, delta) in [("++", 1), ("--", -1)] {
            if self.eat(punct) {
                let target = self.nested_unary()?;
                check_assignable(&target)?;
                return Ok(wrap(ExprKind::Increment {
                    target: Box::new(target),
                    delta,
                    post: false,
                }));
            }
        }
        self.postfix()
    }

    fn nested_unary(&mut self) -> Result<Expr, ScriptError> {
        self.enter()?;
        let result = self.unary();
        self.leave();
        result
    }

    fn postfix(&mut self) -> Result<Expr, ScriptError> {
        let mut expr = self.primary()?;
        loop {
            let at = self.offset();
            if self.eat(".") {
                let name = match self.next().token {
                    Token::Ident(name) => name,
                    Token::Int(i) => i.to_string(),
                    _ => {
                        self.at -= 1;
                        return Err(self.unexpected("<identifier>"));
                    }
                };
                expr = if self.eat("(") {
                    let args = self.arguments()?;
                    Expr {
                        at,
                        kind: ExprKind::Call(Box::new(expr), name, args),
                    }
                } else {
                    Expr {
                        at,
                        kind: ExprKind::Field(Box::new(expr), name),
                    }
                };
            } else if self.eat("[") {
                let index = self.expression()?;
                self.expect("]")?;
                expr = Expr {
                    at,
                    kind: ExprKind::Index(Box::new(expr), Box::new(index)),
                };
            } else if self.is("++") || self.is("--") {
                let delta = if self.is("++") { 1 } else { -1 };
                self.next();
                check_assignable(&expr)?;
                expr = Expr {
                    at,
                    kind: ExprKind::Increment {
                        target: Box::new(expr),
                        delta,
                        post: true,
                    },
                };
            } else {
                return Ok(expr);
            }
        }
    }

    /// Call arguments after `(`, through `)`.
    fn arguments(&mut self) -> Result<Vec<Expr>, ScriptError> {
        let mut args = Vec::new();
        if self.eat(")") {
            return Ok(args);
        }
        loop {
            args.push(self.expression()?);
            if self.eat(")") {
                return Ok(args);
            }
            if !self.eat(",") {
                return Err(self.unexpected("',', ')'"));
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ScriptError> {
        let at = self.offset();
        let literal = |value| Expr {
            at,
            kind: ExprKind::Literal(value),
        };
        if let Some(error) = self.unsupported_here() {
            return Err(error);
        }
        if matches!(self.peek(), Token::End) {
            return Err(self.unexpected("<expression>"));
        }
        let lambda = matches!(
            self.tokens.get(self.at + 1),
            Some(Spanned {
                token: Token::Punct("->"),
                ..
            })
        );
        match self.next().token {
            Token::Ident(_) if lambda => Err(ScriptError::unsupported(at, "lambdas [->]")),
            Token::Int(i) => Ok(literal(Value::from(i))),
            Token::Float(f) => Number::from_f64(f)
                .map(|n| literal(Value::Number(n)))
                .ok_or_else(|| ScriptError::compile(at, "Invalid numeric constant.")),
            Token::Str(s) => Ok(literal(Value::String(s))),
            Token::Ident(word) => match word.as_str() {
                "true" => Ok(literal(Value::Bool(true))),
                "false" => Ok(literal(Value::Bool(false))),
                "null" => Ok(literal(Value::Null)),
                _ if self.scopes.iter().any(|scope| scope.contains(&word)) => Ok(Expr {
                    at,
                    kind: ExprKind::Var(word),
                }),
                _ if self.is("(") => Err(ScriptError::unsupported(
                    at,
                    &format!("calling the function [{word}]"),
                )),
                _ if TYPES.contains(&word.as_str()) || word == "Math" => Err(
                    ScriptError::unsupported(at, &format!("static members of [{word}]")),
                ),
                _ => Err(ScriptError::compile(
                    at,
                    format!("cannot resolve symbol [{word}]"),
                )),
            },
            Token::Punct("(") => {
                if let Token::Ident(word) = self.peek() {
                    let closes = matches!(
                        self.tokens.get(self.at + 1),
                        Some(Spanned {
                            token: Token::Punct(")"),
                            ..
                        })
                    );
                    if closes && TYPES.contains(&word.as_str()) {
                        return Err(ScriptError::unsupported(at, "casts"));
                    }
                }
                let inner = self.expression()?;
                self.expect(")")?;
                Ok(inner)
            }
            Token::Punct("[") => self.collection(at),
            _ => {
                self.at -= 1;
                Err(self.unexpected("<expression>"))
            }
        }
    }

    /// A list (`[a, b]`) or map (`[k: v]`, `[:]`) initializer, after `[`.
    fn collection(&mut self, at: usize) -> Result<Expr, ScriptError> {
        if self.eat(":") {
            self.expect("]")?;
            return Ok(Expr {
                at,
                kind: ExprKind::Map(Vec::new()),
            });
        }
        if self.eat("]") {
            return Ok(Expr {
                at,
                kind: ExprKind::List(Vec::new()),
            });
        }
        let first = self.expression()?;
        if self.eat(":") {
            let mut entries = vec![(first, self.expression()?)];
            while self.eat(",") {
                let key = self.expression()?;
                self.expect(":")?;
                entries.push((key, self.expression()?));
            }
            self.expect("]")?;
            return Ok(Expr {
                at,
                kind: ExprKind::Map(entries),
            });
        }
        let mut items = vec![first];
        while self.eat(",") {
            items.push(self.expression()?);
        }
        self.expect("]")?;
        Ok(Expr {
            at,
            kind: ExprKind::List(items),
        })
    }
}

fn negate(n: &Number) -> Value {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Value::from(i.wrapping_neg()),
        (None, Some(f)) => Number::from_f64(-f).map_or(Value::Null, Value::Number),
        _ => Value::Null,
    }
}

/// Only variables, fields and indexes can be assigned to.
fn check_assignable(target: &Expr) -> Result<(), ScriptError> {
    match target.kind {
        ExprKind::Var(_) | ExprKind::Field(..) | ExprKind::Index(..) => Ok(()),
        _ => Err(ScriptError::compile(
            target.at,
            "invalid assignment: cannot assign a value to a non-variable",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(source: &str) -> String {
        parse(source).unwrap_err().cause_reason
    }

    #[test]
    fn the_documented_update_scripts_parse() {
        for source in [
            "ctx._source.counter += params.count",
            "ctx._source.tags.add(params['tag'])",
            "if (ctx._source.tags.contains(params.tag)) { ctx._source.tags.remove(ctx._source.tags.indexOf(params.tag)) }",
            "ctx._source.new_field = 'value_of_new_field'",
            "ctx._source.remove('new_field')",
            "ctx._source['my-object'].remove('my-subfield')",
            "if (ctx._source.tags.contains(params['tag'])) { ctx.op = 'delete' } else { ctx.op = 'noop' }",
            "def n = ctx._source.n; if (n == null || n < 3 && !false) ctx._source.n = 1; else ctx._source.n++;",
            "ctx._source.m = ['a': [1, 2.5], 'b': [:]]; ctx._source.x = ctx._source.x > 0 ? -1 : 1;",
        ] {
            parse(source).unwrap_or_else(|e| panic!("{source}: {e:?}"));
        }
    }

    #[test]
    fn statements_record_where_they_start() {
        let program = parse("ctx.a = 1; if (true) { ctx.b = 2 }").unwrap();
        assert_eq!(program.statement_starts, vec![0, 11, 23]);
    }

    #[test]
    fn unsupported_constructs_are_named() {
        for (source, construct) in [
            ("for (int i = 0; i < 3; i++) {}", "[for] loops"),
            ("while (true) {}", "[while] loops"),
            ("ctx._source.l = new ArrayList()", "[new] expressions"),
            ("ctx._source.l.removeIf(x -> x == 1)", "lambdas [->]"),
            ("ctx._source.a = ctx._source.b & 1", "bitwise operator [&]"),
            ("return 1", "[return] statements"),
            ("int x = (int) params.y", "casts"),
            ("def f(x) { x }", "function definitions"),
            ("ctx._source.a = Math.max(1, 2)", "static members of [Math]"),
        ] {
            assert_eq!(
                reason(source),
                format!("esocc runs a subset of Painless: {construct} is not supported"),
                "{source}"
            );
        }
    }

    #[test]
    fn malformed_scripts_are_compile_errors() {
        assert_eq!(reason("foo = 1"), "cannot resolve symbol [foo]");
        assert_eq!(
            reason("ctx._source.a = 1 ctx._source.b = 2"),
            "unexpected token ['ctx'] was expecting one of [';']."
        );
        assert_eq!(
            reason("1 = 2"),
            "invalid assignment: cannot assign a value to a non-variable"
        );
        assert!(parse(&"(".repeat(200)).is_err());
        let error = parse("ctx._source.a +").unwrap_err();
        assert_eq!(error.offset, 15);
    }
}
