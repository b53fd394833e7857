//! The driver loop of [`Connection`]'s contract over a blocking transport,
//! shared by [`WebSocket`](super::WebSocket) and the split
//! [`Reader`](super::Reader): feed the core what the transport delivers
//! (RFC 6455 §5), tell it the time, write what it queues (pongs, §5.5.3;
//! close echoes, §5.5.1; keepalive pings), and close the transport when it
//! says so (§7.1.1). Blocking reads and writes are bounded by the time left
//! to the connection's next deadline, so a thread blocked on a silent or
//! non-reading peer wakes up to act on it.

use core::time::Duration;
use std::io::{self, IoSlice, Write};
use std::time::Instant;

use bytes::BytesMut;

use crate::{Connection, Event, Received, StreamError, Timestamp};

/// Above this capacity an empty read buffer is released.
const RETAIN_CAPACITY: usize = 8 << 10;
/// Slices per vectored write.
const IOV: usize = 64;

/// What the loop needs from whoever owns the connection and the transport.
pub(super) trait Driver {
    /// Runs `f` on the connection (briefly: no I/O happens inside).
    fn with_conn<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> R;
    /// Writes the queued output, each write bounded by `timeout` (`None`:
    /// blocking). `Ok(true)` once everything is written, `Ok(false)` if it
    /// cannot finish now: a write timed out (the rest stays queued), or
    /// another thread is writing.
    fn write_output(&mut self, timeout: Option<Duration>) -> io::Result<bool>;
    /// Reads once, bounded by `timeout` (`None`: blocking).
    fn read(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> io::Result<usize>;
    /// Waits, at most `timeout`, until another thread that was writing has
    /// finished (returns at once where no other thread writes).
    fn wait_for_writer(&mut self, timeout: Option<Duration>);
    /// Closes the transport.
    fn shutdown(&mut self);
}

/// Whether an I/O error is a timeout expiring.
pub(super) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The connection's clock: [`Timestamp`]s count from its creation.
#[derive(Clone, Copy, Debug)]
pub(super) struct Clock(Instant);

impl Clock {
    pub(super) fn new() -> Self {
        Clock(Instant::now())
    }

    pub(super) fn now(self) -> Timestamp {
        Timestamp::from(self.0.elapsed())
    }

    /// Time left until the connection's next deadline, if it has one,
    /// having acted on any deadline already passed (which also stamps what
    /// happened since the last call, such as closing having started).
    pub(super) fn until_deadline(self, conn: &mut Connection) -> Option<Duration> {
        let now = self.now();
        if conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
            conn.handle_timeout(now);
        }
        conn.poll_timeout()
            .map(|deadline| deadline.saturating_duration_since(now))
    }
}

