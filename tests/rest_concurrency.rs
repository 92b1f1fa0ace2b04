//! Concurrent HTTP clients doing read-modify-write increments with `if_seq_no` +
//! `if_primary_term` lose nothing: the final counter equals the acknowledged increments. The
//! clients' first reads meet at a barrier, so they race for certain: all but one of the first
//! writes must conflict.

mod rest_support;

use rest_support::Es;

#[test]
fn concurrent_rmw_increments_lose_nothing() {
    let es = Es::start(1);
    es.call("PUT", "/cnt/_doc/c", Some(r#"{"n":0}"#));
    let (clients, increments) = (6, 30);
    let conflicts = std::sync::atomic::AtomicU64::new(0);
    let first_reads = std::sync::Barrier::new(clients as usize);
    std::thread::scope(|s| {
        for _ in 0..clients {
            let (es, conflicts, first_reads) = (&es, &conflicts, &first_reads);
            s.spawn(move || {
                let mut done = 0;
                let mut first = true;
                while done < increments {
                    let read = es.call("GET", "/cnt/_doc/c", None).json();
                    if std::mem::take(&mut first) {
                        first_reads.wait(); // every client read version 1 before anyone writes
                    }
                    let n = read["_source"]["n"].as_i64().unwrap();
                    let path = format!(
                        "/cnt/_doc/c?if_seq_no={}&if_primary_term={}",
                        read["_seq_no"], read["_primary_term"]
                    );
                    let write = es.call("PUT", &path, Some(&format!(r#"{{"n":{}}}"#, n + 1)));
                    match write.status {
                        200 => done += 1,
                        409 => {
                            assert_eq!(
                                write.json()["error"]["type"],
                                "version_conflict_engine_exception"
                            );
                            conflicts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        other => panic!("unexpected {other}: {}", write.body),
                    }
                }
            });
        }
    });
    let doc = es.call("GET", "/cnt/_doc/c", None).json();
    assert_eq!(doc["_source"]["n"].as_i64(), Some(clients * increments));
    assert_eq!(doc["_version"].as_i64(), Some(1 + clients * increments));
    let conflicts = conflicts.into_inner();
    eprintln!("conflicts retried: {conflicts}");
    assert!(
        conflicts >= (clients - 1) as u64,
        "the writers raced on the first version: {conflicts} conflicts"
    );
}
