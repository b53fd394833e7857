//! [`Transport`]: what the blocking adapter needs of a stream beyond
//! `Read + Write` to keep the connection's deadlines.

use core::time::Duration;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};

/// A blocking stream the adapter can bound in time and close.
///
/// The connection's deadlines (keepalive, idle, close, the handshake) are
/// kept with read and write timeouts: a blocked read wakes up to send a
/// keepalive ping or to give up on a silent peer, and a write to a peer that
/// stopped reading cannot outlast the close deadline. Implemented for
/// [`TcpStream`], Unix domain sockets, `&mut` references to transports and,
/// with the `rustls` feature, rustls streams over TCP.
///
/// A stream that has no timeouts (an in-memory pipe, say) can implement it
/// with the default methods, which report [`io::ErrorKind::Unsupported`]:
/// it then works, but without deadlines, and a wait for a silent peer lasts
/// as long as the stream's own reads do.
pub trait Transport: Read + Write {
    /// Bounds the reads that follow; `None` lets them block.
    ///
    /// # Errors
    /// If the transport cannot time reads out.
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Bounds the writes that follow; `None` lets them block.
    ///
    /// # Errors
    /// If the transport cannot time writes out.
    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let _ = timeout;
        Err(io::ErrorKind::Unsupported.into())
    }

    /// Closes both directions (a TCP FIN after what was written).
    ///
    /// # Errors
    /// If the transport cannot be closed this way; it is then closed when
    /// dropped.
    fn shutdown(&mut self) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Timeouts of zero mean "no timeout" to the operating system and are an
/// error to `std`: the shortest bound is one microsecond.
pub(super) fn nonzero(timeout: Option<Duration>) -> Option<Duration> {
    timeout.map(|t| t.max(Duration::from_micros(1)))
}

impl Transport for TcpStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, nonzero(timeout))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, nonzero(timeout))
    }

    fn shutdown(&mut self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Both)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, nonzero(timeout))
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, nonzero(timeout))
    }

    fn shutdown(&mut self) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, Shutdown::Both)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        (**self).shutdown()
    }
}

impl<T: Transport + ?Sized> Transport for std::boxed::Box<T> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }

    fn shutdown(&mut self) -> io::Result<()> {
        (**self).shutdown()
    }
}

/// The timeouts last set on the transport, so that an unchanged bound costs
/// no system call.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TimeoutCache {
    read: Option<Option<Duration>>,
    write: Option<Option<Duration>>,
}

impl TimeoutCache {
    /// Sets the read bound if it changed; false if the transport has none.
    pub(super) fn read<S: Transport + ?Sized>(&mut self, s: &mut S, t: Option<Duration>) -> bool {
        if self.read != Some(t) {
            if s.set_read_timeout(t).is_err() {
                return false;
            }
            self.read = Some(t);
        }
        true
    }

    /// Sets the write bound if it changed; false if the transport has none.
    pub(super) fn write<S: Transport + ?Sized>(&mut self, s: &mut S, t: Option<Duration>) -> bool {
        if self.write != Some(t) {
            if s.set_write_timeout(t).is_err() {
                return false;
            }
            self.write = Some(t);
        }
        true
    }
}
