//! The validated handshake request and its answer, the same whichever HTTP
//! carried it.
//!
//! A [`RequestHead`] becomes a [`HandshakeRequest`] through one of two
//! rule sets that share their common part:
//!
//! - the HTTP/1.1 upgrade (RFC 6455 §4.2.1): `GET`, HTTP/1.1, a resource
//!   target, `Host`, `Upgrade: websocket`, `Connection: upgrade`,
//!   `Sec-WebSocket-Version: 13`, a `Sec-WebSocket-Key` of 16 bytes, no body;
//! - the extended CONNECT of RFC 8441 §4-§5 (HTTP/2): `CONNECT`,
//!   `:protocol websocket`, `:scheme`, `:authority` and `:path`,
//!   `Sec-WebSocket-Version: 13`, and no key;
//!
//! then, for both, the `Sec-WebSocket-Protocol` and
//! `Sec-WebSocket-Extensions` grammars (§4.2.1 items 8-9, §9.1). The
//! `Origin` check (§10.2) is the application's call, on either.
//!
//! [`HandshakeRequest::accept`] answers with a [`ResponseHead`]: `101` with
//! `Upgrade`, `Connection` and `Sec-WebSocket-Accept` (§4.2.2) for the
//! upgrade, `200` without them for an extended CONNECT (RFC 8441 §5).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::head::{HttpVersion, Method, RequestHead, ResponseHead};
use super::headers::{Headers, list_elements, push_extra_header};
use super::url::split_target;
use super::url::{default_port, parse_authority};
use super::{HandshakeError, Refusal, accept_key, is_token, is_valid_key};
use crate::proto::extension::{ExtensionConfig, ExtensionOffer, Negotiated, parse_extensions};
use crate::{Config, Connection, Role};

/// Headers a server application may not set itself in [`Accept::header`].
const RESERVED: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

/// How the client asked for the WebSocket.
#[derive(Clone, Debug)]
enum Flavor {
    /// An HTTP/1.1 upgrade, with its `Sec-WebSocket-Key`.
    Upgrade { key: String },
    /// An RFC 8441 extended CONNECT, which has no key.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    ExtendedConnect,
}

