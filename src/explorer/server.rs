//! The explorer's HTTP side: the page and a small JSON API, on a listener the caller bound.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /` | the page |
//! | `GET /api/catalogue` | every entry with its parameters, expectations and check status |
//! | `GET /api/entries/{name}` | one entry (and it is checked next if still queued) |
//! | `GET /api/entries/{name}/path?p=0.2.1` | the path of choices 0, 2, 1 ([`PathView`]) |
//!
//! Errors are JSON `{"error": "..."}` with 404 (no such entry) or 400 (a path that is not a list
//! of enabled choices).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::page;
use super::verdicts::Verdicts;
use super::walk::{PathView, Walk};
use crate::model::catalogue::Entry;

/// What the handlers share.
pub struct Explorer {
    pub entries: Arc<Vec<Entry>>,
    pub walkers: Vec<Box<dyn Walk>>,
    pub verdicts: Verdicts,
}

impl Explorer {
    fn index(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.name == name)
    }
}

fn not_found(name: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no catalogue entry {name:?}"),
    )
}

/// The routes, over `explorer`.
pub fn router(explorer: Arc<Explorer>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(page::page(None)) }))
        .route("/api/catalogue", get(catalogue))
        .route("/api/entries/{name}", get(entry))
        .route("/api/entries/{name}/path", get(path))
        .with_state(explorer)
}

async fn catalogue(State(explorer): State<Arc<Explorer>>) -> Response {
    Json(explorer.verdicts.list()).into_response()
}

async fn entry(State(explorer): State<Arc<Explorer>>, Path(name): Path<String>) -> Response {
    match explorer
        .index(&name)
        .and_then(|i| explorer.verdicts.open(i))
    {
        Some(view) => Json(view).into_response(),
        None => not_found(&name),
    }
}

#[derive(Deserialize)]
struct PathQuery {
    #[serde(default)]
    p: String,
}

async fn path(
    State(explorer): State<Arc<Explorer>>,
    Path(name): Path<String>,
    Query(query): Query<PathQuery>,
) -> Response {
    let Some(index) = explorer.index(&name) else {
        return not_found(&name);
    };
    let choices = match parse_path(&query.p) {
        Ok(choices) => choices,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    // Replaying a path is the model's own work, bounded by MAX_PATH steps: off the async threads.
    let walked = tokio::task::spawn_blocking(move || explorer.walkers[index].walk(&choices)).await;
    match walked {
        Ok(Ok(view)) => Json::<PathView>(view).into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the walk failed: {e}"),
        ),
    }
}

/// `0.2.1` → `[0, 2, 1]`; the empty string is the empty path.
pub fn parse_path(text: &str) -> Result<Vec<usize>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split('.')
        .map(|part| {
            part.parse::<usize>().map_err(|_| {
                format!(
                    "a path is action indices separated by dots (0.2.1); {part:?} is not an index"
                )
            })
        })
        .collect()
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_as_dotted_indices() {
        assert_eq!(parse_path(""), Ok(vec![]));
        assert_eq!(parse_path("0.12.3"), Ok(vec![0, 12, 3]));
        assert!(parse_path("0..1")
            .unwrap_err()
            .contains("\"\" is not an index"));
        assert!(parse_path("-1").is_err());
    }
}
