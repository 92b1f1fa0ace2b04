//! The sequential specification of one document: a compare-and-set register.
//!
//! Histories from the models, the loom and proptest tests and the HTTP tests are checked against
//! this spec with stateright's [`LinearizabilityTester`](stateright::semantics::LinearizabilityTester).
//! A write whose `(_seq_no, _primary_term)` came from a read is a compare-and-set that expects the
//! value that read returned; a 409 is the compare-and-set failing (a definite answer); any other
//! failure is an operation that never returned.

use stateright::semantics::SequentialSpec;

/// The register: the document's current value, `None` while it does not exist.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Document<V>(pub Option<V>);

impl<V> Default for Document<V> {
    fn default() -> Self {
        Document(None)
    }
}

/// An operation on the document. `None` as a new value is a delete.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocOp<V> {
    /// A realtime GET.
    Read,
    /// An unconditional write (index or delete).
    Write(Option<V>),
    /// A conditional write: applies only if the document still holds `expected`
    /// (`None`: does not exist, as for `op_type=create`).
    Cas { expected: Option<V>, new: Option<V> },
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocRet<V> {
    ReadOk(Option<V>),
    WriteOk,
    CasOk,
    /// The 409: the condition did not hold and nothing was written.
    CasFailed,
}

impl<V: Clone + PartialEq> SequentialSpec for Document<V> {
    type Op = DocOp<V>;
    type Ret = DocRet<V>;

    fn invoke(&mut self, op: &DocOp<V>) -> DocRet<V> {
        match op {
            DocOp::Read => DocRet::ReadOk(self.0.clone()),
            DocOp::Write(new) => {
                self.0 = new.clone();
                DocRet::WriteOk
            }
            DocOp::Cas { expected, new } if *expected == self.0 => {
                self.0 = new.clone();
                DocRet::CasOk
            }
            DocOp::Cas { .. } => DocRet::CasFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::semantics::{ConsistencyTester, LinearizabilityTester};

    #[test]
    fn two_cas_writes_from_one_read_cannot_both_succeed() {
        let mut t = LinearizabilityTester::<u8, Document<u8>>::new(Document(Some(0)));
        t.on_invret(1, DocOp::Read, DocRet::ReadOk(Some(0)))
            .unwrap();
        t.on_invret(2, DocOp::Read, DocRet::ReadOk(Some(0)))
            .unwrap();
        let cas = |new| DocOp::Cas {
            expected: Some(0),
            new: Some(new),
        };
        t.on_invret(1, cas(1), DocRet::CasOk).unwrap();
        assert!(t.is_consistent());
        let mut lost = t.clone();
        lost.on_invret(2, cas(2), DocRet::CasOk).unwrap();
        assert!(!lost.is_consistent());
        t.on_invret(2, cas(2), DocRet::CasFailed).unwrap();
        assert!(t.is_consistent());
    }
}