/// Whether a request-target names a resource: origin-form (`/path?query`,
/// the /resource name/ of RFC 6455 §3) or absolute-form with an http(s) or
/// ws(s) scheme (RFC 9112 §3.2.2). Anything else is answered with 400.
fn is_resource_target(target: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    let Some((scheme, rest)) = target.split_once("://") else {
        return false;
    };
    ["http", "https", "ws", "wss"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
        && !rest.is_empty()
}

/// `Sec-WebSocket-Version: 13`, exactly once (RFC 6455 §4.2.1 item 6, RFC
/// 8441 §5).
fn check_version(headers: &Headers) -> Result<(), HandshakeError> {
    if headers.single("Sec-WebSocket-Version") == Ok(Some(b"13")) {
        Ok(())
    } else {
        Err(HandshakeError::UnsupportedVersion)
    }
}

/// A `host[:port]` authority as text, or [`HandshakeError::InvalidHost`].
fn check_authority(authority: &[u8]) -> Result<&str, HandshakeError> {
    let host = core::str::from_utf8(authority).map_err(|_| HandshakeError::InvalidHost)?;
    parse_authority(host).map_err(|_| HandshakeError::InvalidHost)?;
    Ok(host)
}

/// A validated opening-handshake request (RFC 6455 §4.2.1, or RFC 8441 §4
/// over HTTP/2), waiting for the application to [`accept`](Self::accept) or
/// refuse it (with a [`Refusal`](super::Refusal)).
#[derive(Clone, Debug)]
pub struct HandshakeRequest {
    headers: Headers,
    target: String,
    host: String,
    flavor: Flavor,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    config: ExtensionConfig,
}

impl HandshakeRequest {
    /// Checks an HTTP/1.1 upgrade request (RFC 6455 §4.2.1), in this order:
    /// method, HTTP version, target, `Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Version`, `Sec-WebSocket-Key`, absence of a body, then
    /// the checks shared with extended CONNECT.
    pub(crate) fn from_upgrade(
        head: RequestHead,
        config: &ExtensionConfig,
    ) -> Result<Self, HandshakeError> {
        use HandshakeError::*;
        if head.method != Method::Get {
            return Err(MethodNotAllowed);
        }
        if head.version != HttpVersion::Http11 {
            return Err(UnsupportedHttpVersion);
        }
        if !is_resource_target(&head.target) {
            return Err(MalformedRequest);
        }
        let headers = head.headers;
        let host = match headers.single("Host") {
            Ok(Some(h)) => check_authority(h)?,
            _ => return Err(InvalidHost),
        };
        if !headers.has_token("Upgrade", "websocket") {
            return Err(MissingUpgrade);
        }
        if !headers.has_token("Connection", "upgrade") {
            return Err(MissingConnectionUpgrade);
        }
        check_version(&headers)?;
        let key = match headers.single("Sec-WebSocket-Key") {
            Ok(Some(k)) if is_valid_key(k) => k.iter().map(|&b| char::from(b)).collect(),
            _ => return Err(InvalidKey),
        };
        if headers.contains("Transfer-Encoding")
            || headers.get_all("Content-Length").any(|v| v != b"0")
        {
            return Err(UnexpectedBody);
        }
        let host = host.to_string();
        Self::negotiable(headers, head.target, host, Flavor::Upgrade { key }, config)
    }

    /// Checks an extended CONNECT (RFC 8441 §4, §5), in this order: method,
    /// HTTP version, `:protocol`, the `:scheme`, `:authority` and `:path`
    /// pseudo-header fields, `Sec-WebSocket-Version`, then the checks shared
    /// with the upgrade. There is no key; a `Sec-WebSocket-Key` sent anyway
    /// is not used.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn from_extended_connect(
        head: RequestHead,
        config: &ExtensionConfig,
    ) -> Result<Self, HandshakeError> {
        use HandshakeError::*;
        if head.method != Method::Connect {
            return Err(MethodNotAllowed);
        }
        if head.version != HttpVersion::Http2 {
            return Err(UnsupportedHttpVersion);
        }
        if !head
            .protocol
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case("websocket"))
        {
            return Err(MissingUpgrade);
        }
        let (Some(authority), Some(_scheme), true) = (
            head.authority.as_deref(),
            head.scheme.as_deref().filter(|s| !s.is_empty()),
            head.target.starts_with('/'),
        ) else {
            return Err(MalformedRequest);
        };
        let host = check_authority(authority.as_bytes())?.to_string();
        check_version(&head.headers)?;
        Self::negotiable(
            head.headers,
            head.target,
            host,
            Flavor::ExtendedConnect,
            config,
        )
    }

    /// The checks both flavours share: the subprotocols offered (tokens,
    /// §4.2.1 item 8) and the extensions offered (the §9.1 grammar).
    fn negotiable(
        headers: Headers,
        target: String,
        host: String,
        flavor: Flavor,
        config: &ExtensionConfig,
    ) -> Result<Self, HandshakeError> {
        use HandshakeError::InvalidHeader;
        let mut protocols = Vec::new();
        for p in headers
            .get_all("Sec-WebSocket-Protocol")
            .flat_map(list_elements)
        {
            if !is_token(p) {
                return Err(InvalidHeader("Sec-WebSocket-Protocol"));
            }
            protocols.push(p.iter().map(|&b| char::from(b)).collect());
        }
        let mut extensions = Vec::new();
        for v in headers.get_all("Sec-WebSocket-Extensions") {
            let v =
                core::str::from_utf8(v).map_err(|_| InvalidHeader("Sec-WebSocket-Extensions"))?;
            for offer in parse_extensions(v) {
                extensions.push(offer?);
            }
        }
        Ok(HandshakeRequest {
            headers,
            target,
            host,
            flavor,
            protocols,
            extensions,
            config: config.clone(),
        })
    }

    /// The request target as sent (RFC 9112 §3.2): the HTTP/1.1
    /// request-target, such as `/chat?room=1` (or an absolute
    /// `http://host/chat?room=1`), or the HTTP/2 `:path`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path of the target without its query, as sent (not
    /// percent-decoded): `/chat` for `/chat?room=1` and for
    /// `http://host/chat?room=1`.
    pub fn path(&self) -> &str {
        split_target(&self.target).0
    }

    /// The raw query after `?`, if the target has one (`room=1&x` for
    /// `/chat?room=1&x`; `Some("")` for `/chat?`).
    pub fn query(&self) -> Option<&str> {
        split_target(&self.target).1
    }

    /// The value of the first header field called `name` (compared
    /// ASCII-case-insensitively), if it is UTF-8; see
    /// [`headers`](Self::headers) for every field and raw bytes.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The host the request is for: the `Host` header (HTTP/1.1) or the
    /// `:authority` (HTTP/2), as `host[:port]`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header value, sent by browsers (§4.1 item 8, §10.2).
    pub fn origin(&self) -> Option<&str> {
        self.headers.get("Origin")
    }

    /// The `Sec-WebSocket-Key` value of an HTTP/1.1 upgrade; `None` for an
    /// extended CONNECT, which has no key (RFC 8441 §5).
    pub fn key(&self) -> Option<&str> {
        match &self.flavor {
            Flavor::Upgrade { key } => Some(key),
            Flavor::ExtendedConnect => None,
        }
    }

    /// Whether the request is an RFC 8441 extended CONNECT (HTTP/2) rather
    /// than an HTTP/1.1 upgrade.
    pub fn is_extended_connect(&self) -> bool {
        matches!(self.flavor, Flavor::ExtendedConnect)
    }

    /// The subprotocols the client offered, in its order of preference,
    /// gathered from every `Sec-WebSocket-Protocol` header.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions the client offered, in order, gathered from every
    /// `Sec-WebSocket-Extensions` header.
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// All header fields of the request.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first of `supported` (the server's order of preference) that the
    /// client offered, compared exactly (subprotocol names are
    /// case-sensitive).
    pub fn select_protocol<'a>(&self, supported: &[&'a str]) -> Option<&'a str> {
        supported
            .iter()
            .copied()
            .find(|s| self.protocols.iter().any(|p| p == s))
    }

    /// Checks the `Origin` against an allow-list, against cross-site WebSocket
    /// hijacking (§10.2): a page on another site cannot use the visitor's
    /// cookies on this server.
    ///
    /// Each entry is `scheme://host[:port]` (a trailing `/` is ignored);
    /// scheme and host compare ASCII-case-insensitively and a missing port is
    /// the scheme's default, so `https://Example.com` matches
    /// `https://example.com:443`. A request **without** `Origin` is allowed:
    /// browsers always send one, so its absence means a non-browser client,
    /// which could forge any origin anyway. Authenticate such clients by other
    /// means.
    ///
    /// # Errors
    /// [`HandshakeError::OriginRefused`] (403) if the origin is not listed, is
    /// `null`, is unparseable, or is given more than once.
    pub fn check_origin(&self, allowed: &[&str]) -> Result<(), HandshakeError> {
        let origin = match self.headers.single("Origin") {
            Ok(None) => return Ok(()),
            Ok(Some(o)) => core::str::from_utf8(o).ok().and_then(origin_parts),
            Err(()) => None,
        };
        match origin {
            Some(o) if allowed.iter().any(|a| origin_parts(a).as_ref() == Some(&o)) => Ok(()),
            _ => Err(HandshakeError::OriginRefused),
        }
    }

    /// Accepts the request: the response head and the extensions negotiated
    /// from the client's offers.
    ///
    /// For an HTTP/1.1 upgrade the response is `101 Switching Protocols`
    /// with `Upgrade: websocket`, `Connection: Upgrade` and
    /// `Sec-WebSocket-Accept` (§4.2.2 item 5); for an extended CONNECT it is
    /// `200` without them (RFC 8441 §5). Both carry the chosen subprotocol
    /// if any, the accepted extensions if any, and the headers `options`
    /// adds.
    ///
    /// # Errors
    /// Local misuse only: [`HandshakeError::ProtocolNotOffered`] if the chosen
    /// subprotocol is not one the client offered,
    /// [`HandshakeError::InvalidHeaderToSend`] if an added header was invalid.
    pub fn accept(&self, options: Accept) -> Result<Accepted, HandshakeError> {
        if let Some(e) = options.error {
            return Err(e);
        }
        if let Some(p) = &options.protocol {
            if !self.protocols.iter().any(|o| o == p) {
                return Err(HandshakeError::ProtocolNotOffered);
            }
        }
        let (answer, negotiated) = self.config.server_answer(&self.extensions);
        let mut headers = Vec::with_capacity(4 + options.headers.len());
        let field = |n: &str, v: &str| (n.to_string(), v.to_string());
        let status = match &self.flavor {
            Flavor::Upgrade { key } => {
                headers.push(field("Upgrade", "websocket"));
                headers.push(field("Connection", "Upgrade"));
                headers.push(field(
                    "Sec-WebSocket-Accept",
                    accept_key(key.as_bytes()).as_str(),
                ));
                101
            }
            Flavor::ExtendedConnect => 200,
        };
        if let Some(p) = &options.protocol {
            headers.push(field("Sec-WebSocket-Protocol", p));
        }
        if let Some(a) = &answer {
            headers.push(field("Sec-WebSocket-Extensions", a));
        }
        headers.extend(options.headers);
        Ok(Accepted {
            response: ResponseHead { status, headers },
            protocol: options.protocol,
            negotiated,
        })
    }
}

