//! An app's realtime server on axum: token authentication at the handshake,
//! JSON refusals, application close codes, and a remote-control endpoint
//! that broadcasts screenshots to every viewer of a session.
//!
//! ```text
//! app_server [ADDR] [--token TOKEN]... [--demo]
//! ```
//!
//! - `ADDR` defaults to `127.0.0.1:9002`; each `--token` is one valid token
//!   (without any, the token `demo` is accepted).
//! - `GET /api/ws`: the realtime API. The token comes as `?token=` or
//!   `Authorization: Bearer`; none is refused with 401, an unknown one with
//!   403, each with a JSON body. Text messages are echoed. The server closes
//!   the connection with 4001 when its token expires (`POST
//!   /admin/expire?token=T`), 4002 when it is kicked (`POST
//!   /admin/kick?token=T`), and 4003 when the same token logs in elsewhere.
//!   The admin routes take a valid token as `Authorization: Bearer`.
//! - `GET /ws/captcha/{id}` (same authentication): with `?role=producer`,
//!   each message of the producer (a screenshot, ~100 KB) goes to every
//!   viewer of session `id`; viewers' messages (mouse events, JSON) go to
//!   the producer. A viewer that cannot keep up misses frames: the server
//!   holds at most `Config::write_buffer_size` for it. With `--demo`, a
//!   session without producer gets one built in, drawing 10 frames a second
//!   and printing the mouse events it receives.
//! - `GET /`: a viewer page (`/?session=ID&token=T`).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, Response};
use axum::routing::{get, post};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use rfc6455::axum::WebSocketUpgrade;
use rfc6455::handshake::{HandshakeRequest, Refusal};
use rfc6455::hyper::UpgradedIo;
use rfc6455::tokio::{Writer, broadcast};
use rfc6455::{CloseCode, Message, PreparedMessage};

const USAGE: &str = "usage: app_server [ADDR] [--token TOKEN]... [--demo]";
const TOKEN_EXPIRED: u16 = 4001;
const KICKED: u16 = 4002;
const LOGGED_IN_ELSEWHERE: u16 = 4003;

type Peer = Writer<UpgradedIo>;

/// One remote-control session: its viewers and its producer.
#[derive(Default)]
struct Captcha {
    viewers: Vec<(u64, Peer)>,
    producer: Option<Peer>,
    demo: bool,
}

struct App {
    tokens: HashSet<String>,
    demo: bool,
    /// The realtime API's connection of each token.
    api: Mutex<HashMap<String, (u64, Peer)>>,
    captchas: Mutex<HashMap<String, Captcha>>,
    next_id: AtomicU64,
}

impl App {
    /// The request's token, checked: 401 without one, 403 if unknown.
    fn authenticate(&self, request: &HandshakeRequest) -> Result<String, Refusal> {
        let token = request
            .query_param("token")
            .map(|t| t.into_owned())
            .or_else(|| request.bearer_token().map(str::to_owned));
        match token {
            None => Err(refusal(401, "a token is required")),
            Some(t) if self.tokens.contains(&t) => Ok(t),
            Some(_) => Err(refusal(403, "unknown token")),
        }
    }
}

