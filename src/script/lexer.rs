//! Tokens of the Painless subset, each with the byte offset it starts at (Painless reports
//! errors by offset into the source).

use super::error::ScriptError;

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    Ident(String),
    Int(i64),
    Float(f64),
    Str(String),
    /// An operator or punctuation: `+=`, `==`, `(`, `;`, ...
    Punct(&'static str),
    End,
}

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned {
    pub token: Token,
    pub offset: usize,
}

/// Longest first, so that `+=` is not read as `+` `=`.
const PUNCTUATION: [&str; 35] = [
    "===", "!==", ">>>", "<<=", ">>=", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=",
    "%=", "++", "--", "->", "?.", "::", "<<", ">>", "+", "-", "*", "/", "%", "<", ">", "=", "!",
    "(", ")", "?",
];

const SINGLE: &str = "{}[];,.:&|^~";

/// Split `source` into tokens; the last is [`Token::End`].
pub fn tokenize(source: &str) -> Result<Vec<Spanned>, ScriptError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at];
        if c.is_ascii_whitespace() {
            at += 1;
            continue;
        }
        if source[at..].starts_with("//") {
            at = source[at..].find('\n').map_or(bytes.len(), |n| at + n);
            continue;
        }
        if source[at..].starts_with("/*") {
            at = source[at + 2..]
                .find("*/")
                .map(|n| at + 2 + n + 2)
                .ok_or_else(|| ScriptError::compile(at, "unterminated comment"))?;
            continue;
        }
        let start = at;
        let token = if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while at < bytes.len()
                && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_' || bytes[at] == b'$')
            {
                at += 1;
            }
            Token::Ident(source[start..at].to_string())
        } else if c.is_ascii_digit() {
            let (token, end) = number(source, start)?;
            at = end;
            token
        } else if c == b'\'' || c == b'"' {
            let (text, end) = string(source, start)?;
            at = end;
            Token::Str(text)
        } else if let Some(p) = PUNCTUATION.iter().find(|p| source[at..].starts_with(**p)) {
            at += p.len();
            Token::Punct(p)
        } else if let Some(i) = SINGLE.find(char::from(c)) {
            at += 1;
            Token::Punct(&SINGLE[i..=i])
        } else {
            let ch = source[at..].chars().next().unwrap_or('?');
            return Err(ScriptError::compile(
                at,
                format!("unexpected character [{ch}]."),
            ));
        };
        tokens.push(Spanned {
            token,
            offset: start,
        });
    }
    tokens.push(Spanned {
        token: Token::End,
        offset: source.len(),
    });
    Ok(tokens)
}

/// An integer (optionally `L`-suffixed) or a decimal number.
fn number(source: &str, start: usize) -> Result<(Token, usize), ScriptError> {
    let bytes = source.as_bytes();
    let mut at = start;
    let digits = |at: &mut usize| {
        while *at < bytes.len() && bytes[*at].is_ascii_digit() {
            *at += 1;
        }
    };
    digits(&mut at);
    let mut float = false;
    if at + 1 < bytes.len() && bytes[at] == b'.' && bytes[at + 1].is_ascii_digit() {
        float = true;
        at += 1;
        digits(&mut at);
    }
    if at < bytes.len() && (bytes[at] == b'e' || bytes[at] == b'E') {
        float = true;
        at += 1;
        if at < bytes.len() && (bytes[at] == b'+' || bytes[at] == b'-') {
            at += 1;
        }
        digits(&mut at);
    }
    let text = &source[start..at];
    let invalid = || ScriptError::compile(start, format!("Invalid numeric constant [{text}]."));
    let suffix = bytes.get(at).copied();
    match suffix {
        Some(b'f' | b'F' | b'd' | b'D') => {
            let value = text.parse().map_err(|_| invalid())?;
            Ok((Token::Float(value), at + 1))
        }
        Some(b'l' | b'L') if !float => {
            let value = text.parse().map_err(|_| invalid())?;
            Ok((Token::Int(value), at + 1))
        }
        _ if float => Ok((Token::Float(text.parse().map_err(|_| invalid())?), at)),
        _ => Ok((Token::Int(text.parse().map_err(|_| invalid())?), at)),
    }
}

/// A single- or double-quoted string with `\\`, `\'` and `\"` escapes.
fn string(source: &str, start: usize) -> Result<(String, usize), ScriptError> {
    let quote = source.as_bytes()[start];
    let mut text = String::new();
    let mut chars = source[start + 1..].char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some((_, escaped @ ('\\' | '\'' | '"'))) => text.push(escaped),
                Some((_, 'n')) => text.push('\n'),
                Some((_, 't')) => text.push('\t'),
                _ => {
                    return Err(ScriptError::compile(
                        start + 1 + i,
                        "unexpected character [\\].",
                    ))
                }
            },
            c if c as u32 == u32::from(quote) => return Ok((text, start + 1 + i + 1)),
            c => text.push(c),
        }
    }
    Err(ScriptError::compile(start, "unterminated string literal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<Token> {
        tokenize(source)
            .unwrap()
            .into_iter()
            .map(|s| s.token)
            .collect()
    }

    #[test]
    fn operators_are_read_longest_first() {
        assert_eq!(
            kinds("ctx._source.n += 1;"),
            vec![
                Token::Ident("ctx".into()),
                Token::Punct("."),
                Token::Ident("_source".into()),
                Token::Punct("."),
                Token::Ident("n".into()),
                Token::Punct("+="),
                Token::Int(1),
                Token::Punct(";"),
                Token::End
            ]
        );
    }

    #[test]
    fn literals_and_comments() {
        assert_eq!(
            kinds("'a\\'b' \"c\" 2.5 7L // note\n/* x */ 3"),
            vec![
                Token::Str("a'b".into()),
                Token::Str("c".into()),
                Token::Float(2.5),
                Token::Int(7),
                Token::Int(3),
                Token::End
            ]
        );
        assert!(tokenize("'open").is_err());
        assert!(tokenize("a # b").is_err());
    }
}
