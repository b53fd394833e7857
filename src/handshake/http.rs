//! The opening handshake in terms of the [`http`] crate's types
//! (feature `http`), for servers and clients built on `hyper`, `axum` and
//! the like.
//!
//! The checks are those of the byte-level parsers, not a second copy of
//! them: a request's method, target, version and header fields go through
//! [`ServerHandshake`] (RFC 6455 §4.2.1), a response's through
//! [`ClientHandshake`] (§4.1), so a request refused on raw bytes is refused
//! here with the same [`HandshakeError`] and status.
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

use alloc::vec::Vec;
use bytes::BytesMut;

use ::http::header::{HeaderName, HeaderValue};
use ::http::{HeaderMap, Method, StatusCode, Uri, Version};

use super::{
    Accept, Accepted, ClientHandshake, ClientRequest, HandshakeError, HandshakeRequest,
    HandshakeResponse, ServerHandshake,
};
use crate::Config;

fn version_str(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/3.0",
    }
}

fn push_headers(out: &mut Vec<u8>, headers: &HeaderMap) {
    // Names are tokens and values free of CR and LF (the http crate checks
    // both), so the block cannot be split or extended by a field.
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn request_target(uri: &Uri) -> alloc::string::String {
    use alloc::string::ToString;
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
/// The [`HandshakeError`] the byte-level parser gives for the same request;
/// answer with [`error_response`].
pub fn parse_request_parts(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    config: &Config,
) -> Result<HandshakeRequest, HandshakeError> {
    let mut block = Vec::with_capacity(256);
    block.extend_from_slice(method.as_str().as_bytes());
    block.push(b' ');
    block.extend_from_slice(request_target(uri).as_bytes());
    block.push(b' ');
    block.extend_from_slice(version_str(version).as_bytes());
    block.extend_from_slice(b"\r\n");
    push_headers(&mut block, headers);
    let mut buf = BytesMut::from(&block[..]);
    ServerHandshake::new(config)
        .parse(&mut buf)?
        .ok_or(HandshakeError::RequestTooLarge)
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

/// Parses a complete response head produced by this crate.
fn response_from_bytes(bytes: &[u8]) -> ::http::Response<()> {
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut slots);
    let mut out = ::http::Response::new(());
    if parsed.parse(bytes).is_err() {
        *out.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return out;
    }
    *out.status_mut() = parsed
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for h in parsed.headers.iter() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

/// The `101 Switching Protocols` response of an accepted handshake, as an
/// `http::Response`: `Upgrade`, `Connection`, `Sec-WebSocket-Accept`, the
/// subprotocol and extensions agreed, and the headers [`Accept`] added.
pub fn response(accepted: &Accepted) -> ::http::Response<()> {
    response_from_bytes(&accepted.response)
}

/// The refusal to send for a failed handshake: its status (400, 403, 405,
/// 426 with `Sec-WebSocket-Version: 13`, 431, ...) and `Connection: close`.
/// An error that is not a server's refusal gives 500.
pub fn error_response(error: &HandshakeError) -> ::http::Response<()> {
    match error.response() {
        Some(bytes) => response_from_bytes(&bytes),
        None => {
            let mut out = ::http::Response::new(());
            *out.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            out
        }
    }
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
    let (bytes, handshake) = request.build(config)?;
    let mut slots = alloc::vec![httparse::EMPTY_HEADER; config.max_headers.max(16)];
    let mut parsed = httparse::Request::new(&mut slots);
    parsed
        .parse(&bytes)
        .map_err(|_| HandshakeError::InvalidHeaderToSend)?;
    let mut out = ::http::Request::new(());
    *out.method_mut() = Method::GET;
    *out.version_mut() = Version::HTTP_11;
    *out.uri_mut() = parsed
        .path
        .unwrap_or("/")
        .parse()
        .map_err(|_| HandshakeError::InvalidHeaderToSend)?;
    for h in parsed.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| HandshakeError::InvalidHeaderToSend)?;
        let value =
            HeaderValue::from_bytes(h.value).map_err(|_| HandshakeError::InvalidHeaderToSend)?;
        out.headers_mut().append(name, value);
    }
    Ok((out, handshake))
}

/// Checks a server's response (status and headers; the body is not looked
/// at) against the request `handshake` was built for, by the rules of
/// [`ClientHandshake::parse`].
///
/// # Errors
/// As [`ClientHandshake::parse`]: [`HandshakeError::UnexpectedStatus`] for a
/// status other than 101, then the header checks of §4.1.
pub fn check_response<B>(
    handshake: &mut ClientHandshake,
    response: &::http::Response<B>,
) -> Result<HandshakeResponse, HandshakeError> {
    let mut block = Vec::with_capacity(256);
    block.extend_from_slice(b"HTTP/1.1 ");
    block.extend_from_slice(response.status().as_str().as_bytes());
    block.extend_from_slice(b" X\r\n");
    push_headers(&mut block, response.headers());
    let mut buf = BytesMut::from(&block[..]);
    handshake
        .parse(&mut buf)?
        .ok_or(HandshakeError::ResponseTooLarge)
}

// ---------------------------------------------------------------------------
// RFC 8441: WebSockets over HTTP/2 (extended CONNECT)
// ---------------------------------------------------------------------------

/// A syntactically valid key standing in for the nonce RFC 8441 does away
/// with, so that an extended CONNECT goes through the same checks as an
/// HTTP/1.1 upgrade.
const PLACEHOLDER_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Fields that belong to the HTTP/1.1 upgrade only, or are recomputed.
fn is_h1_only(name: &HeaderName) -> bool {
    use ::http::header::{CONNECTION, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
    [
        HOST,
        UPGRADE,
        CONNECTION,
        SEC_WEBSOCKET_KEY,
        SEC_WEBSOCKET_ACCEPT,
    ]
    .contains(name)
}

/// Validates an extended CONNECT request opening a WebSocket over HTTP/2
/// (RFC 8441 §4, §5): method `CONNECT`, HTTP/2, `:protocol` (given by the
/// HTTP/2 library, e.g. `h2::ext::Protocol`) equal to `websocket`,
/// `:scheme`, `:authority` and `:path` present, `Sec-WebSocket-Version: 13`;
/// optional `Origin`, subprotocols and extensions, checked as for HTTP/1.1.
/// There is no `Sec-WebSocket-Key`: the returned [`HandshakeRequest`]'s
/// [`key`](HandshakeRequest::key) is a placeholder. Accept it with
/// [`HandshakeRequest::accept`], then answer with [`extended_connect_response`].
///
/// # Errors
/// [`HandshakeError::MethodNotAllowed`] (405) for another method,
/// [`UnsupportedHttpVersion`](HandshakeError::UnsupportedHttpVersion) for
/// another HTTP version, [`MissingUpgrade`](HandshakeError::MissingUpgrade)
/// (400) for a missing or other `:protocol`,
/// [`MalformedRequest`](HandshakeError::MalformedRequest) for a missing
/// pseudo-header, then the header checks shared with HTTP/1.1 (426 for
/// another version, 400 for malformed subprotocols or extensions). Answer
/// with [`error_response`].
pub fn parse_extended_connect_parts(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    protocol: Option<&str>,
    config: &Config,
) -> Result<HandshakeRequest, HandshakeError> {
    if method != Method::CONNECT {
        return Err(HandshakeError::MethodNotAllowed);
    }
    if version != Version::HTTP_2 {
        return Err(HandshakeError::UnsupportedHttpVersion);
    }
    if !protocol.is_some_and(|p| p.eq_ignore_ascii_case("websocket")) {
        return Err(HandshakeError::MissingUpgrade);
    }
    let (Some(authority), Some(path), true) = (
        uri.authority(),
        uri.path_and_query(),
        uri.scheme().is_some(),
    ) else {
        return Err(HandshakeError::MalformedRequest);
    };
    let mut block = Vec::with_capacity(256);
    block.extend_from_slice(b"GET ");
    block.extend_from_slice(path.as_str().as_bytes());
    block.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    block.extend_from_slice(authority.as_str().as_bytes());
    block
        .extend_from_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    block.extend_from_slice(PLACEHOLDER_KEY.as_bytes());
    block.extend_from_slice(b"\r\n");
    let mut rest = HeaderMap::new();
    for (name, value) in headers {
        if !is_h1_only(name) {
            rest.append(name.clone(), value.clone());
        }
    }
    push_headers(&mut block, &rest);
    let mut buf = BytesMut::from(&block[..]);
    ServerHandshake::new(config)
        .parse(&mut buf)?
        .ok_or(HandshakeError::RequestTooLarge)
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

/// The `200` answering an accepted extended CONNECT (RFC 8441 §5): the
/// subprotocol and extensions agreed and the headers [`Accept`] added; no
/// `Upgrade`, `Connection` or `Sec-WebSocket-Accept`.
pub fn extended_connect_response(accepted: &Accepted) -> ::http::Response<()> {
    let mut response = response(accepted);
    *response.status_mut() = StatusCode::OK;
    let h1_only: Vec<HeaderName> = response
        .headers()
        .keys()
        .filter(|n| is_h1_only(n))
        .cloned()
        .collect();
    for name in h1_only {
        response.headers_mut().remove(name);
    }
    response
}

/// Builds an extended CONNECT request (RFC 8441 §5) from `request`:
/// `CONNECT`, HTTP/2, a URI with scheme (`https` for `wss://`, else
/// `http`), authority and path, `Sec-WebSocket-Version: 13`, the offered
/// subprotocols and extensions and the added headers. The `:protocol`
/// pseudo-header is the HTTP/2 library's business: set it to `websocket`
/// (with h2, the `h2::ext::Protocol` request extension). Check the answer
/// with [`check_extended_connect_response`].
///
/// # Errors
/// As [`ClientRequest::build`].
pub fn extended_connect_request(
    request: ClientRequest,
    config: &Config,
) -> Result<(::http::Request<()>, ClientHandshake), HandshakeError> {
    let scheme = if request.is_tls() { "https" } else { "http" };
    let (h1, handshake) = client_request(request, config)?;
    let authority = h1
        .headers()
        .get(::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let uri: Uri = alloc::format!("{scheme}://{authority}{}", h1.uri())
        .parse()
        .map_err(|_| HandshakeError::InvalidHeaderToSend)?;
    let mut out = ::http::Request::new(());
    *out.method_mut() = Method::CONNECT;
    *out.version_mut() = Version::HTTP_2;
    *out.uri_mut() = uri;
    for (name, value) in h1.headers() {
        if !is_h1_only(name) {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok((out, handshake))
}

/// Checks the answer to an extended CONNECT (RFC 8441 §5): a 2xx status,
/// then the subprotocol and extensions by the rules of §4.1.
///
/// # Errors
/// [`HandshakeError::UnexpectedStatus`] for a status outside 2xx,
/// [`UnofferedProtocol`](HandshakeError::UnofferedProtocol),
/// [`InvalidResponseHeader`](HandshakeError::InvalidResponseHeader),
/// [`UnofferedExtension`](HandshakeError::UnofferedExtension).
pub fn check_extended_connect_response<B>(
    handshake: &mut ClientHandshake,
    response: &::http::Response<B>,
) -> Result<HandshakeResponse, HandshakeError> {
    if !response.status().is_success() {
        return Err(HandshakeError::UnexpectedStatus(response.status().as_u16()));
    }
    let mut synthesized = ::http::Response::new(());
    *synthesized.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = synthesized.headers_mut();
    for (name, value) in response.headers() {
        if !is_h1_only(name) {
            h.append(name.clone(), value.clone());
        }
    }
    h.insert(
        ::http::header::UPGRADE,
        HeaderValue::from_static("websocket"),
    );
    h.insert(
        ::http::header::CONNECTION,
        HeaderValue::from_static("Upgrade"),
    );
    let accept = HeaderValue::from_str(handshake.expected_accept().as_str())
        .map_err(|_| HandshakeError::AcceptKeyMismatch)?;
    h.insert(::http::header::SEC_WEBSOCKET_ACCEPT, accept);
    let mut checked = check_response(handshake, &synthesized)?;
    checked.status = response.status().as_u16();
    Ok(checked)
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
        error_response(&e).status().as_u16()
    }

    #[test]
    fn accepts_the_rfc_request() {
        let req = ws_request()
            .header("Sec-WebSocket-Protocol", "chat, superchat")
            .header("Origin", "http://example.com")
            .body(())
            .unwrap();
        let parsed = parse_request(&req, &Config::default()).unwrap();
        assert_eq!(parsed.path(), "/chat?room=1");
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
        let resp = error_response(&e);
        assert_eq!(resp.status(), 426);
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
        assert_eq!(error_response(&e).status(), 403);
        // An absolute-form target is taken as the byte parser takes it.
        let req = ws_request().uri("http://example.com/abs").body(()).unwrap();
        let parsed = parse_request(&req, &Config::default()).unwrap();
        assert_eq!(parsed.path(), "http://example.com/abs");
    }

    #[test]
    fn header_limits_apply() {
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
        let refused = ::http::Response::builder().status(403).body(()).unwrap();
        assert_eq!(
            check_response(&mut hs, &refused).unwrap_err(),
            HandshakeError::UnexpectedStatus(403)
        );
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
        error_response(&e).status().as_u16()
    }

    #[test]
    fn extended_connect_accepts() {
        let req = connect_request()
            .header("sec-websocket-protocol", "chat")
            .header("origin", "https://example.com")
            .body(())
            .unwrap();
        let parsed = parse_extended_connect(&req, Some("websocket"), &Config::default()).unwrap();
        assert_eq!(parsed.path(), "/chat?x=1");
        assert_eq!(parsed.host(), "example.com");
        assert!(parsed.check_origin(&["https://example.com"]).is_ok());
        let accepted = parsed.accept(Accept::new().protocol("chat")).unwrap();
        let resp = extended_connect_response(&accepted);
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
        assert!(!req.headers().contains_key("sec-websocket-key"));
        assert!(!req.headers().contains_key("host"));
        let parsed = parse_extended_connect(&req, Some("websocket"), &config).unwrap();
        let accepted = parsed.accept(Accept::new().protocol("v2")).unwrap();
        let resp = extended_connect_response(&accepted);
        let checked = check_extended_connect_response(&mut hs, &resp).unwrap();
        assert_eq!(
            (checked.status, checked.protocol.as_deref()),
            (200, Some("v2"))
        );

        let (_, mut hs) =
            extended_connect_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
        let refused = ::http::Response::builder().status(400).body(()).unwrap();
        assert_eq!(
            check_extended_connect_response(&mut hs, &refused).unwrap_err(),
            HandshakeError::UnexpectedStatus(400)
        );
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