fn refusal(status: u16, message: &str) -> Refusal {
    let body = format!(r#"{{"error":{}}}"#, json_string(message));
    Refusal::new(status).json(body)
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `GET /api/ws`: echoes text; closed by the server on expiry, kick, or a
/// login elsewhere.
async fn api_ws(
    State(app): State<Arc<App>>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Refusal> {
    let token = app.authenticate(upgrade.request())?;
    Ok(upgrade.on_upgrade(move |ws| async move {
        let id = app.next_id.fetch_add(1, Ordering::Relaxed);
        let (mut reader, mut writer) = ws.split();
        let previous = app
            .api
            .lock()
            .unwrap()
            .insert(token.clone(), (id, writer.clone()));
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

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: String,
}

/// `POST /admin/{kick,expire}?token=T`: closes that token's API connection.
async fn admin(
    State(app): State<Arc<App>>,
    Path(action): Path<String>,
    Query(query): Query<TokenQuery>,
    headers: axum::http::HeaderMap,
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
    let session = app.api.lock().unwrap().remove(&query.token);
    match session {
        Some((_, writer)) => {
            close_in_background(writer, code, reason);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

#[derive(serde::Deserialize)]
struct CaptchaQuery {
    role: Option<String>,
}

/// `GET /ws/captcha/{id}`: a producer's frames to every viewer, viewers'
/// mouse events to the producer.
async fn captcha_ws(
    State(app): State<Arc<App>>,
    Path(session): Path<String>,
    Query(query): Query<CaptchaQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, Refusal> {
    app.authenticate(upgrade.request())?;
    let producer = query.role.as_deref() == Some("producer");
    Ok(upgrade.on_upgrade(move |ws| async move {
        let id = app.next_id.fetch_add(1, Ordering::Relaxed);
        let (mut reader, writer) = ws.split();
        if producer {
            app.captchas
                .lock()
                .unwrap()
                .entry(session.clone())
                .or_default()
                .producer = Some(writer);
            while let Some(Ok(message)) = reader.next().await {
                let frame = match message {
                    Message::Text(t) => PreparedMessage::text(t),
                    Message::Binary(b) => PreparedMessage::binary(b),
                    _ => continue,
                };
                publish(&app, &session, &frame);
            }
            let mut captchas = app.captchas.lock().unwrap();
            if let Some(c) = captchas.get_mut(&session) {
                c.producer = None;
                if c.viewers.is_empty() && !c.demo {
                    captchas.remove(&session);
                }
            }
            return;
        }
        let start_demo = {
            let mut captchas = app.captchas.lock().unwrap();
            let c = captchas.entry(session.clone()).or_default();
            c.viewers.push((id, writer));
            let start = app.demo && c.producer.is_none() && !c.demo;
            c.demo |= start;
            start
        };
        if start_demo {
            tokio::spawn(demo_producer(Arc::clone(&app), session.clone()));
        }
        while let Some(Ok(message)) = reader.next().await {
            if let Message::Text(event) = message {
                let producer = app
                    .captchas
                    .lock()
                    .unwrap()
                    .get(&session)
                    .and_then(|c| c.producer.clone());
                match producer {
                    Some(p) => drop(p.try_send(Message::Text(event))),
                    None => println!(
                        "captcha {session}: producer got {} from viewer {id}",
                        event.as_str()
                    ),
                }
            }
        }
        let mut captchas = app.captchas.lock().unwrap();
        if let Some(c) = captchas.get_mut(&session) {
            c.viewers.retain(|(viewer, _)| *viewer != id);
            // The last one out ends the session (a demo producer sees it
            // gone and stops).
            if c.viewers.is_empty() && c.producer.is_none() && !c.demo {
                captchas.remove(&session);
            }
        }
    }))
}

/// Sends one frame to every viewer that can take it now.
fn publish(app: &App, session: &str, frame: &PreparedMessage) {
    let captchas = app.captchas.lock().unwrap();
    if let Some(c) = captchas.get(session) {
        broadcast(frame, c.viewers.iter().map(|(_, w)| w));
    }
}

/// The built-in producer of `--demo`: 10 frames a second (a 200 x 128 BMP
/// with a moving square, ~100 KB of base64 in JSON) while the session has
/// viewers.
async fn demo_producer(app: Arc<App>, session: String) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    for seq in 0u64.. {
        tick.tick().await;
        let frame = PreparedMessage::text(format!(
            r#"{{"type":"frame","seq":{seq},"image":"data:image/bmp;base64,{}"}}"#,
            base64::engine::general_purpose::STANDARD.encode(bitmap(seq))
        ));
        publish(&app, &session, &frame);
        let mut captchas = app.captchas.lock().unwrap();
        let Some(c) = captchas.get_mut(&session) else {
            return;
        };
        if c.viewers.is_empty() || c.producer.is_some() {
            c.demo = false;
            if c.viewers.is_empty() && c.producer.is_none() {
                captchas.remove(&session);
            }
            return;
        }
    }
}

/// A 200 x 128, 24-bit BMP: a grey field with a square moving along it.
fn bitmap(seq: u64) -> Vec<u8> {
    const W: usize = 200;
    const H: usize = 128;
    let size = 54 + W * H * 3;
    let mut bmp = Vec::with_capacity(size);
    bmp.extend_from_slice(b"BM");
    for v in [size as u32, 0, 54, 40, W as u32, H as u32] {
        bmp.extend_from_slice(&v.to_le_bytes());
    }
    bmp.extend_from_slice(&1u16.to_le_bytes()); // planes
    bmp.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
    bmp.extend_from_slice(&[0; 24]); // no compression, default resolution and palette
    let x0 = (seq as usize * 4) % (W - 32);
    for y in 0..H {
        for x in 0..W {
            let inside = (x0..x0 + 32).contains(&x) && (48..80).contains(&y);
            bmp.extend_from_slice(if inside {
                &[40, 90, 220]
            } else {
                &[200, 200, 200]
            });
        }
    }
    bmp
}

fn parse_args() -> Result<(SocketAddr, HashSet<String>, bool), String> {
    let mut addr = "127.0.0.1:9002".to_owned();
    let mut tokens = HashSet::new();
    let mut demo = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--token" => drop(tokens.insert(args.next().ok_or(USAGE)?)),
            "--demo" => demo = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other if !other.starts_with('-') => addr = other.to_owned(),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if tokens.is_empty() {
        tokens.insert("demo".to_owned());
    }
    let addr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    Ok((addr, tokens, demo))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let (addr, tokens, demo) = parse_args().map_err(std::io::Error::other)?;
    let app = Arc::new(App {
        tokens,
        demo,
        api: Mutex::default(),
        captchas: Mutex::default(),
        next_id: AtomicU64::new(1),
    });
    let router = Router::new()
        .route("/", get(|| async { Html(include_str!("app_server.html")) }))
        .route("/api/ws", get(api_ws))
        .route("/admin/{action}", post(admin))
        .route("/ws/captcha/{id}", get(captcha_ws))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("app_server listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await
}
