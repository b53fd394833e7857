//! The tokio adapter: a [`WebSocketStream`] over any
//! `AsyncRead + AsyncWrite + Unpin` transport, implementing
//! `Stream<Item = Result<Message, StreamError>>` and `Sink<Message>`.
//!
//! The adapter only moves bytes and time: every protocol decision (pongs,
//! close echoes, close codes, limits) is the core [`Connection`](crate::Connection)'s.
//!
//! - **Cancel safety**: `next()` on the stream is cancel-safe. A partial
//!   frame stays in the stream's read buffer and the connection remembers what
//!   it parsed; a cancelled read resumes where it stopped.
//! - **Timers**: the core computes every deadline from
//!   [`Config`](crate::Config) (keepalive, idle, close); the stream keeps one
//!   tokio timer at [`Connection::poll_timeout`](crate::Connection::poll_timeout)
//!   and runs it while the stream is polled. The handshake is bounded by
//!   [`Config::handshake_timeout`](crate::Config::handshake_timeout).
//! - **Backpressure**: sending waits while more than
//!   [`Config::write_buffer_size`](crate::Config::write_buffer_size) bytes are
//!   queued. Reading never waits for the output: two endpoints streaming
//!   both ways at once, each with a full queue, keep draining each other.
//! - **Memory**: an idle connection holds no read buffer (the read that waits
//!   for the next frame lands in a stack buffer), and the write queue is
//!   released once written.

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
