//! The opening handshake (RFC 6455 §4): an HTTP/1.1 Upgrade exchange, or an
//! RFC 8441 extended CONNECT over HTTP/2, parsed and produced without I/O.
//!
//! Both sides read from a [`BytesMut`](bytes::BytesMut) the caller fills from
//! the socket. A parse call returns `Ok(None)` until the whole header block has
//! arrived; it never re-scans bytes it has seen, and fails as soon as the
//! block exceeds [`Config::max_handshake_size`](crate::Config::max_handshake_size).
//! On success it takes exactly the header block off the front of the buffer:
//! any bytes after it (the peer's first frames) stay there for the
//! [`Connection`](crate::Connection).
//!
//! **Server** ([`ServerHandshake`]): parse a [`HandshakeRequest`], validated per
//! §4.2.1 (the `http` feature builds the same request from `http` types, for
//! HTTP/1.1 and for RFC 8441 over HTTP/2, and the same rules apply); look at
//! it ([`check_origin`](HandshakeRequest::check_origin), the query, the
//! bearer token, ...); then either [`accept`](HandshakeRequest::accept) it,
//! which gives the [`ResponseHead`] to send (`101 Switching Protocols`,
//! §4.2.2) and the negotiated extensions, or refuse it with a [`Refusal`]
//! (status, fields and body). A parse error converts into its refusal
//! ([`HandshakeError::refusal`]); [`Refusal::to_bytes`] is the answer to send
//! before closing.
//!
//! **Client** ([`ClientRequest`]): build the request from a `ws://` or `wss://`
//! URL (§4.1); [`build`](ClientRequest::build) gives its bytes and a
//! [`ClientHandshake`] that parses and checks the server's
//! [`HandshakeResponse`], or keeps a refusal's status, fields and the start
//! of its body ([`HandshakeError::Refused`], bounded by
//! [`Config::max_refusal_body`](crate::Config::max_refusal_body)).
//!
//! **Refusals.** A [`Refusal`] is a status with fields and a body
//! (`Refusal::new(401).json(...)`, `.text(...)`); every adapter writes the
//! same answer for it (status, fields, `Content-Length`, body), then keeps
//! reading for a moment ([`REFUSAL_LINGER`]) so that closing does not reset
//! the connection before the client read the answer. A client keeps what a
//! server refused with ([`RefusedResponse`]: status, fields, the start of
//! the body); a gateway passes it on to its own client as a [`Refusal`]
//! ([`RefusedResponse::to_refusal`]).
//!
//! **Time.** Both handshakes own their deadline,
//! [`Config::handshake_timeout`](crate::Config::handshake_timeout) (10 s),
//! in the shape of the connection's: the driver tells the time with
//! `handle_timeout(now)` (the first call starts the clock, so a client
//! starts it before connecting, and connecting and TLS count), sleeps
//! until `poll_timeout()` and gives up once `is_expired()`
//! ([`ServerHandshake::handle_timeout`], [`ClientHandshake::handle_timeout`]).
//! After writing a refusal, a server calls
//! [`ServerHandshake::start_linger`] and reads, discarding, while
//! [`ServerHandshake::keep_lingering`] says so.
//!
//! The `http` feature adds the same handshake in terms of the `http`
//! crate's `Request` and `Response` (`rfc6455::http`), for HTTP/1.1 and for
//! RFC 8441 extended CONNECT over HTTP/2.
//!
//! ```
//! use bytes::BytesMut;
//! use rfc6455::Config;
//! use rfc6455::handshake::{Accept, ClientRequest, ServerHandshake};
//!
//! let config = Config::default();
//! let (request, mut client) = ClientRequest::new("ws://example.com/chat")?
//!     .protocol("chat")
//!     .build(&config)?;
//!
//! let mut server = ServerHandshake::new(&config);
//! let mut inbound = BytesMut::from(&request[..]);
//! let req = server.parse(&mut inbound)?.expect("complete request");
//! assert_eq!(req.path(), "/chat");
//! let accepted = req.accept(Accept::new().protocol("chat"))?;
//!
//! let mut outbound = BytesMut::from(&accepted.response.to_bytes()[..]);
//! let response = client.parse(&mut outbound)?.expect("complete response");
//! assert_eq!(response.protocol.as_deref(), Some("chat"));
//! # Ok::<(), rfc6455::handshake::HandshakeError>(())
//! ```

mod client;
mod error;
pub(crate) mod head;
mod headers;
mod refusal;
mod refused;
mod request;
mod server;
mod status;
mod time;
mod url;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use sha1::{Digest, Sha1};

pub use client::{ClientHandshake, ClientRequest, HandshakeResponse};
pub use error::{HandshakeError, Linger, REFUSAL_LINGER, UrlError};
pub use head::ResponseHead;
pub use headers::Headers;
pub use refusal::Refusal;
pub use refused::RefusedResponse;

#[cfg(any(feature = "hyper", feature = "h2"))]
pub(crate) use refused::BodyCollector;
pub use request::{Accept, Accepted, HandshakeRequest};
pub use server::ServerHandshake;

pub(crate) use headers::{is_tchar, is_token};
#[cfg(test)]
pub(crate) use url::split_target;

/// The GUID appended to the key before hashing (RFC 6455 §1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A `Sec-WebSocket-Accept` value: base64 of a SHA-1 digest, always 28 ASCII
/// characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AcceptKey([u8; 28]);

impl AcceptKey {
    /// The value as text.
    pub fn as_str(&self) -> &str {
        // Base64 output is ASCII.
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The value as bytes.
    pub fn as_bytes(&self) -> &[u8; 28] {
        &self.0
    }
}

impl fmt::Display for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<str> for AcceptKey {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for AcceptKey {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The `Sec-WebSocket-Accept` value answering `key`, the
/// `Sec-WebSocket-Key` as sent (its base64 text, not decoded): base64 of the
/// SHA-1 of the key followed by the RFC's GUID (RFC 6455 §1.3, §4.2.2).
///
/// ```
/// let accept = rfc6455::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> AcceptKey {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID);
    let digest = sha.finalize();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 characters.
    let n = STANDARD.encode_slice(digest, &mut out).unwrap_or(0);
    debug_assert_eq!(n, 28);
    AcceptKey(out)
}

/// Whether `key` is a valid `Sec-WebSocket-Key`: base64 of exactly 16 bytes
/// (§4.2.1 item 5).
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    let mut decoded = [0u8; 18];
    key.len() == 24 && matches!(STANDARD.decode_slice(key, &mut decoded), Ok(16))
}

/// The base64 text of a 16-byte nonce.
pub(crate) fn encode_key(nonce: &[u8; 16]) -> [u8; 24] {
    let mut out = [0u8; 24];
    let n = STANDARD.encode_slice(nonce, &mut out).unwrap_or(0);
    debug_assert_eq!(n, 24);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_vector() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            alloc::format!("{:?}", accept_key(b"x")).len(),
            30,
            "quoted 28 chars"
        );
    }

    #[test]
    fn key_validity() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_valid_key(&encode_key(&[0xff; 16])));
        // 15 and 17 bytes, bad alphabet, missing padding, non-canonical tail.
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXgx"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=!"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZR=="));
        assert!(!is_valid_key(b""));
        assert_eq!(
            &encode_key(b"the sample nonce"),
            b"dGhlIHNhbXBsZSBub25jZQ=="
        );
    }
}
