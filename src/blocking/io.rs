//! The read loop and the write helpers shared by [`WebSocket`](super::WebSocket)
//! and the split halves: feed the core what the transport delivers (RFC 6455
//! §5), write what it queues (pongs, §5.5.3; close echoes, §5.5.1), and end
//! the transport when it says so (§7.1.1).

use core::time::Duration;
use std::io::{self, IoSlice, Write};

use bytes::{Bytes, BytesMut};

use crate::{Connection, Error, Event, Role, StreamError, Timer};

/// Smallest read issued (an idle connection's buffer is this small).
const MIN_READ: usize = 4 << 10;
/// Largest read issued: bounds the zero-filling that a read into a
/// `BytesMut` costs without `unsafe`.
const MAX_READ: usize = 256 << 10;
/// Above this capacity an empty read buffer is released.
const RETAIN_CAPACITY: usize = 8 << 10;
/// Slices per vectored write.
const IOV: usize = 64;

/// What the read loop needs from whoever owns the connection and the transport.
pub(super) trait Driver {
    /// Runs `f` on the connection (briefly: no I/O happens inside).
    fn with_conn<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> R;
    /// Writes all queued output.
    fn flush_output(&mut self) -> Result<(), StreamError>;
    /// Reads from the transport.
    fn read_transport(&mut self, dst: &mut [u8]) -> io::Result<usize>;
    /// Closes the transport, where the transport allows it.
    fn shutdown(&mut self);
    /// Bounds later reads by `timeout`, returning the previous bound, or
    /// `None` if this transport has no read timeout.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> Option<Option<Duration>>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Messages flow.
    Open,
    /// A client got the server's close frame and waits for it to close the
    /// transport (§7.1.1).
    AwaitEof,
    /// Nothing more to read.
    Done,
}

/// The receiving side: the caller-owned buffer the core takes frames from.
#[derive(Debug)]
pub(super) struct ReadState {
    buf: BytesMut,
    phase: Phase,
    /// A write failure met while answering a ping or a close, reported by
    /// the next read (the event itself was delivered).
    deferred: Option<StreamError>,
    close_timeout: Duration,
}

impl ReadState {
    pub(super) fn new(buf: BytesMut, close_timeout: Duration) -> Self {
        ReadState {
            buf,
            phase: Phase::Open,
            deferred: None,
            close_timeout,
        }
    }

    pub(super) fn set_close_timeout(&mut self, timeout: Duration) {
        self.close_timeout = timeout;
    }

    pub(super) fn into_buffer(self) -> BytesMut {
        self.buf
    }

    /// Returns the next event, writing whatever the core queued in answer
    /// before returning it.
    pub(super) fn read_event<D: Driver>(&mut self, d: &mut D) -> Result<Event, StreamError> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        match self.phase {
            Phase::Open => {}
            Phase::AwaitEof => return Err(self.await_eof(d)),
            Phase::Done => return Err(StreamError::Closed),
        }
        loop {
            match d.with_conn(|c| c.receive(&mut self.buf)) {
                Ok(Some(event)) => {
                    let queued = d.with_conn(|c| c.pending_output() > 0);
                    if queued {
                        if let Err(e) = d.flush_output() {
                            self.deferred = Some(e);
                        }
                    }
                    if matches!(event, Event::Close(_)) {
                        self.end_after_close(d);
                    }
                    self.release_if_idle();
                    return Ok(event);
                }
                Ok(None) => {}
                Err(e) => return Err(self.fail(d, e)),
            }
            self.release_if_idle();
            match self.fill(d) {
                Ok(0) => return Err(self.eof(d)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_gone(&e) => return Err(self.eof(d)),
                // Timeouts the caller set: the partial frame stays buffered,
                // a later read resumes it.
                Err(e) => return Err(StreamError::Io(e)),
            }
        }
    }

    /// After the peer's close frame (and the echo) went through the core.
    fn end_after_close<D: Driver>(&mut self, d: &mut D) {
        let (close_now, role) = d.with_conn(|c| (c.should_close_transport(), c.role()));
        if close_now || self.deferred.is_some() {
            d.shutdown();
            self.phase = Phase::Done;
        } else if role == Role::Client {
            self.phase = Phase::AwaitEof;
        } else {
            self.phase = Phase::Done;
        }
    }

