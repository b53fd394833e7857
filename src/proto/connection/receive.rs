//! Receiving: frames off the caller's buffer, unmasked and checked in place,
//! reassembled into messages (RFC 6455 §5.2-§5.5, §8.1; RFC 7692 §6.2 with
//! the `deflate` feature).

use bytes::{Buf, Bytes, BytesMut};

use super::{Connection, Parsed, State};
use crate::proto::close::CloseFrame;
use crate::proto::config::Role;
use crate::proto::error::Error;
use crate::proto::frame::{FrameHeader, OpCode, RSV1};
use crate::proto::mask::apply_mask;
use crate::proto::message::{DataKind, Fragment, Message};
use crate::proto::text::Utf8Bytes;
use crate::proto::utf8::Utf8Validator;

/// The frame whose header was parsed and whose payload is still arriving.
#[derive(Clone, Copy, Debug)]
pub(super) struct PartialFrame {
    header: FrameHeader,
    /// Its size on the wire, header included.
    wire_len: usize,
    len: usize,
    /// Payload bytes already unmasked (and validated, for text).
    done: usize,
    /// Payload bytes already taken off the caller's buffer (inflated, for a
    /// compressed message); the buffer starts at this payload offset.
    consumed: usize,
}

/// The data message being received.
#[derive(Debug, Default)]
pub(super) struct Incoming {
    /// Its type, while one is in progress.
    kind: Option<DataKind>,
    /// Whether its first frame set RSV1 (permessage-deflate).
    compressed: bool,
    /// Payload bytes received so far.
    size: usize,
    /// Earlier fragments, when reassembling.
    buf: BytesMut,
    utf8: Utf8Validator,
}

/// What [`Connection::receive`] found at the front of the buffer.
#[must_use = "a message is lost if not handled"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// The next message (a data message or a piece of one, a ping, a pong,
    /// or the peer's close frame).
    Message(Message),
    /// The buffer holds no complete message: read more bytes and call again.
    NeedMore,
    /// No message will follow: the peer's close frame came, or the transport
    /// ended. Bytes fed from now on are discarded (§5.5.1); keep driving the
    /// connection until [`Connection::should_close_transport`].
    Closed,
}

impl Received {
    /// The message, if this is one: a shorthand for loops that only need to
    /// know that no message is ready yet.
    ///
    /// ```
    /// # use rfc6455::{Config, Connection, Role};
    /// # let mut conn = Connection::new(Role::Server, Config::default());
    /// # let mut buf = bytes::BytesMut::new();
    /// while let Some(message) = conn.receive(&mut buf)?.message() {
    ///     println!("{message:?}");
    /// }
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    pub fn message(self) -> Option<Message> {
        match self {
            Received::Message(event) => Some(event),
            Received::NeedMore | Received::Closed => None,
        }
    }
}

/// Room left in a read for the header of the frame after the one pending,
/// and the size of a read when no frame is pending.
const READ_CHUNK: usize = 4096;
/// How much a read may grow the receive buffer, as a multiple of what it
/// already holds: memory follows the bytes that arrived (at most this
/// factor more, plus `READ_CHUNK`), never a header's length claim, while a
/// large frame still arrives in a few reads with little copying.
const GROWTH: usize = 3;
/// The most a read asks for while a data frame is streamed in pieces
/// ([`Config::fragments`](crate::Config::fragments)): its bytes leave the
/// buffer as they arrive, so the buffer need not grow with the frame.
const STREAM_READ: usize = 128 << 10;

impl Connection {
    /// Takes the next message off the front of `buf`.
    ///
    /// Pongs to received pings and the echo of a received close frame are
    /// queued as output before the message is returned.
    ///
    /// # Errors
    /// A protocol violation by the peer (see [`Error::close_code`]), or a
    /// failure found by [`handle_timeout`](Self::handle_timeout): the close
    /// frame is queued and the same error is returned by every later call.
    #[inline]
    pub fn receive(&mut self, buf: &mut BytesMut) -> Result<Received, Error> {
        // The common call on an empty buffer (a driver checking for another
        // event before it reads again), answered without entering the frame
        // machinery: twice per message in a request-response exchange.
        if buf.is_empty()
            && self.frame.is_none()
            && self.failure.is_none()
            && matches!(self.state, State::Open | State::CloseSent)
            && !self.transport_done
        {
            return Ok(Received::NeedMore);
        }
        self.receive_buffered(buf)
    }

