//! permessage-deflate (RFC 7692): settings, negotiation (§7.1) and the
//! per-message codec (§7.2).
//!
//! # Negotiation
//!
//! A client offers one `permessage-deflate` element built from its
//! [`DeflateConfig`]; a server accepts the first offer whose parameters are
//! valid (§7.1: known names, each at most once, flags without values, window
//! bits `8..=15` written in decimal without leading zeros) and declines the
//! others; a client fails the handshake on a response it cannot accept
//! (§5: an invalid parameter, a window larger than it asked for, a missing
//! `server_no_context_takeover` it requested, two `permessage-deflate`
//! elements).
//!
//! # Windows of 8 bits
//!
//! zlib cannot produce a raw deflate stream with a 256-byte window (it
//! silently uses 512 bytes, which a peer limited to 256 cannot inflate). When
//! the agreed window for this endpoint's compressor is 8 bits, the offer is
//! still accepted, and this endpoint sends every message uncompressed, which
//! RFC 7692 always allows (§6: RSV1 is per message). Receiving from a peer
//! compressing with an 8-bit window works (a larger inflate window is always
//! sufficient).

pub(crate) mod codec;

use alloc::format;
use alloc::string::String;

use super::ExtensionOffer;

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// Default compression level: 1, the fastest that compresses. On JSON-like
/// traffic with context takeover it reaches nearly the ratio of zlib's
/// default (6) at a tenth of the CPU time for small messages
/// (`benches/micro/benches/deflate.rs`).
pub const DEFAULT_LEVEL: u32 = 1;

/// Default size under which a message is sent uncompressed: below it the
/// deflate framing and the CPU time cost more than they save.
pub const DEFAULT_THRESHOLD: usize = 128;

/// Settings of permessage-deflate for one endpoint, used both to build a
/// client's offer and to answer a client's offer on a server.
///
/// Defaults: context takeover allowed both ways, 15-bit windows both ways,
/// level [`DEFAULT_LEVEL`], messages under [`DEFAULT_THRESHOLD`] bytes sent
/// uncompressed.
///
/// | setting | on a client | on a server |
/// |---|---|---|
/// | [`server_no_context_takeover`](Self::server_no_context_takeover) | asks the server to reset its compressor per message | resets its compressor per message, and says so |
/// | [`client_no_context_takeover`](Self::client_no_context_takeover) | resets its compressor per message, and says so | asks the client to reset its compressor per message |
/// | [`server_max_window_bits`](Self::server_max_window_bits) | below 15: asks the server for at most this window | the largest window its compressor uses |
/// | [`client_max_window_bits`](Self::client_max_window_bits) | the largest window its compressor uses | below 15: asks the client for at most this window (if it offered the parameter) |
///
/// Resetting a compressor per message frees its memory between messages:
/// with `*_no_context_takeover` in force, an idle connection holds no
/// compression state in that direction.
///
/// ```
/// use rfc6455::extension::{DeflateConfig, ExtensionConfig};
/// let extensions = ExtensionConfig::new().deflate(
///     DeflateConfig::new()
///         .server_no_context_takeover(true)
///         .client_max_window_bits(12)
///         .level(1)
///         .threshold(512),
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeflateConfig {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    level: u32,
    threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: DEFAULT_LEVEL,
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

impl DeflateConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The server resets its compressor after each message (see the table above).
    #[must_use]
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// The client resets its compressor after each message (see the table above).
    #[must_use]
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// The largest LZ77 window, as a base-2 logarithm, of the server's
    /// compressor (see the table above).
    ///
    /// # Panics
    /// If `bits` is outside `8..=15`.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        assert!(
            (8..=15).contains(&bits),
            "window bits must be within 8..=15"
        );
        self.server_max_window_bits = bits;
        self
    }

    /// The largest LZ77 window, as a base-2 logarithm, of the client's
    /// compressor (see the table above).
    ///
    /// # Panics
    /// If `bits` is outside `8..=15`.
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        assert!(
            (8..=15).contains(&bits),
            "window bits must be within 8..=15"
        );
        self.client_max_window_bits = bits;
        self
    }

    /// The compression level, 0 (store only) to 9 (smallest output).
    ///
    /// # Panics
    /// If `level` exceeds 9.
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        assert!(level <= 9, "compression level must be within 0..=9");
        self.level = level;
        self
    }

    /// Messages (or, for fragmented messages, first fragments) shorter than
    /// `bytes` are sent uncompressed. 0 compresses everything.
    #[must_use]
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The `Sec-WebSocket-Extensions` element a client offers.
    pub(crate) fn client_offer(&self) -> String {
        let mut s = String::from(NAME);
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits < 15 {
            s.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        // Always tell the server it may limit our window (§7.1.2.2).
        s.push_str("; client_max_window_bits");
        if self.client_max_window_bits < 15 {
            s.push_str(&format!("={}", self.client_max_window_bits));
        }
        s
    }

    /// A server's answer to one offer: the response element and the agreed
    /// parameters, or `None` to decline an offer with invalid parameters.
    pub(crate) fn server_accept(&self, offer: &ExtensionOffer) -> Option<(String, Agreed)> {
        let p = Params::parse(offer, false)?;
        let server_bits = match p.server_max_window_bits {
            Some(Some(bits)) => bits.min(self.server_max_window_bits),
            _ => self.server_max_window_bits,
        };
        // Without the parameter in the offer the client's window cannot be
        // limited (§7.1.2.2); with a value, the client promised at most it.
        let client_bits = match p.client_max_window_bits {
            None => 15,
            Some(bits) => bits.unwrap_or(15).min(self.client_max_window_bits),
        };
        let params = DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover
                || p.server_no_context_takeover,
            // Echoing the client's hint costs nothing (it promised already)
            // and lets this server drop its inflate state between messages.
            client_no_context_takeover: self.client_no_context_takeover
                || p.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        };
        let mut s = String::from(NAME);
        if params.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if params.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if p.server_max_window_bits.is_some() || server_bits < 15 {
            s.push_str(&format!("; server_max_window_bits={server_bits}"));
        }
        if p.client_max_window_bits.is_some() && client_bits < 15 {
            s.push_str(&format!("; client_max_window_bits={client_bits}"));
        }
        Some((s, self.agreed(params)))
    }

    /// Checks a server's response against this client's offer.
    pub(crate) fn client_accept(&self, response: &ExtensionOffer) -> Option<Agreed> {
        let p = Params::parse(response, true)?;
        if self.server_no_context_takeover && !p.server_no_context_takeover {
            return None;
        }
        let server_bits = match p.server_max_window_bits {
            Some(Some(bits)) if bits <= self.server_max_window_bits => bits,
            Some(_) => return None,
            // A request for a smaller server window must be answered (§7.1.2.1).
            None if self.server_max_window_bits < 15 => return None,
            None => 15,
        };
        let client_bits = match p.client_max_window_bits {
            Some(Some(bits)) => bits.min(self.client_max_window_bits),
            Some(None) => return None,
            None => self.client_max_window_bits,
        };
        Some(self.agreed(DeflateParams {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover
                || p.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        }))
    }

    /// `params` in force, with this endpoint's level and threshold, which
    /// are not negotiated.
    pub(super) fn agreed(&self, params: DeflateParams) -> Agreed {
        Agreed {
            params,
            level: self.level,
            threshold: self.threshold,
        }
    }
}

