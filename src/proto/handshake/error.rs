//! Why an opening handshake failed, and the HTTP answer a server gives.
//!
//! Server-side errors (found while reading a client's request, RFC 6455
//! §4.2.1) map to the status code of the response that tells the client why
//! (§4.2.2, §4.4); [`HandshakeError::refusal`] builds that response.
//! Client-side errors (found while reading a server's response, §4.1) and
//! local misuse have no status: the client simply closes the connection. A
//! server's refusal reaches the client as [`HandshakeError::Refused`], with
//! its status, fields and the start of its body.

use alloc::boxed::Box;
use core::fmt;

use super::refused::RefusedResponse;

/// What was wrong with a WebSocket URL given to
/// [`ClientRequest::new`](crate::proto::handshake::ClientRequest::new) (RFC 6455 §3),
/// or with the `Host` header of a request.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlError {
    /// The scheme is not `ws`, `wss`, `http` or `https`, or `://` is missing.
    Scheme,
    /// There is no host.
    MissingHost,
    /// The host has a character outside RFC 3986 `reg-name`, or an IPv6
    /// literal is malformed.
    InvalidHost,
    /// The port is not a number in `1..=65535`.
    InvalidPort,
    /// The URL carries `user:password@`; send credentials in a header instead.
    Userinfo,
    /// The URL has a `#fragment`, which RFC 6455 §3 forbids.
    Fragment,
    /// The path or query has a character that must be percent-encoded
    /// (space, control, or non-ASCII).
    InvalidCharacter,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlError::Scheme => "scheme is not ws, wss, http or https",
            UrlError::MissingHost => "host is missing",
            UrlError::InvalidHost => "host is invalid",
            UrlError::InvalidPort => "port is invalid",
            UrlError::Userinfo => "credentials in the URL are not supported",
            UrlError::Fragment => "fragment identifiers are not allowed",
            UrlError::InvalidCharacter => "path or query contains a character to percent-encode",
        })
    }
}

