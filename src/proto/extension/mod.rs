//! Extension negotiation (RFC 6455 §9) and the home of RSV bits.
//!
//! The `Sec-WebSocket-Extensions` header carries a comma-separated list of
//! extensions, each a name followed by `;`-separated parameters (§9.1):
//!
//! ```text
//! extension       = extension-token *( ";" extension-param )
//! extension-param = token [ "=" ( token | quoted-string ) ]
//! ```
//!
//! A client offers extensions in its request; a server answers with the ones
//! it accepts, in the order it will apply them; the client checks the answer
//! against its offer. [`ExtensionConfig`] says what this endpoint supports and
//! drives all three steps; the outcome is a [`Negotiated`] handed to the
//! [`Connection`](crate::Connection). Tests and fuzzers that want a
//! connection with an extension in force but no handshake build the
//! [`Negotiated`] themselves (`Negotiated::new().with_deflate(..)`).
//!
//! The one extension implemented is permessage-deflate (RFC 7692), behind the
//! `deflate` feature, and only when asked for with
#![cfg_attr(feature = "deflate", doc = "[`ExtensionConfig::deflate`]:")]
#![cfg_attr(not(feature = "deflate"), doc = "`ExtensionConfig::deflate`:")]
//! a default configuration offers nothing, accepts nothing, and refuses
//! any extension a server answers with.
//!
//! # permessage-deflate (RFC 7692, feature `deflate`)
//!
//! Building with the feature makes compression *available*; each endpoint
//! still turns it on: a client offers it and a server accepts offers only
//! when their `ExtensionConfig` says so.
//!
//! ```
//! # #[cfg(feature = "deflate")] {
//! use rfc6455::extension::{DeflateConfig, ExtensionConfig};
//!
//! let extensions = ExtensionConfig::new().deflate(
//!     DeflateConfig::new()             // context takeover, 15-bit windows, level 1
//!         .threshold(256)              // shorter messages go uncompressed
//!         .client_max_window_bits(12), // on a server: ask clients for 4 KiB windows
//! );
//! let config = rfc6455::Config::default().extensions(extensions);
//! # let _ = config;
//! # }
//! ```
//!
//! **Why it is off by default, twice over.** Compression state is the
//! largest thing a connection can hold: with context takeover and 15-bit
//! windows, zlib's compressor is about 256 KiB and its inflater about
//! 40 KiB, per connection, against a few hundred bytes for an idle
//! connection without it. A dependency that switched the feature on
//! elsewhere in a build (Cargo unifies features) must not silently change
//! what every connection negotiates, nor start compressing secrets next to
//! attacker-chosen data (the CRIME/BREACH class of attacks). So the feature
//! adds the code, and the configuration turns it on.
//!
//! - **Negotiation** (RFC 7692 §7.1): all four parameters, with and without
//!   values. A server takes the first acceptable offer and declines offers
//!   with unknown, repeated or invalid parameters; it answers
//!   `client_max_window_bits` only if the client offered it, and echoes
//!   `client_no_context_takeover` when offered (the client promised it
//!   anyway, and it lets the server drop its inflater between messages). A
//!   client fails the handshake on a response it cannot accept.
//!   `Negotiated::deflate()` shows what was agreed.
//! - **Memory**: zlib state is allocated on the first compressed message in
//!   each direction; where no context takeover applies it is dropped after
//!   each message, so idle connections hold none.
//!   `server_no_context_takeover` / `client_no_context_takeover` and smaller
//!   windows trade ratio for memory.
//! - **Limits**: [`Config::max_message_size`](crate::Config::max_message_size)
//!   applies to the *inflated* size. Each frame is inflated as it arrives,
//!   into a buffer that grows to at most the limit plus one byte; a bomb
//!   (10 MiB of zeros in 10 KiB) fails with 1009 having allocated about the
//!   limit. Invalid deflate data fails with 1007, invalid UTF-8 in inflated
//!   text with 1007 (checked incrementally), RSV1 on a continuation or
//!   control frame or without the extension with 1002.
//! - **Sending**: a message at least `threshold` bytes long (default 128) is
//!   compressed at `level` (default 1: on JSON-like traffic nearly the ratio
//!   of level 6 at a tenth of its CPU time for small messages) and sent with
//!   RSV1; control frames never are. Without context takeover, a message
//!   that would not shrink is sent uncompressed. A compressed message longer
//!   than [`Config::max_send_frame_size`](crate::Config::max_send_frame_size)
//!   goes out as several frames, RSV1 on the first only.
//!   [`Connection::send_fragment`](crate::Connection::send_fragment)
//!   compresses a message whose first fragment reaches the threshold,
//!   fragment by fragment, each flushed so that the peer can inflate it on
//!   arrival; streaming receivers ([`Config::fragments`](crate::Config::fragments))
//!   get each piece inflated.
//! - **8-bit windows**: zlib cannot compress with a 256-byte window, so when
//!   the peer limits this endpoint's window to 8 bits the extension is
//!   accepted and this endpoint sends every message uncompressed (always
//!   allowed, §6); it still inflates what the peer compresses.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::proto::handshake::HandshakeError;

