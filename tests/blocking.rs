//! The blocking adapter over real loopback sockets: echo of every length
//! encoding, fragments, pings, both close directions, failures with their
//! close codes, handshake refusals and timeouts, and the split halves used
//! from two threads at once.
//!
//! Nothing here sleeps to synchronise: threads meet through joins, channels
//! and barriers; timeouts are only upper bounds against hangs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use rfc6455::Config;
use rfc6455::blocking::{self, WebSocket};
use rfc6455::handshake::{Accept, ClientRequest, HandshakeError, Refusal};
use rfc6455::{CloseCode, DataKind, Error, Message, StreamError};

/// Upper bound on anything a test waits for.
const LIMIT: Duration = Duration::from_secs(20);

/// Runs `f` on another thread and returns its result, failing the test if it
/// takes longer than `LIMIT`.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(LIMIT).expect("timed out or panicked")
}

/// A listener on an ephemeral port and a thread running `f` on the first
/// connection it accepts.
fn serve<T: Send + 'static>(
    f: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (SocketAddr, thread::JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        f(stream)
    });
    (addr, handle)
}

/// Echoes data messages until the connection ends; returns how it ended
/// and the close frame the peer sent, if any.
fn echo(mut ws: WebSocket<TcpStream>) -> (StreamError, Option<Message>) {
    let mut close = None;
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m).unwrap(),
            Ok(m @ Message::Close(_)) => close = Some(m),
            Ok(_) => {}
            Err(e) => return (e, close),
        }
    }
}

fn echo_server() -> (
    SocketAddr,
    thread::JoinHandle<(StreamError, Option<Message>)>,
) {
    serve(|s| echo(blocking::accept(s).unwrap()))
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/")
}

fn close_code(m: &Message) -> Option<u16> {
    match m {
        Message::Close(Some(f)) => Some(f.code.as_u16()),
        _ => None,
    }
}

/// Reads until the peer closes; asserts it ends as `Closed`.
fn drain_to_closed<S: blocking::Transport>(ws: &mut WebSocket<S>) -> Vec<Message> {
    let mut seen = Vec::new();
    loop {
        match ws.read() {
            Ok(m) => seen.push(m),
            Err(StreamError::Closed) => return seen,
            Err(e) => panic!("expected a clean close, got {e:?}"),
        }
    }
}

#[test]
fn echoes_every_length_encoding_text_and_binary() {
    within(|| {
        let (addr, server) = echo_server();
        let (mut ws, _) = blocking::connect(&url(addr)).unwrap();
        for size in [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20] {
            let text: String = (0..size)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            ws.send(Message::text(text.clone())).unwrap();
            match ws.read().unwrap() {
                Message::Text(t) => assert!(t.as_str() == text, "text of {size} bytes"),
                other => panic!("expected text, got {other:?}"),
            }
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            ws.send(Message::binary(bytes.clone())).unwrap();
            match ws.read().unwrap() {
                Message::Binary(b) => assert!(b[..] == bytes[..], "binary of {size} bytes"),
                other => panic!("expected binary, got {other:?}"),
            }
        }
        ws.close(CloseCode::NORMAL, "done").unwrap();
        let seen = drain_to_closed(&mut ws);
        assert_eq!(
            seen.iter().map(close_code).collect::<Vec<_>>(),
            [Some(1000)]
        );
        let (end, close) = server.join().unwrap();
        assert!(matches!(end, StreamError::Closed), "{end:?}");
        assert_eq!(close.as_ref().and_then(close_code), Some(1000));
    });
}

#[test]
fn fragments_sent_through_the_connection_are_reassembled() {
    within(|| {
        let (addr, server) = echo_server();
        let (mut ws, _) = blocking::connect(&url(addr)).unwrap();
        let conn = ws.connection_mut();
        conn.send_fragment(DataKind::Text, "Hel", false).unwrap();
        conn.send_ping("in between").unwrap();
        conn.send_fragment(DataKind::Text, "lo, ", false).unwrap();
        conn.send_fragment(DataKind::Text, "wörld", true).unwrap();
        conn.send_fragment(DataKind::Binary, vec![1u8, 2], false)
            .unwrap();
        conn.send_fragment(DataKind::Binary, vec![3u8], true)
            .unwrap();
        ws.flush().unwrap();
        assert_eq!(ws.read().unwrap(), Message::Pong("in between".into()));
        assert_eq!(ws.read().unwrap(), Message::text("Hello, wörld"));
        assert_eq!(ws.read().unwrap(), Message::binary(vec![1u8, 2, 3]));
        ws.close(CloseCode::NORMAL, "").unwrap();
        drain_to_closed(&mut ws);
        server.join().unwrap();
    });
}

