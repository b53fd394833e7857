//! [`WebSocket`]: one connection over one blocking stream (RFC 6455 §5–§7).

use core::fmt;
use core::time::Duration;
use std::io;
use std::net::TcpStream;

use std::string::String;

use bytes::BytesMut;

use super::io::{Driver, Session, write_queued};
use super::transport::{TimeoutCache, Transport};
use crate::{CloseCode, Connection, Message, StreamError};

/// A WebSocket connection over a blocking stream `S`.
///
/// Obtained from [`connect`](super::connect), [`client`](super::client),
/// [`accept`](super::accept) and the other handshake functions, or built with
/// [`from_parts`](Self::from_parts) after a handshake done elsewhere.
///
/// The connection's deadlines ([`Config`](crate::Config)'s keepalive, idle
/// and close timeouts) are kept while a call is blocked in it: a
/// [`read`](Self::read) waiting for a silent peer sends keepalive pings and
/// fails the connection when they go unanswered, and no write outlasts the
/// close deadline.
pub struct WebSocket<S> {
    stream: S,
    conn: Connection,
    session: Session,
    protocol: Option<String>,
    timeouts: TimeoutCache,
    write_timeout: Option<Duration>,
}

impl<S> fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("connection", &self.conn)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// The driver of an unsplit connection: one thread owns everything.
struct Direct<'a, S> {
    stream: &'a mut S,
    conn: &'a mut Connection,
    timeouts: &'a mut TimeoutCache,
}

impl<S: Transport> Driver for Direct<'_, S> {
    fn with_conn<R>(&mut self, f: impl FnOnce(&mut Connection) -> R) -> R {
        f(self.conn)
    }

    fn write_output(&mut self, timeout: Option<Duration>) -> io::Result<bool> {
        if timeout.is_some_and(|t| t.is_zero()) {
            return Ok(false);
        }
        self.timeouts.write(self.stream, timeout);
        write_queued(self.stream, self.conn)
    }

    fn read(&mut self, dst: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        if timeout.is_some_and(|t| t.is_zero()) {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.timeouts.read(self.stream, timeout);
        self.stream.read(dst)
    }

    fn shutdown(&mut self) {
        let _ = self.stream.shutdown();
    }

    fn wait_for_writer(&mut self, _: Option<Duration>) {}
}

impl<S: Transport> WebSocket<S> {
    /// A WebSocket over `stream` for a connection whose handshake is done:
    /// `buffered` holds the bytes read past the handshake (the peer's first
    /// frames), `protocol` the subprotocol agreed.
    pub fn from_parts(
        stream: S,
        connection: Connection,
        buffered: BytesMut,
        protocol: Option<String>,
    ) -> Self {
        WebSocket {
            stream,
            conn: connection,
            session: Session::new(buffered),
            protocol,
            timeouts: TimeoutCache::default(),
            write_timeout: None,
        }
    }

    fn driver(&mut self) -> (Direct<'_, S>, &mut Session) {
        (
            Direct {
                stream: &mut self.stream,
                conn: &mut self.conn,
                timeouts: &mut self.timeouts,
            },
            &mut self.session,
        )
    }

    /// Reads the next message: text, binary, ping, pong or close.
    ///
    /// A ping's pong and a close frame's echo are written before the ping or
    /// the close is returned. After the peer's close, the next call returns
    /// [`StreamError::Closed`] once the transport is closed (a client first
    /// waits, within the close timeout, for the server to close it, §7.1.1).
    ///
    /// With [`Config::fragments`](crate::Config::fragments) on, data arrives
    /// as [`Message::Fragment`]s.
    ///
    /// # Errors
    /// - [`StreamError::Protocol`] when the connection failed: the peer
    ///   violated the protocol (the close frame with
    ///   [`StreamError::close_code`] was written), a keepalive ping went
    ///   unanswered (1011), nothing arrived within the idle timeout (1001),
    ///   or the transport ended before the close handshake
    ///   ([`Error::AbnormalClosure`](crate::Error::AbnormalClosure), 1006);
    ///   the transport is then closed;
    /// - [`StreamError::Closed`] once the connection is over;
    /// - [`StreamError::Io`] for a transport error, or when the read timeout
    ///   set with [`set_read_timeout`](Self::set_read_timeout) passes (that
    ///   loses nothing: call again).
    pub fn read(&mut self) -> Result<Message, StreamError> {
        let (mut d, session) = self.driver();
        session.read(&mut d)
    }

    /// Queues `message` and writes everything queued.
    ///
    /// # Errors
    /// [`StreamError::Protocol`] if the core refuses the message (for
    /// example [`Error::SendAfterClose`](crate::Error::SendAfterClose), or the
    /// connection's failure), [`StreamError::Io`] if the write fails or the
    /// write timeout passes (the rest stays queued for [`flush`](Self::flush)).
    pub fn send(&mut self, message: Message) -> Result<(), StreamError> {
        self.conn.send(message)?;
        self.flush()
    }

