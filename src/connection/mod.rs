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

use bytes::Bytes;

use crate::config::{Config, Role};
use crate::error::Error;
use crate::extension::Negotiated;
use crate::frame::OpCode;
use crate::message::{DataKind, Event};
use crate::output::Output;
use crate::rng::MaskRng;

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

mod receive;
mod send;

use receive::{Incoming, PartialFrame};

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

/// What one step of [`Connection::receive`] produced.
enum Step {
    /// An event for the caller.
    Event(Event),
    /// The buffer holds no complete frame.
    NeedMore,
    /// A frame was consumed without an event (a non-final fragment).
    Continue,
}
