//! Sending without waiting: [`TrySendError`], and [`broadcast`] of one
//! [`PreparedMessage`] to many connections, skipping the slow ones.

use core::fmt;

use crate::PreparedMessage;
use crate::error::Error;

use super::split::Writer;

/// Why a non-waiting send gave its message back.
#[non_exhaustive]
#[derive(Debug)]
pub enum TrySendError<T> {
    /// More than [`Config::write_buffer_size`](crate::Config::write_buffer_size)
    /// bytes are queued: the peer is not keeping up.
    Full(T),
    /// The connection is closing, closed or failed.
    Closed(T),
    /// The core refused the message (local misuse, such as an invalid
    /// close code).
    Refused(T, Error),
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(t) | TrySendError::Closed(t) | TrySendError::Refused(t, _) => t,
        }
    }

    /// The same error about another message.
    pub(crate) fn with<U>(self, message: U) -> TrySendError<U> {
        match self {
            TrySendError::Full(_) => TrySendError::Full(message),
            TrySendError::Closed(_) => TrySendError::Closed(message),
            TrySendError::Refused(_, e) => TrySendError::Refused(message, e),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the connection's output queue is full"),
            TrySendError::Closed(_) => f.write_str("the connection is closed"),
            TrySendError::Refused(_, e) => write!(f, "message refused: {e}"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for TrySendError<T> {}

/// What a [`broadcast`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Broadcast {
    /// Connections that queued the message.
    pub sent: usize,
    /// Connections skipped because their output queue was full (slow
    /// receivers: they miss this message).
    pub full: usize,
    /// Connections skipped because they are closing, closed or failed.
    pub closed: usize,
}

/// Queues `message` on every one of `writers` that can take it now, without
/// waiting: a connection over its high-water mark misses it, and its memory
/// stays bounded by that mark. On server connections every writer queues
/// the same frame bytes (no copy, no re-framing; see [`PreparedMessage`]
/// for permessage-deflate).
///
/// ```no_run
/// # async fn run(viewers: Vec<rfc6455::tokio::Writer<tokio::net::TcpStream>>, jpeg_base64: String) {
/// let frame = rfc6455::PreparedMessage::text(jpeg_base64);
/// let report = rfc6455::tokio::broadcast(&frame, &viewers);
/// if report.full > 0 {
///     // Slow viewers skipped this frame; they get the next one.
/// }
/// # }
/// ```
pub fn broadcast<'a, S>(
    message: &PreparedMessage,
    writers: impl IntoIterator<Item = &'a Writer<S>>,
) -> Broadcast
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'a,
{
    let mut report = Broadcast::default();
    for writer in writers {
        match writer.try_send_prepared(message) {
            Ok(()) => report.sent += 1,
            Err(TrySendError::Full(())) => report.full += 1,
            Err(_) => report.closed += 1,
        }
    }
    report
}