/// Why an opening handshake (RFC 6455 §4) failed.
///
/// The first group is found by a server reading a request; each maps through
/// [`status`](Self::status) to the HTTP status answered. The second group is
/// found by a client reading a response or building a request, and the third
/// is local misuse of the API; neither has a status.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    // ----- found by a server (status code given) -----
    /// The request is not valid HTTP/1.1 (bad request line or header
    /// syntax). 400.
    MalformedRequest,
    /// The header block grew past
    /// [`Config::max_handshake_size`](crate::Config::max_handshake_size). 431.
    RequestTooLarge,
    /// The request has more header fields than
    /// [`Config::max_headers`](crate::Config::max_headers). 431.
    TooManyHeaders,
    /// The method is not `GET` (§4.2.1 item 1). 405, with `Allow: GET`.
    MethodNotAllowed,
    /// The request is not HTTP/1.1 (§4.2.1 item 1). Answered with
    /// 505 HTTP Version Not Supported, the status HTTP defines for exactly
    /// this (RFC 9110 §15.6.6).
    UnsupportedHttpVersion,
    /// `Host` is missing, repeated, or not a valid `host[:port]`
    /// (§4.2.1 item 2). 400.
    InvalidHost,
    /// No `Upgrade` header lists the `websocket` token (§4.2.1 item 3). 400.
    MissingUpgrade,
    /// No `Connection` header lists the `upgrade` token (§4.2.1 item 4). 400.
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Key` is missing, repeated, or not the base64 encoding of
    /// exactly 16 bytes (§4.2.1 item 5). 400.
    InvalidKey,
    /// `Sec-WebSocket-Version` is missing or not `13` (§4.2.1 item 6, §4.4).
    /// 426, with `Sec-WebSocket-Version: 13`.
    UnsupportedVersion,
    /// The request announces a body (`Content-Length` other than 0, or
    /// `Transfer-Encoding`), whose bytes would be mistaken for frames. 400.
    UnexpectedBody,
    /// The named header does not follow its grammar (e.g.
    /// `Sec-WebSocket-Protocol` with a non-token, or `Sec-WebSocket-Extensions`
    /// outside the §9.1 grammar). 400.
    InvalidHeader(&'static str),
    /// The `Origin` is not allowed (§4.2.2 item 4, §10.2). 403.
    OriginRefused,
    /// The application refused the request with a [`Refusal`](super::Refusal) of this
    /// status (§4.2.2) made by [`Refusal::new`](super::Refusal::new).
    Rejected(u16),

    // ----- found by a client (no status) -----
    /// The URL given to the client is invalid.
    InvalidUrl(UrlError),
    /// The server refused: it answered with a status other than 101 (§4.1;
    /// outside 2xx for an extended CONNECT, RFC 8441 §5). The response
    /// carries the status, the fields and the start of the body, up to
    /// [`Config::max_refusal_body`](crate::Config::max_refusal_body).
    Refused(Box<RefusedResponse>),
    /// The connection ended before the response head was complete.
    ResponseIncomplete,
    /// The response is not valid HTTP/1.1.
    MalformedResponse,
    /// The response header block exceeds the size or header-count limit.
    ResponseTooLarge,
    /// The response lacks `Upgrade: websocket` (§4.1).
    ResponseMissingUpgrade,
    /// The response lacks `Connection: upgrade` (§4.1).
    ResponseMissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing or does not match the key sent (§4.1).
    AcceptKeyMismatch,
    /// The server chose a subprotocol the client did not offer, or more than
    /// one (§4.1).
    UnofferedProtocol,
    /// The server answered with an extension the client did not offer, or
    /// with parameters the client cannot accept (§4.1, §9.1).
    UnofferedExtension,
    /// The named response header does not follow its grammar.
    InvalidResponseHeader(&'static str),

    // ----- local misuse (no status) -----
    /// A header name or value given to a builder is invalid (not a token, or
    /// containing CR, LF or another control character), or names a header the
    /// handshake sets itself; or a subprotocol given is not a token.
    InvalidHeaderToSend,
    /// The server chose a subprotocol the client did not offer.
    ProtocolNotOffered,
    /// No random source for the handshake nonce: a build without `std` and
    /// no [`Config::random_seed`](crate::Config::random_seed).
    NoRandomSource,
}

impl HandshakeError {
    /// The HTTP status a server answers with for this error, or `None` for
    /// client-side errors and local misuse.
    ///
    /// A [`Rejected`](Self::Rejected) status outside `300..=599` is answered
    /// as 500, since it would otherwise not tell the client it was refused.
    /// [`Refused`](Self::Refused) is the client's view of a server's
    /// refusal, so it has no status of its own to answer with.
    pub fn status(&self) -> Option<u16> {
        use HandshakeError::*;
        Some(match self {
            MalformedRequest
            | InvalidHost
            | MissingUpgrade
            | MissingConnectionUpgrade
            | InvalidKey
            | UnexpectedBody
            | InvalidHeader(_) => 400,
            RequestTooLarge | TooManyHeaders => 431,
            MethodNotAllowed => 405,
            UnsupportedHttpVersion => 505,
            UnsupportedVersion => 426,
            OriginRefused => 403,
            Rejected(code) if (300..=599).contains(code) => *code,
            Rejected(_) => 500,
            InvalidUrl(_)
            | Refused(_)
            | ResponseIncomplete
            | MalformedResponse
            | ResponseTooLarge
            | ResponseMissingUpgrade
            | ResponseMissingConnectionUpgrade
            | AcceptKeyMismatch
            | UnofferedProtocol
            | UnofferedExtension
            | InvalidResponseHeader(_)
            | InvalidHeaderToSend
            | ProtocolNotOffered
            | NoRandomSource => return None,
        })
    }

    /// The server's refusal this client-side error reports, if it is one.
    pub fn refused(&self) -> Option<&RefusedResponse> {
        match self {
            HandshakeError::Refused(r) => Some(r),
            _ => None,
        }
    }
}

/// How a server closes the connection after writing a refusal: it reads
/// and discards what the client still sends, up to `bytes` and for at most
/// `time`, so that closing with unread bytes does not reset the connection
/// before the client read the answer (RFC 9112 §9.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Linger {
    /// Most bytes discarded.
    pub bytes: usize,
    /// Longest wait.
    pub time: core::time::Duration,
}

/// The linger every adapter applies after a refusal: 64 KiB, 500 ms.
pub const REFUSAL_LINGER: Linger = Linger {
    bytes: 64 << 10,
    time: core::time::Duration::from_millis(500),
};

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HandshakeError::*;
        match self {
            MalformedRequest => f.write_str("malformed HTTP request"),
            RequestTooLarge => f.write_str("request header block exceeds the size limit"),
            TooManyHeaders => f.write_str("request has too many header fields"),
            MethodNotAllowed => f.write_str("request method is not GET"),
            UnsupportedHttpVersion => f.write_str("request is not HTTP/1.1"),
            InvalidHost => f.write_str("Host header is missing or invalid"),
            MissingUpgrade => f.write_str("request lacks `Upgrade: websocket`"),
            MissingConnectionUpgrade => f.write_str("request lacks `Connection: upgrade`"),
            InvalidKey => f.write_str("Sec-WebSocket-Key is missing or invalid"),
            UnsupportedVersion => f.write_str("Sec-WebSocket-Version is missing or not 13"),
            UnexpectedBody => f.write_str("handshake request announces a body"),
            InvalidHeader(name) => write!(f, "request header {name} is invalid"),
            OriginRefused => f.write_str("origin is not allowed"),
            Rejected(code) => write!(f, "request rejected with status {code}"),
            InvalidUrl(e) => write!(f, "invalid WebSocket URL: {e}"),
            Refused(r) => write!(f, "server refused the handshake with status {}", r.status),
            ResponseIncomplete => f.write_str("connection ended before the response was complete"),
            MalformedResponse => f.write_str("malformed HTTP response"),
            ResponseTooLarge => f.write_str("response header block exceeds the limits"),
            ResponseMissingUpgrade => f.write_str("response lacks `Upgrade: websocket`"),
            ResponseMissingConnectionUpgrade => f.write_str("response lacks `Connection: upgrade`"),
            AcceptKeyMismatch => f.write_str("Sec-WebSocket-Accept is missing or wrong"),
            UnofferedProtocol => f.write_str("server chose a subprotocol that was not offered"),
            UnofferedExtension => f.write_str("server chose an extension that was not offered"),
            InvalidResponseHeader(name) => write!(f, "response header {name} is invalid"),
            InvalidHeaderToSend => f.write_str("header or subprotocol to send is invalid"),
            ProtocolNotOffered => f.write_str("chosen subprotocol was not offered by the client"),
            NoRandomSource => f.write_str("no random source for the handshake nonce"),
        }
    }
}

impl core::error::Error for HandshakeError {}

impl From<UrlError> for HandshakeError {
    fn from(e: UrlError) -> Self {
        HandshakeError::InvalidUrl(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        use HandshakeError::*;
        for (e, s) in [
            (MalformedRequest, 400),
            (RequestTooLarge, 431),
            (TooManyHeaders, 431),
            (MethodNotAllowed, 405),
            (UnsupportedHttpVersion, 505),
            (InvalidHost, 400),
            (MissingUpgrade, 400),
            (MissingConnectionUpgrade, 400),
            (InvalidKey, 400),
            (UnsupportedVersion, 426),
            (UnexpectedBody, 400),
            (InvalidHeader("Sec-WebSocket-Protocol"), 400),
            (OriginRefused, 403),
            (Rejected(404), 404),
            (Rejected(101), 500),
            (Rejected(200), 500),
            (Rejected(1000), 500),
        ] {
            assert_eq!(e.status(), Some(s), "{e:?}");
        }
        let refused = Refused(Box::new(RefusedResponse::new(403, Default::default())));
        assert_eq!(refused.refused().map(|r| r.status), Some(403));
        for e in [
            refused,
            ResponseIncomplete,
            MalformedResponse,
            ResponseTooLarge,
            AcceptKeyMismatch,
            UnofferedProtocol,
            UnofferedExtension,
            InvalidUrl(UrlError::Scheme),
            InvalidHeaderToSend,
            ProtocolNotOffered,
        ] {
            assert_eq!(e.status(), None);
            assert_eq!(e.refusal().status(), 500);
        }
    }

    #[test]
    fn display_is_nonempty() {
        let s = alloc::string::ToString::to_string(&HandshakeError::InvalidHeader("X"));
        assert_eq!(s, "request header X is invalid");
    }
}
