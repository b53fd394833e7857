//! The crate's one error type and its mapping to close codes (RFC 6455 §7.4.1).
//!
//! A peer's protocol violation maps to the close code the connection sends
//! when it fails; local misuse (sending after close, an invalid code given to
//! [`Connection::close`](crate::Connection::close)) sends nothing and leaves
//! the connection as it was. A peer's close frame is an
//! [`Message`](crate::Message), never an error.

use core::fmt;

use crate::proto::close::CloseCode;

/// Everything that can go wrong in the core.
///
/// Errors caused by the peer are sticky: once a [`Connection`](crate::Connection)
/// has failed, every later call returns the same error.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A frame set an RSV bit that no negotiated extension grants (§5.2). 1002.
    ReservedBits,
    /// A frame used a reserved opcode (§5.2); the opcode is given. 1002.
    ReservedOpcode(u8),
    /// A 64-bit payload length had its most significant bit set (§5.2). 1002.
    InvalidLength,
    /// A server received an unmasked frame (§5.1). 1002.
    UnmaskedFrame,
    /// A client received a masked frame (§5.1). 1002.
    MaskedFrame,
    /// A control frame had its FIN bit clear (§5.5). 1002.
    FragmentedControlFrame,
    /// A control frame carried more than 125 bytes (§5.5). 1002.
    ControlFrameTooLong,
    /// A continuation frame arrived with no message started (§5.4). 1002.
    UnexpectedContinuation,
    /// A new data frame arrived inside a fragmented message (§5.4). 1002.
    ExpectedContinuation,
    /// A close frame carried a one-byte payload (§5.5.1). 1002.
    InvalidClosePayload,
    /// A close frame carried a code that may not be sent on the wire (§7.4). 1002.
    InvalidCloseCode(u16),
    /// A text message or close reason was not valid UTF-8 (§8.1). 1007.
    InvalidUtf8,
    /// A compressed message could not be decompressed (RFC 7692 §6.2). 1007.
    InvalidCompressedData,
    /// A frame header claimed more than the frame size limit. 1009.
    FrameTooLarge,
    /// A message grew past the message size limit. 1009.
    MessageTooLarge,
    /// The connection was failed locally with this close code
    /// ([`Connection::fail`](crate::Connection::fail)).
    Failed(CloseCode),
    /// A keepalive ping went unanswered past its deadline. 1011.
    KeepaliveTimeout,
    /// Nothing arrived before the idle deadline. 1001.
    IdleTimeout,
    /// The transport ended before the close handshake completed. Reported as
    /// 1006, which is never sent on the wire.
    AbnormalClosure,

    /// Local misuse: a data or control frame was sent after a close frame.
    SendAfterClose,
    /// Local misuse: a close code that may not be sent (§7.4.1), or a reason
    /// too long for a control frame.
    InvalidCloseToSend,
    /// Local misuse: a ping or pong payload longer than 125 bytes.
    ControlPayloadTooLong,
    /// Local misuse: a fragment sent out of order (a continuation with no
    /// message started, or a new message while one is unfinished).
    FragmentOutOfOrder,
    /// Local misuse: a client connection has no source of randomness for its
    /// mask keys (a build without `std` and no
    /// [`Config::random_seed`](crate::Config::random_seed)).
    NoRandomSource,
}

impl Error {
    /// The close code this error stands for: the code sent to the peer when
    /// the connection failed (1006 for [`Error::AbnormalClosure`] is only
    /// reported, never sent), or `None` for local misuse, which sends no
    /// close frame.
    pub fn close_code(&self) -> Option<CloseCode> {
        use Error::*;
        Some(match self {
            ReservedBits
            | ReservedOpcode(_)
            | InvalidLength
            | UnmaskedFrame
            | MaskedFrame
            | FragmentedControlFrame
            | ControlFrameTooLong
            | UnexpectedContinuation
            | ExpectedContinuation
            | InvalidClosePayload
            | InvalidCloseCode(_) => CloseCode::PROTOCOL_ERROR,
            InvalidUtf8 | InvalidCompressedData => CloseCode::INVALID_PAYLOAD,
            FrameTooLarge | MessageTooLarge => CloseCode::MESSAGE_TOO_BIG,
            Failed(code) => *code,
            KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
            IdleTimeout => CloseCode::GOING_AWAY,
            AbnormalClosure => CloseCode::ABNORMAL,
            SendAfterClose
            | InvalidCloseToSend
            | ControlPayloadTooLong
            | FragmentOutOfOrder
            | NoRandomSource => return None,
        })
    }

    /// Whether this error is the local caller's misuse of the API rather than
    /// something the peer did. Misuse leaves the connection usable.
    pub fn is_local_misuse(&self) -> bool {
        matches!(
            self,
            Error::SendAfterClose
                | Error::InvalidCloseToSend
                | Error::ControlPayloadTooLong
                | Error::FragmentOutOfOrder
                | Error::NoRandomSource
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Error::*;
        match self {
            ReservedBits => f.write_str("frame sets a reserved bit no extension granted"),
            ReservedOpcode(op) => write!(f, "frame uses reserved opcode {op:#x}"),
            InvalidLength => f.write_str("64-bit payload length has its most significant bit set"),
            UnmaskedFrame => f.write_str("client sent an unmasked frame"),
            MaskedFrame => f.write_str("server sent a masked frame"),
            FragmentedControlFrame => f.write_str("control frame is fragmented"),
            ControlFrameTooLong => f.write_str("control frame payload exceeds 125 bytes"),
            UnexpectedContinuation => f.write_str("continuation frame without a message started"),
            ExpectedContinuation => f.write_str("new data frame inside a fragmented message"),
            InvalidClosePayload => f.write_str("close frame payload of one byte"),
            InvalidCloseCode(code) => write!(f, "close frame carries invalid code {code}"),
            InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            InvalidCompressedData => f.write_str("compressed message is not valid deflate data"),
            FrameTooLarge => f.write_str("frame exceeds the frame size limit"),
            MessageTooLarge => f.write_str("message exceeds the message size limit"),
            Failed(code) => write!(
                f,
                "connection failed locally with close code {}",
                code.as_u16()
            ),
            KeepaliveTimeout => f.write_str("keepalive ping went unanswered"),
            IdleTimeout => f.write_str("connection idle past its deadline"),
            AbnormalClosure => f.write_str("transport closed before the close handshake completed"),
            SendAfterClose => f.write_str("cannot send after a close frame was sent"),
            InvalidCloseToSend => f.write_str("close code or reason may not be sent"),
            ControlPayloadTooLong => f.write_str("ping or pong payload exceeds 125 bytes"),
            FragmentOutOfOrder => f.write_str("fragment sent out of order"),
            NoRandomSource => {
                f.write_str("no random source for mask keys (set Config::random_seed)")
            }
        }
    }
}

impl core::error::Error for Error {}
