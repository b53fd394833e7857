//! What a client keeps of a refused handshake: the status, the header
//! fields and a bounded part of the body (RFC 6455 §4.1: "if the status code
//! received from the server is not 101, the client handles the response per
//! HTTP procedures").
//!
//! The body is delimited as RFC 9112 §6.3 says for a response to `GET`: none
//! for 1xx, 204 and 304; chunked when `chunked` is the final transfer
//! coding (decoded here, §7.1; trailers are not read); another transfer
//! coding, or no framing at all, runs to the end of the connection; else
//! `Content-Length`. An invalid `Content-Length` (which §6.3 makes an
//! unrecoverable error) is read as running to the end of the connection
//! too: only a bounded diagnostic is collected, and the connection is
//! closed afterwards either way.
//!
//! At most [`Config::max_refusal_body`](crate::Config::max_refusal_body)
//! bytes are kept; a longer body is cut there and marked
//! [`truncated`](RefusedResponse::truncated). Nothing is allocated for what
//! a length merely claims.

use bytes::{Bytes, BytesMut};

use super::Headers;
use super::headers::{list_elements, trim_ows};

/// A server's answer refusing the handshake (any status but 101, or for an
/// extended CONNECT any status outside 2xx), as the client received it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefusedResponse {
    /// The status code.
    pub status: u16,
    /// All header fields of the response.
    pub headers: Headers,
    /// The body, decoded from chunked transfer coding if it was chunked, and
    /// at most [`Config::max_refusal_body`](crate::Config::max_refusal_body)
    /// bytes long.
    pub body: Bytes,
    /// Whether `body` may be only the start of the body: it was cut at the
    /// limit, or the connection ended (or the client stopped waiting) before
    /// the body's announced end.
    pub truncated: bool,
}

impl RefusedResponse {
    /// A refusal with `status` and `headers` and no body yet.
    pub(crate) fn new(status: u16, headers: Headers) -> Self {
        RefusedResponse {
            status,
            headers,
            body: Bytes::new(),
            truncated: false,
        }
    }

    /// The body as text, if it is UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        core::str::from_utf8(&self.body).ok()
    }
}

/// Collects body bytes up to a limit. Once the limit is reached, one more
/// byte of body (or a length known to go further) marks it cut; the end of
/// the body at exactly the limit does not.
#[derive(Clone, Debug)]
pub(crate) struct BodyCollector {
    body: BytesMut,
    limit: usize,
    truncated: bool,
}

impl BodyCollector {
    pub(crate) fn new(limit: usize) -> Self {
        BodyCollector {
            body: BytesMut::new(),
            limit,
            truncated: false,
        }
    }

    /// Room left under the limit.
    fn room(&self) -> usize {
        self.limit.saturating_sub(self.body.len())
    }

    /// Keeps what fits of `data`; `true` once more body than fits was seen
    /// (collecting is then over).
    pub(crate) fn push(&mut self, data: &[u8]) -> bool {
        let take = self.room().min(data.len());
        self.body.extend_from_slice(&data[..take]);
        if take < data.len() {
            self.truncated = true;
        }
        self.truncated
    }

    /// Ends collecting into `refused`; `cut` marks the body incomplete.
    pub(crate) fn finish(self, refused: &mut RefusedResponse, cut: bool) {
        refused.body = self.body.freeze();
        refused.truncated = self.truncated || cut;
    }
}

/// Longest chunk-size line accepted (with its extensions).
const MAX_CHUNK_LINE: usize = 1024;

/// How the body is delimited (RFC 9112 §6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Framing {
    /// No body.
    Empty,
    /// This many bytes remain.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(Chunk),
    /// Until the connection closes.
    UntilEof,
}

/// Where a chunked body is (RFC 9112 §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data: this many bytes remain.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
}

/// Reads a refused response's body off the front of the caller's buffer.
#[derive(Clone, Debug)]
pub(crate) struct RefusalBody {
    refused: RefusedResponse,
    framing: Framing,
    collector: BodyCollector,
}

/// What [`RefusalBody::receive`] found.
pub(crate) enum Progress {
    /// More bytes are needed.
    Partial,
    /// The body is complete, or cut at the limit.
    Done(RefusedResponse),
}

impl RefusalBody {
    /// Starts reading the body of a response with `status` and `headers`,
    /// keeping at most `limit` bytes.
    pub(crate) fn new(status: u16, headers: Headers, limit: usize) -> Self {
        let framing = framing(status, &headers);
        RefusalBody {
            refused: RefusedResponse::new(status, headers),
            framing,
            collector: BodyCollector::new(limit),
        }
    }

    /// The refusal with the body collected; `cut` marks it incomplete.
    fn take(&mut self, cut: bool) -> RefusedResponse {
        let collector = core::mem::replace(&mut self.collector, BodyCollector::new(0));
        let mut refused = RefusedResponse::new(self.refused.status, Headers::default());
        core::mem::swap(&mut refused, &mut self.refused);
        collector.finish(&mut refused, cut);
        refused
    }

