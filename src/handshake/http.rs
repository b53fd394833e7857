//! The opening handshake in terms of the [`http`] crate's types
//! (feature `http`), for servers and clients built on `hyper`, `axum` and
//! the like.
//!
//! The checks are those of the byte-level parsers, not a second copy of
//! them: a request's method, target, version, pseudo-header fields and
//! header fields become the same structured head the byte parser produces,
//! validated by the same code (RFC 6455 §4.2.1 for an HTTP/1.1 upgrade, RFC
//! 8441 §4-§5 for an extended CONNECT over HTTP/2), so a request refused on
//! raw bytes is refused here with the same [`HandshakeError`] and status. The
//! answer is built from the same structured response head. Nothing is
//! written out as HTTP/1.1 text to be parsed again.
//!
//! ```
//! use rfc6455::Config;
//! use rfc6455::handshake::{Accept, ClientRequest, http};
//!
//! let config = Config::default();
//! let (request, mut client) = http::client_request(
//!     ClientRequest::new("ws://example.com/chat")?.protocol("chat"),
//!     &config,
//! )?;
//!
//! // Server: the request as a framework hands it over.
//! let (response, accepted) =
//!     http::accept_request(&request, Accept::new().protocol("chat"), &Config::default())?;
//! assert_eq!(response.status(), ::http::StatusCode::SWITCHING_PROTOCOLS);
//! assert_eq!(accepted.protocol.as_deref(), Some("chat"));
//!
//! // Client: check the response.
//! let checked = http::check_response(&mut client, &response)?;
//! assert_eq!(checked.protocol.as_deref(), Some("chat"));
//! # Ok::<(), rfc6455::handshake::HandshakeError>(())
//! ```

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use bytes::Bytes;

use ::http::header::{HeaderName, HeaderValue};
use ::http::{HeaderMap, Method, StatusCode, Uri, Version};

use super::head::{HttpVersion, RequestHead};
use super::{
    Accept, Accepted, ClientHandshake, ClientRequest, HandshakeError, HandshakeRequest,
    HandshakeResponse, Headers, Refusal, RefusedResponse,
};
use crate::Config;

fn version_of(version: Version) -> HttpVersion {
    match version {
        Version::HTTP_11 => HttpVersion::Http11,
        Version::HTTP_2 => HttpVersion::Http2,
        _ => HttpVersion::Other,
    }
}

/// The fields of `map`, in its order (a name's values together).
fn headers_of(map: &HeaderMap) -> Headers {
    Headers::from_fields(
        map.iter()
            .map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes())),
    )
}

/// The request head of `http` parts, under `config`'s limits on the
/// handshake's size and field count: the HTTP library has parsed the
/// request already, so these bound what the handshake keeps, with the
/// statuses the byte parser gives (431).
fn request_head(
    method: &Method,
    target: String,
    version: Version,
    headers: &HeaderMap,
    config: &Config,
) -> Result<RequestHead, HandshakeError> {
    // The size the request would have as HTTP/1.1 text.
    let size = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .fold(
            method.as_str().len() + target.len() + 13,
            usize::saturating_add,
        );
    if size > config.max_handshake_size {
        return Err(HandshakeError::RequestTooLarge);
    }
    if headers.len() > config.max_headers {
        return Err(HandshakeError::TooManyHeaders);
    }
    Ok(RequestHead {
        method: super::head::Method::from_token(method.as_str()),
        target,
        version: version_of(version),
        scheme: None,
        authority: None,
        protocol: None,
        headers: headers_of(headers),
    })
}

/// The request-target an HTTP/1.1 request line would carry: origin-form,
/// or absolute-form when the URI has a scheme.
fn request_target(uri: &Uri) -> String {
    match uri.path_and_query() {
        Some(pq) if uri.scheme().is_none() => pq.as_str().to_string(),
        None if uri.scheme().is_none() => "/".to_string(),
        _ => uri.to_string(),
    }
}

