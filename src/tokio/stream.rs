//! [`WebSocketStream`]: the driver loop of [`Connection`]'s contract over an
//! async transport, with one timer for the connection's deadline.

use core::pin::Pin;
use core::task::{Context, Poll, Waker, ready};
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::sync::Arc;

use bytes::BytesMut;
use futures_core::Stream;
use futures_sink::Sink;
use futures_util::StreamExt;
use std::boxed::Box;
use std::string::String;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::proto::close::CloseCode;
use crate::proto::connection::{Connection, Received, Step, Timestamp};
use crate::proto::message::Message;
use crate::proto::prepared::PreparedMessage;
use crate::shared::stream_error::StreamError;
use crate::shared::vectored;

use super::try_send::TrySendError;
use super::wake::{Side, Wakers};

/// Size of the stack buffer an idle read lands in, the core's
/// ([`Connection::IDLE_READ_SIZE`]): a message of up to that size arrives in
/// one read (one system call).
const IDLE_READ: usize = Connection::IDLE_READ_SIZE;
/// From this size of the last idle read on, idle reads go straight to the
/// heap (see `poll_read_more`).
const HEAP_READ_FROM: usize = 4 << 10;
/// Room beyond the last idle read's size in a heap read buffer, for a
/// somewhat larger message or the next frame's header.
const READ_ROOM: usize = 4 << 10;

/// A WebSocket over an async transport: a `Stream` of received messages and
/// a `Sink` of messages to send.
///
/// The stream yields pings and pongs too (the pong answering a ping is
/// already queued) and the peer's close frame as `Message::Close`, then ends
/// once the transport is closed. If the connection failed (a protocol
/// violation, a keepalive or idle timeout, the transport lost), the failure
/// is yielded once the transport is closed, then the stream ends.
///
/// Deadlines ([`Config`](crate::Config)'s keepalive, idle and close
/// timeouts) are kept by one timer armed from
/// [`Connection::poll_timeout`]; they run while the stream is polled, and a
/// send waiting for the transport honours them too.
pub struct WebSocketStream<S> {
    io: S,
    conn: Connection,
    read_buf: BytesMut,
    /// Bytes the last read into an empty buffer brought: the size of the
    /// messages this connection carries.
    last_read: u32,
    protocol: Option<Box<str>>,
    /// Where this connection's [`Timestamp`]s count from.
    origin: Instant,
    /// The timer at the connection's deadline, made on first need.
    timer: Option<Pin<Box<Sleep>>>,
    /// The tasks reading and sending (different ones once split), made
    /// with the timer or by `split`.
    wakers: Option<Arc<Wakers>>,
    /// The failure to report once the transport is closed (boxed: rare,
    /// and every connection carries the field).
    error: Option<Box<StreamError>>,
    /// The transport is closed and the stream has ended.
    done: bool,
    /// The connection's `websocket` span (feature `tracing`).
    #[cfg(feature = "tracing")]
    span: tracing::Span,
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
    /// bytes read past the handshake, which belong to the connection; the
    /// connection's [`Config`](crate::Config) gives its timeouts.
    pub fn from_parts(
        io: S,
        conn: Connection,
        leftover: BytesMut,
        protocol: Option<String>,
    ) -> Self {
        #[cfg(feature = "tracing")]
        let conn_role = conn.role();
        WebSocketStream {
            io,
            conn,
            read_buf: leftover,
            last_read: 0,
            protocol: protocol.map(String::into_boxed_str),
            origin: Instant::now(),
            timer: None,
            wakers: None,
            error: None,
            done: false,
            #[cfg(feature = "tracing")]
            span: crate::shared::trace::connection_span(conn_role),
        }
    }

