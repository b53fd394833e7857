//! The answer a server gives when it does not open the WebSocket (RFC 6455
//! §4.2.2, §4.4): a status, header fields and an optional body, the same
//! from every adapter.
//!
//! A [`Refusal`] comes from the request's own fault (every server-side
//! [`HandshakeError`] converts into one: 400, 403, 405, 426, 431, 505) or
//! from the application, which may say more than a status: `401` with
//! `WWW-Authenticate` and a JSON body, say. On HTTP/1.1 it is written as
//! [`to_bytes`](Refusal::to_bytes) with `Connection: close` and a correct
//! `Content-Length` (RFC 9112 §6.2, §9.6); the `http` feature turns it into
//! an `http::Response` for hyper or h2.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;

use super::head::{push_decimal, write_head};
use super::headers::{list_elements, push_extra_header, valid_extra_header};
use super::status::refusal_field;
use super::{HandshakeError, RefusedResponse};

/// Headers the refusal sets itself, which [`Refusal::header`] refuses.
const RESERVED: &[&str] = &["Connection", "Content-Length", "Transfer-Encoding"];

/// Fields of a received refusal that are not passed on: those the refusal
/// sets itself ([`RESERVED`]), and the other fields that describe one
/// connection rather than the response (hop-by-hop, RFC 9110 §7.6.1;
/// `Trailer` announces trailers, which are neither kept nor sent). None of
/// them may appear in an HTTP/2 response either (RFC 9113 §8.2.2).
const HOP_BY_HOP: &[&str] = &[
    "Connection",
    "Content-Length",
    "Transfer-Encoding",
    "Keep-Alive",
    "Proxy-Connection",
    "TE",
    "Trailer",
    "Upgrade",
];

/// A refused handshake: what the server answers instead of `101`.
///
/// An accept callback of the adapters returns `Err(Refusal)`; `?` on a
/// [`HandshakeError`] (such as [`check_origin`]'s 403) converts it.
///
/// ```
/// use rfc6455::handshake::{Accept, HandshakeRequest, Refusal};
///
/// fn decide(request: &HandshakeRequest) -> Result<Accept, Refusal> {
///     request.check_origin(&["https://example.com"])?; // 403 otherwise
///     if request.bearer_token() != Some("s3cret") {
///         return Err(Refusal::new(401)
///             .header("WWW-Authenticate", "Bearer")
///             .json(r#"{"error":"invalid_token"}"#));
///     }
///     Ok(Accept::new())
/// }
///
/// let refusal = Refusal::new(401).json("{}");
/// assert_eq!(
///     refusal.to_bytes(),
///     b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 2\r\n\
///       Content-Type: application/json\r\n\r\n{}"
/// );
/// # let _ = decide;
/// ```
///
/// A status outside `300..=599`, or a header refused by
/// [`header`](Self::header), is the application's own mistake: the client
/// is then answered with a bare `500`, and [`error`](Self::error) says why.
///
/// [`check_origin`]: super::HandshakeRequest::check_origin
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    status: u16,
    headers: Vec<(String, String)>,
    content: Bytes,
    /// The request's fault this refusal answers, if it answers one.
    cause: Option<HandshakeError>,
    /// The first invalid header the application gave.
    mistake: Option<HandshakeError>,
}

impl Refusal {
    /// A refusal with `status` (`300..=599`), no extra field and no body.
    pub fn new(status: u16) -> Self {
        Refusal {
            status,
            headers: Vec::new(),
            content: Bytes::new(),
            cause: None,
            mistake: None,
        }
    }

