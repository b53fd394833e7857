//! Refusal bodies in the formats applications answer with: JSON and plain
//! text, each with its `Content-Type`.

use alloc::string::String;
use bytes::Bytes;

use crate::proto::handshake::Refusal;

impl Refusal {
    /// Sets a JSON body: `Content-Type: application/json` and `body`.
    pub fn json(self, body: impl Into<Bytes>) -> Self {
        self.header("Content-Type", "application/json").body(body)
    }

    /// Sets a text body: `Content-Type: text/plain; charset=utf-8` and `body`.
    pub fn text(self, body: impl Into<String>) -> Self {
        self.header("Content-Type", "text/plain; charset=utf-8")
            .body(body.into())
    }
}
