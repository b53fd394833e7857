//! The error type of the I/O adapters: the core's [`Error`](crate::Error)
//! plus what only a transport can go wrong with.

use core::fmt;
use std::io;

use crate::proto::close::CloseCode;
use crate::proto::handshake::{HandshakeError, Refusal};

/// Why an adapter operation failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum StreamError {
    /// The opening handshake failed: the server refused (with its status,
    /// fields and body), the request or the response was invalid, or the
    /// URL (see [`HandshakeError::status`] for what a server answers).
    Handshake(HandshakeError),
    /// The connection failed: the peer violated the protocol (the close
    /// frame with [`Error::close_code`](crate::Error::close_code) was
    /// sent), a keepalive or idle timeout, the transport ended before the
    /// close handshake (1006), or the caller misused the API.
    Protocol(crate::Error),
    /// The transport failed.
    Io(io::Error),
    /// Connecting failed before any handshake began: the host did not
    /// resolve, or no address of it took the connection (refused,
    /// unreachable). Nothing reached the server, so there is no close code;
    /// the adapters' `connect` functions report it, while a transport that
    /// fails later is [`Io`](Self::Io).
    Connect(io::Error),
    /// The opening handshake did not complete in time.
    HandshakeTimeout,
    /// The connection is closed: the close handshake completed (or the
    /// transport was closed) and there is nothing more to read or send.
    Closed,
    /// The URL asks for TLS (`wss://`), which this build cannot provide.
    TlsUnsupported,
    /// The TLS handshake failed: an untrusted or expired certificate, a
    /// name mismatch, no common protocol version (the error within says
    /// which; with the `rustls` feature it wraps a `rustls::Error`).
    Tls(io::Error),
}

impl StreamError {
    /// The close code that describes the failure, if any (see
    /// [`Error::close_code`](crate::Error::close_code)); an I/O failure
    /// during the session is an abnormal closure, 1006. A connection that
    /// was never made ([`Connect`](Self::Connect)), a refused or failed
    /// handshake and a handshake timeout have none: no WebSocket existed to
    /// close.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            StreamError::Protocol(e) => e.close_code(),
            StreamError::Io(_) => Some(CloseCode::ABNORMAL),
            _ => None,
        }
    }

    /// The close code to send onward when this connection ended with this
    /// error and another one is to be closed because of it (a proxy closing
    /// the far side): never one that may not be sent (§7.4.1). The code
    /// sent to this connection's peer where it may be sent (1002, 1007,
    /// 1009, 1011, a code given to [`Connection::fail`](crate::Connection::fail), ...),
    /// 1000 after a clean end ([`Closed`](Self::Closed)), and 1014 (Bad
    /// Gateway) where this side ended abnormally (1006: the transport was
    /// lost; TLS, connecting, the handshake).
    ///
    /// A peer's close frame, as received, may be forwarded as it is: its
    /// code is one that may be sent, or absent (then send a close frame
    /// without one).
    ///
    /// ```
    /// use rfc6455::{CloseCode, Error, StreamError};
    /// let lost = StreamError::Io(std::io::ErrorKind::ConnectionReset.into());
    /// assert_eq!(lost.close_code(), Some(CloseCode::ABNORMAL));
    /// assert_eq!(lost.onward_close_code(), CloseCode::BAD_GATEWAY);
    /// let too_big = StreamError::Protocol(Error::MessageTooLarge);
    /// assert_eq!(too_big.onward_close_code(), CloseCode::MESSAGE_TOO_BIG);
    /// ```
    pub fn onward_close_code(&self) -> CloseCode {
        match (self, self.close_code()) {
            (StreamError::Closed, _) => CloseCode::NORMAL,
            (_, Some(code)) if code.is_sendable() => code,
            _ => CloseCode::BAD_GATEWAY,
        }
    }

    /// The handshake failure, if this is one.
    pub fn handshake(&self) -> Option<&HandshakeError> {
        match self {
            StreamError::Handshake(e) => Some(e),
            _ => None,
        }
    }

    /// The refusal a gateway (a reverse proxy) answers its own client with
    /// when connecting to its upstream server failed with this error:
    ///
    /// - the upstream refused
    ///   ([`HandshakeError::Refused`]): that refusal, passed on as
    ///   [`RefusedResponse::to_refusal`](crate::proto::handshake::RefusedResponse::to_refusal)
    ///   describes (status, end-to-end fields, body as received);
    /// - anything else: `502 Bad Gateway`, with no field and no body. The
    ///   upstream could not be resolved or reached
    ///   ([`Connect`](Self::Connect)), did not answer in time
    ///   ([`HandshakeTimeout`](Self::HandshakeTimeout)), failed TLS
    ///   ([`Tls`](Self::Tls), [`TlsUnsupported`](Self::TlsUnsupported)),
    ///   broke the connection ([`Io`](Self::Io)), or answered with something
    ///   that is not a valid handshake response; an invalid upstream URL
    ///   also gives 502. The error itself, for the gateway's log, is `self`.
    ///
    /// Write it with [`Refusal::to_bytes`], or return it from the decision
    /// of `rfc6455::tokio::accept_with_async` (feature `tokio`).
    pub fn gateway_refusal(&self) -> Refusal {
        match self.handshake().and_then(HandshakeError::refused) {
            Some(refused) => refused.to_refusal(),
            None => Refusal::new(502),
        }
    }
}

impl From<crate::Error> for StreamError {
    fn from(e: crate::Error) -> Self {
        StreamError::Protocol(e)
    }
}

impl From<HandshakeError> for StreamError {
    fn from(e: HandshakeError) -> Self {
        StreamError::Handshake(e)
    }
}

impl From<io::Error> for StreamError {
    fn from(e: io::Error) -> Self {
        StreamError::Io(e)
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Handshake(e) => write!(f, "handshake failed: {e}"),
            StreamError::Protocol(e) => fmt::Display::fmt(e, f),
            StreamError::Io(e) => write!(f, "transport error: {e}"),
            StreamError::Connect(e) => write!(f, "could not connect: {e}"),
            StreamError::HandshakeTimeout => f.write_str("opening handshake timed out"),
            StreamError::Closed => f.write_str("connection closed"),
            StreamError::TlsUnsupported => {
                f.write_str("wss:// needs TLS, which this build does not include")
            }
            StreamError::Tls(e) => write!(f, "TLS handshake failed: {e}"),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Handshake(e) => Some(e),
            StreamError::Protocol(e) => Some(e),
            StreamError::Io(e) | StreamError::Connect(e) | StreamError::Tls(e) => Some(e),
            _ => None,
        }
    }
}
