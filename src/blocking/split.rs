//! Full duplex over TCP: a [`Reader`] and a [`Writer`] for two threads
//! (RFC 6455 §5.4: control frames may be interleaved with a fragmented
//! message, so answers to pings never wait for the writer's messages to end).
//!
//! Both halves share the [`Connection`] behind a mutex that is never held
//! across I/O, and the socket's write side behind a second mutex. Whoever
//! writes takes the write lock, takes shared handles to the queued chunks
//! from the connection, writes them, and reports what was written: frames
//! leave in the order they were queued, never interleaved, and a write that
//! times out leaves the rest queued.
//!
//! The reader keeps the connection's deadlines. It never waits for the
//! write lock: if the writer holds it, the writer also writes what the
//! reader queued (pongs, keepalive pings, close frames). A writer blocked on
//! a peer that stopped reading cannot hold the connection past the close
//! deadline: the reader then closes the socket, which ends the blocked write.

use core::fmt;
use core::time::Duration;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError};
use std::time::Instant;

use std::string::String;
use std::vec::Vec;

use bytes::Bytes;

use super::io::{Clock, Driver, Session, is_timeout, lock, min_bound};
use super::transport::{TimeoutCache, Transport};
use crate::shared::vectored;
use crate::{CloseCode, Connection, Message, Step, StreamError};

struct Shared {
    conn: Mutex<Connection>,
    write: Mutex<WriteHalf>,
    /// Output was queued while another thread held the write lock: whoever
    /// holds it writes again before leaving.
    flush_wanted: AtomicBool,
    /// Counts releases of the write side, for a reader waiting on a writer.
    releases: Mutex<u64>,
    released: Condvar,
    protocol: Option<String>,
    clock: Clock,
}

struct WriteHalf {
    stream: TcpStream,
    timeouts: TimeoutCache,
}

impl Shared {
    /// Writes everything queued, each write bounded by `bound`, unless
    /// another thread is writing (it then writes this too). `Ok(false)` if a
    /// write timed out or another thread is writing.
    fn try_flush(&self, bound: Option<Duration>) -> io::Result<bool> {
        match self.try_take_write() {
            Some(w) => self.write_holding(w, bound),
            None => Ok(false),
        }
    }

