//! The connection state machine: frames in, events out, frames queued
//! (RFC 6455 §5, §6, §7), and the deadlines of keepalive and closing.
//!
//! A [`Connection`] owns every protocol decision after the handshake. It never
//! touches a socket or a clock; see [`Connection`] for the contract an
//! adapter (the code moving bytes and time) follows.
//!
//! # Receiving
//! `receive` takes complete frames off the front of a [`BytesMut`](bytes::BytesMut)
//! the caller owns and unmasks them in place, so a payload becomes a
//! [`Bytes`] without a copy. A partial frame stays in the caller's buffer, and
//! what the connection learnt about it (its parsed header, how much of its
//! payload is already unmasked and validated) stays in the connection:
//! dropping a pending read loses nothing as long as the buffer is kept. The
//! buffer must be the same one across calls and its unread bytes must not be
//! modified.
//!
//! # Closing (§7)
//! A peer's close frame is an [`Event::Close`]; its echo is queued at once. A
//! local [`close`](Connection::close) queues a close frame; after it no data
//! may be sent ([`Error::SendAfterClose`]). From the moment the connection
//! stops being open, [`Config::close_timeout`] bounds everything left: the
//! peer's close frame, writing ours, and on a client the server closing the
//! transport first (§7.1.1). [`should_close_transport`](Connection::should_close_transport)
//! tells the adapter when to close it.

use bytes::Bytes;

use crate::close::CloseFrame;
use crate::config::{Config, Keepalive, Role};
use crate::error::Error;
use crate::extension::Negotiated;
use crate::frame::OpCode;
use crate::message::{DataKind, Event};
use crate::output::Output;
use crate::rng::MaskRng;

/// Where the connection is in its lifecycle (§4, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// This endpoint sent a close frame and waits for the peer's.
    CloseSent,
    /// The peer's close frame came and, with [`Config::echo_close`] off,
    /// the application has yet to send its own (it may still send data
    /// first, §5.5.1); nothing more is read.
    CloseReceived,
    /// Both close frames were exchanged, or the connection failed, or the
    /// transport is gone.
    Closed,
}

mod drive;
mod receive;
mod send;
mod stats;
mod time;

pub use drive::Step;
pub use receive::Received;
pub use stats::Stats;
pub use time::Timestamp;

use receive::{Incoming, PartialFrame};

