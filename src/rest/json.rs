//! JSON bodies as Elasticsearch writes them: compact by default, and with `?pretty` the layout
//! of Elasticsearch's Jackson pretty printer (two-space indent, `"key" : value`, arrays one item
//! per line, `{ }` and `[ ]` when empty, a final newline).

use std::io;

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use serde_json::Value;

/// The Content-Type of every JSON response.
pub const JSON_UTF8: &str = "application/json; charset=UTF-8";

/// Jackson's `DefaultPrettyPrinter` with Elasticsearch's indenters.
#[derive(Default)]
struct JacksonPretty {
    depth: usize,
    has_value: bool,
}

impl JacksonPretty {
    fn newline<W: ?Sized + io::Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w)?;
        } else {
            w.write_all(b" ")?;
        }
        self.has_value = true;
        w.write_all(bracket)
    }

    fn item<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl Formatter for JacksonPretty {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b" : ")
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Serialize compactly. Serializing a `serde_json::Value` or our own response types cannot fail.
pub fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Re-render a compact JSON body in Elasticsearch's pretty layout (`None`: not JSON).
pub fn prettify(body: &[u8]) -> Option<Vec<u8>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let mut out = Vec::with_capacity(body.len() * 2);
    let mut serializer = Serializer::with_formatter(&mut out, JacksonPretty::default());
    value.serialize(&mut serializer).ok()?;
    out.push(b'\n');
    Some(out)
}

/// A JSON response with Elasticsearch's Content-Type.
pub fn response(status: u16, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_layout_is_jacksons() {
        let body =
            br#"{"_index":"i","found":true,"_source":{},"a":[],"items":[{"x":1},2],"p":50.0}"#;
        let pretty = String::from_utf8(prettify(body).unwrap()).unwrap();
        assert_eq!(
            pretty,
            "{\n  \"_index\" : \"i\",\n  \"found\" : true,\n  \"_source\" : { },\n  \"a\" : [ ],\n  \"items\" : [\n    {\n      \"x\" : 1\n    },\n    2\n  ],\n  \"p\" : 50.0\n}\n"
        );
    }
}
