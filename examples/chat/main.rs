//! A browser chat: one process serves the page over plain HTTP and a
//! WebSocket endpoint at `/ws` that relays each message to every connected
//! page, on hyper (feature `hyper`).
//!
//! `cargo run --features hyper --example chat [ADDR]` (default
//! 127.0.0.1:8080), then open `http://ADDR/` in two browser tabs.
//!
//! The WebSocket endpoint accepts only pages of its own origin
//! (`http://` + the `Host` the browser sent): a page on another site cannot
//! open a WebSocket here with the visitor's cookies (RFC 6455 §10.2); it
//! gets 403.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rfc6455::handshake::Accept;
use rfc6455::http::refusal_response;
use rfc6455::{Config, Message};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

const PAGE: &str = include_str!("index.html");

struct Room {
    messages: broadcast::Sender<String>,
    next_id: AtomicU64,
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::from(body));
    *response.status_mut() = status;
    response
}

async fn handle(
    room: Arc<Room>,
    mut req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => {
            let mut response = Response::new(Full::from(PAGE));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            Ok(response)
        }
        (_, "/ws") => {
            // Small messages only: this is a chat.
            let config = Config::default()
                .max_message_size(16 << 10)
                .max_frame_size(16 << 10);
            let upgrade = rfc6455::hyper::upgrade_with(&mut req, config, |request| {
                let own = format!("http://{}", request.host());
                request.check_origin(&[own.as_str()])?;
                Ok(Accept::new())
            });
            match upgrade {
                Ok((response, websocket)) => {
                    tokio::spawn(async move {
                        if let Ok(ws) = websocket.await {
                            chat(room, ws).await;
                        }
                    });
                    Ok(response)
                }
                Err(refusal) => {
                    eprintln!("chat: refused a WebSocket: {refusal}");
                    Ok(refusal_response(&refusal))
                }
            }
        }
        _ => Ok(plain(StatusCode::NOT_FOUND, "not found\n")),
    }
}

/// One participant: what they say goes to the room, what the room hears
/// goes to them.
async fn chat(room: Arc<Room>, ws: rfc6455::tokio::WebSocketStream<rfc6455::hyper::UpgradedIo>) {
    let id = room.next_id.fetch_add(1, Ordering::Relaxed);
    let mut heard = room.messages.subscribe();
    let (mut stream, mut sink) = ws.split();
    let _ = room.messages.send(format!("user{id} joined"));
    let forward = tokio::spawn(async move {
        loop {
            match heard.recv().await {
                Ok(line) => {
                    if sink.send(Message::text(line)).await.is_err() {
                        break;
                    }
                }
                // A slow reader misses messages rather than stalling the room.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        if let Message::Text(text) = message {
            let _ = room.messages.send(format!("user{id}: {}", text.as_str()));
        }
    }
    forward.abort();
    let _ = room.messages.send(format!("user{id} left"));
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("chat listening on http://{}/", listener.local_addr()?);
    let room = Arc::new(Room {
        messages: broadcast::channel(256).0,
        next_id: AtomicU64::new(1),
    });
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let room = room.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(room.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades()
                .await;
        });
    }
}
