//! The tokio adapter over real loopback sockets.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rfc6455::Config;
use rfc6455::handshake::{Accept, ClientRequest, HandshakeError, Refusal};
use rfc6455::tokio::{WebSocketStream, accept_with, connect, connect_with};
use rfc6455::{CloseCode, CloseFrame, DataKind, Error, Fragment, Message, StreamError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Upper bound for anything a test waits on; never a synchronisation point.
const LIMIT: Duration = Duration::from_secs(20);

async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", l.local_addr().unwrap());
    (l, url)
}

/// Starts an echo server on the tokio adapter; returns its URL.
async fn echo_server(options: Config) -> String {
    let (l, url) = listener().await;
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            let options = options.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = accept_with(tcp, options, |_| Ok(Accept::new())).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if matches!(
                        m,
                        Message::Text(_) | Message::Binary(_) | Message::Fragment(_)
                    ) && ws.send(m).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    url
}

/// A raw TCP peer that has completed a client handshake; also returns what
/// arrived right after the response.
async fn raw_client(url: &str) -> (TcpStream, Vec<u8>) {
    let addr = url.trim_start_matches("ws://").trim_end_matches('/');
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let (req, mut hs) = ClientRequest::new(url)
        .unwrap()
        .build(&Default::default())
        .unwrap();
    tcp.write_all(&req).await.unwrap();
    let mut buf = bytes::BytesMut::new();
    loop {
        if hs.parse(&mut buf).unwrap().is_some() {
            return (tcp, buf.to_vec());
        }
        tcp.read_buf(&mut buf).await.unwrap();
    }
}

/// A masked client frame.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [1, 2, 3, 4];
    let mut out = vec![first];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

async fn read_to_end((tcp, early): &mut (TcpStream, Vec<u8>)) -> Vec<u8> {
    let mut out = std::mem::take(early);
    tokio::time::timeout(LIMIT, tcp.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

#[tokio::test]
async fn echo_of_every_size() {
    let url = echo_server(Config::default()).await;
    let (mut ws, _) = connect(&url).await.unwrap();
    for size in [0usize, 1, 125, 126, 127, 65535, 65536, 1 << 20, 4 << 20] {
        let binary = Bytes::from((0..size).map(|i| (i * 31 % 251) as u8).collect::<Vec<_>>());
        ws.send(Message::Binary(binary.clone())).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::Binary(binary),
            "binary of {size}"
        );
        let text: String = "aé€😀".chars().cycle().take(size / 3).collect();
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::text(text),
            "text of about {size}"
        );
    }
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
}

