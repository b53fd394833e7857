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

use crate::close::CloseCode;
use crate::connection::{Connection, Received, Timestamp};
use crate::message::Message;
use crate::prepared::PreparedMessage;
use crate::stream_error::StreamError;

use super::try_send::TrySendError;
use super::wake::{Side, Wakers};

/// Size of the stack buffer an idle read lands in: a message of up to
/// 32 KiB arrives in one read (one system call). Larger would cost every
/// idle read more stack probing (a page touched per 4 KiB, twice per small
/// echo), for messages that take the heap path after the first anyway.
const IDLE_READ: usize = 32 << 10;
/// From this size of the last idle read on, idle reads go straight to the
/// heap (see `poll_read_more`).
const HEAP_READ_FROM: usize = 4 << 10;
/// Room beyond the last idle read's size in a heap read buffer, for a
/// somewhat larger message or the next frame's header.
const READ_ROOM: usize = 4 << 10;
/// Most slices handed to one vectored write.
const MAX_SLICES: usize = 16;

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
    eof: bool,
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
            eof: false,
            done: false,
            #[cfg(feature = "tracing")]
            span: crate::trace::connection_span(conn_role),
        }
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

    /// Splits into a [`Reader`](super::Reader) and a
    /// [`Writer`](super::Writer) for different tasks. The reader drives the
    /// connection (its deadlines, automatic replies, and writing what
    /// non-waiting sends queued): keep polling it.
    pub fn split(mut self) -> (super::Reader<S>, super::Writer<S>) {
        self.wakers.get_or_insert_with(Arc::default);
        super::split::new(self)
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
        crate::trace::ws_event!(debug, parent: &self.span, code = code.as_u16(), reason, "close frame sent");
        while let Some(item) = self.next().await {
            item?;
        }
        Ok(())
    }

    /// The current time on the connection's clock.
    fn now(&self) -> Timestamp {
        Timestamp::from(Instant::now().saturating_duration_since(self.origin))
    }

    /// Keeps the connection's deadline: acts on it while it has passed, then
    /// arms the timer for the next one, to wake the task polling `side`
    /// (and the other side's, which may be another task). True if the
    /// connection acted on a deadline (it may have changed).
    fn poll_deadline(&mut self, cx: &mut Context<'_>, side: Side) -> bool {
        let mut acted = false;
        while let Some(deadline) = self.conn.poll_timeout() {
            let now = self.now();
            if deadline <= now {
                self.conn.handle_timeout(now);
                acted = true;
                continue;
            }
            let at = self.origin + deadline.as_duration();
            let sleep = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
            if sleep.deadline() != at {
                sleep.as_mut().reset(at);
            }
            let wakers = self.wakers.get_or_insert_with(Arc::default);
            wakers.set(side, cx.waker());
            // The timer wakes both sides: either may act on the deadline.
            let both = Waker::from(Arc::clone(wakers));
            if sleep
                .as_mut()
                .poll(&mut Context::from_waker(&both))
                .is_pending()
            {
                break;
            }
            // The timer does not fire early; trust it over a coarse clock.
            self.conn.handle_timeout(self.now().max(deadline));
            acted = true;
        }
        if acted {
            // What changed may concern the other side's task.
            let other = match side {
                Side::Reading => Side::Sending,
                Side::Sending => Side::Reading,
            };
            if let Some(wakers) = &self.wakers {
                wakers.wake_side(other);
            }
        }
        acted
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

    /// [`poll_write_or_fail`](Self::poll_write_or_fail) from the reading
    /// side. A transport keeps one write waker, the last task's to wait on
    /// it, and this one would displace a waiting sender's: split, the write
    /// waits with a waker for both sides, so the sender still learns of
    /// room when this task has stopped polling the reader (say, to await
    /// the sender). When this task's writes make room, the sending task is
    /// woken to queue more.
    fn poll_write_reading(&mut self, cx: &mut Context<'_>) {
        let before = self.conn.pending_output();
        if before == 0 {
            return;
        }
        match self.wakers.clone() {
            Some(wakers) => {
                wakers.set(Side::Reading, cx.waker());
                let both = Waker::from(wakers);
                let _ = self.poll_write_or_fail(&mut Context::from_waker(&both));
            }
            None => {
                let _ = self.poll_write_or_fail(cx);
            }
        }
        if self.conn.pending_output() < before {
            if let Some(wakers) = &self.wakers {
                wakers.wake_side(Side::Sending);
            }
        }
    }

    /// [`poll_write_or_fail`](Self::poll_write_or_fail) from the sending
    /// side. Once the output is written the connection may be over (this
    /// side's close frame answered the peer's, with
    /// [`Config::echo_close`](crate::Config::echo_close) off; or the write
    /// failed), and closing the transport is the reading side's: it may be
    /// another task, waiting for bytes that will not come, so it is woken.
    fn poll_write_sending(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let written = self.poll_write_or_fail(cx);
        if self.conn.should_close_transport() && !self.done {
            if let Some(wakers) = &self.wakers {
                wakers.wake_side(Side::Reading);
            }
        }
        written
    }

    /// Writes output, turning a write error into the transport's loss.
    fn poll_write_or_fail(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match ready!(self.poll_write_output(cx)) {
            Ok(()) => {}
            Err(e) => self.lost(e),
        }
        Poll::Ready(())
    }

    /// The transport failed: the core drops what it cannot write. After a
    /// complete close handshake that is only how the peer ended the
    /// transport (a server may reset it rather than close it, §7.1.1): the
    /// stream then ends cleanly, without the error.
    fn lost(&mut self, e: io::Error) {
        let clean = self.conn.close_handshake_complete();
        self.conn.transport_failed();
        if !clean {
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
    /// time, output, closing, reading.
    fn poll_turn(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, StreamError>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match self.conn.receive(&mut self.read_buf) {
                Ok(Received::Event(event)) => {
                    if self.read_buf.is_empty() {
                        self.read_buf = BytesMut::new();
                    }
                    // Stamp the arrival, and send pongs and close echoes
                    // without waiting for the caller.
                    self.poll_deadline(cx, Side::Reading);
                    self.poll_write_reading(cx);
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
                Ok(Received::NeedMore | Received::Closed) => {}
                Err(e) => {
                    self.fail_with(e.into());
                }
            }
            if self.poll_deadline(cx, Side::Reading) {
                // Act on what the deadline changed (a failure to report).
                continue;
            }
            // Reading goes on whether or not the output drains: the core
            // bounds what it queues by itself, and sends wait for room.
            self.poll_write_reading(cx);
            if self.conn.should_close_transport() {
                ready!(self.poll_shutdown(cx));
                self.done = true;
                if let Some(wakers) = &self.wakers {
                    // A send waiting on the transport learns it is gone.
                    wakers.wake_side(Side::Sending);
                }
                self.read_buf = BytesMut::new();
                let error = self.error.take().map(|e| *e);
                #[cfg(feature = "tracing")]
                match &error {
                    Some(e) => crate::trace::failure(e),
                    None => tracing::debug!("connection closed"),
                }
                return Poll::Ready(error.map(Err));
            }
            if self.eof {
                return Poll::Pending;
            }
            match ready!(self.poll_read_more(cx)) {
                Ok(0) => {
                    self.eof = true;
                    if let Err(e) = self.conn.receive_eof() {
                        self.fail_with(e.into());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    self.eof = true;
                    self.lost(e);
                }
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
        // Deadlines matter only to a send that waits (the stream keeps them
        // otherwise): a send with room skips them.
        while this.conn.output_is_full() {
            this.poll_deadline(cx, Side::Sending);
            let before = this.conn.pending_output();
            if this.poll_write_sending(cx).is_pending() && this.conn.pending_output() == before {
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
        if this.poll_write_sending(cx).is_pending() {
            // Waiting for the transport: within the connection's deadlines
            // (past the close deadline the output is dropped).
            this.poll_deadline(cx, Side::Sending);
            if this.poll_write_sending(cx).is_pending() {
                this.waiting_to_send(cx);
                return Poll::Pending;
            }
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
            crate::trace::ws_event!(debug, parent: &this.span, code = 1000u16, "close frame sent");
        }
        this.poll_deadline(cx, Side::Sending);
        if this.poll_write_sending(cx).is_pending() {
            // As a waiting send: woken by the reading side's writes too.
            this.waiting_to_send(cx);
            return Poll::Pending;
        }
        // A failure (a lost transport included) is the stream's to report.
        let _ = ready!(Pin::new(&mut this.io).poll_flush(cx));
        Poll::Ready(Ok(()))
    }
}