    /// Queues `message` without writing it, unless more than
    /// [`Config::write_buffer_size`](crate::Config::write_buffer_size) bytes
    /// are queued, in which case the queue is written. Call
    /// [`flush`](Self::flush) to write the rest.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn write(&mut self, message: Message) -> Result<(), StreamError> {
        self.conn.send(message)?;
        if self.conn.output_is_full() {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything queued (with vectored writes: large payloads are not
    /// copied), within the write timeout and the connection's deadlines.
    ///
    /// # Errors
    /// [`StreamError::Io`] if the write fails or the write timeout passes;
    /// what was not written stays queued.
    pub fn flush(&mut self) -> Result<(), StreamError> {
        let timeout = self.write_timeout;
        let (mut d, session) = self.driver();
        session.flush(&mut d, timeout)
    }

    /// Starts the close handshake (§7.1.2): writes a close frame with `code`
    /// and `reason`. Keep calling [`read`](Self::read) until it returns the
    /// peer's close (then [`StreamError::Closed`]).
    ///
    /// # Errors
    /// [`StreamError::Protocol`] with
    /// [`Error::InvalidCloseToSend`](crate::Error::InvalidCloseToSend) for a
    /// code that may not be sent or a reason over 123 bytes,
    /// [`Error::SendAfterClose`](crate::Error::SendAfterClose) if a close was
    /// already sent; [`StreamError::Io`] if the write fails.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        self.conn.close(code, reason)?;
        self.flush()
    }

    /// Bounds each [`read`](Self::read): past `timeout` it returns
    /// [`StreamError::Io`] (`WouldBlock` or `TimedOut`) and may be called
    /// again. `None` (the default) blocks until a message or the end.
    /// The connection's own deadlines apply either way.
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.session.read_timeout = timeout;
    }

    /// Bounds each [`send`](Self::send) and [`flush`](Self::flush): past
    /// `timeout` they return [`StreamError::Io`] with the rest queued.
    /// `None` (the default) blocks while the peer does not read (within the
    /// connection's deadlines).
    pub fn set_write_timeout(&mut self, timeout: Option<Duration>) {
        self.write_timeout = timeout;
    }
}

impl<S> WebSocket<S> {
    /// The connection state machine (state, configuration, failure, stats).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection state machine, for what this type does not wrap (for
    /// example [`Connection::send_fragment`]); call
    /// [`flush`](Self::flush) afterwards to write what was queued.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The underlying stream. Reading from or writing to it directly
    /// corrupts the connection; its timeouts are the adapter's.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The parts [`from_parts`](Self::from_parts) takes: the stream, the
    /// connection, the bytes read but not yet consumed, and the subprotocol.
    pub fn into_parts(self) -> (S, Connection, BytesMut, Option<String>) {
        (
            self.stream,
            self.conn,
            self.session.into_buffer(),
            self.protocol,
        )
    }
}

impl WebSocket<TcpStream> {
    /// Splits the connection into a [`Reader`](super::Reader) and a
    /// [`Writer`](super::Writer) that may be used from two threads at once.
    ///
    /// # Errors
    /// If the socket cannot be cloned ([`TcpStream::try_clone`]).
    pub fn split(self) -> io::Result<(super::Reader, super::Writer)> {
        let write_half = self.stream.try_clone()?;
        Ok(super::split::new(
            self.stream,
            write_half,
            self.conn,
            self.session,
            self.protocol,
            self.write_timeout,
        ))
    }
}

impl WebSocket<super::ClientStream> {
    /// Splits a client connection into a [`Reader`](super::Reader) and a
    /// [`Writer`](super::Writer), as [`WebSocket::<TcpStream>::split`]
    /// does. A TLS stream cannot be split (its reads and writes share one
    /// TLS state), only a plain one.
    ///
    /// # Errors
    /// [`io::ErrorKind::Unsupported`] over TLS; else as the split of a
    /// `TcpStream`.
    pub fn split(self) -> io::Result<(super::Reader, super::Writer)> {
        let WebSocket {
            stream,
            conn,
            session,
            protocol,
            timeouts,
            write_timeout,
        } = self;
        match stream {
            super::ClientStream::Plain(tcp) => WebSocket {
                stream: tcp,
                conn,
                session,
                protocol,
                timeouts,
                write_timeout,
            }
            .split(),
            #[cfg(feature = "rustls")]
            super::ClientStream::Rustls(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a TLS stream cannot be split into a reader and a writer",
            )),
        }
    }
}