    /// The parts [`from_parts`](Self::from_parts) takes: the transport, the
    /// connection, the bytes read but not yet consumed, and the
    /// subprotocol. Output still queued stays in the connection.
    pub fn into_parts(self) -> (S, Connection, BytesMut, Option<String>) {
        (
            self.io,
            self.conn,
            self.read_buf,
            self.protocol.map(String::from),
        )
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

    /// The core connection (state, negotiated extensions, failure, stats).
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

    /// The core connection, for what this type does not wrap (such as
    /// [`Connection::send_fragment`]); output queued this way is written
    /// by the next poll.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Readies the stream to be shared by the two halves of a split: each
    /// side's task is woken through the shared wakers.
    pub(super) fn prepare_split(&mut self) {
        self.wakers.get_or_insert_with(Arc::default);
    }

    /// Bytes queued for the transport and not yet written.
    pub fn pending_output(&self) -> usize {
        self.conn.pending_output()
    }

    /// Queues `message` without waiting, or gives it back: when more than
    /// [`Config::write_buffer_size`](crate::Config::write_buffer_size) bytes
    /// are already queued ([`TrySendError::Full`]: a broadcaster skips a slow
    /// receiver this way), or when the connection can no longer send
    /// ([`TrySendError::Closed`]). The task polling the stream writes it.
    ///
    /// # Errors
    /// As above; a message the core refuses (an invalid close code, say) is
    /// [`TrySendError::Refused`].
    pub fn try_send(&mut self, message: Message) -> Result<(), TrySendError<Message>> {
        match self.try_queue() {
            Err(closed) => Err(closed.with(message)),
            Ok(()) => match self.conn.send(message.clone()) {
                Ok(()) => {
                    self.queued();
                    Ok(())
                }
                Err(e) => Err(TrySendError::Refused(message, e)),
            },
        }
    }

    /// [`try_send`](Self::try_send) for a [`PreparedMessage`]: on a server,
    /// the message's shared frame is queued without a copy.
    ///
    /// # Errors
    /// As [`try_send`](Self::try_send).
    pub fn try_send_prepared(&mut self, message: &PreparedMessage) -> Result<(), TrySendError<()>> {
        self.try_queue().map_err(|e| e.with(()))?;
        self.conn
            .send_prepared(message)
            .map_err(|e| TrySendError::Refused((), e))?;
        self.queued();
        Ok(())
    }

    /// Sends a [`PreparedMessage`], waiting while the output queue is over
    /// its high-water mark, as the `Sink` does for a [`Message`].
    ///
    /// # Errors
    /// As `Sink::send`.
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), StreamError> {
        core::future::poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        self.conn.send_prepared(message)?;
        core::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Whether a non-waiting send may queue now.
    fn try_queue(&self) -> Result<(), TrySendError<()>> {
        if self.send_error().is_some() || !self.conn.can_send() {
            return Err(TrySendError::Closed(()));
        }
        if self.conn.output_is_full() {
            return Err(TrySendError::Full(()));
        }
        Ok(())
    }

    /// Output was queued without a task to write it: wake the reading one.
    fn queued(&self) {
        if let Some(wakers) = &self.wakers {
            wakers.wake_side(Side::Reading);
        }
    }

    /// Closes gracefully: sends a close frame with `code` and `reason`, then
    /// reads (discarding data) until the close handshake is over and the
    /// transport is closed, or the close timeout passes.
    ///
    /// # Errors
    /// A failure while closing (the peer not answering within the close
    /// timeout is [`Error::AbnormalClosure`](crate::Error::AbnormalClosure)); [`StreamError::Protocol`] with
    /// [`Error::SendAfterClose`](crate::Error::SendAfterClose) if a close frame was already sent.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), StreamError> {
        self.conn.close(code, reason)?;
        crate::shared::trace::ws_event!(debug, parent: &self.span, code = code.as_u16(), reason, "close frame sent");
        while let Some(item) = self.next().await {
            item?;
        }
        Ok(())
    }

    /// The current time on the connection's clock.
    fn now(&self) -> Timestamp {
        Timestamp::from(Instant::now().saturating_duration_since(self.origin))
    }