    /// Adds a response header, such as `WWW-Authenticate` or `Retry-After`.
    /// The name must be a token and the value free of control characters
    /// (no CR or LF); `Connection`, `Content-Length` and
    /// `Transfer-Encoding` are the refusal's own and are refused. A refused
    /// header turns the answer into a bare `500` (see
    /// [`error`](Self::error)).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if !push_extra_header(&mut self.headers, (name, value), RESERVED) {
            self.mistake
                .get_or_insert(HandshakeError::InvalidHeaderToSend);
        }
        self
    }

    /// Sets the body, sent with its `Content-Length`.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.content = body.into();
        self
    }

    /// Whether the client gets what the application asked for, rather than
    /// the `500` that answers the application's own mistake.
    fn is_valid(&self) -> bool {
        (300..=599).contains(&self.status) && self.mistake.is_none()
    }

    /// The status sent: the one given, or 500 for the application's mistake.
    pub fn status(&self) -> u16 {
        if self.is_valid() { self.status } else { 500 }
    }

    /// The header fields sent besides `Connection` and `Content-Length`.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let fields: &[(String, String)] = if self.is_valid() { &self.headers } else { &[] };
        fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The body sent (its "content", RFC 9110 §6.4); empty for the
    /// application's mistake.
    pub fn content(&self) -> &Bytes {
        static EMPTY: Bytes = Bytes::new();
        if self.is_valid() {
            &self.content
        } else {
            &EMPTY
        }
    }

    /// Why the handshake failed, as the server reports it: the request's
    /// fault this refusal was made from (e.g.
    /// [`OriginRefused`](HandshakeError::OriginRefused)),
    /// [`InvalidHeaderToSend`](HandshakeError::InvalidHeaderToSend) for a
    /// header [`header`](Self::header) refused, or else
    /// [`Rejected`](HandshakeError::Rejected) with the status given.
    pub fn error(&self) -> HandshakeError {
        match (&self.mistake, &self.cause) {
            (Some(mistake), _) => mistake.clone(),
            (None, Some(cause)) => cause.clone(),
            (None, None) => HandshakeError::Rejected(self.status),
        }
    }

    /// The fields of the answer: `Connection: close` when `close`, the
    /// `Content-Length`, then the refusal's own.
    pub(crate) fn fields<'a>(
        &'a self,
        close: bool,
        length: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        close
            .then_some(("Connection", "close"))
            .into_iter()
            .chain(core::iter::once(("Content-Length", length)))
            .chain(self.headers())
    }

    /// The complete HTTP/1.1 answer: status line, `Connection: close`,
    /// `Content-Length`, the added fields, and the body. The server closes
    /// the connection after writing it (lingering a moment first, see
    /// [`REFUSAL_LINGER`](super::REFUSAL_LINGER)).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut length = Vec::with_capacity(20);
        push_decimal(&mut length, self.content().len() as u64);
        let length = core::str::from_utf8(&length).unwrap_or("0");
        let mut out = Vec::with_capacity(128 + self.content().len());
        write_head(&mut out, self.status(), self.fields(true, length));
        out.extend_from_slice(self.content());
        out
    }
}

/// The refusal answering a server-side error: its status, `Allow: GET` for
/// 405 and `Sec-WebSocket-Version: 13` for 426, no body. An error that has
/// no status (the application's own misuse, such as accepting with a
/// subprotocol the client did not offer) gives 500.
impl HandshakeError {
    /// The refusal a server answers this error with, the same in every
    /// adapter: its [`status`](Self::status) with `Allow: GET` for 405 (RFC
    /// 9110 §15.5.6) and `Sec-WebSocket-Version: 13` for 426 (RFC 6455
    /// §4.4), or `500 Internal Server Error` for the server application's
    /// own mistake (for instance accepting with a subprotocol the client
    /// did not offer). [`Refusal::to_bytes`] is what an HTTP/1.1 server
    /// writes; it then keeps reading for a moment ([`REFUSAL_LINGER`](super::REFUSAL_LINGER)) so
    /// that the client reads the answer before the connection closes.
    pub fn refusal(&self) -> Refusal {
        Refusal::from(self.clone())
    }
}

impl From<HandshakeError> for Refusal {
    fn from(error: HandshakeError) -> Self {
        let status = error.status().unwrap_or(500);
        let mut refusal = Refusal::new(status);
        if let Some((name, value)) = refusal_field(status) {
            refusal.headers.push((name.to_string(), value.to_string()));
        }
        refusal.cause = Some(error);
        refusal
    }
}

