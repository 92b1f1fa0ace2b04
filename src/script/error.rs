//! A script's failure as Painless reports it (`ScriptException`): a compile error or a runtime
//! error, the offset it happened at, and the Java exception that caused it.
//!
//! The snippet and `position` follow `PainlessScriptEngine.convertToScriptException`: a compile
//! error shows 25 characters either side of the offset (with `... ` marks where cut), a runtime
//! error the statement it happened in. Painless also lists the Java frames of a runtime error;
//! esocc has none to list.

/// Which phase failed: the `reason` of the `script_exception`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Compile,
    Runtime,
}

/// A script failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    pub phase: Phase,
    /// Byte offset into the source.
    pub offset: usize,
    /// For a runtime error, the statement it happened in (start, end), as Painless's
    /// `getPreviousStatement` / `getNextStatement` find it.
    pub statement: Option<(usize, usize)>,
    /// The Java exception type of the cause (`illegal_argument_exception`, ...).
    pub cause_type: &'static str,
    pub cause_reason: String,
}

/// `position` of a `script_exception`: the offset and the snippet's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub offset: usize,
    pub start: usize,
    pub end: usize,
}

/// How far either side of a compile error's offset its snippet reaches.
const COMPILE_WINDOW: usize = 25;

impl ScriptError {
    /// A compile error at `offset`, caused by an `illegal_argument_exception`.
    pub fn compile(offset: usize, reason: impl Into<String>) -> ScriptError {
        ScriptError {
            phase: Phase::Compile,
            offset,
            statement: None,
            cause_type: "illegal_argument_exception",
            cause_reason: reason.into(),
        }
    }

    /// A construct outside esocc's subset: a compile error naming it.
    pub fn unsupported(offset: usize, construct: &str) -> ScriptError {
        ScriptError::compile(
            offset,
            format!("esocc runs a subset of Painless: {construct} is not supported"),
        )
    }

    /// A runtime error at `offset` caused by the Java exception `cause_type`.
    pub fn runtime(offset: usize, cause_type: &'static str, reason: impl Into<String>) -> Self {
        ScriptError {
            phase: Phase::Runtime,
            offset,
            statement: None,
            cause_type,
            cause_reason: reason.into(),
        }
    }

    /// `script_exception`'s reason.
    pub fn reason(&self) -> &'static str {
        match self.phase {
            Phase::Compile => "compile error",
            Phase::Runtime => "runtime error",
        }
    }

    /// The snippet bounds and the offset within `source`.
    pub fn position(&self, source: &str) -> Position {
        let offset = floor_boundary(source, self.offset.min(source.len()));
        let (start, end) = match (self.phase, self.statement) {
            (Phase::Runtime, Some((start, end))) => (start, end.min(source.len())),
            (Phase::Runtime, None) => (0, source.len()),
            (Phase::Compile, _) => (
                floor_boundary(source, offset.saturating_sub(COMPILE_WINDOW)),
                floor_boundary(source, (offset + COMPILE_WINDOW).min(source.len())),
            ),
        };
        Position { offset, start, end }
    }

    /// `script_stack`: the snippet and a `^---- HERE` line pointing at the offset.
    pub fn stack(&self, source: &str) -> Vec<String> {
        let Position { offset, start, end } = self.position(source);
        let cut = self.phase == Phase::Compile;
        let mut snippet = String::new();
        let mut pointer = String::new();
        if cut && start > 0 {
            snippet.push_str("... ");
            pointer.push_str("    ");
        }
        snippet.push_str(&source[start..end]);
        if cut && end < source.len() {
            snippet.push_str(" ...");
        }
        pointer.push_str(&" ".repeat(source[start..offset.max(start)].chars().count()));
        pointer.push_str("^---- HERE");
        vec![snippet, pointer]
    }
}

/// The largest char boundary at or below `at`.
fn floor_boundary(source: &str, mut at: usize) -> usize {
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_snippets_are_cut_25_characters_either_side() {
        let source = "ctx._source.aaaaaaaaaaaaaaaaaaaaa = 1; for (x in y) {} ctx._source.bbbbbbbbbbbbbbbbbbbbbbb = 2";
        let error = ScriptError::unsupported(38, "[for] loops");
        assert_eq!(
            error.position(source),
            Position {
                offset: 38,
                start: 13,
                end: 63
            }
        );
        let stack = error.stack(source);
        assert_eq!(stack[0], format!("... {} ...", &source[13..63]));
        assert_eq!(stack[1], format!("{}^---- HERE", " ".repeat(4 + 25)));
    }

    #[test]
    fn runtime_snippets_are_the_statement() {
        let source = "ctx._source.a = 1; ctx._source.b.add(2)";
        let mut error = ScriptError::runtime(31, "null_pointer_exception", "x");
        error.statement = Some((19, source.len()));
        assert_eq!(
            error.stack(source),
            vec![
                "ctx._source.b.add(2)".to_string(),
                "            ^---- HERE".to_string()
            ]
        );
        assert_eq!(error.reason(), "runtime error");
    }
}
