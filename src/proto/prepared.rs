//! [`PreparedMessage`]: a data message framed once and sent to many
//! connections, every one of them queueing the same [`Bytes`] (RFC 6455
//! §5.2, §5.6).
//!
//! A server's frames are not masked (§5.1), so the same bytes are a valid
//! frame on every server connection: fan-out costs one encoding, not one per
//! receiver, and no copy. A client must mask each frame with a fresh key, so
//! a client connection frames the payload itself (the payload is still not
//! copied before masking).
//!
//! With permessage-deflate (RFC 7692) negotiated, a message at or above the
//! connection's compression threshold is compressed:
//! - a connection **without context takeover** on its sending side
//!   (`server_no_context_takeover` on a server) compresses every message
//!   from a fresh state, so its output depends only on the message, the
//!   window size and the level: it takes a compressed frame shared by every
//!   such connection, compressed once per (window, level);
//! - a connection **with context takeover** compresses against what it sent
//!   before, which differs per connection: it compresses the message itself.

use bytes::{Bytes, BytesMut};

use crate::proto::frame::{FrameHeader, MAX_HEADER_LEN, OpCode};
use crate::proto::message::DataKind;
use crate::proto::text::Utf8Bytes;

/// A text or binary message framed once for any number of connections.
///
/// ```
/// use rfc6455::{Config, Connection, PreparedMessage, Role};
///
/// let message = PreparedMessage::text("tick");
/// let mut viewers: Vec<Connection> =
///     (0..3).map(|_| Connection::new(Role::Server, Config::default())).collect();
/// for viewer in &mut viewers {
///     viewer.send_prepared(&message)?;
///     // Every connection queued the same bytes: 0x81 0x04 "tick".
///     assert_eq!(viewer.output_chunks().collect::<Vec<_>>(), [b"\x81\x04tick"]);
/// }
/// # Ok::<(), rfc6455::Error>(())
/// ```
#[derive(Debug)]
pub struct PreparedMessage {
    kind: DataKind,
    payload: Bytes,
    /// The whole unmasked, uncompressed frame: header then payload.
    frame: Bytes,
    /// Shared compressed frames, by (window bits, level).
    #[cfg(feature = "deflate")]
    compressed: std::sync::Mutex<alloc::vec::Vec<CompressedFrame>>,
}

impl PreparedMessage {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::new(DataKind::Text, text.into().into_bytes())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::new(DataKind::Binary, data.into())
    }

    fn new(kind: DataKind, payload: Bytes) -> Self {
        PreparedMessage {
            frame: encode(kind, &payload, 0),
            kind,
            payload,
            #[cfg(feature = "deflate")]
            compressed: std::sync::Mutex::default(),
        }
    }

    /// Whether it is text or binary.
    pub fn kind(&self) -> DataKind {
        self.kind
    }

    /// The message's payload.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The frame a server connection sends when it does not compress it.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    pub(crate) fn opcode(&self) -> OpCode {
        opcode(self.kind)
    }

    /// The shared compressed frame for a connection compressing from a
    /// fresh state with this window and level, made on first use; `None`
    /// if compressing does not make the message smaller.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed_frame(&self, bits: u8, level: u32) -> Option<Bytes> {
        let mut cache = self
            .compressed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, frame)) = cache.iter().find(|(key, _)| *key == (bits, level)) {
            return frame.clone();
        }
        let frame =
            crate::proto::extension::deflate::codec::compress_fresh(&self.payload, bits, level)
                .map(|compressed| encode(self.kind, &compressed, crate::proto::frame::RSV1));
        cache.push(((bits, level), frame.clone()));
        frame
    }
}

/// A compressed frame made for connections compressing with this (window
/// bits, level), or `None` where compressing did not pay.
#[cfg(feature = "deflate")]
type CompressedFrame = ((u8, u32), Option<Bytes>);

fn opcode(kind: DataKind) -> OpCode {
    match kind {
        DataKind::Text => OpCode::Text,
        DataKind::Binary => OpCode::Binary,
    }
}

/// One unmasked final frame carrying `payload`.
fn encode(kind: DataKind, payload: &[u8], rsv: u8) -> Bytes {
    let header = FrameHeader {
        fin: true,
        rsv,
        opcode: opcode(kind),
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let head_len = header.encode(&mut head);
    let mut frame = BytesMut::with_capacity(head_len + payload.len());
    frame.extend_from_slice(&head[..head_len]);
    frame.extend_from_slice(payload);
    frame.freeze()
}
