//! # rfc6455
//!
//! A WebSocket (RFC 6455) codec that does no I/O: the core takes bytes in,
//! hands events out, queues bytes to send, and says when it needs to be
//! woken. It owns every protocol decision — framing, masking, UTF-8,
//! fragmentation, control frames, the close handshake, limits, keepalive,
//! idle and close deadlines — and has no socket, no clock and no thread.
//! Thin adapters drive it over real transports: [`blocking`] over
//! `std::io::Read + Write` ([`blocking::Transport`]), and `tokio` (feature
//! `tokio`) with `Stream + Sink`; both follow the one driver contract
//! written on [`Connection`], with the one [`Config`] and its defaults.
//!
//! ```text
//!  bytes read ──► handshake ──► Connection::receive ──► Received::Message (text,
//!                 (§4)          frames, unmasking,       binary, fragment, ping,
//!                               UTF-8, reassembly,       pong, close), NeedMore,
//!                               limits, close (§5, §7)   Closed
//!  bytes to write ◄── output queue ◄── send_* / close / pongs / keepalive pings
//!  the time now ──► handle_timeout(now)   poll_timeout() ──► next deadline
//!  close the transport ◄── should_close_transport()   (the core decides when)
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
//! assert_eq!(server.receive(&mut at_server)?.event(), Some(Message::Text("Hello".into())));
//!
//! // The closing handshake (§7): the server echoes and closes the transport.
//! client.close(CloseCode::NORMAL, "bye")?;
//! pump(&mut client, &mut at_server);
//! assert!(matches!(server.receive(&mut at_server)?.event(), Some(Message::Close(Some(_)))));
//! pump(&mut server, &mut at_client);
//! assert!(server.should_close_transport());
//! assert!(matches!(client.receive(&mut at_client)?.event(), Some(Message::Close(Some(_)))));
//! client.receive_eof()?;
//! assert!(client.should_close_transport());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Errors
//!
//! One [`Error`] enum; each peer violation maps to the close code the
//! connection sends ([`Error::close_code`]): 1002 protocol, 1007 invalid
//! UTF-8, 1009 too big. Errors are sticky. Local misuse, such as sending after
//! a close, is a distinct kind ([`Error::is_local_misuse`]) that leaves the
//! connection as it was. A handshake failure carries the HTTP status the
//! server answers with ([`handshake::HandshakeError::status`]).
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `std` | yes | the [`blocking`] adapter, [`StreamError`], vectored output, OS randomness, reconnecting clients |
//! | `tokio` | no | the `tokio` adapter: `Stream + Sink`, split halves, broadcast, reconnecting client |
//! | `deflate` | no | permessage-deflate (RFC 7692); implies `std` |
//! | `rustls` | no | `wss://` clients and TLS helpers (`tls`); implies `tokio` |
//! | `http` | no | the handshake with `http::Request` / `http::Response` (`http`) |
//! | `hyper` | no | upgrading a hyper 1.x request to a tokio stream (`hyper`) |
//! | `h2` | no | WebSockets over HTTP/2, RFC 8441 extended CONNECT (`h2`) |
//! | `axum` | no | the `WebSocketUpgrade` extractor for axum (`axum`); implies `hyper` |
//! | `tracing` | no | spans and events from the adapters |
//!
//! Without `std` the core builds as `#![no_std]` with `alloc`.
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
