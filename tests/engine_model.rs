//! Model-based test: random sequences of get / index / create / delete / update with random
//! conditions, run on a [`ShardCopy`] and on a plainly written sequential reference of
//! Elasticsearch's document semantics. Every response and error body must be the same JSON text
//! (results, versions, `_seq_no`s, reasons, metadata), and after every step the copy's local
//! checkpoint must equal its max `_seq_no` and the reference's count of assigned numbers.
//!
//! The reference deliberately does not call `esocc::protocol`: it restates the rules in the most
//! direct form, so a wrong rule in the protocol or a wrong step in the engine shows up as a
//! difference.

use std::collections::BTreeMap;
use std::sync::Arc;

use esocc::engine::{ShardCopy, ShardId, UpdateRequest, WriteOutcome};
use esocc::protocol::{ChangeId, Condition, VersionType};
use proptest::prelude::*;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use serde_json::{json, Map, Value};

#[path = "support/answers.rs"]
mod answers;
use answers::{get_answer, write_answer};

const IDS: [&str; 3] = ["a", "b", "c"];

#[derive(Clone, Debug, PartialEq)]
enum Cond {
    None,
    IfSeqNo(i64, u64),
    External(i64),
    ExternalGte(i64),
}

#[derive(Clone, Debug, PartialEq)]
/// What an update does when the document is missing.
enum IfMissing {
    /// 404 `document_missing_exception`.
    Fail,
    /// `upsert: {"n": N}`.
    Create(i64),
    /// `doc_as_upsert: true`.
    CreateFromDoc,
}

