//! What Elasticsearch's coordinating node checks of an index, create or update request before
//! it creates the index or routes the document (`TransportBulkAction`, `BulkOperation`,
//! `IngestService`), in a cluster that has no ingest pipelines and no aliases, as esocc's:
//! a named `pipeline` does not exist (`_none` names none), and `require_alias=true` never finds
//! its alias, whether or not the index exists.

use super::error::RestError;
use crate::rest::envelope::EsError;

/// `IngestService.NOOP_PIPELINE_NAME`: no pipeline.
const NO_PIPELINE: &str = "_none";

/// The pipeline and alias flags of one write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestAndAliases {
    /// `pipeline` (index and create requests only).
    pub pipeline: Option<String>,
    /// `require_alias`.
    pub require_alias: bool,
}

impl IngestAndAliases {
    /// The checks in Elasticsearch's order: the ingest pipelines run before the bulk is split
    /// into shard requests, then `BulkOperation.addFailureIfRequiresAliasAndAliasIsMissing`.
    pub fn check(&self, index: &str) -> Result<(), RestError> {
        if let Some(pipeline) = self.pipeline.as_deref().filter(|p| *p != NO_PIPELINE) {
            return Err(RestError::illegal_argument(format!(
                "pipeline with id [{pipeline}] does not exist"
            )));
        }
        if self.require_alias {
            // `IndexNotFoundException(message, index)` puts "no such index [x] and " before it.
            return Err(RestError::exception(
                404,
                EsError::new(
                    "index_not_found_exception",
                    format!(
                        "no such index [{index}] and [require_alias] request flag is [true] and [{index}] is not an alias"
                    ),
                )
                .with_index(index, "_na_")
                .with_resource("index_or_alias", index),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(checks: IngestAndAliases) -> Option<(u16, String)> {
        checks.check("i").err().map(|e| {
            let body = e.body().unwrap_or_default();
            (
                e.status(),
                body["error"]["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
    }

    #[test]
    fn a_named_pipeline_fails_before_the_alias_and_none_names_none() {
        let pipeline = |p: &str| Some(p.to_string());
        assert_eq!(reason(IngestAndAliases::default()), None);
        let none = IngestAndAliases {
            pipeline: pipeline("_none"),
            require_alias: false,
        };
        assert_eq!(reason(none), None);
        let both = IngestAndAliases {
            pipeline: pipeline("p"),
            require_alias: true,
        };
        assert_eq!(
            reason(both),
            Some((400, "pipeline with id [p] does not exist".into()))
        );
        let alias = IngestAndAliases {
            pipeline: None,
            require_alias: true,
        };
        assert_eq!(
            reason(alias),
            Some((
                404,
                "no such index [i] and [require_alias] request flag is [true] and [i] is not an alias"
                    .into()
            ))
        );
    }
}