/// A WebSocket connection after the opening handshake.
///
/// # The driver contract
///
/// An adapter (the code that owns the transport and a clock) drives a
/// connection with one loop; every decision in it is the connection's:
///
/// 1. **Feed bytes.** Read from the transport into a buffer you keep
///    (sized by [`read_size_hint`](Self::read_size_hint)) and call
///    [`receive`](Self::receive) until it returns [`Received::NeedMore`] or
///    [`Received::Closed`], handing each [`Received::Event`] to the
///    application. At end of stream call [`receive_eof`](Self::receive_eof);
///    if the transport fails, [`transport_failed`](Self::transport_failed).
///    An `Err` from `receive` is the connection's failure: keep driving (its
///    close frame is queued) and report the error once the transport is
///    closed.
/// 2. **Tell the time.** If [`poll_timeout`](Self::poll_timeout) gives a
///    deadline at or before now, call [`handle_timeout`](Self::handle_timeout)
///    with the current time (it may queue a keepalive ping or fail the
///    connection). Calling it after every batch of received bytes is always
///    correct.
/// 3. **Write output.** Write what [`output_chunks`](Self::output_chunks)
///    holds (or [`pop_output`](Self::pop_output)) and
///    [`advance_output`](Self::advance_output) by what was written. Pongs,
///    close echoes and keepalive pings are queued by the connection itself.
/// 4. **Close when told.** When [`should_close_transport`](Self::should_close_transport)
///    is true, close the transport (flushing nothing more): the connection is
///    over, and [`failure`](Self::failure) says whether it ended cleanly.
/// 5. **Wait** for the transport to be readable (or writable, while output
///    is queued) or for the deadline of `poll_timeout`, whichever comes
///    first, and start again. Keep reading while output waits for the
///    transport: what the connection queues by itself in answer to the peer
///    is bounded without pausing reads (pongs are coalesced, §5.5.3), and a
///    driver that stopped reading because its own output is full deadlocks
///    against a peer doing the same.
///
/// Sending ([`send_text`](Self::send_text) and the others) only queues
/// output; write it as in step 3. Data output is bounded where it is
/// produced: take no more messages while [`output_is_full`](Self::output_is_full)
/// (a send waits, a non-waiting send refuses).
pub struct Connection {
    role: Role,
    config: Settings,
    extensions: Negotiated,
    state: State,
    failure: Option<Error>,
    /// Whether the transport is known to be gone (EOF read, or the close
    /// deadline passed).
    transport_done: bool,
    frame: Option<PartialFrame>,
    /// The size on the wire of the last frame received whole: how much a
    /// read may ask for once the next frame's header arrived (see
    /// [`read_size_hint`](Self::read_size_hint)).
    last_frame_len: usize,
    incoming: Incoming,
    /// The type of the fragmented message being sent, if one is unfinished.
    outgoing: Option<DataKind>,
    out: Output,
    /// The payload of the latest ping, to answer once the pong queued
    /// before it is written: pongs are coalesced (§5.5.3), so a peer that
    /// floods pings and does not read holds at most two pongs here.
    pong_due: Option<Bytes>,
    /// Where in the output stream (see [`Output::end`]) the last queued
    /// pong ends.
    pong_end: u64,
    rng: Option<MaskRng>,
    timers: time::Timers,
    stats: stats::Counters,
    /// The peer's close frame, once it came (boxed: most connections never
    /// get to hold one, and all of them carry this field).
    peer_close: Option<alloc::boxed::Box<Option<CloseFrame>>>,
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
    ///
    /// A client's mask keys come from [`Config::random_seed`], or without
    /// one from the operating system (feature `std`). Without either, the
    /// client cannot mask and every send fails with
    /// [`Error::NoRandomSource`].
    pub fn with_extensions(role: Role, config: Config, extensions: Negotiated) -> Self {
        let rng = match role {
            Role::Client => MaskRng::new(config.random_seed),
            Role::Server => None,
        };
        Connection {
            role,
            #[cfg(feature = "deflate")]
            deflate: extensions
                .deflate
                .as_ref()
                .map(|agreed| crate::extension::deflate::codec::DeflateCodec::new(role, agreed)),
            config: Settings::from(&config),
            extensions,
            state: State::Open,
            failure: None,
            transport_done: false,
            frame: None,
            last_frame_len: 0,
            incoming: Incoming::default(),
            outgoing: None,
            out: Output::default(),
            pong_due: None,
            pong_end: 0,
            rng,
            timers: time::Timers::default(),
            stats: stats::Counters::default(),
            peer_close: None,
        }
    }

    /// Replaces the mask key generator with one seeded by `seed`, for
    /// reproducible tests. Has no effect on a server, which never masks.
    pub fn set_mask_seed(&mut self, seed: [u8; 32]) {
        if self.role == Role::Client {
            self.rng = MaskRng::new(Some(seed));
        }
    }

