//! Sending: messages, fragments and control frames encoded into the output
//! queue, masked on a client (RFC 6455 §5.1-§5.5; RFC 7692 §6.1 with the
//! `deflate` feature).

use bytes::{Bytes, BytesMut};

use super::{Connection, State};
use crate::proto::close::{CloseCode, CloseFrame};
use crate::proto::config::Role;
use crate::proto::error::Error;
#[cfg(feature = "deflate")]
use crate::proto::frame::RSV1;
use crate::proto::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode};
use crate::proto::mask::apply_mask;
use crate::proto::message::{DataKind, Message};
use crate::proto::output::ZERO_COPY_THRESHOLD;
use crate::proto::prepared::PreparedMessage;
use crate::proto::rng::MaskRng;
use crate::proto::text::Utf8Bytes;

impl Connection {
    /// Queues a text message. With permessage-deflate, a message at least as
    /// long as the configured threshold is compressed.
    ///
    /// # Errors
    /// [`Error::SendAfterClose`], [`Error::FragmentOutOfOrder`] while a
    /// fragmented message is unfinished, or the connection's failure.
    pub fn send_text(&mut self, text: impl Into<Utf8Bytes>) -> Result<(), Error> {
        self.send_data(OpCode::Text, text.into().into_bytes())
    }

