//! The blocking adapter: a [`Connection`](crate::Connection) driven over any
//! [`std::io::Read`] + [`std::io::Write`] transport.
//!
//! This module only moves bytes and time. Every protocol decision (answering
//! pings, echoing a close frame, the close code sent on a failure, the limits)
//! is the core's; the adapter feeds it what the transport delivers, writes what
//! it queues, and closes the transport when it says so.
//!
//! # Opening handshake (RFC 6455 §4)
//!
//! | side   | over a [`TcpStream`](std::net::TcpStream)     | over any `Read + Write` stream |
//! |--------|-----------------------------------------------|--------------------------------|
//! | client | [`connect`], [`connect_with`]                 | [`client`]                     |
//! | server | [`accept`], [`accept_tcp`]                    | [`accept_with`]                |
//!
//! The TCP entry points bound the handshake by
//! [`Options::handshake_timeout`] (10 s by default) through the socket's read
//! and write timeouts, which they restore afterwards, and shut the socket down
//! when the connection ends. Over another stream the caller sets its timeouts
//! (a read or write that times out during the handshake is reported as
//! [`StreamError::HandshakeTimeout`]) and closes it by dropping it.
//!
//! A server refusing a request (a malformed request, §4.2.1; a refused
//! `Origin`, §10.2; or the application's own refusal) writes
//! [`HandshakeError::response`](crate::handshake::HandshakeError::response)
//! before returning the error.
//!
//! # Data transfer (§5, §6) and closing (§7)
//!
//! [`WebSocket::read`] returns the next message; pongs to pings and the echo
//! of a close frame are written before the ping or close is returned. After
//! the peer's close frame came, [`WebSocket::read`] returns
//! [`Message::Close`](crate::Message::Close) once, then
//! [`StreamError::Closed`]. A protocol violation by the peer writes the close
//! frame the core chose (§7.1.7), shuts the transport down and returns
//! [`StreamError::Protocol`], whose
//! [`close_code`](StreamError::close_code) is the code sent; a transport that
//! ends before the close handshake is an abnormal closure, 1006 (§7.1.5).
//!
//! ```no_run
//! use rfc6455::Message;
//! use rfc6455::blocking;
//!
//! let (mut ws, _response) = blocking::connect("ws://127.0.0.1:9001/")?;
//! ws.send(Message::text("hello"))?;
//! let reply = ws.read()?;
//! ws.close(rfc6455::CloseCode::NORMAL, "bye")?;
//! loop {
//!     match ws.read() {
//!         Ok(_) => {}
//!         Err(rfc6455::StreamError::Closed) => break,
//!         Err(e) => return Err(e),
//!     }
//! }
//! # let _ = reply;
//! # Ok::<(), rfc6455::StreamError>(())
//! ```
//!
//! # Full duplex
//!
//! [`WebSocket::split`] turns a `WebSocket<TcpStream>` into a [`Reader`] and a
//! [`Writer`] for two threads: one may block in [`Reader::read`] while the
//! other sends or closes.

mod handshake;
mod io;
mod socket;
mod split;

pub use handshake::{accept, accept_tcp, accept_with, client, connect, connect_with};
pub use socket::WebSocket;
pub use split::{Reader, Writer};

use core::time::Duration;

use crate::Config;
#[cfg(doc)]
use crate::StreamError;
use crate::extension::ExtensionConfig;

/// Default bound on the opening handshake over TCP.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time a TCP client waits, after the close handshake, for the server
/// to close the connection first (§7.1.1).
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of a blocking connection: the core's [`Config`] plus the
/// adapter's timeouts.
///
/// ```
/// use std::time::Duration;
/// let options = rfc6455::blocking::Options::default()
///     .config(rfc6455::Config::default().max_message_size(1 << 20))
///     .handshake_timeout(Some(Duration::from_secs(2)));
/// assert_eq!(options.handshake_timeout, Some(Duration::from_secs(2)));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The connection's limits and settings.
    pub config: Config,
    /// Extensions to offer (client; replaces those of the `ClientRequest`)
    /// or accept (server). None by default.
    pub extensions: ExtensionConfig,
    /// Upper bound on the whole opening handshake, on the TCP entry points
    /// ([`connect`], [`connect_with`], [`accept`], [`accept_tcp`]); `None`
    /// waits forever. Other streams use their own timeouts.
    pub handshake_timeout: Option<Duration>,
    /// How long a TCP client waits for the server to close the transport
    /// after the close handshake (§7.1.1) before closing it itself.
    pub close_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            extensions: ExtensionConfig::default(),
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
        }
    }
}

impl Options {
    /// The defaults: [`Config::default`], a 10 s handshake timeout, a 5 s
    /// close timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the connection's [`Config`].
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the extensions to offer or accept, such as permessage-deflate
    /// (feature `deflate`).
    #[must_use]
    pub fn extensions(mut self, extensions: ExtensionConfig) -> Self {
        self.extensions = extensions;
        self
    }

    /// Sets the handshake timeout (`None`: no bound).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets the close timeout.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }
}