    /// The write side, unless another thread holds it: that thread then
    /// writes what was queued meanwhile before it lets go.
    fn try_take_write(&self) -> Option<MutexGuard<'_, WriteHalf>> {
        match self.write.try_lock() {
            Ok(w) => Some(w),
            Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(TryLockError::WouldBlock) => {
                // The holder checks the flag after it lets go; try once
                // more in case it let go before the flag was up.
                self.flush_wanted.store(true, Ordering::SeqCst);
                match self.write.try_lock() {
                    Ok(w) => Some(w),
                    Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                    Err(TryLockError::WouldBlock) => None,
                }
            }
        }
    }

    /// Writes everything queued with the write side held, then lets it go
    /// (writing again if output was queued meanwhile by a thread that could
    /// not take it).
    fn write_holding<'a>(
        &'a self,
        mut w: MutexGuard<'a, WriteHalf>,
        bound: Option<Duration>,
    ) -> io::Result<bool> {
        loop {
            self.flush_wanted.store(false, Ordering::SeqCst);
            let result = self.write_queued(&mut w, bound);
            self.release(w);
            match result {
                Ok(true) if self.flush_wanted.load(Ordering::SeqCst) => {
                    match self.try_take_write() {
                        Some(next) => w = next,
                        None => return Ok(true),
                    }
                }
                other => return other,
            }
        }
    }

    /// Lets go of the write side, waking a reader waiting for it.
    fn release(&self, w: MutexGuard<'_, WriteHalf>) {
        drop(w);
        *lock(&self.releases) += 1;
        self.released.notify_all();
    }

    /// Writes the connection's queue from shared handles to its chunks,
    /// holding the connection only to take them and to advance past them.
    fn write_queued(&self, w: &mut WriteHalf, bound: Option<Duration>) -> io::Result<bool> {
        if bound.is_some_and(|b| b.is_zero()) {
            return Ok(lock(&self.conn).pending_output() == 0);
        }
        w.timeouts.write(&mut w.stream, bound);
        let mut chunks: Vec<Bytes> = Vec::new();
        loop {
            chunks.clear();
            lock(&self.conn).output_handles(&mut chunks, vectored::MAX_SLICES);
            if chunks.is_empty() {
                return Ok(true);
            }
            let mut slices = [IoSlice::new(&[]); vectored::MAX_SLICES];
            let n = vectored::fill(chunks.iter().map(|c| &c[..]), &mut slices);
            match w.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => lock(&self.conn).advance_output(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }
}

pub(super) fn new(
    read_half: TcpStream,
    write_half: TcpStream,
    conn: Connection,
    session: Session,
    protocol: Option<String>,
    write_timeout: Option<Duration>,
) -> (Reader, Writer) {
    let shared = Arc::new(Shared {
        conn: Mutex::new(conn),
        write: Mutex::new(WriteHalf {
            stream: write_half,
            timeouts: TimeoutCache::default(),
        }),
        flush_wanted: AtomicBool::new(false),
        releases: Mutex::new(0),
        released: Condvar::new(),
        protocol,
        clock: session.clock(),
    });
    (
        Reader {
            stream: read_half,
            session,
            timeouts: TimeoutCache::default(),
            shared: Arc::clone(&shared),
        },
        Writer {
            shared,
            write_timeout,
        },
    )
}

/// The receiving half of a split [`WebSocket<TcpStream>`](super::WebSocket).
///
/// It keeps the connection's deadlines and writes pongs, keepalive pings
/// and close echoes (through the writer, if the writer is busy). Keep it
/// reading. A close sent by the [`Writer`] is enforced on time: the writer
/// steps the connection, which stamps when closing began, and a blocked
/// read wakes at least once per
/// [`Config::close_timeout`](crate::Config::close_timeout) to keep that
/// deadline.
pub struct Reader {
    stream: TcpStream,
    session: Session,
    timeouts: TimeoutCache,
    shared: Arc<Shared>,
}

/// The sending half of a split [`WebSocket<TcpStream>`](super::WebSocket).
///
/// Its methods take `&self`: clones (or an `Arc`) may send from several threads.
#[derive(Clone)]
pub struct Writer {
    shared: Arc<Shared>,
    write_timeout: Option<Duration>,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

struct SplitDriver<'a> {
    stream: &'a mut TcpStream,
    timeouts: &'a mut TimeoutCache,
    shared: &'a Shared,
}

impl Driver for SplitDriver<'_> {
    fn with_conn<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut lock(&self.shared.conn))
    }

    fn write_output(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        self.shared.try_flush(timeout)
    }

    fn read(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        if timeout.is_some_and(|t| t.is_zero()) {
            return Err(io::ErrorKind::TimedOut.into());
        }
        // A close sent by the writer starts a deadline (stamped by the
        // writer's step) that this blocked read cannot learn of: every read
        // is also bounded by the close timeout, so the reader wakes before
        // that deadline and keeps it.
        let recheck = lock(&self.shared.conn).settings().close_timeout;
        self.timeouts
            .read(self.stream, min_bound(timeout, Some(recheck)));
        self.stream.read(dst)
    }

    fn shutdown(&mut self) {
        let _ = Transport::shutdown(self.stream);
    }

    fn wait_for_writer(&mut self, timeout: Option<Duration>) {
        // Holding `releases` while looking at the write side: a writer
        // letting go now counts its release after this wait began.
        let releases = lock(&self.shared.releases);
        if !matches!(self.shared.write.try_lock(), Err(TryLockError::WouldBlock)) {
            return;
        }
        let seen = *releases;
        let released = &self.shared.released;
        match timeout {
            Some(t) => drop(released.wait_timeout_while(releases, t, |n| *n == seen)),
            None => drop(released.wait_while(releases, |n| *n == seen)),
        }
    }
}

impl Reader {
    /// Reads the next message, as [`WebSocket::read`](super::WebSocket::read)
    /// does. Blocking here does not hold up the [`Writer`].
    ///
    /// # Errors
    /// As [`WebSocket::read`](super::WebSocket::read).
    pub fn read(&mut self) -> Result<Message, StreamError> {
        let mut d = SplitDriver {
            stream: &mut self.stream,
            timeouts: &mut self.timeouts,
            shared: &self.shared,
        };
        self.session.read(&mut d)
    }

    /// Bounds each [`read`](Self::read), as
    /// [`WebSocket::set_read_timeout`](super::WebSocket::set_read_timeout).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.session.read_timeout = timeout;
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.shared.protocol.as_deref()
    }

    /// The socket this half reads from.
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    /// Runs `f` on the shared connection (keep it short: the writer waits).
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut lock(&self.shared.conn))
    }
}

