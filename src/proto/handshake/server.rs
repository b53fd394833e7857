//! The server side of the opening handshake over HTTP/1.1 bytes: find the
//! request's header block, parse it with httparse into a request head, and
//! hand that head to the validation every HTTP binding shares (RFC 6455
//! §4.2.1, in `request.rs`).

use alloc::string::ToString;
use bytes::BytesMut;

use super::head::{HttpVersion, Method, RequestHead};
use super::headers::{HeaderScanner, Headers, Scan};
use super::time::HandshakeTime;
use super::{HandshakeError, HandshakeRequest};
use crate::Config;
use crate::proto::connection::Timestamp;
use crate::proto::extension::ExtensionConfig;

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
/// assert_eq!(accepted.response.status, 101);
/// assert!(accepted.response.to_bytes().starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// # Ok::<(), rfc6455::handshake::HandshakeError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ServerHandshake {
    scanner: HeaderScanner,
    max_headers: usize,
    extensions: ExtensionConfig,
    failed: Option<HandshakeError>,
    time: HandshakeTime,
}

impl ServerHandshake {
    /// A handshake enforcing `config`'s handshake size, header count and
    /// time limits, and supporting the extensions of
    /// [`config.extensions`](Config#structfield.extensions) (none by
    /// default): [`HandshakeRequest::accept`] accepts the first valid offer
    /// of each supported extension and declines the other offers.
    pub fn new(config: &Config) -> Self {
        ServerHandshake {
            scanner: HeaderScanner::new(config.max_handshake_size),
            max_headers: config.max_headers,
            extensions: config.extensions.clone(),
            failed: None,
            time: HandshakeTime::new(config.handshake_timeout),
        }
    }

    /// Tells the handshake the time: the first call starts its clock,
    /// [`Config::handshake_timeout`] bounding reading the request, deciding
    /// and writing the answer from then on.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.time.handle_timeout(now);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the
    /// handshake's deadline, or after a refusal the end of the linger;
    /// [`Timestamp::ZERO`] (now) before the clock started; `None` without a
    /// bound.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.time.poll_timeout()
    }

    /// Whether the deadline passed: the handshake failed, and the transport
    /// is closed without an answer (or, lingering after a refusal, the
    /// linger is over).
    pub fn is_expired(&self) -> bool {
        self.time.expired()
    }

    /// After a refusal's answer was written: the server reads and discards
    /// what the client still sends, within [`REFUSAL_LINGER`](super::REFUSAL_LINGER)
    /// and the deadline, before closing, so that closing with unread bytes
    /// does not reset the connection before the client read the answer
    /// (RFC 9112 §9.6). [`poll_timeout`](Self::poll_timeout) then includes
    /// the linger's end.
    pub fn start_linger(&mut self) {
        self.time.start_linger();
    }

    /// Reports `discarded` bytes read while lingering (0 at the end of the
    /// stream); whether to keep reading (else close the transport).
    pub fn keep_lingering(&mut self, discarded: usize) -> bool {
        self.time.lingered(discarded)
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
    /// the error's [`refusal`](HandshakeError::refusal) and close. Errors are
    /// sticky: later calls return the same error.
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
        let method = Method::from_token(req.method.unwrap_or(""));
        let version = match req.version {
            Some(1) => HttpVersion::Http11,
            _ => HttpVersion::Other,
        };
        let target = req.path.unwrap_or("/").to_string();
        let index = Headers::index(&buf[..n], req.headers);
        let headers = Headers::from_index(buf.split_to(n).freeze(), index);
        let head = RequestHead {
            method,
            target,
            version,
            scheme: None,
            authority: None,
            protocol: None,
            headers,
        };
        HandshakeRequest::from_upgrade(head, &self.extensions).map(Some)
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