/// The permessage-deflate parameters both endpoints agreed on (RFC 7692 §7.1),
/// as seen by [`Negotiated::deflate`](super::Negotiated::deflate).
///
/// A handshake produces them. To put them in force without one (tests,
/// fuzzers, benchmarks), build them with [`new`](Self::new) and the setters
/// below and hand them to
/// [`Negotiated::with_deflate`](super::Negotiated::with_deflate); both
/// endpoints of a conversation must be given the same parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The largest window of the server's compressor (8..=15).
    pub server_max_window_bits: u8,
    /// The largest window of the client's compressor (8..=15).
    pub client_max_window_bits: u8,
}

/// What an offer and an answer without parameters agree on (RFC 7692 §7.1):
/// context takeover both ways, 15-bit windows both ways.
impl Default for DeflateParams {
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

impl DeflateParams {
    /// The defaults: context takeover both ways, 15-bit windows both ways.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`server_no_context_takeover`](Self#structfield.server_no_context_takeover).
    #[must_use]
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets [`client_no_context_takeover`](Self#structfield.client_no_context_takeover).
    #[must_use]
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets [`server_max_window_bits`](Self#structfield.server_max_window_bits).
    ///
    /// # Panics
    /// If `bits` is outside `8..=15`.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        check_window_bits(bits);
        self.server_max_window_bits = bits;
        self
    }

    /// Sets [`client_max_window_bits`](Self#structfield.client_max_window_bits).
    ///
    /// # Panics
    /// If `bits` is outside `8..=15`.
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        check_window_bits(bits);
        self.client_max_window_bits = bits;
        self
    }
}

/// Panics unless `bits` is a window size RFC 7692 allows. Checked where
/// parameters come from outside a handshake, because zlib panics on a window
/// over 15 only once a connection compresses or inflates.
pub(super) fn check_window_bits(bits: u8) {
    assert!(
        (8..=15).contains(&bits),
        "window bits must be within 8..=15"
    );
}

/// What the handshake hands the connection: the agreed parameters and this
/// endpoint's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Agreed {
    pub(crate) params: DeflateParams,
    pub(crate) level: u32,
    pub(crate) threshold: usize,
}

/// An element's parameters, checked (§7.1). For the window bits, `None` is
/// absent and `Some(None)` present without a value.
#[derive(Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<Option<u8>>,
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    /// `None` if any parameter is unknown, repeated, or has an invalid value.
    /// In a `response`, both window parameters need a value.
    fn parse(element: &ExtensionOffer, response: bool) -> Option<Params> {
        let mut p = Params::default();
        let mut seen = [false; 4];
        for param in element.params() {
            let name = param.name();
            let value = param.value();
            let index = ["server_no_context_takeover", "client_no_context_takeover"]
                .iter()
                .chain(&["server_max_window_bits", "client_max_window_bits"])
                .position(|n| n.eq_ignore_ascii_case(name))?;
            if core::mem::replace(&mut seen[index], true) {
                return None;
            }
            match index {
                0 | 1 if value.is_some() => return None,
                0 => p.server_no_context_takeover = true,
                1 => p.client_no_context_takeover = true,
                _ => {
                    let bits = match value {
                        Some(v) => Some(window_bits(v)?),
                        // The server's window always needs a value; the
                        // client's only in a response.
                        None if index == 2 || response => return None,
                        None => None,
                    };
                    if index == 2 {
                        p.server_max_window_bits = Some(bits);
                    } else {
                        p.client_max_window_bits = Some(bits);
                    }
                }
            }
        }
        Some(p)
    }
}

/// A window size parameter: `8` to `15`, decimal, no leading zeros (§7.1.2).
fn window_bits(value: &str) -> Option<u8> {
    let bits: u8 = match value.as_bytes() {
        [d @ b'8'..=b'9'] => d - b'0',
        [b'1', d @ b'0'..=b'5'] => 10 + (d - b'0'),
        _ => return None,
    };
    Some(bits)
}

#[cfg(test)]
mod tests;