    /// [`receive`](Self::receive) past its empty-buffer shortcut.
    #[inline(never)]
    fn receive_buffered(&mut self, buf: &mut BytesMut) -> Result<Received, Error> {
        if let Some(e) = &self.failure {
            // Nothing from a failed connection is read (§7.1.7).
            buf.clear();
            return Err(e.clone());
        }
        loop {
            if matches!(self.state, State::Closed | State::CloseReceived)
                || (self.transport_done && self.frame.is_none())
            {
                // Nothing after the peer's close frame is read (§5.5.1).
                buf.clear();
                return Ok(Received::Closed);
            }
            match self.parse_next(buf) {
                Ok(Parsed::Message(event)) => return Ok(Received::Message(event)),
                Ok(Parsed::NeedMore) => return Ok(Received::NeedMore),
                Ok(Parsed::Continue) => {}
                Err(e) => return Err(self.fail_with(e)),
            }
        }
    }

    /// How many more bytes the frame being received needs, given that `buf`
    /// (the buffer passed to [`receive`](Self::receive)) holds `buffered`
    /// bytes. 0 when no frame header is pending.
    pub fn bytes_needed(&self, buffered: usize) -> usize {
        self.frame
            .map_or(0, |f| (f.len - f.consumed).saturating_sub(buffered))
    }

    /// How many bytes the next read should ask for, given that the receive
    /// buffer holds `buffered` bytes in an allocation of `capacity`.
    ///
    /// The rest of the pending frame plus room for the next frame's header,
    /// so that a read usually comes back short (a read that fills its buffer
    /// leaves the transport readable and costs an extra, empty read). With
    /// no frame pending, 4 KiB: a read that may wait for a long time (a
    /// blocking one holds its buffer meanwhile) asks for little.
    ///
    /// In streaming mode ([`Config::fragments`](crate::Config::fragments))
    /// a data frame's bytes leave the buffer as they arrive, and a read
    /// asks for at most 128 KiB.
    ///
    /// Memory follows the bytes that arrived, never a header's length claim:
    /// a read asks for at most the larger of 4 KiB, three times what is
    /// buffered, and the size of the last frame the peer completed (a
    /// 14-byte header announcing 16 MiB earns a 4 KiB read, not a 16 MiB
    /// buffer; once the header of a frame arrived, a peer that just sent a
    /// 1 MiB frame may have this one read in one step, the connection
    /// having held that much already).
    ///
    /// Two refinements keep large frames from being copied as the buffer
    /// grows: a frame that ends at most a quarter past that limit is read to
    /// its end (stopping just short would cost one more growth, and a
    /// growth copies everything buffered), and where the rest of the frame
    /// fits in the spare capacity the read stays within it (growing only for
    /// the next header's room would copy a whole 1 MiB message to make room
    /// for 4 KiB).
    pub fn read_size_hint(&self, buffered: usize, capacity: usize) -> usize {
        let needed = self.bytes_needed(buffered);
        if self.streams_pending_frame() {
            // Handed out in pieces as it arrives: reads of a bounded size,
            // whatever the frame's length.
            return needed.saturating_add(READ_CHUNK).min(STREAM_READ);
        }
        let limit = READ_CHUNK
            .max(buffered.saturating_mul(GROWTH))
            .max(self.last_frame_len);
        if needed > limit.saturating_add(limit / 4) {
            return limit;
        }
        // The frame ends within the limit, or just past it: read to its end
        // (stopping just short would cost one more growth, which copies
        // everything buffered) plus room for the next header, unless that
        // room alone would grow the buffer.
        let spare = capacity.saturating_sub(buffered);
        let whole = needed.saturating_add(READ_CHUNK);
        if needed > 0 && spare >= needed {
            whole.min(spare)
        } else {
            whole
        }
    }

