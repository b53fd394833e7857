//! The tokio adapter (feature `tokio`): a [`WebSocketStream`] over any
//! `AsyncRead + AsyncWrite + Unpin` transport, implementing
//! `Stream<Item = Result<Message, StreamError>>` and `Sink<Message>`.
//!
//! The adapter only moves bytes and time: every protocol decision (pongs,
//! close echoes, close codes, limits) is the core [`Connection`](crate::Connection)'s,
//! driven through [`Connection::poll`](crate::Connection::poll).
//!
//! # Opening handshake (RFC 6455 §4)
//!
//! | side   | connecting over TCP (and TLS)                     | over a transport already connected |
//! |--------|---------------------------------------------------|------------------------------------|
//! | client | [`connect`], [`connect_with`], `connect_tls_with` | [`client`]                         |
//! | server |                                                   | [`accept`], [`accept_with`], [`accept_with_async`] |
//!
//! A client:
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use rfc6455::{CloseCode, Message};
//!
//! # async fn run() -> Result<(), rfc6455::StreamError> {
//! let (mut ws, _response) = rfc6455::tokio::connect("ws://127.0.0.1:9001/").await?;
//! ws.send(Message::text("hello")).await?;
//! if let Some(reply) = ws.next().await {
//!     println!("{:?}", reply?);
//! }
//! // Sends the close frame and reads until the server closed the transport.
//! ws.close(CloseCode::NORMAL, "done").await?;
//! # Ok(()) }
//! ```
//!
//! [`connect`] takes `wss://` URLs with the `rustls` feature (trusting the
//! web PKI roots); `connect_tls_with` takes any `rustls::ClientConfig`
//! (see the `tls` module). [`connect_with`] takes a
//! [`ClientRequest`](crate::handshake::ClientRequest) with subprotocols and
//! headers. The stream returned is a [`ClientStream`], a
//! `WebSocketStream<MaybeTlsStream>` in every build ([`MaybeTlsStream::Plain`]
//! for `ws://`).
//!
//! A server decides with the request in hand: [`accept_with`] takes a
//! callback returning how to accept (a subprotocol, extra headers) or the
//! [`Refusal`](crate::handshake::Refusal) to answer with; every adapter
//! writes the same answer (status, fields, `Content-Length`, body), then
//! lingers briefly so that the client reads it
//! ([`REFUSAL_LINGER`](crate::handshake::REFUSAL_LINGER)).
//!
//! ```no_run
//! use rfc6455::handshake::{Accept, Refusal};
//!
//! # async fn run(tcp: tokio::net::TcpStream) -> Result<(), rfc6455::StreamError> {
//! let ws = rfc6455::tokio::accept_with(tcp, rfc6455::Config::default(), |request| {
//!     request.check_origin(&["https://example.com"])?; // others get 403
//!     match request.query_param("token").or(request.bearer_token().map(Into::into)) {
//!         None => Err(Refusal::new(401).json(r#"{"error":"a token is required"}"#)),
//!         Some(token) if token != "secret" => Err(Refusal::new(403).json(r#"{"error":"unknown token"}"#)),
//!         Some(_) => Ok(Accept::new()),
//!     }
//! })
//! .await?;
//! # let _ = ws; Ok(()) }
//! ```
//!
//! [`accept_with_async`] takes a decision that may wait (a reverse proxy
//! connecting to its upstream first; see `examples/proxy.rs`). The
//! handshake, connecting and TLS included, is bounded by
//! [`Config::handshake_timeout`](crate::Config::handshake_timeout) (10 s):
//! [`StreamError::HandshakeTimeout`](crate::StreamError::HandshakeTimeout).
//! A client keeps a refusal's status, headers and up to
//! [`Config::max_refusal_body`](crate::Config::max_refusal_body) of its body:
//! `error.handshake().and_then(HandshakeError::refused)`.
//!
//! # The stream
//!
//! - **Cancel safety**: `next()` on the stream is cancel-safe. A partial
//!   frame stays in the stream's read buffer and the connection remembers what
//!   it parsed; a `select!` that drops a pending `next()` loses nothing.
//! - **Timers**: the core computes every deadline from
//!   [`Config`](crate::Config) (keepalive, idle, close); the stream keeps one
//!   tokio timer at the connection's next deadline and runs it while the
//!   stream is polled (and while a send waits).
//! - **Backpressure**: sending waits while more than
//!   [`Config::write_buffer_size`](crate::Config::write_buffer_size) (128 KiB)
//!   bytes are queued, and [`WebSocketStream::try_send`] refuses. Reading
//!   never waits for the output: two endpoints streaming both ways at once,
//!   each with a full queue, keep draining each other.
//! - **Memory**: an idle connection holds no read buffer (the read that waits
//!   for the next frame lands in a stack buffer), and the write queue is
//!   released once written.
//! - **Parts**: [`WebSocketStream::from_parts`] wraps a transport whose
//!   handshake is done (a [`Connection`](crate::Connection), the bytes read
//!   past the handshake, the subprotocol); [`WebSocketStream::into_parts`]
//!   gives them back.
//!
//! # Two tasks, and fan-out
//!
//! [`WebSocketStream::split`] gives a [`Reader`] and a [`Writer`] (which may
//! be cloned). The reader drives the connection: keep polling it, it also
//! writes what non-waiting sends queued. [`broadcast`] queues one
//! [`PreparedMessage`](crate::PreparedMessage) (framed once) on many writers
//! without waiting, skipping a connection whose queue is over its
//! high-water mark, so a slow receiver costs at most that much memory:
//!
//! ```no_run
//! # async fn run(viewers: Vec<rfc6455::tokio::Writer<tokio::net::TcpStream>>, screenshot: String) {
//! let frame = rfc6455::PreparedMessage::text(screenshot);
//! let report = rfc6455::tokio::broadcast(&frame, &viewers);
//! println!("sent {}, skipped {} slow, {} gone", report.sent, report.full, report.closed);
//! # }
//! ```
//!
//! [`Writer::pending_output`] and [`Writer::try_send`] serve other policies.
//!
//! # Reconnecting
//!
//! [`Reconnect`] connects again after a connection ended, with exponential
//! backoff and jitter ([`Backoff`](crate::Backoff)), until a disconnection
//! the caller deems final ([`Disconnect`](crate::Disconnect)); a close code
//! such as 4001 can be made final with `give_up_when`.
mod broadcast;
mod handshake;
mod reconnect;
mod split;
mod stream;
mod tls;
mod trace;
mod try_send;
mod wake;

pub use broadcast::{Broadcast, broadcast};
#[cfg(feature = "rustls")]
pub use handshake::connect_tls_with;
#[cfg(any(feature = "hyper", feature = "h2"))]
pub(crate) use handshake::{Clock, before};
pub use handshake::{accept, accept_with, accept_with_async, client, connect, connect_with};
pub use reconnect::Reconnect;
pub use split::{Reader, Writer};
pub use stream::WebSocketStream;
pub use tls::{ClientStream, MaybeTlsStream};
#[cfg(feature = "tracing")]
pub(crate) use trace::established;
pub use try_send::TrySendError;
