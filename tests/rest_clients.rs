//! What the official clients need: the product header on every response, the
//! `compatible-with` media types they send, and (when the Python client is installed) the
//! official Python client itself running the seed walkthrough.

mod rest_support;

use rest_support::Es;

const COMPAT_JSON_8: &str = "application/vnd.elasticsearch+json; compatible-with=8";

#[test]
fn compat_media_types_and_product_header() {
    let es = Es::start(1);
    for content_type in [
        COMPAT_JSON_8,
        "application/vnd.elasticsearch+json; compatible-with=9",
        "application/vnd.elasticsearch+json;compatible-with=7",
        "application/json; charset=UTF-8",
    ] {
        let answer = es.send("PUT", "/c/_doc/1", Some(content_type), Some("{}"));
        assert!(
            answer.status == 200 || answer.status == 201,
            "{content_type}: {}",
            answer.body
        );
        assert_eq!(answer.header("x-elastic-product"), Some("Elasticsearch"));
        // Plain JSON back whatever was asked: every client decodes it.
        assert_eq!(
            answer.header("content-type"),
            Some("application/json; charset=UTF-8")
        );
    }
    let bulk = es.send(
        "POST",
        "/_bulk",
        Some("application/vnd.elasticsearch+x-ndjson; compatible-with=8"),
        Some("{\"index\":{\"_index\":\"c\",\"_id\":\"2\"}}\n{}\n"),
    );
    assert_eq!(bulk.json()["errors"], false);
    for path in [
        "/",
        "/nope/_doc/1",
        "/c/_doc/1",
        "/_cluster/health",
        "/a/b/c/d",
    ] {
        let answer = es.call("GET", path, None);
        assert_eq!(
            answer.header("x-elastic-product"),
            Some("Elasticsearch"),
            "{path}"
        );
    }
    let head = es.call("HEAD", "/c/_doc/1", None);
    assert_eq!(head.header("x-elastic-product"), Some("Elasticsearch"));
    assert!(
        head.header("content-length").is_some_and(|l| l != "0"),
        "HEAD keeps the GET length"
    );
}

/// Runs `tests/rest_python/official_client.py` with the official `elasticsearch` Python client
/// (`pip install 'elasticsearch>=8.15,<9'`). Where it is not installed the test says so and
/// passes, unless `ESOCC_REQUIRE_PYTHON_CLIENT=1` makes it mandatory (as CI sets it).
#[test]
fn official_python_client() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import elasticsearch"])
        .output();
    let installed = probe.is_ok_and(|o| o.status.success());
    if !installed {
        assert!(
            std::env::var("ESOCC_REQUIRE_PYTHON_CLIENT").as_deref() != Ok("1"),
            "the official Python client is required but not installed"
        );
        eprintln!("skipped: python3 with the `elasticsearch` package is not installed");
        return;
    }
    let es = Es::start(1);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/rest_python/official_client.py"
    );
    let output = std::process::Command::new("python3")
        .args([script, &es.server.url()])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "official client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