#[derive(Clone, Debug, PartialEq)]
enum Op {
    Get(&'static str),
    Index(&'static str, Cond, i64),
    Create(&'static str, i64),
    Delete(&'static str, Cond),
    Update {
        id: &'static str,
        field: &'static str,
        value: i64,
        if_missing: IfMissing,
        detect_noop: bool,
        if_seq_no: Option<(i64, u64)>,
    },
    /// A newer primary term (as after a promotion): later writes carry it.
    NewTerm,
}

#[derive(Clone, Debug)]
struct RefDoc {
    seq_no: i64,
    term: u64,
    version: i64,
    /// `None`: a tombstone.
    source: Option<Map<String, Value>>,
}

#[derive(Clone, Debug)]
struct RefShard {
    docs: BTreeMap<&'static str, RefDoc>,
    next_seq_no: i64,
    term: u64,
    /// The status and body the last operation answered with.
    last: (u16, String),
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("sources are objects"),
    }
}

fn write_body(id: &str, version: i64, result: &str, seq_no: i64, term: u64, total: u32) -> String {
    json!({"_index": "idx", "_id": id, "_version": version, "result": result,
           "_shards": {"total": total, "successful": total, "failed": 0},
           "_seq_no": seq_no, "_primary_term": term})
    .to_string()
}

fn error_body(error_type: &str, reason: String, status: u16) -> (u16, String) {
    let cause = json!({"type": error_type, "reason": reason, "index_uuid": "uuid", "shard": "0", "index": "idx"});
    let mut error = object(json!({"root_cause": [cause.clone()]}));
    error.extend(object(cause));
    (
        status,
        json!({"error": error, "status": status}).to_string(),
    )
}

fn conflict(id: &str, explanation: String) -> (u16, String) {
    error_body(
        "version_conflict_engine_exception",
        format!("[{id}]: version conflict, {explanation}"),
        409,
    )
}

impl RefShard {
    fn live(&self, id: &str) -> Option<&RefDoc> {
        self.docs.get(id).filter(|d| d.source.is_some())
    }

    /// Check a write's condition; on success the new `_version`.
    fn check(&self, id: &str, cond: &Cond) -> Result<i64, (u16, String)> {
        let existing = self.docs.get(id);
        let current = existing.map(|d| d.version);
        match *cond {
            Cond::None => Ok(current.map_or(1, |v| v + 1)),
            Cond::IfSeqNo(s, t) => match self.live(id) {
                None => Err(conflict(id, format!("required seqNo [{s}], primary term [{t}]. but no document was found"))),
                Some(d) if (d.seq_no, d.term) != (s, t) => Err(conflict(id, format!(
                    "required seqNo [{s}], primary term [{t}]. current document has seqNo [{}] and primary term [{}]",
                    d.seq_no, d.term
                ))),
                Some(d) => Ok(d.version + 1),
            },
            Cond::External(v) => match current {
                Some(c) if c >= v => Err(conflict(id, format!("current version [{c}] is higher or equal to the one provided [{v}]"))),
                _ => Ok(v),
            },
            Cond::ExternalGte(v) => match current {
                Some(c) if c > v => Err(conflict(id, format!("current version [{c}] is higher than the one provided [{v}]"))),
                _ => Ok(v),
            },
        }
    }

    /// Install a new state and answer like Elasticsearch.
    fn put(&mut self, id: &'static str, version: i64, source: Option<Map<String, Value>>) {
        let existed = self.live(id).is_some();
        let deleting = source.is_none();
        let seq_no = self.next_seq_no;
        self.next_seq_no += 1;
        self.docs.insert(
            id,
            RefDoc {
                seq_no,
                term: self.term,
                version,
                source,
            },
        );
        let (result, status) = match (deleting, existed) {
            (false, false) => ("created", 201),
            (false, true) => ("updated", 200),
            (true, true) => ("deleted", 200),
            (true, false) => ("not_found", 404),
        };
        self.last = (
            status,
            write_body(id, version, result, seq_no, self.term, 1),
        );
    }

    fn run(&mut self, op: &Op) {
        match op {
            Op::Get(id) => {
                self.last = match self.live(id) {
                    Some(d) => (
                        200,
                        json!({"_index": "idx", "_id": id, "_version": d.version,
                        "_seq_no": d.seq_no, "_primary_term": d.term, "found": true,
                        "_source": d.source})
                        .to_string(),
                    ),
                    None => (
                        404,
                        json!({"_index": "idx", "_id": id, "found": false}).to_string(),
                    ),
                }
            }
            Op::Index(id, cond, n) => match self.check(id, cond) {
                Ok(version) => self.put(id, version, Some(object(json!({"n": n})))),
                Err(e) => self.last = e,
            },
            Op::Create(id, n) => match (self.live(id), self.docs.get(id)) {
                (Some(d), _) => {
                    self.last = conflict(
                        id,
                        format!("document already exists (current version [{}])", d.version),
                    )
                }
                (None, old) => {
                    let version = old.map_or(1, |d| d.version + 1);
                    self.put(id, version, Some(object(json!({"n": n}))))
                }
            },
            Op::Delete(id, cond) => match self.check(id, cond) {
                Ok(version) => self.put(id, version, None),
                Err(e) => self.last = e,
            },
            Op::Update {
                id,
                field,
                value,
                if_missing,
                detect_noop,
                if_seq_no,
            } => {
                let live = self.live(id).cloned();
                match (live, if_missing, if_seq_no) {
                    (Some(d), _, Some((s, t))) if (d.seq_no, d.term) != (*s, *t) => {
                        self.last = conflict(id, format!(
                            "required seqNo [{s}], primary term [{t}]. current document has seqNo [{}] and primary term [{}]",
                            d.seq_no, d.term
                        ))
                    }
                    (Some(d), _, _) => {
                        let old = d.source.clone().unwrap_or_default();
                        let mut merged = old.clone();
                        merged.insert(field.to_string(), json!(value));
                        if *detect_noop && merged == old {
                            self.last = (200, write_body(id, d.version, "noop", d.seq_no, d.term, 0));
                        } else {
                            self.put(id, d.version + 1, Some(merged));
                        }
                    }
                    (None, IfMissing::Fail, _) => {
                        self.last = error_body("document_missing_exception", format!("[{id}]: document missing"), 404)
                    }
                    (None, if_missing, _) => {
                        let source = match if_missing {
                            IfMissing::Create(n) => object(json!({"n": n})),
                            _ => object(json!({ *field: value })),
                        };
                        let version = self.docs.get(id).map_or(1, |d| d.version + 1);
                        self.put(id, version, Some(source));
                    }
                }
            }
            Op::NewTerm => {
                self.term += 1;
                self.last = (0, String::new());
            }
        }
    }
}

fn cond_strategy(state: &RefShard, id: &'static str) -> BoxedStrategy<Cond> {
    let current = state.live(id).map(|d| (d.seq_no, d.term));
    let version = state.docs.get(id).map_or(0, |d| d.version);
    let seq_hi = state.next_seq_no.max(1);
    let mut options: Vec<BoxedStrategy<Cond>> = vec![
        Just(Cond::None).boxed(),
        (0..seq_hi, 1..=state.term)
            .prop_map(|(s, t)| Cond::IfSeqNo(s, t))
            .boxed(),
        (0..version + 3).prop_map(Cond::External).boxed(),
        (0..version + 3).prop_map(Cond::ExternalGte).boxed(),
    ];
    if let Some((s, t)) = current {
        options.push(Just(Cond::IfSeqNo(s, t)).boxed());
        options.push(Just(Cond::IfSeqNo(s, t)).boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

struct Reference;

impl ReferenceStateMachine for Reference {
    type State = RefShard;
    type Transition = Op;

    fn init_state() -> BoxedStrategy<RefShard> {
        Just(RefShard {
            docs: BTreeMap::new(),
            next_seq_no: 0,
            term: 1,
            last: (0, String::new()),
        })
        .boxed()
    }

    fn transitions(state: &RefShard) -> BoxedStrategy<Op> {
        let id = proptest::sample::select(IDS.to_vec());
        let s = state.clone();
        let s2 = state.clone();
        prop_oneof![
            2 => id.clone().prop_map(Op::Get),
            4 => id.clone().prop_flat_map(move |id| (cond_strategy(&s, id), 0..3i64)
                .prop_map(move |(c, n)| Op::Index(id, c, n))),
            2 => (id.clone(), 0..3i64).prop_map(|(id, n)| Op::Create(id, n)),
            2 => id.clone().prop_flat_map(move |id| cond_strategy(&s2, id).prop_map(move |c| Op::Delete(id, c))),
            4 => (id, proptest::sample::select(vec!["n", "m"]), 0..3i64,
                  prop_oneof![Just(IfMissing::Fail), (0..3i64).prop_map(IfMissing::Create), Just(IfMissing::CreateFromDoc)],
                  any::<bool>(), proptest::option::of((0..state.next_seq_no.max(1), 1..=state.term)))
                .prop_map(|(id, field, value, if_missing, detect_noop, if_seq_no)| {
                    // Validation forbids if_seq_no together with an upsert.
                    let if_seq_no = if if_missing == IfMissing::Fail { if_seq_no } else { None };
                    Op::Update { id, field, value, if_missing, detect_noop, if_seq_no }
                }),
            1 => Just(Op::NewTerm),
        ]
        .boxed()
    }

    fn apply(mut state: RefShard, op: &Op) -> RefShard {
        state.run(op);
        state
    }

    fn preconditions(state: &RefShard, op: &Op) -> bool {
        !matches!(op, Op::NewTerm) || state.term < 3
    }
}

fn answer(outcome: WriteOutcome) -> (u16, String) {
    write_answer(&outcome.result)
}

fn source(v: Value) -> esocc::engine::Source {
    Arc::new(object(v).into())
}

fn condition(cond: &Cond) -> Condition {
    let version = |version, version_type| Condition::Version {
        version,
        version_type,
    };
    match *cond {
        Cond::None => Condition::None,
        Cond::IfSeqNo(s, t) => Condition::IfSeqNo(ChangeId::new(s, t)),
        Cond::External(v) => version(v, VersionType::External),
        Cond::ExternalGte(v) => version(v, VersionType::ExternalGte),
    }
}

struct EngineVsReference;

impl StateMachineTest for EngineVsReference {
    type SystemUnderTest = ShardCopy;
    type Reference = Reference;

    fn init_test(_: &RefShard) -> ShardCopy {
        ShardCopy::new(ShardId::new("idx", "uuid", 0))
    }

    fn apply(copy: ShardCopy, expected: &RefShard, op: Op) -> ShardCopy {
        let got = match &op {
            Op::Get(id) => get_answer(&copy.get(id)),
            Op::Index(id, cond, n) => {
                answer(copy.index(id, source(json!({"n": n})), &condition(cond)))
            }
            Op::Create(id, n) => answer(copy.create(id, source(json!({"n": n})))),
            Op::Delete(id, cond) => answer(copy.delete(id, &condition(cond))),
            Op::Update {
                id,
                field,
                value,
                if_missing,
                detect_noop,
                if_seq_no,
            } => {
                let request = UpdateRequest {
                    upsert: match if_missing {
                        IfMissing::Create(n) => Some(object(json!({"n": n}))),
                        _ => None,
                    },
                    doc_as_upsert: *if_missing == IfMissing::CreateFromDoc,
                    detect_noop: *detect_noop,
                    if_seq_no: if_seq_no.map(|(s, t)| ChangeId::new(s, t)),
                    ..UpdateRequest::doc(object(json!({ *field: value })))
                };
                answer(copy.update(id, &request))
            }
            Op::NewTerm => {
                copy.adopt_term(expected.term);
                (0, String::new())
            }
        };
        assert_eq!(got, expected.last, "after {op:?}");
        copy
    }

    fn check_invariants(copy: &ShardCopy, expected: &RefShard) {
        assert_eq!(copy.max_seq_no(), expected.next_seq_no - 1);
        assert_eq!(copy.local_checkpoint(), copy.max_seq_no());
        assert_eq!(copy.history_above(-1).len() as i64, expected.next_seq_no);
    }
}

prop_state_machine! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn engine_matches_the_sequential_reference(sequential 1..40 => EngineVsReference);
}
