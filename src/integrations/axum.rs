//! WebSockets in an axum application (feature `axum`): the
//! [`WebSocketUpgrade`] extractor, in the shape of axum's own, yielding this
//! crate's tokio [`WebSocketStream`].
//!
//! The request is checked by the rules of RFC 6455 §4.2.1 (the same as every
//! other adapter, [`crate::proto::handshake`]) when the extractor runs: a request
//! that is not a valid WebSocket handshake is answered with its status (400,
//! 405, 426, ...) before the handler runs. The handler may look at the
//! request ([`WebSocketUpgrade::request`]: `Origin`, query, bearer token),
//! refuse it with a [`Refusal`] (which is an axum response: status, headers
//! and body), or answer with [`WebSocketUpgrade::on_upgrade`].
//!
//! ```no_run
//! use axum::Router;
//! use axum::response::Response;
//! use axum::routing::get;
//! use futures_util::{SinkExt, StreamExt};
//! use rfc6455::axum::WebSocketUpgrade;
//! use rfc6455::handshake::Refusal;
//!
//! async fn ws(upgrade: WebSocketUpgrade) -> Result<Response, Refusal> {
//!     if upgrade.request().bearer_token() != Some("secret") {
//!         return Err(Refusal::new(401).json(r#"{"error":"unauthorized"}"#));
//!     }
//!     Ok(upgrade.on_upgrade(|mut ws| async move {
//!         while let Some(Ok(message)) = ws.next().await {
//!             if message.is_data() && ws.send(message).await.is_err() {
//!                 break;
//!             }
//!         }
//!     }))
//! }
//!
//! let app: Router = Router::new().route("/ws", get(ws));
//! ```
//!
//! Serve the router with `axum::serve` (hyper under it is served with
//! upgrades). Without axum, [`crate::integrations::hyper::upgrade_parts`] does the same
//! from `http::request::Parts`.

use core::future::Future;
use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Method, Uri, Version};
use hyper::upgrade::OnUpgrade;

use crate::Config;
use crate::integrations::http::{parse_request_parts, refusal_response};
use crate::integrations::hyper::{UpgradedIo, not_upgradable, upgraded};
use crate::proto::handshake::{Accept, HandshakeRequest, Refusal};
use crate::tokio::WebSocketStream;

/// An extractor for a WebSocket handshake, answered with
/// [`on_upgrade`](Self::on_upgrade). Its rejection is the [`Refusal`] the
/// request gets (status, headers, body).
pub struct WebSocketUpgrade {
    request: HandshakeRequest,
    head: Box<(Method, Uri, Version, HeaderMap)>,
    on_upgrade: OnUpgrade,
    config: Config,
    protocols: Vec<String>,
}

impl core::fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Refusal> {
        let config = Config::default();
        let request = parse_request_parts(
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            &config,
        )?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or_else(not_upgradable)?;
        Ok(WebSocketUpgrade {
            request,
            head: Box::new((
                parts.method.clone(),
                parts.uri.clone(),
                parts.version,
                parts.headers.clone(),
            )),
            on_upgrade,
            config,
            protocols: Vec::new(),
        })
    }
}

impl WebSocketUpgrade {
    /// The connection's settings: limits, keepalive, timeouts, extensions
    /// (permessage-deflate is accepted only if these say so). Default:
    /// [`Config::default`].
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// The subprotocols this endpoint speaks, in its order of preference:
    /// the first of them the client offered is selected (§4.2.2); none is
    /// if the client offered none of them.
    #[must_use]
    pub fn protocols<I>(mut self, protocols: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The validated handshake request: path, query, headers, `Origin`,
    /// bearer token, offered subprotocols.
    pub fn request(&self) -> &HandshakeRequest {
        &self.request
    }

    /// The subprotocol [`on_upgrade`](Self::on_upgrade) will select.
    pub fn selected_protocol(&self) -> Option<&str> {
        let wanted: Vec<&str> = self.protocols.iter().map(String::as_str).collect();
        self.request.select_protocol(&wanted)
    }

    /// Answers the handshake (`101 Switching Protocols`) and, once hyper has
    /// handed the connection over, runs `callback` with the WebSocket on a
    /// task of its own. A request that cannot be accepted under the
    /// configured settings is answered with its refusal instead.
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocketStream<UpgradedIo>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let protocol = self.selected_protocol().map(String::from);
        let WebSocketUpgrade {
            head,
            on_upgrade,
            config,
            ..
        } = self;
        let (method, uri, version, headers) = *head;
        // Checked again under the final settings (their extensions and
        // limits may differ from the defaults the extractor used).
        let accepted = parse_request_parts(&method, &uri, version, &headers, &config)
            .map_err(Refusal::from)
            .and_then(|request| {
                let accept = match &protocol {
                    Some(p) => Accept::new().protocol(p),
                    None => Accept::new(),
                };
                request.decide(|_| Ok(accept))
            });
        let accepted = match accepted {
            Ok(accepted) => accepted,
            Err(refusal) => return refusal.into_response(),
        };
        let (response, upgrade) = upgraded::<()>(accepted, config, on_upgrade);
        tokio::spawn(async move {
            if let Ok(ws) = upgrade.await {
                callback(ws).await;
            }
        });
        response.map(|()| axum_core::body::Body::empty())
    }
}

impl IntoResponse for Refusal {
    /// The refusal as every adapter sends it: its status, header fields and
    /// body, with `Content-Length`.
    fn into_response(self) -> Response {
        refusal_response::<Bytes>(&self).map(axum_core::body::Body::from)
    }
}
