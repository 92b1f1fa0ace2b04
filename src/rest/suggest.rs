//! "Did you mean" suggestions for an unknown name, as Elasticsearch makes them: the known names
//! whose Lucene `LevenshteinDistance` similarity to it is above 0.5, most similar first, ties
//! by name (`BaseRestHandler.unrecognized` for parameters, `SuggestingErrorOnUnknown` for the
//! fields of an `ObjectParser`).

/// Lucene's `LevenshteinDistance.getDistance`: `1 - edits / max(len)`.
fn similarity(a: &str, b: &str) -> f32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    1.0 - previous[b.len()] as f32 / longest as f32
}

/// The `known` names similar to `name`, most similar first, ties by name, each once.
pub fn similar<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f32, &str)> = known
        .into_iter()
        .map(|candidate| (similarity(name, candidate), candidate))
        .filter(|(score, _)| *score > 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().map(|(_, candidate)| candidate).collect()
}

/// `SuggestingErrorOnUnknown.errorMessage`: `[parser] unknown field [name]` and, when some
/// field is like it, ` did you mean [x]?` or ` did you mean any of [x, y]?`.
pub fn unknown_field(parser: &str, name: &str, fields: &[&str]) -> String {
    format!(
        "[{parser}] unknown field [{name}]{}",
        did_you_mean(name, fields)
    )
}

/// `SuggestingErrorOnUnknown.suggest`: ` did you mean [x]?`, ` did you mean any of [x, y]?`,
/// or nothing when no known name is like `name`.
pub fn did_you_mean(name: &str, known: &[&str]) -> String {
    match similar(name, known.iter().copied()).as_slice() {
        [] => String::new(),
        [one] => format!(" did you mean [{one}]?"),
        many => format!(" did you mean any of [{}]?", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_is_one_less_the_edits_over_the_longer_length() {
        assert_eq!(similarity("doc", "doc"), 1.0);
        assert!((similarity("dco", "doc") - (1.0 - 2.0 / 3.0)).abs() < 1e-6);
        assert!((similarity("docs", "doc") - 0.75).abs() < 1e-6);
        assert_eq!(similarity("", ""), 1.0);
    }

    #[test]
    fn object_parser_texts() {
        let fields = ["doc", "doc_as_upsert", "upsert", "detect_noop"];
        assert_eq!(
            unknown_field("UpdateRequest", "docs", &fields),
            "[UpdateRequest] unknown field [docs] did you mean [doc]?"
        );
        assert_eq!(
            unknown_field("UpdateRequest", "upsrt", &fields),
            "[UpdateRequest] unknown field [upsrt] did you mean [upsert]?"
        );
        assert_eq!(
            unknown_field("UpdateRequest", "xyz", &fields),
            "[UpdateRequest] unknown field [xyz]"
        );
        assert_eq!(
            unknown_field("p", "ab", &["abc", "abd", "zzz"]),
            "[p] unknown field [ab] did you mean any of [abc, abd]?"
        );
    }
}
