use super::*;
use crate::model::catalogue;
use crate::model::check::{self, Options, Verdict};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::Representative;

fn params(clients: u8, guard: Option<Guard>, path: Path, retry_on_conflict: u8) -> Params {
    Params {
        clients,
        docs: 1,
        ops_per_client: 1,
        guard,
        path,
        retry_on_conflict,
        initially_indexed: false,
        by_query: None,
        fault: None,
    }
}

/// Two updating writers on two indexed documents, and an update-by-query with `conflicts`.
fn by_query_params(conflicts: Conflicts) -> Params {
    Params {
        docs: 2,
        initially_indexed: true,
        by_query: Some(conflicts),
        ..params(2, None, Path::Update, 1)
    }
}

fn assert_verdicts(report: &check::Report, expected: &[(Invariant, Verdict)]) {
    for &(invariant, verdict) in expected {
        let got = report.property(invariant).unwrap().verdict;
        assert_eq!(got, verdict, "{}: {invariant}", report.entry);
    }
}

fn entry_report(name: &str) -> check::Report {
    let path = format!("models/{name}.json");
    let entry = catalogue::load(&[path]).unwrap().remove(0);
    check::run(&entry, &Options::default()).unwrap()
}

fn report_of(params: &Params) -> check::Report {
    let text = serde_json::json!({
        "name": "t", "description": "", "model": "single_shard",
        "parameters": params, "expect": {"no_lost_acked_write": "holds", "reach_acked_write": "reachable"}, "ci": false
    });
    let entry = catalogue::parse(std::path::Path::new("t.json"), &text.to_string()).unwrap();
    check::run(&entry, &Options::default()).unwrap()
}

fn counterexample(report: &check::Report, invariant: Invariant) -> check::Counterexample {
    let property = report.property(invariant).unwrap();
    assert_eq!(property.verdict, Verdict::Counterexample, "{invariant}");
    property.counterexample.clone().unwrap()
}

fn trace_text(report: &check::Report, invariant: Invariant) -> String {
    counterexample(report, invariant).trace.to_string()
}

#[test]
fn blind_writes_lose_an_update_in_four_steps() {
    let report = report_of(&params(2, Some(Guard::Blind), Path::Rmw, 0));
    let text = trace_text(&report, Invariant::NoLostAckedWrite);
    println!("{text}");
    let expected = " 1. client 0 → n0: GET /idx/_doc/1 → 404 not found
 2. client 1 → n0: GET /idx/_doc/1 → 404 not found
 3. client 0 → n0: PUT /idx/_doc/1 [c0.0] → 201 created _seq_no=0 _primary_term=1 _version=1
      n0: doc 1: _seq_no=0 _primary_term=1 _version=1 [c0.0]
 4. client 1 → n0: PUT /idx/_doc/1 [c1.0] → 200 updated _seq_no=1 _primary_term=1 _version=2
      n0: doc 1: _seq_no=1 _primary_term=1 _version=2 [c1.0]
";
    assert!(text.ends_with(expected), "{text}");
    assert_eq!(
        counterexample(&report, Invariant::NoLostAckedWrite).violation,
        "c0.0 was acknowledged, but doc 1 now holds [c1.0]: a write that never saw it replaced it"
    );
    assert_eq!(
        counterexample(&report, Invariant::RmwSerializable).violation,
        format!(
            "step 4 breaks it: {}",
            Invariant::RmwSerializable.statement()
        )
    );
}

#[test]
fn seq_no_and_term_turns_the_overwrite_into_a_409() {
    let report = report_of(&params(2, Some(Guard::SeqNoAndTerm), Path::Rmw, 0));
    let text = trace_text(&report, Invariant::RetrySizing);
    println!("{text}");
    assert!(text.contains("PUT /idx/_doc/1?op_type=create [c1.0] → 409 version_conflict_engine_exception: [1]: version conflict, document already exists (current version [1]), gives up"), "{text}");
    assert!(report
        .properties
        .iter()
        .filter(|p| p.property != Invariant::RetrySizing && !p.property.is_reachability())
        .all(|p| p.verdict == Verdict::Holds));

    let indexed = Params {
        initially_indexed: true,
        ..params(2, Some(Guard::SeqNoAndTerm), Path::Rmw, 0)
    };
    let text = trace_text(&report_of(&indexed), Invariant::RetrySizing);
    assert!(
        text.starts_with("   n0: doc 1: _seq_no=0 _primary_term=1 _version=1 []\n"),
        "{text}"
    );
    assert!(text.contains(" 4. client 1 → n0: PUT /idx/_doc/1?if_seq_no=0&if_primary_term=1 [c1.0] → 409 version_conflict_engine_exception: [1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1], gives up"), "{text}");
}