impl RefusedResponse {
    /// This refusal as a server's [`Refusal`], for a gateway (a reverse
    /// proxy) to answer its own client with what its upstream server
    /// answered. `StreamError::gateway_refusal` (feature `std`) does this
    /// from a failed connect, and gives 502 for any other failure.
    ///
    /// Kept: the status, the header fields in order, and the body as
    /// received: decoded from chunked transfer coding, and only the first
    /// [`Config::max_refusal_body`](crate::Config::max_refusal_body) bytes
    /// of a longer body (see [`truncated`](Self::truncated)), which is then
    /// sent with its own, shorter `Content-Length`.
    ///
    /// Left out: the fields the refusal writes itself (`Connection`,
    /// `Content-Length`), the hop-by-hop fields that describe the upstream
    /// connection rather than the response (`Transfer-Encoding`,
    /// `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`, `Upgrade`, and
    /// any field the upstream's `Connection` names, RFC 9110 §7.6.1), and a
    /// field whose value is not UTF-8 text. The reason phrase is the
    /// refusal's own for the status. What remains is also a valid HTTP/2
    /// answer (`rfc6455::http::extended_connect_refusal`, feature `http`).
    ///
    /// A status outside `300..=599` (a `2xx` to an upgrade, say) is not a
    /// refusal a server can pass on: it gives `502 Bad Gateway` with no
    /// field and no body, since the upstream's answer was invalid.
    ///
    /// ```
    /// # async fn run(request: rfc6455::handshake::ClientRequest) {
    /// use rfc6455::handshake::Refusal;
    /// use rfc6455::Config;
    ///
    /// match rfc6455::tokio::connect_with(request, Config::default()).await {
    ///     Ok((upstream, _response)) => { /* accept the client, relay */ }
    ///     Err(error) => {
    ///         // The upstream's refusal (or 502): answer the client with it.
    ///         let refusal: Refusal = error.gateway_refusal();
    ///         # let _ = refusal;
    ///     }
    /// }
    /// # }
    /// ```
    pub fn to_refusal(&self) -> Refusal {
        Refusal::from(self)
    }
}

/// A refusal received by a client, to pass on as a server: what a gateway
/// (a reverse proxy) answers its own client with when its upstream server
/// refused. Same as [`RefusedResponse::to_refusal`], which says what is
/// kept.
impl From<&RefusedResponse> for Refusal {
    fn from(refused: &RefusedResponse) -> Self {
        // A refusal cannot carry a status outside 300..=599 (it would turn
        // into a 500, blaming the gateway); an upstream answering the
        // upgrade with one gave an invalid response, which is what 502
        // says (RFC 9110 §15.6.3).
        if !(300..=599).contains(&refused.status) {
            return Refusal::new(502);
        }
        let mut refusal = Refusal::new(refused.status).body(refused.body.clone());
        // The fields `Connection` names are hop-by-hop too (RFC 9110
        // §7.6.1).
        let connection_options = || {
            refused
                .headers
                .get_all("Connection")
                .flat_map(list_elements)
        };
        for (name, value) in refused.headers.iter() {
            let hop_by_hop = HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
                || connection_options().any(|o| o.eq_ignore_ascii_case(name.as_bytes()));
            if hop_by_hop {
                continue;
            }
            // A refusal holds text: a value that is not UTF-8 (obs-text),
            // or one that could not be sent, is left out rather than turn
            // the whole answer into the 500 an invalid field gives.
            match core::str::from_utf8(value) {
                Ok(value) if valid_extra_header(name, value, RESERVED) => {
                    refusal.headers.push((name.to_string(), value.to_string()));
                }
                _ => {}
            }
        }
        refusal
    }
}

/// The error a refusal stands for ([`Refusal::error`]).
impl From<Refusal> for HandshakeError {
    fn from(refusal: Refusal) -> Self {
        refusal.error()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused with {}: {}", self.status(), self.error())
    }
}

