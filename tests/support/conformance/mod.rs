//! The conformance checks of `tests/conformance.rs`: model → engine ([`replay`] drives one
//! path and compares, [`walk`] chooses the paths) and engine → model ([`schedule`] maps the
//! random schedules of `tests/replication_proptest.rs`, [`schedules`], to model actions).

pub mod replay;
pub mod schedule;
/// `n` (the value written) is read only by the proptest: values here are the model's chains.
#[allow(dead_code)]
#[path = "../schedules.rs"]
pub mod schedules;
pub mod walk;
