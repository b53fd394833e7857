//! Reconnecting clients: how a connection ended ([`Disconnect`]), whether
//! that is worth another try, and how long to wait first ([`Backoff`]:
//! exponential, with jitter so that many clients dropped together do not
//! come back together). The adapters' `Reconnect` types
//! ([`tokio::Reconnect`](crate::tokio::Reconnect),
//! [`blocking::Reconnect`](crate::blocking::Reconnect)) only connect and
//! sleep; the decisions are here, the same for both.

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use crate::proto::handshake::HandshakeError;
use crate::{CloseCode, CloseFrame, Connection, Error, StreamError};

/// Waiting between attempts: `initial`, then multiplied by `factor` after
/// each failed attempt up to `max`, each wait shortened by a random part of
/// up to `jitter` (0 to 1) of itself.
///
/// ```
/// use std::time::Duration;
/// let backoff = rfc6455::Backoff::default();
/// assert_eq!(backoff.initial, Duration::from_secs(1));
/// // Without jitter: 1 s, 2 s, 4 s, ... up to 60 s.
/// let exact = backoff.jitter(0.0);
/// assert_eq!(exact.delay(3, 0.5), Duration::from_secs(8));
/// assert_eq!(exact.delay(30, 0.5), Duration::from_secs(60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct Backoff {
    /// The first wait. Default 1 s.
    pub initial: Duration,
    /// Growth per failed attempt. Default 2.
    pub factor: f64,
    /// The longest wait. Default 60 s.
    pub max: Duration,
    /// The largest part of a wait taken off at random, from 0 (none) to 1.
    /// Default 0.5: a wait of `d` lasts between `d / 2` and `d`.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(60),
            jitter: 0.5,
        }
    }
}

impl Backoff {
    /// Sets [`initial`](Self#structfield.initial).
    #[must_use]
    pub fn initial(mut self, initial: Duration) -> Self {
        self.initial = initial;
        self
    }

    /// Sets [`factor`](Self#structfield.factor).
    #[must_use]
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Sets [`max`](Self#structfield.max).
    #[must_use]
    pub fn max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// Sets [`jitter`](Self#structfield.jitter) (clamped to 0..=1).
    #[must_use]
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.clamp(0.0, 1.0);
        self
    }

    /// The wait before attempt `attempt` (0 for the first retry), for a
    /// random draw `unit` in `0..1`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let grown = self.initial.as_secs_f64() * self.factor.max(1.0).powi(attempt.min(64) as i32);
        let capped = grown.min(self.max.as_secs_f64()).max(0.0);
        let jitter = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        Duration::try_from_secs_f64(capped * (1.0 - jitter)).unwrap_or(self.max)
    }
}

/// How a connection ended, or why connecting failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum Disconnect {
    /// The peer closed the connection with this close frame (`None`:
    /// without a status code).
    Closed(Option<CloseFrame>),
    /// The connection failed: a protocol violation, a keepalive or idle
    /// timeout, or the transport lost before the close handshake (1006).
    Failed(Error),
    /// The application ended the session while the connection was still
    /// open (for instance when its own heartbeat went unanswered).
    Abandoned,
    /// Connecting failed: the server was unreachable, TLS failed, the
    /// handshake timed out or was refused.
    Connect(StreamError),
}

impl Disconnect {
    /// How the connection `conn` ended.
    pub fn of(conn: &Connection) -> Disconnect {
        if let Some(e) = conn.failure() {
            return Disconnect::Failed(e.clone());
        }
        match conn.peer_close() {
            Some(frame) => Disconnect::Closed(frame.cloned()),
            None => Disconnect::Abandoned,
        }
    }

    /// The close code that describes it: the peer's, or the failure's
    /// (1006 for a lost transport); `None` when connecting failed.
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Disconnect::Closed(frame) => {
                Some(frame.as_ref().map_or(CloseCode::NO_STATUS, |f| f.code))
            }
            Disconnect::Failed(e) => e.close_code(),
            Disconnect::Abandoned | Disconnect::Connect(_) => None,
        }
    }

    /// The default answer to "try again?": yes after a network failure,
    /// a timeout, a lost transport (1006), the server going away or
    /// restarting (1001, 1011-1014), a handshake refused with 5xx or 429,
    /// and when the application abandoned the session; no after a normal
    /// close (1000), a protocol or policy error (1002, 1003, 1007-1010), an
    /// application's code (3000-4999) and any other refusal (401, 403, ...).
    pub fn is_retryable(&self) -> bool {
        match self {
            Disconnect::Closed(_) | Disconnect::Failed(_) => matches!(
                self.close_code().map(CloseCode::as_u16),
                Some(1001 | 1005 | 1006 | 1011 | 1012 | 1013 | 1014)
            ),
            Disconnect::Abandoned => true,
            Disconnect::Connect(e) => match e.handshake() {
                // The connection ended before a whole response: as a lost
                // transport.
                Some(HandshakeError::ResponseIncomplete) => true,
                Some(h) => refused_status(h).is_some_and(|s| s == 429 || s >= 500),
                None => !matches!(e, StreamError::TlsUnsupported),
            },
        }
    }
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::Closed(Some(frame)) => write!(
                f,
                "closed by the peer with {} {:?}",
                frame.code.as_u16(),
                frame.reason.as_str()
            ),
            Disconnect::Closed(None) => f.write_str("closed by the peer"),
            Disconnect::Failed(e) => write!(f, "failed: {e}"),
            Disconnect::Abandoned => f.write_str("abandoned by the application"),
            Disconnect::Connect(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Disconnect {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Disconnect::Failed(e) => Some(e),
            Disconnect::Connect(e) => Some(e),
            Disconnect::Closed(_) | Disconnect::Abandoned => None,
        }
    }
}