/// The shorter of two optional bounds.
pub(super) fn min_bound(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One connection's loop state: the buffer the core takes frames from, and
/// how the connection ended.
#[derive(Debug)]
pub(super) struct Session {
    buf: BytesMut,
    clock: Clock,
    /// The failure to report once the transport is closed.
    error: Option<StreamError>,
    eof: bool,
    /// The transport is closed: nothing more to read or write.
    done: bool,
    /// The caller's own bound on a read.
    pub(super) read_timeout: Option<Duration>,
    /// Whether the last read was bounded by the caller's timeout rather than
    /// by a deadline.
    caller_bound: bool,
}

impl Session {
    pub(super) fn new(buf: BytesMut) -> Self {
        Session {
            buf,
            clock: Clock::new(),
            error: None,
            eof: false,
            done: false,
            read_timeout: None,
            caller_bound: false,
        }
    }

    pub(super) fn clock(&self) -> Clock {
        self.clock
    }

    pub(super) fn into_buffer(self) -> BytesMut {
        self.buf
    }

    /// Returns the next event, having written what the core queued in
    /// answer (bounded by the next deadline).
    ///
    /// After the connection ended: its failure once, then
    /// [`StreamError::Closed`].
    pub(super) fn read_event<D: Driver>(&mut self, d: &mut D) -> Result<Event, StreamError> {
        loop {
            if self.done {
                return Err(self.error.take().unwrap_or(StreamError::Closed));
            }
            match d.with_conn(|c| c.receive(&mut self.buf)) {
                Ok(Received::Event(event)) => {
                    self.tick(d);
                    let _ = self.write(d);
                    self.release_if_idle();
                    return Ok(event);
                }
                Ok(Received::NeedMore | Received::Closed) => {}
                Err(e) => {
                    self.error.get_or_insert(e.into());
                }
            }
            if self.tick(d) {
                continue;
            }
            let written = self.write(d);
            if self.close_if_told(d) {
                continue;
            }
            if self.eof {
                // Output is still queued for a peer that half-closed: wait for
                // the thread writing, or the close deadline.
                if !written {
                    let left = self.clock.until_deadline_of(d);
                    d.wait_for_writer(left);
                }
                continue;
            }
            self.release_if_idle();
            match self.fill(d) {
                Ok(0) => {
                    self.eof = true;
                    if let Err(e) = d.with_conn(Connection::receive_eof) {
                        self.error.get_or_insert(e.into());
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    // The caller's timeout: a partial frame stays buffered and
                    // a later read resumes it. Ours: the deadline is acted on
                    // next turn.
                    if self.caller_bound {
                        return Err(StreamError::Io(e));
                    }
                }
                Err(e) => {
                    self.eof = true;
                    self.lost(d, e);
                }
            }
        }
    }

    /// Writes everything queued for the caller (a send, a close), bounded by
    /// `timeout` and by the connection's deadlines, acting on those as they
    /// pass.
    ///
    /// # Errors
    /// [`StreamError::Io`] if the transport fails or `timeout` passes (the
    /// rest stays queued); the connection's failure if it ended meanwhile.
    pub(super) fn flush<D: Driver>(
        &mut self,
        d: &mut D,
        timeout: Option<Duration>,
    ) -> Result<(), StreamError> {
        let until = timeout.map(|t| Instant::now() + t);
        loop {
            if self.done {
                return Err(self.error.take().unwrap_or(StreamError::Closed));
            }
            let deadline = d.with_conn(|c| self.clock.until_deadline(c));
            let mine = until.map(|u| u.saturating_duration_since(Instant::now()));
            match d.write_output(min_bound(deadline, mine)) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => {
                    self.lost(d, e);
                    self.close_if_told(d);
                    continue;
                }
            }
            if self.tick(d) {
                self.close_if_told(d);
                continue;
            }
            if mine.is_some_and(|m| m.is_zero()) || until.is_some_and(|u| Instant::now() >= u) {
                return Err(StreamError::Io(io::ErrorKind::TimedOut.into()));
            }
        }
    }

    /// Acts on the connection's deadline if it passed; true if it did.
    fn tick<D: Driver>(&mut self, d: &mut D) -> bool {
        let now = self.clock.now();
        d.with_conn(|c| match c.poll_timeout() {
            Some(deadline) if deadline <= now => {
                c.handle_timeout(now);
                true
            }
            _ => false,
        })
    }

    /// Writes what is queued, bounded by the next deadline; true if
    /// everything was written.
    fn write<D: Driver>(&mut self, d: &mut D) -> bool {
        if d.with_conn(|c| c.pending_output()) == 0 {
            return true;
        }
        let bound = d.with_conn(|c| self.clock.until_deadline(c));
        match d.write_output(bound) {
            Ok(all) => all,
            Err(e) => {
                self.lost(d, e);
                false
            }
        }
    }

    /// Closes the transport if the core says so.
    fn close_if_told<D: Driver>(&mut self, d: &mut D) -> bool {
        let (close, failure) = d.with_conn(|c| (c.should_close_transport(), c.failure().cloned()));
        if !close {
            return false;
        }
        if let Some(failure) = failure {
            self.error.get_or_insert(failure.into());
        }
        d.shutdown();
        self.done = true;
        self.buf = BytesMut::new();
        true
    }

    /// The transport failed. After a complete close handshake that is only
    /// how the peer ended the transport (a server may reset it rather than
    /// close it, §7.1.1): the connection ended cleanly and the error is not
    /// reported.
    fn lost<D: Driver>(&mut self, d: &mut D, e: io::Error) {
        let clean = d.with_conn(|c| {
            let clean = c.close_handshake_complete();
            c.transport_failed();
            clean
        });
        if !clean {
            self.error.get_or_insert(StreamError::Io(e));
        }
    }

    /// Reads once into the buffer's tail, bounded by the caller's timeout
    /// and the next deadline. The size is the core's
    /// ([`Connection::read_size_hint`]): memory follows the bytes the peer
    /// sent, not its length claim.
    fn fill<D: Driver>(&mut self, d: &mut D) -> io::Result<usize> {
        let len = self.buf.len();
        let (want, deadline) = d.with_conn(|c| {
            (
                c.read_size_hint(len, self.buf.capacity()),
                self.clock.until_deadline(c),
            )
        });
        self.caller_bound = match (self.read_timeout, deadline) {
            (Some(caller), Some(ours)) => caller < ours,
            (caller, _) => caller.is_some(),
        };
        self.buf.resize(len + want, 0);
        let result = d.read(&mut self.buf[len..], min_bound(deadline, self.read_timeout));
        let n = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(len + n);
        result
    }

    /// Drops the memory of a large burst once everything was consumed.
    fn release_if_idle(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > RETAIN_CAPACITY {
            self.buf = BytesMut::new();
        }
    }
}

impl Clock {
    /// [`until_deadline`](Self::until_deadline) through a driver.
    fn until_deadline_of<D: Driver>(self, d: &mut D) -> Option<Duration> {
        d.with_conn(|c| self.until_deadline(c))
    }
}

/// Writes the connection's queued output with vectored writes, advancing
/// the queue by what was written (so a timed-out write can be resumed).
/// `Ok(false)` if a write timed out.
pub(super) fn write_queued<W: Write + ?Sized>(
    stream: &mut W,
    conn: &mut Connection,
) -> io::Result<bool> {
    while conn.pending_output() > 0 {
        let written = {
            let mut slices = [IoSlice::new(&[]); IOV];
            let n = conn.output_io_slices(&mut slices);
            match stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) if is_timeout(&e) => return Ok(false),
                Err(e) => return Err(e),
            }
        };
        conn.advance_output(written);
    }
    match stream.flush() {
        Ok(()) => Ok(true),
        Err(e) if is_timeout(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Locks a mutex, ignoring poisoning: the data behind it stays consistent
/// because no code panics while holding it.
pub(super) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
