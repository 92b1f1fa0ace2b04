//! The syntax tree of the Painless subset. Every node keeps the offset Painless would report
//! an error at.

use serde_json::Value;

/// Binary operators (`&&` and `||` short-circuit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    /// The operator as written, for error texts.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "&&",
            BinOp::Or => "||",
        }
    }
}

/// An expression and its offset.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub at: usize,
    pub kind: ExprKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Value),
    /// `ctx`, `params` or a local variable.
    Var(String),
    /// `e.name`: a map key (Painless's map shortcut).
    Field(Box<Expr>, String),
    /// `e[i]`: a map key or a list index.
    Index(Box<Expr>, Box<Expr>),
    /// `e.name(args)`.
    Call(Box<Expr>, String, Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `c ? a : b`.
    Ternary(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `target = value` or, with an operator, `target op= value`.
    Assign(Box<Expr>, Option<BinOp>, Box<Expr>),
    /// `target++` (`post`) or `++target`, by `delta`.
    Increment {
        target: Box<Expr>,
        delta: i64,
        post: bool,
    },
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `[k: v]`, `[:]`.
    Map(Vec<(Expr, Expr)>),
}

/// A statement and its offset.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub at: usize,
    pub kind: StmtKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Expr(Expr),
    /// `def x = e;` (any declared type is taken as `def`).
    Declare(String, Option<Expr>),
    If(Expr, Vec<Stmt>, Vec<Stmt>),
}

/// A compiled script: its statements and where each statement starts (sorted), which is how
/// Painless finds the statement of a runtime error.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub body: Vec<Stmt>,
    pub statement_starts: Vec<usize>,
}
