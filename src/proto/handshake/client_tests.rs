use super::*;
use crate::proto::handshake::{Accept, ServerHandshake, UrlError};
use alloc::format;
use proptest::prelude::*;

const NONCE: [u8; 16] = *b"the sample nonce";

/// The sample response of RFC 6455 §1.2.
const RFC_RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

fn client(url: &str) -> ClientRequest {
    ClientRequest::new(url).unwrap().key(NONCE)
}

fn handshake(req: ClientRequest) -> ClientHandshake {
    req.build(&Config::default()).unwrap().1
}

fn respond(
    req: ClientRequest,
    response: &str,
) -> Result<Option<HandshakeResponse>, HandshakeError> {
    handshake(req).parse(&mut BytesMut::from(response.as_bytes()))
}

fn chat() -> ClientRequest {
    client("ws://server.example.com/chat")
        .protocol("chat")
        .protocol("superchat")
}

#[test]
fn rfc_sample_request() {
    let (bytes, hs) = chat()
        .header("Origin", "http://example.com")
        .build(&Config::default())
        .unwrap();
    assert_eq!(
        core::str::from_utf8(&bytes).unwrap(),
        "GET /chat HTTP/1.1\r\n\
         Host: server.example.com\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         Origin: http://example.com\r\n\r\n"
    );
    assert_eq!(
        hs.expected_accept().unwrap(),
        &"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn rfc_sample_response() {
    let resp = respond(chat(), RFC_RESPONSE).unwrap().unwrap();
    assert_eq!(resp.status, 101);
    assert_eq!(resp.protocol.as_deref(), Some("chat"));
    assert_eq!(
        resp.headers.get("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(resp.negotiated.rsv_bits(), 0);
    let conn = resp.into_connection(Config::default());
    assert!(format!("{conn:?}").contains("Client"));
}

#[test]
fn leftover_bytes_and_byte_at_a_time() {
    let mut hs = handshake(chat());
    let mut input = RFC_RESPONSE.as_bytes().to_vec();
    input.extend_from_slice(b"\x81\x05Hello");
    let mut buf = BytesMut::new();
    let mut done = None;
    for (i, b) in input.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        if let Some(r) = hs.parse(&mut buf).unwrap() {
            assert_eq!(i + 1, RFC_RESPONSE.len());
            done = Some(r);
            break;
        }
    }
    assert_eq!(done.unwrap().protocol.as_deref(), Some("chat"));
    buf.extend_from_slice(&input[RFC_RESPONSE.len()..]);
    assert_eq!(&buf[..], b"\x81\x05Hello");
    // All at once: the same leftover.
    let mut buf = BytesMut::from(&input[..]);
    assert!(handshake(chat()).parse(&mut buf).unwrap().is_some());
    assert_eq!(&buf[..], b"\x81\x05Hello");
}

#[test]
fn random_keys_differ() {
    let a = ClientRequest::new("ws://h")
        .unwrap()
        .build(&Config::default())
        .unwrap();
    let b = ClientRequest::new("ws://h")
        .unwrap()
        .build(&Config::default())
        .unwrap();
    assert_ne!(a.0, b.0);
    assert_ne!(a.1.expected_accept(), b.1.expected_accept());
}

#[test]
fn request_line_and_host() {
    let (bytes, _) = client("wss://Example.com:8443/a/b?c=d")
        .build(&Config::default())
        .unwrap();
    assert!(bytes.starts_with(b"GET /a/b?c=d HTTP/1.1\r\nHost: Example.com:8443\r\n"));
    let req = client("http://[::1]?x");
    assert_eq!(
        (req.host(), req.port(), req.is_tls(), req.resource()),
        ("::1", 80, false, "/?x")
    );
    let (bytes, _) = req.build(&Config::default()).unwrap();
    assert!(bytes.starts_with(b"GET /?x HTTP/1.1\r\nHost: [::1]\r\n"));
    let req = client("wss://example.com:443");
    assert_eq!((req.port(), req.is_tls()), (443, true));
    let (bytes, _) = req.build(&Config::default()).unwrap();
    assert!(bytes.starts_with(b"GET / HTTP/1.1\r\nHost: example.com\r\n"));
}

#[test]
fn invalid_urls() {
    for (url, e) in [
        ("ftp://h", UrlError::Scheme),
        ("ws://", UrlError::MissingHost),
        ("ws://user@h", UrlError::Userinfo),
        ("ws://h/#x", UrlError::Fragment),
        ("ws://h:70000", UrlError::InvalidPort),
    ] {
        assert_eq!(
            ClientRequest::new(url).unwrap_err(),
            HandshakeError::InvalidUrl(e),
            "{url}"
        );
    }
}

#[test]
fn invalid_things_to_send() {
    for req in [
        client("ws://h").protocol("a b"),
        client("ws://h").protocol(""),
        client("ws://h").protocol("a").protocol("a"),
        client("ws://h").header("X", "a\r\nInjected: yes"),
        client("ws://h").header("X", "a\nb"),
        client("ws://h").header("Bad:Name", "a"),
        client("ws://h").header("host", "other"),
        client("ws://h").header("Sec-WebSocket-Key", "x"),
    ] {
        assert_eq!(
            req.build(&Config::default()).unwrap_err(),
            HandshakeError::InvalidHeaderToSend
        );
    }
}

#[test]
fn non_101_status() {
    let e = respond(
        chat(),
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    )
    .unwrap_err();
    assert_eq!(e.status(), None);
    let refused = e.refused().unwrap();
    assert_eq!((refused.status, refused.headers.len()), (403, 1));
    assert!(refused.body.is_empty() && !refused.truncated);
    // A 200 with no framing: its body runs to the end of the connection.
    let mut hs = handshake(chat());
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\n\r\nhello"[..]);
    assert!(hs.parse(&mut buf).unwrap().is_none());
    let e = hs.receive_eof(&mut buf).unwrap_err();
    assert_eq!(
        e.refused().map(|r| (r.status, &r.body[..])),
        Some((200, &b"hello"[..]))
    );
}

#[test]
fn response_header_checks() {
    use HandshakeError::*;
    let with = |from: &str, to: &str| respond(chat(), &RFC_RESPONSE.replace(from, to));
    assert_eq!(
        with("Upgrade: websocket\r\n", "").unwrap_err(),
        ResponseMissingUpgrade
    );
    assert_eq!(
        with("Upgrade: websocket", "Upgrade: h2c").unwrap_err(),
        ResponseMissingUpgrade
    );
    assert_eq!(
        with("Connection: Upgrade\r\n", "").unwrap_err(),
        ResponseMissingConnectionUpgrade
    );
    assert_eq!(
        with(
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOp="
        )
        .unwrap_err(),
        AcceptKeyMismatch
    );
    assert_eq!(
        with("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "").unwrap_err(),
        AcceptKeyMismatch
    );
    assert_eq!(
        with(
            "Sec-WebSocket-Protocol: chat\r\n",
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        )
        .unwrap_err(),
        AcceptKeyMismatch,
        "repeated accept"
    );
    // Case-insensitive tokens and lists are fine.
    let r = with(
        "Upgrade: websocket\r\nConnection: Upgrade",
        "upgrade: WebSocket\r\nconnection: keep-alive, UPGRADE",
    );
    assert!(r.unwrap().is_some());
    assert_eq!(
        with("HTTP/1.1 101", "HTTP/1.0 101").unwrap_err(),
        MalformedResponse
    );
    assert_eq!(
        with("Upgrade: websocket", "Up grade: websocket").unwrap_err(),
        MalformedResponse
    );
}

#[test]
fn subprotocol_checks() {
    use HandshakeError::UnofferedProtocol;
    let with = |req: ClientRequest, p: &str| {
        respond(
            req,
            &RFC_RESPONSE.replace("Sec-WebSocket-Protocol: chat", p),
        )
    };
    assert_eq!(
        with(chat(), "Sec-WebSocket-Protocol: mqtt").unwrap_err(),
        UnofferedProtocol
    );
    assert_eq!(
        with(chat(), "Sec-WebSocket-Protocol: Chat").unwrap_err(),
        UnofferedProtocol
    );
    assert_eq!(
        with(chat(), "Sec-WebSocket-Protocol: chat, superchat").unwrap_err(),
        UnofferedProtocol
    );
    assert_eq!(
        with(
            chat(),
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat"
        )
        .unwrap_err(),
        UnofferedProtocol
    );
    let superchat = with(chat(), "Sec-WebSocket-Protocol: superchat")
        .unwrap()
        .unwrap();
    assert_eq!(superchat.protocol.as_deref(), Some("superchat"));
    // None offered: any protocol in the answer is refused; none is fine.
    let plain = || client("ws://server.example.com/chat");
    assert_eq!(
        with(plain(), "Sec-WebSocket-Protocol: chat").unwrap_err(),
        UnofferedProtocol
    );
    assert_eq!(
        with(plain(), "X-Nothing: 1").unwrap().unwrap().protocol,
        None
    );
    assert_eq!(
        with(chat(), "X-Nothing: 1").unwrap().unwrap().protocol,
        None
    );
}

#[test]
fn extension_checks() {
    let with = |e: &str| {
        respond(
            chat(),
            &RFC_RESPONSE.replace("\r\n\r\n", &format!("\r\n{e}\r\n\r\n")),
        )
    };
    assert_eq!(
        with("Sec-WebSocket-Extensions: permessage-deflate").unwrap_err(),
        HandshakeError::UnofferedExtension
    );
    assert_eq!(
        with("Sec-WebSocket-Extensions: a;;").unwrap_err(),
        HandshakeError::InvalidResponseHeader("Sec-WebSocket-Extensions")
    );
    assert!(with("Sec-WebSocket-Extensions: , ").unwrap().is_some());
    let (bytes, _) = chat()
        .build(&Config::default().extensions(ExtensionConfig::new()))
        .unwrap();
    assert!(!bytes.windows(10).any(|w| w == b"Extensions"));
}

#[test]
fn response_limits() {
    let config = Config::default().max_handshake_size(RFC_RESPONSE.len() - 1);
    let (_, mut hs) = chat().build(&config).unwrap();
    let e = hs
        .parse(&mut BytesMut::from(RFC_RESPONSE.as_bytes()))
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.status()),
        (HandshakeError::ResponseTooLarge, None)
    );
    // Sticky.
    assert_eq!(hs.parse(&mut BytesMut::new()).unwrap_err(), e);
    let config = Config::default().max_headers(3);
    let (_, mut hs) = chat().build(&config).unwrap();
    let e = hs
        .parse(&mut BytesMut::from(RFC_RESPONSE.as_bytes()))
        .unwrap_err();
    assert_eq!(e, HandshakeError::ResponseTooLarge);
}

#[test]
fn round_trip_with_server() {
    let config = Config::default();
    let (request, mut hs) = client("ws://localhost:9001/echo")
        .protocol("b")
        .protocol("a")
        .build(&config)
        .unwrap();
    let mut inbound = BytesMut::from(&request[..]);
    let req = ServerHandshake::new(&config)
        .parse(&mut inbound)
        .unwrap()
        .unwrap();
    assert_eq!((req.host(), req.path()), ("localhost:9001", "/echo"));
    let chosen = req.select_protocol(&["a", "b"]).unwrap();
    let accepted = req.accept(Accept::new().protocol(chosen)).unwrap();
    let resp = hs
        .parse(&mut BytesMut::from(&accepted.response.to_bytes()[..]))
        .unwrap()
        .unwrap();
    assert_eq!(resp.protocol.as_deref(), Some("a"));
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_response(cuts in proptest::collection::vec(0..RFC_RESPONSE.len() + 4, 0..8)) {
        let mut input = RFC_RESPONSE.as_bytes().to_vec();
        input.extend_from_slice(b"rest");
        let mut cuts = cuts;
        cuts.push(input.len());
        cuts.sort_unstable();
        let mut hs = handshake(chat());
        let mut buf = BytesMut::new();
        let (mut fed, mut got) = (0, None);
        for cut in cuts {
            buf.extend_from_slice(&input[fed..cut]);
            fed = cut;
            if got.is_none() {
                got = hs.parse(&mut buf).unwrap();
            }
        }
        let got = got.unwrap();
        prop_assert_eq!(got.protocol.as_deref(), Some("chat"));
        prop_assert_eq!(&buf[..], b"rest");
    }

    #[test]
    fn arbitrary_response_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut buf = BytesMut::from(&data[..]);
        if let Err(e) = handshake(chat()).parse(&mut buf) {
            prop_assert_eq!(e.status(), None);
        }
    }

    #[test]
    fn arbitrary_urls_never_panic(url in "(ws|wss|http|ftp)?(://)?[ -~]{0,40}") {
        if let Ok(req) = ClientRequest::new(&url) {
            let (bytes, _) = req.key(NONCE).build(&Config::default()).unwrap();
            // The request line never splits: no CR/LF/space smuggled in.
            let first_line = bytes.split(|&b| b == b'\n').next().unwrap();
            prop_assert_eq!(first_line.iter().filter(|&&b| b == b' ').count(), 2);
        }
    }
}
