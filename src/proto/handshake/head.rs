//! Structured HTTP heads, whatever HTTP carries them: the request head a
//! server validates (parsed from HTTP/1.1 bytes, or built from `http` types
//! for HTTP/1.1 and HTTP/2), and the response head it answers with (written
//! as HTTP/1.1 bytes, or turned into an `http::Response`).
//!
//! Nothing here is serialised to be parsed again: each HTTP binding builds
//! a [`RequestHead`] directly, and the rules of RFC 6455 §4.2.1 and RFC 8441
//! §4-§5 are checked on it once (see `request.rs`).

use alloc::string::String;
use alloc::vec::Vec;

use super::Headers;
use super::status::reason_phrase;

/// The request method, as far as the handshake cares (methods are
/// case-sensitive, RFC 9110 §9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// `GET`: the HTTP/1.1 upgrade (RFC 6455 §4.1).
    Get,
    /// `CONNECT`: the extended CONNECT of RFC 8441 §4.
    Connect,
    /// Anything else.
    Other,
}

impl Method {
    pub(crate) fn from_token(method: &str) -> Self {
        match method {
            "GET" => Method::Get,
            "CONNECT" => Method::Connect,
            _ => Method::Other,
        }
    }
}

/// The HTTP version a request came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HttpVersion {
    /// HTTP/1.1 (RFC 9112).
    Http11,
    /// HTTP/2 (RFC 9113).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    Http2,
    /// HTTP/0.9, HTTP/1.0, HTTP/3 or anything else.
    Other,
}

/// A request head: request line (or HTTP/2 pseudo-header fields) and header
/// fields.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) struct RequestHead {
    pub(crate) method: Method,
    /// The HTTP/1.1 request-target as sent, or the HTTP/2 `:path`.
    pub(crate) target: String,
    pub(crate) version: HttpVersion,
    /// HTTP/2 `:scheme` (RFC 9113 §8.3.1); `None` over HTTP/1.1.
    pub(crate) scheme: Option<String>,
    /// HTTP/2 `:authority`; `None` over HTTP/1.1, where `Host` says it.
    pub(crate) authority: Option<String>,
    /// HTTP/2 `:protocol` (RFC 8441 §4); `None` over HTTP/1.1.
    pub(crate) protocol: Option<String>,
    pub(crate) headers: Headers,
}

/// The head of the response a server answers an accepted handshake with:
/// `101 Switching Protocols` with `Upgrade`, `Connection` and
/// `Sec-WebSocket-Accept` for an HTTP/1.1 upgrade (RFC 6455 §4.2.2), or
/// `200` without them for an extended CONNECT (RFC 8441 §5); then the
/// subprotocol, the extensions and the headers the application added.
///
/// Write [`to_bytes`](Self::to_bytes) on an HTTP/1.1 connection; the `http`
/// feature's `rfc6455::http::response` gives an
/// `http::Response` for an HTTP library.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseHead {
    /// The status code: 101 or 200.
    pub status: u16,
    /// The header fields, in order.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The value of the first field called `name` (compared
    /// ASCII-case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The head as HTTP/1.1 bytes (RFC 9112 §4, §5): status line, fields,
    /// empty line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        write_head(
            &mut out,
            self.status,
            self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        );
        out
    }
}

/// Writes an HTTP/1.1 response head: status line, `fields`, empty line.
/// Names and values were validated where they were given.
pub(crate) fn write_head<'a>(
    out: &mut Vec<u8>,
    status: u16,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, status.into());
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn head_bytes() {
        let head = ResponseHead {
            status: 101,
            headers: alloc::vec![("Upgrade".to_string(), "websocket".to_string())],
        };
        assert_eq!(
            head.to_bytes(),
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
        );
        assert_eq!(head.header("upgrade"), Some("websocket"));
        let mut out = Vec::new();
        for n in [0, 7, 10, 8192, u64::MAX] {
            out.clear();
            push_decimal(&mut out, n);
            assert_eq!(out, alloc::format!("{n}").as_bytes());
        }
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::from_token("GET"), Method::Get);
        assert_eq!(Method::from_token("get"), Method::Other);
        assert_eq!(Method::from_token("CONNECT"), Method::Connect);
    }
}
