//! HTTP header plumbing shared by both sides of the handshake: finding the end
//! of a header block without re-scanning, the owned [`Headers`] map, and the
//! token and list rules of RFC 9110 §5.6.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;
use core::ops::Range;

/// Where the end of a header block is, scanned incrementally.
///
/// Each call looks only at bytes it has not seen (plus two bytes of overlap),
/// so feeding a request one byte at a time costs linear time overall.
#[derive(Clone, Debug)]
pub(crate) struct HeaderScanner {
    scanned: usize,
    limit: usize,
}

/// What [`HeaderScanner::scan`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// No complete header block yet, and the limit is not reached.
    Partial,
    /// The header block (including its terminating empty line) ends here.
    Complete(usize),
    /// The limit is reached without a complete header block.
    TooLarge,
}

impl HeaderScanner {
    pub(crate) fn new(limit: usize) -> Self {
        HeaderScanner { scanned: 0, limit }
    }

    /// Looks for the empty line that ends a header block in `buf`, of which
    /// the first bytes were already seen by earlier calls. Both CRLF and bare
    /// LF line endings are recognised, as RFC 9112 §2.2 allows.
    pub(crate) fn scan(&mut self, buf: &[u8]) -> Scan {
        let window = &buf[..buf.len().min(self.limit)];
        // An end is `\n\n` or `\n\r\n`; restart two bytes back so an end
        // split across calls is found.
        // (A buffer that shrank since the last call is rescanned from where
        // it now ends, rather than trusted.)
        let mut i = self.scanned.min(window.len()).saturating_sub(2);
        while let Some(pos) = window[i..].iter().position(|&b| b == b'\n') {
            let nl = i + pos;
            match window.get(nl + 1) {
                Some(b'\n') => return self.done(nl + 2),
                Some(b'\r') => match window.get(nl + 2) {
                    Some(b'\n') => return self.done(nl + 3),
                    Some(_) => {}
                    None => break,
                },
                Some(_) => {}
                None => break,
            }
            i = nl + 1;
        }
        self.scanned = window.len();
        if buf.len() >= self.limit {
            Scan::TooLarge
        } else {
            Scan::Partial
        }
    }

    fn done(&mut self, end: usize) -> Scan {
        self.scanned = 0;
        Scan::Complete(end)
    }
}

/// One header field: ranges into the block.
#[derive(Clone)]
struct Field {
    name: Range<usize>,
    value: Range<usize>,
}

/// The header fields of a handshake request or response, owned and looked up
/// by name ASCII-case-insensitively (RFC 9110 §5.1).
///
/// The fields share one buffer: the header block taken off the caller's input
/// without copying. Values have surrounding whitespace trimmed.
#[derive(Clone, Default)]
pub struct Headers {
    block: Bytes,
    fields: Vec<Field>,
}

impl Headers {
    /// Builds from httparse's fields, which borrow from `base`; `block` must
    /// later hold the same bytes as `base`'s start (it is split off it).
    pub(crate) fn index(
        base: &[u8],
        parsed: &[httparse::Header<'_>],
    ) -> Vec<(Range<usize>, Range<usize>)> {
        parsed
            .iter()
            .map(|h| {
                let value = trim_ows(h.value);
                (offset(base, h.name.as_bytes()), offset(base, value))
            })
            .collect()
    }

    pub(crate) fn from_index(block: Bytes, index: Vec<(Range<usize>, Range<usize>)>) -> Self {
        let fields = index
            .into_iter()
            .map(|(name, value)| Field { name, value })
            .collect();
        Headers { block, fields }
    }

    /// Builds from fields given one by one (as an `http::HeaderMap` holds
    /// them), copied into one block; values are trimmed of surrounding
    /// whitespace like parsed ones.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn from_fields<'a>(fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> Self {
        let mut block = alloc::vec::Vec::new();
        let mut index = Vec::new();
        for (name, value) in fields {
            let value = trim_ows(value);
            let n = block.len();
            block.extend_from_slice(name);
            let v = block.len();
            block.extend_from_slice(value);
            index.push((n..v, v..block.len()));
        }
        Self::from_index(Bytes::from(block), index)
    }

    fn name_of(&self, f: &Field) -> &str {
        // Header names are tokens (checked by httparse), hence ASCII.
        core::str::from_utf8(&self.block[f.name.clone()]).unwrap_or("")
    }

    /// Every field in order, as `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields
            .iter()
            .map(|f| (self.name_of(f), &self.block[f.value.clone()]))
    }

    /// Every value of the fields called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value of the first field called `name`.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value of the first field called `name`, if it is valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name)
            .and_then(|v| core::str::from_utf8(v).ok())
    }

    /// Whether a field called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name).is_some()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of the only field called `name`: `Ok(None)` if absent,
    /// `Err(())` if repeated.
    pub(crate) fn single(&self, name: &str) -> Result<Option<&[u8]>, ()> {
        let mut all = self
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        let first = all.next();
        match all.next() {
            Some(_) => Err(()),
            None => Ok(first),
        }
    }

    /// Whether any field called `name` lists `token` in its comma-separated
    /// value, compared ASCII-case-insensitively.
    pub(crate) fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .flat_map(list_elements)
            .any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    }
}

/// Two header maps are equal when they hold the same fields in the same
/// order, names compared ASCII-case-insensitively and values exactly.
impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((n1, v1), (n2, v2))| n1.eq_ignore_ascii_case(n2) && v1 == v2)
    }
}

impl Eq for Headers {}

