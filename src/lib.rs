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
//! | `http` | no | the handshake with `http::Request` / `http::Response` (`handshake::http`) |
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

mod close;
mod config;
mod error;
pub mod extension;
pub mod handshake;
mod rng;
mod text;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Keepalive, Role};
pub use error::Error;
pub use text::Utf8Bytes;

mod connection;
pub mod frame;
pub mod mask;
mod message;
mod output;
mod prepared;
mod utf8;

pub use connection::{Connection, Received, Settings, State, Stats, Step, Timestamp};
pub use message::{DataKind, Fragment, Message};
pub use prepared::PreparedMessage;
pub use utf8::Utf8Validator;

#[cfg(feature = "std")]
mod reconnect;
#[cfg(feature = "std")]
pub use reconnect::{Backoff, Disconnect};
#[cfg(feature = "std")]
mod stream_error;
#[cfg(feature = "std")]
mod vectored;
#[cfg(feature = "std")]
pub use stream_error::StreamError;
#[cfg(feature = "tokio")]
pub mod tokio;

#[cfg(feature = "std")]
pub mod blocking;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(feature = "rustls")]
pub mod tls;

#[cfg(feature = "hyper")]
pub mod hyper;

#[cfg(feature = "h2")]
pub mod h2;

#[cfg(feature = "axum")]
pub mod axum;

mod trace;