/// Validates a request given as `http` parts against RFC 6455 §4.2.1 with
/// `config`'s header limits, and the extensions the server supports. The
/// [`HandshakeRequest`] returned offers what the byte-level one does:
/// [`check_origin`](HandshakeRequest::check_origin),
/// [`select_protocol`](HandshakeRequest::select_protocol),
/// [`accept`](HandshakeRequest::accept) (then [`response`] for an `http::Response`).
///
/// # Errors
/// The [`HandshakeError`] the byte-level parser gives for the same request
/// (the rules are the same code); answer with its
/// [`refusal`](HandshakeError::refusal) ([`refusal_response`]).
pub fn parse_request_parts(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    config: &Config,
) -> Result<HandshakeRequest, HandshakeError> {
    let head = request_head(method, request_target(uri), version, headers, config)?;
    HandshakeRequest::from_upgrade(head, &config.extensions)
}

/// [`parse_request_parts`] for a whole `http::Request` (its body is not
/// looked at; a request announcing one is refused).
///
/// # Errors
/// As [`parse_request_parts`].
pub fn parse_request<B>(
    request: &::http::Request<B>,
    config: &Config,
) -> Result<HandshakeRequest, HandshakeError> {
    parse_request_parts(
        request.method(),
        request.uri(),
        request.version(),
        request.headers(),
        config,
    )
}

/// Validates `request` (with `config`'s limits and extensions) and accepts it with
/// `accept`: the `101 Switching Protocols` response to hand back to the
/// HTTP server, and what was agreed (subprotocol, extensions) for the
/// [`Connection`](crate::Connection) ([`Accepted::into_connection`]).
///
/// # Errors
/// As [`parse_request_parts`], or [`HandshakeRequest::accept`]'s local misuse.
pub fn accept_request<B>(
    request: &::http::Request<B>,
    accept: Accept,
    config: &Config,
) -> Result<(::http::Response<()>, Accepted), HandshakeError> {
    let accepted = parse_request(request, config)?.accept(accept)?;
    Ok((response(&accepted), accepted))
}

/// `fields` as a header map. Names and values were validated where they
/// were given (tokens; no control characters), which the `http` crate's
/// rules admit.
fn header_map<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in fields {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(name), Ok(value)) => {
                map.append(name, value);
            }
            _ => debug_assert!(false, "a validated field the http crate refuses: {name}"),
        }
    }
    map
}

