//! Shared by the REST tests: a server on a free loopback port and a small blocking HTTP client.

#![allow(dead_code)]

use esocc::rest::{RunningServer, ServeArgs};
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use reqwest::Method;

pub const JSON: &str = "application/json";

/// A started server and a client for it.
pub struct Es {
    pub server: RunningServer,
    pub client: Client,
}

/// One answer: status, headers, body text.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Es {
    /// Create index `name`: one shard, no replicas, no background refresh.
    pub fn create_unrefreshed_index(&self, name: &str) {
        let created = self.call(
            "PUT",
            &format!("/{name}"),
            Some(r#"{"settings":{"refresh_interval":"-1","number_of_replicas":0}}"#),
        );
        assert_eq!(created.status, 200, "{}", created.body);
    }

    pub fn start(nodes: u32) -> Es {
        Es::start_with(ServeArgs {
            nodes,
            // Requests held on a delayed link must not hold up a test's end for long.
            shutdown_grace: std::time::Duration::from_secs(2),
            ..ServeArgs::default()
        })
    }

    /// A server with these arguments, on a free loopback port.
    pub fn start_with(args: ServeArgs) -> Es {
        let args = ServeArgs {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..args
        };
        Es {
            server: RunningServer::start(args, 2).expect("server starts"),
            client: Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .unwrap(),
        }
    }

    /// Send `method path` with an optional body and Content-Type.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        self.send_to(None, method, path, content_type, body)
    }

    /// [`Es::send`], to `node` (header `X-Esocc-Node`) when given.
    fn send_to(
        &self,
        node: Option<usize>,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> Answer {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.server.url()));
        if let Some(node) = node {
            request = request.header("x-esocc-node", node.to_string());
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().expect("request is answered");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A request with a JSON body (or none).
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        self.send(method, path, body.map(|_| JSON), body)
    }

    /// [`Es::call`] sent to `node` (header `X-Esocc-Node`), as a client connected to that node.
    pub fn call_on(&self, node: usize, method: &str, path: &str, body: Option<&str>) -> Answer {
        self.send_to(Some(node), method, path, body.map(|_| JSON), body)
    }

    /// Poll the shard group's state until `done` holds, at most `tries` times 10 ms apart (the
    /// condition is what a request thread reaches, not a time: the bound only ends a broken run).
    pub fn await_state(
        &self,
        group: &str,
        tries: usize,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        for _ in 0..tries {
            let state = self.call("GET", group, None).json();
            if done(&state) {
                return state;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{group} never reached the awaited state");
    }
}
