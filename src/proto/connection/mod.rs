//! The connection state machine: frames in, messages out, frames queued
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
//! A peer's close frame is an [`Message::Close`]; its echo is queued at once. A
//! local [`close`](Connection::close) queues a close frame; after it no data
//! may be sent ([`Error::SendAfterClose`]). From the moment the connection
//! stops being open, [`Config::close_timeout`] bounds everything left: the
//! peer's close frame, writing ours, and on a client the server closing the
//! transport first (§7.1.1). [`should_close_transport`](Connection::should_close_transport)
//! tells the adapter when to close it.

use bytes::Bytes;

use crate::proto::close::CloseFrame;
use crate::proto::config::{Config, Keepalive, Role};
use crate::proto::error::Error;
use crate::proto::extension::Negotiated;
use crate::proto::frame::OpCode;
use crate::proto::message::{DataKind, Message};
use crate::proto::output::Output;
use crate::proto::rng::MaskRng;

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
/// connection with one loop. It makes no decision of its own: every one
/// comes from these calls, in this order.
///
/// 1. **Feed.** Read from the transport into a receive buffer you keep,
///    at most [`read_size_hint`](Self::read_size_hint) bytes (or, into
///    memory not held while waiting, [`idle_read_size`](Self::idle_read_size)),
///    then call [`receive`](Self::receive) until it returns
///    [`Received::NeedMore`] or [`Received::Closed`], handing each
///    [`Received::Message`] to the application. An `Err` from `receive` is the
///    connection's failure: keep driving (its close frame is queued); the
///    step reports it when the transport is to be closed. At the end of
///    the stream call [`receive_eof`](Self::receive_eof); if a read or a
///    write fails, [`transport_failed`](Self::transport_failed). Both say
///    whether that end was clean (`Ok`: the close handshake had completed,
///    and how the transport ends no longer matters) or not (`Err`: report
///    the transport's error).
/// 2. **Step.** Call [`poll`](Self::poll) with the current time. It acts on
///    the deadlines (keepalive pings, timeouts, the end of closing) and
///    returns the [`Step`]:
///    - [`Step::Close`]: close the transport, writing nothing more; the
///      connection is over with that outcome.
///    - [`Step::Run`]: if `write`, write the [`output_chunks`](Self::output_chunks)
///      (one vectored write) and [`advance_output`](Self::advance_output) by
///      what the transport took, then step again; wait for the transport to
///      be readable (while `read`) or writable (while `write`), or for
///      `wake_at`, whichever comes first; feed and step again.
///
/// Keep reading while output waits for the transport: what the connection
/// queues by itself in answer to the peer is bounded without pausing reads
/// (past the high-water mark pongs are coalesced, §5.5.3), and a driver
/// that stopped reading because its own output is full deadlocks against a
/// peer doing the same.
///
/// Sending ([`send_text`](Self::send_text) and the others) only queues
/// output; step to have it written. Data output is bounded where it is
/// produced: send no more while [`output_is_full`](Self::output_is_full)
/// (a send waits, a non-waiting send refuses). An application that sends
/// in answer to each message it takes (an echo) therefore takes no more
/// messages meanwhile, and its driver may leave the input where it is:
/// that is the application's backpressure on its peer, not the
/// connection's.
///
/// A driver over in-memory transports is in the [crate documentation](crate#driving-a-connection-yourself);
/// `examples/echo_server_mio/driver.rs` is one over `mio` sockets, many
/// connections on one event loop, on the public API alone.
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
    /// before it is written: past the high-water mark pongs are coalesced
    /// (§5.5.3), so a peer that floods pings and does not read costs at
    /// most one pong past the mark, and one held here.
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
    pub(crate) deflate: Option<crate::proto::extension::deflate::codec::DeflateCodec>,
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
            deflate: extensions.deflate.as_ref().map(|agreed| {
                crate::proto::extension::deflate::codec::DeflateCodec::new(role, agreed)
            }),
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

    /// Reports that the transport failed (a read or write error): nothing
    /// more can be written, so the output is dropped and the next
    /// [`poll`](Self::poll) says to close the transport.
    ///
    /// # Errors
    /// `Ok` if the connection had ended cleanly before (the close handshake
    /// completed and its close frame was written, or the peer's close frame
    /// came): how the transport ends then does not matter (a server may
    /// reset it rather than close it; Autobahn|Testsuite's fuzzing server
    /// aborts as soon as it has the client's close frame). Otherwise the
    /// connection fails with [`Error::AbnormalClosure`] (1006, reported,
    /// never sent), or keeps the failure it had.
    pub fn transport_failed(&mut self) -> Result<(), Error> {
        let clean = self.failure.is_none()
            && (self.state == State::CloseReceived
                || (self.state == State::Closed && self.out.len() == 0));
        self.transport_done = true;
        self.out.clear();
        self.pong_due = None;
        if self.state != State::Closed {
            self.set_state(State::Closed);
        }
        if !clean {
            self.failure.get_or_insert(Error::AbnormalClosure);
        }
        self.failure.clone().map_or(Ok(()), Err)
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
    Message(Message),
    /// The buffer holds no complete frame.
    NeedMore,
    /// A frame was consumed without an event (a non-final fragment).
    Continue,
}
