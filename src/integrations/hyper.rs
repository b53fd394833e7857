//! WebSockets in a hyper 1.x server or client (feature `hyper`).
//!
//! **Server.** In a service, [`upgrade`] (or [`upgrade_with`], to look at
//! the request first: `Origin`, subprotocols) validates the request by the
//! rules of RFC 6455 §4.2.1 ([`crate::integrations::http`]) and returns the
//! `101 Switching Protocols` response to return from the service, with an
//! [`UpgradeFut`] resolving to a tokio [`WebSocketStream`] once hyper has
//! sent that response and handed the connection over. Serve the connection
//! with `.with_upgrades()`. A refused request is a
//! [`Refusal`] whose
//! [`refusal_response`](crate::integrations::http::refusal_response) is the
//! answer: status, fields and body as every adapter sends them.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use rfc6455::http::refusal_response;
//!
//! async fn service(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
//!     if !rfc6455::hyper::is_upgrade_request(&req) {
//!         return Ok(Response::new(Full::from("plain HTTP")));
//!     }
//!     match rfc6455::hyper::upgrade(&mut req, rfc6455::Config::default()) {
//!         Ok((response, upgrade)) => {
//!             tokio::spawn(async move {
//!                 let Ok(mut ws) = upgrade.await else { return };
//!                 while let Some(Ok(message)) = ws.next().await {
//!                     if message.is_data() && ws.send(message).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!             Ok(response)
//!         }
//!         Err(refusal) => Ok(refusal_response(&refusal)),
//!     }
//! }
//! ```
//!
//! The response's body type is any `Default` one. To look at the request
//! first, [`upgrade_with`] takes the same decision as every adapter's
//! `accept_with` (`request.check_origin(&["https://example.com"])?` answers
//! 403; a subprotocol; a [`Refusal`] of your own). From a framework's
//! extractor, [`upgrade_parts`] does the same from `http::request::Parts`
//! (axum users have the ready-made `rfc6455::axum::WebSocketUpgrade`,
//! feature `axum`). `examples/chat` is a hyper server using it.
//!
//! **Client.** [`client`] runs the handshake over a hyper HTTP/1.1
//! connection (`hyper::client::conn::http1`, served `.with_upgrades()`).

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, ready};
use std::boxed::Box;
use std::io;
use std::string::String;

use bytes::BytesMut;
use hyper::body::{Body, Incoming};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;

use crate::integrations::http::{check_response, client_request, parse_request};
use crate::proto::handshake::{
    Accept, BodyCollector, ClientRequest, HandshakeError, HandshakeRequest, HandshakeResponse,
    Refusal,
};
use crate::tokio::WebSocketStream;
use crate::{Config, Connection, Role, StreamError};

/// The transport of a WebSocket upgraded from a hyper connection.
pub type UpgradedIo = TokioIo<Upgraded>;

/// Whether `request` asks for a WebSocket: an `Upgrade` header with the
/// `websocket` token. Use it to route; [`upgrade`] checks the rest.
pub fn is_upgrade_request<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get_all(http::header::UPGRADE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"websocket"))
}

/// Accepts a WebSocket request without subprotocol; see [`upgrade_with`].
///
/// # Errors
/// As [`upgrade_with`].
pub fn upgrade<B, R: Default>(
    request: &mut http::Request<B>,
    config: Config,
) -> Result<(http::Response<R>, UpgradeFut), Refusal> {
    upgrade_with(request, config, |_| Ok(Accept::new()))
}

/// Validates `request` (with `config`'s header limits and extensions), lets
/// `decide` accept it (a subprotocol, extra headers) or refuse it (e.g.
/// `request.check_origin(&[...])?` for 403, or a [`Refusal`] with its own
/// status, headers and body), and returns the `101` response for the
/// service to return, with a body of `R::default()`, and the future of the
/// upgraded WebSocket.
///
/// # Errors
/// The [`Refusal`] to answer with: the request's own fault (400, 405, 426,
/// ...), or the refusal `decide` returned, or 500 for `decide`'s mistake.
/// Return [`refusal_response`](crate::integrations::http::refusal_response)
/// from the service: the same status, fields and body every adapter sends
/// ([`Refusal::error`] says why, for logging).
pub fn upgrade_with<B, R, F>(
    request: &mut http::Request<B>,
    config: Config,
    decide: F,
) -> Result<(http::Response<R>, UpgradeFut), Refusal>
where
    R: Default,
    F: FnOnce(&HandshakeRequest) -> Result<Accept, Refusal>,
{
    let accepted = parse_request(request, &config)
        .map_err(Refusal::from)
        .and_then(|parsed| parsed.decide(decide))
        .inspect_err(|_r| {
            crate::shared::trace::ws_event!(debug, error = %_r.error(), status = _r.status(), "handshake failed");
        })?;
    Ok(upgraded(accepted, config, hyper::upgrade::on(request)))
}

/// [`upgrade_with`] for a request already taken apart, as frameworks'
/// extractors see it (`http::request::Parts`, e.g. axum's
/// `FromRequestParts`): the same checks and answer, and the upgrade future
/// taken from the request's extensions.
///
/// # Errors
/// As [`upgrade_with`]; a request hyper cannot upgrade (not served
/// `.with_upgrades()`, or already upgraded) is refused with 426.
pub fn upgrade_parts<R, F>(
    parts: &mut http::request::Parts,
    config: Config,
    decide: F,
) -> Result<(http::Response<R>, UpgradeFut), Refusal>
where
    R: Default,
    F: FnOnce(&HandshakeRequest) -> Result<Accept, Refusal>,
{
    let accepted = crate::integrations::http::parse_request_parts(
        &parts.method,
        &parts.uri,
        parts.version,
        &parts.headers,
        &config,
    )
    .map_err(Refusal::from)
    .and_then(|parsed| parsed.decide(decide))?;
    let on_upgrade = parts
        .extensions
        .remove::<OnUpgrade>()
        .ok_or_else(not_upgradable)?;
    Ok(upgraded(accepted, config, on_upgrade))
}