    /// One driver step ([`Connection::poll`]) and what it asks for besides
    /// reading: writes the output (a write that completes steps again),
    /// keeps the one timer at the step's `wake_at` for the task polling
    /// `side`. Returns the last step: [`Step::Close`], or [`Step::Run`] with
    /// the output written as far as the transport took it.
    fn poll_drive(&mut self, cx: &mut Context<'_>, side: Side) -> Step {
        // The time a timer fired at: it never fires early, so the step is
        // told at least that time, whatever a coarse clock says.
        let mut fired = Timestamp::ZERO;
        loop {
            let before = (self.conn.state(), self.conn.failure().is_some());
            let step = self.conn.poll(self.now().max(fired));
            if (self.conn.state(), self.conn.failure().is_some()) != before {
                // A deadline changed the connection: the other side's task
                // (a send waiting for room, a reader) must learn it.
                self.wake(side.other());
            }
            let Step::Run { write, wake_at, .. } = step else {
                if side == Side::Sending {
                    // Closing the transport is the reading side's: it may be
                    // another task, waiting for bytes that will not come
                    // (this side's close answered the peer's, with
                    // `Config::echo_close` off, or a write failed).
                    self.wake(Side::Reading);
                }
                return step;
            };
            if write {
                let pending = self.conn.pending_output();
                if let Some(wakers) = &self.wakers {
                    // Before the write registers its waker for both sides:
                    // readiness arriving in between must find this task.
                    wakers.set(side, cx.waker());
                }
                let written = self.poll_write_output(cx);
                if side == Side::Reading && self.conn.pending_output() < pending {
                    // A transport keeps one write waker, the last task's to
                    // wait on it: this task's writes made room for the
                    // sending task, whose waker it may have displaced.
                    self.wake(Side::Sending);
                }
                match written {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => {
                        self.lost(e);
                        continue;
                    }
                    Poll::Pending => {}
                }
            }
            match self.poll_timer(cx, wake_at, side) {
                Some(deadline) => fired = deadline,
                None => return step,
            }
        }
    }

    /// Arms the timer at `wake_at` to wake the task polling `side` (and the
    /// other side's: either may act on it). The deadline, if it has passed.
    fn poll_timer(
        &mut self,
        cx: &mut Context<'_>,
        wake_at: Option<Timestamp>,
        side: Side,
    ) -> Option<Timestamp> {
        let deadline = wake_at?;
        let at = self.origin + deadline.as_duration();
        let sleep = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        let wakers = self.wakers.get_or_insert_with(Arc::default);
        wakers.set(side, cx.waker());
        let both = Waker::from(Arc::clone(wakers));
        match sleep.as_mut().poll(&mut Context::from_waker(&both)) {
            Poll::Ready(()) => Some(deadline),
            Poll::Pending => None,
        }
    }

    /// Wakes the task polling `side`, if it waits.
    fn wake(&self, side: Side) {
        if let Some(wakers) = &self.wakers {
            wakers.wake_side(side);
        }
    }

    /// Writes queued output, one vectored write at a time. Ready once
    /// everything is written.
    fn poll_write_output(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Split, both tasks write, and a transport keeps one write waker:
        // the last task's to wait on it. Readiness must reach whichever
        // side waits (a reader that stopped being polled must not swallow
        // the wake-up of a writer waiting for room), so writes register
        // the waker of both sides; each side keeps its own in `Wakers`
        // before it returns `Pending`.
        match self.wakers.as_ref().map(|w| Waker::from(Arc::clone(w))) {
            Some(both) => self.poll_write_chunks(&mut Context::from_waker(&both)),
            None => self.poll_write_chunks(cx),
        }
    }

