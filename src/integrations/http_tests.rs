//! The handshake with `http` types: the same rules as on bytes, the RFC
//! 8441 extended CONNECT, and refusals as `http::Response`s.

use super::*;

fn ws_request() -> ::http::request::Builder {
    ::http::Request::builder()
        .uri("/chat?room=1")
        .header("Host", "example.com")
        .header("Upgrade", "websocket")
        .header("Connection", "keep-alive, Upgrade")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("Sec-WebSocket-Version", "13")
}

fn status(req: ::http::Request<()>) -> u16 {
    let e = accept_request(&req, Accept::new(), &Config::default()).unwrap_err();
    refusal_response::<Bytes>(&e.refusal()).status().as_u16()
}

#[test]
fn accepts_the_rfc_request() {
    let req = ws_request()
        .header("Sec-WebSocket-Protocol", "chat, superchat")
        .header("Origin", "http://example.com")
        .body(())
        .unwrap();
    let parsed = parse_request(&req, &Config::default()).unwrap();
    assert_eq!(parsed.target(), "/chat?room=1");
    assert_eq!(parsed.protocols(), ["chat", "superchat"]);
    assert!(parsed.check_origin(&["http://example.com"]).is_ok());
    let (resp, accepted) = accept_request(
        &req,
        Accept::new()
            .protocol("superchat")
            .header("Set-Cookie", "a=b"),
        &Config::default(),
    )
    .unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    let h = resp.headers();
    assert_eq!(h["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(h["upgrade"], "websocket");
    assert_eq!(h["connection"], "Upgrade");
    assert_eq!(h["sec-websocket-protocol"], "superchat");
    assert_eq!(h["set-cookie"], "a=b");
    assert_eq!(accepted.protocol.as_deref(), Some("superchat"));
}

#[test]
fn refusals_match_the_byte_parser() {
    assert_eq!(status(ws_request().method("POST").body(()).unwrap()), 405);
    assert_eq!(
        status(ws_request().version(Version::HTTP_10).body(()).unwrap()),
        505
    );
    let bad_key = ws_request()
        .header("Sec-WebSocket-Key", "x")
        .body(())
        .unwrap();
    assert_eq!(status(bad_key), 400, "two keys");
    let mut req = ws_request().body(()).unwrap();
    req.headers_mut()
        .insert("sec-websocket-key", HeaderValue::from_static("short"));
    assert_eq!(status(req), 400);
    let mut req = ws_request().body(()).unwrap();
    req.headers_mut()
        .insert("sec-websocket-version", HeaderValue::from_static("8"));
    let e = accept_request(&req, Accept::new(), &Config::default()).unwrap_err();
    let resp = refusal_response::<Bytes>(&e.refusal());
    assert_eq!(resp.status(), 426);
    assert_eq!(resp.headers()["connection"], "close");
    assert_eq!(resp.headers()["content-length"], "0");
    assert_eq!(resp.headers()["sec-websocket-version"], "13");
    let mut req = ws_request().body(()).unwrap();
    req.headers_mut().remove("upgrade");
    assert_eq!(status(req), 400);
    let mut req = ws_request().body(()).unwrap();
    req.headers_mut().remove("host");
    assert_eq!(status(req), 400);
    let mut req = ws_request().body(()).unwrap();
    req.headers_mut()
        .insert("content-length", HeaderValue::from_static("5"));
    assert_eq!(status(req), 400);
    // Origin refused by the application: 403.
    let req = ws_request()
        .header("Origin", "https://evil.example")
        .body(())
        .unwrap();
    let parsed = parse_request(&req, &Config::default()).unwrap();
    let e = parsed.check_origin(&["https://good.example"]).unwrap_err();
    assert_eq!(refusal_response::<Bytes>(&e.refusal()).status(), 403);
    // An absolute-form target is taken as the byte parser takes it.
    let req = ws_request().uri("http://example.com/abs").body(()).unwrap();
    let parsed = parse_request(&req, &Config::default()).unwrap();
    assert_eq!(parsed.target(), "http://example.com/abs");
    assert_eq!(parsed.path(), "/abs");
}

/// The same request as HTTP/1.1 bytes and as `http` types meets the
/// same rules (one code path), refusals and acceptances alike.
#[test]
fn http_types_and_bytes_agree() {
    use crate::handshake::ServerHandshake;
    let base = [
        ("Host", "example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 9] = [
        ("GET", "/ok?x=1", &[], &[]),
        ("POST", "/", &[], &[]),
        ("GET", "/", &[], &["Host"]),
        ("GET", "/", &[], &["Upgrade"]),
        ("GET", "/", &[], &["Connection"]),
        ("GET", "/", &[], &["Sec-WebSocket-Key"]),
        (
            "GET",
            "/",
            &[("Sec-WebSocket-Version", "8")],
            &["Sec-WebSocket-Version"],
        ),
        ("GET", "/", &[("Content-Length", "3")], &[]),
        ("GET", "/", &[("Sec-WebSocket-Protocol", "a b")], &[]),
    ];
    for (method, target, extra, drop) in cases {
        let fields: alloc::vec::Vec<(&str, &str)> = base
            .iter()
            .filter(|(n, _)| !drop.contains(n))
            .chain(extra.iter())
            .copied()
            .collect();
        let mut text = alloc::format!("{method} {target} HTTP/1.1\r\n");
        let mut builder = ::http::Request::builder().method(method).uri(target);
        for (n, v) in &fields {
            text.push_str(&alloc::format!("{n}: {v}\r\n"));
            builder = builder.header(*n, *v);
        }
        text.push_str("\r\n");
        let from_bytes = ServerHandshake::new(&Config::default())
            .parse(&mut bytes::BytesMut::from(text.as_bytes()))
            .map(|r| r.map(|r| r.target().to_string()));
        let from_http = parse_request(&builder.body(()).unwrap(), &Config::default())
            .map(|r| Some(r.target().to_string()));
        assert_eq!(from_bytes, from_http, "{text}");
    }
}

#[test]
fn refusals_as_http_responses() {
    let refusal = Refusal::new(401)
        .header("WWW-Authenticate", "Bearer")
        .json(r#"{"error":"invalid_token"}"#);
    let h1: ::http::Response<Bytes> = refusal_response(&refusal);
    assert_eq!(h1.status(), 401);
    assert_eq!(h1.headers()["connection"], "close");
    assert_eq!(h1.headers()["content-length"], "25");
    assert_eq!(h1.headers()["www-authenticate"], "Bearer");
    assert_eq!(h1.headers()["content-type"], "application/json");
    assert_eq!(h1.body(), r#"{"error":"invalid_token"}"#);
    let h2: ::http::Response<Bytes> = extended_connect_refusal(&refusal);
    assert!(!h2.headers().contains_key("connection"));
    assert_eq!(h2.headers()["content-length"], "25");
    assert_eq!(h2.body(), h1.body());
    // The application's mistake: a bare 500.
    let mistake: ::http::Response<Bytes> =
        refusal_response(&Refusal::new(401).header("Content-Length", "1").body("x"));
    assert_eq!(mistake.status(), 500);
    assert_eq!(mistake.headers()["content-length"], "0");
    assert!(mistake.body().is_empty());
}

#[test]
fn header_limits_apply() {
    let req = ws_request()
        .header("x-pad", "a".repeat(20_000))
        .body(())
        .unwrap();
    let e = parse_request(&req, &Config::default()).unwrap_err();
    assert_eq!(
        (e.clone(), e.status()),
        (HandshakeError::RequestTooLarge, Some(431))
    );
    let mut builder = ws_request();
    for i in 0..80 {
        builder = builder.header(alloc::format!("x-{i}"), "v");
    }
    let req = builder.body(()).unwrap();
    let e = parse_request(&req, &Config::default()).unwrap_err();
    assert_eq!(e, HandshakeError::TooManyHeaders);
}

#[test]
fn client_round_trip() {
    let config = Config::default();
    let (req, mut hs) = client_request(
        ClientRequest::new("ws://[::1]:9001/feed?x=1")
            .unwrap()
            .protocol("v1")
            .header("Authorization", "Bearer t"),
        &config,
    )
    .unwrap();
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.uri(), "/feed?x=1");
    assert_eq!(req.headers()["host"], "[::1]:9001");
    assert_eq!(req.headers()["sec-websocket-version"], "13");
    assert_eq!(req.headers()["authorization"], "Bearer t");
    let (resp, _) = accept_request(&req, Accept::new().protocol("v1"), &Config::default()).unwrap();
    let checked = check_response(&mut hs, &resp).unwrap();
    assert_eq!(checked.protocol.as_deref(), Some("v1"));

    // A wrong accept key, and a refusal.
    let (_, mut hs) = client_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
    assert_eq!(
        check_response(&mut hs, &resp).unwrap_err(),
        HandshakeError::AcceptKeyMismatch
    );
    let (_, mut hs) = client_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
    let refused = ::http::Response::builder()
        .status(403)
        .header("x-why", "origin")
        .body(())
        .unwrap();
    let e = check_response(&mut hs, &refused).unwrap_err();
    let r = e.refused().unwrap();
    assert_eq!((r.status, r.headers.get("x-why")), (403, Some("origin")));
}

fn connect_request() -> ::http::request::Builder {
    ::http::Request::builder()
        .method(Method::CONNECT)
        .version(Version::HTTP_2)
        .uri("https://example.com/chat?x=1")
        .header("sec-websocket-version", "13")
}

fn connect_status(req: &::http::Request<()>, protocol: Option<&str>) -> u16 {
    let e = parse_extended_connect(req, protocol, &Config::default()).unwrap_err();
    let refusal = extended_connect_refusal::<Bytes>(&e.refusal());
    assert!(!refusal.headers().contains_key("connection"), "HTTP/2");
    refusal.status().as_u16()
}

#[test]
fn extended_connect_accepts() {
    let req = connect_request()
        .header("sec-websocket-protocol", "chat")
        .header("origin", "https://example.com")
        .body(())
        .unwrap();
    let parsed = parse_extended_connect(&req, Some("websocket"), &Config::default()).unwrap();
    assert_eq!(parsed.target(), "/chat?x=1");
    assert_eq!(parsed.host(), "example.com");
    assert_eq!(parsed.key(), None);
    assert!(parsed.is_extended_connect());
    assert!(parsed.check_origin(&["https://example.com"]).is_ok());
    let accepted = parsed.accept(Accept::new().protocol("chat")).unwrap();
    let resp = response(&accepted);
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
    for gone in ["upgrade", "connection", "sec-websocket-accept"] {
        assert!(!resp.headers().contains_key(gone), "{gone}");
    }
}

#[test]
fn extended_connect_refusals() {
    let req = connect_request().body(()).unwrap();
    assert_eq!(connect_status(&req, None), 400);
    assert_eq!(connect_status(&req, Some("chat")), 400);
    let req = connect_request().method(Method::GET).body(()).unwrap();
    assert_eq!(connect_status(&req, Some("websocket")), 405);
    // Over HTTP/2 the method to use instead is CONNECT, not GET.
    let e = parse_extended_connect(&req, Some("websocket"), &Config::default()).unwrap_err();
    let refusal = extended_connect_refusal::<Bytes>(&e.refusal());
    let allowed: alloc::vec::Vec<_> = refusal.headers().get_all("allow").iter().collect();
    assert_eq!(allowed, ["CONNECT"]);
    let req = connect_request()
        .version(Version::HTTP_11)
        .body(())
        .unwrap();
    assert_eq!(connect_status(&req, Some("websocket")), 505);
    let mut req = connect_request().body(()).unwrap();
    req.headers_mut()
        .insert("sec-websocket-version", HeaderValue::from_static("8"));
    assert_eq!(connect_status(&req, Some("websocket")), 426);
    let req = connect_request().uri("/no-authority").body(()).unwrap();
    assert_eq!(connect_status(&req, Some("websocket")), 400);
}

#[test]
fn extended_connect_client_round_trip() {
    let config = Config::default();
    let (req, mut hs) = extended_connect_request(
        ClientRequest::new("wss://example.com:8443/feed")
            .unwrap()
            .protocol("v2")
            .header("Origin", "https://example.com"),
        &config,
    )
    .unwrap();
    assert_eq!(req.method(), Method::CONNECT);
    assert_eq!(req.version(), Version::HTTP_2);
    assert_eq!(req.uri(), "https://example.com:8443/feed");
    for absent in ["sec-websocket-key", "host", "upgrade", "connection"] {
        assert!(!req.headers().contains_key(absent), "{absent}");
    }
    assert_eq!(hs.expected_accept(), None);
    let parsed = parse_extended_connect(&req, Some("websocket"), &config).unwrap();
    let accepted = parsed.accept(Accept::new().protocol("v2")).unwrap();
    let resp = response(&accepted);
    let checked = check_extended_connect_response(&mut hs, &resp).unwrap();
    assert_eq!(
        (checked.status, checked.protocol.as_deref()),
        (200, Some("v2"))
    );

    let (_, mut hs) =
        extended_connect_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
    let refused = ::http::Response::builder().status(400).body(()).unwrap();
    let e = check_extended_connect_response(&mut hs, &refused).unwrap_err();
    assert_eq!(e.refused().map(|r| r.status), Some(400));
    let (_, mut hs) =
        extended_connect_request(ClientRequest::new("ws://a/").unwrap(), &config).unwrap();
    let unoffered = ::http::Response::builder()
        .header("sec-websocket-protocol", "nope")
        .body(())
        .unwrap();
    assert_eq!(
        check_extended_connect_response(&mut hs, &unoffered).unwrap_err(),
        HandshakeError::UnofferedProtocol
    );
}