#[cfg(feature = "deflate")]
pub(crate) mod deflate;
#[cfg(feature = "deflate")]
pub use deflate::{DEFAULT_LEVEL, DEFAULT_THRESHOLD, DeflateConfig, DeflateParams};

/// The outcome of extension negotiation, handed to a [`Connection`](crate::Connection).
///
/// A handshake produces it. For a connection made without one,
/// [`Negotiated::new`] builds one with nothing in force, and (feature
/// `deflate`) `with_deflate` puts permessage-deflate in force.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<deflate::Agreed>,
}

impl Negotiated {
    /// Nothing negotiated: what [`Connection::new`](crate::Connection::new)
    /// uses, and the outcome of a handshake that agreed on no extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// permessage-deflate in force with `params`, as if a handshake had
    /// agreed on them, for a [`Connection`](crate::Connection) built with
    /// [`Connection::with_extensions`](crate::Connection::with_extensions)
    /// without one: in tests, fuzzers and benchmarks. Give the client and the
    /// server the same `params`, as a handshake would.
    ///
    /// `settings` supplies what this endpoint does not negotiate: its
    /// [`level`](DeflateConfig::level) and
    /// [`threshold`](DeflateConfig::threshold). Its window and context
    /// takeover settings are not used; `params` decides those.
    ///
    /// # Panics
    /// If a window size in `params` is outside `8..=15` (its fields are
    /// public, so the setters' check may have been bypassed).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use rfc6455::extension::{DeflateConfig, DeflateParams, Negotiated};
    /// use rfc6455::{Config, Connection, Message, Role};
    ///
    /// /// Moves everything `from` has queued into `to_buf`.
    /// fn pump(from: &mut Connection, to_buf: &mut BytesMut) {
    ///     while from.pending_output() > 0 {
    ///         for chunk in from.output_chunks() {
    ///             to_buf.extend_from_slice(chunk);
    ///         }
    ///         from.advance_output(from.pending_output());
    ///     }
    /// }
    ///
    /// let params = DeflateParams::new().client_max_window_bits(12);
    /// // Threshold 0: even a short message is compressed.
    /// let settings = DeflateConfig::new().threshold(0);
    /// let negotiated = Negotiated::new().with_deflate(params, &settings);
    /// let mut client =
    ///     Connection::with_extensions(Role::Client, Config::default(), negotiated.clone());
    /// let mut server = Connection::with_extensions(Role::Server, Config::default(), negotiated);
    /// assert_eq!(server.extensions().deflate(), Some(&params));
    ///
    /// let text = "Hello, Hello, Hello, Hello";
    /// client.send_text(text)?;
    /// let mut at_server = BytesMut::new();
    /// pump(&mut client, &mut at_server);
    /// // FIN, RSV1 (compressed) and the text opcode; the payload is shorter.
    /// assert_eq!(at_server[0], 0xc1);
    /// assert!(usize::from(at_server[1] & 0x7f) < text.len());
    /// assert_eq!(server.receive(&mut at_server)?.message(), Some(Message::Text(text.into())));
    /// # Ok::<(), rfc6455::Error>(())
    /// ```
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn with_deflate(mut self, params: DeflateParams, settings: &DeflateConfig) -> Self {
        deflate::check_window_bits(params.server_max_window_bits);
        deflate::check_window_bits(params.client_max_window_bits);
        self.deflate = Some(settings.agreed(params));
        self
    }

    /// The RSV bits (as in the first header byte, `0x70` mask) granted to frames.
    pub(crate) fn rsv_bits(&self) -> u8 {
        #[cfg(feature = "deflate")]
        if self.deflate.is_some() {
            return crate::proto::frame::RSV1;
        }
        0
    }

    /// The permessage-deflate parameters in force, if it was negotiated.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref().map(|a| &a.params)
    }
}

/// The extensions this endpoint supports and their settings.
///
/// Set as [`Config::extensions`](crate::Config#structfield.extensions), which
/// the handshake ([`ServerHandshake`](crate::proto::handshake::ServerHandshake),
/// [`ClientRequest::build`](crate::proto::handshake::ClientRequest::build)) and every
/// adapter take. The default supports no
/// extension; with the `deflate` feature,
#[cfg_attr(feature = "deflate", doc = "[`deflate`](ExtensionConfig::deflate)")]
#[cfg_attr(not(feature = "deflate"), doc = "`deflate`")]
/// turns permessage-deflate on.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtensionConfig {
    /// The permessage-deflate settings, if it is supported (feature
    /// `deflate`).
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateConfig>,
}

