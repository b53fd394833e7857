//! [`broadcast`]: one [`PreparedMessage`] to many connections without
//! waiting, skipping the slow ones (their memory stays bounded).

use crate::PreparedMessage;

use super::split::Writer;
use super::try_send::TrySendError;

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
