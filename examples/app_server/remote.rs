//! Remote control, `GET /ws/captcha/{id}`: with `?role=producer`, each
//! message of the producer (a frame of its screen, say a JSON message with
//! a ~100 KB screenshot) goes to every viewer of session `id`; viewers'
//! messages (mouse events, JSON) go to the producer. A viewer that cannot
//! keep up misses frames: the server holds at most
//! `Config::write_buffer_size` for it, however long it stops reading.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures_util::StreamExt;
use rfc6455::axum::WebSocketUpgrade;
use rfc6455::handshake::Refusal;
use rfc6455::hyper::UpgradedIo;
use rfc6455::tokio::{WebSocketStream, broadcast};
use rfc6455::{Message, PreparedMessage};
use serde::Deserialize;

use crate::{App, Peer};

/// One remote-control session: its viewers and its producer, with their ids.
#[derive(Default)]
pub struct Session {
    viewers: Vec<(u64, Peer)>,
    producer: Option<(u64, Peer)>,
}

#[derive(Deserialize)]
pub struct Role {
    role: Option<String>,
}

pub async fn websocket(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(query): Query<Role>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Refusal> {
    app.authenticate(upgrade.request())?;
    let producer = query.role.as_deref() == Some("producer");
    Ok(upgrade.on_upgrade(move |ws| async move {
        if producer {
            produce(&app, &id, ws).await;
        } else {
            view(&app, &id, ws).await;
        }
        // The last one out ends the session.
        let mut sessions = app.sessions.lock().unwrap();
        if sessions
            .get(&id)
            .is_some_and(|s| s.viewers.is_empty() && s.producer.is_none())
        {
            sessions.remove(&id);
        }
    }))
}

/// Sends each of the producer's messages on to the session's viewers.
async fn produce(app: &App, id: &str, ws: WebSocketStream<UpgradedIo>) {
    let me = app.next_id();
    let (mut reader, writer) = ws.split();
    app.sessions
        .lock()
        .unwrap()
        .entry(id.to_owned())
        .or_default()
        .producer = Some((me, writer));
    while let Some(Ok(message)) = reader.next().await {
        // Framed once, whatever the number of viewers.
        let frame = match message {
            Message::Text(text) => PreparedMessage::text(text),
            Message::Binary(data) => PreparedMessage::binary(data),
            _ => continue,
        };
        // Queued on every viewer that can take it now, without waiting: a
        // viewer whose output queue is full misses this frame.
        if let Some(session) = app.sessions.lock().unwrap().get(id) {
            broadcast(&frame, session.viewers.iter().map(|(_, w)| w));
        }
    }
    if let Some(session) = app.sessions.lock().unwrap().get_mut(id) {
        // Unless another producer has taken over.
        session.producer.take_if(|(producer, _)| *producer == me);
    }
}

/// Sends the viewer's messages on to the session's producer.
async fn view(app: &App, id: &str, ws: WebSocketStream<UpgradedIo>) {
    let me = app.next_id();
    let (mut reader, writer) = ws.split();
    app.sessions
        .lock()
        .unwrap()
        .entry(id.to_owned())
        .or_default()
        .viewers
        .push((me, writer));
    while let Some(Ok(message)) = reader.next().await {
        if let Message::Text(event) = message {
            let sessions = app.sessions.lock().unwrap();
            // Dropped if the producer is gone or not reading.
            if let Some((_, producer)) = sessions.get(id).and_then(|s| s.producer.as_ref()) {
                let _ = producer.try_send(Message::Text(event));
            }
        }
    }
    if let Some(session) = app.sessions.lock().unwrap().get_mut(id) {
        session.viewers.retain(|(viewer, _)| *viewer != me);
    }
}
