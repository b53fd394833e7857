//! Extension negotiation (RFC 6455 §9) and the home of RSV bits.
//!
//! (Stub: replaced by the handshake work.)

/// The outcome of extension negotiation, handed to a [`Connection`](crate::Connection).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Negotiated {}

impl Negotiated {
    /// The RSV bits (as in the first header byte, `0x70` mask) granted to frames.
    pub(crate) fn rsv_bits(&self) -> u8 {
        0
    }
}
