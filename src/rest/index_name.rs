//! Index name rules (`MetadataCreateIndexService.validateIndexOrAliasName` and
//! `validateIndexName`, Elasticsearch 8): the first failure wins, with Elasticsearch's text.

/// `MetadataCreateIndexService.MAX_INDEX_NAME_BYTES`.
const MAX_INDEX_NAME_BYTES: usize = 255;

/// `Strings.INVALID_FILENAME_CHARS`, as Elasticsearch 8 prints the set.
const INVALID_FILENAME_CHARS: &str = r#"[' ','"','*',',','/','<','>','?','\','|']"#;

/// Why `name` is not a valid index name, or `None` when it is one.
pub fn invalid_reason(name: &str) -> Option<String> {
    let invalid_char = |c: char| {
        matches!(
            c,
            '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ','
        )
    };
    if name.contains(invalid_char) {
        return Some(format!(
            "must not contain the following characters {INVALID_FILENAME_CHARS}"
        ));
    }
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.contains('#') {
        return Some("must not contain '#'".into());
    }
    if name.contains(':') {
        return Some("must not contain ':'".into());
    }
    if name.starts_with(['_', '-', '+']) {
        return Some("must not start with '_', '-', or '+'".into());
    }
    if name.len() > MAX_INDEX_NAME_BYTES {
        return Some(format!(
            "index name is too long, ({} > {MAX_INDEX_NAME_BYTES})",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Some("must not be '.' or '..'".into());
    }
    if name.to_lowercase() != name {
        return Some("must be lowercase".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_wins() {
        assert_eq!(invalid_reason("movies"), None);
        assert_eq!(invalid_reason("logs-2024.01"), None);
        assert_eq!(
            invalid_reason("a b").unwrap(),
            r#"must not contain the following characters [' ','"','*',',','/','<','>','?','\','|']"#
        );
        assert_eq!(
            invalid_reason("_Foo").unwrap(),
            "must not start with '_', '-', or '+'"
        );
        assert_eq!(invalid_reason("a#b").unwrap(), "must not contain '#'");
        assert_eq!(invalid_reason("a:b").unwrap(), "must not contain ':'");
        assert_eq!(invalid_reason("..").unwrap(), "must not be '.' or '..'");
        assert_eq!(invalid_reason("Movies").unwrap(), "must be lowercase");
        assert_eq!(
            invalid_reason(&"a".repeat(256)).unwrap(),
            "index name is too long, (256 > 255)"
        );
    }
}
