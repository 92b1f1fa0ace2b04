//! esocc's explorer in a real browser: `esocc explore` serves two catalogue entries on a free
//! loopback port, headless Chromium (Debian's `chromium` + `chromium-driver`, installed by
//! `scripts/setup.sh`) opens the catalogue, and the test walks
//! `replication-ack-before-replication` to its lost acknowledged write by clicking the next
//! actions a person would pick, checking at each step the texts a person reads: the numbered
//! protocol lines, the state table with what changed highlighted, the messages in flight, the
//! verdicts with the same counts as `esocc check`, the violation marked at the step where it
//! first happens, the link of the shortest counterexample (the path walked), back and forward,
//! and the sequence diagram. Then it opens the static page `esocc check --html` writes for the
//! same counterexample, from disk. Screenshots: `target/explorer-page-*.png`.
//!
//! The other tests here need no browser: the JSON API (the catalogue, verdicts equal to `esocc
//! check`'s, a path in the protocol's words, errors for a path that leaves the model) and the
//! files `esocc check --html` writes.
//!
//! There is no skip: without Chromium and chromedriver the browser test fails.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use support::free_port;
use support::webdriver::{wait_until, Browser, Element};

const ENTRY: &str = "replication-ack-before-replication";
const WAIT: Duration = Duration::from_secs(30);

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn esocc() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_esocc"));
    command.current_dir(manifest_dir());
    command
}

fn esocc_with(args: &[&str]) -> Command {
    let mut command = esocc();
    command.args(args);
    command
}

/// `esocc explore` on a free loopback port with the catalogue files `models`, once it answers;
/// stopped when the first value is dropped.
fn explorer(models: &[&str]) -> (Running, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let running = Running(
        esocc_with(&["explore", "--addr", &addr, "--threads", "1"])
            .args(models)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("esocc starts"),
    );
    let http = reqwest::blocking::Client::new();
    wait_until(WAIT, "the explorer to answer", || {
        http.get(format!("http://{addr}/api/catalogue")).send().ok()
    });
    (running, addr)
}

/// What `esocc check --json` reports for the entry: unique states and depth.
fn checked_counts() -> (u64, u64) {
    let output = esocc()
        .args(["check", "--json", "--threads", "1"])
        .arg(format!("models/{ENTRY}.json"))
        .output()
        .unwrap();
    assert!(output.status.success(), "esocc check passes");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let report = &json["reports"][0];
    (
        report["unique_states"].as_u64().unwrap(),
        report["max_depth"].as_u64().unwrap(),
    )
}

/// Two headless Chromiums side by side on a loaded two-core machine lose their renderer now and
/// then ("Unable to receive message from renderer"): the browser tests take turns.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// A headless Chromium, once it is this test's turn; the turn ends when the guard is dropped.
fn browser() -> (MutexGuard<'static, ()>, Browser) {
    // A failed test poisons the lock; the next one may still use the browser.
    let turn = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    (turn, Browser::start(free_port()))
}

struct Page<'b> {
    browser: &'b Browser,
    shots: usize,
}

