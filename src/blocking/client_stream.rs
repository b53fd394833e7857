//! [`ClientStream`]: what the blocking client connects over, plain TCP for
//! `ws://` and, with the `rustls` feature, TLS for `wss://`.

#[cfg(feature = "rustls")]
use std::boxed::Box;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[cfg(feature = "rustls")]
use rustls::{ClientConnection, StreamOwned};

use super::transport::Transport;

/// What [`connect`](super::connect) and [`connect_with`](super::connect_with)
/// connect over: plain TCP for `ws://`, rustls over TCP for `wss://`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://` (feature `rustls`).
    #[cfg(feature = "rustls")]
    Rustls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl ClientStream {
    /// The TCP socket underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            ClientStream::Plain(tcp) => tcp,
            #[cfg(feature = "rustls")]
            ClientStream::Rustls(tls) => tls.get_ref(),
        }
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.read(buf),
            #[cfg(feature = "rustls")]
            ClientStream::Rustls(s) => s.read(buf),
        }
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.write(buf),
            #[cfg(feature = "rustls")]
            ClientStream::Rustls(s) => s.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.write_vectored(bufs),
            #[cfg(feature = "rustls")]
            ClientStream::Rustls(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => s.flush(),
            #[cfg(feature = "rustls")]
            ClientStream::Rustls(s) => s.flush(),
        }
    }
}

impl Transport for ClientStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => Transport::set_read_timeout(s, timeout),
            #[cfg(feature = "rustls")]
            ClientStream::Rustls(s) => Transport::set_read_timeout(&mut **s, timeout),
        }
    }

    fn set_write_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => Transport::set_write_timeout(s, timeout),
            #[cfg(feature = "rustls")]
            ClientStream::Rustls(s) => Transport::set_write_timeout(&mut **s, timeout),
        }
    }

    fn shutdown(&mut self) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => Transport::shutdown(s),
            #[cfg(feature = "rustls")]
            ClientStream::Rustls(s) => Transport::shutdown(&mut **s),
        }
    }
}