#[tokio::test]
async fn fragmented_messages_and_streaming() {
    let url = echo_server(Config::default()).await;
    let (mut ws, _) = connect(&url).await.unwrap();
    for (i, piece) in ["Hel", "lo ", "wor", "ld"].into_iter().enumerate() {
        ws.feed(Message::Fragment(Fragment {
            kind: DataKind::Text,
            payload: Bytes::from(piece),
            fin: i == 3,
        }))
        .await
        .unwrap();
        ws.feed(Message::Ping(Bytes::from(format!("between {i}"))))
            .await
            .unwrap();
    }
    ws.flush().await.unwrap();
    // Pongs answer the pings in order (coalesced if one is still queued when
    // the next ping arrives, §5.5.3), before or after the message.
    let mut pongs: Vec<Bytes> = Vec::new();
    let mut text = None;
    while text.is_none() || pongs.last().map(|p| &p[..]) != Some(b"between 3") {
        match ws.next().await.unwrap().unwrap() {
            Message::Pong(p) => {
                assert!(
                    pongs.last().is_none_or(|last| p > last),
                    "{pongs:?} then {p:?}"
                );
                pongs.push(p);
            }
            Message::Text(t) => text = Some(t),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(text.unwrap(), "Hello world");
    // In streaming mode both ends see fragments one by one: the server echoes
    // each as it arrives, and the client receives them as fragments.
    let streaming = rfc6455::Config::default().fragments(true);
    let url = echo_server(streaming.clone()).await;
    let (mut ws, _) = connect_with(ClientRequest::new(&url).unwrap(), streaming)
        .await
        .unwrap();
    for i in 0..3u8 {
        let f = Fragment {
            kind: DataKind::Binary,
            payload: Bytes::from(vec![i; 100_000]),
            fin: i == 2,
        };
        ws.send(Message::Fragment(f)).await.unwrap();
    }
    // Each frame is handed out in pieces as its bytes arrive (a piece never
    // spans two frames here: the echo sends each as its own frames); the
    // pieces join into the message, the last one marked `fin`.
    let mut received = Vec::new();
    loop {
        let Message::Fragment(f) = ws.next().await.unwrap().unwrap() else {
            panic!("a fragment")
        };
        assert_eq!(f.kind, DataKind::Binary);
        received.extend_from_slice(&f.payload);
        if f.fin {
            break;
        }
    }
    let sent: Vec<u8> = (0..3u8).flat_map(|i| vec![i; 100_000]).collect();
    assert!(received == sent, "the pieces join into what was sent");
}

#[tokio::test]
async fn ping_is_answered_by_the_core() {
    let url = echo_server(Config::default()).await;
    let (mut ws, _) = connect(&url).await.unwrap();
    ws.send(Message::Ping(Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Pong(Bytes::from_static(b"are you there"))
    );
}

#[tokio::test]
async fn close_initiated_by_the_client() {
    let (l, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
            .await
            .unwrap();
        let mut seen = None;
        while let Some(m) = ws.next().await {
            if let Message::Close(frame) = m.unwrap() {
                seen = frame;
            }
        }
        seen
    });
    let (mut ws, _) = connect(&url).await.unwrap();
    tokio::time::timeout(LIMIT, ws.close(CloseCode::new(4000), "client done"))
        .await
        .unwrap()
        .unwrap();
    let seen = server.await.unwrap();
    assert_eq!(
        seen,
        Some(CloseFrame {
            code: CloseCode::new(4000),
            reason: "client done".into()
        })
    );
}

#[tokio::test]
async fn close_initiated_by_the_server() {
    let (l, url) = listener().await;
    tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
            .await
            .unwrap();
        ws.close(CloseCode::GOING_AWAY, "shutting down")
            .await
            .unwrap();
    });
    let (mut ws, _) = connect(&url).await.unwrap();
    let m = tokio::time::timeout(LIMIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        m,
        Message::Close(Some(CloseFrame {
            code: CloseCode::GOING_AWAY,
            reason: "shutting down".into()
        }))
    );
    assert!(
        tokio::time::timeout(LIMIT, ws.next())
            .await
            .unwrap()
            .is_none(),
        "the stream ends after the handshake"
    );
}

#[tokio::test]
async fn server_resetting_after_the_close_handshake_is_a_clean_close() {
    // A server that starts the close handshake and, once the client's close
    // frame has arrived, resets the TCP connection instead of closing it
    // gracefully (its socket is closed with the echo unread, so the kernel
    // sends a RST), as Autobahn|Testsuite's fuzzing server does.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", l.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut ws = rfc6455::blocking::accept(s).unwrap();
        ws.close(CloseCode::NORMAL, "").unwrap();
        let (stream, ..) = ws.into_parts();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut echo = [0u8; 1];
        assert_eq!(stream.peek(&mut echo).unwrap(), 1, "the client's close");
    });
    let (mut ws, _) = connect(&url).await.unwrap();
    let m = tokio::time::timeout(LIMIT, ws.next()).await.unwrap();
    assert!(
        matches!(m, Some(Ok(Message::Close(Some(ref f)))) if f.code == CloseCode::NORMAL),
        "{m:?}"
    );
    // The client waits for the server to end the transport (§7.1.1); a
    // reset then is that end, not a transport error.
    let end = tokio::time::timeout(LIMIT, ws.next()).await.unwrap();
    assert!(
        end.is_none(),
        "expected the stream to end cleanly, got {end:?}"
    );
    assert!(ws.connection().failure().is_none());
    server.join().unwrap();
}