/// The response accepting a handshake, as an `http::Response`: for an
/// HTTP/1.1 upgrade `101 Switching Protocols` with `Upgrade`, `Connection`
/// and `Sec-WebSocket-Accept`; for an extended CONNECT (RFC 8441 §5) `200`
/// without them; then the subprotocol and extensions agreed and the headers
/// [`Accept`] added.
pub fn response(accepted: &Accepted) -> ::http::Response<()> {
    let head = &accepted.response;
    let mut out = ::http::Response::new(());
    *out.status_mut() = StatusCode::from_u16(head.status).unwrap_or(StatusCode::OK);
    *out.headers_mut() = header_map(head.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    out
}

/// A refusal as the `http::Response` an HTTP/1.1 server (hyper, axum)
/// returns: its status, `Connection: close`, `Content-Length`, the fields it
/// carries and its body, of any type made from [`Bytes`] (such as
/// `http_body_util::Full<Bytes>`). A request's own fault converts into a
/// refusal ([`HandshakeError::refusal`]: 400, 403, 405 with `Allow`, 426
/// with `Sec-WebSocket-Version: 13`, 431, ...).
pub fn refusal_response<B: From<Bytes>>(refusal: &Refusal) -> ::http::Response<B> {
    refusal_as_http(refusal, true)
}

/// A refusal answering an extended CONNECT (RFC 8441) as an HTTP/2
/// `http::Response`: as [`refusal_response`] but without `Connection`,
/// which HTTP/2 forbids (RFC 9113 §8.2.2).
pub fn extended_connect_refusal<B: From<Bytes>>(refusal: &Refusal) -> ::http::Response<B> {
    refusal_as_http(refusal, false)
}

fn refusal_as_http<B: From<Bytes>>(refusal: &Refusal, close: bool) -> ::http::Response<B> {
    let length = refusal.content().len().to_string();
    let mut out = ::http::Response::new(B::from(refusal.content().clone()));
    *out.status_mut() =
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *out.headers_mut() = header_map(refusal.fields(close, &length));
    out
}

/// `head` as an `http::Request<()>` with `method`, `version` and `uri`.
fn client_http_request<'a>(
    method: Method,
    version: Version,
    uri: Uri,
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> ::http::Request<()> {
    let mut out = ::http::Request::new(());
    *out.method_mut() = method;
    *out.version_mut() = version;
    *out.uri_mut() = uri;
    *out.headers_mut() = header_map(fields);
    out
}

/// Builds the client's request (RFC 6455 §4.1) as an `http::Request`
/// (origin-form URI, `Host` and the handshake headers) and the
/// [`ClientHandshake`] that checks the answer ([`check_response`]).
///
/// # Errors
/// As [`ClientRequest::build`].
pub fn client_request(
    request: ClientRequest,
    config: &Config,
) -> Result<(::http::Request<()>, ClientHandshake), HandshakeError> {
    let (head, handshake) = request.build_upgrade(config)?;
    // The resource name was checked to be visible ASCII when the URL was
    // parsed, which a URI path and query admit.
    let uri =
        Uri::try_from(head.target.as_str()).map_err(|_| HandshakeError::InvalidHeaderToSend)?;
    Ok((
        client_http_request(Method::GET, Version::HTTP_11, uri, head.fields()),
        handshake,
    ))
}

/// Checks a server's response (status and headers; the body is not looked
/// at) against the request `handshake` was built for, by the rules of
/// [`ClientHandshake::parse`].
///
/// # Errors
/// As [`ClientHandshake::parse`]: [`HandshakeError::Refused`] for a status
/// other than 101 (with the status and fields, and an empty body: the
/// body is the HTTP library's to read, up to
/// [`Config::max_refusal_body`]; `rfc6455::hyper::client` does), then the
/// header checks of §4.1.
pub fn check_response<B>(
    handshake: &mut ClientHandshake,
    response: &::http::Response<B>,
) -> Result<HandshakeResponse, HandshakeError> {
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Err(refused(response));
    }
    handshake.check_upgrade(headers_of(response.headers()))
}

/// A refusal's status and fields, with no body yet.
fn refused<B>(response: &::http::Response<B>) -> HandshakeError {
    HandshakeError::Refused(Box::new(RefusedResponse::new(
        response.status().as_u16(),
        headers_of(response.headers()),
    )))
}

// ---------------------------------------------------------------------------
// RFC 8441: WebSockets over HTTP/2 (extended CONNECT)
// ---------------------------------------------------------------------------

/// Validates an extended CONNECT request opening a WebSocket over HTTP/2
/// (RFC 8441 §4, §5): method `CONNECT`, HTTP/2, `:protocol` (given by the
/// HTTP/2 library, e.g. `h2::ext::Protocol`) equal to `websocket`,
/// `:scheme`, `:authority` and `:path` present, `Sec-WebSocket-Version: 13`;
/// optional `Origin`, subprotocols and extensions, checked as for HTTP/1.1.
/// There is no `Sec-WebSocket-Key`
/// ([`key`](HandshakeRequest::key) is `None`). Accept it with
/// [`HandshakeRequest::accept`], then answer with [`response`] (a `200`).
///
/// # Errors
/// [`HandshakeError::MethodNotAllowed`] (405) for another method,
/// [`UnsupportedHttpVersion`](HandshakeError::UnsupportedHttpVersion) for
/// another HTTP version, [`MissingUpgrade`](HandshakeError::MissingUpgrade)
/// (400) for a missing or other `:protocol`,
/// [`MalformedRequest`](HandshakeError::MalformedRequest) for a missing
/// pseudo-header, [`InvalidHost`](HandshakeError::InvalidHost) for an
/// invalid `:authority`, then the header checks shared with HTTP/1.1 (426
/// for another version, 400 for malformed subprotocols or extensions).
/// Answer with its [`refusal`](HandshakeError::refusal)
/// ([`extended_connect_refusal`]).
pub fn parse_extended_connect_parts(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    protocol: Option<&str>,
    config: &Config,
) -> Result<HandshakeRequest, HandshakeError> {
    let target = uri
        .path_and_query()
        .map_or_else(String::new, |pq| pq.as_str().to_string());
    let mut head = request_head(method, target, version, headers, config)?;
    head.scheme = uri.scheme_str().map(ToString::to_string);
    head.authority = uri.authority().map(|a| a.as_str().to_string());
    head.protocol = protocol.map(ToString::to_string);
    HandshakeRequest::from_extended_connect(head, &config.extensions)
}

