//! The server side of the opening handshake: read and validate a client's
//! request (RFC 6455 §4.2.1), then accept or reject it (§4.2.2).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bytes::BytesMut;

use super::headers::{HeaderScanner, Headers, Scan, list_elements, push_extra_header};
use super::url::{default_port, parse_authority};
use super::{HandshakeError, accept_key, is_token, is_valid_key};
use crate::extension::{ExtensionConfig, ExtensionOffer, Negotiated, parse_extensions};
use crate::{Config, Connection, Role};

/// Reads a client's opening handshake from the bytes received so far.
///
/// ```
/// use bytes::BytesMut;
/// use rfc6455::handshake::{Accept, ServerHandshake};
///
/// let mut server = ServerHandshake::new(&rfc6455::Config::default());
/// let mut buf = BytesMut::from(
///     &b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
///        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///        Sec-WebSocket-Version: 13\r\n\r\n"[..],
/// );
/// let request = server.parse(&mut buf)?.expect("complete");
/// let accepted = request.accept(Accept::new())?;
/// assert!(accepted.response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ServerHandshake {
    scanner: HeaderScanner,
    max_headers: usize,
    extensions: ExtensionConfig,
    failed: Option<HandshakeError>,
}

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

impl ServerHandshake {
    /// A handshake enforcing `config`'s handshake size and header count
    /// limits, supporting no extension.
    pub fn new(config: &Config) -> Self {
        ServerHandshake {
            scanner: HeaderScanner::new(config.max_handshake_size),
            max_headers: config.max_headers,
            extensions: config.extensions.clone(),
            failed: None,
        }
    }