#[tokio::test]
async fn peer_vanishing_mid_message_is_abnormal_closure() {
    let (l, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
            .await
            .unwrap();
        ws.next().await.unwrap()
    });
    let mut raw = raw_client(&url).await;
    raw.0
        .write_all(&masked(0x82, &[0; 1000])[..500])
        .await
        .unwrap();
    drop(raw);
    let err = tokio::time::timeout(LIMIT, server)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, StreamError::Protocol(Error::AbnormalClosure)),
        "{err:?}"
    );
    assert_eq!(err.close_code(), Some(CloseCode::ABNORMAL));
}

/// Sends `input` from a raw client and returns what the server wrote back
/// until it closed, and the server's error.
async fn bad_input(input: Vec<u8>, options: Config) -> (Vec<u8>, StreamError) {
    let (l, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let mut ws = accept_with(tcp, options, |_| Ok(Accept::new()))
            .await
            .unwrap();
        loop {
            match ws.next().await {
                Some(Ok(_)) => {}
                Some(Err(e)) => return e,
                None => panic!("ended without an error"),
            }
        }
    });
    let mut raw = raw_client(&url).await;
    raw.0.write_all(&input).await.unwrap();
    let back = read_to_end(&mut raw).await;
    (back, server.await.unwrap())
}

#[tokio::test]
async fn bad_input_gets_its_close_code_and_the_transport_closes() {
    let unmasked = vec![0x81, 0x02, b'h', b'i'];
    let (back, err) = bad_input(unmasked, Config::default()).await;
    assert_eq!(back, [0x88, 0x02, 0x03, 0xea], "close 1002, then EOF");
    assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));

    let (back, err) = bad_input(masked(0x81, &[b'a', 0xff]), Config::default()).await;
    assert_eq!(back, [0x88, 0x02, 0x03, 0xef], "close 1007");
    assert!(matches!(err, StreamError::Protocol(Error::InvalidUtf8)));

    let small = rfc6455::Config::default().max_message_size(1000);
    let (back, err) = bad_input(masked(0x82, &[0; 1001])[..14].to_vec(), small).await;
    assert_eq!(
        back,
        [0x88, 0x02, 0x03, 0xf1],
        "close 1009 from the header alone"
    );
    assert!(matches!(err, StreamError::Protocol(Error::MessageTooLarge)));
}

#[tokio::test]
async fn handshake_refusals_get_their_status() {
    let (l, url) = listener().await;
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                let _ = accept_with(tcp, Config::default(), |req| {
                    req.check_origin(&["https://good.example"])?;
                    Ok(Accept::new())
                })
                .await;
            });
        }
    });
    let base = "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let cases = [
        (format!("GET / HTTP/1.1\r\n{base}Sec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n"), "403"),
        (format!("GET / HTTP/1.1\r\n{base}Sec-WebSocket-Version: 8\r\n\r\n"), "426"),
        (format!("POST / HTTP/1.1\r\n{base}Sec-WebSocket-Version: 13\r\n\r\n"), "405"),
        ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n".to_owned(), "400"),
        (format!("GET / HTTP/1.1\r\nX-Big: {}\r\n", "a".repeat(40_000)), "431"),
    ];
    for (request, status) in cases {
        let mut tcp = (TcpStream::connect(&addr).await.unwrap(), Vec::new());
        tcp.0.write_all(request.as_bytes()).await.unwrap();
        let back = String::from_utf8(read_to_end(&mut tcp).await).unwrap();
        assert!(
            back.starts_with(&format!("HTTP/1.1 {status} ")),
            "{status}: {back}"
        );
        if status == "426" {
            assert!(back.contains("Sec-WebSocket-Version: 13\r\n"));
        }
    }
    // The client sees a refusal as the status it got.
    let request = ClientRequest::new(&url)
        .unwrap()
        .header("Origin", "https://evil.example");
    let err = connect_with(request, Config::default()).await.unwrap_err();
    let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
    assert_eq!(refused.status, 403);
    assert_eq!(refused.headers.get("content-length"), Some("0"));
    assert!(refused.body.is_empty() && !refused.truncated);
}

