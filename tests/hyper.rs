//! One hyper 1.x HTTP/1.1 server with a plain route and a WebSocket route:
//! plain GETs and WebSocket echoes both work, through this crate's tokio
//! client and through its hyper client; a malformed upgrade gets 400 and the
//! server keeps serving; an application's refusal with a body reaches both
//! clients with its status, fields and (bounded) body.
#![cfg(feature = "hyper")]

use std::convert::Infallible;

use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rfc6455::Config;
use rfc6455::handshake::{Accept, ClientRequest, Refusal, RefusedResponse};
use rfc6455::http::refusal_response;
use rfc6455::{CloseCode, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The JSON body of the refusal on `/private`.
const DENIED: &str = r#"{"error":"invalid_token","error_description":"no bearer token"}"#;

/// Bytes in the refusal on `/big`: more than the default 8 KiB kept.
const BIG: usize = 20_000;

async fn service(mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if !req.uri().path().starts_with("/ws") {
        return Ok(Response::new(Full::from("plain hello")));
    }
    let upgrade = rfc6455::hyper::upgrade_with(&mut req, Config::default(), |request| {
        request.check_origin(&["http://good.example"])?;
        match request.path() {
            "/ws/private" => {
                return Err(Refusal::new(401)
                    .header("WWW-Authenticate", "Bearer realm=\"test\"")
                    .json(DENIED));
            }
            "/ws/big" => return Err(Refusal::new(503).body(vec![b'x'; BIG])),
            _ => {}
        }
        Ok(match request.select_protocol(&["echo"]) {
            Some(p) => Accept::new().protocol(p),
            None => Accept::new(),
        })
    });
    match upgrade {
        Ok((response, upgrade)) => {
            tokio::spawn(async move {
                let mut ws = upgrade.await.expect("upgraded");
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_data() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
            Ok(response)
        }
        Err(refusal) => Ok(refusal_response(&refusal)),
    }
}

async fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), hyper::service::service_fn(service))
                    .with_upgrades(),
            );
        }
    });
    port
}

async fn plain_get(port: u16) -> (u16, String) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get("/")
        .header("Host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn raw_exchange(port: u16, request: &str) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0; 1024];
    let n = tcp.read(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn plain_route_and_websocket_route() {
    let port = server().await;
    assert_eq!(plain_get(port).await, (200, "plain hello".to_owned()));

    // This crate's tokio client against the hyper server.
    let request = ClientRequest::new(&format!("ws://127.0.0.1:{port}/ws"))
        .unwrap()
        .protocol("echo");
    let (mut ws, response) = rfc6455::tokio::connect_with(request, Config::default())
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("echo"));
    ws.send(Message::text("through hyper")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("through hyper")
    );
    let big = Message::binary(vec![1u8; 200_000]);
    ws.send(big.clone()).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), big);
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    // The hyper client against the same server.
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    tokio::spawn(conn.with_upgrades());
    let request = ClientRequest::new(&format!("ws://127.0.0.1:{port}/ws")).unwrap();
    let (mut ws, _) =
        rfc6455::hyper::client::<Empty<Bytes>>(&mut sender, request, Config::default())
            .await
            .unwrap();
    ws.send(Message::binary(&b"hyper client"[..]))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::binary(&b"hyper client"[..])
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    assert_eq!(plain_get(port).await.0, 200);
}

#[tokio::test]
async fn malformed_and_refused_upgrades() {
    let port = server().await;
    let bad_key = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: not-a-key\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let answer = raw_exchange(port, &bad_key).await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");

    let old_version = bad_key
        .replace("not-a-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .replace("Version: 13", "Version: 8");
    let answer = raw_exchange(port, &old_version).await;
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{answer}"
    );

    // A foreign origin: 403, seen by the client as the status.
    let request = ClientRequest::new(&format!("ws://127.0.0.1:{port}/ws"))
        .unwrap()
        .header("Origin", "http://evil.example");
    let err = rfc6455::tokio::connect_with(request, Config::default())
        .await
        .unwrap_err();
    let refused = err.handshake().and_then(|e| e.refused()).expect("refused");
    assert_eq!((refused.status, &refused.body[..]), (403, &b""[..]));

    // Still serving both routes.
    assert_eq!(plain_get(port).await, (200, "plain hello".to_owned()));
    let (mut ws, _) = rfc6455::tokio::connect(&format!("ws://127.0.0.1:{port}/ws"))
        .await
        .unwrap();
    ws.send(Message::text("still here")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("still here")
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

fn check_denied(refused: &RefusedResponse) {
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.headers.get("www-authenticate"),
        Some("Bearer realm=\"test\"")
    );
    assert_eq!(
        refused.headers.get("content-type"),
        Some("application/json")
    );
    assert_eq!(
        refused.headers.get("content-length"),
        Some(DENIED.len().to_string().as_str())
    );
    assert_eq!(refused.body_text(), Some(DENIED));
    assert!(!refused.truncated);
}

fn check_big(refused: &RefusedResponse, limit: usize) {
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body.len(), limit);
    assert!(refused.body.iter().all(|&b| b == b'x'));
    assert!(refused.truncated);
}

/// A refusal with a status, fields and a JSON body reaches this crate's
/// tokio client and its hyper client whole; a body over the limit is cut
/// at the limit and marked.
#[tokio::test]
async fn refusals_with_a_body_reach_both_clients() {
    let port = server().await;
    let url = |path: &str| format!("ws://127.0.0.1:{port}{path}");

    let err = rfc6455::tokio::connect(&url("/ws/private"))
        .await
        .unwrap_err();
    assert_eq!(err.close_code(), None);
    check_denied(err.handshake().and_then(|e| e.refused()).expect("refused"));

    let err = rfc6455::tokio::connect(&url("/ws/big")).await.unwrap_err();
    check_big(err.handshake().and_then(|e| e.refused()).unwrap(), 8 << 10);
    let config = Config::default().max_refusal_body(100);
    let err = rfc6455::tokio::connect_with(ClientRequest::new(&url("/ws/big")).unwrap(), config)
        .await
        .unwrap_err();
    check_big(err.handshake().and_then(|e| e.refused()).unwrap(), 100);

    // The hyper client reads the refusal's body from hyper's response.
    for (path, limit) in [
        ("/ws/private", 8 << 10),
        ("/ws/big", 8 << 10),
        ("/ws/big", 10),
    ] {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .unwrap();
        tokio::spawn(conn.with_upgrades());
        let request = ClientRequest::new(&url(path)).unwrap();
        let config = Config::default().max_refusal_body(limit);
        let err = rfc6455::hyper::client::<Empty<Bytes>>(&mut sender, request, config)
            .await
            .unwrap_err();
        let refused = err.handshake().and_then(|e| e.refused()).expect("refused");
        match path {
            "/ws/private" => check_denied(refused),
            _ => check_big(refused, limit),
        }
    }
}
