//! # rfc6455
//!
//! A WebSocket implementation (RFC 6455; permessage-deflate, RFC 7692;
//! WebSockets over HTTP/2, RFC 8441) built as a codec that does no I/O. The
//! core takes bytes in, hands messages out, queues bytes to send, and says
//! when it needs to be woken. It owns every protocol decision — framing,
//! masking, UTF-8, fragmentation, control frames, the close handshake,
//! limits, keepalive, idle and close deadlines — and has no socket, no clock
//! and no thread. It builds without `std` (with `alloc`).
//!
//! Adapters drive it over real transports, each following the one driver
//! contract written on [`Connection`], with the one [`Config`] and its
//! defaults:
//!
#![cfg_attr(
    feature = "std",
    doc = "- [`blocking`]: `std::io::Read + Write` transports ([`blocking::Transport`]), with a"
)]
#![cfg_attr(
    not(feature = "std"),
    doc = "- `blocking` (feature `std`): `std::io::Read + Write` transports, with a"
)]
//!   full-duplex split for two threads;
#![cfg_attr(
    feature = "tokio",
    doc = "- [`tokio`](crate::tokio): any `AsyncRead + AsyncWrite` transport, as a `Stream + Sink`"
)]
#![cfg_attr(
    not(feature = "tokio"),
    doc = "- `tokio` (feature `tokio`): any `AsyncRead + AsyncWrite` transport, as a `Stream + Sink`"
)]
//!   of messages, with split halves, broadcast and a reconnecting client;
//! - integrations (features `http`, `hyper`, `axum`, `h2`): the handshake
//!   with the `http` crate's types, upgrades in hyper and axum servers, and
//!   WebSockets over HTTP/2 streams of the `h2` crate;
//! - your own: a loop around [`Connection::poll`] (below), for an event
//!   loop of your choice.
//!
//! ```text
//!  bytes read ──► handshake ──► Connection::receive ──► Received::Message (text,
//!                 (§4)          frames, unmasking,       binary, fragment, ping,
//!                               UTF-8, reassembly,       pong, close), NeedMore,
//!                               limits, close (§5, §7)   Closed
//!  bytes to write ◄── output_chunks / advance_output ◄── send_* / close / pongs / pings
//!  the time now ──► poll(now) ──► Step: close the transport, or run (write? read? wake at)
//! ```
//!
//! ## Example: a client and a server through memory
//!
//! ```
//! use bytes::BytesMut;
//! use rfc6455::handshake::{Accept, ClientRequest, ServerHandshake};
//! use rfc6455::{CloseCode, Config, Connection, Message};
//!
//! /// Moves everything `from` has queued into `to_buf`.
//! fn pump(from: &mut Connection, to_buf: &mut BytesMut) {
//!     while from.pending_output() > 0 {
//!         for chunk in from.output_chunks() {
//!             to_buf.extend_from_slice(chunk);
//!         }
//!         from.advance_output(from.pending_output());
//!     }
//! }
//!
//! let config = Config::default();
//! // Opening handshake (§4).
//! let (request, mut pending) = ClientRequest::new("ws://example.com/chat")?.build(&config)?;
//! let mut at_server = BytesMut::from(&request[..]);
//! let req = ServerHandshake::new(&config).parse(&mut at_server)?.expect("whole request");
//! let accepted = req.accept(Accept::new())?;
//! let mut at_client = BytesMut::from(&accepted.response.to_bytes()[..]);
//! let mut server = accepted.into_connection(config.clone());
//! let mut client = pending.parse(&mut at_client)?.expect("whole response").into_connection(config);
//!
//! // Messages (§5, §6).
//! client.send_text("Hello")?;
//! pump(&mut client, &mut at_server);
//! assert_eq!(server.receive(&mut at_server)?.message(), Some(Message::Text("Hello".into())));
//!
//! // The closing handshake (§7): the server echoes and closes the transport.
//! client.close(CloseCode::NORMAL, "bye")?;
//! pump(&mut client, &mut at_server);
//! assert!(matches!(server.receive(&mut at_server)?.message(), Some(Message::Close(Some(_)))));
//! pump(&mut server, &mut at_client);
//! assert!(server.should_close_transport());
//! assert!(matches!(client.receive(&mut at_client)?.message(), Some(Message::Close(Some(_)))));
//! client.receive_eof()?;
//! assert!(client.should_close_transport());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Driving a connection yourself
//!
//! An adapter owns the transport and a clock and decides nothing: it feeds
//! what it read to [`Connection::receive`] (and the end of the stream to
//! [`Connection::receive_eof`]), then asks [`Connection::poll`] what to do
//! with the transport: [`Step::Close`], with the connection's outcome, or
//! [`Step::Run`], saying whether there is output to write
//! ([`Connection::output_chunks`], one vectored write, then
//! [`Connection::advance_output`] by what the transport took), whether to
//! keep reading, and when to poll again at the latest. The full contract is
//! on [`Connection`]. Here is a driver over in-memory transports: the
//! client sends a message and closes, the server echoes the close and
//! closes the transport first (§7.1.1), and the client sees the end.
//!
//! ```
//! use bytes::BytesMut;
//! use rfc6455::{CloseCode, Config, Connection, Error, Message, Received, Role, Step, Timestamp};
//!
//! /// One pass of the loop: feed what arrived (and the end of the stream),
//! /// then step, writing until nothing is left to write. `Some(outcome)`
//! /// once the transport is to be closed; `None`: wait for more input, or
//! /// for the `wake_at` of the step.
//! fn turn(
//!     conn: &mut Connection,
//!     input: &mut BytesMut,
//!     eof: bool,
//!     output: &mut BytesMut,
//!     now: Timestamp,
//!     received: &mut Vec<Message>,
//! ) -> Option<Result<(), Error>> {
//!     // A failure stops the feeding; the step reports it.
//!     while let Ok(Received::Message(message)) = conn.receive(input) {
//!         received.push(message);
//!     }
//!     if eof {
//!         let _ = conn.receive_eof();
//!     }
//!     loop {
//!         match conn.poll(now) {
//!             Step::Close(outcome) => return Some(outcome),
//!             Step::Run { write: true, .. } => {
//!                 let mut written = 0;
//!                 for chunk in conn.output_chunks() {
//!                     output.extend_from_slice(chunk);
//!                     written += chunk.len();
//!                 }
//!                 conn.advance_output(written);
//!             }
//!             _ => return None,
//!         }
//!     }
//! }
//!
//! let mut client = Connection::new(Role::Client, Config::default());
//! let mut server = Connection::new(Role::Server, Config::default());
//! let (mut to_server, mut to_client) = (BytesMut::new(), BytesMut::new());
//! let (mut at_server, mut at_client) = (Vec::new(), Vec::new());
//! let now = Timestamp::ZERO; // a real driver reads its clock at each pass
//!
//! client.send_text("Hello")?;
//! client.close(CloseCode::NORMAL, "bye")?;
//! let mut server_end = None;
//! let client_end = loop {
//!     let server_closed = server_end.is_some();
//!     if let Some(end) = turn(&mut client, &mut to_client, server_closed, &mut to_server, now, &mut at_client) {
//!         break end;
//!     }
//!     if !server_closed {
//!         server_end = turn(&mut server, &mut to_server, false, &mut to_client, now, &mut at_server);
//!     }
//! };
//! assert_eq!((client_end, server_end), (Ok(()), Some(Ok(()))));
//! assert_eq!(at_server[0], Message::text("Hello"));
//! assert!(at_server[1].is_close() && at_client[0].is_close());
//! # Ok::<(), Error>(())
//! ```
//!
//! Keep reading while output waits for the transport: what the connection
//! queues by itself in answer to the peer is bounded without pausing reads
//! (pongs are coalesced, §5.5.3), and a driver that stopped reading because
//! its own output is full deadlocks against a peer doing the same. Bound
//! what the application sends instead: take no more messages while
//! [`Connection::output_is_full`].
//!
//! ## Time: keepalive, idle and close deadlines
//!
//! The core computes every deadline from [`Config`] and the times the
//! driver passes in ([`Timestamp`]: time since an origin of the driver's
//! choosing); the adapters keep them the same way (tokio with one timer per
//! connection, blocking with the socket's timeouts), with the same defaults:
//!
//! - **Keepalive** ([`Config::keepalive`], off by default) is a rule about
//!   silence (§5.5.2): once nothing has arrived for `interval`, a ping goes
//!   out; if no pong arrives within `timeout` of it, the connection fails
//!   with 1011. Messages arriving prove the peer alive, so a busy
//!   connection sends no pings. [`Connection::latency`] (and
//!   [`Connection::stats`]) gives the round trip of the last answered
//!   keepalive ping.
//! - **Idle** ([`Config::idle_timeout`], off by default): nothing arrived
//!   for that long fails the connection with 1001.
//! - **Close** ([`Config::close_timeout`], 10 s): from the moment a
//!   connection stops being open (a close frame sent or received, or a
//!   failure), everything left is bounded by it: the peer's close frame,
//!   writing ours to a peer that stopped reading, and on a client the
//!   server closing the TCP connection first (§7.1.1). Past it, the
//!   transport is dropped.
//! - **Handshake** ([`Config::handshake_timeout`], 10 s): one deadline for
//!   the whole opening handshake, connecting and TLS included; the
//!   handshake codecs keep it themselves
//!   ([`ServerHandshake::poll_timeout`](handshake::ServerHandshake::poll_timeout),
//!   [`ClientHandshake::poll_timeout`](handshake::ClientHandshake::poll_timeout)).
//!
//! ```
//! use std::time::Duration;
//! use rfc6455::{Config, Keepalive};
//!
//! // Ping after 15 s of silence, give up 30 s after an unanswered ping; drop
//! // connections silent for 5 minutes.
//! let config = Config::default()
//!     .keepalive(Keepalive::new(Duration::from_secs(15), Duration::from_secs(30)))
//!     .idle_timeout(Duration::from_secs(300));
//! # let _ = config;
//! ```
//!
//! The echo server examples take the same settings from the command line:
//! `cargo run --example echo_server -- 127.0.0.1:9001 --keepalive 15,30
//! --idle 300` (seconds, fractions allowed), and the same for
//! `echo_server_blocking`.
//!
//! ## Errors
//!
//! One [`Error`] enum for the connection; each peer violation maps to the
//! close code the connection sends ([`Error::close_code`]): 1002 protocol,
//! 1007 invalid UTF-8, 1009 too big. Errors are sticky. Local misuse, such
//! as sending after a close, is a distinct kind ([`Error::is_local_misuse`])
//! that leaves the connection as it was. The handshake has its own error,
//! [`handshake::HandshakeError`], which carries the HTTP status a server
//! answers with ([`HandshakeError::status`](handshake::HandshakeError::status)).
#![cfg_attr(
    feature = "std",
    doc = "The adapters report both, and what only a transport can go wrong with, as [`StreamError`]"
)]
#![cfg_attr(
    not(feature = "std"),
    doc = "The adapters report both, and what only a transport can go wrong with, as `StreamError`"
)]
//! (`StreamError::Handshake`, `StreamError::Protocol`, `StreamError::Io`, ...).
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | the `blocking` adapter, `StreamError`, OS randomness for mask keys, reconnecting clients |
//! | `tokio` | no | the `tokio` adapter: `Stream + Sink`, split halves, broadcast, reconnecting client |
//! | `deflate` | no | permessage-deflate (RFC 7692) with `flate2`'s pure-Rust `zlib-rs` backend, off until configured ([`extension`]); implies `std` |
//! | `rustls` | no | `wss://` for the tokio and blocking clients over rustls (`ring`, `webpki-roots`), PEM helpers for TLS servers (`tls`); implies `tokio` |
//! | `http` | no | the opening handshake with `http::Request` / `http::Response` (`http`) |
//! | `hyper` | no | upgrading a hyper 1.x request to a tokio stream, and a client over a hyper connection (`hyper`); implies `http`, `tokio` |
//! | `h2` | no | WebSockets over HTTP/2, RFC 8441 extended CONNECT (`h2`); implies `http`, `tokio` |
//! | `axum` | no | the `WebSocketUpgrade` extractor for axum (`axum`); implies `hyper` |
//! | `tracing` | no | diagnostics from the tokio, hyper and h2 adapters: a `websocket` span per connection (`role`, `peer` where known), the handshake's outcome (`info`/`debug`), close frames with their codes (`debug`), peer protocol violations (`warn`), per message only at `trace`; the core stays free of it |
//!
//! Without `std` the core builds as `#![no_std]` with `alloc`
//! (`cargo build --no-default-features`); give each client connection
//! its own seed for mask keys ([`Config::random_seed`]).
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_op_in_unsafe_fn)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