    /// A client waits (bounded by the close timeout where the transport has
    /// timeouts) for the server to close the transport.
    fn await_eof<D: Driver>(&mut self, d: &mut D) -> StreamError {
        self.phase = Phase::Done;
        let Some(previous) = d.set_read_timeout(Some(self.close_timeout)) else {
            // No way to bound the wait: leave closing to the caller's drop.
            return StreamError::Closed;
        };
        let mut scratch = [0u8; 512];
        loop {
            match d.read_transport(&mut scratch) {
                Ok(0) => {
                    let _ = d.with_conn(Connection::receive_eof);
                    break;
                }
                // What follows a close frame is ignored (§5.5.1).
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    let _ = d.with_conn(|c| c.handle_timeout(Timer::Close));
                    break;
                }
            }
        }
        let _ = d.set_read_timeout(previous);
        d.shutdown();
        self.buf = BytesMut::new();
        StreamError::Closed
    }

    /// The core failed the connection: write its close frame, end the transport.
    fn fail<D: Driver>(&mut self, d: &mut D, e: Error) -> StreamError {
        self.phase = Phase::Done;
        let _ = d.flush_output();
        d.shutdown();
        self.buf = BytesMut::new();
        StreamError::Protocol(e)
    }

    /// The transport ended.
    fn eof<D: Driver>(&mut self, d: &mut D) -> StreamError {
        self.phase = Phase::Done;
        let result = d.with_conn(Connection::receive_eof);
        d.shutdown();
        self.buf = BytesMut::new();
        match result {
            Ok(()) => StreamError::Closed,
            Err(e) => StreamError::Protocol(e),
        }
    }

    /// Reads once into the buffer's tail.
    ///
    /// The read asks for the rest of the pending frame
    /// ([`Connection::bytes_needed`]) plus room for a following header, so
    /// that it usually comes back short, and for at most `MAX_READ`: memory
    /// follows the bytes the peer actually sent, not its length claim, while
    /// a large frame still arrives with amortized linear copying.
    fn fill<D: Driver>(&mut self, d: &mut D) -> io::Result<usize> {
        let len = self.buf.len();
        let needed = d.with_conn(|c| c.bytes_needed(len));
        let want = needed.saturating_add(MIN_READ).min(MAX_READ);
        self.buf.resize(len + want, 0);
        let result = d.read_transport(&mut self.buf[len..]);
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

/// Errors that mean the peer is gone, as EOF does.
fn is_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}

/// Writes the connection's queued output with vectored writes, advancing the
/// queue by what was written (so a timed-out write can be resumed).
pub(super) fn write_output<W: Write + ?Sized>(
    stream: &mut W,
    conn: &mut Connection,
) -> io::Result<()> {
    while conn.pending_output() > 0 {
        let written = {
            let mut slices = [IoSlice::new(&[]); IOV];
            let n = conn.output_io_slices(&mut slices);
            match stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => return Err(e),
            }
        };
        conn.advance_output(written);
    }
    stream.flush()
}

/// Writes all of `chunks` in order with vectored writes.
pub(super) fn write_chunks<W: Write + ?Sized>(stream: &mut W, chunks: &[Bytes]) -> io::Result<()> {
    let (mut index, mut offset) = (0, 0);
    while index < chunks.len() {
        let written = {
            let mut slices = [IoSlice::new(&[]); IOV];
            let mut n = 0;
            for (i, chunk) in chunks[index..].iter().take(IOV).enumerate() {
                let start = if i == 0 { offset } else { 0 };
                slices[n] = IoSlice::new(&chunk[start..]);
                n += 1;
            }
            match stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => return Err(e),
            }
        };
        let mut left = written;
        while left > 0 {
            let rest = chunks[index].len() - offset;
            if left >= rest {
                left -= rest;
                index += 1;
                offset = 0;
            } else {
                offset += left;
                left = 0;
            }
        }
        // Skip empty chunks.
        while index < chunks.len() && chunks[index].len() == offset {
            index += 1;
            offset = 0;
        }
    }
    stream.flush()
}

/// Locks a mutex, going on after a panic elsewhere (the data is a queue and
/// a socket; neither is left half-updated by a panic in our code).
pub(super) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
