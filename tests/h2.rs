//! WebSockets over HTTP/2 (RFC 8441): an h2 server with extended CONNECT
//! enabled, WebSocket streams opened by an h2 client, messages both ways,
//! clean closes, several WebSockets on one connection, and refused extended
//! CONNECTs answered with a 4xx while the server keeps going.
#![cfg(feature = "h2")]

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfc6455::Config;
use rfc6455::handshake::{Accept, ClientRequest, HandshakeError, Refusal};
use rfc6455::{CloseCode, Message, StreamError};
use tokio::net::{TcpListener, TcpStream};

/// The JSON body refusing `/private`.
const DENIED: &str = r#"{"error":"invalid_token"}"#;

/// An h2c (prior knowledge) server: extended CONNECT to a WebSocket echo,
/// anything else a plain 200.
async fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut conn = h2::server::Builder::new()
                    .enable_connect_protocol()
                    .handshake::<_, Bytes>(tcp)
                    .await
                    .unwrap();
                while let Some(Ok((request, mut respond))) = conn.accept().await {
                    if !rfc6455::h2::is_extended_connect(&request) {
                        let response = http::Response::new(());
                        let mut send = respond.send_response(response, false).unwrap();
                        send.send_data(Bytes::from_static(b"plain"), true).unwrap();
                        continue;
                    }
                    let accepted =
                        rfc6455::h2::accept_with(request, respond, Config::default(), |r| {
                            r.check_origin(&["https://good.example"])?;
                            if r.path() == "/private" {
                                return Err(Refusal::new(401)
                                    .header("www-authenticate", "Bearer")
                                    .json(DENIED));
                            }
                            Ok(match r.select_protocol(&["echo"]) {
                                Some(p) => Accept::new().protocol(p),
                                None => Accept::new(),
                            })
                        });
                    let Ok(mut ws) = accepted else { continue };
                    tokio::spawn(async move {
                        while let Some(Ok(message)) = ws.next().await {
                            if message.is_data() && ws.send(message).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
        }
    });
    port
}

async fn client(port: u16) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (sender, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

fn request(port: u16) -> ClientRequest {
    ClientRequest::new(&format!("ws://127.0.0.1:{port}/echo")).unwrap()
}

#[tokio::test]
async fn websocket_over_h2_both_ways_and_clean_close() {
    let port = server().await;
    let mut sender = client(port).await;
    let (mut ws, response) = rfc6455::h2::connect(
        &mut sender,
        request(port).protocol("echo"),
        Config::default(),
    )
    .await
    .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(ws.protocol(), Some("echo"));
    // A second WebSocket on the same connection, interleaved with the first.
    let (mut other, _) = rfc6455::h2::connect(&mut sender, request(port), Config::default())
        .await
        .unwrap();
    for i in 0..20 {
        ws.send(Message::text(format!("m{i}"))).await.unwrap();
        other
            .send(Message::binary(vec![i as u8; 10]))
            .await
            .unwrap();
    }
    for i in 0..20 {
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text(format!("m{i}"))
        );
        assert_eq!(
            other.next().await.unwrap().unwrap(),
            Message::binary(vec![i as u8; 10])
        );
    }
    // Larger than the default 64 KiB stream window: flow control both ways.
    let big = Message::binary((0..1_000_000u32).map(|i| i as u8).collect::<Vec<_>>());
    ws.send(big.clone()).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), big);

    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert!(ws.next().await.is_none());
    other.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn refused_extended_connects_get_4xx_and_the_server_goes_on() {
    let port = server().await;
    let mut sender = client(port).await;

    // Wrong :protocol.
    let (req, _) =
        rfc6455::http::extended_connect_request(request(port), &rfc6455::Config::default())
            .unwrap();
    let mut req = req;
    req.extensions_mut()
        .insert(h2::ext::Protocol::from_static("chat"));
    let mut ready = sender.clone().ready().await.unwrap();
    while !ready.is_extended_connect_protocol_enabled() {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let (response, _send) = ready.send_request(req, false).unwrap();
    assert_eq!(response.await.unwrap().status(), 400);

    // Wrong version.
    let (mut req, _) =
        rfc6455::http::extended_connect_request(request(port), &rfc6455::Config::default())
            .unwrap();
    req.headers_mut()
        .insert("sec-websocket-version", http::HeaderValue::from_static("8"));
    req.extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    let (response, _send) = sender
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(req, false)
        .unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["sec-websocket-version"], "13");

    // A foreign Origin: the client sees 403.
    let err = rfc6455::h2::connect(
        &mut sender,
        request(port).header("Origin", "https://evil.example"),
        Config::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, StreamError::Handshake(_)), "{err:?}");
    let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
    assert_eq!(refused.status, 403);
    assert!(refused.headers.get("connection").is_none(), "HTTP/2");

    // The application's refusal with a body, whole and cut at the limit.
    for (limit, body, truncated) in [(1 << 10, DENIED, false), (5, &DENIED[..5], true)] {
        let request = ClientRequest::new(&format!("ws://127.0.0.1:{port}/private")).unwrap();
        let config = Config::default().max_refusal_body(limit);
        let err = rfc6455::h2::connect(&mut sender, request, config)
            .await
            .unwrap_err();
        let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
        assert_eq!(refused.status, 401);
        assert_eq!(refused.headers.get("www-authenticate"), Some("Bearer"));
        assert_eq!(
            refused.headers.get("content-type"),
            Some("application/json")
        );
        assert_eq!(
            refused.headers.get("content-length"),
            Some(DENIED.len().to_string().as_str())
        );
        assert_eq!(
            (refused.body_text(), refused.truncated),
            (Some(body), truncated)
        );
    }

    // The same connection still serves plain requests and WebSockets.
    let plain = http::Request::get(format!("http://127.0.0.1:{port}/"))
        .body(())
        .unwrap();
    let (response, _) = sender
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(plain, true)
        .unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    assert_eq!(body.data().await.unwrap().unwrap(), "plain");

    let (mut ws, _) = rfc6455::h2::connect(&mut sender, request(port), Config::default())
        .await
        .unwrap();
    ws.send(Message::text("still here")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("still here")
    );
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn a_server_without_extended_connect_is_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut conn = h2::server::handshake(tcp).await.unwrap();
        while conn.accept().await.is_some() {}
    });
    let mut sender = client(port).await;
    let err = rfc6455::h2::connect(&mut sender, request(port), Config::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StreamError::Io(e) if e.kind() == std::io::ErrorKind::Unsupported),
        "{err:?}"
    );
}