// The layers, bottom up: each imports only from the ones before it
// (`scripts/layers.py` checks it).
mod app;
#[cfg(feature = "std")]
pub mod blocking;
#[cfg(any(feature = "http", feature = "hyper", feature = "h2", feature = "axum"))]
mod integrations;
mod proto;
#[cfg(feature = "std")]
mod shared;
#[cfg(feature = "tokio")]
pub mod tokio;

pub use proto::close::CloseFrame;
pub use proto::close_code::CloseCode;
pub use proto::config::{Config, Keepalive, Role};
pub use proto::connection::{Connection, Received, Settings, State, Stats, Step, Timestamp};
pub use proto::error::Error;
pub use proto::message::{DataKind, Fragment, Message};
pub use proto::prepared::PreparedMessage;
pub use proto::text::Utf8Bytes;
pub use proto::utf8::Utf8Validator;
pub use proto::{extension, frame, handshake, mask};

#[cfg(feature = "std")]
pub use shared::reconnect::{Backoff, Disconnect};
#[cfg(feature = "std")]
pub use shared::stream_error::StreamError;
#[cfg(feature = "rustls")]
pub use shared::tls;

#[cfg(feature = "axum")]
pub use integrations::axum;
#[cfg(feature = "h2")]
pub use integrations::h2;
#[cfg(feature = "http")]
pub use integrations::http;
#[cfg(feature = "hyper")]
pub use integrations::hyper;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