    /// Whether the pending frame is a data frame handed out in pieces.
    fn streams_pending_frame(&self) -> bool {
        self.config.fragments && self.frame.is_some_and(|f| !f.header.opcode.is_control())
    }

    /// Reports that the transport reached end of stream.
    ///
    /// # Errors
    /// `Error::AbnormalClosure` (1006) if the close handshake had not
    /// completed; the connection is then failed and nothing is queued.
    pub fn receive_eof(&mut self) -> Result<(), Error> {
        self.transport_done = true;
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        match self.state {
            State::Closed => return Ok(()),
            // The peer closed after its close frame, before this endpoint
            // answered: the connection's close code is the peer's (§7.1.5),
            // and there is nothing left to send it to.
            State::CloseReceived => {
                self.set_state(State::Closed);
                self.out.clear();
                self.pong_due = None;
                return Ok(());
            }
            _ => {}
        }
        self.set_state(State::Closed);
        self.failure = Some(Error::AbnormalClosure);
        Err(Error::AbnormalClosure)
    }

    pub(super) fn parse_next(&mut self, buf: &mut BytesMut) -> Result<Parsed, Error> {
        let mut frame = match self.frame {
            Some(frame) => frame,
            None => {
                let Some((header, header_len)) = FrameHeader::parse(buf)? else {
                    return Ok(Parsed::NeedMore);
                };
                let len = self.check_header(&header)?;
                buf.advance(header_len);
                self.timers.heard();
                self.stats.bytes_received += (header_len + len) as u64;
                PartialFrame {
                    header,
                    wire_len: header_len + len,
                    len,
                    done: 0,
                    consumed: 0,
                }
            }
        };
        // Unmask and validate what has arrived, even of an unfinished frame,
        // so that invalid text fails as soon as its bytes are here.
        let available = buf.len().min(frame.len - frame.consumed);
        let unmasked = frame.done - frame.consumed;
        if available > unmasked {
            let fresh = &mut buf[unmasked..available];
            if let Some(key) = frame.header.mask {
                apply_mask(fresh, key, frame.done);
            }
            if self.validates_text(&frame.header) {
                self.incoming.utf8.feed(fresh)?;
            }
            frame.done += available - unmasked;
            self.timers.heard();
        }
        // A compressed frame is inflated as it arrives (so that invalid data
        // and oversized output fail early) and leaves the caller's buffer.
        #[cfg(feature = "deflate")]
        if available > 0 && self.incoming.compressed && !frame.header.opcode.is_control() {
            self.inflate(&buf[..available])?;
            buf.advance(available);
            frame.consumed += available;
        }
        if frame.done < frame.len {
            let piece = self.piece(&mut frame, buf);
            self.frame = Some(frame);
            return Ok(piece.map_or(Parsed::NeedMore, Parsed::Message));
        }
        self.frame = None;
        self.last_frame_len = frame.wire_len;
        let rest = frame.len - frame.consumed;
        // A payload that is all the buffer holds (one message per read, the
        // common case) takes the buffer whole: freezing a whole `BytesMut`
        // needs no shared header, where splitting it allocates one.
        let payload = if rest == buf.len() {
            core::mem::take(buf).freeze()
        } else {
            buf.split_to(rest).freeze()
        };
        self.dispatch(frame.header, payload)
    }

    /// In streaming mode ([`Config::fragments`](crate::Config::fragments)),
    /// what arrived of an unfinished data frame, handed out now so that the
    /// frame is never held whole: the unmasked and validated bytes taken
    /// off the caller's buffer (no copy), or what a compressed frame
    /// inflated to so far. `None` if nothing new is ready.
    fn piece(&mut self, frame: &mut PartialFrame, buf: &mut BytesMut) -> Option<Message> {
        if !self.config.fragments || frame.header.opcode.is_control() {
            return None;
        }
        let kind = self.incoming.kind?;
        let payload = if self.incoming.compressed {
            self.take_inflated()?
        } else {
            let ready = frame.done - frame.consumed;
            if ready == 0 {
                return None;
            }
            frame.consumed += ready;
            buf.split_to(ready).freeze()
        };
        Some(Message::Fragment(Fragment {
            kind,
            payload,
            fin: false,
        }))
    }