    /// Queues a binary message. Large payloads are queued by reference on a
    /// server (no copy); a client copies them once while masking.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.send_data(OpCode::Binary, data.into())
    }

    pub(super) fn send_data(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), Error> {
        self.check_can_send()?;
        if self.outgoing.is_some() {
            return Err(Error::FragmentOutOfOrder);
        }
        #[cfg(feature = "deflate")]
        if let Some(compressed) = self
            .deflate
            .as_mut()
            .and_then(|c| c.compress_message(&payload))
        {
            self.write_data(opcode, true, RSV1, compressed);
            self.stats.messages_sent += 1;
            return Ok(());
        }
        self.write_data(opcode, true, 0, payload);
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Queues a data message's (or fragment's) payload as frames of at most
    /// [`Config::max_send_frame_size`](crate::Config::max_send_frame_size),
    /// each a slice of `payload` (§5.4): the first with `opcode` and `rsv`
    /// (RFC 7692 §6: RSV1 on a message's first frame only), the rest
    /// continuations, the last with `fin`.
    fn write_data(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: Bytes) {
        let max = self.config.max_send_frame_size;
        let (mut opcode, mut rsv, mut rest) = (opcode, rsv, payload);
        while rest.len() > max {
            let frame = rest.split_to(max);
            self.write_frame(opcode, false, rsv, frame);
            opcode = OpCode::Continuation;
            rsv = 0;
        }
        self.write_frame(opcode, fin, rsv, rest);
    }

    /// Queues a message framed once for many connections (fan-out): on a
    /// server, the [`PreparedMessage`]'s own bytes are queued by reference,
    /// without a copy or re-framing; see [`PreparedMessage`] for clients
    /// and for permessage-deflate.
    ///
    /// # Errors
    /// As [`send_text`](Self::send_text).
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        self.check_can_send()?;
        if self.outgoing.is_some() {
            return Err(Error::FragmentOutOfOrder);
        }
        if self.role == Role::Client || message.payload().len() > self.config.max_send_frame_size {
            // Masked with this connection's own keys, or framed in pieces
            // this connection's frame size allows.
            return self.send_data(message.opcode(), message.payload().clone());
        }
        #[cfg(feature = "deflate")]
        if let Some(codec) = &self.deflate {
            use crate::proto::extension::deflate::codec::Prepared;
            match codec.prepared(message.payload().len()) {
                Prepared::Uncompressed => {}
                Prepared::Shared { bits, level } => {
                    let fits = |frame: &Bytes| {
                        let header = crate::proto::frame::header_len(frame).unwrap_or(0);
                        frame.len() - header <= self.config.max_send_frame_size
                    };
                    if let Some(frame) = message.compressed_frame(bits, level).filter(fits) {
                        self.out.push_shared(frame);
                        self.stats.messages_sent += 1;
                        return Ok(());
                    }
                }
                Prepared::Own => {
                    return self.send_data(message.opcode(), message.payload().clone());
                }
            }
        }
        self.out.push_shared(message.frame().clone());
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Queues one frame of a fragmented message (§5.4): the first call starts
    /// a message of type `kind`, later calls continue it, and the call with
    /// `fin` ends it. Control frames may be sent in between. For text, the
    /// caller guarantees that the fragments join into valid UTF-8.
    ///
    /// With permessage-deflate, a message whose first fragment reaches the
    /// compression threshold is compressed fragment by fragment, each one
    /// flushed so that the peer can inflate it on arrival; a message whose
    /// first fragment is shorter goes uncompressed.
    ///
    /// # Errors
    /// [`Error::FragmentOutOfOrder`] if `kind` differs from the unfinished
    /// message's type, [`Error::SendAfterClose`], or the connection's failure.
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        payload: impl Into<Bytes>,
        fin: bool,
    ) -> Result<(), Error> {
        self.check_can_send()?;
        let opcode = match self.outgoing {
            None => match kind {
                DataKind::Text => OpCode::Text,
                DataKind::Binary => OpCode::Binary,
            },
            Some(started) if started == kind => OpCode::Continuation,
            Some(_) => return Err(Error::FragmentOutOfOrder),
        };
        self.outgoing = if fin { None } else { Some(kind) };
        if fin {
            self.stats.messages_sent += 1;
        }
        let payload = payload.into();
        #[cfg(feature = "deflate")]
        if let Some(codec) = self.deflate.as_mut() {
            let first = opcode != OpCode::Continuation;
            let (payload, compressed) = codec.compress_fragment(first, payload, fin);
            let rsv = if compressed && first { RSV1 } else { 0 };
            self.write_data(opcode, fin, rsv, payload);
            return Ok(());
        }
        self.write_data(opcode, fin, 0, payload);
        Ok(())
    }

    /// Queues a ping.
    ///
    /// # Errors
    /// [`Error::ControlPayloadTooLong`] past 125 bytes,
    /// [`Error::SendAfterClose`], or the connection's failure.
    pub fn send_ping(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.send_control(OpCode::Ping, payload.into())
    }

    /// Queues a pong: unsolicited (a heartbeat, §5.5.3), or the answer to a
    /// ping when [`Config::answer_pings`](crate::Config::answer_pings) is
    /// off (otherwise the connection answers pings itself).
    ///
    /// # Errors
    /// As [`send_ping`](Self::send_ping).
    pub fn send_pong(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.send_control(OpCode::Pong, payload.into())
    }

    pub(super) fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), Error> {
        self.check_can_send()?;
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlPayloadTooLong);
        }
        self.write_frame(opcode, true, 0, payload);
        Ok(())
    }

    /// Starts the close handshake with a status code and a reason (§7.1.2).
    ///
    /// # Errors
    /// [`Error::InvalidCloseToSend`] for a code that may not be sent or a
    /// reason over 123 bytes, [`Error::SendAfterClose`] if a close frame was
    /// already sent, or the connection's failure.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        };
        frame.validate_to_send()?;
        self.send_close(Some(frame))
    }

    /// Starts the close handshake with the given close frame, or with an empty
    /// one (no status code) for `None`.
    ///
    /// # Errors
    /// As [`close`](Self::close).
    pub fn send_close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.check_can_send()?;
        let mut payload = BytesMut::new();
        if let Some(frame) = &frame {
            frame.validate_to_send()?;
            frame.encode(&mut payload);
        }
        self.write_frame(OpCode::Close, true, 0, payload.freeze());
        // Answering the peer's close (with `Config::echo_close` off) ends
        // the close handshake.
        self.set_state(match self.state {
            State::CloseReceived => State::Closed,
            _ => State::CloseSent,
        });
        Ok(())
    }

    /// Queues any [`Message`]: data, ping, pong or close.
    ///
    /// # Errors
    /// As the `send_*` method for that kind of message.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        match message {
            Message::Text(t) => self.send_text(t),
            Message::Binary(b) => self.send_binary(b),
            Message::Ping(p) => self.send_ping(p),
            Message::Pong(p) => self.send_pong(p),
            Message::Close(frame) => self.send_close(frame),
            Message::Fragment(f) => self.send_fragment(f.kind, f.payload, f.fin),
        }
    }

    /// Fails the connection with `code` (for example 1008 for a policy the
    /// application enforces): the close frame is queued if none was sent,
    /// and [`Error::Failed`] becomes sticky. Codes that may not be sent on
    /// the wire fail the connection without a close frame.
    pub fn fail(&mut self, code: CloseCode) {
        self.fail_with(Error::Failed(code));
    }

    pub(super) fn check_can_send(&self) -> Result<(), Error> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        if !self.close_owed() {
            return Err(Error::SendAfterClose);
        }
        if self.role == Role::Client && self.rng.is_none() {
            return Err(Error::NoRandomSource);
        }
        Ok(())
    }

    /// Encodes one frame into the output queue, masking it on a client.
    pub(super) fn write_frame(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: Bytes) {
        let mask = self.rng.as_mut().map(MaskRng::next_key);
        if mask.is_none() && self.role == Role::Client {
            // A client without randomness cannot mask (see `NoRandomSource`).
            return;
        }
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        if mask.is_none() && payload.len() >= ZERO_COPY_THRESHOLD {
            self.out.push_frame(&head[..head_len], payload);
            return;
        }
        let tail = self.out.tail();
        tail.extend_from_slice(&head[..head_len]);
        let start = tail.len();
        tail.extend_from_slice(&payload);
        if let Some(key) = mask {
            apply_mask(&mut tail[start..], key, 0);
        }
        self.out.grew(head_len + payload.len());
    }

    /// Bytes queued for the transport.
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// The queued output, in order, as a few contiguous chunks: the slices of
    /// one vectored write. Call [`advance_output`](Self::advance_output) with
    /// what the transport took. This and `advance_output` are the one way
    /// output leaves a connection (besides [`output_handles`](Self::output_handles)
    /// for a writer on another thread).
    pub fn output_chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.out.chunks()
    }

    /// Drops the first `n` queued bytes, which the caller has written. A
    /// count larger than [`pending_output`](Self::pending_output) drops
    /// everything (the queue was dropped meanwhile, at the close deadline).
    pub fn advance_output(&mut self, n: usize) {
        let before = self.out.written();
        self.out.advance(n);
        let written = self.out.written() - before;
        if written > 0 {
            self.timers.wrote();
        }
        self.stats.bytes_sent += written;
        self.queue_due_pong();
    }

    /// Answers a ping (§5.5.2). While the transport takes the output, every
    /// ping gets its pong. Once more than the high-water mark is queued
    /// (the peer is not reading), pongs are coalesced (§5.5.3): while the
    /// pong queued for an earlier ping is not written yet, only the latest
    /// ping's payload is kept, to be answered once it is. So a peer that
    /// floods pings and does not read costs at most one pong past the mark.
    pub(super) fn answer_ping(&mut self, payload: Bytes) {
        if self.output_is_full() && self.out.written() < self.pong_end {
            self.pong_due = Some(payload);
        } else {
            self.write_frame(OpCode::Pong, true, 0, payload);
            self.pong_end = self.out.end();
        }
    }

    /// Queues the coalesced pong once the one before it is written, unless
    /// this endpoint has sent its close frame meanwhile.
    fn queue_due_pong(&mut self) {
        if self.out.written() >= self.pong_end {
            if let Some(payload) = self.pong_due.take() {
                if self.state == State::Open {
                    self.answer_ping(payload);
                }
            }
        }
    }

    /// Appends to `dst` up to `max` of the queued chunks as shared handles
    /// (no copy), leaving them queued: for a writer that writes without
    /// holding the connection, then reports what it wrote with
    /// [`advance_output`](Self::advance_output).
    pub fn output_handles(&mut self, dst: &mut alloc::vec::Vec<Bytes>, max: usize) {
        self.out.handles(dst, max);
    }
}