/// [`parse_extended_connect_parts`] for a whole `http::Request`.
///
/// # Errors
/// As [`parse_extended_connect_parts`].
pub fn parse_extended_connect<B>(
    request: &::http::Request<B>,
    protocol: Option<&str>,
    config: &Config,
) -> Result<HandshakeRequest, HandshakeError> {
    parse_extended_connect_parts(
        request.method(),
        request.uri(),
        request.version(),
        request.headers(),
        protocol,
        config,
    )
}

/// Builds an extended CONNECT request (RFC 8441 §5) from `request`:
/// `CONNECT`, HTTP/2, a URI with scheme (`https` for `wss://`, else
/// `http`), authority and path, `Sec-WebSocket-Version: 13`, the offered
/// subprotocols and extensions and the added headers; no `Host`,
/// `Upgrade`, `Connection` or key. The `:protocol` pseudo-header is the
/// HTTP/2 library's business: set it to `websocket` (with h2, the
/// `h2::ext::Protocol` request extension). Check the answer with
/// [`check_extended_connect_response`].
///
/// # Errors
/// As [`ClientRequest::build`].
pub fn extended_connect_request(
    request: ClientRequest,
    config: &Config,
) -> Result<(::http::Request<()>, ClientHandshake), HandshakeError> {
    let (head, handshake) = request.build_extended_connect(config)?;
    let uri = Uri::builder()
        .scheme(if head.tls { "https" } else { "http" })
        .authority(head.authority.as_str())
        .path_and_query(head.target.as_str())
        .build()
        .map_err(|_| HandshakeError::InvalidHeaderToSend)?;
    let fields = head.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    Ok((
        client_http_request(Method::CONNECT, Version::HTTP_2, uri, fields),
        handshake,
    ))
}