    /// What the inflater produced so far, counted against the message limit.
    #[cfg(feature = "deflate")]
    fn take_inflated(&mut self) -> Option<Bytes> {
        let codec = self.deflate.as_mut()?;
        if codec.output().is_empty() {
            return None;
        }
        let payload = codec.take_output();
        self.incoming.size = self.incoming.size.saturating_add(payload.len());
        Some(payload)
    }

    #[cfg(not(feature = "deflate"))]
    fn take_inflated(&mut self) -> Option<Bytes> {
        None
    }

    /// Checks a header against the connection state, before any payload is
    /// buffered; returns the payload length.
    pub(super) fn check_header(&mut self, h: &FrameHeader) -> Result<usize, Error> {
        if h.rsv & !self.extensions.rsv_bits() != 0 {
            return Err(Error::ReservedBits);
        }
        // Extensions grant RSV bits to the first frame of a data message only.
        if h.rsv != 0 && !matches!(h.opcode, OpCode::Text | OpCode::Binary) {
            return Err(Error::ReservedBits);
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(Error::UnmaskedFrame),
            (Role::Client, true) => return Err(Error::MaskedFrame),
            _ => {}
        }
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(Error::FrameTooLarge);
        }
        // Fits in usize: bounded by a usize limit just above.
        let len = h.payload_len as usize;
        match h.opcode {
            OpCode::Continuation if self.incoming.kind.is_none() => {
                return Err(Error::UnexpectedContinuation);
            }
            OpCode::Text | OpCode::Binary if self.incoming.kind.is_some() => {
                return Err(Error::ExpectedContinuation);
            }
            OpCode::Text | OpCode::Binary => {
                self.incoming.kind = Some(if h.opcode == OpCode::Text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                });
                self.incoming.compressed = h.rsv & RSV1 != 0;
            }
            _ => {}
        }
        // Compressed messages are measured after decompression instead.
        if !h.opcode.is_control() && !self.incoming.compressed {
            let total = self.incoming.size.saturating_add(len);
            if total > self.config.max_message_size {
                return Err(Error::MessageTooLarge);
            }
            self.incoming.size = total;
        }
        Ok(len)
    }

    pub(super) fn validates_text(&self, h: &FrameHeader) -> bool {
        !h.opcode.is_control()
            && self.incoming.kind == Some(DataKind::Text)
            && !self.incoming.compressed
    }

    pub(super) fn dispatch(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
    ) -> Result<Parsed, Error> {
        match header.opcode {
            OpCode::Ping => {
                if self.state == State::Open && self.config.answer_pings {
                    self.answer_ping(payload.clone());
                }
                Ok(Parsed::Message(Message::Ping(payload)))
            }
            OpCode::Pong => {
                self.timers.pong(&payload);
                Ok(Parsed::Message(Message::Pong(payload)))
            }
            OpCode::Close => {
                let frame = CloseFrame::parse(payload)?;
                let state = match self.state {
                    // The application answers (a proxy relays the far
                    // end's close): nothing more is read meanwhile.
                    State::Open if !self.config.echo_close => State::CloseReceived,
                    State::Open => {
                        // Echo the status code (§5.5.1); an empty close gets
                        // an empty echo.
                        let mut echo = BytesMut::new();
                        if let Some(f) = &frame {
                            echo.extend_from_slice(&f.code.as_u16().to_be_bytes());
                        }
                        self.write_frame(OpCode::Close, true, 0, echo.freeze());
                        State::Closed
                    }
                    _ => State::Closed,
                };
                self.set_state(state);
                self.peer_close = Some(alloc::boxed::Box::new(frame.clone()));
                Ok(Parsed::Message(Message::Close(frame)))
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.data_frame(header, payload)
            }
        }
    }

    pub(super) fn data_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
    ) -> Result<Parsed, Error> {
        let kind = self.incoming.kind.expect("checked in check_header");
        if self.incoming.compressed {
            return self.compressed_frame(header, payload, kind);
        }
        if header.fin && kind == DataKind::Text {
            self.incoming.utf8.finish()?;
        }
        Ok(self.deliver(kind, payload, header.fin))
    }

    /// The event for a data frame whose payload is ready (unmasked, inflated,
    /// validated): the fragment itself in streaming mode, else nothing until
    /// the final frame and then the whole message. Ends the message at `fin`.
    fn deliver(&mut self, kind: DataKind, payload: Bytes, fin: bool) -> Parsed {
        if self.config.fragments {
            if fin {
                self.end_message();
                self.stats.messages_received += 1;
            }
            return Parsed::Message(Message::Fragment(Fragment { kind, payload, fin }));
        }
        if !fin {
            self.incoming.buf.extend_from_slice(&payload);
            return Parsed::Continue;
        }
        let whole = if self.incoming.buf.is_empty() {
            payload
        } else {
            let mut buf = core::mem::take(&mut self.incoming.buf);
            buf.extend_from_slice(&payload);
            buf.freeze()
        };
        self.end_message();
        self.stats.messages_received += 1;
        Parsed::Message(match kind {
            // SAFETY: every byte of the message (inflated, if it was
            // compressed) went through `Utf8Validator`, which accepted it and
            // found no unfinished code point at the end.
            DataKind::Text => Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(whole) }),
            DataKind::Binary => Message::Binary(whole),
        })
    }

    /// The end of a frame of a compressed message, whose payload was inflated
    /// as it arrived (RFC 7692 §7.2.2).
    #[cfg(feature = "deflate")]
    pub(super) fn compressed_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
        kind: DataKind,
    ) -> Result<Parsed, Error> {
        debug_assert!(payload.is_empty(), "inflated on arrival");
        if header.fin {
            self.inflate(&crate::proto::extension::deflate::codec::TAIL)?;
            if kind == DataKind::Text {
                self.incoming.utf8.finish()?;
            }
        }
        let codec = self.deflate.as_mut().ok_or(Error::ReservedBits)?;
        // The inflater accumulates a whole message's output unless fragments
        // are delivered one by one; the message limit counts what was taken.
        let streaming = self.config.fragments;
        let payload = if streaming || header.fin {
            codec.take_output()
        } else {
            Bytes::new()
        };
        if header.fin {
            codec.end_received_message();
        }
        if streaming {
            self.incoming.size = self.incoming.size.saturating_add(payload.len());
        }
        Ok(self.deliver(kind, payload, header.fin))
    }

    /// Without the `deflate` feature no extension grants RSV1.
    #[cfg(not(feature = "deflate"))]
    pub(super) fn compressed_frame(
        &mut self,
        _: FrameHeader,
        _: Bytes,
        _: DataKind,
    ) -> Result<Parsed, Error> {
        Err(Error::ReservedBits)
    }

    /// Inflates a piece of a compressed message and validates the new text.
    #[cfg(feature = "deflate")]
    pub(super) fn inflate(&mut self, input: &[u8]) -> Result<(), Error> {
        let limit = self
            .config
            .max_message_size
            .saturating_sub(self.incoming.size);
        let codec = self.deflate.as_mut().ok_or(Error::ReservedBits)?;
        let start = codec.output().len();
        let inflated = codec.inflate(input, limit);
        // The text inflated before a failure is checked first: what comes
        // first in the message decides the error, however the bytes were
        // split into reads.
        if self.incoming.kind == Some(DataKind::Text) {
            let end = codec.output().len().min(limit);
            self.incoming.utf8.feed(&codec.output()[start..end])?;
        }
        inflated
    }

    pub(super) fn end_message(&mut self) {
        self.incoming.kind = None;
        self.incoming.compressed = false;
        self.incoming.size = 0;
        self.incoming.utf8 = Utf8Validator::new();
    }
}
