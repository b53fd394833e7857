//! Time: the keepalive, idle and close deadlines (RFC 6455 §5.5.2, §7.1.1,
//! §7.1.7), computed by the core from the instants an adapter passes in.
//!
//! The core never reads a clock. An adapter tells it the time with
//! [`Connection::handle_timeout`] and asks for the next deadline with
//! [`Connection::poll_timeout`], the shape of quinn-proto's timers. Events
//! that need a time (bytes arriving, a pong, the connection starting to
//! close) are stamped with the time of the next `handle_timeout`, which an
//! adapter calls right after feeding what it read: so a deadline is never
//! judged against bytes that arrived but were not yet fed.
//!
//! - **Keepalive** is a rule about silence: once nothing has arrived for
//!   [`Keepalive::interval`](crate::Keepalive::interval), a ping is queued;
//!   if nothing arrives within [`Keepalive::timeout`](crate::Keepalive::timeout)
//!   of it going out (its pong, or any other bytes: the pong may wait
//!   behind a message the peer is sending), the connection fails with
//!   1011. A ping queued behind output the transport is still taking (a
//!   large message on a slow link) has not gone out: its wait starts when
//!   it is written, and until then counts only while the transport takes
//!   nothing (a dead peer's transport stops taking output: the connection
//!   fails `timeout` after the last write).
//! - **Idle**: nothing arrived for [`Config::idle_timeout`]: failure with 1001.
//! - **Close**: once the connection stops being open, the transport must be
//!   closed within [`Config::close_timeout`], however much output is stuck
//!   behind a peer that stopped reading; past it the output is dropped and
//!   [`Connection::should_close_transport`] says so.
//!
//! [`Config::idle_timeout`]: crate::Config::idle_timeout
//! [`Config::close_timeout`]: crate::Config::close_timeout

use core::ops::{Add, Sub};
use core::time::Duration;

use bytes::Bytes;

use super::{Connection, State};
use crate::proto::error::Error;
use crate::proto::frame::OpCode;

/// A point in time as an adapter measures it: the time elapsed since an
/// origin of the adapter's choosing (the start of the process, of the
/// connection, a tick counter's zero). Only differences matter, so any
/// monotonic clock works, with or without `std`.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::Timestamp;
/// let t = Timestamp::from(Duration::from_millis(1500));
/// assert_eq!(t + Duration::from_millis(500), Timestamp::from(Duration::from_secs(2)));
/// assert_eq!(t - Timestamp::ZERO, Duration::from_millis(1500));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The origin.
    pub const ZERO: Timestamp = Timestamp(0);

    /// `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Timestamp(nanos)
    }

    /// The time since the origin, in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time since the origin.
    pub const fn as_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// How long after `earlier` this is; zero if it is not later.
    pub const fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl From<Duration> for Timestamp {
    /// The instant `elapsed` after the origin (saturating after 584 years).
    fn from(elapsed: Duration) -> Self {
        Timestamp(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturating: a deadline too far away to represent is "never".
    fn add(self, d: Duration) -> Timestamp {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(nanos))
    }
}

impl Sub for Timestamp {
    type Output = Duration;

    /// As [`saturating_duration_since`](Timestamp::saturating_duration_since).
    fn sub(self, earlier: Timestamp) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// Where the keepalive ping stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Ping {
    /// No keepalive ping is out.
    #[default]
    None,
    /// A keepalive ping with this payload is queued, its last byte at
    /// output position `end`, behind output not written yet; `since` is
    /// when it was queued or, later, when the transport last took output.
    Queued {
        since: Timestamp,
        payload: u32,
        end: u64,
    },
    /// A keepalive ping with this payload went out at `sent`.
    Waiting { sent: Timestamp, payload: u32 },
    /// Its pong arrived; the round trip is measured at the next tick.
    Answered { sent: Timestamp },
}

/// When the close deadline started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Closing {
    /// The connection is open.
    #[default]
    No,
    /// It stopped being open; the next tick stamps when.
    Pending,
    /// It stopped being open at this time.
    Since(Timestamp),
}

/// The connection's view of time.
#[derive(Debug)]
pub(super) struct Timers {
    /// The latest time the adapter passed in.
    now: Timestamp,
    /// Something arrived since the last tick (initially: the connection
    /// started), to be stamped into `last_heard` by the next one.
    heard: bool,
    last_heard: Timestamp,
    /// The transport took output since the last tick.
    wrote: bool,
    ping: Ping,
    next_payload: u32,
    latency: Option<Duration>,
    closing: Closing,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            now: Timestamp::ZERO,
            heard: true,
            last_heard: Timestamp::ZERO,
            wrote: false,
            ping: Ping::None,
            next_payload: 0,
            latency: None,
            closing: Closing::No,
        }
    }
}

impl Timers {
    /// Notes that bytes arrived.
    #[inline]
    pub(super) fn heard(&mut self) {
        self.heard = true;
    }

    /// Notes that the transport took output.
    #[inline]
    pub(super) fn wrote(&mut self) {
        self.wrote = true;
    }

    /// Notes that the connection stopped being open.
    pub(super) fn closing(&mut self) {
        if self.closing == Closing::No {
            self.closing = Closing::Pending;
        }
    }

