//! Connection settings and the endpoint role: one [`Config`] for the core,
//! the handshake and every adapter.
//!
//! Limits are enforced from frame headers before any payload is buffered
//! (RFC 6455 §10.4), so a peer's length claim alone never allocates. Every
//! duration lives here too, with one set of defaults: the core computes its
//! deadlines from them ([`Connection::poll_timeout`](crate::Connection::poll_timeout)),
//! and the adapters only tell it the time.

use core::time::Duration;

use crate::proto::extension::ExtensionConfig;

/// Which side of the connection this endpoint is (RFC 6455 §5.1).
///
/// Clients mask every frame they send and reject masked frames; servers never
/// mask and reject unmasked frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that opened the connection.
    Client,
    /// The endpoint that accepted the connection.
    Server,
}

/// Default limit on one frame's payload: 64 MiB, the message limit. Most
/// stacks send a message as one frame, so a lower frame limit would refuse
/// their messages below the message limit; and a frame costs no more memory
/// than the message it belongs to (less in streaming mode, where it is
/// handed out in pieces).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 64 << 20;
/// Default limit on the payload of a frame this endpoint sends: 16 MiB, the
/// lowest frame limit common among stacks (tungstenite's default, and this
/// crate's before 0.3), so every peer on its defaults takes our frames.
pub const DEFAULT_MAX_SEND_FRAME_SIZE: usize = 16 << 20;
/// Default limit on one message's payload (after decompression): 64 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;
/// Default limit on an HTTP handshake header block: 16 KiB.
pub const DEFAULT_MAX_HANDSHAKE_SIZE: usize = 16 << 10;
/// Default limit on the number of header fields in a handshake.
pub const DEFAULT_MAX_HEADERS: usize = 64;
/// Default bound on the opening handshake: 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound on closing: 10 s from the moment the connection stops
/// being open until the transport is closed.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit on the body a client keeps from a refused handshake: 8 KiB.
pub const DEFAULT_MAX_REFUSAL_BODY: usize = 8 << 10;
/// Default high-water mark of the output queue: 128 KiB.
pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 128 << 10;

/// Keepalive: a ping once nothing has arrived for `interval`, and failure
/// with 1011 when neither its pong nor anything else arrives within
/// `timeout` of that ping going out.
///
/// Anything from the peer proves it alive: a connection on which messages
/// flow sends no keepalive pings, and bytes arriving while a ping waits (a
/// large message on a slow link, behind which the peer's pong is queued)
/// keep the connection alive as its pong would. A ping queued behind
/// output the transport is still taking (a large message going out on a
/// slow link) has not gone out yet: its `timeout` counts from when it is
/// written, and until then only while the transport takes nothing, so a
/// peer that is gone (its transport no longer takes output) still fails
/// the connection `timeout` after the last write. The transport's own
/// buffers (a kernel's send buffer) lie between a written ping and the
/// peer: on a slow link, make `timeout` longer than they take to drain.
/// The round trip of each answered keepalive ping is kept
/// ([`Connection::latency`](crate::Connection::latency)).
///
/// ```
/// use std::time::Duration;
/// // Ping after 15 s of silence; give up 30 s after an unanswered ping.
/// let keepalive = rfc6455::Keepalive::new(Duration::from_secs(15), Duration::from_secs(30));
/// let config = rfc6455::Config::default().keepalive(keepalive);
/// assert_eq!(config.keepalive, Some(keepalive));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Keepalive {
    /// Silence after which a ping is sent.
    pub interval: Duration,
    /// How long the peer may stay silent once that ping is written.
    pub timeout: Duration,
}

impl Keepalive {
    /// Pings after `interval` of silence; fails `timeout` after an unanswered ping.
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        Keepalive { interval, timeout }
    }
}

