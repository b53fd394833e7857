//! Sending without waiting: [`TrySendError`], why a message was given back.

use core::fmt;

use crate::proto::error::Error;

/// Why a non-waiting send gave its message back.
#[non_exhaustive]
#[derive(Debug)]
pub enum TrySendError<T> {
    /// More than [`Config::write_buffer_size`](crate::Config::write_buffer_size)
    /// bytes are queued: the peer is not keeping up.
    Full(T),
    /// The connection is closing, closed or failed.
    Closed(T),
    /// The core refused the message (local misuse, such as an invalid
    /// close code).
    Refused(T, Error),
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(t) | TrySendError::Closed(t) | TrySendError::Refused(t, _) => t,
        }
    }

    /// The same error about another message.
    pub(crate) fn with<U>(self, message: U) -> TrySendError<U> {
        match self {
            TrySendError::Full(_) => TrySendError::Full(message),
            TrySendError::Closed(_) => TrySendError::Closed(message),
            TrySendError::Refused(_, e) => TrySendError::Refused(message, e),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the connection's output queue is full"),
            TrySendError::Closed(_) => f.write_str("the connection is closed"),
            TrySendError::Refused(_, e) => write!(f, "message refused: {e}"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for TrySendError<T> {}
