//! The random schedules of `tests/replication_proptest.rs`, shared with `tests/conformance.rs`
//! (which maps them to model actions): writes, link faults, deliveries, drops, one failover,
//! and (with [`step_with_recoveries`]) replica failures and recoveries, on three copies.

use esocc::engine::LinkFault;
use proptest::prelude::*;

pub const COPIES: usize = 3;
pub const DOCS: u8 = 3;

#[derive(Clone, Debug)]
pub enum Step {
    /// A write on the master's primary: blind index, delete, or index guarded by
    /// `if_seq_no` + `if_primary_term` of a read.
    Write {
        doc: u8,
        n: u8,
        kind: Kind,
    },
    /// An index sent to the isolated old primary (if there is one).
    StaleWrite {
        doc: u8,
        n: u8,
    },
    SetLink {
        copy: usize,
        fault: LinkFault,
    },
    ReleaseOne {
        copy: usize,
    },
    Release {
        copy: usize,
    },
    /// The first one fails (or isolates) the primary; later ones are ignored.
    Failover {
        isolate: bool,
    },
    /// A replica fails (ignored on the primary).
    FailReplica {
        copy: usize,
    },
    /// A failed replica recovers (ignored on a copy that has not failed).
    Recover {
        copy: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Blind,
    Delete,
    Guarded,
}

pub fn step() -> impl Strategy<Value = Step> {
    let fault = prop::sample::select(LinkFault::ALL.to_vec());
    let kind = prop_oneof![Just(Kind::Blind), Just(Kind::Delete), Just(Kind::Guarded)];
    prop_oneof![
        6 => (0..DOCS, any::<u8>(), kind).prop_map(|(doc, n, kind)| Step::Write { doc, n, kind }),
        2 => (0..DOCS, any::<u8>()).prop_map(|(doc, n)| Step::StaleWrite { doc, n }),
        3 => (0..COPIES, fault).prop_map(|(copy, fault)| Step::SetLink { copy, fault }),
        3 => (0..COPIES).prop_map(|copy| Step::ReleaseOne { copy }),
        2 => (0..COPIES).prop_map(|copy| Step::Release { copy }),
        1 => any::<bool>().prop_map(|isolate| Step::Failover { isolate }),
    ]
}

/// [`step`] or a replica's failure or recovery.
pub fn step_with_recoveries() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => step(),
        1 => (0..COPIES).prop_map(|copy| Step::FailReplica { copy }),
        1 => (0..COPIES).prop_map(|copy| Step::Recover { copy }),
    ]
}
