//! The connection state machine: frames in, events out, frames queued
//! (RFC 6455 §5, §6, §7).
//!
//! A [`Connection`] owns every protocol decision after the handshake. It never
//! touches a socket or a clock: the caller feeds received bytes through
//! [`Connection::receive`], writes what [`Connection::output_chunks`] holds,
//! and reports elapsed deadlines with [`Connection::handle_timeout`].
//!
//! # Receiving
//! `receive` takes complete frames off the front of a [`BytesMut`] the caller
//! owns and unmasks them in place, so a payload becomes a [`Bytes`] without a
//! copy. A partial frame stays in the caller's buffer, and what the connection
//! learnt about it (its parsed header, how much of its payload is already
//! unmasked and validated) stays in the connection: dropping a pending read
//! loses nothing as long as the buffer is kept. The buffer must be the same
//! one across calls and its unread bytes must not be modified.
//!
//! # Closing (§7)
//! A peer's close frame is an [`Event::Close`]; its echo is queued at once. A
//! local [`close`](Connection::close) queues a close frame; after it no data
//! may be sent ([`Error::SendAfterClose`]). Once a close frame was sent,
//! [`close_timer_needed`](Connection::close_timer_needed) asks the caller to
//! arm a deadline, and [`should_close_transport`](Connection::should_close_transport)
//! tells when the transport may be closed: a server closes it as soon as the
//! handshake completes and its output is written (§7.1.1); a client waits for
//! the server to close it, or for the close deadline.

use bytes::{Buf, Bytes, BytesMut};

use crate::close::{CloseCode, CloseFrame};
use crate::config::{Config, Role};
use crate::error::Error;
use crate::extension::Negotiated;
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode, RSV1};
use crate::mask::apply_mask;
use crate::message::{DataKind, Event, Fragment, Message};
use crate::output::{Output, ZERO_COPY_THRESHOLD};
use crate::rng::MaskRng;
use crate::text::Utf8Bytes;
use crate::utf8::Utf8Validator;

/// Where the connection is in its lifecycle (§4, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// This endpoint sent a close frame and waits for the peer's.
    CloseSent,
    /// Both close frames were exchanged, or the connection failed, or the
    /// transport is gone.
    Closed,
}

/// Deadlines the caller keeps on the connection's behalf (the core has no clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timer {
    /// The close handshake took too long: give up on the peer.
    Close,
    /// A keepalive ping went unanswered for too long.
    Keepalive,
    /// Nothing was received for too long.
    Idle,
}

/// The frame whose header was parsed and whose payload is still arriving.
#[derive(Clone, Copy, Debug)]
struct PartialFrame {
    header: FrameHeader,
    len: usize,
    /// Payload bytes already unmasked (and validated, for text).
    done: usize,
    /// Payload bytes already taken off the caller's buffer (inflated, for a
    /// compressed message); the buffer starts at this payload offset.
    consumed: usize,
}