    /// This endpoint's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether more than [`Config::write_buffer_size`] bytes are queued:
    /// the high-water mark past which an adapter stops taking messages (a
    /// send waits, a non-waiting send refuses). Reading goes on regardless.
    pub fn output_is_full(&self) -> bool {
        self.out.len() > self.config.write_buffer_size
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
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

    /// Whether messages may be sent: the connection has not failed and this
    /// endpoint has not sent its close frame (after the peer's close, with
    /// [`Config::echo_close`] off, it still may, §5.5.1).
    pub fn can_send(&self) -> bool {
        self.failure.is_none() && self.close_owed()
    }

    /// The error the connection failed with, if it did.
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// The peer's close frame: `None` until it came, then `Some(None)` for
    /// a close frame without a status code, or `Some(Some(frame))`.
    pub fn peer_close(&self) -> Option<Option<&CloseFrame>> {
        self.peer_close.as_deref().map(Option::as_ref)
    }

    /// Counters of what went through the connection.
    pub fn stats(&self) -> Stats {
        self.stats.with_latency(self.latency())
    }

    /// Whether this endpoint has yet to send its close frame.
    fn close_owed(&self) -> bool {
        matches!(self.state, State::Open | State::CloseReceived)
    }

    /// Moves to `state`; leaving `Open` starts the close deadline.
    fn set_state(&mut self, state: State) {
        if state != State::Open {
            self.timers.closing();
        }
        self.state = state;
    }

    /// Fails the connection: queues a close frame with the error's code if
    /// none was sent yet, and makes the error sticky.
    fn fail_with(&mut self, e: Error) -> Error {
        if self.failure.is_none() {
            if self.close_owed() && !self.transport_done {
                if let Some(code) = e.close_code().filter(|c| c.is_sendable()) {
                    self.write_frame(
                        OpCode::Close,
                        true,
                        0,
                        Bytes::copy_from_slice(&code.as_u16().to_be_bytes()),
                    );
                }
            }
            self.set_state(State::Closed);
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

    /// Whether the adapter must close the transport now, without writing
    /// more: the close handshake is over (or the connection failed), the
    /// output is written, and it is this endpoint's turn to close (§7.1.1:
    /// the server closes first; a client waits for the server, or for the
    /// close deadline, unless it failed the connection). Also true once the
    /// close deadline passed, the unwritten output then being dropped.
    pub fn should_close_transport(&self) -> bool {
        if self.out.len() > 0 || self.state != State::Closed {
            return false;
        }
        self.transport_done || self.role == Role::Server || self.failure.is_some()
    }

    /// Whether the close handshake is complete (§7.1.4): both close frames
    /// were exchanged, ours is written, and the connection did not fail.
    /// From then on the transport only has to end, and how it ends does not
    /// matter: a server may reset the connection instead of closing it
    /// gracefully (Autobahn|Testsuite's fuzzing server aborts the TCP
    /// connection as soon as it has the client's close frame), so an adapter
    /// that gets a read error now reports a clean end, not the error.
    pub(crate) fn close_handshake_complete(&self) -> bool {
        self.state == State::Closed && self.failure.is_none() && self.out.len() == 0
    }

    /// Reports that the transport failed (a read or write error): nothing
    /// more can be written, so the output is dropped and
    /// [`should_close_transport`](Self::should_close_transport) becomes
    /// true. If the close handshake had not completed, the connection fails
    /// with [`Error::AbnormalClosure`] (1006, reported, never sent).
    pub fn transport_failed(&mut self) {
        self.transport_done = true;
        self.out.clear();
        self.pong_due = None;
        match self.state {
            State::Closed => {}
            // The peer's close frame came: its code is the connection's
            // (§7.1.5), however the transport ended after it.
            State::CloseReceived => self.set_state(State::Closed),
            _ => {
                self.set_state(State::Closed);
                self.failure.get_or_insert(Error::AbnormalClosure);
            }
        }
    }
}

/// What a connection keeps of its [`Config`]: the settings it enforces
/// (the handshake's stay with the handshake), each as in [`Config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// [`Config::max_frame_size`].
    pub max_frame_size: usize,
    /// [`Config::max_message_size`].
    pub max_message_size: usize,
    /// [`Config::write_buffer_size`].
    pub write_buffer_size: usize,
    /// [`Config::close_timeout`].
    pub close_timeout: core::time::Duration,
    /// [`Config::keepalive`].
    pub keepalive: Option<Keepalive>,
    /// [`Config::idle_timeout`].
    pub idle_timeout: Option<core::time::Duration>,
    /// [`Config::fragments`].
    pub fragments: bool,
    /// [`Config::max_send_frame_size`].
    pub max_send_frame_size: usize,
    /// [`Config::answer_pings`].
    pub answer_pings: bool,
    /// [`Config::echo_close`].
    pub echo_close: bool,
}

impl From<&Config> for Settings {
    fn from(c: &Config) -> Self {
        Settings {
            max_frame_size: c.max_frame_size,
            max_message_size: c.max_message_size,
            write_buffer_size: c.write_buffer_size,
            close_timeout: c.close_timeout,
            keepalive: c.keepalive,
            idle_timeout: c.idle_timeout,
            fragments: c.fragments,
            max_send_frame_size: c.max_send_frame_size.max(1),
            answer_pings: c.answer_pings,
            echo_close: c.echo_close,
        }
    }
}

/// What one step of [`Connection::receive`] produced.
enum Parsed {
    /// An event for the caller.
    Event(Event),
    /// The buffer holds no complete frame.
    NeedMore,
    /// A frame was consumed without an event (a non-final fragment).
    Continue,
}
