//! The realtime API, `GET /api/ws`: text messages are echoed. The server
//! closes the connection with 4001 when its token expires (`POST
//! /admin/expire?token=T`), 4002 when it is kicked (`POST
//! /admin/kick?token=T`), and 4003 when the same token logs in elsewhere.
//! The admin routes take a valid token as `Authorization: Bearer`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use rfc6455::axum::WebSocketUpgrade;
use rfc6455::handshake::Refusal;
use rfc6455::{CloseCode, Message};
use serde::Deserialize;

use crate::{App, Peer};

const TOKEN_EXPIRED: u16 = 4001;
const KICKED: u16 = 4002;
const LOGGED_IN_ELSEWHERE: u16 = 4003;

/// `GET /api/ws`: echoes text; closed by the server on expiry, kick, or a
/// login elsewhere.
pub async fn websocket(
    State(app): State<Arc<App>>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Refusal> {
    let token = app.authenticate(upgrade.request())?;
    Ok(upgrade.on_upgrade(move |ws| async move {
        let id = app.next_id();
        let (mut reader, mut writer) = ws.split();
        let login = (id, writer.clone());
        let previous = app.api.lock().unwrap().insert(token.clone(), login);
        if let Some((_, old)) = previous {
            close_in_background(old, LOGGED_IN_ELSEWHERE, "logged in elsewhere");
        }
        while let Some(Ok(message)) = reader.next().await {
            // An echo waits for room in the output queue: a client that
            // does not read its answers stops being read itself. Once the
            // connection is closing a send fails; reading on completes the
            // close handshake (or ends at the close timeout).
            if let Message::Text(_) = message {
                let _ = writer.send(message).await;
            }
        }
        let mut api = app.api.lock().unwrap();
        if api.get(&token).is_some_and(|(current, _)| *current == id) {
            api.remove(&token);
        }
    }))
}

/// Closes `peer` with `code` in a task of its own, so that a peer that
/// stopped reading holds up neither the caller nor anyone else; the close
/// timeout (`Config::close_timeout`) ends that task.
fn close_in_background(mut peer: Peer, code: u16, reason: &'static str) {
    tokio::spawn(async move {
        let _ = peer.close(CloseCode::new(code), reason).await;
    });
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: String,
}

/// `POST /admin/{kick,expire}?token=T`: closes that token's API connection.
pub async fn admin(
    State(app): State<Arc<App>>,
    Path(action): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> StatusCode {
    let caller = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !caller.is_some_and(|t| app.tokens.contains(t)) {
        return StatusCode::UNAUTHORIZED;
    }
    let (code, reason) = match action.as_str() {
        "kick" => (KICKED, "kicked"),
        "expire" => (TOKEN_EXPIRED, "token expired"),
        _ => return StatusCode::NOT_FOUND,
    };
    let login = app.api.lock().unwrap().remove(&query.token);
    match login {
        Some((_, writer)) => {
            close_in_background(writer, code, reason);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}
