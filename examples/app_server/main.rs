//! An app's realtime server on axum: token authentication at the handshake,
//! JSON refusals, application close codes, and a remote-control endpoint
//! that broadcasts a producer's screen to every viewer of a session.
//!
//! ```text
//! app_server [ADDR] [--token TOKEN]... [--demo]
//! ```
//!
//! - `ADDR` defaults to `127.0.0.1:9002`; each `--token` is one valid token
//!   (without any, the token `demo` is accepted).
//! - Every WebSocket route takes a token as `?token=` or `Authorization:
//!   Bearer`; none is refused with 401, an unknown one with 403, each with a
//!   JSON body.
//! - `GET /api/ws`: the realtime API, with `POST /admin/{kick,expire}`
//!   (`api.rs`).
//! - `GET /ws/captcha/{id}`: remote control (`remote.rs`).
//! - `GET /`: a viewer page (`/?session=ID&token=T`).
//! - `--demo`: a producer for session `demo` (`demo.rs`); open
//!   `http://ADDR/` to watch it and click on it.

mod api;
mod demo;
mod remote;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};
use rfc6455::handshake::{HandshakeRequest, Refusal};
use rfc6455::hyper::UpgradedIo;
use rfc6455::tokio::Writer;

const USAGE: &str = "usage: app_server [ADDR] [--token TOKEN]... [--demo]";

/// The sending half of a connection; the task reading it owns the other.
type Peer = Writer<UpgradedIo>;

struct App {
    tokens: HashSet<String>,
    /// The realtime API's connection of each token, with its id.
    api: Mutex<HashMap<String, (u64, Peer)>>,
    /// The remote-control sessions, by id.
    sessions: Mutex<HashMap<String, remote::Session>>,
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

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// A refusal with a JSON body: `{"error": message}`.
fn refusal(status: u16, message: &str) -> Refusal {
    Refusal::new(status).json(serde_json::json!({ "error": message }).to_string())
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
    let demo_token = demo.then(|| tokens.iter().next().cloned()).flatten();
    let app = Arc::new(App {
        tokens,
        api: Mutex::default(),
        sessions: Mutex::default(),
        next_id: AtomicU64::new(1),
    });
    let router = Router::new()
        .route("/", get(|| async { Html(include_str!("index.html")) }))
        .route("/api/ws", get(api::websocket))
        .route("/admin/{action}", post(api::admin))
        .route("/ws/captcha/{id}", get(remote::websocket))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("app_server listening on http://{local}");
    if let Some(token) = demo_token {
        // It connects once `serve` below runs.
        tokio::spawn(demo::producer(local, token));
    }
    axum::serve(listener, router).await
}
