//! The driver step: what an adapter does next with the transport, decided
//! by the connection from its state and the time (RFC 6455 §7.1.1: who
//! closes the transport and when; §7.1.5: how a connection ended).
//!
//! An adapter owns a transport and a clock, and nothing else: it asks
//! [`Connection::poll`] what to do, does it, and feeds back what happened
//! ([`receive`](Connection::receive), [`receive_eof`](Connection::receive_eof),
//! [`transport_failed`](Connection::transport_failed),
//! [`advance_output`](Connection::advance_output)). Every `if` about the
//! protocol or a duration is in here.

use super::{Connection, State};
use crate::proto::error::Error;

use super::time::Timestamp;

/// What an adapter does next with the transport, from [`Connection::poll`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Keep the transport open and wait for whichever comes first: the
    /// transport readable (if `read`), writable (if `write`), or the time
    /// `wake_at`; then feed what happened and poll again.
    #[non_exhaustive]
    Run {
        /// Output is queued: write [`output_chunks`](Connection::output_chunks)
        /// (vectored) and report what the transport took with
        /// [`advance_output`](Connection::advance_output).
        write: bool,
        /// Keep reading: at most [`read_size_hint`](Connection::read_size_hint)
        /// bytes into the receive buffer, then [`receive`](Connection::receive).
        /// False once the transport's end was fed in.
        read: bool,
        /// Poll again at this time at the latest (arm one timer); `None`
        /// needs no timer.
        wake_at: Option<Timestamp>,
    },
    /// Close the transport now, writing nothing more: the connection is
    /// over. `Ok` if it ended cleanly (the close handshake completed, §7.1.4;
    /// or the peer's close frame came before the transport ended), else the
    /// failure, whose [`close_code`](Error::close_code) was sent to the peer
    /// where one may be sent.
    Close(Result<(), Error>),
}

impl Connection {
    /// The driver step: acts on any deadline at or before `now` (a keepalive
    /// ping, a timeout failure, the end of closing), then says what to do
    /// with the transport.
    ///
    /// Call it after feeding each batch of input (so that arrivals are
    /// stamped with the time they were read), after writing, after sending,
    /// and when the `wake_at` of the last step has come. It is cheap: a few
    /// comparisons when nothing is due.
    pub fn poll(&mut self, now: Timestamp) -> Step {
        // Acting on a deadline can make the next one due at once (with zero
        // timeouts: the keepalive ping, then its failure, then the end of
        // closing); each call to `handle_timeout` moves the state forward.
        while self.poll_timeout().is_some_and(|deadline| deadline <= now) {
            let before = (self.state, self.failure.is_some(), self.out.len());
            self.handle_timeout(now);
            if (self.state, self.failure.is_some(), self.out.len()) == before
                && self.poll_timeout().is_some_and(|deadline| deadline <= now)
            {
                // Only arrivals were stamped: nothing else is due now.
                break;
            }
        }
        if self.should_close_transport() {
            return Step::Close(self.failure.clone().map_or(Ok(()), Err));
        }
        Step::Run {
            write: self.out.len() > 0,
            read: !self.transport_done,
            wake_at: self.poll_timeout(),
        }
    }

    /// The most bytes a read may bring in at once when it lands in memory
    /// the connection does not hold while it waits (a stack buffer, a ring of
    /// buffers the kernel picks from): a message this size arrives in one
    /// read. An adapter that holds its buffer while it waits asks
    /// [`read_size_hint`](Self::read_size_hint) instead.
    pub fn idle_read_size(&self) -> usize {
        Self::IDLE_READ_SIZE
    }

    /// [`idle_read_size`](Self::idle_read_size) as a constant, for a
    /// buffer sized at compile time (an array on the stack).
    pub const IDLE_READ_SIZE: usize = IDLE_READ;

    /// Whether this endpoint has sent its close frame or failed, so that only
    /// the end of the transport is awaited (for an adapter reporting what a
    /// connection is doing; the step needs no such check).
    pub fn is_closing(&self) -> bool {
        self.state != State::Open
    }
}

/// [`Connection::idle_read_size`]: 32 KiB. Small messages arrive in one
/// read (one system call) and a large frame's first bytes in a useful one;
/// larger would cost an adapter reading onto its stack more page probing on
/// every idle read (a page touched per 4 KiB, twice per small echo), for
/// messages that take the heap path after the first anyway.
const IDLE_READ: usize = 32 << 10;