impl core::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_their_refusals() {
        use HandshakeError::*;
        assert_eq!(
            UnsupportedVersion.refusal().to_bytes(),
            b"HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Length: 0\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n"
        );
        assert_eq!(
            MethodNotAllowed.refusal().to_bytes(),
            b"HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\
              Allow: GET\r\n\r\n"
        );
        assert_eq!(
            RequestTooLarge.refusal().to_bytes(),
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\
              Content-Length: 0\r\n\r\n"
        );
        assert_eq!(
            Rejected(418).refusal().to_bytes(),
            b"HTTP/1.1 418 \r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
        // The application's own mistake: a bare 500, and the error kept.
        let mistake = ProtocolNotOffered.refusal();
        assert_eq!(
            mistake.to_bytes(),
            b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(mistake.error(), ProtocolNotOffered);
        assert_eq!(OriginRefused.refusal().error(), OriginRefused);
        assert_eq!(HandshakeError::from(OriginRefused.refusal()), OriginRefused);
    }

    #[test]
    fn a_refusal_with_a_body() {
        let refusal = Refusal::new(401)
            .header("WWW-Authenticate", "Bearer realm=\"chat\"")
            .json(&br#"{"error":"invalid_token"}"#[..]);
        assert_eq!(refusal.status(), 401);
        assert_eq!(refusal.error(), HandshakeError::Rejected(401));
        assert_eq!(
            refusal.to_bytes(),
            &b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 25\r\n\
               WWW-Authenticate: Bearer realm=\"chat\"\r\nContent-Type: application/json\r\n\r\n\
               {\"error\":\"invalid_token\"}"[..]
        );
        let text = Refusal::new(503).header("Retry-After", "5").text("busy");
        assert_eq!(
            text.to_bytes(),
            &b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\
               Retry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbusy"[..]
        );
        assert_eq!(
            alloc::format!("{refusal}"),
            "refused with 401: request rejected with status 401"
        );
    }

    fn received(status: u16, fields: &[(&[u8], &[u8])], body: &'static [u8]) -> RefusedResponse {
        let headers = super::super::Headers::from_fields(fields.iter().copied());
        let mut refused = RefusedResponse::new(status, headers);
        refused.body = Bytes::from_static(body);
        refused
    }

    #[test]
    fn a_received_refusal_passes_on_without_its_hop_by_hop_fields() {
        let refused = received(
            401,
            &[
                (b"WWW-Authenticate", b"Bearer realm=\"chat\""),
                (b"Connection", b"close, X-Hop"),
                (b"Content-Length", b"25"),
                (b"Transfer-Encoding", b"identity"),
                (b"keep-alive", b"timeout=5"),
                (b"Proxy-Connection", b"close"),
                (b"TE", b"trailers"),
                (b"Trailer", b"X-Sum"),
                (b"Upgrade", b"h2c"),
                (b"x-hop", b"named by Connection"),
                (b"Content-Type", b"application/json"),
                (b"X-Latin-1", b"caf\xe9"),
                (b"Set-Cookie", b"a=1"),
                (b"Set-Cookie", b"b=2"),
            ],
            br#"{"error":"invalid_token"}"#,
        );
        let refusal = refused.to_refusal();
        assert_eq!(refusal, Refusal::from(&refused));
        assert_eq!(refusal.error(), HandshakeError::Rejected(401));
        assert_eq!(
            refusal.to_bytes(),
            &b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 25\r\n\
               WWW-Authenticate: Bearer realm=\"chat\"\r\nContent-Type: application/json\r\n\
               Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n{\"error\":\"invalid_token\"}"[..]
        );
    }

    #[test]
    fn a_received_refusal_keeps_a_truncated_body_and_its_own_length() {
        let mut refused = received(413, &[(b"Content-Length", b"20000")], b"zzz");
        refused.truncated = true;
        assert_eq!(
            refused.to_refusal().to_bytes(),
            b"HTTP/1.1 413 \r\nConnection: close\r\nContent-Length: 3\r\n\r\nzzz"
        );
    }

    #[test]
    fn a_received_status_that_is_no_refusal_gives_502() {
        for status in [100, 200, 204, 299, 600] {
            let refusal = received(status, &[(b"X", b"y")], b"body").to_refusal();
            assert_eq!(
                refusal.to_bytes(),
                b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                "{status}"
            );
        }
        // The edges of the range pass through.
        assert_eq!(received(300, &[], b"").to_refusal().status(), 300);
        assert_eq!(received(599, &[], b"").to_refusal().status(), 599);
    }

    #[test]
    fn the_applications_mistakes_give_a_bare_500() {
        let bare =
            b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        for (refusal, error) in [
            (
                Refusal::new(401).header("X", "a\r\nInjected: 1").body("b"),
                HandshakeError::InvalidHeaderToSend,
            ),
            (
                Refusal::new(401).header("Content-Length", "9"),
                HandshakeError::InvalidHeaderToSend,
            ),
            (
                Refusal::new(401).header("connection", "keep-alive"),
                HandshakeError::InvalidHeaderToSend,
            ),
            (Refusal::new(200).body("ok"), HandshakeError::Rejected(200)),
            (Refusal::new(101), HandshakeError::Rejected(101)),
            (Refusal::new(1000), HandshakeError::Rejected(1000)),
        ] {
            assert_eq!(refusal.to_bytes(), bare, "{refusal:?}");
            assert_eq!(refusal.error(), error);
            assert_eq!((refusal.status(), refusal.headers().count()), (500, 0));
            assert!(refusal.content().is_empty());
        }
    }
}
