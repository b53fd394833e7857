//! WebSockets over HTTP/2 (RFC 8441) with the `h2` crate (feature `h2`).
//!
//! A WebSocket is one HTTP/2 stream opened by an extended CONNECT
//! (`:method CONNECT`, `:protocol websocket`, `sec-websocket-version: 13`)
//! and accepted with a `200`; the frames of RFC 6455 then travel as the
//! stream's DATA, and closing the stream (END_STREAM) plays the part of
//! closing the TCP connection. Many WebSockets, and plain requests, share
//! one connection.
//!
//! - [`H2Stream`] turns an h2 stream's two halves into an
//!   `AsyncRead + AsyncWrite` transport honouring HTTP/2 flow control:
//!   received bytes are released back to the peer as they are read, and
//!   writes wait for send capacity. The usual [`WebSocketStream`] runs on it.
//! - Server: enable the protocol on the connection
//!   (`h2::server::Builder::enable_connect_protocol`), then for each request
//!   [`is_extended_connect`] tells WebSocket streams apart and [`accept`]
//!   (or [`accept_with`]) validates, answers and wraps them.
//! - Client: [`connect`] opens a WebSocket on an h2 client connection whose
//!   server announced `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
//!
//! The handshake itself is [`crate::integrations::http`]'s
//! `parse_extended_connect` / `extended_connect_request`, usable with
//! another HTTP/2 implementation.
//!
//! `cargo run --features h2 --example h2_echo` serves h2c (cleartext HTTP/2
//! with prior knowledge), and `... --example h2_echo -- client
//! ws://127.0.0.1:9002/ hi` talks to it.
//!
//! **Browsers** speak HTTP/2 only over TLS, and Chromium sends a WebSocket
//! over HTTP/2 only on an HTTP/2 connection it already has with the page's
//! origin, whose server announced `SETTINGS_ENABLE_CONNECT_PROTOCOL`
//! (otherwise it opens an HTTP/1.1 connection). `cargo run --features
//! h2,rustls --example h2_echo -- 127.0.0.1:9443 --tls cert.pem key.pem`
//! serves HTTP/2 over TLS (ALPN `h2` only) with an echo page at `/` whose
//! WebSocket rides on the page's connection; `bash scripts/h2_e2e.sh`
//! checks that end to end with headless Chromium.

use core::pin::Pin;
use core::task::{Context, Poll, ready};
use core::time::Duration;
use std::io;

