//! WebSockets in a hyper 1.x server or client (feature `hyper`).
//!
//! **Server.** In a service, [`upgrade`] (or [`upgrade_with`], to look at
//! the request first: `Origin`, subprotocols) validates the request by the
//! rules of RFC 6455 §4.2.1 ([`crate::handshake::http`]) and returns the
//! `101 Switching Protocols` response to return from the service, with an
//! [`UpgradeFut`] resolving to a tokio [`WebSocketStream`] once hyper has
//! sent that response and handed the connection over. Serve the connection
//! with `.with_upgrades()`. A refused request is an error whose
//! [`error_response`](crate::handshake::http::error_response) is the answer.
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use http_body_util::Full;
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use rfc6455::handshake::http::error_response;
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
//!         Err(e) => Ok(error_response(&e).map(|()| Full::default())),
//!     }
//! }
//! ```
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
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;

use crate::handshake::http::{check_response, client_request, parse_request};
use crate::handshake::{
    Accept, ClientRequest, HandshakeError, HandshakeRequest, HandshakeResponse,
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
) -> Result<(http::Response<R>, UpgradeFut), HandshakeError> {
    upgrade_with(request, config, |_| Ok(Accept::new()))
}

/// Validates `request` (with `config`'s header limits and extensions), lets
/// `decide` accept it (a subprotocol, extra headers) or refuse it (e.g.
/// `request.check_origin(&[...])?` for 403), and returns the `101` response
/// for the service to return, with a body of `R::default()`, and the future
/// of the upgraded WebSocket.
///
/// # Errors
/// The request's [`HandshakeError`] (400, 405, 426, ...) or the refusal
/// `decide` returned; answer with
/// [`error_response`](crate::handshake::http::error_response).
pub fn upgrade_with<B, R, F>(
    request: &mut http::Request<B>,
    config: Config,
    decide: F,
) -> Result<(http::Response<R>, UpgradeFut), HandshakeError>
where
    R: Default,
    F: FnOnce(&HandshakeRequest) -> Result<Accept, HandshakeError>,
{
    let accepted = parse_request(request, &config)
        .and_then(|parsed| parsed.accept(decide(&parsed)?))
        .inspect_err(|_e| {
            crate::trace::ws_event!(debug, error = %_e, status = _e.status(), "handshake failed");
        })?;
    let response = crate::handshake::http::response(&accepted).map(|()| R::default());
    let protocol = accepted.protocol.clone();
    let conn = accepted.into_connection(config);
    let upgrade = UpgradeFut {
        on_upgrade: hyper::upgrade::on(request),
        parts: Some(Box::new((conn, protocol))),
    };
    Ok((response, upgrade))
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
        crate::trace::established(&ws, "hyper");
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
/// [`StreamError::Protocol`] for a refused or invalid response
/// ([`HandshakeError::UnexpectedStatus`] and the like), [`StreamError::Io`]
/// for hyper's failures, [`StreamError::HandshakeTimeout`].
pub async fn client<B>(
    sender: &mut hyper::client::conn::http1::SendRequest<B>,
    request: ClientRequest,
    config: Config,
) -> Result<(WebSocketStream<UpgradedIo>, HandshakeResponse), StreamError>
where
    B: hyper::body::Body + Default + Send + 'static,
{
    let (http_request, mut handshake) = client_request(request, &config)?;
    let work = async {
        sender.ready().await.map_err(io::Error::other)?;
        let mut http_response = sender
            .send_request(http_request.map(|()| B::default()))
            .await
            .map_err(io::Error::other)?;
        let mut response = check_response(&mut handshake, &http_response)?;
        let upgraded = hyper::upgrade::on(&mut http_response)
            .await
            .map_err(io::Error::other)?;
        let negotiated = core::mem::take(&mut response.negotiated);
        Ok::<_, StreamError>((upgraded, response, negotiated))
    };
    let (upgraded, response, negotiated) = match config.handshake_timeout {
        Some(limit) => tokio::time::timeout(limit, work)
            .await
            .map_err(|_| StreamError::HandshakeTimeout)??,
        None => work.await?,
    };
    let conn = Connection::with_extensions(Role::Client, config, negotiated);
    let protocol = response.protocol.clone();
    let io = TokioIo::new(upgraded);
    let ws = WebSocketStream::from_parts(io, conn, BytesMut::new(), protocol);
    #[cfg(feature = "tracing")]
    crate::trace::established(&ws, "hyper");
    Ok((ws, response))
}