impl Page<'_> {
    /// The rendered text of every node `xpath` matches, read in one script (the page re-renders
    /// while checks progress, so element references could go stale between calls).
    fn texts(&self, xpath: &str) -> Vec<String> {
        let xpath = serde_json::to_string(xpath).unwrap();
        let found = self.browser.script(&format!(
            "const r = document.evaluate({xpath}, document, null, 7, null);\
             return Array.from({{length: r.snapshotLength}}, (_, i) => r.snapshotItem(i).innerText ?? r.snapshotItem(i).textContent);"
        ));
        found
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t.as_str().unwrap_or_default().trim().to_string())
            .collect()
    }

    /// Waits until `xpath` matches something whose text satisfies `fits`; returns that text.
    fn wait_text(&self, xpath: &str, what: &str, fits: impl Fn(&str) -> bool) -> String {
        wait_until(WAIT, what, || {
            self.texts(xpath).into_iter().find(|t| fits(t))
        })
    }

    /// The element of `xpath` whose text starts with `prefix`.
    fn find_starting(&self, xpath: &str, prefix: &str) -> Element {
        wait_until(WAIT, prefix, || {
            self.browser
                .find_all(xpath)
                .into_iter()
                .find(|e| self.browser.text(e).starts_with(prefix))
        })
    }

    fn hash(&self) -> String {
        self.browser
            .script("return location.hash;")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The state table's cell for `row` (e.g. `term`) and `copy`, and whether it is highlighted.
    fn cell(&self, row: &str, copy: usize) -> (String, bool) {
        let xpath = serde_json::to_string(&format!(
            "//table[@id='copies']//tr[th[1][text()='{row}']]/td[{}]",
            copy + 1
        ))
        .unwrap();
        let found = self.browser.script(&format!(
            "const c = document.evaluate({xpath}, document, null, 9, null).singleNodeValue;\
             return c && [c.innerText, c.classList.contains('changed')];"
        ));
        let found = found
            .as_array()
            .unwrap_or_else(|| panic!("no cell {row} / n{copy}"));
        (
            found[0].as_str().unwrap_or_default().trim().to_string(),
            found[1].as_bool().unwrap_or(false),
        )
    }

    /// The clients table's cell for `client` in the column `label`, and whether it is
    /// highlighted.
    fn client_cell(&self, client: usize, label: &str) -> (String, bool) {
        let label = serde_json::to_string(label).unwrap();
        let found = self.browser.script(&format!(
            "const t = document.getElementById('clients');\
             const column = Array.from(t.rows[0].cells).findIndex((h) => h.innerText === {label});\
             const c = column > 0 && t.rows[{}].cells[column];\
             return c && [c.innerText, c.classList.contains('changed')];",
            client + 1
        ));
        let found = found
            .as_array()
            .unwrap_or_else(|| panic!("no cell {label} for client {client}"));
        (
            found[0].as_str().unwrap_or_default().trim().to_string(),
            found[1].as_bool().unwrap_or(false),
        )
    }

    fn screenshot(&mut self, name: &str) {
        self.shots += 1;
        let png = self.browser.screenshot();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = manifest_dir().join(format!("target/explorer-page-{}-{name}.png", self.shots));
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
}

const STEPS: &str = "//ol[@id='steps']/li";
const NEXT: &str = "//ul[@id='next']//a";

#[test]
fn walks_an_entry_to_its_lost_acknowledged_write_by_clicking() {
    let (unique_states, depth) = checked_counts();
    let entry = format!("models/{ENTRY}.json");
    let (_explorer, addr) = explorer(&[&entry, "models/seed-blind.json"]);
    let (_turn, browser) = browser();
    let mut page = Page {
        browser: &browser,
        shots: 0,
    };

    // The catalogue: both entries, their parameters, and once checked the same counts as
    // `esocc check`.
    browser.goto(&format!("http://{addr}/"));
    let row = format!("//tr[@data-entry='{ENTRY}']");
    let counts = format!("{unique_states} unique states");
    let status = page.wait_text(&format!("{row}/td[4]"), "the entry checked", |t| {
        t.contains(&counts)
    });
    assert!(status.contains("all as expected"), "{status}");
    assert!(status.contains(&format!("depth {depth}")), "{status}");
    let parameters = page.texts(&format!("{row}/td[3]"));
    assert!(
        parameters[0].contains("ack_before_replication=true"),
        "{parameters:?}"
    );
    assert!(page.texts("//tr[@data-entry='seed-blind']/td[1]")[0].contains("seed-blind"));
    let refuted = page.texts(&format!("{row}/td[5]"))[0].clone();
    assert!(
        refuted.contains("no_lost_acked_write shortest counterexample (3 steps)"),
        "{refuted}"
    );
    page.screenshot("catalogue");

    // Open the entry: the initial state, three copies holding the seed document.
    browser.click(&browser.find_all(&format!("{row}//a[@class='entry']"))[0]);
    page.wait_text("//h1", "the entry page", |t| t == ENTRY);
    assert_eq!(page.hash(), format!("#/{ENTRY}/"));
    assert_eq!(page.texts(STEPS).len(), 1, "only the initial state");
    assert!(page.texts(STEPS)[0].contains("n1: doc 1: _seq_no=0 _primary_term=1 _version=1 []"));
    assert_eq!(page.cell("role", 0), ("primary".into(), false));
    assert_eq!(page.cell("role", 1), ("replica".into(), false));
    assert!(page.texts("//*[@id='messages']")[0].contains("No message in flight"));

    // Step 1: client 0 reads the seed document from the primary.
    let get = "client 0 → n0: GET /idx/_doc/1 → 200 _seq_no=0 _primary_term=1 _version=1 []";
    browser.click(&page.find_starting(NEXT, get));
    page.wait_text(STEPS, "step 1", |t| t == format!("1. {get}"));
    let client = page.texts("//table[@id='clients']//tr[th[text()='client 0']]")[0].clone();
    assert!(
        client.contains("read 200 _seq_no=0 _primary_term=1 _version=1 []; next: PUT"),
        "{client}"
    );

    // Step 2: its conditional write, acknowledged before any replica applied it.
    let put = "client 0 → n0: PUT /idx/_doc/1?if_seq_no=0&if_primary_term=1 {\"value\": \"[c0.0]\"} → executed as _seq_no=1 _primary_term=1 _version=2, replicated to 2 copies; client 0's write is acknowledged → 200";
    browser.click(&page.find_starting(NEXT, put));
    let step = page.wait_text(STEPS, "step 2", |t| t.contains(put));
    assert!(step.contains("violates acked_on_in_sync: c0.0 was acknowledged as _seq_no=1 _primary_term=1, but the in-sync copy n1 does not hold it"), "{step}");
    assert_eq!(
        page.cell("doc 1 _seq_no", 0),
        ("1".into(), true),
        "n0 applied it"
    );
    assert_eq!(
        page.cell("doc 1 _seq_no", 1),
        ("0".into(), false),
        "n1 did not"
    );
    let messages = page.texts("//ul[@id='messages']/li[contains(@class, 'new')]");
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0]
        .starts_with("n0 → n1: replicate _seq_no=1 _primary_term=1 index _version=2 [c0.0]"));
    page.screenshot("acknowledged");

    // Step 3: the master fails the primary and promotes n1, which never had the write.
    let failover = "master → n1: fail primary n0, promote n1 → primary term 2";
    browser.click(&page.find_starting(NEXT, failover));
    let step = page.wait_text(STEPS, "step 3", |t| t.contains(failover));
    assert!(
        step.contains("violates no_lost_acked_write: c0.0 was acknowledged, but the primary n1 now holds []: the write is lost"),
        "{step}"
    );
    assert_eq!(page.cell("term", 1), ("2".into(), true));
    assert_eq!(page.cell("in sync", 0), ("no".into(), true));
    assert_eq!(page.cell("doc 1 value", 1).0, "[]");
    let walked = page.hash();
    assert_eq!(walked, format!("#/{ENTRY}/0.0.3"));

    // The verdicts: refuted as expected, failing on this path at step 3; its shortest
    // counterexample is the path just walked.
    let property = "//div[@id='verdicts']//tr[@data-property='no_lost_acked_write']";
    let verdict = page.wait_text(property, "the verdict", |t| {
        t.contains("shortest counterexample")
    });
    for shown in [
        "counterexample",
        "shortest counterexample (3 steps)",
        "fails at step 3",
    ] {
        assert!(verdict.contains(shown), "{verdict}");
    }
    let link = browser.script(&format!(
        "return document.evaluate({}, document, null, 9, null).singleNodeValue.getAttribute('href');",
        serde_json::to_string(&format!("{property}//a[@class='cx']")).unwrap()
    ));
    assert_eq!(link.as_str(), Some(walked.as_str()));
    let holds = page.texts("//div[@id='verdicts']//tr[@data-property='term_fencing']")[0].clone();
    assert!(
        holds.contains("holds") && holds.contains("holds so far"),
        "{holds}"
    );

    // The sequence diagram of the path: three numbered arrows.
    let diagram = page.wait_text(
        "//div[@id='diagram']/*[local-name()='svg']",
        "the diagram",
        |t| t.contains("3. fail primary n0, promote n1"),
    );
    assert!(
        diagram.contains("1. GET /idx/_doc/1")
            && diagram.contains("client 0")
            && diagram.contains("master")
    );
    assert_eq!(
        browser.script(OUTSIDE),
        Value::Array(vec![]),
        "only the explorer's API"
    );
    page.screenshot("lost-write");

    // Back to step 2 and forward again; the URL follows.
    browser.click(&browser.find_all("//button[@id='back']")[0]);
    wait_until(WAIT, "back to step 2", || {
        (page.hash() == format!("#/{ENTRY}/0.0")).then_some(())
    });
    wait_until(WAIT, "two steps and the initial state", || {
        (page.texts(STEPS).len() == 3).then_some(())
    });
    browser.click(&browser.find_all("//button[@id='forward']")[0]);
    wait_until(WAIT, "forward to step 3", || {
        (page.hash() == walked).then_some(())
    });
    page.wait_text(STEPS, "step 3 again", |t| t.contains(failover));

    // Selecting an earlier step shows the state after it.
    browser.click(&browser.find_all(&format!("{STEPS}[@data-step='1']"))[0]);
    page.wait_text("//h2[@id='state-title']", "the state after step 1", |t| {
        t == "State after step 1"
    });
    assert_eq!(page.cell("doc 1 _seq_no", 0).0, "0");

    // The same counterexample as a static page, opened from disk.
    let dir = manifest_dir().join("target/explorer-html");
    let _ = std::fs::remove_dir_all(&dir);
    let status = esocc()
        .args(["check", "--threads", "1", "--html"])
        .arg(&dir)
        .arg(format!("models/{ENTRY}.json"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let file = dir.join(format!("{ENTRY}.no_lost_acked_write.html"));
    browser.goto(&format!("file://{}{walked}", file.display()));
    let step = page.wait_text(STEPS, "the static page's step 3", |t| t.contains(failover));
    assert!(step.contains("violates no_lost_acked_write"), "{step}");
    assert_eq!(page.cell("term", 1), ("2".into(), true));
    assert_eq!(
        browser.script(OUTSIDE),
        Value::Array(vec![]),
        "nothing from elsewhere"
    );
    browser.click(&browser.find_all("//button[@id='back']")[0]);
    wait_until(WAIT, "the static page's step 2", || {
        (page.texts(STEPS).len() == 3).then_some(())
    });
    page.screenshot("static");
}

/// The texts of the diagram's labels whose rendered boxes overlap another label's, and how many
/// labels there are.
const OVERLAPS: &str = "const texts = Array.from(document.querySelectorAll('#diagram svg text'));\
    const boxes = texts.map((t) => t.getBoundingClientRect());\
    const clash = [];\
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {\
      const a = boxes[i], b = boxes[j];\
      if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5)\
        clash.push(texts[i].textContent + ' / ' + texts[j].textContent);\
    }\
    return [texts.length, clash];";

/// What the page loaded besides itself: resources from anywhere but the explorer's own API (a
/// favicon the browser asks for on its own among them), and elements that point elsewhere than
/// into the page or an inline `data:` URL.
const OUTSIDE: &str = "const api = location.origin + '/api/';\
    const loaded = performance.getEntriesByType('resource').map((r) => r.name)\
      .filter((name) => location.protocol === 'file:' || !name.startsWith(api));\
    const links = Array.from(document.querySelectorAll('[src], [href]'))\
      .map((e) => e.getAttribute('src') || e.getAttribute('href'))\
      .filter((url) => !url.startsWith('#') && !url.startsWith('data:'));\
    return loaded.concat(links);";

#[test]
fn the_longest_counterexample_shows_tombstones_and_labels_that_never_overlap() {
    let (_explorer, addr) = explorer(&[
        "models/update-retry-below-bound.json",
        "models/replication-deletes.json",
        "models/replication-two-docs.json",
    ]);
    let (_turn, browser) = browser();
    let mut page = Page {
        browser: &browser,
        shots: 10,
    };

    // Two documents: both in every copy's table.
    browser.goto(&format!("http://{addr}/#/replication-two-docs/"));
    page.wait_text("//h1", "the two-document entry", |t| {
        t == "replication-two-docs"
    });
    for copy in 0..2 {
        assert_eq!(page.cell("doc 1 _seq_no", copy).0, "0");
        assert_eq!(page.cell("doc 2 _seq_no", copy).0, "1");
        assert_eq!(page.cell("doc 2 value", copy).0, "[]");
    }

    // The update API: a client's retries left, used by the 409 that makes it retry.
    let open = |entry: &str, property: &str, depth: usize| {
        browser.goto(&format!("http://{addr}/"));
        let link = format!(
            "//tr[@data-entry='{entry}']/td[5]//div[code[text()='{property}']]/a[@class='cx']"
        );
        page.wait_text(&link, "the entry checked", |t| {
            t == format!("shortest counterexample ({depth} steps)")
        });
        browser.click(&browser.find_all(&link)[0]);
        wait_until(WAIT, "the counterexample's steps", || {
            (page.texts(STEPS).len() == depth + 1).then_some(())
        });
    };
    open("update-retry-below-bound", "retry_sizing", 8);
    assert_eq!(page.client_cell(1, "retries left"), ("-".into(), true));
    browser.click(&browser.find_all(&format!("{STEPS}[@data-step='0']"))[0]);
    page.wait_text("//h2[@id='state-title']", "the initial state", |t| {
        t == "State: initial"
    });
    assert_eq!(page.client_cell(1, "retries left"), ("1".into(), false));
    browser.click(&browser.find_all(&format!("{STEPS}[@data-step='4']"))[0]);
    page.wait_text("//h2[@id='state-title']", "the state after step 4", |t| {
        t == "State after step 4"
    });
    assert!(page.texts(STEPS)[4].contains("→ 409 version_conflict_engine_exception"));
    assert_eq!(page.client_cell(1, "retries left"), ("0".into(), true));
    assert_eq!(page.client_cell(2, "retries left"), ("1".into(), false));
    assert_eq!(page.client_cell(0, "retries left"), ("-".into(), false));

    // The catalogue's longest counterexample (12 steps), opened by its link.
    open("replication-deletes", "applied_at_most_once", 12);
    let steps = page.texts(STEPS);
    assert!(
        steps[2].starts_with("2. client 1 → n0: DELETE /idx/_doc/1?if_seq_no=0&if_primary_term=1"),
        "{}",
        steps[2]
    );
    assert!(
        steps[3].contains("404 not found (tombstone _seq_no=1"),
        "{}",
        steps[3]
    );
    // Each property is marked once, at the step where it first fails on this path.
    let marked = |property: &str| -> Vec<usize> {
        let line = format!("violates {property}:");
        (0..steps.len())
            .filter(|&k| steps[k].contains(&line))
            .collect()
    };
    assert_eq!(marked("applied_at_most_once"), [12]);
    assert_eq!(marked("cas_linearizable"), [9]);
    let verdict = |property: &str| {
        page.texts(&format!(
            "//div[@id='verdicts']//tr[@data-property='{property}']/td[4]"
        ))[0]
            .clone()
    };
    assert_eq!(verdict("applied_at_most_once"), "fails at step 12");
    assert_eq!(verdict("cas_linearizable"), "fails at step 9");
    assert_eq!(verdict("no_lost_acked_write"), "holds so far");

    // The delete leaves a tombstone in the primary's table.
    browser.click(&browser.find_all(&format!("{STEPS}[@data-step='2']"))[0]);
    page.wait_text("//h2[@id='state-title']", "the state after step 2", |t| {
        t == "State after step 2"
    });
    assert_eq!(page.cell("doc 1 value", 0), ("tombstone".into(), true));
    assert_eq!(page.cell("doc 1 _version", 0), ("2".into(), true));
    assert_eq!(page.cell("doc 1 value", 1), ("[]".into(), false));

    // The diagram: no two labels overlap, and the long run scrolls vertically only.
    let found = browser.script(OVERLAPS);
    assert!(found[0].as_u64().unwrap() > 24, "labels drawn: {found}");
    assert_eq!(found[1], Value::Array(vec![]), "overlapping labels");
    let scroll = browser.script(
        "const d = document.getElementById('diagram');\
         d.scrollIntoView(); return [d.scrollWidth, d.clientWidth, d.scrollHeight, d.clientHeight];",
    );
    let scroll: Vec<u64> = serde_json::from_value(scroll).unwrap();
    assert!(scroll[0] <= scroll[1], "no horizontal scroll: {scroll:?}");
    assert!(
        scroll[2] > scroll[3],
        "the long run scrolls vertically: {scroll:?}"
    );
    page.screenshot("diagram");

    // A reload reproduces the path from the URL alone.
    let walked = page.hash();
    browser.script("window.unloaded = false; setTimeout(() => location.reload()); return null;");
    wait_until(WAIT, "the reloaded path", || {
        let reloaded = browser.script("return window.unloaded === undefined;") == Value::Bool(true);
        (reloaded && page.texts(STEPS) == steps).then_some(())
    });
    assert_eq!(page.hash(), walked);
    assert_eq!(
        browser.script(OUTSIDE),
        Value::Array(vec![]),
        "nothing from elsewhere"
    );
}

#[test]
fn the_api_tells_entries_verdicts_and_paths() {
    let (_explorer, addr) =
        explorer(&["models/seed-blind.json", "models/seed-seq-no-and-term.json"]);
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| -> Option<(u16, Value)> {
        let response = http.get(format!("http://{addr}{path}")).send().ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().ok()?))
    };
    let (status, catalogue) = wait_until(Duration::from_secs(30), "the explorer", || {
        get("/api/catalogue")
    });
    assert_eq!(status, 200);
    let names: Vec<&str> = catalogue
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["seed-blind", "seed-seq-no-and-term"]);
    assert_eq!(catalogue[0]["parameters"]["guard"], "blind");

    // The verdicts, once checked, are `esocc check`'s.
    let entry = wait_until(Duration::from_secs(30), "seed-blind checked", || {
        get("/api/entries/seed-blind").filter(|(_, e)| e["status"]["state"] == "done")
    })
    .1;
    let output = esocc_with(&["check", "--json", "models/seed-blind.json"])
        .output()
        .unwrap();
    let checked: Value = serde_json::from_slice(&output.stdout).unwrap();
    let report = &checked["reports"][0];
    assert_eq!(entry["status"]["unique_states"], report["unique_states"]);
    assert_eq!(entry["status"]["max_depth"], report["max_depth"]);
    let lost = entry["status"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["property"] == "no_lost_acked_write")
        .unwrap();
    assert_eq!(lost["verdict"], "counterexample");
    assert_eq!(lost["matches"], true);

    // Its counterexample, followed as a path: the violation at its last step, in the words of
    // `esocc check`'s numbered lines.
    let choices: Vec<String> = lost["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let (status, view) = get(&format!(
        "/api/entries/seed-blind/path?p={}",
        choices.join(".")
    ))
    .unwrap();
    assert_eq!(status, 200);
    let steps = view["steps"].as_array().unwrap();
    assert_eq!(steps.len(), lost["depth"].as_u64().unwrap() as usize);
    let printed: Vec<&str> = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["property"] == "no_lost_acked_write")
        .unwrap()["counterexample"]["trace"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["request"].as_str().unwrap())
        .collect();
    let walked: Vec<&str> = steps
        .iter()
        .map(|s| s["request"].as_str().unwrap())
        .collect();
    assert_eq!(walked, printed);
    let on_path = view["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["property"] == "no_lost_acked_write")
        .unwrap();
    assert_eq!(on_path["at"], steps.len());
    assert!(view["diagram"].as_str().unwrap().starts_with("<svg"));
    assert_eq!(view["states"].as_array().unwrap().len(), steps.len() + 1);

    // Errors: JSON, with the status a client can act on.
    let (status, error) = get("/api/entries/no-such-entry").unwrap();
    assert_eq!(
        (status, error["error"].as_str()),
        (404, Some("no catalogue entry \"no-such-entry\""))
    );
    let (status, error) = get("/api/entries/seed-blind/path?p=0.77").unwrap();
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .starts_with("step 2 chooses action 77"),
        "{error}"
    );
    let (status, error) = get("/api/entries/seed-blind/path?p=0.x").unwrap();
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("\"x\" is not an index"),
        "{error}"
    );

    // The page itself: one document, nothing fetched from elsewhere.
    let page = http
        .get(format!("http://{addr}/"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("function route"));
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http"));
}

#[test]
fn check_html_writes_a_page_per_counterexample() {
    let dir = std::env::temp_dir().join(format!("esocc-explorer-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = esocc_with(&[
        "check",
        "--html",
        dir.to_str().unwrap(),
        "models/seed-blind.json",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .status()
    .unwrap();
    assert!(status.success());
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "index.html",
            "seed-blind.cas_linearizable.html",
            "seed-blind.no_lost_acked_write.html",
            "seed-blind.reads_linearizable.html",
            "seed-blind.rmw_serializable.html",
        ]
    );
    let page = std::fs::read_to_string(dir.join("seed-blind.no_lost_acked_write.html")).unwrap();
    assert!(
        page.contains("\"text\":\"client 1 → n0: PUT /idx/_doc/1 [c1.0] → 200 updated _seq_no=2"),
        "the last step is inside"
    );
    assert!(!page.contains("/*DATA*/"));
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(index.contains("\"pages\":{\"seed-blind/\":"));
    let _ = std::fs::remove_dir_all(&dir);
}
