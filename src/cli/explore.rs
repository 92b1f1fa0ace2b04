//! `esocc explore`: esocc's own explorer ([`esocc::explorer`]) on the catalogue or some of its
//! entries; with `--stateright`, stateright's generic Explorer on one entry instead (served by
//! [`esocc::model::check::explore`]), with the gaps of stateright 0.31's Explorer worked around
//! where the command can:
//!
//! * it panics when the address cannot be bound: the model layer tries the address first, and
//!   the command turns a bad one into a clear error (exit 2);
//! * it checks nothing until someone presses "Run to completion": the command presses it for you
//!   as soon as the server answers (unless `--no-check`), so the property list fills in while you
//!   browse;
//! * a `./ui/` directory in the working directory replaces the bundled page: the command moves to
//!   an empty directory first when one is there.
//!
//! What cannot be fixed from outside is stated in the help text: symmetry reduction is ignored
//! (the state counts are those of the full space) and responses carry no `Content-Type` (browsers
//! sniff the page, stylesheet and scripts correctly on the same origin).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use esocc::model::check::{self as model_check, CheckError};

use super::{check, ExploreArgs, Failure};

/// Serves the entries at `args.paths` until the process is interrupted.
pub fn run(args: ExploreArgs) -> Result<(), Failure> {
    let entries = check::load(&args.paths)?;
    if args.stateright {
        return stateright(&args, &entries);
    }
    let count = entries.len();
    esocc::explorer::serve(entries, args.addr, super::threads(args.threads), |addr| {
        eprintln!(
            "esocc explorer: {count} entr{} on http://{addr}/ (Ctrl-C to stop)",
            if count == 1 { "y" } else { "ies" }
        );
    })
    .map_err(|e| Failure::BadInput(e.to_string()))
}

/// stateright's Explorer on the one entry of `entries`.
fn stateright(
    args: &ExploreArgs,
    entries: &[esocc::model::catalogue::Entry],
) -> Result<(), Failure> {
    let [entry] = entries else {
        return Err(Failure::BadInput(format!(
            "--stateright explores one catalogue file; {} entries were given",
            entries.len()
        )));
    };
    if let Some(moved) = avoid_ui_override().map_err(Failure::BadInput)? {
        eprintln!(
            "note: ./ui/ would replace the Explorer's page; serving from {}",
            moved.display()
        );
    }
    let banner = format!(
        "Explorer for {} ({}) on http://{}/ (Ctrl-C to stop)",
        entry.name,
        entry.model.kind(),
        args.addr
    );
    when_up(args.addr, banner, !args.no_check);
    model_check::explore(entry, args.addr, super::threads(args.threads)).map_err(|e| match e {
        CheckError::Bind(..) => Failure::BadInput(e.to_string()),
        CheckError::Parameters(_) => Failure::BadInput(format!("{}: {e}", entry.source.display())),
    })
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

/// Once the Explorer at `addr` answers: prints `banner` and, if `check`, starts exhaustive
/// checking, which is what its "Run to completion" button does. Runs in the background, so a
/// failing bind reports its error alone.
fn when_up(addr: SocketAddr, banner: String, check: bool) {
    let request = if check {
        "POST /.runtocompletion"
    } else {
        "GET /.status"
    };
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if answers(addr, request) {
                eprintln!("{banner}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

/// Sends `request` (method and path) to `addr`; true when it answers 200.
fn answers(addr: SocketAddr, request: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let message = format!(
        "{request} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let mut response = Vec::new();
    stream.write_all(message.as_bytes()).is_ok()
        && stream.read_to_end(&mut response).is_ok()
        && response.starts_with(b"HTTP/1.1 200")
}
