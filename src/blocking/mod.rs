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
//! | side   | connecting over TCP (and TLS)                     | over a [`Transport`] already connected |
//! |--------|---------------------------------------------------|----------------------------------------|
//! | client | [`connect`], [`connect_with`], `connect_tls_with` | [`client`]                             |
//! | server |                                                   | [`accept`], [`accept_with`]            |
//!
//! Every entry point takes a [`Config`](crate::Config), the same one the
//! tokio adapter takes, with the same defaults: the handshake is bounded by
//! [`Config::handshake_timeout`](crate::Config::handshake_timeout) (10 s,
//! connecting included) through the transport's read and write timeouts (a
//! timeout is [`StreamError::HandshakeTimeout`]). A client connects over a
//! [`ClientStream`]: plain TCP for `ws://` and, with the `rustls` feature,
//! TLS for `wss://` (trusting the web PKI roots; `connect_tls_with` takes
//! any `rustls::ClientConfig`). Without the feature, `wss://` is
//! [`StreamError::TlsUnsupported`].
//!
//! A server decides with the request in hand: [`accept_with`] takes a
//! callback that picks a subprotocol, checks the `Origin`
//! (`request.check_origin(&["https://example.com"])?` answers 403), or
//! refuses with any status, headers and body:
//!
//! ```no_run
//! use std::net::TcpListener;
//! use rfc6455::handshake::{Accept, Refusal};
//! use rfc6455::{Config, blocking};
//!
//! let listener = TcpListener::bind("127.0.0.1:9001")?;
//! for tcp in listener.incoming() {
//!     let tcp = tcp?;
//!     std::thread::spawn(move || {
//!         let accepted = blocking::accept_with(tcp, Config::default(), |request| {
//!             request.check_origin(&["https://example.com"])?;
//!             match request.bearer_token() {
//!                 Some("secret") => Ok(Accept::new()),
//!                 _ => Err(Refusal::new(401).text("a token is required")),
//!             }
//!         });
//!         let Ok(mut ws) = accepted else { return };
//!         while let Ok(message) = ws.read() {
//!             if message.is_data() && ws.send(message).is_err() {
//!                 break;
//!             }
//!         }
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A server refusing a request (a malformed request, §4.2.1; a refused
//! `Origin`, §10.2; or the application's own refusal) writes
//! [`HandshakeError::refusal`](crate::proto::handshake::HandshakeError::refusal)
//! before returning the error, as every adapter does, then lingers briefly
//! so that the client reads it.
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
//! [`WebSocket::split`] turns a `WebSocket<TcpStream>` (or a plain
//! `ws://` client's `WebSocket<ClientStream>`) into a [`Reader`] and a
//! [`Writer`] for two threads: one may block in [`Reader::read`] while the
//! other sends or closes. The reader keeps the deadlines. A TLS stream
//! cannot be split.
//!
//! ```no_run
//! # let (ws, _) = rfc6455::blocking::connect("ws://127.0.0.1:9001/")?;
//! let (mut reader, writer) = ws.split()?;
//! std::thread::spawn(move || writer.send(rfc6455::Message::text("from another thread")));
//! let message = reader.read()?;
//! # let _ = message;
//! # Ok::<(), rfc6455::StreamError>(())
//! ```
//!
//! # Sending and the write queue
//!
//! [`WebSocket::send`] queues a message and writes everything queued;
//! [`WebSocket::write`] only queues it, writing the queue once more than
//! [`Config::write_buffer_size`](crate::Config::write_buffer_size) (128 KiB)
//! is queued, and [`WebSocket::flush`] writes the rest. The split
//! [`Writer`] has the same three.
//!
//! # Parts
//!
//! [`WebSocket::from_parts`] wraps a transport whose handshake is done (a
//! [`Connection`](crate::Connection), the bytes read past the handshake, the
//! subprotocol), and [`WebSocket::into_parts`] gives them back; the tokio
//! adapter has the same pair.

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
