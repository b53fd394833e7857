//! Settings of the tokio adapter: the core's [`Config`] plus timers and the
//! write buffer bound.

use core::time::Duration;

use crate::config::Config;
use crate::extension::ExtensionConfig;

/// Keepalive: a ping every `interval`, and failure (1011) when no pong has
/// arrived `timeout` after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Time between pings.
    pub interval: Duration,
    /// How long a ping may go unanswered.
    pub timeout: Duration,
}

/// Settings of a [`WebSocketStream`](super::WebSocketStream) and its handshake.
///
/// ```
/// use std::time::Duration;
/// use rfc6455::tokio::{Keepalive, Options};
/// let options = Options::default()
///     .keepalive(Keepalive { interval: Duration::from_secs(20), timeout: Duration::from_secs(10) })
///     .idle_timeout(Duration::from_secs(300));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The core settings (limits, streaming).
    pub config: Config,
    /// Extensions to offer (client) or accept (server).
    pub extensions: ExtensionConfig,
    /// Deadline of the opening handshake; `None` waits forever. Default 10 s.
    pub handshake_timeout: Option<Duration>,
    /// Keepalive pings; off by default.
    pub keepalive: Option<Keepalive>,
    /// Fail with 1001 when nothing arrives for this long; off by default.
    pub idle_timeout: Option<Duration>,
    /// How long to wait for the peer's close frame, or on a client for the
    /// server to close the transport, once a close frame was sent. Default 10 s.
    pub close_timeout: Duration,
    /// High-water mark of the write queue in bytes: sending waits while more
    /// is queued. Default 128 KiB.
    pub write_buffer_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            config: Config::default(),
            extensions: ExtensionConfig::default(),
            handshake_timeout: Some(Duration::from_secs(10)),
            keepalive: None,
            idle_timeout: None,
            close_timeout: Duration::from_secs(10),
            write_buffer_size: 128 << 10,
        }
    }
}

impl Options {
    /// Sets the core settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the extensions to offer or accept.
    pub fn extensions(mut self, extensions: ExtensionConfig) -> Self {
        self.extensions = extensions;
        self
    }

    /// Sets the handshake deadline.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Turns keepalive pings on.
    pub fn keepalive(mut self, keepalive: Keepalive) -> Self {
        self.keepalive = Some(keepalive);
        self
    }

    /// Sets the idle deadline.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Sets the close handshake deadline.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets the write queue high-water mark.
    pub fn write_buffer_size(mut self, bytes: usize) -> Self {
        self.write_buffer_size = bytes;
        self
    }
}
