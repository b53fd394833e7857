use super::*;
use crate::proto::handshake::Accept;
use alloc::borrow::ToOwned;
use alloc::format;
use alloc::vec::Vec;
use proptest::prelude::*;

/// The sample request of RFC 6455 §1.2.
const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// The sample response of RFC 6455 §1.2.
const RFC_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

const BASE: [(&str, &str); 5] = [
    ("Host", "example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
];

/// A request with the base headers, `replace`d (an empty value drops the
/// header) and `extra` appended.
fn request(line: &str, replace: &[(&str, &str)], extra: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!("{line}\r\n");
    for (n, v) in BASE {
        let v = replace.iter().find(|(r, _)| *r == n).map_or(v, |(_, v)| *v);
        if !v.is_empty() {
            s.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    for (n, v) in extra {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn parse_with(config: &Config, bytes: &[u8]) -> Result<Option<HandshakeRequest>, HandshakeError> {
    ServerHandshake::new(config).parse(&mut BytesMut::from(bytes))
}

fn parse(bytes: &[u8]) -> Result<HandshakeRequest, HandshakeError> {
    parse_with(&Config::default(), bytes).map(|r| r.expect("complete"))
}

fn err(replace: &[(&str, &str)], extra: &[(&str, &str)]) -> HandshakeError {
    parse(&request("GET / HTTP/1.1", replace, extra)).unwrap_err()
}

#[test]
fn rfc_sample_request_and_response() {
    let req = parse(RFC_REQUEST).unwrap();
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.host(), "server.example.com");
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.key(), Some("dGhlIHNhbXBsZSBub25jZQ=="));
    assert!(!req.is_extended_connect());
    assert_eq!(req.protocols(), ["chat", "superchat"]);
    assert!(req.extensions().is_empty());
    assert_eq!(req.headers().len(), 7);
    assert_eq!(req.headers().get("sec-websocket-version"), Some("13"));
    let accepted = req.accept(Accept::new().protocol("chat")).unwrap();
    assert_eq!(accepted.response.to_bytes(), RFC_RESPONSE);
    assert_eq!(accepted.response.status, 101);
    assert_eq!(accepted.protocol.as_deref(), Some("chat"));
    assert_eq!(accepted.negotiated.rsv_bits(), 0);
    let conn = accepted.into_connection(Config::default());
    assert!(format!("{conn:?}").contains("Server"));
}

#[test]
fn leftover_bytes_stay_in_buffer() {
    let mut buf = BytesMut::from(RFC_REQUEST);
    buf.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    let req = ServerHandshake::new(&Config::default())
        .parse(&mut buf)
        .unwrap();
    assert!(req.is_some());
    assert_eq!(&buf[..], b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
}

#[test]
fn byte_at_a_time_equals_whole() {
    let mut hs = ServerHandshake::new(&Config::default());
    let mut buf = BytesMut::new();
    let mut input = RFC_REQUEST.to_vec();
    input.extend_from_slice(b"tail");
    let mut got = None;
    for (i, b) in input.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        if let Some(r) = hs.parse(&mut buf).unwrap() {
            assert_eq!(i + 1, RFC_REQUEST.len());
            got = Some(r);
            break;
        }
    }
    let got = got.expect("complete");
    let whole = parse(RFC_REQUEST).unwrap();
    assert_eq!(format!("{got:?}"), format!("{whole:?}"));
    assert!(buf.is_empty());
}

#[test]
fn oversize_header_block_fails_at_the_limit() {
    let config = Config::default().max_handshake_size(64);
    let mut hs = ServerHandshake::new(&config);
    let mut buf = BytesMut::new();
    let input = request("GET / HTTP/1.1", &[], &[("X-Pad", &"a".repeat(100))]);
    for (i, b) in input.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        match hs.parse(&mut buf) {
            Ok(None) => assert!(i + 1 < 64),
            Err(e) => {
                assert_eq!(buf.len(), 64, "fails without buffering past the limit");
                assert_eq!(e, HandshakeError::RequestTooLarge);
                assert_eq!(e.status(), Some(431));
                // Sticky.
                assert_eq!(
                    hs.parse(&mut buf).unwrap_err(),
                    HandshakeError::RequestTooLarge
                );
                return;
            }
            Ok(Some(_)) => panic!("accepted an oversize request"),
        }
    }
    panic!("never failed");
}

#[test]
fn header_block_exactly_at_limit_is_accepted() {
    let config = Config::default().max_handshake_size(RFC_REQUEST.len());
    assert!(parse_with(&config, RFC_REQUEST).unwrap().is_some());
    let config = Config::default().max_handshake_size(RFC_REQUEST.len() - 1);
    assert_eq!(
        parse_with(&config, RFC_REQUEST).unwrap_err(),
        HandshakeError::RequestTooLarge
    );
}

#[test]
fn header_count_limit() {
    let config = Config::default().max_headers(7);
    assert!(parse_with(&config, RFC_REQUEST).unwrap().is_some());
    let config = Config::default().max_headers(6);
    let e = parse_with(&config, RFC_REQUEST).unwrap_err();
    assert_eq!(
        (e.clone(), e.status()),
        (HandshakeError::TooManyHeaders, Some(431))
    );
}

#[test]
fn method_must_be_get() {
    let e = parse(&request("POST / HTTP/1.1", &[], &[])).unwrap_err();
    assert_eq!(
        (e.clone(), e.status()),
        (HandshakeError::MethodNotAllowed, Some(405))
    );
    assert!(e.refusal().to_bytes().ends_with(b"Allow: GET\r\n\r\n"));
    // Methods are case-sensitive.
    let e = parse(&request("get / HTTP/1.1", &[], &[])).unwrap_err();
    assert_eq!(e, HandshakeError::MethodNotAllowed);
}

#[test]
fn http_version_must_be_1_1() {
    for line in ["GET / HTTP/1.0", "GET / HTTP/2.0"] {
        let e = parse(&request(line, &[], &[])).unwrap_err();
        assert_eq!(
            (e.clone(), e.status()),
            (HandshakeError::UnsupportedHttpVersion, Some(505))
        );
    }
}

#[test]
fn malformed_requests() {
    for bad in [
        &b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"[..],
        b"GET /\r\n\r\n",
        b"\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n\x00\r\n\r\n",
    ] {
        let e = parse(bad).unwrap_err();
        assert_eq!(e.status(), Some(400), "{e:?}");
    }
}

#[test]
fn host_rules() {
    use HandshakeError::InvalidHost;
    assert_eq!(err(&[("Host", "")], &[]), InvalidHost);
    assert_eq!(err(&[("Host", "a b")], &[]), InvalidHost);
    assert_eq!(err(&[("Host", "h:99999")], &[]), InvalidHost);
    assert_eq!(err(&[], &[("Host", "other")]), InvalidHost);
    assert_eq!(InvalidHost.status(), Some(400));
    let req = parse(&request("GET / HTTP/1.1", &[("Host", "[::1]:8080")], &[])).unwrap();
    assert_eq!(req.host(), "[::1]:8080");
}

#[test]
fn upgrade_and_connection_tokens() {
    use HandshakeError::*;
    assert_eq!(err(&[("Upgrade", "")], &[]), MissingUpgrade);
    assert_eq!(err(&[("Upgrade", "h2c")], &[]), MissingUpgrade);
    assert_eq!(err(&[("Upgrade", "websocket2")], &[]), MissingUpgrade);
    assert_eq!(err(&[("Connection", "")], &[]), MissingConnectionUpgrade);
    assert_eq!(
        err(&[("Connection", "keep-alive")], &[]),
        MissingConnectionUpgrade
    );
    assert_eq!(
        err(&[("Connection", "upgrades")], &[]),
        MissingConnectionUpgrade
    );
    assert_eq!(MissingUpgrade.status(), Some(400));
    assert_eq!(MissingConnectionUpgrade.status(), Some(400));
    for (upgrade, connection) in [
        ("WebSocket", "keep-alive, Upgrade"),
        ("h2c, websocket", "UPGRADE,keep-alive"),
        ("WEBSOCKET", " upgrade "),
    ] {
        let r = parse(&request(
            "GET / HTTP/1.1",
            &[("Upgrade", upgrade), ("Connection", connection)],
            &[],
        ));
        assert!(r.is_ok(), "{upgrade} / {connection}");
    }
    // Tokens split over several header lines.
    let r = parse(&request(
        "GET / HTTP/1.1",
        &[("Connection", "keep-alive")],
        &[("Connection", "Upgrade")],
    ));
    assert!(r.is_ok());
}

#[test]
fn key_rules() {
    use HandshakeError::InvalidKey;
    assert_eq!(err(&[("Sec-WebSocket-Key", "")], &[]), InvalidKey);
    assert_eq!(
        err(&[("Sec-WebSocket-Key", "dGhlIHNhbXBsZQ==")], &[]),
        InvalidKey
    );
    assert_eq!(
        err(&[("Sec-WebSocket-Key", "not base64 at all!!!!!!!")], &[]),
        InvalidKey
    );
    assert_eq!(
        err(&[], &[("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]),
        InvalidKey
    );
    assert_eq!(InvalidKey.status(), Some(400));
}

#[test]
fn version_rules() {
    use HandshakeError::UnsupportedVersion;
    for v in ["", "8", "14", "13, 8"] {
        let e = err(&[("Sec-WebSocket-Version", v)], &[]);
        assert_eq!(e, UnsupportedVersion, "{v:?}");
    }
    assert_eq!(
        err(&[], &[("Sec-WebSocket-Version", "13")]),
        UnsupportedVersion
    );
    assert_eq!(UnsupportedVersion.status(), Some(426));
    assert!(
        UnsupportedVersion
            .refusal()
            .to_bytes()
            .ends_with(b"Sec-WebSocket-Version: 13\r\n\r\n")
    );
}

#[test]
fn body_is_refused() {
    use HandshakeError::UnexpectedBody;
    assert_eq!(err(&[], &[("Content-Length", "5")]), UnexpectedBody);
    assert_eq!(
        err(&[], &[("Transfer-Encoding", "chunked")]),
        UnexpectedBody
    );
    assert!(parse(&request("GET / HTTP/1.1", &[], &[("Content-Length", "0")])).is_ok());
}

#[test]
fn protocol_header_parsing() {
    let req = parse(&request(
        "GET /x?y=1 HTTP/1.1",
        &[],
        &[
            ("Sec-WebSocket-Protocol", " a , b,,"),
            ("sec-websocket-protocol", "c"),
        ],
    ))
    .unwrap();
    assert_eq!(req.target(), "/x?y=1");
    assert_eq!((req.path(), req.query()), ("/x", Some("y=1")));
    assert_eq!(req.protocols(), ["a", "b", "c"]);
    let e = err(&[], &[("Sec-WebSocket-Protocol", "a b")]);
    assert_eq!(
        (e.clone(), e.status()),
        (
            HandshakeError::InvalidHeader("Sec-WebSocket-Protocol"),
            Some(400)
        )
    );
}

#[test]
fn extension_offers_are_parsed_and_ignored() {
    let req = parse(&request(
        "GET / HTTP/1.1",
        &[],
        &[
            (
                "Sec-WebSocket-Extensions",
                "permessage-deflate; client_max_window_bits",
            ),
            ("Sec-WebSocket-Extensions", "x-foo"),
        ],
    ))
    .unwrap();
    let names: Vec<&str> = req.extensions().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["permessage-deflate", "x-foo"]);
    let accepted = req.accept(Accept::new()).unwrap();
    let bytes = accepted.response.to_bytes();
    let text = core::str::from_utf8(&bytes).unwrap();
    assert!(!text.contains("Sec-WebSocket-Extensions"));
    let e = err(&[], &[("Sec-WebSocket-Extensions", "a;;")]);
    assert_eq!(e, HandshakeError::InvalidHeader("Sec-WebSocket-Extensions"));
}

#[test]
fn subprotocol_selection() {
    let req = parse(RFC_REQUEST).unwrap();
    assert_eq!(
        req.select_protocol(&["superchat", "chat"]),
        Some("superchat")
    );
    assert_eq!(req.select_protocol(&["Chat", "mqtt"]), None);
    assert_eq!(
        req.accept(Accept::new().protocol("mqtt")).unwrap_err(),
        HandshakeError::ProtocolNotOffered
    );
    let accepted = req.accept(Accept::new()).unwrap();
    assert_eq!(accepted.protocol, None);
    assert!(
        !accepted
            .response
            .to_bytes()
            .windows(22)
            .any(|w| w == b"Sec-WebSocket-Protocol")
    );
}

#[test]
fn extra_response_headers() {
    let req = parse(RFC_REQUEST).unwrap();
    let accepted = req
        .accept(
            Accept::new()
                .header("Set-Cookie", "id=1; HttpOnly")
                .header("X-A", ""),
        )
        .unwrap();
    assert!(
        accepted
            .response
            .to_bytes()
            .ends_with(b"Set-Cookie: id=1; HttpOnly\r\nX-A: \r\n\r\n")
    );
    for (n, v) in [
        ("X-A", "1\r\nEvil: 1"),
        ("Bad Name", "1"),
        ("sec-websocket-accept", "x"),
        ("X", "\0"),
    ] {
        assert_eq!(
            req.accept(Accept::new().header(n, v)).unwrap_err(),
            HandshakeError::InvalidHeaderToSend,
            "{n}: {v:?}"
        );
    }
}

#[test]
fn reject_responses() {
    assert_eq!(
        crate::proto::handshake::Refusal::new(404).to_bytes(),
        b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert!(
        crate::proto::handshake::Refusal::new(101)
            .to_bytes()
            .starts_with(b"HTTP/1.1 500 ")
    );
    assert_eq!(HandshakeError::Rejected(401).status(), Some(401));
}

#[test]
fn origin_checks() {
    let with_origin = |o: &str| parse(&request("GET / HTTP/1.1", &[], &[("Origin", o)])).unwrap();
    let allowed = ["https://example.com", "http://localhost:3000/"];
    for ok in [
        "https://example.com",
        "HTTPS://EXAMPLE.com",
        "https://example.com:443",
        "http://localhost:3000",
    ] {
        assert_eq!(with_origin(ok).check_origin(&allowed), Ok(()), "{ok}");
    }
    for refused in [
        "https://evil.com",
        "http://example.com",
        "https://example.com:8443",
        "https://example.com.evil.com",
        "http://localhost",
        "null",
        "https://example.com/path",
        "",
    ] {
        let e = with_origin(refused).check_origin(&allowed).unwrap_err();
        assert_eq!(
            (e.clone(), e.status()),
            (HandshakeError::OriginRefused, Some(403)),
            "{refused}"
        );
    }
    // No Origin: a non-browser client, allowed.
    assert_eq!(
        parse(&request("GET / HTTP/1.1", &[], &[]))
            .unwrap()
            .check_origin(&allowed),
        Ok(())
    );
    // Two Origins: refused.
    let two = parse(&request(
        "GET / HTTP/1.1",
        &[],
        &[
            ("Origin", "https://example.com"),
            ("Origin", "https://evil.com"),
        ],
    ))
    .unwrap();
    assert_eq!(
        two.check_origin(&allowed),
        Err(HandshakeError::OriginRefused)
    );
    // Non-UTF-8 origin: refused, not treated as absent.
    let mut raw = request("GET / HTTP/1.1", &[], &[]);
    raw.truncate(raw.len() - 2);
    raw.extend_from_slice(b"Origin: https://\xffexample.com\r\n\r\n");
    assert_eq!(
        parse(&raw).unwrap().check_origin(&allowed),
        Err(HandshakeError::OriginRefused)
    );
}

#[test]
fn lf_only_line_endings() {
    let text = core::str::from_utf8(RFC_REQUEST)
        .unwrap()
        .replace("\r\n", "\n");
    let req = parse(text.as_bytes()).unwrap();
    assert_eq!(req.protocols(), ["chat", "superchat"]);
}

#[test]
fn next_request_after_success() {
    let mut hs = ServerHandshake::new(&Config::default());
    let mut buf = BytesMut::from(RFC_REQUEST);
    buf.extend_from_slice(RFC_REQUEST);
    assert!(hs.parse(&mut buf).unwrap().is_some());
    assert_eq!(buf.len(), RFC_REQUEST.len());
    assert!(hs.parse(&mut buf).unwrap().is_some());
    assert!(buf.is_empty());
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_request(cuts in proptest::collection::vec(0..RFC_REQUEST.len() + 6, 0..8)) {
        let mut input = RFC_REQUEST.to_vec();
        input.extend_from_slice(b"frames");
        let mut cuts = cuts;
        cuts.push(input.len());
        cuts.sort_unstable();
        let mut hs = ServerHandshake::new(&Config::default());
        let mut buf = BytesMut::new();
        let mut fed = 0;
        let mut got = None;
        for cut in cuts {
            buf.extend_from_slice(&input[fed..cut]);
            fed = cut;
            if got.is_none() {
                got = hs.parse(&mut buf).unwrap();
            }
        }
        let got = got.expect("complete");
        prop_assert_eq!(format!("{:?}", got), format!("{:?}", parse(RFC_REQUEST).unwrap()));
        prop_assert_eq!(&buf[..], b"frames");
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600), limit in 1usize..700) {
        let config = Config::default().max_handshake_size(limit).max_headers(8);
        let mut buf = BytesMut::from(&data[..]);
        let before = buf.len();
        match ServerHandshake::new(&config).parse(&mut buf) {
            Ok(None) => prop_assert_eq!(buf.len(), before),
            Ok(Some(_)) => prop_assert!(before - buf.len() <= limit),
            Err(e) => prop_assert!(e.status().is_some()),
        }
    }

    #[test]
    fn arbitrary_header_lines_never_panic(lines in proptest::collection::vec("[ -~\t]{0,40}", 0..10)) {
        let mut s = "GET / HTTP/1.1\r\n".to_owned();
        for l in &lines {
            s.push_str(l);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        if let Err(e) = parse(s.as_bytes()) {
            prop_assert!(e.status().is_some());
        }
    }
}

#[test]
fn partial_request_needs_more() {
    let mut buf = BytesMut::from(&RFC_REQUEST[..RFC_REQUEST.len() - 1]);
    let mut hs = ServerHandshake::new(&Config::default());
    assert!(hs.parse(&mut buf).unwrap().is_none());
    assert_eq!(buf.len(), RFC_REQUEST.len() - 1, "nothing consumed");
}

#[test]
fn request_target_must_name_a_resource() {
    for target in ["$/chat", "chat", "*", "ftp://example.com/x", "http://"] {
        let line = format!("GET {target} HTTP/1.1");
        assert_eq!(
            parse(&request(&line, &[], &[])).unwrap_err(),
            HandshakeError::MalformedRequest,
            "{target}"
        );
    }
    for target in [
        "/",
        "/chat?room=1",
        "http://example.com/chat",
        "WSS://example.com/",
    ] {
        let line = format!("GET {target} HTTP/1.1");
        assert_eq!(parse(&request(&line, &[], &[])).unwrap().target(), target);
    }
}

#[test]
fn target_path_query_and_parameters() {
    let req = parse(&request(
        "GET /rooms/caf%C3%A9?name=J%C3%BCrgen+K&debug&bad=%E2%82&n=%zz HTTP/1.1",
        &[],
        &[],
    ))
    .unwrap();
    assert_eq!(
        req.target(),
        "/rooms/caf%C3%A9?name=J%C3%BCrgen+K&debug&bad=%E2%82&n=%zz"
    );
    assert_eq!(req.path(), "/rooms/caf%C3%A9", "the path is not decoded");
    assert_eq!(
        req.query(),
        Some("name=J%C3%BCrgen+K&debug&bad=%E2%82&n=%zz")
    );
    assert_eq!(req.query_param("name").as_deref(), Some("Jürgen K"));
    assert_eq!(req.query_param("debug").as_deref(), Some(""));
    assert_eq!(req.query_param("bad"), None, "not UTF-8 once decoded");
    assert_eq!(req.query_param("n"), None, "malformed escape");
    assert_eq!(req.query_param("missing"), None);
    let plain = parse(&request("GET /chat HTTP/1.1", &[], &[])).unwrap();
    assert_eq!((plain.path(), plain.query()), ("/chat", None));
    assert_eq!(plain.query_param("name"), None);
}

#[test]
fn header_lookup() {
    let req = parse(RFC_REQUEST).unwrap();
    assert_eq!(req.header("origin"), Some("http://example.com"));
    assert_eq!(
        req.header("SEC-WEBSOCKET-PROTOCOL"),
        Some("chat, superchat")
    );
    assert_eq!(req.header("X-Missing"), None);
}

#[test]
fn bearer_tokens() {
    let token = |values: &[&str]| {
        let extra: Vec<(&str, &str)> = values.iter().map(|v| ("Authorization", *v)).collect();
        parse(&request("GET / HTTP/1.1", &[], &extra))
            .unwrap()
            .bearer_token()
            .map(str::to_owned)
    };
    for (value, expected) in [
        ("Bearer mF_9.B5f-4.1JqM", Some("mF_9.B5f-4.1JqM")),
        ("bearer abc", Some("abc")),
        ("BEARER   a+b/c==", Some("a+b/c==")),
        ("Bearer", None),
        ("Bearer ", None),
        ("Bearer a b", None),
        ("Bearer a,b", None),
        ("Bearer \"abc\"", None),
        ("Bearer\tabc", None),
        ("Basic YWxhZGRpbjpvcGVuc2VzYW1l", None),
        ("Bearerabc", None),
    ] {
        assert_eq!(token(&[value]).as_deref(), expected, "{value:?}");
    }
    assert_eq!(token(&[]), None);
    assert_eq!(token(&["Bearer a", "Bearer b"]), None, "two are ambiguous");
    // Not valid UTF-8: no token.
    let mut raw = request("GET / HTTP/1.1", &[], &[]);
    raw.truncate(raw.len() - 2);
    raw.extend_from_slice(b"Authorization: Bearer \xff\r\n\r\n");
    assert_eq!(parse(&raw).unwrap().bearer_token(), None);
}

proptest! {
    #[test]
    fn arbitrary_targets_and_authorizations_never_panic(
        path in "/[!-~]{0,40}",
        auth in "[ -~]{0,40}",
        name in "[ -~]{0,8}",
    ) {
        let line = format!("GET {path} HTTP/1.1");
        if let Ok(req) = parse(&request(&line, &[], &[("Authorization", &auth)])) {
            let _ = req.query_param(&name);
            prop_assert!(req.path().len() <= req.target().len());
            if let Some(token) = req.bearer_token() {
                prop_assert!(!token.is_empty() && !token.contains(' '));
            }
        }
    }
}
