//! [`Message`]: what a connection hands out and what is sent (RFC 6455
//! §5.6 data frames, §5.5 control frames), and [`Fragment`], a piece of a
//! message for streaming (§5.4).

use bytes::Bytes;

use crate::proto::close::{CloseCode, CloseFrame};
use crate::proto::text::Utf8Bytes;

/// The type of a data message (§5.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// One data frame of a message, delivered when
/// [`Config::fragments`](crate::Config::fragments) is on.
///
/// Text fragments are validated as they arrive, but a fragment may end inside
/// a code point, so its payload is bytes, not `str`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// The type of the message this fragment belongs to.
    pub kind: DataKind,
    /// This fragment's payload (decompressed, if the message was compressed).
    pub payload: Bytes,
    /// Whether this is the last fragment of its message.
    pub fin: bool,
}

/// A WebSocket message: what [`Connection::receive`](crate::Connection::receive)
/// hands out, what the adapters yield, and what is sent.
///
/// Received, a [`Ping`](Message::Ping) has already been answered (unless
/// [`Config::answer_pings`](crate::Config::answer_pings) is off) and a
/// [`Close`](Message::Close) echoed (unless
/// [`Config::echo_close`](crate::Config::echo_close) is off).
///
/// ```
/// use rfc6455::Message;
/// let text = Message::from("hello");
/// assert!(text.is_text());
/// assert_eq!(text.to_text(), Some("hello"));
/// let binary = Message::from(vec![1u8, 2, 3]);
/// assert_eq!(binary.into_data(), &[1u8, 2, 3][..]);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A ping (at most 125 bytes).
    Ping(Bytes),
    /// A pong (at most 125 bytes).
    Pong(Bytes),
    /// A close frame, with an optional code and reason (`None`: a close
    /// frame without a status code).
    Close(Option<CloseFrame>),
    /// A piece of a data message, in streaming mode: received when
    /// [`Config::fragments`](crate::Config::fragments) is on, and sent as
    /// one frame of a fragmented message
    /// ([`Connection::send_fragment`](crate::Connection::send_fragment)).
    Fragment(Fragment),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// A close frame with `code` and `reason` (§5.5.1), for a `Sink` of
    /// messages. The code must be one that may be sent (1000-1003,
    /// 1007-1014, 3000-4999) and the reason at most 123 bytes, or sending
    /// it fails with [`Error::InvalidCloseToSend`](crate::Error::InvalidCloseToSend).
    ///
    /// ```
    /// let kicked = rfc6455::Message::close(4002, "kicked");
    /// ```
    pub fn close(code: impl Into<CloseCode>, reason: impl Into<Utf8Bytes>) -> Message {
        Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        }))
    }

    /// Whether this is a text or binary message.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is a ping.
    pub fn is_ping(&self) -> bool {
        matches!(self, Message::Ping(_))
    }

    /// Whether this is a pong.
    pub fn is_pong(&self) -> bool {
        matches!(self, Message::Pong(_))
    }

    /// Whether this is a close frame.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// The payload's length in bytes (a close frame's code and reason not
    /// counted).
    pub fn len(&self) -> usize {
        self.as_payload().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of a text message.
    pub fn to_text(&self) -> Option<&str> {
        match self {
            Message::Text(t) => Some(t.as_str()),
            _ => None,
        }
    }

    /// The payload as bytes, without a copy (a close frame's reason for a
    /// close frame).
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Fragment(f) => f.payload,
            Message::Close(frame) => frame.map(|f| f.reason.into_bytes()).unwrap_or_default(),
        }
    }

    /// The payload bytes (the close payload is not included).
    pub fn as_payload(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Fragment(f) => &f.payload,
            Message::Close(_) => &[],
        }
    }
}

impl From<&str> for Message {
    /// A text message.
    fn from(text: &str) -> Message {
        Message::Text(text.into())
    }
}

impl From<alloc::string::String> for Message {
    /// A text message.
    fn from(text: alloc::string::String) -> Message {
        Message::Text(text.into())
    }
}

impl From<Utf8Bytes> for Message {
    /// A text message.
    fn from(text: Utf8Bytes) -> Message {
        Message::Text(text)
    }
}

impl From<alloc::vec::Vec<u8>> for Message {
    /// A binary message.
    fn from(data: alloc::vec::Vec<u8>) -> Message {
        Message::Binary(data.into())
    }
}

impl From<&[u8]> for Message {
    /// A binary message.
    fn from(data: &[u8]) -> Message {
        Message::Binary(Bytes::copy_from_slice(data))
    }
}

impl From<Bytes> for Message {
    /// A binary message.
    fn from(data: Bytes) -> Message {
        Message::Binary(data)
    }
}
