//! Which indices an index expression names, as `IndexNameExpressionResolver` resolves it under
//! an API's `IndicesOptions`: a comma-separated list of names, `_all`, and `*` wildcards. esocc
//! has no aliases, data streams, closed or hidden indices, so `expand_wildcards` has nothing to
//! choose between and `-name` exclusions are not supported.

use std::sync::Arc;

use super::error::RestError;
use super::params::Params;
use super::registry::Index;
use super::source_filter::glob;

/// What a missing name or an empty wildcard does (`IndicesOptions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndicesOptions {
    /// A name that does not exist is skipped instead of failing the request.
    pub ignore_unavailable: bool,
    /// `_all` or a wildcard may match no index.
    pub allow_no_indices: bool,
}

impl IndicesOptions {
    /// `IndicesOptions.strictExpandOpenAndForbidClosed()`, `SearchRequest.DEFAULT_INDICES_OPTIONS`:
    /// search, count and the by-query APIs (whose scroll is a search). `strictExpand()`, with
    /// which `TransportClusterHealthAction.prepareResponse` checks that named indices exist, is
    /// the same where no index is closed or hidden.
    pub const STRICT_EXPAND: IndicesOptions = IndicesOptions {
        ignore_unavailable: false,
        allow_no_indices: true,
    };

    /// These defaults under the URL's `ignore_unavailable` and `allow_no_indices`
    /// (`IndicesOptions.fromRequest`); `expand_wildcards` is accepted.
    pub fn from_params(self, params: &mut Params) -> Result<Self, RestError> {
        let ignore_unavailable = params.boolean("ignore_unavailable")?;
        let allow_no_indices = params.boolean("allow_no_indices")?;
        params.accept(&["expand_wildcards"]);
        Ok(IndicesOptions {
            ignore_unavailable: ignore_unavailable.unwrap_or(self.ignore_unavailable),
            allow_no_indices: allow_no_indices.unwrap_or(self.allow_no_indices),
        })
    }
}

/// The indices `expression` names among `all` (none: every index), each once, in the order the
/// expression names them (a wildcard's or `_all`'s matches by name). A plain name that does not
/// exist, or with `allow_no_indices=false` a wildcard or `_all` matching nothing, is
/// `index_not_found_exception` for that part.
pub fn resolve(
    all: &[Arc<Index>],
    expression: Option<&str>,
    options: IndicesOptions,
) -> Result<Vec<Arc<Index>>, RestError> {
    let mut by_name: Vec<&Arc<Index>> = all.iter().collect();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    let expression = expression.filter(|e| !e.is_empty()).unwrap_or("_all");
    let mut chosen: Vec<Arc<Index>> = Vec::new();
    for part in expression.split(',').filter(|p| !p.is_empty()) {
        let pattern = part == "_all" || part.contains('*');
        let matching: Vec<&Arc<Index>> = by_name
            .iter()
            .copied()
            .filter(|index| part == "_all" || glob(part, &index.name))
            .collect();
        let missing = match pattern {
            true => !options.allow_no_indices,
            false => !options.ignore_unavailable,
        };
        if matching.is_empty() && missing {
            return Err(RestError::index_not_found(part));
        }
        for index in matching {
            if !chosen.iter().any(|c| c.name == index.name) {
                chosen.push(Arc::clone(index));
            }
        }
    }
    Ok(chosen)
}