impl ExtensionConfig {
    /// A configuration supporting no extension.
    pub fn new() -> Self {
        Self::default()
    }

    /// Supports permessage-deflate (RFC 7692) with these settings: a client
    /// offers it, a server accepts the first valid offer.
    #[cfg(feature = "deflate")]
    #[must_use]
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.deflate = Some(config);
        self
    }

    /// The `Sec-WebSocket-Extensions` value a client sends, or `None` to send
    /// no such header.
    pub(crate) fn client_offer(&self) -> Option<String> {
        #[cfg(feature = "deflate")]
        if let Some(d) = &self.deflate {
            return Some(d.client_offer());
        }
        None
    }

    /// A server's answer to the client's `offers` (all header lines, in
    /// order): the `Sec-WebSocket-Extensions` value to send (`None` to send no
    /// such header) and what was agreed. Offers the server does not support
    /// are ignored (§9.1), and so are offers with invalid parameters (RFC 7692
    /// §5): the first acceptable one is taken.
    pub(crate) fn server_answer(&self, offers: &[ExtensionOffer]) -> (Option<String>, Negotiated) {
        #[cfg(feature = "deflate")]
        if let Some(d) = &self.deflate {
            let accepted = offers
                .iter()
                .filter(|o| o.name.eq_ignore_ascii_case(deflate::NAME))
                .find_map(|o| d.server_accept(o));
            if let Some((answer, agreed)) = accepted {
                return (
                    Some(answer),
                    Negotiated {
                        deflate: Some(agreed),
                    },
                );
            }
        }
        let _ = offers;
        (None, Negotiated::default())
    }

    /// Checks a server's answer against what this client offered.
    ///
    /// # Errors
    /// [`HandshakeError::UnofferedExtension`] if the answer names an extension
    /// that was not offered, names one twice, or has parameters the client
    /// cannot accept (RFC 7692 §5: the client fails the connection).
    pub(crate) fn client_accept(
        &self,
        answer: &[ExtensionOffer],
    ) -> Result<Negotiated, HandshakeError> {
        match answer {
            [] => Ok(Negotiated::default()),
            #[cfg(feature = "deflate")]
            [one] if one.name.eq_ignore_ascii_case(deflate::NAME) => {
                let d = self
                    .deflate
                    .as_ref()
                    .ok_or(HandshakeError::UnofferedExtension)?;
                let agreed = d
                    .client_accept(one)
                    .ok_or(HandshakeError::UnofferedExtension)?;
                Ok(Negotiated {
                    deflate: Some(agreed),
                })
            }
            _ => Err(HandshakeError::UnofferedExtension),
        }
    }
}

/// One element of a `Sec-WebSocket-Extensions` list: an extension a client
/// offers, or one a server accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionOffer {
    name: String,
    params: Vec<ExtensionParam>,
}

/// One parameter of an [`ExtensionOffer`], as in
/// `client_max_window_bits=10` or `server_no_context_takeover`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionParam {
    name: String,
    value: Option<String>,
}

impl ExtensionOffer {
    /// The extension's name, such as `permessage-deflate`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameters, in order.
    pub fn params(&self) -> &[ExtensionParam] {
        &self.params
    }

    /// The first parameter called `name` (compared ASCII-case-insensitively):
    /// `Some(None)` if it has no value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(ExtensionParam::value)
    }
}

impl ExtensionParam {
    /// The parameter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameter's value, unquoted; `None` if it has none.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// Writes the element in header syntax: `name; param; param=value`. Values
/// are tokens (checked when parsed), so they are written unquoted.
impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.params {
            write!(f, "; {}", p.name)?;
            if let Some(v) = &p.value {
                write!(f, "={v}")?;
            }
        }
        Ok(())
    }
}

/// Parses one `Sec-WebSocket-Extensions` header value into its elements.
///
/// Several header lines form one list (RFC 9110 §5.3): parse each and chain
/// the results. Empty list elements are skipped. A quoted-string value is
/// unescaped and must then be a token (§9.1).
///
/// # Errors
/// Yields [`HandshakeError::InvalidHeader`]`("Sec-WebSocket-Extensions")` at
/// the first syntax error, and nothing after it.
///
/// ```
/// use rfc6455::extension::parse_extensions;
///
/// let offers: Vec<_> = parse_extensions(
///     "permessage-deflate; client_max_window_bits, x-foo; a=\"1\"",
/// )
/// .collect::<Result<_, _>>()
/// .unwrap();
/// assert_eq!(offers[0].name(), "permessage-deflate");
/// assert_eq!(offers[0].param("client_max_window_bits"), Some(None));
/// assert_eq!(offers[1].param("a"), Some(Some("1")));
/// ```
pub fn parse_extensions(
    value: &str,
) -> impl Iterator<Item = Result<ExtensionOffer, HandshakeError>> + '_ {
    let mut p = Parser {
        s: value.as_bytes(),
        pos: 0,
        failed: false,
    };
    core::iter::from_fn(move || p.next_element())
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    failed: bool,
}

