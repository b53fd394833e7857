//! [`WebSocketStream::split`](super::WebSocketStream::split): a [`Reader`]
//! and a [`Writer`] for different tasks (RFC 6455 §5.4: control frames may
//! be interleaved with a fragmented message, so answers to pings never wait
//! for the writer's messages to end).
//!
//! Both halves share the stream behind a mutex that is held only while a
//! half is polled, never across an `.await`. The reader drives the
//! connection: it reads, keeps the deadlines, and writes pongs, close
//! echoes, keepalive pings and what non-waiting sends queued. The writer
//! sends and may be cloned; a broadcaster holds one writer per connection
//! and uses [`Writer::try_send_prepared`] (or [`broadcast`](super::broadcast)).

use core::fmt;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::borrow::ToOwned;
use std::string::String;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite};

use super::stream::WebSocketStream;
use super::try_send::TrySendError;
use crate::{CloseCode, Connection, Message, PreparedMessage, StreamError};

/// The receiving half of a split [`WebSocketStream`]: a `Stream` of
/// messages. Keep polling it: it also writes what the [`Writer`] queued
/// without waiting, and keeps the connection's deadlines.
pub struct Reader<S> {
    shared: Arc<Mutex<WebSocketStream<S>>>,
}

/// The sending half of a split [`WebSocketStream`]: a `Sink` of messages,
/// and non-waiting sends for fan-out. Clones send on the same connection.
pub struct Writer<S> {
    shared: Arc<Mutex<WebSocketStream<S>>>,
}

impl<S> Clone for Writer<S> {
    fn clone(&self) -> Self {
        Writer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> fmt::Debug for Reader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl<S> fmt::Debug for Writer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Splits into a [`Reader`](Reader) and a
    /// [`Writer`](Writer) for different tasks. The reader drives the
    /// connection (its deadlines, automatic replies, and writing what
    /// non-waiting sends queued): keep polling it.
    pub fn split(mut self) -> (Reader<S>, Writer<S>) {
        self.prepare_split();
        new(self)
    }
}

fn new<S>(stream: WebSocketStream<S>) -> (Reader<S>, Writer<S>) {
    let shared = Arc::new(Mutex::new(stream));
    (
        Reader {
            shared: Arc::clone(&shared),
        },
        Writer { shared },
    )
}

fn lock<S>(shared: &Mutex<WebSocketStream<S>>) -> MutexGuard<'_, WebSocketStream<S>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Reader<S> {
    /// Runs `f` on the connection (state, stats, the peer's close frame,
    /// failure, latency); keep it short.
    pub fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        f(lock(&self.shared).connection())
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<String> {
        lock(&self.shared).protocol().map(str::to_owned)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for Reader<S> {
    type Item = Result<Message, StreamError>;

    /// Cancel-safe, as [`WebSocketStream`]'s.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut stream = lock(&self.shared);
        Pin::new(&mut *stream).poll_next(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Writer<S> {
    /// Bytes queued for the transport and not yet written.
    pub fn pending_output(&self) -> usize {
        lock(&self.shared).pending_output()
    }

    /// Queues `message` without waiting, or gives it back when the output
    /// queue is over its high-water mark or the connection cannot send; the
    /// [`Reader`]'s task writes it. See
    /// [`WebSocketStream::try_send`](super::WebSocketStream::try_send).
    ///
    /// # Errors
    /// [`TrySendError`].
    pub fn try_send(&self, message: Message) -> Result<(), TrySendError<Message>> {
        lock(&self.shared).try_send(message)
    }

    /// [`try_send`](Self::try_send) for a [`PreparedMessage`] (no copy on
    /// a server).
    ///
    /// # Errors
    /// [`TrySendError`].
    pub fn try_send_prepared(&self, message: &PreparedMessage) -> Result<(), TrySendError<()>> {
        lock(&self.shared).try_send_prepared(message)
    }

    /// Sends a [`PreparedMessage`], waiting while the output queue is over
    /// its high-water mark.
    ///
    /// # Errors
    /// As `Sink::send`.
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), StreamError> {
        core::future::poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        lock(&self.shared).connection_mut().send_prepared(message)?;
        core::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Starts the close handshake with `code` and `reason` and writes the
    /// close frame; the [`Reader`] then receives the peer's close and ends.
    ///
    /// The close frame is queued at once, even past the high-water mark (as
    /// [`WebSocketStream::close`](super::WebSocketStream::close) does), so
    /// [`Config::close_timeout`](crate::Config::close_timeout) bounds the
    /// rest even when the peer has stopped reading.
    ///
    /// # Errors
    /// As `Sink::send` of [`Message::close`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        // start_send without poll_ready: the stream's start_send queues
        // whatever the queue holds (poll_ready only waits for room), with
        // the same errors and trace event as a send.
        Pin::new(&mut *lock(&self.shared)).start_send(Message::close(code, reason))?;
        core::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Runs `f` on the connection; keep it short.
    pub fn with_connection<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        f(lock(&self.shared).connection())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for Writer<S> {
    type Error = StreamError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        Pin::new(&mut *lock(&self.shared)).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), StreamError> {
        Pin::new(&mut *lock(&self.shared)).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        Pin::new(&mut *lock(&self.shared)).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        Pin::new(&mut *lock(&self.shared)).poll_close(cx)
    }
}