/// The status a server refused the handshake with, if it did.
fn refused_status(e: &HandshakeError) -> Option<u16> {
    e.refused().map(|r| r.status)
}

/// Which disconnections end the reconnecting for good.
pub(crate) type GiveUp = Arc<dyn Fn(&Disconnect) -> bool + Send + Sync>;

/// Told of each retry: why, and how long until it.
pub(crate) type OnRetry = Arc<dyn Fn(&Disconnect, Duration) + Send + Sync>;

/// The shared state of a reconnecting client: attempts, jitter, decisions.
pub(crate) struct Policy {
    pub(crate) backoff: Backoff,
    give_up: Option<GiveUp>,
    on_retry: Option<OnRetry>,
    attempt: u32,
    rng: ChaCha12Rng,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("backoff", &self.backoff)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl Policy {
    pub(crate) fn new(seed: Option<[u8; 32]>) -> Self {
        // With `std` (this module's feature) the OS always gives a seed.
        let seed = seed.or_else(crate::proto::rng::os_seed).unwrap_or_default();
        Policy {
            backoff: Backoff::default(),
            give_up: None,
            on_retry: None,
            attempt: 0,
            rng: ChaCha12Rng::from_seed(seed),
        }
    }

    pub(crate) fn give_up_when(&mut self, f: GiveUp) {
        self.give_up = Some(f);
    }

    pub(crate) fn on_retry(&mut self, f: OnRetry) {
        self.on_retry = Some(f);
    }

    /// The wait before retrying after `d`, or `d` back if it is final.
    pub(crate) fn retry_after(&mut self, d: Disconnect) -> Result<Duration, Disconnect> {
        if !self.retry(&d) {
            return Err(d);
        }
        let delay = self.next_delay();
        if let Some(on_retry) = &self.on_retry {
            on_retry(&d, delay);
        }
        Ok(delay)
    }

    /// Whether to try again after `d`.
    pub(crate) fn retry(&self, d: &Disconnect) -> bool {
        match &self.give_up {
            Some(give_up) => !give_up(d),
            None => d.is_retryable(),
        }
    }

    /// The wait before the next attempt; counts it.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let unit = (self.rng.next_u32() as f64) / (u32::MAX as f64 + 1.0);
        let delay = self.backoff.delay(self.attempt, unit);
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    /// A connection was established: the next failure starts over.
    pub(crate) fn connected(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let b = Backoff::default().jitter(0.0);
        let delays: alloc::vec::Vec<u64> = (0..8).map(|n| b.delay(n, 0.9).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        let b = Backoff::default().jitter(0.5);
        assert_eq!(b.delay(2, 0.0), Duration::from_secs(4));
        assert_eq!(b.delay(2, 1.0), Duration::from_secs(2));
        // Attempts counted, reset on connection, with jitter within bounds.
        let mut p = Policy::new(Some([3; 32]));
        let first: alloc::vec::Vec<Duration> = (0..3).map(|_| p.next_delay()).collect();
        assert!(first[0] >= Duration::from_millis(500) && first[0] <= Duration::from_secs(1));
        assert!(first[2] >= Duration::from_secs(2) && first[2] <= Duration::from_secs(4));
        p.connected();
        assert!(p.next_delay() <= Duration::from_secs(1));
    }

    #[test]
    fn default_decisions() {
        let closed = |code: u16| {
            Disconnect::Closed(Some(CloseFrame {
                code: CloseCode::new(code),
                reason: "".into(),
            }))
        };
        for code in [1001, 1011, 1012, 1013] {
            assert!(closed(code).is_retryable(), "{code}");
        }
        for code in [1000, 1002, 1008, 4001, 4003, 3000] {
            assert!(!closed(code).is_retryable(), "{code}");
        }
        assert!(Disconnect::Failed(Error::AbnormalClosure).is_retryable());
        assert!(Disconnect::Failed(Error::KeepaliveTimeout).is_retryable());
        assert!(!Disconnect::Failed(Error::InvalidUtf8).is_retryable());
        assert!(Disconnect::Abandoned.is_retryable());
        let io = StreamError::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert!(Disconnect::Connect(io).is_retryable());
        let refused = |status| {
            let response =
                crate::proto::handshake::RefusedResponse::new(status, Default::default());
            Disconnect::Connect(HandshakeError::Refused(alloc::boxed::Box::new(response)).into())
        };
        assert!(refused(503).is_retryable());
        assert!(refused(429).is_retryable());
        assert!(!refused(401).is_retryable());
        // The caller's predicate decides instead.
        let mut p = Policy::new(Some([0; 32]));
        p.give_up_when(Arc::new(|d: &Disconnect| {
            d.close_code() == Some(CloseCode::new(4001))
        }));
        assert!(!p.retry(&closed(4001)));
        assert!(p.retry(&closed(1000)));
    }
}
