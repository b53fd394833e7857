//! Opening handshake (RFC 6455 §4). (Stub: replaced by the handshake work.)
use core::fmt;

/// Why a handshake failed.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakeError {
    /// Malformed.
    Malformed,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed")
    }
}
