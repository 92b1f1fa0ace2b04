//! A path through one entry's model, told for the page: every step in the protocol's words, the
//! state after it (what changed marked), the actions enabled next in the same words, where each
//! property first fails (or each reachability goal is first reached) on the path, and the
//! sequence diagram.
//!
//! A path is the list of choices a person made: at each step, the index of the action among
//! those the model's [`Model::actions`] lists in that state ([`crate::model::trace::choices`]),
//! starting from the model's first initial state. Everything is told through
//! [`crate::model::trace::Describe`]; nothing here knows a model's actions or states.

use serde::Serialize;
use stateright::{Expectation, Model};

use super::view::StateView;
use crate::model::catalogue::{Entry, WithModel};
use crate::model::svg::sequence_diagram;
use crate::model::trace::{CopyChange, Exchange, Trace};
use crate::model::{Checkable, Invariant};

/// The longest path the explorer follows: far beyond any catalogue model's depth, and a bound
/// on the work one request can ask for.
pub const MAX_PATH: usize = 1_000;

/// One step of the path.
#[derive(Debug, Serialize)]
pub struct StepView {
    /// 1-based.
    pub number: usize,
    /// The action's index among those enabled before the step.
    pub choice: usize,
    #[serde(flatten)]
    pub exchange: Exchange,
    /// The exchange as the numbered line `esocc check` prints (without the number).
    pub text: String,
    pub changes: Vec<CopyChange>,
}

/// An action enabled at the end of the path.
#[derive(Debug, Serialize)]
pub struct Choice {
    pub index: usize,
    #[serde(flatten)]
    pub exchange: Exchange,
    pub text: String,
}

/// What a property says about this path.
#[derive(Debug, Serialize)]
pub struct OnPath {
    pub property: Invariant,
    /// A reachability goal (reached on the path) rather than an invariant (broken on it).
    pub goal: bool,
    /// The first state (0: the initial state, k: after step k) that breaks the invariant or
    /// reaches the goal; `None` when no state on the path does.
    pub at: Option<usize>,
    /// Why that state breaks the invariant, in the model's terms.
    pub explanation: Option<String>,
}

/// Everything the page shows for one path.
#[derive(Debug, Serialize)]
pub struct PathView {
    pub path: Vec<usize>,
    /// `states[0]` is the initial state, `states[k]` the state after step k.
    pub states: Vec<StateView>,
    pub steps: Vec<StepView>,
    pub next: Vec<Choice>,
    pub properties: Vec<OnPath>,
    /// The path as an SVG sequence diagram.
    pub diagram: String,
}

/// A path that leaves the model: a choice beyond the enabled actions, or too many steps.
#[derive(Debug, PartialEq, Eq)]
pub struct PathError(pub String);

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry's model, walked along paths; the model's types stay behind this trait.
pub trait Walk: Send + Sync {
    fn walk(&self, path: &[usize]) -> Result<PathView, PathError>;
}

/// The walker of an entry's model.
pub fn walker(entry: &Entry) -> Result<Box<dyn Walk>, String> {
    struct Make;
    impl WithModel for Make {
        type Output = Box<dyn Walk>;
        fn with<M: Checkable>(self, model: M) -> Box<dyn Walk> {
            Box::new(Walker(model))
        }
    }
    entry.model.with_model(Make)
}

struct Walker<M>(M);

impl<M: Checkable> Walk for Walker<M> {
    fn walk(&self, path: &[usize]) -> Result<PathView, PathError> {
        let model = &self.0;
        if path.len() > MAX_PATH {
            return Err(PathError(format!(
                "the path has {} steps; the explorer follows at most {MAX_PATH}",
                path.len()
            )));
        }
        let init = model
            .init_states()
            .into_iter()
            .next()
            .ok_or_else(|| PathError("the model has no initial state".into()))?;
        let mut states = vec![init.clone()];
        let mut actions = Vec::with_capacity(path.len());
        let mut listed = Vec::new();
        for (step, &choice) in path.iter().enumerate() {
            let last = &states[step];
            listed.clear();
            model.actions(last, &mut listed);
            let taken = listed.get(choice).and_then(|action| {
                let next = model.next_state(last, action.clone())?;
                Some((action.clone(), next))
            });
            let Some((action, next)) = taken else {
                return Err(PathError(format!(
                    "step {} chooses action {choice}, which is not enabled there (see the actions listed after step {step})",
                    step + 1
                )));
            };
            actions.push(action);
            states.push(next);
        }
        let trace = Trace::replay(model, init, &actions);
        let last = states.last().expect("the initial state is always there");
        let next = enabled(model, last)
            .into_iter()
            .map(|(index, action, after)| {
                let exchange = model.exchange(last, &action, &after);
                Choice {
                    index,
                    text: exchange.to_string(),
                    exchange,
                }
            })
            .collect();
        let views: Vec<StateView> = states
            .iter()
            .scan(None, |previous: &mut Option<StateView>, state| {
                let view = StateView::of(model, state, previous.as_ref());
                *previous = Some(view.clone());
                Some(view)
            })
            .collect();
        Ok(PathView {
            path: path.to_vec(),
            properties: on_path(model, &states),
            diagram: sequence_diagram(&trace),
            steps: trace
                .steps
                .into_iter()
                .zip(path)
                .map(|(step, &choice)| StepView {
                    number: step.number,
                    choice,
                    text: step.exchange.to_string(),
                    exchange: step.exchange,
                    changes: step.changes,
                })
                .collect(),
            states: views,
            next,
        })
    }
}

