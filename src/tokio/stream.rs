//! [`WebSocketStream`]: the driver loop moving bytes between a transport and
//! a [`Connection`], and time into it.

use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;

use bytes::BytesMut;
use futures_core::Stream;
use futures_sink::Sink;
use futures_util::StreamExt;
use futures_util::stream::{SplitSink, SplitStream};
use std::boxed::Box;
use std::string::String;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::options::Options;
use crate::close::CloseCode;
use crate::connection::{Connection, State, Timer};
use crate::error::Error;
use crate::message::Message;
use crate::stream_error::StreamError;

/// Size of the stack buffer an idle read lands in.
const IDLE_READ: usize = 4096;
/// Largest read into the heap buffer at once.
const MAX_READ: usize = 256 << 10;
/// Most slices handed to one vectored write.
const MAX_SLICES: usize = 16;

/// The sending half of a split [`WebSocketStream`].
pub type WsSink<S> = SplitSink<WebSocketStream<S>, Message>;
/// The receiving half of a split [`WebSocketStream`].
pub type WsStream<S> = SplitStream<WebSocketStream<S>>;

/// A WebSocket over an async transport: a `Stream` of received messages and
/// a `Sink` of messages to send.
///
/// The stream yields pings and pongs too (the pong answering a ping is already
/// queued) and the peer's close frame as `Message::Close`, then ends once the
/// close handshake is over and the transport is shut down. A protocol error is
/// yielded once the close frame carrying its code was written; the stream
/// then ends.
pub struct WebSocketStream<S> {
    io: S,
    conn: Connection,
    read_buf: BytesMut,
    options: Options,
    protocol: Option<String>,
    timers: Option<Box<Timers>>,
    /// An error waiting for its close frame to be written.
    failing: Option<StreamError>,
    eof: bool,
    finished: bool,
    /// The connection's `websocket` span (feature `tracing`).
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// Deadlines kept for the connection; boxed so a connection without timers
/// pays one pointer.
struct Timers {
    keepalive: Option<(Pin<Box<Sleep>>, bool)>,
    idle: Option<(Pin<Box<Sleep>>, Instant)>,
    close: Option<Pin<Box<Sleep>>>,
}

impl<S> core::fmt::Debug for WebSocketStream<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocketStream")
            .field("conn", &self.conn)
            .field("buffered", &self.read_buf.len())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Wraps a transport on which the handshake is complete. `leftover` holds
    /// bytes read past the handshake, which belong to the connection.
    pub fn from_parts(
        io: S,
        conn: Connection,
        leftover: BytesMut,
        options: Options,
        protocol: Option<String>,
    ) -> Self {
        #[cfg(feature = "tracing")]
        let conn_role = conn.role();
        let mut ws = WebSocketStream {
            io,
            conn,
            read_buf: leftover,
            options,
            protocol,
            timers: None,
            failing: None,
            eof: false,
            finished: false,
            #[cfg(feature = "tracing")]
            span: crate::trace::connection_span(conn_role),
        };
        let now = Instant::now();
        if ws.options.keepalive.is_some() || ws.options.idle_timeout.is_some() {
            ws.timers = Some(Box::new(Timers {
                keepalive: ws
                    .options
                    .keepalive
                    .map(|k| (Box::pin(tokio::time::sleep_until(now + k.interval)), false)),
                idle: ws
                    .options
                    .idle_timeout
                    .map(|d| (Box::pin(tokio::time::sleep_until(now + d)), now)),
                close: None,
            }));
        }
        ws
    }

    /// Runs this connection's diagnostics under `span` (one made by the
    /// handshake, which carries its events).
    #[cfg(feature = "tracing")]
    pub(crate) fn set_span(&mut self, span: tracing::Span) {
        self.span = span;
    }

    /// This connection's `websocket` span.
    #[cfg(feature = "tracing")]
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The core connection (state, negotiated extensions, failure).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Splits into a sending and a receiving half that can live in different
    /// tasks. Timers and automatic replies are driven by the receiving half.
    pub fn split(self) -> (WsSink<S>, WsStream<S>)
    where
        S: Send,
    {
        StreamExt::split(self)
    }