    /// Parses the request at the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed (bytes already seen are
    /// not scanned again). On success, exactly the request's header block is
    /// removed from `buf`; bytes after it (the client's first frames) stay.
    /// After a request is returned, a further call parses the next one.
    ///
    /// # Errors
    /// Any server-side [`HandshakeError`]: [`RequestTooLarge`] as soon as
    /// `buf` holds [`Config::max_handshake_size`] bytes without the end of a
    /// header block, and the rules of §4.2.1, checked in this order: syntax,
    /// header count, method, HTTP version, `Host`, `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Version`, `Sec-WebSocket-Key`, absence of a body,
    /// `Sec-WebSocket-Protocol` and `Sec-WebSocket-Extensions` syntax. Send
    /// [`HandshakeError::response`] and close. Errors are sticky: later calls
    /// return the same error.
    ///
    /// [`RequestTooLarge`]: HandshakeError::RequestTooLarge
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<HandshakeRequest>, HandshakeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.parse_inner(buf);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    fn parse_inner(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<HandshakeRequest>, HandshakeError> {
        let end = match self.scanner.scan(buf) {
            Scan::Partial => return Ok(None),
            Scan::TooLarge => return Err(HandshakeError::RequestTooLarge),
            Scan::Complete(end) => end,
        };
        // A field takes at least three bytes, so this bounds the allocation
        // by the block's size as well as by the configured count.
        let mut slots = alloc::vec![httparse::EMPTY_HEADER; self.max_headers.min(end / 3 + 1)];
        let mut req = httparse::Request::new(&mut slots);
        let n = match req.parse(&buf[..end]) {
            Ok(httparse::Status::Complete(n)) => n,
            Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::TooManyHeaders),
            Err(httparse::Error::Version) => return Err(HandshakeError::UnsupportedHttpVersion),
            Ok(httparse::Status::Partial) | Err(_) => return Err(HandshakeError::MalformedRequest),
        };
        let is_get = req.method == Some("GET");
        let version = req.version;
        let path = req.path.unwrap_or("/").to_string();
        let index = Headers::index(&buf[..n], req.headers);
        let headers = Headers::from_index(buf.split_to(n).freeze(), index);

        if !is_get {
            return Err(HandshakeError::MethodNotAllowed);
        }
        if version != Some(1) {
            return Err(HandshakeError::UnsupportedHttpVersion);
        }
        if !is_resource_target(&path) {
            return Err(HandshakeError::MalformedRequest);
        }
        HandshakeRequest::validate(headers, path, self.extensions.clone()).map(Some)
    }
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

/// A validated opening-handshake request (RFC 6455 §4.2.1), waiting for the
/// application to [`accept`](Self::accept) or [`reject`](Self::reject) it.
#[derive(Clone, Debug)]
pub struct HandshakeRequest {
    headers: Headers,
    path: String,
    host: String,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
    config: ExtensionConfig,
}

impl HandshakeRequest {
    fn validate(
        headers: Headers,
        path: String,
        config: ExtensionConfig,
    ) -> Result<Self, HandshakeError> {
        use HandshakeError::*;
        let host = match headers.single("Host") {
            Ok(Some(h)) => core::str::from_utf8(h).map_err(|_| InvalidHost)?,
            _ => return Err(InvalidHost),
        };
        parse_authority(host).map_err(|_| InvalidHost)?;
        if !headers.has_token("Upgrade", "websocket") {
            return Err(MissingUpgrade);
        }
        if !headers.has_token("Connection", "upgrade") {
            return Err(MissingConnectionUpgrade);
        }
        if headers.single("Sec-WebSocket-Version") != Ok(Some(b"13")) {
            return Err(UnsupportedVersion);
        }
        let key = match headers.single("Sec-WebSocket-Key") {
            Ok(Some(k)) if is_valid_key(k) => k,
            _ => return Err(InvalidKey),
        };
        if headers.contains("Transfer-Encoding")
            || headers.get_all("Content-Length").any(|v| v != b"0")
        {
            return Err(UnexpectedBody);
        }
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
            host: host.to_string(),
            key: key.iter().map(|&b| char::from(b)).collect(),
            headers,
            path,
            protocols,
            extensions,
            config,
        })
    }

    /// The request target: the resource name with its query, as sent
    /// (e.g. `/chat?room=1`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The `Host` header value (`host[:port]`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `Origin` header value, sent by browsers (§4.1 item 8, §10.2).
    pub fn origin(&self) -> Option<&str> {
        self.headers.get("Origin")
    }

    /// The `Sec-WebSocket-Key` value.
    pub fn key(&self) -> &str {
        &self.key
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

    /// Accepts the request: the `101 Switching Protocols` response (§4.2.2
    /// item 5) and the extensions negotiated from the client's offers.
    ///
    /// The response carries `Upgrade: websocket`, `Connection: Upgrade`,
    /// `Sec-WebSocket-Accept`, the chosen subprotocol if any, the accepted
    /// extensions if any, and the headers `options` adds.
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
        let mut r = String::with_capacity(160);
        r.push_str(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: ",
        );
        r.push_str(accept_key(self.key.as_bytes()).as_str());
        r.push_str("\r\n");
        for (name, value) in options
            .protocol
            .iter()
            .map(|p| ("Sec-WebSocket-Protocol", p.as_str()))
            .chain(
                answer
                    .iter()
                    .map(|a| ("Sec-WebSocket-Extensions", a.as_str())),
            )
            .chain(
                options
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str())),
            )
        {
            r.push_str(name);
            r.push_str(": ");
            r.push_str(value);
            r.push_str("\r\n");
        }
        r.push_str("\r\n");
        Ok(Accepted {
            response: r.into_bytes(),
            protocol: options.protocol,
            negotiated,
        })
    }

    /// Refuses the request: a response with `status`, `Connection: close` and
    /// no body. Same as [`HandshakeError::Rejected`]`(status).`[`response`](HandshakeError::response);
    /// a status outside `300..=599` is sent as 500.
    pub fn reject(&self, status: u16) -> Vec<u8> {
        HandshakeError::Rejected(status)
            .response()
            .unwrap_or_default()
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

/// How to accept a [`HandshakeRequest`]: the subprotocol chosen and extra headers.
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
        push_extra_header(&mut self.headers, &mut self.error, (name, value), RESERVED);
        self
    }
}

/// An accepted handshake: the response to send and what was agreed.
#[derive(Debug)]
#[non_exhaustive]
pub struct Accepted {
    /// The complete `101 Switching Protocols` response to write to the client.
    pub response: Vec<u8>,
    /// The subprotocol chosen, if any.
    pub protocol: Option<String>,
    /// The extensions agreed, for the [`Connection`].
    pub negotiated: Negotiated,
}

impl Accepted {
    /// A server [`Connection`] using the negotiated extensions. Write
    /// [`response`](Self::response) to the client first, then feed the
    /// connection any bytes left in the handshake buffer.
    pub fn into_connection(self, config: Config) -> Connection {
        Connection::with_extensions(Role::Server, config, self.negotiated)
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
