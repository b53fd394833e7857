//! Per-connection counters, as a monitoring dashboard reads them.

use core::time::Duration;

/// What went through a [`Connection`](crate::Connection) so far.
///
/// Messages count data messages (text and binary; a fragmented message
/// counts once, at its last frame). Bytes count the wire: frame headers and
/// payloads as they were received, and as they were handed to the transport
/// ([`advance_output`](crate::Connection::advance_output)), compressed if
/// they were.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Data messages received.
    pub messages_received: u64,
    /// Data messages sent.
    pub messages_sent: u64,
    /// Bytes received (every frame, on the wire).
    pub bytes_received: u64,
    /// Bytes handed to the transport (every frame, on the wire).
    pub bytes_sent: u64,
    /// The round trip of the latest answered keepalive ping.
    pub latency: Option<Duration>,
}

/// The counters a connection keeps (the latency is the timers').
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Counters {
    pub(super) messages_received: u64,
    pub(super) messages_sent: u64,
    pub(super) bytes_received: u64,
    pub(super) bytes_sent: u64,
}

impl Counters {
    pub(super) fn with_latency(self, latency: Option<Duration>) -> Stats {
        Stats {
            messages_received: self.messages_received,
            messages_sent: self.messages_sent,
            bytes_received: self.bytes_received,
            bytes_sent: self.bytes_sent,
            latency,
        }
    }
}