    /// [`poll_write_output`](Self::poll_write_output) with the waker chosen.
    fn poll_write_chunks(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.pending_output() > 0 {
            let written = {
                let mut chunks = self.conn.output_chunks();
                let first = chunks.next().unwrap_or_default();
                match chunks.next() {
                    // Header and payload queued apart, or frames by
                    // reference: one vectored write.
                    Some(_) if self.io.is_write_vectored() => {
                        let mut slices = [IoSlice::new(&[]); vectored::MAX_SLICES];
                        let n = vectored::fill(self.conn.output_chunks(), &mut slices);
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

    /// The transport failed: the core drops what it cannot write and says
    /// whether the connection had ended cleanly already (the error is then
    /// only how the peer ended the transport, §7.1.1), or reports it.
    fn lost(&mut self, e: io::Error) {
        if self.conn.transport_failed().is_err() {
            self.fail_with(StreamError::Io(e));
        }
    }

    /// Reads more bytes into the read buffer; `Ok(0)` is end of stream.
    ///
    /// Waiting for a new frame, the read lands on the stack and what
    /// arrived is copied into a buffer of its size, so that an idle
    /// connection holds no read buffer and a small message no large one.
    /// Where the last such read was large (a connection carrying large
    /// messages), it lands straight in a heap buffer of that size instead:
    /// no copy, and still no buffer kept while nothing arrives.
    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let fresh = self.read_buf.capacity() == 0;
        if fresh && (self.last_read as usize) < HEAP_READ_FROM {
            return self.poll_read_into_stack(cx);
        }
        if fresh {
            self.read_buf = BytesMut::with_capacity(self.last_read as usize + READ_ROOM);
        }
        let len = self.read_buf.len();
        let mut want = self.conn.read_size_hint(len, self.read_buf.capacity());
        if len == 0 {
            want = want.max(self.read_buf.capacity());
        }
        self.read_buf.reserve(want);
        let spare = &mut self.read_buf.spare_capacity_mut()[..want];
        let start = spare.as_ptr().cast::<u8>();
        let mut rb = ReadBuf::uninit(spare);
        match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {
                if len == 0 {
                    // Nothing came: hold no buffer while waiting.
                    self.read_buf = BytesMut::new();
                }
                return Poll::Pending;
            }
        }
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
        if len == 0 {
            self.last_read = u32::try_from(n).unwrap_or(u32::MAX);
        }
        Poll::Ready(Ok(n))
    }

    /// The read of a connection waiting for a new frame, into the stack.
    ///
    /// Never inlined: its stack buffer would otherwise be probed, page by
    /// page, on every poll of the stream, even one that only hands out an
    /// already buffered message (15% of the time to decode 16-byte frames,
    /// measured with perf on `benches/compare`).
    #[inline(never)]
    fn poll_read_into_stack(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut stack = [MaybeUninit::<u8>::uninit(); IDLE_READ];
        let mut rb = ReadBuf::uninit(&mut stack);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        let filled = rb.filled();
        // A full read is likely the start of a larger frame: room for as much
        // again and the next header (memory still follows what arrived).
        let room = if filled.len() == IDLE_READ {
            2 * IDLE_READ + READ_ROOM
        } else {
            filled.len()
        };
        let mut buf = BytesMut::with_capacity(room);
        buf.extend_from_slice(filled);
        self.read_buf = buf;
        self.last_read = u32::try_from(filled.len()).unwrap_or(u32::MAX);
        Poll::Ready(Ok(filled.len()))
    }

    /// Closes the transport; errors are moot, the connection is over.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
        Poll::Ready(())
    }

    /// [`poll_turn`](Self::poll_turn), remembering the task if it waits
    /// (a split writer's non-waiting sends wake it to write).
    fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, StreamError>>> {
        let result = self.poll_turn(cx);
        if result.is_pending() {
            if let Some(wakers) = &self.wakers {
                wakers.set(Side::Reading, cx.waker());
            }
        }
        result
    }

    /// One turn of the driver contract (see [`Connection`]): bytes in,
    /// the step, reading.
    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, StreamError>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match self.conn.receive(&mut self.read_buf) {
                Ok(Received::Message(event)) => {
                    if self.read_buf.is_empty() {
                        self.read_buf = BytesMut::new();
                    }
                    // Stamp the arrival, and write pongs and close echoes
                    // without waiting for the caller (a close is the next
                    // turn's).
                    let _ = self.poll_drive(cx, Side::Reading);
                    let message = event;
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
                Ok(Received::NeedMore | Received::Closed) => {}
                // Reported with the step's outcome, once the transport is
                // closed.
                Err(e) => self.fail_with(e.into()),
            }
            let read = match self.poll_drive(cx, Side::Reading) {
                Step::Close(outcome) => {
                    ready!(self.poll_shutdown(cx));
                    self.done = true;
                    // A send waiting on the transport learns it is gone.
                    self.wake(Side::Sending);
                    self.read_buf = BytesMut::new();
                    let error = self.error.take().map(|e| *e);
                    let error = error.or_else(|| outcome.err().map(StreamError::from));
                    #[cfg(feature = "tracing")]
                    match &error {
                        Some(e) => crate::shared::trace::failure(e),
                        None => tracing::debug!("connection closed"),
                    }
                    return Poll::Ready(error.map(Err));
                }
                Step::Run { read, .. } => read,
            };
            if !read {
                return Poll::Pending;
            }
            match ready!(self.poll_read_more(cx)) {
                Ok(0) => {
                    if let Err(e) = self.conn.receive_eof() {
                        self.fail_with(e.into());
                    }
                }
                Ok(_) => {}
                Err(e) => self.lost(e),
            }
        }
    }

    /// Remembers the task waiting to send, where another task reads.
    fn waiting_to_send(&self, cx: &Context<'_>) {
        if let Some(wakers) = &self.wakers {
            wakers.set(Side::Sending, cx.waker());
        }
    }

    /// Keeps the first failure, to report once the transport is closed.
    fn fail_with(&mut self, e: StreamError) {
        if self.error.is_none() {
            self.error = Some(Box::new(e));
        }
    }

    /// The error a send gets on a connection that can no longer send.
    fn send_error(&self) -> Option<StreamError> {
        if let Some(e) = self.conn.failure() {
            return Some(e.clone().into());
        }
        self.done.then_some(StreamError::Closed)
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

    /// Ready while at most [`Config::write_buffer_size`](crate::Config::write_buffer_size)
    /// bytes are queued; otherwise writes, and waits for the transport.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let this = self.get_mut();
        while this.conn.output_is_full() {
            let before = this.conn.pending_output();
            let step = this.poll_drive(cx, Side::Sending);
            if matches!(step, Step::Run { .. }) && this.conn.pending_output() >= before {
                this.waiting_to_send(cx);
                return Poll::Pending;
            }
        }
        match this.send_error() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
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
        let this = self.get_mut();
        if let Some(e) = this.send_error() {
            return Err(e);
        }
        Ok(this.conn.send(item)?)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let this = self.get_mut();
        // Waiting for the transport is bounded by the connection's
        // deadlines (past the close deadline the output is dropped).
        if let Step::Run { write: true, .. } = this.poll_drive(cx, Side::Sending) {
            this.waiting_to_send(cx);
            return Poll::Pending;
        }
        if let Some(e) = this.send_error() {
            return Poll::Ready(Err(e));
        }
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// Sends a close frame (1000) unless one was sent, and writes it. The
    /// receiving side then sees the peer's close and the end of the stream.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), StreamError>> {
        let this = self.get_mut();
        if this.conn.can_send() {
            this.conn.close(CloseCode::NORMAL, "")?;
            crate::shared::trace::ws_event!(debug, parent: &this.span, code = 1000u16, "close frame sent");
        }
        if let Step::Run { write: true, .. } = this.poll_drive(cx, Side::Sending) {
            this.waiting_to_send(cx);
            return Poll::Pending;
        }
        // A failure (a lost transport included) is the stream's to report.
        let _ = ready!(Pin::new(&mut this.io).poll_flush(cx));
        Poll::Ready(Ok(()))
    }
}