    fn done(&mut self, cut: bool) -> Progress {
        Progress::Done(self.take(cut))
    }

    /// Takes body bytes off the front of `buf`, leaving any bytes after the
    /// body (or after the limit) there.
    pub(crate) fn receive(&mut self, buf: &mut BytesMut) -> Progress {
        match &mut self.framing {
            Framing::Empty => self.done(false),
            Framing::Length(remaining) => {
                let take = (self.collector.room() as u64)
                    .min(*remaining)
                    .min(buf.len() as u64) as usize;
                self.collector.push(&buf.split_to(take));
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.done(false)
                } else if self.collector.room() == 0 {
                    self.done(true)
                } else {
                    Progress::Partial
                }
            }
            Framing::UntilEof => {
                let take = self.collector.room().min(buf.len());
                self.collector.push(&buf.split_to(take));
                if buf.is_empty() {
                    Progress::Partial
                } else {
                    // A byte past the limit: the body goes on.
                    self.done(true)
                }
            }
            Framing::Chunked(_) => self.receive_chunked(buf),
        }
    }

    fn receive_chunked(&mut self, buf: &mut BytesMut) -> Progress {
        loop {
            let Framing::Chunked(state) = &mut self.framing else {
                return Progress::Partial;
            };
            match *state {
                Chunk::Size => {
                    let window = &buf[..buf.len().min(MAX_CHUNK_LINE)];
                    let Some(nl) = window.iter().position(|&b| b == b'\n') else {
                        if window.len() == MAX_CHUNK_LINE {
                            return self.done(true);
                        }
                        return Progress::Partial;
                    };
                    let line = buf.split_to(nl + 1);
                    match chunk_size(&line[..nl]) {
                        Some(0) => return self.done(false),
                        Some(size) => *state = Chunk::Data(size),
                        None => return self.done(true),
                    }
                }
                Chunk::Data(remaining) => {
                    if self.collector.room() == 0 {
                        return self.done(true);
                    }
                    let take = (self.collector.room() as u64)
                        .min(remaining)
                        .min(buf.len() as u64) as usize;
                    if take == 0 {
                        return Progress::Partial;
                    }
                    self.collector.push(&buf.split_to(take));
                    *state = match remaining - take as u64 {
                        0 => Chunk::DataEnd,
                        left => Chunk::Data(left),
                    };
                }
                Chunk::DataEnd => match &buf[..] {
                    [b'\r', b'\n', ..] | [b'\n', ..] => {
                        let n = if buf[0] == b'\r' { 2 } else { 1 };
                        let _ = buf.split_to(n);
                        *state = Chunk::Size;
                    }
                    [] | [b'\r'] => return Progress::Partial,
                    _ => return self.done(true),
                },
            }
        }
    }

    /// Ends the body at the end of the connection (`eof`) or because the
    /// caller stops reading: complete only for a body that runs to the end
    /// of the connection, and only at `eof`.
    pub(crate) fn finish(&mut self, eof: bool) -> RefusedResponse {
        let complete = matches!(self.framing, Framing::Empty)
            || (eof && matches!(self.framing, Framing::UntilEof));
        self.take(!complete)
    }
}

/// How the body of a response to `GET` with `status` is delimited (RFC 9112
/// §6.3).
fn framing(status: u16, headers: &Headers) -> Framing {
    if status < 200 || status == 204 || status == 304 {
        return Framing::Empty;
    }
    if headers.contains("Transfer-Encoding") {
        let last = headers
            .get_all("Transfer-Encoding")
            .flat_map(list_elements)
            .last();
        return match last {
            Some(coding) if coding.eq_ignore_ascii_case(b"chunked") => {
                Framing::Chunked(Chunk::Size)
            }
            _ => Framing::UntilEof,
        };
    }
    let mut lengths = headers.get_all("Content-Length").flat_map(list_elements);
    let Some(first) = lengths.next() else {
        return Framing::UntilEof;
    };
    match decimal(first) {
        // Repeated values must agree (RFC 9110 §8.6).
        Some(n) if lengths.all(|l| l == first) => Framing::Length(n),
        _ => Framing::UntilEof,
    }
}

/// A non-empty run of decimal digits that fits a `u64`.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

/// The size on a chunk-size line (hex digits, then optional extensions
/// after `;`), without its line end.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (hex, rest) = line.split_at(digits);
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    let rest = trim_ows(rest);
    if !(rest.is_empty() || rest.starts_with(b";")) {
        return None;
    }
    hex.iter().try_fold(0u64, |n, &d| {
        let v = (d as char).to_digit(16)?;
        Some((n << 4) | u64::from(v))
    })
}

#[cfg(test)]
#[path = "refused_tests.rs"]
mod tests;
