//! `esocc explore`: stateright's Explorer on one catalogue entry's model, with the gaps of
//! stateright 0.31's Explorer worked around where the command can:
//!
//! * it panics when the address cannot be bound: the address is tried first, and a bad one is a
//!   clear error (exit 2);
//! * it checks nothing until someone presses "Run to completion": the command presses it for you
//!   as soon as the server answers (unless `--no-check`), so the property list fills in while you
//!   browse;
//! * a `./ui/` directory in the working directory replaces the bundled page: the command moves to
//!   an empty directory first when one is there;
//! * the catalogue's models draw no picture: the command wraps the model in [`Explored`], which
//!   adds a sequence diagram of the path so far (the same one `check --trace-dir` writes).
//!
//! What cannot be fixed from outside is stated in the help text: symmetry reduction is ignored
//! (the state counts are those of the full space) and responses carry no `Content-Type` (browsers
//! sniff the page, stylesheet and scripts correctly on the same origin).

use std::fmt::Debug;
use std::hash::Hash;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use esocc::model::catalogue::{Entry, ModelSpec};
use esocc::model::single_shard::SingleShard;
use esocc::model::trace::{Describe, Trace};
use stateright::{Model, Path, Property};

use super::{check, svg, ExploreArgs, Failure};

/// Serves the entry at `args.path` until the process is interrupted.
pub fn run(args: ExploreArgs) -> Result<(), Failure> {
    let entries = check::load(std::slice::from_ref(&args.path))?;
    let [entry] = entries.as_slice() else {
        return Err(Failure::BadInput(format!(
            "{} holds {} entries; explore takes one catalogue file",
            args.path.display(),
            entries.len()
        )));
    };
    check_bind(args.addr).map_err(Failure::BadInput)?;
    if let Some(moved) = avoid_ui_override().map_err(Failure::BadInput)? {
        eprintln!(
            "note: ./ui/ would replace the Explorer's page; serving from {}",
            moved.display()
        );
    }
    if !args.no_check {
        run_to_completion_when_up(args.addr);
    }
    eprintln!(
        "Explorer for {} ({}) on http://{}/ (Ctrl-C to stop)",
        entry.name,
        entry.model.kind(),
        args.addr
    );
    serve(entry, args.addr, super::threads(args.threads))
}

fn serve(entry: &Entry, addr: SocketAddr, threads: usize) -> Result<(), Failure> {
    let invalid = |e: String| Failure::BadInput(format!("{}: {e}", entry.source.display()));
    match &entry.model {
        ModelSpec::SingleShard(params) => {
            let model = SingleShard::new(params.clone()).map_err(invalid)?;
            Explored::new(model, &entry.name)
                .map_err(invalid)?
                .checker()
                .threads(threads)
                .serve(addr);
        }
    }
    Ok(())
}

/// A catalogue model as the Explorer shows it: the same states, actions, texts and properties,
/// plus a sequence diagram of the path to the current state.
pub struct Explored<M: Model> {
    model: M,
    title: String,
    properties: Vec<Property<M>>,
}

/// The most properties [`Explored`] forwards (stateright's property conditions are plain `fn`
/// pointers, so each forwarded property needs its own monomorphic trampoline).
const MAX_PROPERTIES: usize = 16;

impl<M: Model> Explored<M> {
    pub fn new(model: M, title: &str) -> Result<Self, String> {
        let properties = model.properties();
        if properties.len() > MAX_PROPERTIES {
            return Err(format!(
                "the model has {} properties; the Explorer shows at most {MAX_PROPERTIES}",
                properties.len()
            ));
        }
        Ok(Explored {
            model,
            title: title.to_string(),
            properties,
        })
    }
}

/// Property `I` of the wrapped model.
fn forwarded<M: Model, const I: usize>(explored: &Explored<M>, state: &M::State) -> bool {
    (explored.properties[I].condition)(&explored.model, state)
}

impl<M> Model for Explored<M>
where
    M: Describe,
    M::State: Clone + Debug + Hash,
    M::Action: Clone + Debug,
{
    type State = M::State;
    type Action = M::Action;

    fn init_states(&self) -> Vec<M::State> {
        self.model.init_states()
    }

    fn actions(&self, state: &M::State, actions: &mut Vec<M::Action>) {
        self.model.actions(state, actions)
    }

    fn next_state(&self, state: &M::State, action: M::Action) -> Option<M::State> {
        self.model.next_state(state, action)
    }

    fn format_action(&self, action: &M::Action) -> String {
        self.model.format_action(action)
    }

    fn format_step(&self, state: &M::State, action: M::Action) -> Option<String> {
        self.model.format_step(state, action)
    }

    fn as_svg(&self, path: Path<M::State, M::Action>) -> Option<String> {
        let steps = path.into_vec();
        let init = steps.first()?.0.clone();
        let actions: Vec<M::Action> = steps.into_iter().filter_map(|(_, a)| a).collect();
        let trace = Trace::replay(&self.model, init, &actions);
        Some(svg::trace_diagram(&self.title, &trace))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let conditions: [fn(&Self, &M::State) -> bool; MAX_PROPERTIES] = [
            forwarded::<M, 0>,
            forwarded::<M, 1>,
            forwarded::<M, 2>,
            forwarded::<M, 3>,
            forwarded::<M, 4>,
            forwarded::<M, 5>,
            forwarded::<M, 6>,
            forwarded::<M, 7>,
            forwarded::<M, 8>,
            forwarded::<M, 9>,
            forwarded::<M, 10>,
            forwarded::<M, 11>,
            forwarded::<M, 12>,
            forwarded::<M, 13>,
            forwarded::<M, 14>,
            forwarded::<M, 15>,
        ];
        self.properties
            .iter()
            .zip(conditions)
            .map(|(property, condition)| Property {
                expectation: property.expectation.clone(),
                name: property.name,
                condition,
            })
            .collect()
    }

    fn within_boundary(&self, state: &M::State) -> bool {
        self.model.within_boundary(state)
    }
}

/// Checks that `addr` can be bound, so the Explorer's own bind cannot panic.
pub fn check_bind(addr: SocketAddr) -> Result<(), String> {
    TcpListener::bind(addr)
        .map(drop)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// Leaves a working directory that has a `ui/` folder, which the Explorer would serve instead of
/// its own page. Returns the directory moved to, if any.
pub fn avoid_ui_override() -> Result<Option<PathBuf>, String> {
    if !std::path::Path::new("ui").exists() {
        return Ok(None);
    }
    let empty = std::env::temp_dir().join(format!("esocc-explore-{}", std::process::id()));
    std::fs::create_dir_all(&empty)
        .and_then(|()| std::env::set_current_dir(&empty))
        .map_err(|e| format!("cannot leave a directory with ./ui/ in it: {e}"))?;
    Ok(Some(empty))
}

/// Starts exhaustive checking in the background once the Explorer at `addr` answers, which is
/// what its "Run to completion" button does.
pub fn run_to_completion_when_up(addr: SocketAddr) {
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(mut stream) = TcpStream::connect(addr) {
                let request = format!(
                    "POST /.runtocompletion HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                if stream.write_all(request.as_bytes()).is_ok() {
                    let _ = stream.read_to_end(&mut Vec::new());
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_in_use_is_an_error_not_a_panic() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let error = check_bind(addr).unwrap_err();
        assert!(
            error.starts_with(&format!("cannot listen on {addr}: ")),
            "{error}"
        );
        drop(taken);
        assert_eq!(check_bind(addr), Ok(()));
    }
}
