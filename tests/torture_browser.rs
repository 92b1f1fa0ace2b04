//! The torture report in a real browser: `esocc torture check` writes `index.html` for the
//! documented lost-write history, headless Chromium (Debian's `chromium` + `chromium-driver`,
//! installed by `.ci/run`) opens it from disk, and the test checks what a person sees: the
//! verdict, the anomaly with its invariant and witness, the document's timeline with the two
//! witness bars drawn and outlined, the shaded nemesis period, the run's seed. The screenshot is
//! kept at `target/torture-report-browser.png`.
//!
//! There is no skip: without Chromium and chromedriver this test fails.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::free_port;
use support::webdriver::Browser;

#[test]
fn the_report_shows_verdict_witness_and_timeline() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("torture-browser");
    let status = Command::new(env!("CARGO_BIN_EXE_esocc"))
        .args(["torture", "check", "docs/torture-lost-write.jsonl", "--out"])
        .arg(&dir)
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(1));

    let browser = Browser::start(free_port());
    browser.goto(&format!("file://{}", dir.join("index.html").display()));
    let text = |xpath: &str| -> Vec<String> {
        browser
            .find_all(xpath)
            .iter()
            .map(|e| browser.text(e))
            .collect()
    };

    assert_eq!(
        text("//h1[@id='verdict']"),
        ["esocc torture: anomalies found"]
    );
    assert_eq!(
        text("//div[@class='anomaly']/h3"),
        ["lost acked write on k0 (no_lost_acked_write)"]
    );
    let witness = text("//div[@class='anomaly']/ol/li");
    assert_eq!(witness.len(), 2, "{witness:?}");
    assert!(witness[0].starts_with("op 3 (p0) index k0 c0-1 if (0, 1) → ok"));
    assert!(witness[1].starts_with("op 4 (p1) index k0 c1-0 if (0, 1) → ok"));
    let params = text("//table[@id='params']//tr[th='seed']/td");
    assert_eq!(params, ["1"]);

    // The anomaly links to its document's timeline.
    let link = browser.find_all("//div[@class='anomaly']/h3/a");
    browser.click(&link[0]);
    assert_eq!(browser.script("return location.hash;"), "#key-k0");

    // The timeline of k0: every bar has a visible size, the two witness bars are outlined, the
    // failover is shaded.
    let sizes = browser.script(
        "return [...document.querySelectorAll('#key-k0 + svg rect:not(.nemesis)')]
            .map(r => { const b = r.getBoundingClientRect(); return [b.width, b.height,
                r.classList.contains('witness')]; });",
    );
    let bars = sizes.as_array().expect("an array of bars");
    assert_eq!(bars.len(), 6, "{sizes}");
    assert!(bars
        .iter()
        .all(|b| b[0].as_f64().unwrap() >= 1.0 && b[1].as_f64().unwrap() >= 5.0));
    assert_eq!(bars.iter().filter(|b| b[2] == true).count(), 2);
    let shaded = browser.script(
        "return [...document.querySelectorAll('#key-k0 + svg rect.nemesis')]
            .map(r => r.getBoundingClientRect().width);",
    );
    assert_eq!(shaded.as_array().map(Vec::len), Some(1), "{shaded}");
    assert!(shaded[0].as_f64().unwrap() > 10.0);

    // Nothing is loaded from elsewhere.
    let external = browser
        .script("return document.querySelectorAll('script[src], link[href], img[src]').length;");
    assert_eq!(external, 0);

    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG"));
    std::fs::write(root.join("target/torture-report-browser.png"), png).unwrap();
}