impl Writer {
    /// Queues `message` and writes everything queued.
    ///
    /// The write side is held from queueing to writing, so the [`Reader`]
    /// never finds a send's data queued and writes it itself: reading never
    /// waits for data this half sends.
    ///
    /// # Errors
    /// As [`WebSocket::send`](super::WebSocket::send).
    pub fn send(&self, message: Message) -> Result<(), StreamError> {
        let w = lock(&self.shared.write);
        if let Err(e) = lock(&self.shared.conn).send(message) {
            self.shared.release(w);
            return Err(e.into());
        }
        self.flush_holding(w)
    }

    /// Queues `message`, and writes the queue once more than
    /// [`Config::write_buffer_size`](crate::Config::write_buffer_size) bytes
    /// are queued, as [`WebSocket::write`](super::WebSocket::write) does;
    /// [`flush`](Self::flush) writes the rest (or the [`Reader`] does, when
    /// it next writes).
    ///
    /// # Errors
    /// [`StreamError::Protocol`] if the core refuses the message; as
    /// [`flush`](Self::flush) when the queue is written.
    pub fn write(&self, message: Message) -> Result<(), StreamError> {
        let w = lock(&self.shared.write);
        let full = {
            let mut conn = lock(&self.shared.conn);
            match conn.send(message) {
                Ok(()) => conn.output_is_full(),
                Err(e) => {
                    drop(conn);
                    self.shared.release(w);
                    return Err(e.into());
                }
            }
        };
        if full {
            return self.flush_holding(w);
        }
        self.shared.release(w);
        Ok(())
    }

    /// Writes everything queued, within the write timeout and, once the
    /// connection is closing, the close deadline.
    ///
    /// # Errors
    /// [`StreamError::Io`] if the write fails or the write timeout passes
    /// (the rest stays queued); the connection's failure if it failed.
    pub fn flush(&self) -> Result<(), StreamError> {
        self.flush_holding(lock(&self.shared.write))
    }

    /// [`flush`](Self::flush) with the write side already taken: writes
    /// within the write timeout, stepping the connection as its deadlines
    /// pass (so a write to a peer that stopped reading ends at the close
    /// deadline), then lets the write side go.
    fn flush_holding(&self, mut w: MutexGuard<'_, WriteHalf>) -> Result<(), StreamError> {
        let until = self.write_timeout.map(|t| Instant::now() + t);
        let result = loop {
            let now = self.shared.clock.now();
            let wake_at = match lock(&self.shared.conn).poll(now) {
                // The reader closes the transport and reports the outcome.
                Step::Close(Ok(())) | Step::Run { write: false, .. } => break Ok(()),
                Step::Close(Err(failure)) => break Err(failure.into()),
                Step::Run { wake_at, .. } => wake_at,
            };
            let mine = until.map(|u| u.saturating_duration_since(Instant::now()));
            let bound = min_bound(self.shared.clock.until(wake_at), mine);
            match self.shared.write_queued(&mut w, bound) {
                Ok(true) => {}
                Ok(false) if mine.is_some_and(|m| m.is_zero()) => {
                    break Err(StreamError::Io(io::ErrorKind::TimedOut.into()));
                }
                // A deadline passed: the next step acts on it.
                Ok(false) => {}
                Err(e) => {
                    if lock(&self.shared.conn).transport_failed().is_err() {
                        break Err(StreamError::Io(e));
                    }
                }
            }
        };
        // Output the reader queued meanwhile, if it could not write it.
        let _ = self.shared.write_holding(w, None);
        result
    }

    /// Starts the close handshake (§7.1.2); the [`Reader`] then returns the
    /// peer's close frame.
    ///
    /// # Errors
    /// As [`WebSocket::close`](super::WebSocket::close).
    pub fn close(&self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        lock(&self.shared.conn).close(code, reason)?;
        self.flush()
    }

    /// Bounds each [`send`](Self::send) and [`flush`](Self::flush) of this
    /// handle, as [`WebSocket::set_write_timeout`](super::WebSocket::set_write_timeout).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }

    /// Runs `f` on the shared connection (for example to queue fragments with
    /// [`Connection::send_fragment`]); call [`flush`](Self::flush) afterwards.
    pub fn with_connection<R>(&self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(&mut lock(&self.shared.conn))
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.shared.protocol.as_deref()
    }
}
