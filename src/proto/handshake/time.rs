//! The opening handshake's time: one deadline,
//! [`Config::handshake_timeout`](crate::Config::handshake_timeout) from the
//! moment the handshake starts, for everything before the connection (a
//! client's connecting and TLS included), and on a server after a refusal
//! the linger ([`REFUSAL_LINGER`](super::REFUSAL_LINGER): the client reads
//! the answer before the transport closes, RFC 9112 §9.6).
//!
//! The shape is the connection's: the adapter tells the time with
//! `handle_timeout(now)` (the first call starts the clock) and sleeps until
//! `poll_timeout()`; [`ServerHandshake`](super::ServerHandshake) and
//! [`ClientHandshake`](super::ClientHandshake) both carry one.

use core::time::Duration;

use super::error::REFUSAL_LINGER;
use crate::proto::connection::Timestamp;

/// Where a handshake stands in time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HandshakeTime {
    limit: Option<Duration>,
    /// When the handshake started (the first `handle_timeout`).
    start: Option<Timestamp>,
    /// The latest time passed in.
    now: Timestamp,
    /// After a refusal: until when, and how many more bytes, to read and
    /// discard before closing.
    linger: Option<(Timestamp, usize)>,
}

impl HandshakeTime {
    pub(crate) fn new(limit: Option<Duration>) -> Self {
        HandshakeTime {
            limit,
            start: None,
            now: Timestamp::ZERO,
            linger: None,
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Timestamp) {
        self.now = self.now.max(now);
        self.start.get_or_insert(now);
    }

    pub(crate) fn poll_timeout(&self) -> Option<Timestamp> {
        let Some(start) = self.start else {
            // Not started: tell me the time.
            return Some(Timestamp::ZERO);
        };
        let deadline = self.limit.map(|limit| start + limit);
        match (deadline, self.linger) {
            (Some(d), Some((until, _))) => Some(d.min(until)),
            (d, linger) => d.or(linger.map(|(until, _)| until)),
        }
    }

    pub(crate) fn expired(&self) -> bool {
        self.start.is_some() && self.poll_timeout().is_some_and(|d| d <= self.now)
    }

    pub(crate) fn start_linger(&mut self) {
        self.linger = Some((self.now + REFUSAL_LINGER.time, REFUSAL_LINGER.bytes));
    }

    pub(crate) fn lingered(&mut self, discarded: usize) -> bool {
        match &mut self.linger {
            Some((_, left)) => {
                *left = left.saturating_sub(discarded);
                *left > 0 && discarded > 0 && !self.expired()
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from(Duration::from_millis(ms))
    }

    #[test]
    fn the_deadline_counts_from_the_first_time_told() {
        let mut t = HandshakeTime::new(Some(Duration::from_secs(10)));
        assert_eq!(t.poll_timeout(), Some(Timestamp::ZERO), "tell me the time");
        assert!(!t.expired());
        t.handle_timeout(at(5_000));
        assert_eq!(t.poll_timeout(), Some(at(15_000)));
        t.handle_timeout(at(14_999));
        assert!(!t.expired());
        t.handle_timeout(at(15_000));
        assert!(t.expired());
        // No limit: no deadline once started.
        let mut t = HandshakeTime::new(None);
        t.handle_timeout(at(1));
        assert_eq!(t.poll_timeout(), None);
    }

    #[test]
    fn the_linger_is_bounded_by_time_bytes_and_the_deadline() {
        let mut t = HandshakeTime::new(Some(Duration::from_secs(10)));
        t.handle_timeout(at(0));
        t.handle_timeout(at(1_000));
        t.start_linger();
        assert_eq!(t.poll_timeout(), Some(at(1_500)));
        assert!(t.lingered(1000));
        assert!(
            !t.lingered(REFUSAL_LINGER.bytes),
            "the byte budget is spent"
        );
        let mut t = HandshakeTime::new(Some(Duration::from_secs(10)));
        t.handle_timeout(at(0));
        t.handle_timeout(at(9_800));
        t.start_linger();
        assert_eq!(
            t.poll_timeout(),
            Some(at(10_000)),
            "the deadline comes first"
        );
        assert!(!t.lingered(0), "the end of the stream ends it");
    }
}