impl HandshakeRequest {
    /// What a server answers once the application's `decide` has seen the
    /// request, the same in every adapter: the acceptance, or the refusal
    /// `decide` returned, or the refusal (500) for `decide`'s own mistake in
    /// accepting (a subprotocol the client did not offer, say). Write
    /// `accepted.response.to_bytes()` or [`Refusal::to_bytes`].
    ///
    /// # Errors
    /// The [`Refusal`] to answer with.
    pub fn decide<F>(&self, decide: F) -> Result<Accepted, Refusal>
    where
        F: FnOnce(&HandshakeRequest) -> Result<Accept, Refusal>,
    {
        self.accept(decide(self)?).map_err(Refusal::from)
    }
}

/// `scheme://host[:port]` split into lowercase scheme, lowercase host and
/// port (the scheme's default if unwritten and known).
fn origin_parts(origin: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = origin.split_once("://")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if scheme.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let (host, port, _) = parse_authority(rest).ok()?;
    let default = match scheme.as_str() {
        "http" | "ws" => Some(default_port(false)),
        "https" | "wss" => Some(default_port(true)),
        _ => None,
    };
    Some((scheme, host.to_ascii_lowercase(), port.or(default)))
}

/// How to accept a [`HandshakeRequest`]: the subprotocol chosen and extra
/// headers.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Accept {
    protocol: Option<String>,
    headers: Vec<(String, String)>,
    error: Option<HandshakeError>,
}