/// Settings of a [`Connection`](crate::Connection), its handshake and the
/// adapters driving it.
///
/// Read a setting from its public field; set it with the chained setter of
/// the same name, which takes the field's type (or, for optional settings,
/// the value or `None`):
///
/// ```
/// use std::time::Duration;
/// let config = rfc6455::Config::default()
///     .max_message_size(1 << 20)
///     .idle_timeout(Duration::from_secs(300))
///     .handshake_timeout(None);
/// assert_eq!(config.max_message_size, 1 << 20);
/// assert_eq!(config.idle_timeout, Some(Duration::from_secs(300)));
/// assert_eq!(config.close_timeout, Duration::from_secs(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest payload accepted in one frame; a larger header fails the
    /// connection with 1009 before its payload is read. Default 64 MiB, the
    /// message limit.
    pub max_frame_size: usize,
    /// Largest message accepted (summed over its fragments, and measured
    /// after decompression); exceeding it fails the connection with 1009.
    /// Default 64 MiB.
    pub max_message_size: usize,
    /// Largest HTTP header block accepted during the handshake (431 past
    /// it). Default 16 KiB.
    pub max_handshake_size: usize,
    /// Largest number of header fields accepted during the handshake (431
    /// past it). Default 64.
    pub max_headers: usize,
    /// Most bytes of a refused handshake's body a client keeps (in
    /// [`HandshakeError::Refused`](crate::proto::handshake::HandshakeError::Refused)):
    /// a longer body is cut here and marked truncated, and is never
    /// buffered whole, whatever its `Content-Length` claims. The adapters
    /// read it within the handshake timeout. Default 8 KiB; 0 keeps none.
    pub max_refusal_body: usize,
    /// Deliver data as it arrives, as [`Message::Fragment`](crate::Message::Fragment)
    /// pieces, instead of reassembled messages: a frame is handed out in
    /// pieces as its bytes arrive, so memory follows the read buffer rather
    /// than the frame or message size (streaming, forwarding). The limits
    /// still apply. Default off.
    pub fragments: bool,
    /// Largest payload of a data frame this endpoint sends: a longer
    /// message (or fragment) goes out as several frames, each a slice of
    /// the same buffer (no copy). Default 16 MiB, at most any common
    /// stack's receive limit (64 MiB here), so peers on their defaults take
    /// our frames. 0 counts as 1.
    pub max_send_frame_size: usize,
    /// Answer each ping with a pong (§5.5.2). Default on. Off, pings are
    /// only handed out as messages and the application answers them itself
    /// (a proxy forwarding pings and pongs end to end).
    pub answer_pings: bool,
    /// Echo the peer's close frame at once (§5.5.1). Default on. Off, the
    /// peer's close is handed out and the connection waits, in
    /// [`State::CloseReceived`](crate::State::CloseReceived), for the
    /// application to send its own close frame (a proxy relaying the close
    /// of the far end); [`close_timeout`](Self#structfield.close_timeout)
    /// bounds that wait.
    pub echo_close: bool,
    /// Extensions to offer (client) or accept (server). None by default.
    pub extensions: ExtensionConfig,
    /// Bound on the whole opening handshake (connecting and TLS included, for the
    /// adapters' `connect`); `None` waits forever. Default 10 s.
    pub handshake_timeout: Option<Duration>,
    /// Bound on closing: from the moment the connection stops being open
    /// (a close frame sent or received, or a failure) until the transport is
    /// closed, writing the close frame included. Past it the transport is
    /// dropped. Default 10 s.
    pub close_timeout: Duration,
    /// Keepalive pings; off by default.
    pub keepalive: Option<Keepalive>,
    /// Fail with 1001 when nothing arrives for this long; off by default.
    pub idle_timeout: Option<Duration>,
    /// High-water mark of the output queue in bytes: adapters stop taking
    /// messages (sending waits, or a non-waiting send refuses) while more
    /// than this is queued. Reading never waits for the queue: what the
    /// connection queues by itself in answer to the peer is bounded without
    /// it (one pending pong, the latest ping's, §5.5.3). Default 128 KiB.
    pub write_buffer_size: usize,
    /// The 32 bytes seeding the generator of mask keys (§5.3) and handshake
    /// nonces (§4.1). `None` (the default) seeds each client connection from
    /// the operating system, which needs the `std` feature; without `std`,
    /// give every client connection its own unpredictable seed. A fixed
    /// seed makes tests reproducible.
    pub random_seed: Option<[u8; 32]>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_handshake_size: DEFAULT_MAX_HANDSHAKE_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
            max_refusal_body: DEFAULT_MAX_REFUSAL_BODY,
            fragments: false,
            max_send_frame_size: DEFAULT_MAX_SEND_FRAME_SIZE,
            answer_pings: true,
            echo_close: true,
            extensions: ExtensionConfig::default(),
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            keepalive: None,
            idle_timeout: None,
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
            random_seed: None,
        }
    }
}

impl Config {
    /// The defaults (the same as [`Config::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`max_frame_size`](Self#structfield.max_frame_size).
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`max_message_size`](Self#structfield.max_message_size).
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`max_handshake_size`](Self#structfield.max_handshake_size).
    #[must_use]
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        self.max_handshake_size = bytes;
        self
    }

    /// Sets [`max_headers`](Self#structfield.max_headers).
    #[must_use]
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// Sets [`max_refusal_body`](Self#structfield.max_refusal_body).
    #[must_use]
    pub fn max_refusal_body(mut self, bytes: usize) -> Self {
        self.max_refusal_body = bytes;
        self
    }

    /// Sets [`fragments`](Self#structfield.fragments).
    #[must_use]
    pub fn fragments(mut self, enabled: bool) -> Self {
        self.fragments = enabled;
        self
    }

    /// Sets [`max_send_frame_size`](Self#structfield.max_send_frame_size).
    #[must_use]
    pub fn max_send_frame_size(mut self, bytes: usize) -> Self {
        self.max_send_frame_size = bytes;
        self
    }

    /// Sets [`answer_pings`](Self#structfield.answer_pings).
    #[must_use]
    pub fn answer_pings(mut self, enabled: bool) -> Self {
        self.answer_pings = enabled;
        self
    }

    /// Sets [`echo_close`](Self#structfield.echo_close).
    #[must_use]
    pub fn echo_close(mut self, enabled: bool) -> Self {
        self.echo_close = enabled;
        self
    }

    /// Sets [`extensions`](Self#structfield.extensions), such as
    /// permessage-deflate (feature `deflate`).
    #[must_use]
    pub fn extensions(mut self, extensions: ExtensionConfig) -> Self {
        self.extensions = extensions;
        self
    }

    /// Sets [`handshake_timeout`](Self#structfield.handshake_timeout)
    /// (a `Duration`, or `None` for no bound).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.handshake_timeout = timeout.into();
        self
    }

    /// Sets [`close_timeout`](Self#structfield.close_timeout).
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`keepalive`](Self#structfield.keepalive) (a [`Keepalive`], or
    /// `None` for none).
    #[must_use]
    pub fn keepalive(mut self, keepalive: impl Into<Option<Keepalive>>) -> Self {
        self.keepalive = keepalive.into();
        self
    }

    /// Sets [`idle_timeout`](Self#structfield.idle_timeout) (a `Duration`,
    /// or `None` for none).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = timeout.into();
        self
    }

    /// Sets [`write_buffer_size`](Self#structfield.write_buffer_size).
    #[must_use]
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }

    /// Sets [`random_seed`](Self#structfield.random_seed) (32 bytes, or
    /// `None` for the operating system's randomness).
    #[must_use]
    pub fn random_seed(mut self, seed: impl Into<Option<[u8; 32]>>) -> Self {
        self.random_seed = seed.into();
        self
    }
}