/// The data message being received.
#[derive(Debug, Default)]
struct Incoming {
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

/// A WebSocket connection after the opening handshake.
///
/// See the module documentation for how input, output and time flow.
pub struct Connection {
    role: Role,
    config: Config,
    extensions: Negotiated,
    state: State,
    failure: Option<Error>,
    /// Whether the transport is known to be gone (EOF read, or the close
    /// deadline passed).
    transport_done: bool,
    frame: Option<PartialFrame>,
    incoming: Incoming,
    /// The type of the fragmented message being sent, if one is unfinished.
    outgoing: Option<DataKind>,
    out: Output,
    rng: Option<MaskRng>,
    awaiting_pong: bool,
    /// permessage-deflate state, when negotiated.
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<crate::extension::deflate::codec::DeflateCodec>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("failure", &self.failure)
            .field("pending_output", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection with no extensions negotiated.
    pub fn new(role: Role, config: Config) -> Self {
        Self::with_extensions(role, config, Negotiated::default())
    }

    /// A connection using the extensions the handshake negotiated.
    pub fn with_extensions(role: Role, config: Config, extensions: Negotiated) -> Self {
        Connection {
            role,
            config,
            #[cfg(feature = "deflate")]
            deflate: extensions
                .deflate
                .as_ref()
                .map(|agreed| crate::extension::deflate::codec::DeflateCodec::new(role, agreed)),
            extensions,
            state: State::Open,
            failure: None,
            transport_done: false,
            frame: None,
            incoming: Incoming::default(),
            outgoing: None,
            out: Output::default(),
            rng: (role == Role::Client).then(MaskRng::from_os),
            awaiting_pong: false,
        }
    }

    /// Replaces the mask key generator with a deterministic one, for
    /// reproducible tests. Has no effect on a server, which never masks.
    pub fn set_mask_seed(&mut self, seed: [u8; 32]) {
        if self.role == Role::Client {
            self.rng = Some(MaskRng::from_seed(seed));
        }
    }

    /// This endpoint's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The negotiated extensions.
    pub fn extensions(&self) -> &Negotiated {
        &self.extensions
    }

    /// The lifecycle state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The error the connection failed with, if it did.
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    // ----------------------------------------------------------------- input

    /// Takes the next event off the front of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete event yet (read more
    /// and call again) and, after the peer's close frame, forever. Pongs to
    /// received pings and the echo of a received close frame are queued as
    /// output before the event is returned.
    ///
    /// # Errors
    /// A protocol violation by the peer (see [`Error::close_code`]); its close
    /// frame is queued and the error is returned by every later call.
    pub fn receive(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, Error> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        loop {
            if self.state == State::Closed || (self.transport_done && self.frame.is_none()) {
                // Nothing after the peer's close frame is read (§5.5.1).
                buf.clear();
                return Ok(None);
            }
            match self.step(buf) {
                Ok(Step::Event(event)) => return Ok(Some(event)),
                Ok(Step::NeedMore) => return Ok(None),
                Ok(Step::Continue) => {}
                Err(e) => return Err(self.fail_with(e)),
            }
        }
    }

    /// How many more bytes the frame being received needs, given that `buf`
    /// (the buffer passed to [`receive`](Self::receive)) holds `buffered`
    /// bytes: a hint for sizing the next read. 0 when no frame header is
    /// pending.
    pub fn bytes_needed(&self, buffered: usize) -> usize {
        self.frame
            .map_or(0, |f| (f.len - f.consumed).saturating_sub(buffered))
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
        if self.state == State::Closed {
            return Ok(());
        }
        self.state = State::Closed;
        self.failure = Some(Error::AbnormalClosure);
        Err(Error::AbnormalClosure)
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Step, Error> {
        let mut frame = match self.frame {
            Some(frame) => frame,
            None => {
                let Some((header, header_len)) = FrameHeader::parse(buf)? else {
                    return Ok(Step::NeedMore);
                };
                let len = self.check_header(&header)?;
                buf.advance(header_len);
                PartialFrame {
                    header,
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
            self.frame = Some(frame);
            return Ok(Step::NeedMore);
        }
        self.frame = None;
        let payload = buf.split_to(frame.len - frame.consumed).freeze();
        self.dispatch(frame.header, payload)
    }

    /// Checks a header against the connection state, before any payload is
    /// buffered; returns the payload length.
    fn check_header(&mut self, h: &FrameHeader) -> Result<usize, Error> {
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
        if h.payload_len > self.config.get_max_frame_size() as u64 {
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
            if total > self.config.get_max_message_size() {
                return Err(Error::MessageTooLarge);
            }
            self.incoming.size = total;
        }
        Ok(len)
    }

    fn validates_text(&self, h: &FrameHeader) -> bool {
        !h.opcode.is_control()
            && self.incoming.kind == Some(DataKind::Text)
            && !self.incoming.compressed
    }

    fn dispatch(&mut self, header: FrameHeader, payload: Bytes) -> Result<Step, Error> {
        match header.opcode {
            OpCode::Ping => {
                if self.state == State::Open {
                    self.write_frame(OpCode::Pong, true, 0, payload.clone());
                }
                Ok(Step::Event(Event::Ping(payload)))
            }
            OpCode::Pong => {
                self.awaiting_pong = false;
                Ok(Step::Event(Event::Pong(payload)))
            }
            OpCode::Close => {
                let frame = CloseFrame::parse(payload)?;
                if self.state == State::Open {
                    // Echo the status code (§5.5.1); an empty close gets an empty echo.
                    let mut echo = BytesMut::new();
                    if let Some(f) = &frame {
                        echo.extend_from_slice(&f.code.as_u16().to_be_bytes());
                    }
                    self.write_frame(OpCode::Close, true, 0, echo.freeze());
                }
                self.state = State::Closed;
                Ok(Step::Event(Event::Close(frame)))
            }
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {
                self.data_frame(header, payload)
            }
        }
    }

    fn data_frame(&mut self, header: FrameHeader, payload: Bytes) -> Result<Step, Error> {
        let kind = self.incoming.kind.expect("checked in check_header");
        if self.incoming.compressed {
            return self.compressed_frame(header, payload, kind);
        }
        if header.fin && kind == DataKind::Text {
            self.incoming.utf8.finish()?;
        }
        if self.config.get_fragments() {
            if header.fin {
                self.end_message();
            }
            return Ok(Step::Event(Event::Fragment(Fragment {
                kind,
                payload,
                fin: header.fin,
            })));
        }
        if !header.fin {
            self.incoming.buf.extend_from_slice(&payload);
            return Ok(Step::Continue);
        }
        let whole = if self.incoming.buf.is_empty() {
            payload
        } else {
            let mut buf = core::mem::take(&mut self.incoming.buf);
            buf.extend_from_slice(&payload);
            buf.freeze()
        };
        self.end_message();
        Ok(Step::Event(match kind {
            // SAFETY: the whole message went through `Utf8Validator`, which
            // accepted every byte and found no unfinished code point.
            DataKind::Text => Event::Text(unsafe { Utf8Bytes::from_bytes_unchecked(whole) }),
            DataKind::Binary => Event::Binary(whole),
        }))
    }

    /// The end of a frame of a compressed message, whose payload was inflated
    /// as it arrived (RFC 7692 §7.2.2).
    #[cfg(feature = "deflate")]
    fn compressed_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
        kind: DataKind,
    ) -> Result<Step, Error> {
        debug_assert!(payload.is_empty(), "inflated on arrival");
        if header.fin {
            self.inflate(&crate::extension::deflate::codec::TAIL)?;
            if kind == DataKind::Text {
                self.incoming.utf8.finish()?;
            }
        }
        let codec = self.deflate.as_mut().ok_or(Error::ReservedBits)?;
        if self.config.get_fragments() {
            let payload = codec.take_output();
            self.incoming.size = self.incoming.size.saturating_add(payload.len());
            if header.fin {
                codec.end_received_message();
                self.end_message();
            }
            return Ok(Step::Event(Event::Fragment(Fragment {
                kind,
                payload,
                fin: header.fin,
            })));
        }
        if !header.fin {
            return Ok(Step::Continue);
        }
        let whole = codec.take_output();
        codec.end_received_message();
        self.end_message();
        Ok(Step::Event(match kind {
            // SAFETY: every inflated byte went through `Utf8Validator`, which
            // accepted it and found no unfinished code point.
            DataKind::Text => Event::Text(unsafe { Utf8Bytes::from_bytes_unchecked(whole) }),
            DataKind::Binary => Event::Binary(whole),
        }))
    }

    /// Without the `deflate` feature no extension grants RSV1.
    #[cfg(not(feature = "deflate"))]
    fn compressed_frame(&mut self, _: FrameHeader, _: Bytes, _: DataKind) -> Result<Step, Error> {
        Err(Error::ReservedBits)
    }

    /// Inflates a piece of a compressed message and validates the new text.
    #[cfg(feature = "deflate")]
    fn inflate(&mut self, input: &[u8]) -> Result<(), Error> {
        let limit = self
            .config
            .get_max_message_size()
            .saturating_sub(self.incoming.size);
        let codec = self.deflate.as_mut().ok_or(Error::ReservedBits)?;
        let start = codec.output().len();
        codec.inflate(input, limit)?;
        if self.incoming.kind == Some(DataKind::Text) {
            self.incoming.utf8.feed(&codec.output()[start..])?;
        }
        Ok(())
    }

    fn end_message(&mut self) {
        self.incoming.kind = None;
        self.incoming.compressed = false;
        self.incoming.size = 0;
        self.incoming.utf8 = Utf8Validator::new();
    }

    /// Fails the connection: queues a close frame with the error's code if
    /// none was sent yet, and makes the error sticky.
    fn fail_with(&mut self, e: Error) -> Error {
        if self.failure.is_none() {
            if self.state == State::Open && !self.transport_done {
                if let Some(code) = e.close_code().filter(|c| c.is_sendable()) {
                    self.write_frame(
                        OpCode::Close,
                        true,
                        0,
                        Bytes::copy_from_slice(&code.as_u16().to_be_bytes()),
                    );
                }
            }
            self.state = State::Closed;
            self.failure = Some(e.clone());
            self.frame = None;
            self.incoming = Incoming::default();
            #[cfg(feature = "deflate")]
            {
                self.deflate = None;
            }
        }
        e
    }

    // ---------------------------------------------------------------- output

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

    fn send_data(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), Error> {
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
            self.write_frame(opcode, true, RSV1, compressed);
            return Ok(());
        }
        self.write_frame(opcode, true, 0, payload);
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
        let payload = payload.into();
        #[cfg(feature = "deflate")]
        if let Some(codec) = self.deflate.as_mut() {
            let first = opcode != OpCode::Continuation;
            let (payload, compressed) = codec.compress_fragment(first, payload, fin);
            let rsv = if compressed && first { RSV1 } else { 0 };
            self.write_frame(opcode, fin, rsv, payload);
            return Ok(());
        }
        self.write_frame(opcode, fin, 0, payload);
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

    /// Queues an unsolicited pong (a heartbeat, §5.5.3). Pongs answering
    /// pings are queued by the connection itself.
    ///
    /// # Errors
    /// As [`send_ping`](Self::send_ping).
    pub fn send_pong(&mut self, payload: impl Into<Bytes>) -> Result<(), Error> {
        self.send_control(OpCode::Pong, payload.into())
    }

    fn send_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), Error> {
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
        self.state = State::CloseSent;
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

    fn check_can_send(&self) -> Result<(), Error> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        if self.state != State::Open {
            return Err(Error::SendAfterClose);
        }
        Ok(())
    }

    /// Encodes one frame into the output queue, masking it on a client.
    fn write_frame(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: Bytes) {
        let mask = self.rng.as_mut().map(MaskRng::next_key);
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let tail = self.out.tail();
        tail.extend_from_slice(&head[..head_len]);
        match mask {
            Some(key) => {
                let start = tail.len();
                tail.extend_from_slice(&payload);
                apply_mask(&mut tail[start..], key, 0);
                self.out.grew(head_len + payload.len());
            }
            None if payload.len() >= ZERO_COPY_THRESHOLD => {
                self.out.grew(head_len);
                self.out.push_shared(payload);
            }
            None => {
                tail.extend_from_slice(&payload);
                self.out.grew(head_len + payload.len());
            }
        }
    }

    /// Bytes queued for the transport.
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// The queued output, in order, as a few contiguous chunks (for a
    /// vectored write). Call [`advance_output`](Self::advance_output) with
    /// what was written.
    pub fn output_chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.out.chunks()
    }

    /// Fills `dst` with the queued output for a vectored write and returns
    /// how many slices were filled.
    #[cfg(feature = "std")]
    pub fn output_io_slices<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.out.chunks()) {
            *slot = std::io::IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Drops the first `n` queued bytes, which the caller has written.
    ///
    /// # Panics
    /// If `n` exceeds [`pending_output`](Self::pending_output).
    pub fn advance_output(&mut self, n: usize) {
        self.out.advance(n);
    }

    /// Takes the next queued chunk whole, for callers that write chunk by chunk.
    pub fn pop_output(&mut self) -> Option<Bytes> {
        self.out.pop_chunk()
    }

    // ------------------------------------------------------------------ time

    /// Whether a close frame was sent and the caller should now arm the close
    /// deadline, reporting it with [`handle_timeout`](Self::handle_timeout)`(Timer::Close)`.
    pub fn close_timer_needed(&self) -> bool {
        !self.transport_done
            && (self.state == State::CloseSent
                || (self.state == State::Closed && self.role == Role::Client))
    }

    /// Whether the caller should close the transport now: the close handshake
    /// is over (or the connection failed), the output is written, and it is
    /// this endpoint's turn to close (§7.1.1: the server closes first; a
    /// client that failed the connection, or whose close deadline passed,
    /// closes too).
    pub fn should_close_transport(&self) -> bool {
        if self.out.len() > 0 || self.state != State::Closed {
            return false;
        }
        self.transport_done || self.role == Role::Server || self.failure.is_some()
    }

    /// Queues a keepalive ping and starts waiting for a pong; if none has
    /// arrived when the caller's pong deadline passes,
    /// [`handle_timeout`](Self::handle_timeout)`(Timer::Keepalive)` fails the
    /// connection. Any pong ends the wait.
    ///
    /// # Errors
    /// As [`send_ping`](Self::send_ping).
    pub fn send_keepalive(&mut self) -> Result<(), Error> {
        self.send_control(OpCode::Ping, Bytes::new())?;
        self.awaiting_pong = true;
        Ok(())
    }

    /// Whether a keepalive ping is unanswered.
    pub fn awaiting_pong(&self) -> bool {
        self.awaiting_pong
    }

    /// Reports that a deadline the caller keeps has passed.
    ///
    /// - [`Timer::Close`]: the peer did not finish the close handshake (or, on
    ///   a client, did not close the transport); the transport should be
    ///   closed now.
    /// - [`Timer::Keepalive`]: if a keepalive ping is still unanswered, fails
    ///   the connection with [`Error::KeepaliveTimeout`] (1011).
    /// - [`Timer::Idle`]: fails the connection with [`Error::IdleTimeout`] (1001).
    ///
    /// # Errors
    /// The failure, for the keepalive and idle timers.
    pub fn handle_timeout(&mut self, timer: Timer) -> Result<(), Error> {
        match timer {
            Timer::Close => {
                self.transport_done = true;
                if self.state != State::Closed {
                    self.state = State::Closed;
                    if self.failure.is_none() {
                        self.failure = Some(Error::AbnormalClosure);
                    }
                }
                Ok(())
            }
            Timer::Keepalive if self.awaiting_pong => Err(self.fail_with(Error::KeepaliveTimeout)),
            Timer::Keepalive => Ok(()),
            Timer::Idle => Err(self.fail_with(Error::IdleTimeout)),
        }
    }
}

enum Step {
    Event(Event),
    NeedMore,
    Continue,
}