/// The refusal of a request hyper cannot hand over.
pub(crate) fn not_upgradable() -> Refusal {
    Refusal::new(426).text("this connection cannot be upgraded")
}

/// The 101 response and the future of the stream, for an accepted request.
pub(crate) fn upgraded<R: Default>(
    accepted: crate::proto::handshake::Accepted,
    config: Config,
    on_upgrade: OnUpgrade,
) -> (http::Response<R>, UpgradeFut) {
    let response = crate::integrations::http::response(&accepted).map(|()| R::default());
    let protocol = accepted.protocol.clone();
    let conn = accepted.into_connection(config);
    let upgrade = UpgradeFut {
        on_upgrade,
        parts: Some(Box::new((conn, protocol))),
    };
    (response, upgrade)
}

/// Resolves to the server's [`WebSocketStream`] once hyper has written the
/// `101` response and released the connection. Fails with
/// [`StreamError::Io`] if the connection was not upgraded (it closed, or was
/// not served `.with_upgrades()`).
#[must_use = "the WebSocket exists once this future resolves"]
pub struct UpgradeFut {
    on_upgrade: OnUpgrade,
    parts: Option<Box<(Connection, Option<String>)>>,
}

impl core::fmt::Debug for UpgradeFut {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UpgradeFut").finish_non_exhaustive()
    }
}

impl Future for UpgradeFut {
    type Output = Result<WebSocketStream<UpgradedIo>, StreamError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let upgraded = ready!(Pin::new(&mut this.on_upgrade).poll(cx)).map_err(io::Error::other)?;
        let (conn, protocol) = *this.parts.take().ok_or(StreamError::Closed)?;
        let ws =
            WebSocketStream::from_parts(TokioIo::new(upgraded), conn, BytesMut::new(), protocol);
        #[cfg(feature = "tracing")]
        crate::tokio::established(&ws, "hyper");
        Poll::Ready(Ok(ws))
    }
}

/// Opens a WebSocket over a hyper HTTP/1.1 client connection: sends the
/// opening handshake built from `request` (its URL gives the target and
/// `Host`; the connection must already lead to that server, with TLS if
/// needed), checks the `101` response (§4.1), and waits for hyper to hand
/// the connection over. Drive the connection with `.with_upgrades()`.
///
/// # Errors
/// [`StreamError::Handshake`] for a refused or invalid response: a refusal is
/// [`HandshakeError::Refused`] with its status, fields and up to
/// [`Config::max_refusal_body`] bytes of body, read within the handshake
/// timeout (a body cut by the limit, the deadline or the connection is
/// marked truncated). [`StreamError::Io`] for hyper's failures,
/// [`StreamError::HandshakeTimeout`].
pub async fn client<B>(
    sender: &mut hyper::client::conn::http1::SendRequest<B>,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<UpgradedIo>, HandshakeResponse), StreamError>
where
    B: hyper::body::Body + Default + Send + 'static,
{
    let (http_request, mut handshake) = client_request(request, &config)?;
    // The handshake's one deadline, from now.
    let clock = crate::tokio::Clock::start();
    handshake.handle_timeout(clock.now());
    let deadline = clock.instant(handshake.poll_timeout());
    let exchange = async {
        sender.ready().await.map_err(io::Error::other)?;
        sender
            .send_request(http_request.map(|()| B::default()))
            .await
            .map_err(io::Error::other)
    };
    let mut http_response = crate::tokio::before(deadline, exchange)
        .await
        .ok_or(StreamError::HandshakeTimeout)??;
    let mut response = match check_response(&mut handshake, &http_response) {
        Ok(response) => response,
        Err(HandshakeError::Refused(mut refused)) => {
            let mut body = BodyCollector::new(config.max_refusal_body);
            let cut = crate::tokio::before(deadline, collect(http_response.body_mut(), &mut body))
                .await
                .unwrap_or(true);
            body.finish(&mut refused, cut);
            return Err(HandshakeError::Refused(refused).into());
        }
        Err(e) => return Err(e.into()),
    };
    let upgraded = crate::tokio::before(deadline, hyper::upgrade::on(&mut http_response))
        .await
        .ok_or(StreamError::HandshakeTimeout)?
        .map_err(io::Error::other)?;
    let negotiated = core::mem::take(&mut response.negotiated);
    let conn = Connection::with_extensions(Role::Client, config, negotiated);
    let protocol = response.protocol.clone();
    let io = TokioIo::new(upgraded);
    let ws = WebSocketStream::from_parts(io, conn, BytesMut::new(), protocol);
    #[cfg(feature = "tracing")]
    crate::tokio::established(&ws, "hyper");
    Ok((ws, response))
}

/// Reads `body` into `collector` until it ends (`false`) or is cut: more
/// than the limit, or a failure (`true`).
async fn collect(body: &mut Incoming, collector: &mut BodyCollector) -> bool {
    loop {
        match core::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await {
            None => return false,
            Some(Err(_)) => return true,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    if collector.push(data) {
                        return true;
                    }
                }
            }
        }
    }
}