use bytes::{Buf, Bytes, BytesMut};
use h2::{RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::integrations::http::{
    check_extended_connect_response, extended_connect_refusal, extended_connect_request,
    parse_extended_connect, response,
};
use crate::proto::handshake::{
    Accept, BodyCollector, ClientRequest, HandshakeError, HandshakeRequest, HandshakeResponse,
    Refusal,
};
use crate::tokio::WebSocketStream;
use crate::{Config, Connection, Role, StreamError};

/// Largest chunk handed to h2 at once; h2 splits DATA frames further by the
/// peer's frame size.
const MAX_WRITE: usize = 64 << 10;

/// One HTTP/2 stream as a byte transport: reads DATA from the [`RecvStream`]
/// (releasing flow-control capacity as bytes are consumed), writes DATA to
/// the [`SendStream`] within the capacity the peer grants, and ends the
/// stream (END_STREAM) on shutdown.
#[derive(Debug)]
pub struct H2Stream {
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// Received bytes not yet read.
    pending: Bytes,
    shut_down: bool,
}

fn to_io(e: h2::Error) -> io::Error {
    if e.is_io() {
        e.into_io().unwrap_or_else(|| io::ErrorKind::Other.into())
    } else {
        io::Error::other(e)
    }
}

impl H2Stream {
    /// Joins the halves of one stream.
    pub fn new(send: SendStream<Bytes>, recv: RecvStream) -> Self {
        H2Stream {
            send,
            recv,
            pending: Bytes::new(),
            shut_down: false,
        }
    }

    /// The halves, and any received bytes not yet read.
    pub fn into_parts(self) -> (SendStream<Bytes>, RecvStream, Bytes) {
        (self.send, self.recv, self.pending)
    }
}

impl AsyncRead for H2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.pending.is_empty() {
            match ready!(this.recv.poll_data(cx)) {
                Some(Ok(data)) => {
                    // The peer may send again what the application consumed.
                    let _ = this.recv.flow_control().release_capacity(data.len());
                    this.pending = data;
                }
                Some(Err(e)) => {
                    // A reset with NO_ERROR after END_STREAM is a clean end.
                    if e.reason() == Some(h2::Reason::NO_ERROR) {
                        return Poll::Ready(Ok(()));
                    }
                    return Poll::Ready(Err(to_io(e)));
                }
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = this.pending.len().min(buf.remaining());
        buf.put_slice(&this.pending[..n]);
        this.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.shut_down {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        while this.send.capacity() == 0 {
            this.send.reserve_capacity(buf.len().min(MAX_WRITE));
            match ready!(this.send.poll_capacity(cx)) {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Err(to_io(e))),
                None => return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
            }
        }
        let n = this.send.capacity().min(buf.len());
        this.send
            .send_data(Bytes::copy_from_slice(&buf[..n]), false)
            .map_err(to_io)?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The h2 connection task writes what was sent.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.shut_down {
            this.shut_down = true;
            this.send.send_data(Bytes::new(), true).map_err(to_io)?;
        }
        Poll::Ready(Ok(()))
    }
}

/// The `:protocol` of a request, as h2 hands it over.
fn protocol_of<B>(request: &http::Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<h2::ext::Protocol>()
        .map(|p| p.as_str())
}

/// Whether `request` is an extended CONNECT (any `:protocol`): route it to
/// [`accept`] rather than to plain request handling.
pub fn is_extended_connect<B>(request: &http::Request<B>) -> bool {
    request.method() == http::Method::CONNECT && protocol_of(request).is_some()
}

/// Accepts a WebSocket without subprotocol; see [`accept_with`].
///
/// # Errors
/// As [`accept_with`].
pub fn accept(
    request: http::Request<RecvStream>,
    respond: h2::server::SendResponse<Bytes>,
    config: Config,
) -> Result<WebSocketStream<H2Stream>, StreamError> {
    accept_with(request, respond, config, |_| Ok(Accept::new()))
}

/// Validates an extended CONNECT (RFC 8441 §4, §5, with `config`'s limits
/// and extensions), lets `decide` accept it (subprotocol, headers) or refuse
/// it (e.g. `request.check_origin(&[...])?`, or a [`Refusal`] with its own
/// status, headers and body), sends the `200` and returns the WebSocket
/// over the stream. A refusal is answered on the stream (400 for a wrong
/// `:protocol`, 426 for another version, 403, ...: the status, fields and
/// body every adapter sends, with `Content-Length` and without
/// `Connection`) and returned.
///
/// # Errors
/// [`StreamError::Protocol`] with the refusal's [`Refusal::error`], or
/// [`StreamError::Io`] if h2 could not send the response.
pub fn accept_with<F>(
    request: http::Request<RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    config: Config,
    decide: F,
) -> Result<WebSocketStream<H2Stream>, StreamError>
where
    F: FnOnce(&HandshakeRequest) -> Result<Accept, Refusal>,
{
    let outcome = parse_extended_connect(&request, protocol_of(&request), &config)
        .map_err(Refusal::from)
        .and_then(|parsed| parsed.decide(decide));
    let accepted = match outcome {
        Ok(accepted) => accepted,
        Err(refusal) => {
            let error = refusal.error();
            crate::shared::trace::ws_event!(debug, error = %error, status = refusal.status(), "handshake failed");
            let (head, body) = extended_connect_refusal::<Bytes>(&refusal).into_parts();
            let end = body.is_empty();
            // The client may be gone; the refusal is what gets reported.
            if let Ok(mut send) = respond.send_response(http::Response::from_parts(head, ()), end) {
                if !end {
                    let _ = send.send_data(body, true);
                }
            }
            return Err(error.into());
        }
    };
    let send = respond
        .send_response(response(&accepted), false)
        .map_err(to_io)?;
    let protocol = accepted.protocol.clone();
    let conn = accepted.into_connection(config);
    let io = H2Stream::new(send, request.into_body());
    let ws = WebSocketStream::from_parts(io, conn, BytesMut::new(), protocol);
    #[cfg(feature = "tracing")]
    crate::tokio::established(&ws, "h2");
    Ok(ws)
}

/// Opens a WebSocket on an h2 client connection (RFC 8441 §4, §5): waits
/// until the server's SETTINGS allow extended CONNECT, sends the request
/// built from `request` (its URL gives `:scheme`, `:authority`, `:path`),
/// checks the `2xx` answer and returns the WebSocket over the stream. The
/// handshake timeout of `config` bounds the whole.
///
/// # Errors
/// [`StreamError::Io`] with [`io::ErrorKind::Unsupported`] if the server
/// did not enable extended CONNECT, or for h2 failures;
/// [`StreamError::Handshake`] with [`HandshakeError::Refused`] for a refusal
/// (its status, fields and up to
/// [`Config::max_refusal_body`](crate::Config::max_refusal_body) bytes of
/// body, read within the handshake timeout), or another [`HandshakeError`]
/// for an invalid answer; [`StreamError::HandshakeTimeout`].
pub async fn connect(
    sender: &mut h2::client::SendRequest<Bytes>,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<H2Stream>, HandshakeResponse), StreamError> {
    let (http_request, mut handshake) = extended_connect_request(request, &config)?;
    // The handshake's one deadline, from now.
    let clock = crate::tokio::Clock::start();
    handshake.handle_timeout(clock.now());
    let deadline = clock.instant(handshake.poll_timeout());
    let exchange = async {
        let mut ready = sender.clone().ready().await.map_err(to_io)?;
        // The server's first SETTINGS frame says whether it takes extended
        // CONNECT; the connection task may not have read it yet.
        let mut waited = Duration::ZERO;
        while !ready.is_extended_connect_protocol_enabled() {
            if waited >= Duration::from_secs(1) {
                return Err(StreamError::Io(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the server did not enable extended CONNECT (RFC 8441 SETTINGS_ENABLE_CONNECT_PROTOCOL)",
                )));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            waited += Duration::from_millis(2);
        }
        let mut http_request = http_request;
        http_request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static("websocket"));
        let (response, send) = ready.send_request(http_request, false).map_err(to_io)?;
        let response = response.await.map_err(to_io)?;
        Ok((response, send))
    };
    let (http_response, send) = crate::tokio::before(deadline, exchange)
        .await
        .ok_or(StreamError::HandshakeTimeout)??;
    let mut response = match check_extended_connect_response(&mut handshake, &http_response) {
        Ok(response) => response,
        Err(HandshakeError::Refused(mut refused)) => {
            let mut body = http_response.into_body();
            let mut collector = BodyCollector::new(config.max_refusal_body);
            let cut = crate::tokio::before(deadline, collect(&mut body, &mut collector))
                .await
                .unwrap_or(true);
            collector.finish(&mut refused, cut);
            return Err(HandshakeError::Refused(refused).into());
        }
        Err(e) => return Err(e.into()),
    };
    let negotiated = core::mem::take(&mut response.negotiated);
    let conn = Connection::with_extensions(Role::Client, config, negotiated);
    let protocol = response.protocol.clone();
    let io = H2Stream::new(send, http_response.into_body());
    let ws = WebSocketStream::from_parts(io, conn, BytesMut::new(), protocol);
    #[cfg(feature = "tracing")]
    crate::tokio::established(&ws, "h2");
    Ok((ws, response))
}

/// Reads `body` into `collector` (releasing flow-control capacity) until it
/// ends (`false`) or is cut: more than the limit, or a failure (`true`).
async fn collect(body: &mut RecvStream, collector: &mut BodyCollector) -> bool {
    while let Some(data) = body.data().await {
        let Ok(data) = data else { return true };
        let _ = body.flow_control().release_capacity(data.len());
        if collector.push(&data) {
            return true;
        }
    }
    false
}
