//! Request validation with Elasticsearch 8's texts: `IndexRequest.validate`,
//! `DeleteRequest.validate`, `UpdateRequest.validate`, `DocWriteRequest.validateSeqNoBasedCASParams`
//! and the REST layer's own rejections. Each validator turns the request's parameters into the
//! [`Condition`] the primary checks.

use super::condition::{Condition, OpType, VersionType};
use super::error::ValidationErrors;
use super::ids::{ChangeId, SeqNo, Term, Version, MATCH_ANY, MATCH_DELETED, UNASSIGNED_SEQ_NO};

/// The longest `_id` in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 512;

/// The concurrency parameters of an index, create or delete request, as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteParams {
    pub op_type: OpType,
    pub if_seq_no: Option<SeqNo>,
    pub if_primary_term: Option<Term>,
    pub version: Option<Version>,
    pub version_type: Option<VersionType>,
}

/// The parameters of an update request that validation looks at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateParams {
    pub if_seq_no: Option<SeqNo>,
    pub if_primary_term: Option<Term>,
    pub retry_on_conflict: u32,
    pub has_doc: bool,
    pub has_script: bool,
    pub has_upsert: bool,
    pub doc_as_upsert: bool,
}

/// `IndexRequest.setIfSeqNo`'s check of the raw parameter (an `illegal_argument_exception`).
/// `-2` (`UNASSIGNED_SEQ_NO`) is accepted and means "not set".
pub fn check_if_seq_no(seq_no: i64) -> Result<Option<SeqNo>, String> {
    if seq_no == UNASSIGNED_SEQ_NO {
        Ok(None)
    } else if seq_no < 0 {
        Err(format!(
            "sequence numbers must be non negative. got [{seq_no}]."
        ))
    } else {
        Ok(Some(seq_no))
    }
}

/// `IndexRequest.setIfPrimaryTerm`'s check of the raw parameter (an `illegal_argument_exception`).
pub fn check_if_primary_term(term: i64) -> Result<Term, String> {
    Term::try_from(term).map_err(|_| format!("primary term must be non negative. got [{term}]"))
}

/// `UpdateRequest.retryOnConflict`'s check of the raw parameter (an `illegal_argument_exception`),
/// for the update API and bulk update items alike.
pub fn check_retry_on_conflict(retries: i32) -> Result<u32, String> {
    u32::try_from(retries).map_err(|_| "retry_on_conflict cannot be negative.".to_string())
}

fn check_id(id: &str, errors: &mut ValidationErrors) {
    let len = id.len();
    if len > MAX_ID_BYTES {
        errors.add(format!(
            "id [{id}] is too long, must be no longer than {MAX_ID_BYTES} bytes but was: {len}"
        ));
    }
}

/// `validateSeqNoBasedCASParams`.
fn check_cas_params(
    version: Version,
    version_type: VersionType,
    if_seq_no: Option<SeqNo>,
    if_primary_term: Option<Term>,
    errors: &mut ValidationErrors,
) {
    if !version_type.valid_for_writes(version) {
        errors.add(format!(
            "illegal version value [{version}] for version type [{}]",
            version_type.java_name()
        ));
    }
    if version_type == VersionType::Internal && version != MATCH_ANY && version != MATCH_DELETED {
        errors.add(
            "internal versioning can not be used for optimistic concurrency control. \
             Please use `if_seq_no` and `if_primary_term` instead",
        );
    }
    let term = if_primary_term.unwrap_or(0);
    if if_seq_no.is_some() && (version_type != VersionType::Internal || version != MATCH_ANY) {
        errors.add("compare and write operations can not use versioning");
    }
    if if_seq_no.is_some() && term == 0 {
        errors.add("ifSeqNo is set, but primary term is [0]");
    }
    if if_seq_no.is_none() && term != 0 {
        errors.add(format!(
            "ifSeqNo is unassigned, but primary term is [{term}]"
        ));
    }
}

