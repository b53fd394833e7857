//! The axum extractor: HTML and a WebSocket from one `Router`, refusals as
//! axum responses with a body, subprotocol selection, settings.

use std::time::Duration;

use axum::Router;
use axum::response::{Html, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use rfc6455::axum::WebSocketUpgrade;
use rfc6455::handshake::{ClientRequest, HandshakeError, Refusal};
use rfc6455::tokio::connect_with;
use rfc6455::{Config, Message, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upper bound for anything a test waits on; never a synchronisation point.
const LIMIT: Duration = Duration::from_secs(20);

async fn ws(upgrade: WebSocketUpgrade) -> Result<Response, Refusal> {
    if upgrade.request().bearer_token() != Some("secret") {
        return Err(Refusal::new(401).json(r#"{"error":"unauthorized"}"#));
    }
    let upgrade = upgrade
        .protocols(["chat.v2", "chat"])
        .config(Config::default().max_message_size(1000));
    Ok(upgrade.on_upgrade(|mut ws| async move {
        let protocol = ws.protocol().unwrap_or("none").to_owned();
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(t) = message {
                let reply = format!("{protocol}: {}", t.as_str());
                if ws.send(Message::text(reply)).await.is_err() {
                    break;
                }
            }
        }
    }))
}

async fn serve() -> String {
    let app = Router::new()
        .route("/", get(|| async { Html("<h1>hello</h1>") }))
        .route("/ws", get(ws));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("127.0.0.1:{}", addr.port())
}

#[tokio::test]
async fn one_router_serves_html_and_a_websocket() {
    tokio::time::timeout(LIMIT, async {
        let addr = serve().await;
        // Plain HTTP on the same router.
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut page = String::new();
        tcp.read_to_string(&mut page).await.unwrap();
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.ends_with("<h1>hello</h1>"));

        let request = ClientRequest::new(&format!("ws://{addr}/ws"))
            .unwrap()
            .header("Authorization", "Bearer secret")
            .protocol("chat");
        let (mut ws, response) = connect_with(request, Config::default()).await.unwrap();
        assert_eq!(response.protocol.as_deref(), Some("chat"));
        ws.send(Message::text("hi")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("chat: hi"));
        // The handler's settings apply: a message over 1000 bytes fails 1009.
        ws.send(Message::text("x".repeat(2000))).await.unwrap();
        let end = loop {
            match ws.next().await {
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(e),
                None => break None,
            }
        };
        assert_eq!(
            ws.connection()
                .peer_close()
                .flatten()
                .map(|f| f.code.as_u16()),
            Some(1009),
            "{end:?}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn refusals_are_axum_responses_with_their_body() {
    tokio::time::timeout(LIMIT, async {
        let addr = serve().await;
        let request = ClientRequest::new(&format!("ws://{addr}/ws")).unwrap();
        let err = connect_with(request, Config::default()).await.unwrap_err();
        let refused = err
            .handshake()
            .and_then(HandshakeError::refused)
            .expect("refused");
        assert_eq!(refused.status, 401);
        assert_eq!(refused.body_text(), Some(r#"{"error":"unauthorized"}"#));
        assert_eq!(
            refused.headers.get("Content-Type"),
            Some("application/json")
        );
        // Not a WebSocket handshake at all: the extractor answers 426/400.
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        tcp.write_all(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\
              Connection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
        assert!(answer.contains("sec-websocket-version: 13"), "{answer}");
        assert!(!matches!(err, StreamError::Connect(_)));
    })
    .await
    .unwrap();
}