#[tokio::test]
async fn stalled_handshake_times_out() {
    let (l, url) = listener().await;
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let options = Config::default().handshake_timeout(Some(Duration::from_millis(200)));
        accept_with(tcp, options, |_| Ok(Accept::new()))
            .await
            .unwrap_err()
    });
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let err = tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
    assert!(matches!(err, StreamError::HandshakeTimeout), "{err:?}");
}

#[tokio::test]
async fn next_is_cancel_safe_mid_frame() {
    let (l, url) = listener().await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let mut ws: WebSocketStream<TcpStream> =
            accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
                .await
                .unwrap();
        // Cancel reads until the core holds a partially received frame.
        while ws.connection().bytes_needed(0) == 0 {
            assert!(
                tokio::time::timeout(Duration::from_millis(5), ws.next())
                    .await
                    .is_err()
            );
        }
        tx.send(()).unwrap();
        ws.next().await.unwrap().unwrap()
    });
    let mut raw = raw_client(&url).await;
    let frame = masked(0x82, &(0..100_000u32).map(|i| i as u8).collect::<Vec<_>>());
    raw.0.write_all(&frame[..50_000]).await.unwrap();
    rx.await.unwrap();
    raw.0.write_all(&frame[50_000..]).await.unwrap();
    let m = tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(
        m,
        Message::binary((0..100_000u32).map(|i| i as u8).collect::<Vec<_>>())
    );
}

#[tokio::test]
async fn sending_waits_when_the_peer_does_not_read() {
    let (l, url) = listener().await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let mut ws = accept_with(tcp, Config::default(), |_| Ok(Accept::new()))
            .await
            .unwrap();
        // Read nothing until told to.
        rx.await.unwrap();
        while let Some(Ok(_)) = ws.next().await {}
    });
    let options = Config::default().write_buffer_size(64 << 10);
    let (mut ws, _) = connect_with(ClientRequest::new(&url).unwrap(), options)
        .await
        .unwrap();
    let payload = Bytes::from(vec![0u8; 16 << 10]);
    let mut sent = 0usize;
    // Feed until the sink stops accepting: the socket buffers fill, then the queue.
    while let Ok(fed) = tokio::time::timeout(
        Duration::from_millis(300),
        ws.feed(Message::Binary(payload.clone())),
    )
    .await
    {
        fed.unwrap();
        sent += 1;
        assert!(
            ws.connection().pending_output() < (64 << 10) + (17 << 10),
            "the queue stays bounded"
        );
        assert!(sent < 100_000, "never blocked");
    }
    assert!(ws.connection().pending_output() >= 64 << 10);
    tx.send(()).unwrap();
    tokio::time::timeout(LIMIT, ws.send(Message::text("after")))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn split_halves_work_from_different_tasks() {
    let url = echo_server(Config::default()).await;
    let (ws, _) = connect(&url).await.unwrap();
    let (mut stream, mut sink) = ws.split();
    let writer = tokio::spawn(async move {
        for i in 0..1000u32 {
            sink.feed(Message::text(i.to_string())).await.unwrap();
        }
        sink.flush().await.unwrap();
        sink.close(rfc6455::CloseCode::NORMAL, "").await.unwrap();
    });
    let reader = tokio::spawn(async move {
        let mut next = 0u32;
        let mut closed = None;
        while let Some(m) = stream.next().await {
            match m.unwrap() {
                Message::Text(t) => {
                    assert_eq!(t, next.to_string().as_str());
                    next += 1;
                }
                Message::Close(c) => closed = c,
                other => panic!("unexpected {other:?}"),
            }
        }
        (next, closed)
    });
    tokio::time::timeout(LIMIT, writer).await.unwrap().unwrap();
    let (count, closed) = tokio::time::timeout(LIMIT, reader).await.unwrap().unwrap();
    assert_eq!(count, 1000);
    assert_eq!(closed.map(|c| c.code), Some(CloseCode::NORMAL));
}