fn condition_of(p: &WriteParams, version: Version, version_type: VersionType) -> Condition {
    match (p.if_seq_no, p.op_type) {
        (Some(seq_no), _) => {
            Condition::IfSeqNo(ChangeId::new(seq_no, p.if_primary_term.unwrap_or(0)))
        }
        (None, OpType::Create) => Condition::Create,
        (None, OpType::Index) if version == MATCH_ANY => Condition::None,
        (None, OpType::Index) => Condition::Version {
            version,
            version_type,
        },
    }
}

/// Validate an index or create request (`IndexRequest.validate`). `id` is `None` for an auto-id
/// request, whose id is generated after validation.
pub fn validate_index(id: Option<&str>, p: &WriteParams) -> Result<Condition, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let version_type = p.version_type.unwrap_or(VersionType::Internal);
    let version = match (p.version, p.op_type) {
        (Some(v), _) => v,
        (None, OpType::Create) => MATCH_DELETED,
        (None, OpType::Index) => MATCH_ANY,
    };
    if p.op_type == OpType::Create {
        // Elasticsearch returns after the first of these.
        let first = if version_type != VersionType::Internal {
            Some("create operations only support internal versioning. use index instead")
        } else if version != MATCH_DELETED {
            Some("create operations do not support explicit versions. use index instead")
        } else if p.if_seq_no.is_some() || p.if_primary_term.unwrap_or(0) != 0 {
            Some("create operations do not support compare and set. use index instead")
        } else {
            None
        };
        if let Some(message) = first {
            errors.add(message);
            return Err(errors);
        }
    }
    if id.is_none()
        && (version_type != VersionType::Internal
            || (version != MATCH_DELETED && version != MATCH_ANY))
    {
        errors.add("an id must be provided if version type or value are set");
    }
    check_cas_params(
        version,
        version_type,
        p.if_seq_no,
        p.if_primary_term,
        &mut errors,
    );
    if let Some(id) = id {
        check_id(id, &mut errors);
    }
    errors
        .into_result()
        .map(|()| condition_of(p, version, version_type))
}

/// Validate a delete request (`DeleteRequest.validate`).
pub fn validate_delete(id: &str, p: &WriteParams) -> Result<Condition, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let version_type = p.version_type.unwrap_or(VersionType::Internal);
    let version = p.version.unwrap_or(MATCH_ANY);
    check_cas_params(
        version,
        version_type,
        p.if_seq_no,
        p.if_primary_term,
        &mut errors,
    );
    check_id(id, &mut errors);
    errors
        .into_result()
        .map(|()| condition_of(p, version, version_type))
}

/// `IndexRouting.process`: an index or create request's `_id`, when one is given, must not be
/// empty. Elasticsearch checks it after validation, once the index exists, so in a bulk only
/// that item fails (`illegal_argument_exception`).
pub fn check_given_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        Err("if _id is specified it must not be empty")
    } else {
        Ok(())
    }
}

/// Validate a get's `version` + `version_type` (`GetRequest.validate`): the version the
/// document must have, `None` for any (`MATCH_ANY`, the default).
pub fn validate_get(
    version: Option<Version>,
    version_type: Option<VersionType>,
) -> Result<Option<(Version, VersionType)>, ValidationErrors> {
    let version = version.unwrap_or(MATCH_ANY);
    let version_type = version_type.unwrap_or(VersionType::Internal);
    if !version_type.valid_for_reads(version) {
        return Err(ValidationErrors(vec![format!(
            "illegal version value [{version}] for version type [{}]",
            version_type.java_name()
        )]));
    }
    Ok((version != MATCH_ANY).then_some((version, version_type)))
}

/// `RestUpdateAction`: the update API takes no `version` or `version_type` at all.
pub fn reject_update_versioning() -> ValidationErrors {
    ValidationErrors(vec![
        "internal versioning can not be used for optimistic concurrency control. \
         Please use `if_seq_no` and `if_primary_term` instead"
            .to_string(),
    ])
}