    /// Closes gracefully: sends a close frame with `code` and `reason`, then
    /// reads (discarding data) until the peer's close arrives and the
    /// transport is shut down, or the close timeout passes.
    ///
    /// # Errors
    /// A failure while closing; [`StreamError::Protocol`] with
    /// [`Error::SendAfterClose`] if a close frame was already sent.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        self.conn.close(code, reason)?;
        crate::trace::ws_event!(debug, parent: &self.span, code = code.as_u16(), reason, "close frame sent");
        while let Some(item) = self.next().await {
            match item {
                Ok(_) => {}
                Err(StreamError::Protocol(Error::AbnormalClosure))
                    if self.conn.state() == State::Closed =>
                {
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes queued output. Ready once everything is written.
    fn poll_write_output(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.pending_output() > 0 {
            let vectored = self.io.is_write_vectored();
            let written = {
                let mut chunks = self.conn.output_chunks();
                let first = chunks.next().unwrap_or_default();
                match chunks.next() {
                    // Header and payload queued apart: one vectored write.
                    Some(second) if vectored => {
                        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                        slices[0] = IoSlice::new(first);
                        slices[1] = IoSlice::new(second);
                        let mut n = 2;
                        for (slot, chunk) in slices[2..].iter_mut().zip(chunks) {
                            *slot = IoSlice::new(chunk);
                            n += 1;
                        }
                        ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..n]))?
                    }
                    // The common case, small frames encoded back to back.
                    _ => ready!(Pin::new(&mut self.io).poll_write(cx, first))?,
                }
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_output(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Reads more bytes into the read buffer; `Ok(0)` is end of stream.
    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.read_buf.is_empty() {
            // Waiting for a new frame: read into the stack so that an idle
            // connection holds no heap buffer.
            let mut stack = [MaybeUninit::<u8>::uninit(); IDLE_READ];
            let mut rb = ReadBuf::uninit(&mut stack);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
            let filled = rb.filled();
            self.read_buf = BytesMut::from(filled);
            return Poll::Ready(Ok(filled.len()));
        }
        // Room for the rest of the pending frame plus a following header, so
        // that a read usually comes back short: a read that fills its buffer
        // leaves the socket marked readable and costs an extra, empty read.
        // Bounded by MAX_READ, so memory follows the bytes that arrive, not
        // the peer's length claim.
        let len = self.read_buf.len();
        let want = self
            .conn
            .bytes_needed(len)
            .saturating_add(IDLE_READ)
            .min(MAX_READ);
        self.read_buf.reserve(want);
        let spare = &mut self.read_buf.spare_capacity_mut()[..want];
        let start = spare.as_ptr().cast::<u8>();
        let mut rb = ReadBuf::uninit(spare);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        // A transport that swapped the ReadBuf for another one would make the
        // count below meaningless for this buffer.
        assert_eq!(
            rb.filled().as_ptr(),
            start,
            "AsyncRead replaced the read buffer"
        );
        let n = rb.filled().len();
        // SAFETY: `ReadBuf` only counts as filled bytes that were initialized,
        // and the assertion above shows they are the first `n` bytes of this
        // buffer's spare capacity. Reading into uninitialized capacity saves
        // zero-filling every read (8% of server time at 1 MiB messages,
        // measured with perf on the echo load benchmark).
        unsafe { self.read_buf.set_len(len + n) };
        Poll::Ready(Ok(n))
    }

    /// Fires elapsed timers into the connection.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> Result<(), Error> {
        if self.conn.close_timer_needed() && self.timers.as_ref().is_none_or(|t| t.close.is_none())
        {
            let deadline = Instant::now() + self.options.close_timeout;
            let timers = self.timers.get_or_insert_with(|| {
                Box::new(Timers {
                    keepalive: None,
                    idle: None,
                    close: None,
                })
            });
            timers.close = Some(Box::pin(tokio::time::sleep_until(deadline)));
        }
        let Some(timers) = self.timers.as_mut() else {
            return Ok(());
        };
        if let Some(close) = timers.close.as_mut() {
            if close.as_mut().poll(cx).is_ready() {
                timers.close = None;
                self.conn.handle_timeout(Timer::Close)?;
            }
        }
        if self.conn.state() != State::Open {
            return Ok(());
        }
        if let Some((sleep, since)) = timers.idle.as_mut() {
            if sleep.as_mut().poll(cx).is_ready() {
                let deadline = *since
                    + self
                        .options
                        .idle_timeout
                        .expect("idle timer set from options");
                if deadline > Instant::now() {
                    sleep.as_mut().reset(deadline);
                    let _ = sleep.as_mut().poll(cx);
                } else {
                    self.conn.handle_timeout(Timer::Idle)?;
                }
            }
        }
        if let Some((sleep, awaiting)) = timers.keepalive.as_mut() {
            let k = self
                .options
                .keepalive
                .expect("keepalive timer set from options");
            while sleep.as_mut().poll(cx).is_ready() {
                if *awaiting {
                    self.conn.handle_timeout(Timer::Keepalive)?;
                    *awaiting = false;
                    sleep
                        .as_mut()
                        .reset(Instant::now() + k.interval.saturating_sub(k.timeout));
                } else {
                    self.conn.send_keepalive()?;
                    *awaiting = true;
                    sleep.as_mut().reset(Instant::now() + k.timeout);
                }
            }
        }
        Ok(())
    }

    fn note_activity(&mut self) {
        if let Some((_, since)) = self.timers.as_mut().and_then(|t| t.idle.as_mut()) {
            *since = Instant::now();
        }
    }

    /// Writes what is queued and shuts the transport down; errors are moot,
    /// the connection is over.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.poll_write_output(cx).is_pending() {
            return Poll::Pending;
        }
        let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
        Poll::Ready(())
    }

    fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, StreamError>>> {
        loop {
            if self.finished {
                return Poll::Ready(None);
            }
            if let Some(e) = self.failing.take() {
                if self.poll_shutdown(cx).is_pending() {
                    self.failing = Some(e);
                    return Poll::Pending;
                }
                self.finished = true;
                #[cfg(feature = "tracing")]
                crate::trace::failure(&e);
                return Poll::Ready(Some(Err(e)));
            }
            if let Err(e) = self.poll_timers(cx) {
                self.failing = Some(e.into());
                continue;
            }
            match self.conn.receive(&mut self.read_buf) {
                Ok(Some(event)) => {
                    if self.read_buf.is_empty() {
                        self.read_buf = BytesMut::new();
                    }
                    // Pongs and close echoes go out without waiting for the caller.
                    if let Poll::Ready(Err(e)) = self.poll_write_output(cx) {
                        self.failing = Some(e.into());
                    }
                    let message: Message = event.into();
                    #[cfg(feature = "tracing")]
                    match &message {
                        Message::Close(frame) => tracing::debug!(
                            code = frame.as_ref().map(|f| f.code.as_u16()),
                            reason = frame.as_ref().map(|f| f.reason.as_str()),
                            "close frame received"
                        ),
                        other => {
                            tracing::trace!(len = other.as_payload().len(), "message received")
                        }
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
                Ok(None) => {}
                Err(e) => {
                    self.failing = Some(e.into());
                    continue;
                }
            }
            match self.poll_write_output(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    self.failing = Some(e.into());
                    continue;
                }
                // A peer that sends pings but does not read gets no more reads.
                Poll::Pending if self.conn.pending_output() > self.options.write_buffer_size => {
                    return Poll::Pending;
                }
                Poll::Pending => {}
            }
            if self.conn.should_close_transport() {
                ready!(self.poll_shutdown(cx));
                self.finished = true;
                crate::trace::ws_event!(debug, "connection closed");
                return Poll::Ready(None);
            }
            if self.conn.state() == State::Closed && self.conn.pending_output() > 0 {
                return Poll::Pending;
            }
            if self.eof {
                // The core decides what the end of the stream means.
                match self.conn.receive_eof() {
                    Ok(()) => continue,
                    Err(e) => {
                        self.failing = Some(e.into());
                        continue;
                    }
                }
            }
            match ready!(self.poll_read_more(cx)) {
                Ok(0) => self.eof = true,
                Ok(_) => self.note_activity(),
                Err(e) => {
                    // The transport is gone: the core reports abnormal closure
                    // if the close handshake was not done.
                    self.eof = true;
                    if self.conn.receive_eof().is_err() {
                        self.failing = Some(e.into());
                    }
                }
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, StreamError>;

    /// Cancel-safe: no message or partial frame is lost if the future driving
    /// this poll is dropped.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        #[cfg(feature = "tracing")]
        let _entered = self.span.clone().entered();
        self.get_mut().poll_next_message(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = StreamError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let this = self.get_mut();
        if let Some(e) = this.conn.failure() {
            return Poll::Ready(Err(e.clone().into()));
        }
        while this.conn.pending_output() >= this.options.write_buffer_size {
            let before = this.conn.pending_output();
            match this.poll_write_output(cx) {
                Poll::Ready(Ok(())) => break,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e.into())),
                Poll::Pending if this.conn.pending_output() < before => {}
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), StreamError> {
        #[cfg(feature = "tracing")]
        match &item {
            Message::Close(frame) => tracing::debug!(
                parent: &self.span,
                code = frame.as_ref().map(|f| f.code.as_u16()),
                reason = frame.as_ref().map(|f| f.reason.as_str()),
                "close frame sent"
            ),
            other => {
                tracing::trace!(parent: &self.span, len = other.as_payload().len(), "message sent")
            }
        }
        Ok(self.get_mut().conn.send(item)?)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let this = self.get_mut();
        ready!(this.poll_write_output(cx))?;
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// Sends a close frame (1000) unless one was sent, and writes it. The
    /// receiving side then sees the peer's close and the end of the stream.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let this = self.get_mut();
        if this.conn.state() == State::Open && this.conn.failure().is_none() {
            this.conn.close(CloseCode::NORMAL, "")?;
            crate::trace::ws_event!(debug, parent: &this.span, code = 1000u16, "close frame sent");
        }
        ready!(this.poll_write_output(cx))?;
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }
}