/// The actions enabled in `state`, with their index among those the model lists and the state
/// each leads to (an action whose `next_state` is `None` is not enabled).
fn enabled<M: Model>(model: &M, state: &M::State) -> Vec<(usize, M::Action, M::State)>
where
    M::Action: Clone,
{
    let mut actions = Vec::new();
    model.actions(state, &mut actions);
    actions
        .into_iter()
        .enumerate()
        .filter_map(|(i, action)| {
            let next = model.next_state(state, action.clone())?;
            Some((i, action, next))
        })
        .collect()
}

/// Where each property first fails (invariants) or is first reached (goals) along `states`.
fn on_path<M: Checkable>(model: &M, states: &[M::State]) -> Vec<OnPath> {
    model
        .properties()
        .into_iter()
        .filter(|p| p.expectation != Expectation::Eventually)
        .filter_map(|p| {
            let property = Invariant::from_name(p.name)?;
            let goal = p.expectation == Expectation::Sometimes;
            let at = states
                .iter()
                .position(|state| (p.condition)(model, state) == goal);
            let explanation = at.filter(|_| !goal).map(|k| {
                model
                    .explain(property, &states[k])
                    .unwrap_or_else(|| property.statement().to_string())
            });
            Some(OnPath {
                property,
                goal,
                at,
                explanation,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalogue;

    fn seed_blind() -> Box<dyn Walk> {
        let text = serde_json::json!({
            "name": "t", "description": "", "model": "single_shard",
            "parameters": {"clients": 2, "guard": "blind", "path": "rmw"},
            "expect": {"reach_acked_write": "reachable"}, "ci": false
        });
        let entry = catalogue::parse(std::path::Path::new("t.json"), &text.to_string()).unwrap();
        walker(&entry).unwrap()
    }

    #[test]
    fn the_lost_update_is_marked_at_the_step_that_loses_it() {
        let walk = seed_blind();
        let start = walk.walk(&[]).unwrap();
        assert_eq!(start.states.len(), 1);
        assert!(start
            .next
            .iter()
            .any(|c| c.text == "client 0 → n0: GET /idx/_doc/1 → 404 not found"));
        // Both clients read, client 0 writes, client 1 writes over it.
        let index = |view: &PathView, text: &str| {
            view.next
                .iter()
                .find(|c| c.text.starts_with(text))
                .unwrap_or_else(|| panic!("{text} among {:?}", view.next))
                .index
        };
        let mut path = Vec::new();
        for prefix in [
            "client 0 → n0: GET",
            "client 1 → n0: GET",
            "client 0 → n0: PUT",
            "client 1 → n0: PUT",
        ] {
            let view = walk.walk(&path).unwrap();
            path.push(index(&view, prefix));
        }
        let view = walk.walk(&path).unwrap();
        assert_eq!(view.steps.len(), 4);
        assert!(
            view.steps[3]
                .text
                .starts_with("client 1 → n0: PUT /idx/_doc/1 [c1.0] → 20"),
            "{}",
            view.steps[3].text
        );
        let lost = view
            .properties
            .iter()
            .find(|p| p.property == Invariant::NoLostAckedWrite)
            .unwrap();
        assert_eq!(lost.at, Some(4));
        assert!(lost
            .explanation
            .as_deref()
            .unwrap()
            .contains("c0.0 was acknowledged"));
        let acked = view
            .properties
            .iter()
            .find(|p| p.property == Invariant::ReachAckedWrite)
            .unwrap();
        assert!(acked.goal);
        assert_eq!(acked.at, Some(3));
        assert!(view.diagram.contains("4. PUT /idx/_doc/1"));
    }

    #[test]
    fn a_choice_that_is_not_enabled_is_an_error() {
        let walk = seed_blind();
        let error = walk.walk(&[0, 99]).unwrap_err();
        assert!(error.0.starts_with("step 2 chooses action 99"), "{error}");
        assert!(walk.walk(&vec![0; MAX_PATH + 1]).is_err());
    }
}