/// Validate an update request (`UpdateRequest.validate`). Returns the user's `if_seq_no` +
/// `if_primary_term`, if any.
pub fn validate_update(id: &str, p: &UpdateParams) -> Result<Option<ChangeId>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    check_cas_params(
        MATCH_ANY,
        VersionType::Internal,
        p.if_seq_no,
        p.if_primary_term,
        &mut errors,
    );
    if p.if_seq_no.is_some() {
        if p.retry_on_conflict > 0 {
            errors.add("compare and write operations can not be retried");
        }
        if p.doc_as_upsert {
            errors.add("compare and write operations can not be used with upsert");
        }
        if p.has_upsert {
            errors.add("upsert requests don't support `if_seq_no` and `if_primary_term`");
        }
    }
    if !p.has_doc && !p.has_script {
        errors.add("script or doc is missing");
    }
    if p.has_doc && p.has_script {
        errors.add("can't provide both script and doc");
    }
    if !p.has_doc && p.doc_as_upsert {
        errors.add("doc must be specified if doc_as_upsert is enabled");
    }
    check_id(id, &mut errors);
    errors.into_result().map(|()| {
        p.if_seq_no
            .map(|seq_no| ChangeId::new(seq_no, p.if_primary_term.unwrap_or(0)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(r: Result<Condition, ValidationErrors>) -> String {
        r.unwrap_err().reason()
    }

    #[test]
    fn a_get_takes_any_version_but_internal_zero_or_negatives() {
        assert_eq!(validate_get(None, None), Ok(None));
        assert_eq!(validate_get(Some(MATCH_ANY), None), Ok(None));
        assert_eq!(
            validate_get(Some(3), Some(VersionType::External)),
            Ok(Some((3, VersionType::External)))
        );
        assert_eq!(
            validate_get(Some(0), Some(VersionType::ExternalGte)),
            Ok(Some((0, VersionType::ExternalGte)))
        );
        assert_eq!(
            validate_get(Some(0), None).unwrap_err().reason(),
            "Validation Failed: 1: illegal version value [0] for version type [INTERNAL];"
        );
        assert_eq!(
            validate_get(Some(-4), Some(VersionType::External))
                .unwrap_err()
                .reason(),
            "Validation Failed: 1: illegal version value [-4] for version type [EXTERNAL];"
        );
    }

    #[test]
    fn retry_on_conflict_is_a_non_negative_count() {
        assert_eq!(check_retry_on_conflict(3), Ok(3));
        assert_eq!(
            check_retry_on_conflict(-1),
            Err("retry_on_conflict cannot be negative.".to_string())
        );
    }

    #[test]
    fn if_seq_no_without_term() {
        let p = WriteParams {
            if_seq_no: Some(3),
            ..Default::default()
        };
        assert_eq!(
            reason(validate_index(Some("1"), &p)),
            "Validation Failed: 1: ifSeqNo is set, but primary term is [0];"
        );
        let p = WriteParams {
            if_primary_term: Some(2),
            ..Default::default()
        };
        assert_eq!(
            reason(validate_delete("1", &p)),
            "Validation Failed: 1: ifSeqNo is unassigned, but primary term is [2];"
        );
    }

    #[test]
    fn cas_with_versioning_and_internal_versions() {
        let p = WriteParams {
            if_seq_no: Some(3),
            if_primary_term: Some(1),
            version: Some(2),
            version_type: Some(VersionType::External),
            ..Default::default()
        };
        assert_eq!(
            reason(validate_index(Some("1"), &p)),
            "Validation Failed: 1: compare and write operations can not use versioning;"
        );
        let p = WriteParams {
            version: Some(2),
            ..Default::default()
        };
        assert_eq!(
            reason(validate_index(Some("1"), &p)),
            "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;"
        );
    }

    #[test]
    fn create_reports_only_its_first_error() {
        let p = WriteParams {
            op_type: OpType::Create,
            version: Some(3),
            version_type: Some(VersionType::External),
            if_seq_no: Some(3),
            if_primary_term: Some(1),
        };
        assert_eq!(
            reason(validate_index(Some("1"), &p)),
            "Validation Failed: 1: create operations only support internal versioning. use index instead;"
        );
    }

    #[test]
    fn auto_id_with_external_version_needs_an_id() {
        let p = WriteParams {
            version: Some(3),
            version_type: Some(VersionType::External),
            ..Default::default()
        };
        assert_eq!(
            reason(validate_index(None, &p)),
            "Validation Failed: 1: an id must be provided if version type or value are set;"
        );
    }

    #[test]
    fn create_with_cas() {
        let p = WriteParams {
            op_type: OpType::Create,
            if_seq_no: Some(3),
            if_primary_term: Some(1),
            ..Default::default()
        };
        assert_eq!(
            reason(validate_index(Some("1"), &p)),
            "Validation Failed: 1: create operations do not support compare and set. use index instead;"
        );
    }

    #[test]
    fn valid_requests_yield_their_condition() {
        let p = WriteParams {
            if_seq_no: Some(3),
            if_primary_term: Some(1),
            ..Default::default()
        };
        assert_eq!(
            validate_index(Some("1"), &p),
            Ok(Condition::IfSeqNo(ChangeId::new(3, 1)))
        );
        let p = WriteParams {
            version: Some(7),
            version_type: Some(VersionType::External),
            ..Default::default()
        };
        assert_eq!(
            validate_index(Some("1"), &p),
            Ok(Condition::Version {
                version: 7,
                version_type: VersionType::External
            })
        );
        let p = WriteParams {
            op_type: OpType::Create,
            ..Default::default()
        };
        assert_eq!(validate_index(Some("1"), &p), Ok(Condition::Create));
    }

    #[test]
    fn update_cas_restrictions() {
        let p = UpdateParams {
            if_seq_no: Some(1),
            if_primary_term: Some(1),
            retry_on_conflict: 3,
            has_doc: true,
            has_upsert: true,
            ..Default::default()
        };
        assert_eq!(
            validate_update("1", &p).unwrap_err().reason(),
            "Validation Failed: 1: compare and write operations can not be retried;2: upsert requests don't support `if_seq_no` and `if_primary_term`;"
        );
    }

    #[test]
    fn a_script_replaces_doc() {
        let script = UpdateParams {
            has_script: true,
            ..Default::default()
        };
        assert_eq!(validate_update("1", &script), Ok(None));
        let both = UpdateParams {
            has_doc: true,
            ..script.clone()
        };
        assert_eq!(
            validate_update("1", &both).unwrap_err().reason(),
            "Validation Failed: 1: can't provide both script and doc;"
        );
        let upsert_from_nothing = UpdateParams {
            doc_as_upsert: true,
            ..script
        };
        assert_eq!(
            validate_update("1", &upsert_from_nothing)
                .unwrap_err()
                .reason(),
            "Validation Failed: 1: doc must be specified if doc_as_upsert is enabled;"
        );
    }

    #[test]
    fn negative_parameters_and_long_ids() {
        assert_eq!(check_if_seq_no(-2), Ok(None));
        assert_eq!(
            check_if_primary_term(-1).unwrap_err(),
            "primary term must be non negative. got [-1]"
        );
        assert_eq!(
            check_if_seq_no(-5).unwrap_err(),
            "sequence numbers must be non negative. got [-5]."
        );
        let id = "x".repeat(513);
        let err = validate_delete(&id, &WriteParams::default()).unwrap_err();
        assert!(err
            .reason()
            .ends_with("must be no longer than 512 bytes but was: 513;"));
    }
}