/// Headers whose values [`Headers`]' `Debug` output hides, so that logging a
/// request does not leak credentials.
const SECRET: &[&str] = &[
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
];

/// Lists every field; credential values (`Authorization`, `Cookie`, ...) are
/// shown as `<redacted>`.
impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(n, v)| {
                let secret = SECRET.iter().any(|s| s.eq_ignore_ascii_case(n));
                let v = if secret {
                    String::from("<redacted>")
                } else {
                    String::from_utf8_lossy(v).into_owned()
                };
                (n, v)
            }))
            .finish()
    }
}

/// The range `part` occupies inside `base`; empty slices (which may point
/// anywhere) give an empty range.
fn offset(base: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    if part.is_empty() || start > base.len() || part.len() > base.len() - start {
        return 0..0;
    }
    start..start + part.len()
}

/// Strips optional whitespace (SP / HTAB) from both ends.
pub(crate) fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// The non-empty elements of a comma-separated list (RFC 9110 §5.6.1),
/// trimmed.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Whether `b` is a `tchar` (RFC 9110 §5.6.2).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `s` is a non-empty `token` (RFC 9110 §5.6.2).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Whether `v` may be sent as a field value: no control characters other
/// than HTAB (so no CR, LF or NUL), and no surrounding whitespace.
pub(crate) fn is_field_value(v: &[u8]) -> bool {
    v.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)) && trim_ows(v).len() == v.len()
}

/// Validates a header an application asks to send: a token name that is not
/// one of `reserved`, and a valid value.
pub(crate) fn valid_extra_header(name: &str, value: &str, reserved: &[&str]) -> bool {
    is_token(name.as_bytes())
        && is_field_value(value.as_bytes())
        && !reserved.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Adds `name: value` to a builder's extra headers if
/// [`valid_extra_header`] accepts it; false if it did not (the builder
/// reports that when it is used).
pub(crate) fn push_extra_header(
    headers: &mut Vec<(String, String)>,
    (name, value): (&str, &str),
    reserved: &[&str],
) -> bool {
    let valid = valid_extra_header(name, value, reserved);
    if valid {
        headers.push((name.to_string(), value.to_string()));
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_finds_crlf_and_lf_ends() {
        let mut s = HeaderScanner::new(100);
        assert_eq!(
            s.scan(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"),
            Scan::Complete(24)
        );
        let mut s = HeaderScanner::new(100);
        assert_eq!(s.scan(b"GET / HTTP/1.1\nA: b\n\nrest"), Scan::Complete(21));
    }

    #[test]
    fn scanner_incremental_matches_whole() {
        let msg = b"GET / HTTP/1.1\r\nA: b\r\n\r\nxyz";
        let mut s = HeaderScanner::new(100);
        for n in 0..=msg.len() {
            match s.scan(&msg[..n]) {
                Scan::Partial => assert!(n < 24),
                Scan::Complete(end) => {
                    assert_eq!((n, end), (24, 24));
                    return;
                }
                Scan::TooLarge => panic!(),
            }
        }
        panic!("never completed");
    }

    #[test]
    fn scanner_survives_a_shrunk_buffer() {
        let mut s = HeaderScanner::new(100);
        assert_eq!(s.scan(b"GET / HTTP/1.1\r\nA: b\r\n"), Scan::Partial);
        assert_eq!(s.scan(b"G"), Scan::Partial);
        assert_eq!(s.scan(b"A\n\n"), Scan::Complete(3));
    }

    #[test]
    fn debug_redacts_credentials() {
        let block = Bytes::from_static(b"Cookie: id=secret\r\nX: shown\r\n");
        let h = Headers::from_index(block, alloc::vec![(0..6, 8..17), (19..20, 22..27)]);
        assert_eq!(h.get("cookie"), Some("id=secret"));
        let dbg = alloc::format!("{h:?}");
        assert!(!dbg.contains("secret") && dbg.contains("<redacted>") && dbg.contains("shown"));
    }

    #[test]
    fn scanner_limit() {
        let mut s = HeaderScanner::new(10);
        assert_eq!(s.scan(b"GET / HTT"), Scan::Partial);
        assert_eq!(s.scan(b"GET / HTTP"), Scan::TooLarge);
        // A block that ends exactly at the limit is fine.
        let mut s = HeaderScanner::new(6);
        assert_eq!(s.scan(b"A\r\n\r\nB"), Scan::Complete(5));
        let mut s = HeaderScanner::new(4);
        assert_eq!(s.scan(b"A\r\n\r\n"), Scan::TooLarge);
    }

    #[test]
    fn lists_and_tokens() {
        let v: Vec<&[u8]> = list_elements(b" keep-alive ,, Upgrade\t").collect();
        assert_eq!(v, [&b"keep-alive"[..], b"Upgrade"]);
        assert!(is_token(b"chat.v2"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_field_value(b"a\r\nInjected: 1"));
        assert!(is_field_value(b"a b\tc"));
        assert!(!valid_extra_header("Upgrade", "x", &["upgrade"]));
        assert!(valid_extra_header("X-Id", "7", &["upgrade"]));
    }

    #[test]
    fn offsets_are_safe() {
        let base = alloc::vec![1u8, 2, 3, 4, 5];
        let elsewhere = [9u8, 9];
        assert_eq!(offset(&base, &base[1..3]), 1..3);
        assert_eq!(offset(&base, &elsewhere), 0..0);
        assert_eq!(offset(&base, &[]), 0..0);
    }
}
