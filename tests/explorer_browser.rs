//! stateright's Explorer in a real browser: `esocc explore --stateright` serves a catalogue entry
//! on a free loopback port, headless Chromium (Debian's `chromium` + `chromium-driver`, installed by `.ci/run`) loads
//! the page through chromedriver, and the test checks what a person would see: the model name, the
//! property list with the catalogue's verdicts, a next action that changes the current state, and
//! the sequence diagram. The screenshot is kept at `target/explorer-stateright.png`.
//!
//! There is no skip: without Chromium and chromedriver this test fails.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::free_port;
use support::webdriver::{wait_until, Browser};

/// The entry the test explores: the seed scenario with blind writes (some properties hold, some
/// are refuted, so both verdicts must render).
const ENTRY: &str = "models/seed-blind.json";

const MODEL_NAME: &str = "//ul[@data-bind='with: status']/li[1]/span";
const PROGRESS: &str = "//ul[@data-bind='with: status']/li[5]/span";
const PROPERTIES: &str = "//h3[text()='Global']/following-sibling::ul[1]/li";
const NEXT_ACTIONS: &str = "//h2[text()='Next Action Choices']/following-sibling::ul[1]/li/a";
const CURRENT_STATE: &str = "//section//div[contains(@data-bind, 'selectedStep().state')]";
const DIAGRAM: &str =
    "//section//div[contains(@data-bind, 'selectedStep().svg')]/*[local-name()='svg']";

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The entry's expected verdicts, from the catalogue file itself.
fn expectations() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(manifest_dir().join(ENTRY)).unwrap();
    let entry: serde_json::Value = serde_json::from_str(&text).unwrap();
    entry["expect"]
        .as_object()
        .expect("an `expect` object")
        .iter()
        .map(|(name, verdict)| (name.clone(), verdict.as_str().unwrap().to_string()))
        .collect()
}

fn manifest_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn explorer_renders_model_properties_steps_and_diagram() {
    let addr = format!("127.0.0.1:{}", free_port());
    let _explorer = Running(
        Command::new(env!("CARGO_BIN_EXE_esocc"))
            .args(["explore", "--stateright", ENTRY, "--addr", &addr])
            .current_dir(manifest_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("esocc starts"),
    );
    let http = reqwest::blocking::Client::new();
    wait_until(Duration::from_secs(30), "the Explorer to answer", || {
        http.get(format!("http://{addr}/.status")).send().ok()
    });

    let browser = Browser::start(free_port());
    browser.goto(&format!("http://{addr}/"));

    // The status panel names the model (Knockout replaced the MODEL placeholder).
    let model = wait_until(Duration::from_secs(20), "the model name", || {
        let found = browser.find_all(MODEL_NAME);
        let text = browser.text(found.first()?);
        (!text.is_empty() && text != "MODEL" && text != "loading...").then_some(text)
    });
    assert!(model.contains("SingleShard"), "model shown as {model:?}");

    // The property list shows each expected verdict: `explore` starts checking at once, so no
    // property stays "Searching" (the page polls the status every 5 s).
    let expected = expectations();
    assert!(!expected.is_empty());
    let properties = wait_until(Duration::from_secs(30), "checked properties", || {
        let texts: Vec<String> = browser
            .find_all(PROPERTIES)
            .iter()
            .map(|p| browser.text(p))
            .collect();
        (!texts.is_empty() && texts.iter().all(|t| !t.contains("Searching"))).then_some(texts)
    });
    for (name, verdict) in &expected {
        let (kind, shown) = match verdict.as_str() {
            "holds" => ("Always", Some("Safety holds")),
            "counterexample" => ("Always", Some("Counterexample found")),
            "reachable" => ("Sometimes", Some("Example found")),
            _ => ("Sometimes", None),
        };
        let row = properties
            .iter()
            .find(|p| p.ends_with(&format!("{kind} {name}")));
        let fits = row.is_some_and(|p| match shown {
            Some(wanted) => p.contains(wanted),
            None => !p.contains("Example found"),
        });
        assert!(
            fits,
            "{name} should be {verdict}; the page shows {properties:#?}"
        );
    }
    assert_eq!(browser.text(&browser.find_all(PROGRESS)[0]), "Done");

    // Choose the initial state, then a next action: the URL and the current state change.
    let state_text = || {
        let found = browser.find_all(CURRENT_STATE);
        browser.text(found.first().expect("the current state pane"))
    };
    let choose_first_action = |after: &str| {
        let actions = wait_until(Duration::from_secs(10), "next action choices", || {
            let found = browser.find_all(NEXT_ACTIONS);
            (!found.is_empty()).then_some(found)
        });
        browser.click(&actions[0]);
        wait_until(Duration::from_secs(10), "the state to change", || {
            let now = state_text();
            (now != after && !now.is_empty()).then_some(now)
        })
    };
    let before = state_text();
    let initial = choose_first_action(&before);
    assert!(initial.contains("n0"), "initial state: {initial}");
    let next = choose_first_action(&initial);
    assert!(next.contains("client 0"), "after one action: {next}");
    let hash = browser.script("return location.hash;");
    assert_eq!(hash, "#/steps/0/0");

    // The sequence diagram of the path so far: lifelines and the first request.
    let diagram = wait_until(Duration::from_secs(10), "the sequence diagram", || {
        let found = browser.find_all(DIAGRAM);
        found.first().map(|svg| browser.text(svg))
    });
    assert!(diagram.contains("client 0"), "diagram text: {diagram}");
    assert!(diagram.contains("n0"), "diagram text: {diagram}");
    assert!(
        diagram.contains("GET /idx/_doc/1"),
        "diagram text: {diagram}"
    );

    let screenshot = browser.screenshot();
    assert!(screenshot.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = manifest_dir().join("target/explorer-stateright.png");
    std::fs::write(&path, screenshot).unwrap();
    eprintln!("screenshot: {}", path.display());
}
