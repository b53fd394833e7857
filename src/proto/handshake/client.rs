//! The client side of the opening handshake: build the request from a URL
//! (RFC 6455 §4.1), then read and check the server's response (§4.1, second
//! half).

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bytes::BytesMut;

use super::headers::{HeaderScanner, Headers, Scan, list_elements, push_extra_header};
use super::refused::{Progress, RefusalBody};
use super::url::{Url, parse_url};
use super::{AcceptKey, HandshakeError, accept_key, encode_key, is_token};
use crate::proto::extension::{ExtensionConfig, Negotiated, parse_extensions};
use crate::{Config, Connection, Role};

/// Headers a client application may not set itself in [`ClientRequest::header`].
const RESERVED: &[&str] = &[
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

/// A client's opening-handshake request, built from a WebSocket URL.
///
/// ```
/// use rfc6455::handshake::ClientRequest;
///
/// let req = ClientRequest::new("wss://[::1]:9001/feed?since=10")?
///     .protocol("v2.feed")
///     .header("Origin", "https://example.com")
///     .key(*b"the sample nonce");
/// assert_eq!((req.host(), req.port(), req.is_tls()), ("::1", 9001, true));
/// let (bytes, _handshake) = req.build(&rfc6455::Config::default())?;
/// assert!(bytes.starts_with(b"GET /feed?since=10 HTTP/1.1\r\nHost: [::1]:9001\r\n"));
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientRequest {
    url: Url,
    protocols: Vec<String>,
    headers: Vec<(String, String)>,
    nonce: Option<[u8; 16]>,
    error: Option<HandshakeError>,
}

impl ClientRequest {
    /// A request for `url`: `ws://` or `wss://` (or `http://`, `https://`,
    /// taken as the same), a host (name, IPv4, or bracketed IPv6), an optional
    /// port (default 80, or 443 with TLS), and an optional path (default `/`)
    /// and query, sent as written.
    ///
    /// # Errors
    /// [`HandshakeError::InvalidUrl`] for another scheme, a missing or invalid
    /// host or port, userinfo (`user@`: send credentials in a header instead),
    /// a `#fragment` (forbidden by §3), or a path or query character that
    /// must be percent-encoded.
    pub fn new(url: &str) -> Result<Self, HandshakeError> {
        Ok(ClientRequest {
            url: parse_url(url)?,
            protocols: Vec::new(),
            headers: Vec::new(),
            nonce: None,
            error: None,
        })
    }

    /// Offers a subprotocol (§4.1 item 10); call again to offer more, in
    /// order of preference. A protocol that is not a token, or offered twice,
    /// makes [`build`](Self::build) fail with
    /// [`HandshakeError::InvalidHeaderToSend`].
    pub fn protocol(mut self, protocol: &str) -> Self {
        if is_token(protocol.as_bytes()) && !self.protocols.iter().any(|p| p == protocol) {
            self.protocols.push(protocol.to_string());
        } else {
            self.error
                .get_or_insert(HandshakeError::InvalidHeaderToSend);
        }
        self
    }

    /// Adds a request header, such as `Origin`, `Authorization` or `Cookie`.
    /// The name must be a token and the value free of control characters (no
    /// CR or LF); headers the handshake sets itself (`Host`, `Upgrade`,
    /// `Connection`, `Sec-WebSocket-*`, `Content-Length`,
    /// `Transfer-Encoding`) are refused. A refused header makes
    /// [`build`](Self::build) fail with [`HandshakeError::InvalidHeaderToSend`].
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if !push_extra_header(&mut self.headers, (name, value), RESERVED) {
            self.error
                .get_or_insert(HandshakeError::InvalidHeaderToSend);
        }
        self
    }

    /// Uses `nonce` as the 16 bytes behind `Sec-WebSocket-Key`, for
    /// reproducible tests. By default a fresh nonce is drawn, as §4.1 item 7
    /// requires, from [`Config::random_seed`]'s generator or else the
    /// operating system's.
    pub fn key(mut self, nonce: [u8; 16]) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// The host to connect to; an IPv6 literal comes without its brackets.
    pub fn host(&self) -> &str {
        &self.url.host
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.url.port
    }

    /// Whether the connection must be TLS (`wss` or `https`).
    pub fn is_tls(&self) -> bool {
        self.url.tls
    }

    /// The resource name sent in the request line: path and query.
    pub fn resource(&self) -> &str {
        &self.url.resource
    }

    /// The request bytes to send, and the [`ClientHandshake`] that checks the
    /// server's response under `config`'s handshake limits.
    ///
    /// # Errors
    /// [`HandshakeError::InvalidHeaderToSend`] if a protocol or header given
    /// to this builder was refused; [`HandshakeError::NoRandomSource`] if no
    /// nonce can be drawn.
    pub fn build(self, config: &Config) -> Result<(Vec<u8>, ClientHandshake), HandshakeError> {
        let (head, handshake) = self.build_upgrade(config)?;
        let mut r = Vec::with_capacity(256);
        r.extend_from_slice(b"GET ");
        r.extend_from_slice(head.target.as_bytes());
        r.extend_from_slice(b" HTTP/1.1\r\n");
        for (name, value) in head.fields() {
            r.extend_from_slice(name.as_bytes());
            r.extend_from_slice(b": ");
            r.extend_from_slice(value.as_bytes());
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"\r\n");
        Ok((r, handshake))
    }

    /// The HTTP/1.1 upgrade request (§4.1) as a head: `Host`, `Upgrade`,
    /// `Connection`, a fresh `Sec-WebSocket-Key`, `Sec-WebSocket-Version`,
    /// the offers and the added headers.
    pub(crate) fn build_upgrade(
        self,
        config: &Config,
    ) -> Result<(ClientHead, ClientHandshake), HandshakeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let nonce = match self.nonce {
            Some(nonce) => nonce,
            None => crate::proto::rng::nonce(config.random_seed)
                .ok_or(HandshakeError::NoRandomSource)?,
        };
        let key = encode_key(&nonce);
        let key_str = core::str::from_utf8(&key).unwrap_or("");
        let fixed = [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key_str),
        ];
        let accept = accept_key(&key);
        Ok(self.finish(&fixed, Some(accept), config))
    }

    /// The RFC 8441 extended CONNECT (§4, §5) as a head: no `Host` (the
    /// authority is a pseudo-header field), no `Upgrade`, `Connection` or
    /// key; `Sec-WebSocket-Version`, the offers and the added headers.
    #[cfg(feature = "http")]
    pub(crate) fn build_extended_connect(
        self,
        config: &Config,
    ) -> Result<(ClientHead, ClientHandshake), HandshakeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        Ok(self.finish(&[], None, config))
    }

    fn finish(
        self,
        fixed: &[(&str, &str)],
        accept: Option<AcceptKey>,
        config: &Config,
    ) -> (ClientHead, ClientHandshake) {
        let field = |n: &str, v: &str| (n.to_string(), v.to_string());
        let mut fields: Vec<(String, String)> = fixed.iter().map(|(n, v)| field(n, v)).collect();
        fields.push(field("Sec-WebSocket-Version", "13"));
        if !self.protocols.is_empty() {
            fields.push(field("Sec-WebSocket-Protocol", &self.protocols.join(", ")));
        }
        if let Some(offer) = config.extensions.client_offer() {
            fields.push(field("Sec-WebSocket-Extensions", &offer));
        }
        fields.extend(self.headers);
        let head = ClientHead {
            target: self.url.resource.clone(),
            authority: self.url.host_header(),
            tls: self.url.tls,
            fields,
        };
        let handshake = ClientHandshake {
            scanner: HeaderScanner::new(config.max_handshake_size),
            max_headers: config.max_headers,
            accept,
            protocols: self.protocols,
            extensions: config.extensions.clone(),
            max_refusal_body: config.max_refusal_body,
            refusal: None,
            failed: None,
            time: super::time::HandshakeTime::new(config.handshake_timeout),
        };
        (head, handshake)
    }
}

