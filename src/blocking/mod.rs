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
//! | side   | connecting over TCP            | over a [`Transport`] already connected |
//! |--------|--------------------------------|----------------------------------------|
//! | client | [`connect`], [`connect_with`]  | [`client`]                             |
//! | server |                                | [`accept`], [`accept_with`]            |
//!
//! Every entry point takes a [`Config`](crate::Config), the same one the
//! tokio adapter takes, with the same defaults: the handshake is bounded by
//! [`Config::handshake_timeout`](crate::Config::handshake_timeout) (10 s)
//! through the transport's read and write timeouts (a timeout is
//! [`StreamError::HandshakeTimeout`]).
//!
//! A server refusing a request (a malformed request, §4.2.1; a refused
//! `Origin`, §10.2; or the application's own refusal) writes
//! [`HandshakeError::refusal`](crate::proto::handshake::HandshakeError::refusal)
//! before returning the error, as every adapter does.
//!
//! # Time
//!
//! The connection's deadlines (keepalive, idle, close; see
//! [`Connection::poll_timeout`](crate::Connection::poll_timeout)) are kept
//! with the transport's read and write timeouts: a thread blocked in a read
//! wakes up to send a keepalive ping, to fail a peer that went silent, or to
//! close a connection whose peer never finished closing; no write outlasts
//! the close deadline. A half-open TCP connection (the peer vanished without
//! a FIN) is found by keepalive.
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
//! other sends or closes. The reader keeps the deadlines.

mod client_stream;
mod handshake;
mod io;
mod reconnect;
mod socket;
mod split;
#[cfg(feature = "rustls")]
mod tls;
mod transport;

pub use client_stream::ClientStream;
#[cfg(feature = "rustls")]
pub use handshake::connect_tls_with;
pub use handshake::{accept, accept_with, client, connect, connect_with};
pub use reconnect::Reconnect;
pub use socket::WebSocket;
pub use split::{Reader, Writer};
pub use transport::Transport;

#[cfg(doc)]
use crate::StreamError;
