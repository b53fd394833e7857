//! What a connection hands out ([`Event`]) and what adapters send and receive
//! ([`Message`]).

use bytes::Bytes;

use crate::close::{CloseCode, CloseFrame};
use crate::text::Utf8Bytes;

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

impl From<Event> for Message {
    fn from(event: Event) -> Message {
        match event {
            Event::Text(t) => Message::Text(t),
            Event::Binary(b) => Message::Binary(b),
            Event::Fragment(f) => Message::Fragment(f),
            Event::Ping(p) => Message::Ping(p),
            Event::Pong(p) => Message::Pong(p),
            Event::Close(c) => Message::Close(c),
        }
    }
}

/// Something the peer sent, as [`Connection::receive`](crate::Connection::receive) reports it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A whole text message.
    Text(Utf8Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// A piece of a data message, in streaming mode.
    Fragment(Fragment),
    /// A ping; the connection has already queued the pong.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's close frame (`None` if it carried no status code). If this
    /// endpoint had not sent a close frame yet, the echo is already queued.
    Close(Option<CloseFrame>),
}

/// A WebSocket message, as the adapters send and receive it.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping (at most 125 bytes).
    Ping(Bytes),
    /// A pong (at most 125 bytes).
    Pong(Bytes),
    /// A close frame, with an optional code and reason.
    Close(Option<CloseFrame>),
    /// One frame of a fragmented data message (streaming; see
    /// [`Connection::send_fragment`](crate::Connection::send_fragment) and
    /// [`Config::fragments`](crate::Config::fragments)).
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