impl Accept {
    /// Accept with no subprotocol and no extra header.
    pub fn new() -> Self {
        Self::default()
    }

    /// Chooses the subprotocol (§4.2.2 item 5, /subprotocol/); it must be one
    /// the client offered (see [`HandshakeRequest::select_protocol`]).
    pub fn protocol(mut self, protocol: &str) -> Self {
        self.protocol = Some(protocol.to_string());
        self
    }

    /// Adds a response header, such as `Set-Cookie`. The name must be a
    /// token and the value free of control characters (no CR or LF); headers
    /// the handshake sets itself (`Upgrade`, `Connection`, `Sec-WebSocket-*`,
    /// `Content-Length`, `Transfer-Encoding`) are refused. A refused header
    /// makes [`HandshakeRequest::accept`] fail with
    /// [`HandshakeError::InvalidHeaderToSend`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if !push_extra_header(&mut self.headers, (name, value), RESERVED) {
            self.error
                .get_or_insert(HandshakeError::InvalidHeaderToSend);
        }
        self
    }
}

/// An accepted handshake: the response to send and what was agreed.
#[derive(Debug)]
#[non_exhaustive]
pub struct Accepted {
    /// The response head to send: `101 Switching Protocols` for an HTTP/1.1
    /// upgrade (write [`ResponseHead::to_bytes`]), `200` for an extended
    /// CONNECT.
    pub response: ResponseHead,
    /// The subprotocol chosen, if any.
    pub protocol: Option<String>,
    /// The extensions agreed, for the [`Connection`].
    pub negotiated: Negotiated,
}

impl Accepted {
    /// A server [`Connection`] using the negotiated extensions. Send
    /// [`response`](Self::response) to the client first, then feed the
    /// connection any bytes left in the handshake buffer.
    pub fn into_connection(self, config: Config) -> Connection {
        Connection::with_extensions(Role::Server, config, self.negotiated)
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
