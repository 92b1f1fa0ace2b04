//! Model → engine replay for `tests/conformance.rs`: [`replay`] drives one path and compares,
//! [`walk`] chooses the paths.

pub mod replay;
pub mod walk;