/// A transport keeps one write waker. A split writer waits for room; the
/// reader, polled meanwhile, finds the transport full too and waits on it
/// with its own task's waker, then is not polled again (its task awaits
/// something else). When the peer reads, the writer must still be woken.
#[tokio::test]
async fn a_sender_waiting_for_room_is_woken_after_the_reader_waited_on_the_transport() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Wake, Waker};

    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let (near, mut far) = tokio::io::duplex(64 << 10);
    let conn = rfc6455::Connection::new(rfc6455::Role::Server, Config::default());
    let ws = WebSocketStream::from_parts(near, conn, bytes::BytesMut::new(), None);
    let (mut reader, mut writer) = ws.split();

    let woken = Arc::new(Flag(AtomicBool::new(false)));
    let sender_waker = Waker::from(Arc::clone(&woken));
    let mut send = std::pin::pin!(writer.send(Message::binary(vec![7u8; 1 << 20])));
    let polled = send.as_mut().poll(&mut Context::from_waker(&sender_waker));
    assert!(polled.is_pending(), "the pipe holds 64 KiB of 1 MiB");
    let read = reader.poll_next_unpin(&mut Context::from_waker(Waker::noop()));
    assert!(read.is_pending());

    let mut room = vec![0u8; 64 << 10];
    far.read_exact(&mut room).await.unwrap();
    assert!(
        woken.0.load(Ordering::SeqCst),
        "the waiting sender was not woken when the transport had room"
    );
}

/// With `echo_close` off, a split server answers the client's close from
/// its writer's task: the reader, waiting in another task, is woken to
/// close the transport (the server closes first, §7.1.1). Both close
/// timeouts are far beyond the test's bound, so only that wake ends it.
#[tokio::test]
async fn a_close_answered_by_a_split_writer_lets_the_reader_close_the_transport() {
    let long = Duration::from_secs(3600);
    let (l, url) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = l.accept().await.unwrap();
        let config = Config::default().echo_close(false).close_timeout(long);
        let ws = accept_with(tcp, config, |_| Ok(Accept::new()))
            .await
            .unwrap();
        let (mut reader, mut writer) = ws.split();
        let (received, answer) = tokio::sync::oneshot::channel();
        let answering = tokio::spawn(async move {
            let frame: Option<CloseFrame> = answer.await.unwrap();
            assert_eq!(frame.map(|f| f.code), Some(CloseCode::from(4000)));
            writer.close(CloseCode::from(4001), "reply").await.unwrap();
        });
        let mut received = Some(received);
        while let Some(m) = reader.next().await {
            if let Message::Close(frame) = m.unwrap() {
                received.take().unwrap().send(frame).unwrap();
            }
        }
        answering.await.unwrap();
    });
    let request = ClientRequest::new(&url).unwrap();
    let (mut ws, _) = connect_with(request, Config::default().close_timeout(long))
        .await
        .unwrap();
    tokio::time::timeout(LIMIT, ws.close(CloseCode::from(4000), "bye"))
        .await
        .expect("the server closed the transport")
        .unwrap();
    assert_eq!(
        ws.connection().peer_close().flatten().map(|f| f.code),
        Some(CloseCode::from(4001))
    );
    tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
}