const INVALID: HandshakeError = HandshakeError::InvalidHeader("Sec-WebSocket-Extensions");

impl Parser<'_> {
    fn next_element(&mut self) -> Option<Result<ExtensionOffer, HandshakeError>> {
        if self.failed {
            return None;
        }
        // Skip empty elements.
        loop {
            self.skip_ows();
            match self.peek() {
                None => return None,
                Some(b',') => self.pos += 1,
                Some(_) => break,
            }
        }
        let r = self.element();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }

    fn element(&mut self) -> Result<ExtensionOffer, HandshakeError> {
        let name = self.token()?;
        let mut params = Vec::new();
        loop {
            self.skip_ows();
            match self.peek() {
                None => break,
                Some(b',') => {
                    self.pos += 1;
                    break;
                }
                Some(b';') => {
                    self.pos += 1;
                    self.skip_ows();
                    let name = self.token()?;
                    self.skip_ows();
                    let value = if self.peek() == Some(b'=') {
                        self.pos += 1;
                        self.skip_ows();
                        Some(if self.peek() == Some(b'"') {
                            self.quoted()?
                        } else {
                            self.token()?
                        })
                    } else {
                        None
                    };
                    params.push(ExtensionParam { name, value });
                }
                Some(_) => return Err(INVALID),
            }
        }
        Ok(ExtensionOffer { name, params })
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<String, HandshakeError> {
        let start = self.pos;
        while self.peek().is_some_and(crate::proto::handshake::is_tchar) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(INVALID);
        }
        // Token characters are ASCII.
        Ok(self.s[start..self.pos].iter().map(|&b| b as char).collect())
    }

    /// A quoted-string (RFC 9110 §5.6.4), unescaped; the result must be a token.
    fn quoted(&mut self) -> Result<String, HandshakeError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(INVALID),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = self.s.get(self.pos + 1).copied().ok_or(INVALID)?;
                    out.push(char::from(c));
                    self.pos += 2;
                    if !crate::proto::handshake::is_tchar(c) {
                        return Err(INVALID);
                    }
                }
                Some(c) => {
                    if !crate::proto::handshake::is_tchar(c) {
                        return Err(INVALID);
                    }
                    out.push(char::from(c));
                    self.pos += 1;
                }
            }
        }
        if out.is_empty() {
            return Err(INVALID);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn parse(v: &str) -> Result<Vec<ExtensionOffer>, HandshakeError> {
        parse_extensions(v).collect()
    }

    #[test]
    fn grammar() {
        let offers = parse(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10 ,\
             , x-webkit-deflate-frame,foo;a=\"b\\c\"\t;  d = 5",
        )
        .unwrap();
        assert_eq!(offers.len(), 3);
        assert_eq!(offers[0].name(), "permessage-deflate");
        assert_eq!(offers[0].params().len(), 2);
        assert_eq!(offers[0].param("CLIENT_MAX_WINDOW_BITS"), Some(None));
        assert_eq!(offers[0].param("server_max_window_bits"), Some(Some("10")));
        assert_eq!(offers[0].param("nope"), None);
        assert_eq!(offers[1].name(), "x-webkit-deflate-frame");
        assert!(offers[1].params().is_empty());
        assert_eq!(offers[2].param("a"), Some(Some("bc")));
        assert_eq!(offers[2].param("d"), Some(Some("5")));
        assert_eq!(
            offers[0].to_string(),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
        );
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse(" , ,").unwrap(), []);
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            ";a",
            "foo;",
            "foo;=1",
            "foo;a=",
            "foo;a=\"unterminated",
            "foo;a=\"\"",
            "foo;a=\"b c\"",
            "foo;a=\"x\\",
            "foo bar",
            "foo;a=1 2",
            "f\u{e9}e",
            "foo;a=\"\\ \"",
        ] {
            assert_eq!(parse(bad), Err(INVALID), "{bad:?}");
        }
        // Nothing after the first error.
        let mut it = parse_extensions("a b, c");
        assert_eq!(it.next(), Some(Err(INVALID)));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn nothing_supported() {
        let cfg = ExtensionConfig::new();
        assert_eq!(cfg.client_offer(), None);
        let offers = parse("permessage-deflate").unwrap();
        let (answer, negotiated) = cfg.server_answer(&offers);
        assert_eq!(answer, None);
        assert_eq!(negotiated.rsv_bits(), 0);
        assert!(cfg.client_accept(&[]).is_ok());
        assert_eq!(
            cfg.client_accept(&offers).unwrap_err(),
            HandshakeError::UnofferedExtension
        );
    }
}