/// A client's request as a structured head, written as HTTP/1.1 bytes by
/// [`ClientRequest::build`] or turned into an `http::Request`.
#[derive(Clone, Debug)]
pub(crate) struct ClientHead {
    /// The resource name: path and query.
    pub(crate) target: String,
    /// `host[:port]`, the port only when it is not the default: the `Host`
    /// header, or the HTTP/2 `:authority`.
    pub(crate) authority: String,
    /// Whether the URL asked for TLS (`wss`): `:scheme` is then `https`.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) tls: bool,
    /// The fields after `Host`, in order.
    pub(crate) fields: Vec<(String, String)>,
}

impl ClientHead {
    /// `Host` then the other fields.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        core::iter::once(("Host", self.authority.as_str()))
            .chain(self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str())))
    }
}

/// Reads and checks the server's answer to a [`ClientRequest`].
///
/// A `101` is checked and handed out as a [`HandshakeResponse`]. Any other
/// status is the server's refusal: its body is read too, up to
/// [`Config::max_refusal_body`] bytes, and the handshake ends with
/// [`HandshakeError::Refused`]. A body that runs to the end of the
/// connection ends when the caller says so with
/// [`receive_eof`](Self::receive_eof); a caller that stops waiting (its
/// deadline passed) gets what arrived with [`abandon`](Self::abandon).
///
/// ```
/// use bytes::BytesMut;
/// use rfc6455::Config;
/// use rfc6455::handshake::{ClientRequest, HandshakeError};
///
/// let (_, mut client) = ClientRequest::new("ws://example.com/")?.build(&Config::default())?;
/// let mut buf = BytesMut::from(&b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 16\r\n\r\n{\"error\":"[..]);
/// assert!(client.parse(&mut buf)?.is_none(), "the body is not complete");
/// buf.extend_from_slice(b"\"nope\"}");
/// let refused = client.parse(&mut buf).unwrap_err();
/// let refused = refused.refused().expect("a refusal");
/// assert_eq!((refused.status, &refused.body[..]), (401, &b"{\"error\":\"nope\"}"[..]));
/// assert!(!refused.truncated);
/// # Ok::<(), HandshakeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientHandshake {
    scanner: HeaderScanner,
    max_headers: usize,
    /// The `Sec-WebSocket-Accept` expected; `None` for an extended CONNECT.
    accept: Option<AcceptKey>,
    protocols: Vec<String>,
    extensions: ExtensionConfig,
    max_refusal_body: usize,
    /// A refusal whose body is being read.
    refusal: Option<RefusalBody>,
    failed: Option<HandshakeError>,
    time: super::time::HandshakeTime,
}