#[test]
fn ping_is_answered_and_delivered() {
    within(|| {
        let (addr, server) = serve(|s| {
            let mut ws = blocking::accept(s).unwrap();
            let first = ws.read().unwrap();
            let rest = drain_to_closed(&mut ws);
            (first, rest)
        });
        let (mut ws, _) = blocking::connect(&url(addr)).unwrap();
        ws.send(Message::Ping("are you there".into())).unwrap();
        assert_eq!(ws.read().unwrap(), Message::Pong("are you there".into()));
        ws.close(CloseCode::NORMAL, "").unwrap();
        drain_to_closed(&mut ws);
        let (first, rest) = server.join().unwrap();
        assert_eq!(first, Message::Ping("are you there".into()));
        assert_eq!(
            rest.iter().map(close_code).collect::<Vec<_>>(),
            [Some(1000)]
        );
    });
}

#[test]
fn client_initiated_close_reaches_the_server_with_its_code() {
    within(|| {
        let (addr, server) = echo_server();
        let (mut ws, _) = blocking::connect(&url(addr)).unwrap();
        ws.close(CloseCode::new(4001), "client leaves").unwrap();
        let seen = drain_to_closed(&mut ws);
        assert_eq!(
            seen.iter().map(close_code).collect::<Vec<_>>(),
            [Some(4001)]
        );
        // Nothing may be sent after the close.
        let after = ws.send(Message::text("late"));
        assert!(
            matches!(after, Err(StreamError::Protocol(Error::SendAfterClose))),
            "{after:?}"
        );
        let (end, close) = server.join().unwrap();
        assert!(matches!(end, StreamError::Closed), "{end:?}");
        match close {
            Some(Message::Close(Some(f))) => {
                assert_eq!(f.code.as_u16(), 4001);
                assert_eq!(f.reason.as_str(), "client leaves");
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn server_initiated_close_reaches_the_client_with_its_code() {
    within(|| {
        let (addr, server) = serve(|s| {
            let mut ws = blocking::accept(s).unwrap();
            assert_eq!(ws.read().unwrap(), Message::text("close me"));
            ws.close(CloseCode::GOING_AWAY, "shutting down").unwrap();
            drain_to_closed(&mut ws)
        });
        let (mut ws, _) = blocking::connect(&url(addr)).unwrap();
        ws.send(Message::text("close me")).unwrap();
        match ws.read().unwrap() {
            Message::Close(Some(f)) => {
                assert_eq!(f.code, CloseCode::GOING_AWAY);
                assert_eq!(f.reason.as_str(), "shutting down");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(ws.read(), Err(StreamError::Closed)));
        assert!(matches!(ws.read(), Err(StreamError::Closed)));
        let seen = server.join().unwrap();
        assert_eq!(
            seen.iter().map(close_code).collect::<Vec<_>>(),
            [Some(1001)]
        );
    });
}

/// A server that starts the close handshake and, once the client's close
/// frame has arrived, resets the TCP connection instead of closing it
/// gracefully (it closes its socket with the echo unread, which makes the
/// kernel send a RST), as Autobahn|Testsuite's fuzzing server does.
fn resetting_server() -> (SocketAddr, thread::JoinHandle<()>) {
    serve(|s| {
        let mut ws = blocking::accept(s).unwrap();
        ws.close(CloseCode::NORMAL, "").unwrap();
        let (stream, ..) = ws.into_parts();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut echo = [0u8; 1];
        assert_eq!(stream.peek(&mut echo).unwrap(), 1, "the client's close");
        drop(stream);
    })
}

#[test]
fn server_resetting_after_the_close_handshake_is_a_clean_close() {
    within(|| {
        let (addr, server) = resetting_server();
        let (mut ws, _) = blocking::connect(&url(addr)).unwrap();
        assert_eq!(close_code(&ws.read().unwrap()), Some(1000));
        server.join().unwrap();
        // The client waits for the server to end the transport (§7.1.1);
        // a reset then is that end, not a transport error.
        match ws.read() {
            Err(StreamError::Closed) => {}
            other => panic!("expected a clean close, got {other:?}"),
        }
        assert!(ws.connection().failure().is_none());
    });
}

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A raw TCP client that performed the handshake itself.
fn raw_client(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(REQUEST.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// A masked frame with an all-zero key (payload bytes unchanged).
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    f.extend_from_slice(payload);
    f
}

fn server_result() -> (SocketAddr, thread::JoinHandle<StreamError>) {
    serve(|s| echo(blocking::accept(s).unwrap()).0)
}

#[test]
fn peer_vanishing_mid_message_is_an_abnormal_closure() {
    within(|| {
        let (addr, server) = server_result();
        let mut raw = raw_client(addr);
        // A masked binary frame announcing 100 bytes, of which 50 arrive.
        let mut frame = vec![0x82, 0x80 | 100, 1, 2, 3, 4];
        frame.extend_from_slice(&[0u8; 50]);
        raw.write_all(&frame).unwrap();
        drop(raw);
        let end = server.join().unwrap();
        assert!(
            matches!(end, StreamError::Protocol(Error::AbnormalClosure)),
            "{end:?}"
        );
        assert_eq!(end.close_code(), Some(CloseCode::ABNORMAL));
    });
}

#[test]
fn client_sees_abnormal_closure_when_server_vanishes() {
    within(|| {
        let (addr, server) = serve(|s| {
            let ws = blocking::accept(s).unwrap();
            drop(ws);
        });
        let (mut ws, _) = blocking::connect(&url(addr)).unwrap();
        server.join().unwrap();
        let end = ws.read().unwrap_err();
        assert!(
            matches!(end, StreamError::Protocol(Error::AbnormalClosure)),
            "{end:?}"
        );
        assert!(matches!(ws.read(), Err(StreamError::Closed)));
    });
}

/// Sends `frame` from a raw client and returns what the server writes back
/// until it closes, and how the server ended.
fn violate(frame: &[u8]) -> (Vec<u8>, StreamError) {
    let (addr, server) = server_result();
    let mut raw = raw_client(addr);
    raw.write_all(frame).unwrap();
    let mut back = Vec::new();
    raw.read_to_end(&mut back).unwrap();
    (back, server.join().unwrap())
}

#[test]
fn unmasked_frame_gets_1002() {
    within(|| {
        let (back, end) = violate(b"\x81\x05Hello");
        assert_eq!(back, [0x88, 0x02, 0x03, 0xea]);
        assert!(
            matches!(end, StreamError::Protocol(Error::UnmaskedFrame)),
            "{end:?}"
        );
        assert_eq!(end.close_code(), Some(CloseCode::PROTOCOL_ERROR));
    });
}

#[test]
fn invalid_utf8_gets_1007() {
    within(|| {
        let (back, end) = violate(&masked(0x81, b"ok \xff"));
        assert_eq!(back, [0x88, 0x02, 0x03, 0xef]);
        assert!(
            matches!(end, StreamError::Protocol(Error::InvalidUtf8)),
            "{end:?}"
        );
        assert_eq!(end.close_code(), Some(CloseCode::INVALID_PAYLOAD));
    });
}

#[test]
fn ping_from_raw_client_is_answered_before_close() {
    within(|| {
        let (addr, server) = server_result();
        let mut raw = raw_client(addr);
        let mut frames = masked(0x89, b"hi");
        frames.extend(masked(0x88, b"\x03\xe8"));
        raw.write_all(&frames).unwrap();
        let mut back = Vec::new();
        raw.read_to_end(&mut back).unwrap();
        assert_eq!(back, [0x8a, 0x02, b'h', b'i', 0x88, 0x02, 0x03, 0xe8]);
        assert!(matches!(server.join().unwrap(), StreamError::Closed));
    });
}

/// Sends a raw HTTP request to a refusing server and returns its answer and
/// the server's error.
fn refused(request: Vec<u8>) -> (String, StreamError) {
    let (addr, server) = serve(|s| {
        let options = Config::default();
        blocking::accept_with(s, options, |req| {
            req.check_origin(&["http://good.example"])?;
            if req.path() == "/private" {
                return Err(Refusal::new(401));
            }
            Ok(Accept::new())
        })
        .unwrap_err()
    });
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.set_read_timeout(Some(LIMIT)).unwrap();
    // The server may answer before the whole request is written.
    let _ = raw.write_all(&request);
    let mut back = Vec::new();
    let _ = raw.read_to_end(&mut back);
    drop(raw);
    (
        String::from_utf8_lossy(&back).into_owned(),
        server.join().unwrap(),
    )
}

fn request_with(method: &str, path: &str, key: &str, version: &str, extra: &str) -> Vec<u8> {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n{extra}\r\n"
    )
    .into_bytes()
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

#[test]
fn handshake_refusals_get_their_status() {
    within(|| {
        let cases: Vec<(Vec<u8>, u16)> = vec![
            (request_with("GET", "/", "not a key", "13", ""), 400),
            (request_with("POST", "/", KEY, "13", ""), 405),
            (request_with("GET", "/", KEY, "8", ""), 426),
            (
                request_with("GET", "/", KEY, "13", "Origin: http://evil.example\r\n"),
                403,
            ),
            (request_with("GET", "/private", KEY, "13", ""), 401),
            (
                request_with(
                    "GET",
                    "/",
                    KEY,
                    "13",
                    &format!("X-Big: {}\r\n", "a".repeat(40 << 10)),
                ),
                431,
            ),
        ];
        for (request, status) in cases {
            let (answer, err) = refused(request);
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status} ")),
                "{status}: {answer:?}"
            );
            assert_eq!(
                err.handshake().and_then(HandshakeError::status),
                Some(status),
                "{err:?}"
            );
            if status == 426 {
                assert!(
                    answer.contains("Sec-WebSocket-Version: 13\r\n"),
                    "{answer:?}"
                );
            }
            if status == 405 {
                assert!(answer.contains("Allow: GET\r\n"), "{answer:?}");
            }
        }
    });
}

#[test]
fn stalled_handshake_times_out() {
    within(|| {
        let timeout = Duration::from_millis(200);
        let (addr, server) = serve(move |s| {
            let options = Config::default().handshake_timeout(Some(timeout));
            let start = Instant::now();
            let err = blocking::accept_with(s, options, |_| Ok(Accept::new())).unwrap_err();
            (err, start.elapsed())
        });
        // Connect, send nothing, and keep the socket open until the server gives up.
        let mut raw = TcpStream::connect(addr).unwrap();
        let (err, elapsed) = server.join().unwrap();
        assert!(matches!(err, StreamError::HandshakeTimeout), "{err:?}");
        assert!(elapsed >= timeout, "{elapsed:?}");
        // The server closed the connection without an answer.
        raw.set_read_timeout(Some(LIMIT)).unwrap();
        let mut back = Vec::new();
        raw.read_to_end(&mut back).unwrap();
        assert!(back.is_empty());
    });
}

#[test]
fn subprotocol_is_negotiated_and_the_adapter_owns_the_timeouts() {
    within(|| {
        let (addr, server) = serve(|s| {
            s.set_read_timeout(Some(Duration::from_secs(7))).unwrap();
            let ws = blocking::accept_with(s, Config::default(), |req| {
                Ok(match req.select_protocol(&["chat.v2", "chat"]) {
                    Some(p) => Accept::new().protocol(p),
                    None => Accept::new(),
                })
            })
            .unwrap();
            // The handshake's bounds are lifted; from now on the
            // connection's deadlines set them.
            assert_eq!(ws.get_ref().read_timeout().unwrap(), None);
            assert_eq!(ws.get_ref().write_timeout().unwrap(), None);
            let protocol = ws.protocol().map(str::to_owned);
            (protocol, echo(ws).0)
        });
        let request = ClientRequest::new(&url(addr))
            .unwrap()
            .protocol("chat")
            .protocol("chat.v2");
        let (mut ws, response) = blocking::connect_with(request, Config::default()).unwrap();
        assert_eq!(ws.protocol(), Some("chat.v2"));
        assert_eq!(response.protocol.as_deref(), Some("chat.v2"));
        assert_eq!(ws.get_ref().tcp().read_timeout().unwrap(), None);
        ws.close(CloseCode::NORMAL, "").unwrap();
        drain_to_closed(&mut ws);
        let (protocol, end) = server.join().unwrap();
        assert_eq!(protocol.as_deref(), Some("chat.v2"));
        assert!(matches!(end, StreamError::Closed));
    });
}

#[test]
fn client_reports_a_refused_handshake() {
    within(|| {
        let (addr, server) = serve(|s| {
            blocking::accept_with(s, Config::default(), |_| Err(Refusal::new(401))).unwrap_err()
        });
        let err = blocking::connect(&url(addr)).unwrap_err();
        let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
        assert_eq!(refused.status, 401);
        assert!(refused.body.is_empty() && !refused.truncated);
        assert_eq!(
            server.join().unwrap().handshake(),
            Some(&HandshakeError::Rejected(401))
        );
    });
}

/// An application's refusal with fields and a JSON body reaches the
/// blocking client whole; a body over the client's limit is cut there and
/// marked, and the server's error is the refusal's.
#[test]
fn a_refusal_with_a_body_reaches_the_client() {
    const DENIED: &str = r#"{"error":"invalid_token","hint":"send a bearer token"}"#;
    within(|| {
        for (limit, body, truncated) in [
            (8 << 10, DENIED, false),
            (DENIED.len(), DENIED, false),
            (9, &DENIED[..9], true),
            (0, "", true),
        ] {
            let (addr, server) = serve(|s| {
                blocking::accept_with(s, Config::default(), |_| {
                    Err(Refusal::new(401)
                        .header("WWW-Authenticate", "Bearer realm=\"chat\"")
                        .json(DENIED))
                })
                .unwrap_err()
            });
            let config = Config::default().max_refusal_body(limit);
            let err = blocking::connect_with(ClientRequest::new(&url(addr)).unwrap(), config)
                .unwrap_err();
            assert_eq!(err.close_code(), None);
            let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
            assert_eq!(refused.status, 401);
            assert_eq!(
                refused.headers.get("www-authenticate"),
                Some("Bearer realm=\"chat\"")
            );
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
                (Some(body), truncated),
                "limit {limit}"
            );
            assert_eq!(
                server.join().unwrap().handshake(),
                Some(&HandshakeError::Rejected(401))
            );
        }
    });
}

/// A refusal whose body runs to the end of the connection: the blocking
/// client reads it to the end.
#[test]
fn a_close_delimited_refusal_body() {
    within(|| {
        let (addr, server) = serve(|mut s| {
            let mut request = [0u8; 1024];
            let _ = s.read(&mut request).unwrap();
            s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3\r\n\r\ntry later")
                .unwrap();
        });
        let err = blocking::connect(&url(addr)).unwrap_err();
        let refused = err.handshake().and_then(HandshakeError::refused).unwrap();
        assert_eq!(refused.headers.get("retry-after"), Some("3"));
        assert_eq!(
            (refused.status, refused.body_text(), refused.truncated),
            (503, Some("try later"), false)
        );
        server.join().unwrap();
    });
}

/// Nothing listens: the failure is connecting, which has no close code.
#[test]
fn a_refused_connection_is_a_connect_error_without_close_code() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = blocking::connect(&url(addr)).unwrap_err();
    assert!(
        matches!(&err, StreamError::Connect(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{err:?}"
    );
    assert_eq!(err.close_code(), None);
    // A transport failing during a session is still an abnormal closure.
    let io = StreamError::Io(std::io::ErrorKind::ConnectionReset.into());
    assert_eq!(io.close_code(), Some(CloseCode::ABNORMAL));
}

#[test]
fn wss_needs_the_rustls_feature() {
    let result = blocking::connect("wss://127.0.0.1:1/").map(|_| ());
    if cfg!(feature = "rustls") {
        // With TLS built in, the URL is taken: nothing listens there.
        assert!(matches!(result, Err(StreamError::Connect(_))), "{result:?}");
    } else {
        assert!(
            matches!(result, Err(StreamError::TlsUnsupported)),
            "{result:?}"
        );
    }
}

#[test]
fn generic_stream_handshakes() {
    within(|| {
        let (addr, server) = serve(|s| {
            // `accept_with` works over any Read + Write; here a `&mut TcpStream`.
            let mut s = s;
            let mut ws =
                blocking::accept_with(&mut s, Config::default(), |_| Ok(Accept::new())).unwrap();
            let m = ws.read().unwrap();
            ws.send(m).unwrap();
            drain_to_closed(&mut ws)
        });
        let stream = TcpStream::connect(addr).unwrap();
        let request = ClientRequest::new(&url(addr)).unwrap();
        let (mut ws, _) = blocking::client(stream, request, Config::default()).unwrap();
        ws.send(Message::text("generic")).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text("generic"));
        ws.close(CloseCode::NORMAL, "").unwrap();
        // A generic stream cannot bound the wait for the server's EOF: the
        // close comes back, then `Closed` at once.
        let seen = drain_to_closed(&mut ws);
        assert_eq!(
            seen.iter().map(close_code).collect::<Vec<_>>(),
            [Some(1000)]
        );
        let seen = server.join().unwrap();
        assert_eq!(
            seen.iter().map(close_code).collect::<Vec<_>>(),
            [Some(1000)]
        );
    });
}

#[test]
fn split_halves_work_from_two_threads() {
    within(|| {
        const N: usize = 2000;
        let (addr, server) = echo_server();
        let (ws, _) = blocking::connect(&url(addr)).unwrap();
        let (mut reader, writer) = ws.split().unwrap();
        let ready = Arc::new(Barrier::new(2));
        let reader_ready = Arc::clone(&ready);
        let reading = thread::spawn(move || {
            reader_ready.wait();
            let mut received = Vec::new();
            loop {
                match reader.read() {
                    Ok(m) => received.push(m),
                    Err(StreamError::Closed) => return received,
                    Err(e) => panic!("reader: {e:?}"),
                }
            }
        });
        ready.wait();
        for i in 0..N {
            let message = if i % 2 == 0 {
                Message::text(format!("message {i}"))
            } else {
                Message::binary(vec![(i % 251) as u8; i % 9000])
            };
            writer.send(message).unwrap();
        }
        writer.close(CloseCode::NORMAL, "writer done").unwrap();
        let received = reading.join().unwrap();
        assert_eq!(received.len(), N + 1);
        for (i, m) in received[..N].iter().enumerate() {
            let expected = if i % 2 == 0 {
                Message::text(format!("message {i}"))
            } else {
                Message::binary(vec![(i % 251) as u8; i % 9000])
            };
            assert!(*m == expected, "message {i} out of order or altered");
        }
        assert_eq!(close_code(&received[N]), Some(1000));
        let after = writer.send(Message::text("late"));
        assert!(
            matches!(after, Err(StreamError::Protocol(Error::SendAfterClose))),
            "{after:?}"
        );
        let (end, close) = server.join().unwrap();
        assert!(matches!(end, StreamError::Closed));
        assert_eq!(close.as_ref().and_then(close_code), Some(1000));
    });
}

#[test]
fn split_server_answers_pings_while_its_writer_streams() {
    within(|| {
        const N: usize = 500;
        let (addr, server) = serve(|s| {
            let (mut reader, writer) = blocking::accept(s).unwrap().split().unwrap();
            let sending = thread::spawn(move || {
                for i in 0..N {
                    writer
                        .send(Message::binary(vec![(i % 256) as u8; 20_000]))
                        .unwrap();
                }
                writer
            });
            let mut pings = 0;
            let close = loop {
                match reader.read().unwrap() {
                    Message::Ping(_) => pings += 1,
                    m @ Message::Close(_) => break m,
                    other => panic!("{other:?}"),
                }
            };
            let writer = sending.join().unwrap();
            assert!(matches!(
                writer.send(Message::text("late")),
                Err(StreamError::Protocol(_))
            ));
            assert!(matches!(reader.read(), Err(StreamError::Closed)));
            (pings, close)
        });
        let (mut ws, _) = blocking::connect(&url(addr)).unwrap();
        let mut data = 0;
        let mut pongs: Vec<u8> = Vec::new();
        for i in 0..10u8 {
            ws.send(Message::Ping(vec![i].into())).unwrap();
        }
        // Pongs are coalesced while one is still queued (§5.5.3): every
        // pong answers a later ping than the one before, and the last ping
        // is answered.
        while data < N || pongs.last() != Some(&9) {
            match ws.read().unwrap() {
                Message::Binary(b) => {
                    assert_eq!(b.len(), 20_000);
                    assert_eq!(b[0], (data % 256) as u8);
                    data += 1;
                }
                Message::Pong(p) => {
                    assert_eq!(p.len(), 1);
                    assert!(
                        pongs.last().is_none_or(|&last| p[0] > last),
                        "{pongs:?} then {p:?}"
                    );
                    pongs.push(p[0]);
                }
                other => panic!("{other:?}"),
            }
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
        drain_to_closed(&mut ws);
        let (pings, close) = server.join().unwrap();
        assert_eq!(pings, 10);
        assert_eq!(close_code(&close), Some(1000));
    });
}