/// Checks the answer to an extended CONNECT (RFC 8441 §5): a 2xx status,
/// then the subprotocol and extensions by the rules of §4.1.
///
/// # Errors
/// [`HandshakeError::Refused`] for a status outside 2xx (its body empty, as
/// with [`check_response`]),
/// [`UnofferedProtocol`](HandshakeError::UnofferedProtocol),
/// [`InvalidResponseHeader`](HandshakeError::InvalidResponseHeader),
/// [`UnofferedExtension`](HandshakeError::UnofferedExtension).
pub fn check_extended_connect_response<B>(
    handshake: &mut ClientHandshake,
    response: &::http::Response<B>,
) -> Result<HandshakeResponse, HandshakeError> {
    if !response.status().is_success() {
        return Err(refused(response));
    }
    handshake.check_agreement(response.status().as_u16(), headers_of(response.headers()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws_request() -> ::http::request::Builder {
        ::http::Request::builder()
            .uri("/chat?room=1")
            .header("Host", "example.com")
            .header("Upgrade", "websocket")
            .header("Connection", "keep-alive, Upgrade")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("Sec-WebSocket-Version", "13")
    }

    fn status(req: ::http::Request<()>) -> u16 {
        let e = accept_request(&req, Accept::new(), &Config::default()).unwrap_err();
        refusal_response::<Bytes>(&e.refusal()).status().as_u16()
    }

    #[test]
    fn accepts_the_rfc_request() {
        let req = ws_request()
            .header("Sec-WebSocket-Protocol", "chat, superchat")
            .header("Origin", "http://example.com")
            .body(())
            .unwrap();
        let parsed = parse_request(&req, &Config::default()).unwrap();
        assert_eq!(parsed.target(), "/chat?room=1");
        assert_eq!(parsed.protocols(), ["chat", "superchat"]);
        assert!(parsed.check_origin(&["http://example.com"]).is_ok());
        let (resp, accepted) = accept_request(
            &req,
            Accept::new()
                .protocol("superchat")
                .header("Set-Cookie", "a=b"),
            &Config::default(),
        )
        .unwrap();
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        let h = resp.headers();
        assert_eq!(h["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "Upgrade");
        assert_eq!(h["sec-websocket-protocol"], "superchat");
        assert_eq!(h["set-cookie"], "a=b");
        assert_eq!(accepted.protocol.as_deref(), Some("superchat"));
    }

    #[test]
    fn refusals_match_the_byte_parser() {
        assert_eq!(status(ws_request().method("POST").body(()).unwrap()), 405);
        assert_eq!(
            status(ws_request().version(Version::HTTP_10).body(()).unwrap()),
            505
        );
        let bad_key = ws_request()
            .header("Sec-WebSocket-Key", "x")
            .body(())
            .unwrap();
        assert_eq!(status(bad_key), 400, "two keys");
        let mut req = ws_request().body(()).unwrap();
        req.headers_mut()
            .insert("sec-websocket-key", HeaderValue::from_static("short"));
        assert_eq!(status(req), 400);
        let mut req = ws_request().body(()).unwrap();
        req.headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("8"));
        let e = accept_request(&req, Accept::new(), &Config::default()).unwrap_err();
        let resp = refusal_response::<Bytes>(&e.refusal());
        assert_eq!(resp.status(), 426);
        assert_eq!(resp.headers()["connection"], "close");
        assert_eq!(resp.headers()["content-length"], "0");
        assert_eq!(resp.headers()["sec-websocket-version"], "13");
        let mut req = ws_request().body(()).unwrap();
        req.headers_mut().remove("upgrade");
        assert_eq!(status(req), 400);
        let mut req = ws_request().body(()).unwrap();
        req.headers_mut().remove("host");
        assert_eq!(status(req), 400);
        let mut req = ws_request().body(()).unwrap();
        req.headers_mut()
            .insert("content-length", HeaderValue::from_static("5"));
        assert_eq!(status(req), 400);
        // Origin refused by the application: 403.
        let req = ws_request()
            .header("Origin", "https://evil.example")
            .body(())
            .unwrap();
        let parsed = parse_request(&req, &Config::default()).unwrap();
        let e = parsed.check_origin(&["https://good.example"]).unwrap_err();
        assert_eq!(refusal_response::<Bytes>(&e.refusal()).status(), 403);
        // An absolute-form target is taken as the byte parser takes it.
        let req = ws_request().uri("http://example.com/abs").body(()).unwrap();
        let parsed = parse_request(&req, &Config::default()).unwrap();
        assert_eq!(parsed.target(), "http://example.com/abs");
        assert_eq!(parsed.path(), "/abs");
    }

    /// The same request as HTTP/1.1 bytes and as `http` types meets the
    /// same rules (one code path), refusals and acceptances alike.
    #[test]
    fn http_types_and_bytes_agree() {
        use super::super::ServerHandshake;
        let base = [
            ("Host", "example.com"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ];
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: [Case; 9] = [
            ("GET", "/ok?x=1", &[], &[]),
            ("POST", "/", &[], &[]),
            ("GET", "/", &[], &["Host"]),
            ("GET", "/", &[], &["Upgrade"]),
            ("GET", "/", &[], &["Connection"]),
            ("GET", "/", &[], &["Sec-WebSocket-Key"]),
            (
                "GET",
                "/",
                &[("Sec-WebSocket-Version", "8")],
                &["Sec-WebSocket-Version"],
            ),
            ("GET", "/", &[("Content-Length", "3")], &[]),
            ("GET", "/", &[("Sec-WebSocket-Protocol", "a b")], &[]),
        ];
        for (method, target, extra, drop) in cases {
            let fields: alloc::vec::Vec<(&str, &str)> = base
                .iter()
                .filter(|(n, _)| !drop.contains(n))
                .chain(extra.iter())
                .copied()
                .collect();
            let mut text = alloc::format!("{method} {target} HTTP/1.1\r\n");
            let mut builder = ::http::Request::builder().method(method).uri(target);
            for (n, v) in &fields {
                text.push_str(&alloc::format!("{n}: {v}\r\n"));
                builder = builder.header(*n, *v);
            }
            text.push_str("\r\n");
            let from_bytes = ServerHandshake::new(&Config::default())
                .parse(&mut bytes::BytesMut::from(text.as_bytes()))
                .map(|r| r.map(|r| r.target().to_string()));
            let from_http = parse_request(&builder.body(()).unwrap(), &Config::default())
                .map(|r| Some(r.target().to_string()));
            assert_eq!(from_bytes, from_http, "{text}");
        }
    }

    #[test]
    fn refusals_as_http_responses() {
        let refusal = Refusal::new(401)
            .header("WWW-Authenticate", "Bearer")
            .json(r#"{"error":"invalid_token"}"#);
        let h1: ::http::Response<Bytes> = refusal_response(&refusal);
        assert_eq!(h1.status(), 401);
        assert_eq!(h1.headers()["connection"], "close");
        assert_eq!(h1.headers()["content-length"], "25");
        assert_eq!(h1.headers()["www-authenticate"], "Bearer");
        assert_eq!(h1.headers()["content-type"], "application/json");
        assert_eq!(h1.body(), r#"{"error":"invalid_token"}"#);
        let h2: ::http::Response<Bytes> = extended_connect_refusal(&refusal);
        assert!(!h2.headers().contains_key("connection"));
        assert_eq!(h2.headers()["content-length"], "25");
        assert_eq!(h2.body(), h1.body());
        // The application's mistake: a bare 500.
        let mistake: ::http::Response<Bytes> =
            refusal_response(&Refusal::new(401).header("Content-Length", "1").body("x"));
        assert_eq!(mistake.status(), 500);
        assert_eq!(mistake.headers()["content-length"], "0");
        assert!(mistake.body().is_empty());
    }

    #[test]
    fn header_limits_apply() {
        let req = ws_request()
            .header("x-pad", "a".repeat(20_000))
            .body(())
            .unwrap();
        let e = parse_request(&req, &Config::default()).unwrap_err();
        assert_eq!(
            (e.clone(), e.status()),
            (HandshakeError::RequestTooLarge, Some(431))
        );
        let mut builder = ws_request();
        for i in 0..80 {
            builder = builder.header(alloc::format!("x-{i}"), "v");
        }
        let req = builder.body(()).unwrap();
        let e = parse_request(&req, &Config::default()).unwrap_err();
        assert_eq!(e, HandshakeError::TooManyHeaders);
    }

    #[test]
    fn client_round_trip() {
        let config = Config::default();
        let (req, mut hs) = client_request(
            ClientRequest::new("ws://[::1]:9001/feed?x=1")
                .unwrap()
                .protocol("v1")
                .header("Authorization", "Bearer t"),
            &config,
        )
        .unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri(), "/feed?x=1");
        assert_eq!(req.headers()["host"], "[::1]:9001");
        assert_eq!(req.headers()["sec-websocket-version"], "13");
        assert_eq!(req.headers()["authorization"], "Bearer t");
        let (resp, _) =
            accept_request(&req, Accept::new().protocol("v1"), &Config::default()).unwrap();
        let checked = check_response(&mut hs, &resp).unwrap();
        assert_eq!(checked.protocol.as_deref(), Some("v1"));

        // A wrong accept key, and a refusal.
        let (_, mut hs) = client_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
        assert_eq!(
            check_response(&mut hs, &resp).unwrap_err(),
            HandshakeError::AcceptKeyMismatch
        );
        let (_, mut hs) = client_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
        let refused = ::http::Response::builder()
            .status(403)
            .header("x-why", "origin")
            .body(())
            .unwrap();
        let e = check_response(&mut hs, &refused).unwrap_err();
        let r = e.refused().unwrap();
        assert_eq!((r.status, r.headers.get("x-why")), (403, Some("origin")));
    }

    fn connect_request() -> ::http::request::Builder {
        ::http::Request::builder()
            .method(Method::CONNECT)
            .version(Version::HTTP_2)
            .uri("https://example.com/chat?x=1")
            .header("sec-websocket-version", "13")
    }

    fn connect_status(req: &::http::Request<()>, protocol: Option<&str>) -> u16 {
        let e = parse_extended_connect(req, protocol, &Config::default()).unwrap_err();
        let refusal = extended_connect_refusal::<Bytes>(&e.refusal());
        assert!(!refusal.headers().contains_key("connection"), "HTTP/2");
        refusal.status().as_u16()
    }

    #[test]
    fn extended_connect_accepts() {
        let req = connect_request()
            .header("sec-websocket-protocol", "chat")
            .header("origin", "https://example.com")
            .body(())
            .unwrap();
        let parsed = parse_extended_connect(&req, Some("websocket"), &Config::default()).unwrap();
        assert_eq!(parsed.target(), "/chat?x=1");
        assert_eq!(parsed.host(), "example.com");
        assert_eq!(parsed.key(), None);
        assert!(parsed.is_extended_connect());
        assert!(parsed.check_origin(&["https://example.com"]).is_ok());
        let accepted = parsed.accept(Accept::new().protocol("chat")).unwrap();
        let resp = response(&accepted);
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
        for gone in ["upgrade", "connection", "sec-websocket-accept"] {
            assert!(!resp.headers().contains_key(gone), "{gone}");
        }
    }

    #[test]
    fn extended_connect_refusals() {
        let req = connect_request().body(()).unwrap();
        assert_eq!(connect_status(&req, None), 400);
        assert_eq!(connect_status(&req, Some("chat")), 400);
        let req = connect_request().method(Method::GET).body(()).unwrap();
        assert_eq!(connect_status(&req, Some("websocket")), 405);
        let req = connect_request()
            .version(Version::HTTP_11)
            .body(())
            .unwrap();
        assert_eq!(connect_status(&req, Some("websocket")), 505);
        let mut req = connect_request().body(()).unwrap();
        req.headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("8"));
        assert_eq!(connect_status(&req, Some("websocket")), 426);
        let req = connect_request().uri("/no-authority").body(()).unwrap();
        assert_eq!(connect_status(&req, Some("websocket")), 400);
    }

    #[test]
    fn extended_connect_client_round_trip() {
        let config = Config::default();
        let (req, mut hs) = extended_connect_request(
            ClientRequest::new("wss://example.com:8443/feed")
                .unwrap()
                .protocol("v2")
                .header("Origin", "https://example.com"),
            &config,
        )
        .unwrap();
        assert_eq!(req.method(), Method::CONNECT);
        assert_eq!(req.version(), Version::HTTP_2);
        assert_eq!(req.uri(), "https://example.com:8443/feed");
        for absent in ["sec-websocket-key", "host", "upgrade", "connection"] {
            assert!(!req.headers().contains_key(absent), "{absent}");
        }
        assert_eq!(hs.expected_accept(), None);
        let parsed = parse_extended_connect(&req, Some("websocket"), &config).unwrap();
        let accepted = parsed.accept(Accept::new().protocol("v2")).unwrap();
        let resp = response(&accepted);
        let checked = check_extended_connect_response(&mut hs, &resp).unwrap();
        assert_eq!(
            (checked.status, checked.protocol.as_deref()),
            (200, Some("v2"))
        );

        let (_, mut hs) =
            extended_connect_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
        let refused = ::http::Response::builder().status(400).body(()).unwrap();
        let e = check_extended_connect_response(&mut hs, &refused).unwrap_err();
        assert_eq!(e.refused().map(|r| r.status), Some(400));
        let (_, mut hs) =
            extended_connect_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
        let unoffered = ::http::Response::builder()
            .header("sec-websocket-protocol", "nope")
            .body(())
            .unwrap();
        assert_eq!(
            check_extended_connect_response(&mut hs, &unoffered).unwrap_err(),
            HandshakeError::UnofferedProtocol
        );
    }
}