impl ClientHandshake {
    /// Tells the handshake the time: the first call starts its clock,
    /// [`Config::handshake_timeout`] bounding everything until the
    /// connection is open, from then on: connecting and TLS included, so
    /// build the request before connecting and start the clock then.
    pub fn handle_timeout(&mut self, now: crate::Timestamp) {
        self.time.handle_timeout(now);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the
    /// handshake's deadline; [`Timestamp::ZERO`](crate::Timestamp::ZERO)
    /// (now) before the clock started; `None` without a bound.
    pub fn poll_timeout(&self) -> Option<crate::Timestamp> {
        self.time.poll_timeout()
    }

    /// Whether the deadline passed: the handshake failed (a refusal whose
    /// body was arriving is [`abandon`](Self::abandon)ed with what came).
    pub fn is_expired(&self) -> bool {
        self.time.expired()
    }

    /// The `Sec-WebSocket-Accept` value the server must answer with; `None`
    /// for an extended CONNECT (RFC 8441 §5), which has no key.
    pub fn expected_accept(&self) -> Option<&AcceptKey> {
        self.accept.as_ref()
    }

    /// Parses the response at the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed (bytes already seen are
    /// not scanned again). On success, exactly the response's header block is
    /// removed from `buf`; bytes after it (the server's first frames) stay.
    /// The handshake is then over: do not call again. After a refusal's
    /// head, the body bytes are taken off `buf` as they come.
    ///
    /// # Errors
    /// [`ResponseTooLarge`] as soon as `buf` holds
    /// [`Config::max_handshake_size`] bytes without the end of a header block
    /// or the block has too many fields, [`MalformedResponse`],
    /// [`Refused`] for a status other than 101 once its body is read (or
    /// cut at [`Config::max_refusal_body`]), then the checks of
    /// §4.1: [`ResponseMissingUpgrade`], [`ResponseMissingConnectionUpgrade`],
    /// [`AcceptKeyMismatch`], [`UnofferedProtocol`],
    /// [`InvalidResponseHeader`], [`UnofferedExtension`]. The client should
    /// close the connection. Errors are sticky.
    ///
    /// [`ResponseTooLarge`]: HandshakeError::ResponseTooLarge
    /// [`MalformedResponse`]: HandshakeError::MalformedResponse
    /// [`Refused`]: HandshakeError::Refused
    /// [`ResponseMissingUpgrade`]: HandshakeError::ResponseMissingUpgrade
    /// [`ResponseMissingConnectionUpgrade`]: HandshakeError::ResponseMissingConnectionUpgrade
    /// [`AcceptKeyMismatch`]: HandshakeError::AcceptKeyMismatch
    /// [`UnofferedProtocol`]: HandshakeError::UnofferedProtocol
    /// [`InvalidResponseHeader`]: HandshakeError::InvalidResponseHeader
    /// [`UnofferedExtension`]: HandshakeError::UnofferedExtension
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<HandshakeResponse>, HandshakeError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.parse_inner(buf);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    /// Tells the handshake that the connection ended after the bytes in
    /// `buf` (the peer closed it): what `buf` holds is parsed, then the
    /// handshake ends. A body that runs to the end of the connection is then
    /// complete; a body announced longer is marked truncated.
    ///
    /// # Errors
    /// As [`parse`](Self::parse), and [`HandshakeError::ResponseIncomplete`]
    /// if the response head did not arrive whole.
    pub fn receive_eof(&mut self, buf: &mut BytesMut) -> Result<HandshakeResponse, HandshakeError> {
        if let Some(response) = self.parse(buf)? {
            return Ok(response);
        }
        let error = match self.refusal.take() {
            Some(mut body) => HandshakeError::Refused(Box::new(body.finish(true))),
            None => HandshakeError::ResponseIncomplete,
        };
        self.failed = Some(error.clone());
        Err(error)
    }

    /// Ends a handshake the caller stops waiting for (its deadline passed,
    /// or the transport failed): if a refusal's head has arrived, the
    /// [`HandshakeError::Refused`] with the body received so far, marked
    /// truncated unless it was complete; `None` if no refusal is underway
    /// (the caller reports its own reason).
    pub fn abandon(&mut self) -> Option<HandshakeError> {
        let error = HandshakeError::Refused(Box::new(self.refusal.take()?.finish(false)));
        self.failed = Some(error.clone());
        Some(error)
    }

    fn parse_inner(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<HandshakeResponse>, HandshakeError> {
        use HandshakeError::*;
        if let Some(body) = &mut self.refusal {
            return match body.receive(buf) {
                Progress::Partial => Ok(None),
                Progress::Done(refused) => {
                    self.refusal = None;
                    Err(Refused(Box::new(refused)))
                }
            };
        }
        let end = match self.scanner.scan(buf) {
            Scan::Partial => return Ok(None),
            Scan::TooLarge => return Err(ResponseTooLarge),
            Scan::Complete(end) => end,
        };
        let mut slots = alloc::vec![httparse::EMPTY_HEADER; self.max_headers.min(end / 3 + 1)];
        let mut resp = httparse::Response::new(&mut slots);
        let n = match resp.parse(&buf[..end]) {
            Ok(httparse::Status::Complete(n)) => n,
            Err(httparse::Error::TooManyHeaders) => return Err(ResponseTooLarge),
            Ok(httparse::Status::Partial) | Err(_) => return Err(MalformedResponse),
        };
        let (version, code) = (resp.version, resp.code);
        let index = Headers::index(&buf[..n], resp.headers);
        let headers = Headers::from_index(buf.split_to(n).freeze(), index);

        if version != Some(1) {
            return Err(MalformedResponse);
        }
        match code {
            Some(101) => self.check_upgrade(headers).map(Some),
            Some(code) => {
                self.refusal = Some(RefusalBody::new(code, headers, self.max_refusal_body));
                self.parse_inner(buf)
            }
            None => Err(MalformedResponse),
        }
    }

    /// Checks a `101` response's fields (§4.1): `Upgrade`, `Connection`,
    /// `Sec-WebSocket-Accept`, then what both flavours check.
    pub(crate) fn check_upgrade(
        &self,
        headers: Headers,
    ) -> Result<HandshakeResponse, HandshakeError> {
        use HandshakeError::*;
        if !headers.has_token("Upgrade", "websocket") {
            return Err(ResponseMissingUpgrade);
        }
        if !headers.has_token("Connection", "upgrade") {
            return Err(ResponseMissingConnectionUpgrade);
        }
        let expected = self.accept.as_ref().map(|a| &a.as_bytes()[..]);
        match (headers.single("Sec-WebSocket-Accept"), expected) {
            (Ok(Some(got)), Some(expected)) if got == expected => {}
            _ => return Err(AcceptKeyMismatch),
        }
        self.check_agreement(101, headers)
    }

    /// Checks the fields of a response accepting the request, whatever its
    /// flavour: at most one subprotocol, one that was offered (§4.1), and
    /// extensions that were offered with acceptable parameters (§9.1).
    pub(crate) fn check_agreement(
        &self,
        status: u16,
        headers: Headers,
    ) -> Result<HandshakeResponse, HandshakeError> {
        use HandshakeError::*;
        let mut chosen = headers
            .get_all("Sec-WebSocket-Protocol")
            .flat_map(list_elements);
        let protocol = match (chosen.next(), chosen.next()) {
            (None, _) => None,
            (Some(p), None) => match self.protocols.iter().find(|o| o.as_bytes() == p) {
                Some(o) => Some(o.clone()),
                None => return Err(UnofferedProtocol),
            },
            (Some(_), Some(_)) => return Err(UnofferedProtocol),
        };
        drop(chosen);
        const EXT: &str = "Sec-WebSocket-Extensions";
        let mut answer = Vec::new();
        for v in headers.get_all(EXT) {
            let v = core::str::from_utf8(v).map_err(|_| InvalidResponseHeader(EXT))?;
            for e in parse_extensions(v) {
                answer.push(e.map_err(|_| InvalidResponseHeader(EXT))?);
            }
        }
        let negotiated = self.extensions.client_accept(&answer)?;
        Ok(HandshakeResponse {
            status,
            protocol,
            headers,
            negotiated,
        })
    }
}

/// A server's accepted handshake response, checked against the request.
#[derive(Debug)]
#[non_exhaustive]
pub struct HandshakeResponse {
    /// The status code: 101 for an HTTP/1.1 upgrade, a 2xx for an extended
    /// CONNECT (RFC 8441 §5).
    pub status: u16,
    /// The subprotocol the server chose, one of those offered.
    pub protocol: Option<String>,
    /// All header fields of the response.
    pub headers: Headers,
    /// The extensions agreed, for the [`Connection`].
    pub negotiated: Negotiated,
}

impl HandshakeResponse {
    /// A client [`Connection`] using the negotiated extensions. Feed it any
    /// bytes left in the handshake buffer.
    pub fn into_connection(self, config: Config) -> Connection {
        Connection::with_extensions(Role::Client, config, self.negotiated)
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