    /// Notes a pong: any pong ends the wait for the keepalive's, and the
    /// keepalive's own gives the round trip.
    pub(super) fn pong(&mut self, payload: &[u8]) {
        // A queued ping answered went out (the tick that would have seen
        // it written has not come yet).
        if let Ping::Waiting {
            sent,
            payload: ours,
        }
        | Ping::Queued {
            since: sent,
            payload: ours,
            ..
        } = self.ping
        {
            self.ping = if payload == ours.to_be_bytes() {
                Ping::Answered { sent }
            } else {
                Ping::None
            };
        }
    }
}

impl Connection {
    /// The earliest time at which [`handle_timeout`](Self::handle_timeout)
    /// must be called, or `None` if the connection needs no wake-up.
    ///
    /// A deadline at or before the current time (for instance
    /// [`Timestamp::ZERO`] before the first `handle_timeout`) means "call
    /// `handle_timeout` now": the connection needs to learn the time of
    /// something that happened (bytes arrived, closing started). An open
    /// connection without keepalive or idle timeout has no deadline; a
    /// closing or failed one always has one until
    /// [`should_close_transport`](Self::should_close_transport) is true.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let t = &self.timers;
        if self.state == State::Open {
            let keepalive = self.config.keepalive;
            let idle = self.config.idle_timeout;
            if keepalive.is_none() && idle.is_none() {
                return None;
            }
            let queued = matches!(t.ping, Ping::Queued { .. });
            if t.heard || matches!(t.ping, Ping::Answered { .. }) || (t.wrote && queued) {
                return Some(t.now);
            }
            let ping = keepalive.map(|k| match t.ping {
                // Anything the peer sends while the ping waits proves it
                // alive too (its pong may be queued behind a message).
                Ping::Waiting { sent: since, .. } | Ping::Queued { since, .. } => {
                    since.max(t.last_heard) + k.timeout
                }
                _ => t.last_heard + k.interval,
            });
            let idle = idle.map(|d| t.last_heard + d);
            return match (ping, idle) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        if self.should_close_transport() {
            return None;
        }
        match t.closing {
            Closing::Since(since) => Some(since + self.config.close_timeout),
            Closing::No | Closing::Pending => Some(t.now),
        }
    }

    /// Tells the connection that the time is `now` and acts on the
    /// deadlines at or before it: sends a keepalive ping, fails the
    /// connection (keepalive 1011, idle 1001: the close frame is queued and
    /// [`receive`](Self::receive) returns the error), or, past the close
    /// deadline, drops the output still queued so that
    /// [`should_close_transport`](Self::should_close_transport) is true.
    ///
    /// Call it after feeding the bytes of each read, and whenever the
    /// deadline of [`poll_timeout`](Self::poll_timeout) has passed; then
    /// write the output and ask `poll_timeout` again. Acting on a deadline
    /// can make the next one due at once (with zero timeouts: the keepalive
    /// ping, then its failure, then the end of closing); `poll_timeout` then
    /// reports it as due, and the driver's loop calls again. Times earlier than one
    /// already passed in are taken as that one (time never runs backwards).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let written = self.out.written();
        let t = &mut self.timers;
        let now = now.max(t.now);
        t.now = now;
        if t.heard {
            t.heard = false;
            t.last_heard = now;
        }
        if let Ping::Queued { payload, end, .. } = t.ping {
            if written >= end {
                // It went out since the last tick: its wait starts now.
                t.ping = Ping::Waiting { sent: now, payload };
            } else if t.wrote {
                // Output ahead of it is moving: the peer is taking it.
                t.ping = Ping::Queued {
                    since: now,
                    payload,
                    end,
                };
            }
        }
        t.wrote = false;
        if let Ping::Answered { sent } = t.ping {
            t.latency = Some(now - sent);
            t.ping = Ping::None;
        }
        if t.closing == Closing::Pending {
            t.closing = Closing::Since(now);
        }
        if self.state != State::Open {
            if let Closing::Since(since) = self.timers.closing {
                if now >= since + self.config.close_timeout && !self.should_close_transport() {
                    self.close_deadline_passed();
                }
            }
            return;
        }
        let last_heard = self.timers.last_heard;
        if let Some(idle) = self.config.idle_timeout {
            if now >= last_heard + idle {
                self.fail_with(Error::IdleTimeout);
                self.timers.closing = Closing::Since(now);
                return;
            }
        }
        let Some(keepalive) = self.config.keepalive else {
            return;
        };
        match self.timers.ping {
            Ping::Waiting { sent: since, .. } | Ping::Queued { since, .. }
                if now >= since.max(last_heard) + keepalive.timeout =>
            {
                self.fail_with(Error::KeepaliveTimeout);
                self.timers.closing = Closing::Since(now);
            }
            Ping::None if now >= last_heard + keepalive.interval => {
                let payload = self.timers.next_payload;
                self.timers.next_payload = payload.wrapping_add(1);
                self.write_frame(
                    OpCode::Ping,
                    true,
                    0,
                    Bytes::copy_from_slice(&payload.to_be_bytes()),
                );
                self.timers.ping = Ping::Queued {
                    since: now,
                    payload,
                    end: self.out.end(),
                };
            }
            _ => {}
        }
    }

    /// The round trip of the latest answered keepalive ping, if one was.
    pub fn latency(&self) -> Option<Duration> {
        self.timers.latency
    }

    /// The close deadline passed: the transport is to be closed now, and
    /// what could not be written is dropped.
    fn close_deadline_passed(&mut self) {
        self.transport_done = true;
        self.out.clear();
        self.pong_due = None;
        if self.state != State::Closed {
            self.set_state(State::Closed);
            if self.failure.is_none() {
                self.failure = Some(Error::AbnormalClosure);
            }
        }
    }
}
