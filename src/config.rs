//! Connection settings and the endpoint role.
//!
//! Limits are enforced from frame headers before any payload is buffered
//! (RFC 6455 §10.4), so a peer's length claim alone never allocates.

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

/// Default limit on one frame's payload: 16 MiB.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 16 << 20;
/// Default limit on one message's payload (after decompression): 64 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;
/// Default limit on an HTTP handshake header block: 16 KiB.
pub const DEFAULT_MAX_HANDSHAKE_SIZE: usize = 16 << 10;
/// Default limit on the number of header fields in a handshake.
pub const DEFAULT_MAX_HEADERS: usize = 64;

/// Settings of a [`Connection`](crate::Connection) and its handshake.
///
/// Build one with [`Config::default`] and the chained setters:
///
/// ```
/// let config = rfc6455::Config::default()
///     .max_message_size(1 << 20)
///     .fragments(true);
/// assert_eq!(config.get_max_message_size(), 1 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    max_frame_size: usize,
    max_message_size: usize,
    max_handshake_size: usize,
    max_headers: usize,
    fragments: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_handshake_size: DEFAULT_MAX_HANDSHAKE_SIZE,
            max_headers: DEFAULT_MAX_HEADERS,
            fragments: false,
        }
    }
}

impl Config {
    /// Largest payload accepted in one frame; a larger header fails the
    /// connection with 1009 before its payload is read.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Largest message accepted (summed over its fragments, and measured after
    /// decompression); exceeding it fails the connection with 1009.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Largest HTTP header block accepted during the handshake.
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        self.max_handshake_size = bytes;
        self
    }

    /// Largest number of header fields accepted during the handshake.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// Deliver data frames one by one as [`Event::Fragment`](crate::Event::Fragment)
    /// instead of reassembled messages (streaming of large messages).
    pub fn fragments(mut self, enabled: bool) -> Self {
        self.fragments = enabled;
        self
    }

    /// The frame size limit.
    pub fn get_max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// The message size limit.
    pub fn get_max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The handshake header block limit.
    pub fn get_max_handshake_size(&self) -> usize {
        self.max_handshake_size
    }

    /// The handshake header count limit.
    pub fn get_max_headers(&self) -> usize {
        self.max_headers
    }

    /// Whether data frames are delivered one by one.
    pub fn get_fragments(&self) -> bool {
        self.fragments
    }
}
