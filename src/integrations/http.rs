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
//! use rfc6455::handshake::{Accept, ClientRequest};
//! use rfc6455::http;
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

use crate::Config;
use crate::proto::handshake::head::{HttpVersion, RequestHead};
use crate::proto::handshake::{
    Accept, Accepted, ClientHandshake, ClientRequest, HandshakeError, HandshakeRequest,
    HandshakeResponse, Headers, Refusal, RefusedResponse,
};

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
        method: crate::proto::handshake::head::Method::from_token(method.as_str()),
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
/// which HTTP/2 forbids (RFC 9113 §8.2.2), and with `Allow: CONNECT` on a
/// 405, the one method that opens a WebSocket over HTTP/2 (RFC 8441 §4).
pub fn extended_connect_refusal<B: From<Bytes>>(refusal: &Refusal) -> ::http::Response<B> {
    let mut out = refusal_as_http(refusal, false);
    if out.status() == StatusCode::METHOD_NOT_ALLOWED {
        out.headers_mut().insert(
            ::http::header::ALLOW,
            ::http::HeaderValue::from_static("CONNECT"),
        );
    }
    out
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
#[path = "http_tests.rs"]
mod tests;
