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

use crate::shared::vectored;
use crate::{Connection, Message, Received, Step, StreamError, Timestamp};

/// Above this capacity an empty read buffer is released.
const RETAIN_CAPACITY: usize = 8 << 10;

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

    /// The instant of a deadline given in this clock's time.
    pub(super) fn instant(self, at: Option<Timestamp>) -> Option<Instant> {
        at.map(|t| self.0 + t.as_duration())
    }

    /// Time left until `wake_at` (zero once it passed), if there is one.
    pub(super) fn until(self, wake_at: Option<Timestamp>) -> Option<Duration> {
        let now = self.now();
        wake_at.map(|at| at.saturating_duration_since(now))
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
    pub(super) fn read<D: Driver>(&mut self, d: &mut D) -> Result<Message, StreamError> {
        loop {
            if self.done {
                return Err(self.error.take().unwrap_or(StreamError::Closed));
            }
            match d.with_conn(|c| c.receive(&mut self.buf)) {
                Ok(Received::Message(event)) => {
                    // Stamp the arrival and write the answers (pongs, the
                    // close echo) before handing the event out.
                    if let Step::Run {
                        write: true,
                        wake_at,
                        ..
                    } = self.step(d)
                    {
                        let _ = self.write(d, self.clock.until(wake_at));
                    }
                    self.release_if_idle();
                    return Ok(event);
                }
                Ok(Received::NeedMore | Received::Closed) => {}
                Err(e) => {
                    self.error.get_or_insert(e.into());
                }
            }
            let (write, read, bound) = match self.step(d) {
                Step::Close(outcome) => {
                    self.close(d, outcome);
                    continue;
                }
                Step::Run {
                    write,
                    read,
                    wake_at,
                } => (write, read, self.clock.until(wake_at)),
            };
            if write && self.write(d, bound) {
                // Written: the connection may now be over.
                continue;
            }
            if !read {
                // The peer's end was read and output is still queued: wait
                // for the thread writing it, or the deadline.
                d.wait_for_writer(bound);
                continue;
            }
            self.release_if_idle();
            match self.fill(d, bound) {
                Ok(0) => {
                    if let Err(e) = d.with_conn(Connection::receive_eof) {
                        self.error.get_or_insert(e.into());
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    // The caller's timeout: a partial frame stays buffered and
                    // a later read resumes it. Ours: the next step acts.
                    if self.caller_bound {
                        return Err(StreamError::Io(e));
                    }
                }
                Err(e) => self.lost(d, e),
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
            let wake_at = match self.step(d) {
                Step::Close(outcome) => {
                    self.close(d, outcome);
                    continue;
                }
                Step::Run { write: false, .. } => return Ok(()),
                Step::Run { wake_at, .. } => wake_at,
            };
            let mine = until.map(|u| u.saturating_duration_since(Instant::now()));
            if self.write(d, min_bound(self.clock.until(wake_at), mine)) {
                continue;
            }
            if mine.is_some_and(|m| m.is_zero()) || until.is_some_and(|u| Instant::now() >= u) {
                return Err(StreamError::Io(io::ErrorKind::TimedOut.into()));
            }
        }
    }

    /// The driver step, at the connection clock's time.
    fn step<D: Driver>(&mut self, d: &mut D) -> Step {
        let now = self.clock.now();
        d.with_conn(|c| c.poll(now))
    }

    /// Writes what is queued, each write bounded by `bound`; true if
    /// everything was written.
    fn write<D: Driver>(&mut self, d: &mut D, bound: Option<Duration>) -> bool {
        match d.write_output(bound) {
            Ok(all) => all,
            Err(e) => {
                self.lost(d, e);
                // The next step closes the transport.
                true
            }
        }
    }

    /// Closes the transport, as the step says, keeping its outcome.
    fn close<D: Driver>(&mut self, d: &mut D, outcome: Result<(), crate::Error>) {
        if let Err(failure) = outcome {
            self.error.get_or_insert(failure.into());
        }
        d.shutdown();
        self.done = true;
        self.buf = BytesMut::new();
    }

    /// The transport failed: the core says whether the connection had ended
    /// cleanly already (the error is then only how the peer ended the
    /// transport, §7.1.1) or reports it.
    fn lost<D: Driver>(&mut self, d: &mut D, e: io::Error) {
        if d.with_conn(Connection::transport_failed).is_err() {
            self.error.get_or_insert(StreamError::Io(e));
        }
    }

    /// Reads once into the buffer's tail, bounded by the caller's timeout
    /// and the next deadline. The size is the core's
    /// ([`Connection::read_size_hint`]): memory follows the bytes the peer
    /// sent, not its length claim.
    fn fill<D: Driver>(&mut self, d: &mut D, deadline: Option<Duration>) -> io::Result<usize> {
        let len = self.buf.len();
        let want = d.with_conn(|c| c.read_size_hint(len, self.buf.capacity()));
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

/// Writes the connection's queued output with vectored writes, advancing
/// the queue by what was written (so a timed-out write can be resumed).
/// `Ok(false)` if a write timed out.
pub(super) fn write_queued<W: Write + ?Sized>(
    stream: &mut W,
    conn: &mut Connection,
) -> io::Result<bool> {
    while conn.pending_output() > 0 {
        let written = {
            let mut slices = [IoSlice::new(&[]); vectored::MAX_SLICES];
            let n = vectored::fill(conn.output_chunks(), &mut slices);
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