/// An application's refusal with fields and a JSON body reaches the tokio
/// client whole; a body over the client's limit is cut there and marked.
#[tokio::test]
async fn a_refusal_with_a_body_reaches_the_client() {
    const DENIED: &str = r#"{"error":"invalid_token"}"#;
    let (l, url) = listener().await;
    let server = tokio::spawn(async move {
        let mut errors = Vec::new();
        for _ in 0..3 {
            let (tcp, _) = l.accept().await.unwrap();
            let result = accept_with(tcp, Config::default(), |request| {
                if request.bearer_token() == Some("let-me-in") {
                    return Ok(Accept::new());
                }
                Err(match request.query_param("size") {
                    Some(size) => Refusal::new(413).body(vec![b'z'; size.parse().unwrap()]),
                    None => Refusal::new(401)
                        .header("WWW-Authenticate", "Bearer")
                        .json(DENIED),
                })
            })
            .await;
            errors.push(result.err().and_then(|e| e.handshake().cloned()));
        }
        errors
    });

    let err = connect(&url).await.unwrap_err();
    assert_eq!(err.close_code(), None);
    let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.headers.get("WWW-Authenticate"), Some("Bearer"));
    assert_eq!(
        refused.headers.get("Content-Type"),
        Some("application/json")
    );
    assert_eq!(
        (refused.body_text(), refused.truncated),
        (Some(DENIED), false)
    );

    // 20 000 bytes against a 1 000-byte limit: cut and marked.
    let request = ClientRequest::new(&format!("{url}?size=20000")).unwrap();
    let config = Config::default().max_refusal_body(1000);
    let err = connect_with(request, config).await.unwrap_err();
    let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
    assert_eq!(refused.status, 413);
    assert_eq!(refused.headers.get("Content-Length"), Some("20000"));
    assert_eq!((refused.body.len(), refused.truncated), (1000, true));

    // Exactly at the limit: whole.
    let request = ClientRequest::new(&format!("{url}?size=1000")).unwrap();
    let err = connect_with(request, Config::default().max_refusal_body(1000))
        .await
        .unwrap_err();
    let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
    assert_eq!((refused.body.len(), refused.truncated), (1000, false));

    let errors = tokio::time::timeout(LIMIT, server).await.unwrap().unwrap();
    assert_eq!(
        errors,
        [
            Some(HandshakeError::Rejected(401)),
            Some(HandshakeError::Rejected(413)),
            Some(HandshakeError::Rejected(413)),
        ]
    );
}

/// A refusal from a server that frames its body by closing the connection,
/// or in chunks: the client reads it to the end, within the deadline.
#[tokio::test]
async fn refusal_bodies_delimited_by_close_or_chunked() {
    for (answer, body, close) in [
        (
            &b"HTTP/1.1 403 Forbidden\r\n\r\ngo away"[..],
            &b"go away"[..],
            true,
        ),
        (
            b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n\
              3\r\ngo \r\n4;ext=1\r\naway\r\n0\r\n\r\n",
            b"go away",
            false,
        ),
    ] {
        let (l, url) = listener().await;
        tokio::spawn(async move {
            let (mut tcp, _) = l.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = tcp.read(&mut request).await.unwrap();
            tcp.write_all(answer).await.unwrap();
            // The chunked answer is complete without a close: keep the
            // connection open until the client goes. The other ends at the
            // close.
            if !close {
                let _ = tcp.read(&mut request).await;
            }
        });
        let err = tokio::time::timeout(LIMIT, connect(&url))
            .await
            .unwrap()
            .unwrap_err();
        let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
        assert_eq!((refused.status, &refused.body[..]), (403, body));
        assert!(!refused.truncated);
    }
}

/// A refusal head whose body never comes: the handshake timeout ends the
/// wait, and the refusal is reported with what arrived, marked truncated.
#[tokio::test]
async fn a_stalled_refusal_body_is_cut_at_the_deadline() {
    let (l, url) = listener().await;
    tokio::spawn(async move {
        let (mut tcp, _) = l.accept().await.unwrap();
        let mut request = [0u8; 1024];
        let _ = tcp.read(&mut request).await.unwrap();
        tcp.write_all(b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 100\r\n\r\nslow")
            .await
            .unwrap();
        let _ = tcp.read(&mut request).await;
    });
    let config = Config::default().handshake_timeout(Duration::from_millis(300));
    let err = tokio::time::timeout(
        LIMIT,
        connect_with(ClientRequest::new(&url).unwrap(), config),
    )
    .await
    .unwrap()
    .unwrap_err();
    let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
    assert_eq!((refused.status, &refused.body[..]), (429, &b"slow"[..]));
    assert!(refused.truncated);
}

/// Nothing listens: the failure is connecting, not a closed WebSocket.
#[tokio::test]
async fn a_refused_connection_is_a_connect_error_without_close_code() {
    let (l, url) = listener().await;
    drop(l);
    let err = connect(&url).await.unwrap_err();
    assert!(
        matches!(&err, StreamError::Connect(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{err:?}"
    );
    assert_eq!(err.close_code(), None);
}
