//! A minimal W3C WebDriver client over blocking HTTP, enough to drive headless Chromium through
//! chromedriver: open a session, navigate, find elements by XPath, read text, click, screenshot.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The flags that let Debian's Chromium run headless as root on a machine without outside network.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
];

/// A running chromedriver with one browser session; both end when this is dropped.
pub struct Browser {
    driver: Child,
    http: reqwest::blocking::Client,
    session: String,
    _profile: TempDir,
}

/// An element reference returned by the driver.
pub struct Element(String);

impl Browser {
    /// Starts `chromedriver` on `port` and opens a headless Chromium session.
    pub fn start(port: u16) -> Browser {
        let driver = Command::new(tool("CHROMEDRIVER", "/usr/bin/chromedriver"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (.ci/run installs Debian's chromium-driver)");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        wait_until(Duration::from_secs(20), "chromedriver to answer", || {
            http.get(format!("{base}/status")).send().ok()
        });
        let profile = TempDir::new("esocc-chromium-profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.0.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": tool("CHROMIUM", "/usr/bin/chromium"), "args": args},
        }}});
        let mut browser = Browser {
            driver,
            http,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.call("POST", &format!("{base}/session"), Some(capabilities));
        browser.session = format!(
            "{base}/session/{}",
            created["sessionId"].as_str().expect("a session id")
        );
        browser
    }

    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// All elements matching an XPath expression (possibly none).
    pub fn find_all(&self, xpath: &str) -> Vec<Element> {
        let found = self.command(
            "POST",
            "/elements",
            Some(json!({"using": "xpath", "value": xpath})),
        );
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.as_object()?.values().next()?.as_str())
            .map(|id| Element(id.to_string()))
            .collect()
    }

    pub fn text(&self, element: &Element) -> String {
        self.command("GET", &format!("/element/{}/text", element.0), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn click(&self, element: &Element) {
        self.command(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        );
    }

    /// Runs a script in the page and returns its value.
    pub fn script(&self, source: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({"script": source, "args": []})),
        )
    }

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Vec<u8> {
        let encoded = self.command("GET", "/screenshot", None);
        decode_base64(encoded.as_str().expect("base64 screenshot"))
    }

    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("{}{path}", self.session), body)
    }

    fn call(&self, method: &str, url: &str, body: Option<Value>) -> Value {
        let request = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body.unwrap_or(json!({}))),
        };
        let response = request
            .send()
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status();
        let value: Value = response.json().expect("a JSON answer from chromedriver");
        assert!(status.is_success(), "{method} {url}: {status} {value}");
        value["value"].clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.http.delete(&self.session).send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Polls `probe` every 100 ms until it returns `Some`, panicking with `what` after `limit`.
pub fn wait_until<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tool(variable: &str, default: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| default.to_string())
}

/// A fresh directory removed on drop (Chromium needs an empty profile directory per run).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        other => panic!("not base64: {other}"),
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .map(value)
        .collect();
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, d)| acc | (u32::from(*d) << (18 - 6 * i)));
        bytes.extend_from_slice(&bits.to_be_bytes()[1..chunk.len()]);
    }
    bytes
}