#[test]
fn update_retries_show_the_shards_own_steps() {
    let report = report_of(&params(3, None, Path::Update, 1));
    let text = trace_text(&report, Invariant::RetrySizing);
    println!("{text}");
    assert!(
        text.contains("n0 → client 1: index /idx/_doc/1?if_seq_no=0&if_primary_term=1"),
        "{text}"
    );
    assert!(text.contains("retry 1 of client"), "{text}");
    assert!(text.contains("409 version_conflict_engine_exception: [1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1], gives up"), "{text}");
}

/// Every path of the model, as (state, action, next state) steps.
fn all_paths(model: &SingleShard) -> Vec<Vec<(State, Action, State)>> {
    fn walk(
        model: &SingleShard,
        state: &State,
        path: &mut Vec<(State, Action, State)>,
        out: &mut Vec<Vec<(State, Action, State)>>,
    ) {
        let mut actions = Vec::new();
        model.actions(state, &mut actions);
        if actions.is_empty() {
            out.push(path.clone());
        }
        for action in actions {
            let next = model.next_state(state, action).unwrap();
            path.push((state.clone(), action, next.clone()));
            walk(model, &next, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(model, &model.init_states()[0], &mut Vec::new(), &mut out);
    out
}

/// The whole history of a path, fed to stateright's `LinearizabilityTester`: every GET and
/// every conditional write, each returning at once (operations are atomic).
fn tester_verdict(path: &[(State, Action, State)]) -> bool {
    let mut tester = LinearizabilityTester::<u8, Document<Chain>>::new(Document(None));
    for (before, action, after) in path {
        match *action {
            Action::Read { client, doc } => {
                let d = &before.docs[usize::from(doc)];
                tester
                    .on_invret(
                        client,
                        DocOp::Read,
                        DocRet::ReadOk(register(d.meta, &d.value)),
                    )
                    .unwrap();
            }
            Action::Write { client } => {
                let c = &before.clients[usize::from(client)];
                let Stage::Writing(read) = &c.stage else {
                    unreachable!()
                };
                let mut new = read.value.clone();
                new.push(WriteId {
                    client,
                    op: c.answers.len() as u8,
                });
                let ret = if after.max_seq_no > before.max_seq_no {
                    DocRet::CasOk
                } else {
                    DocRet::CasFailed
                };
                let op = DocOp::Cas {
                    expected: register(read.meta, &read.value),
                    new: Some(new),
                };
                tester.on_invret(client, op, ret).unwrap();
            }
            // The tester judges the rmw models, which have no update-by-query.
            Action::Abandon { .. } | Action::Scroll | Action::WriteHit => {}
        }
    }
    tester.is_consistent()
}

/// Does `state` satisfy the model's property named after `invariant` (true when the model does
/// not check it)?
fn holds(model: &SingleShard, state: &State, invariant: Invariant) -> bool {
    model
        .properties()
        .into_iter()
        .find(|p| p.name == invariant.name())
        .is_none_or(|p| (p.condition)(model, state))
}

#[test]
fn stepwise_spec_check_agrees_with_the_linearizability_tester() {
    let mut refuted = 0;
    for guard in Guard::ALL {
        let model = SingleShard::new(params(3, Some(guard), Path::Rmw, 1)).unwrap();
        for path in all_paths(&model) {
            let last = &path.last().unwrap().2;
            let model_says = path
                .iter()
                .all(|(_, _, state)| holds(&model, state, Invariant::ReadsLinearizable));
            assert_eq!(model_says, tester_verdict(&path), "{guard:?}: {last:?}");
            refuted += usize::from(!model_says);
        }
    }
    assert!(
        refuted > 0,
        "the blind guard must produce non-linearizable paths"
    );
}

#[test]
fn update_by_query_proceed_skips_the_writers_document_and_loses_no_write() {
    let report = entry_report("single-shard-update-by-query-proceed");
    let skipped = counterexample(&report, Invariant::ByQueryStopsAtFirstConflict);
    let text = skipped.trace.to_string();
    println!("{text}");
    let expected = " 2. by-query → n0: POST /idx/_update_by_query?conflicts=proceed&scroll_size=1 (append ubq.<hit> to each hit) → refreshed view: doc 1 200 _seq_no=0 _primary_term=1 _version=1 [], doc 2 200 _seq_no=1 _primary_term=1 _version=1 []
 3. n0 → client 0: index /idx/_doc/1?if_seq_no=0&if_primary_term=1 [c0.0] → 200 updated _seq_no=2 _primary_term=1 _version=2
      n0: doc 1: _seq_no=2 _primary_term=1 _version=2 [c0.0]
 4. by-query → n0: hit 1: index /idx/_doc/1?if_seq_no=0&if_primary_term=1 [ubq.0] → 409 version_conflict_engine_exception: [1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [2] and primary term [1], skipped (version_conflicts=1)
 5. by-query → n0: hit 2: index /idx/_doc/2?if_seq_no=1&if_primary_term=1 [ubq.1] → 200 updated _seq_no=3 _primary_term=1 _version=2; answers 200 total=2 updated=1 version_conflicts=1 failures=0
      n0: doc 2: _seq_no=3 _primary_term=1 _version=2 [ubq.1]
";
    assert!(text.ends_with(expected), "{text}");
    assert_eq!(skipped.violation, "with conflicts=proceed, the by-query wrote hit 2 (doc 2) after hit 1 (doc 1) answered 409: the writer's document was skipped");
    assert_verdicts(
        &report,
        &[
            (Invariant::NoLostAckedWrite, Verdict::Holds),
            (Invariant::CasLinearizable, Verdict::Holds),
            (Invariant::ReachByQuerySkipped, Verdict::Reachable),
        ],
    );
}

#[test]
fn update_by_query_abort_stops_at_the_first_conflict_unless_the_knob_ignores_it() {
    let report = entry_report("single-shard-update-by-query-abort");
    assert_verdicts(
        &report,
        &[
            (Invariant::ByQueryStopsAtFirstConflict, Verdict::Holds),
            (Invariant::ReachByQueryAborted, Verdict::Reachable),
            (Invariant::NoLostAckedWrite, Verdict::Holds),
        ],
    );
    let knob = entry_report("single-shard-update-by-query-ignores-abort");
    let text = counterexample(&knob, Invariant::ByQueryStopsAtFirstConflict)
        .trace
        .to_string();
    assert!(
        text.contains("POST /idx/_update_by_query?conflicts=abort&scroll_size=1"),
        "{text}"
    );
    assert!(text.contains("current document has seqNo [2] and primary term [1], goes on (fault by_query_ignores_abort)"), "{text}");
    assert!(
        text.contains("; answers 409 total=2 updated=1 version_conflicts=1 failures=1"),
        "{text}"
    );
}

#[test]
fn the_by_query_is_enabled_until_it_answers() {
    let model = SingleShard::new(by_query_params(Conflicts::Abort)).unwrap();
    let mut answered = 0;
    for path in all_paths(&model) {
        let last = &path.last().unwrap().2;
        let pass = last.pass.as_ref().unwrap();
        assert!(pass.answered, "{last:?}");
        let hits = pass.hits.as_ref().unwrap().len();
        let stopped = pass.written.iter().position(|w| !w).map(|f| f + 1);
        assert_eq!(pass.written.len(), stopped.unwrap_or(hits), "{last:?}");
        answered += 1;
    }
    assert!(answered > 0);
}

#[test]
fn symmetry_representative_is_a_renaming() {
    let blind = SingleShard::new(params(3, Some(Guard::Blind), Path::Rmw, 0)).unwrap();
    let by_query = SingleShard::new(by_query_params(Conflicts::Proceed)).unwrap();
    for (model, path) in all_paths(&blind)
        .into_iter()
        .map(|p| (&blind, p))
        .chain(all_paths(&by_query).into_iter().map(|p| (&by_query, p)))
    {
        for (_, _, state) in path {
            let representative = state.representative();
            assert_eq!(representative.representative(), representative);
            assert_eq!(
                no_lost_acked_write(&representative),
                no_lost_acked_write(&state)
            );
            for invariant in Invariant::ALL {
                assert_eq!(
                    holds(model, &representative, invariant),
                    holds(model, &state, invariant),
                    "{invariant}"
                );
            }
            let lengths =
                |s: &State| -> Vec<usize> { s.docs.iter().map(|d| d.value.len()).collect() };
            assert_eq!(lengths(&state), lengths(&representative));
            assert_eq!(state.pass.is_some(), representative.pass.is_some());
        }
    }
}

#[test]
fn invalid_parameters_are_explained() {
    assert!(
        SingleShard::new(params(0, Some(Guard::Blind), Path::Rmw, 0))
            .unwrap_err()
            .contains("clients")
    );
    assert!(SingleShard::new(params(2, None, Path::Rmw, 0))
        .unwrap_err()
        .contains("guard"));
    assert!(
        SingleShard::new(params(2, Some(Guard::Blind), Path::Update, 0))
            .unwrap_err()
            .contains("`rmw` only")
    );
    let ignores_abort = Params {
        fault: Some(Fault::ByQueryIgnoresAbort),
        ..by_query_params(Conflicts::Proceed)
    };
    assert!(SingleShard::new(ignores_abort)
        .unwrap_err()
        .contains("`by_query` `abort`"));
}
