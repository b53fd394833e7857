//! The rules on a structured request head, without HTTP/1.1 bytes: the
//! extended CONNECT of RFC 8441, and the answers of both flavours.

use super::*;
use alloc::borrow::ToOwned;
use alloc::vec;

fn fields(pairs: &[(&str, &str)]) -> Headers {
    Headers::from_fields(pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
}

/// An RFC 8441 §5 request as an HTTP/2 library hands it over.
fn connect(extra: &[(&str, &str)]) -> RequestHead {
    let mut pairs = vec![("sec-websocket-version", "13")];
    pairs.extend_from_slice(extra);
    RequestHead {
        method: Method::Connect,
        target: "/chat?room=1".to_owned(),
        version: HttpVersion::Http2,
        scheme: Some("https".to_owned()),
        authority: Some("server.example.com".to_owned()),
        protocol: Some("websocket".to_owned()),
        headers: fields(&pairs),
    }
}

fn validate(head: RequestHead) -> Result<HandshakeRequest, HandshakeError> {
    HandshakeRequest::from_extended_connect(head, &ExtensionConfig::default())
}

#[test]
fn extended_connect_is_accepted_with_200_and_no_upgrade_fields() {
    let req = validate(connect(&[
        ("sec-websocket-protocol", "chat, superchat"),
        ("origin", "https://example.com"),
    ]))
    .unwrap();
    assert!(req.is_extended_connect());
    assert_eq!(req.key(), None);
    assert_eq!(req.host(), "server.example.com");
    assert_eq!(req.target(), "/chat?room=1");
    assert_eq!((req.path(), req.query()), ("/chat", Some("room=1")));
    assert_eq!(req.query_param("room").as_deref(), Some("1"));
    assert_eq!(req.protocols(), ["chat", "superchat"]);
    assert_eq!(req.check_origin(&["https://example.com"]), Ok(()));
    let accepted = req
        .accept(Accept::new().protocol("chat").header("Set-Cookie", "a=b"))
        .unwrap();
    assert_eq!(accepted.response.status, 200);
    assert_eq!(
        accepted.response.headers,
        [
            ("Sec-WebSocket-Protocol".to_owned(), "chat".to_owned()),
            ("Set-Cookie".to_owned(), "a=b".to_owned()),
        ]
    );
    for absent in ["Upgrade", "Connection", "Sec-WebSocket-Accept"] {
        assert_eq!(accepted.response.header(absent), None, "{absent}");
    }
}

#[test]
fn extended_connect_ignores_a_key() {
    let req = validate(connect(&[("sec-websocket-key", "not even base64")])).unwrap();
    assert_eq!(req.key(), None);
    let accepted = req.accept(Accept::new()).unwrap();
    assert_eq!(accepted.response.header("Sec-WebSocket-Accept"), None);
}

#[test]
fn extended_connect_refusals_in_order() {
    use HandshakeError::*;
    type Case = (fn(&mut RequestHead), HandshakeError, u16);
    let cases: [Case; 10] = [
        (|h| h.method = Method::Get, MethodNotAllowed, 405),
        (
            |h| h.version = HttpVersion::Http11,
            UnsupportedHttpVersion,
            505,
        ),
        (|h| h.protocol = None, MissingUpgrade, 400),
        (
            |h| h.protocol = Some("chat".to_owned()),
            MissingUpgrade,
            400,
        ),
        (|h| h.scheme = None, MalformedRequest, 400),
        (|h| h.authority = None, MalformedRequest, 400),
        (|h| h.target = "*".to_owned(), MalformedRequest, 400),
        (|h| h.authority = Some("a b".to_owned()), InvalidHost, 400),
        (
            |h| h.headers = fields(&[("sec-websocket-version", "8")]),
            UnsupportedVersion,
            426,
        ),
        (
            |h| {
                h.headers = fields(&[
                    ("sec-websocket-version", "13"),
                    ("sec-websocket-protocol", "a b"),
                ])
            },
            InvalidHeader("Sec-WebSocket-Protocol"),
            400,
        ),
    ];
    for (change, error, status) in cases {
        let mut head = connect(&[]);
        change(&mut head);
        let e = validate(head).unwrap_err();
        assert_eq!((&e, e.status()), (&error, Some(status)));
    }
    // The method is checked before everything else.
    let mut head = connect(&[]);
    head.method = Method::Other;
    head.version = HttpVersion::Other;
    head.protocol = None;
    assert_eq!(validate(head).unwrap_err(), MethodNotAllowed);
}

#[test]
fn an_upgrade_head_is_not_an_extended_connect() {
    // The same head through the HTTP/1.1 rules: CONNECT is not GET.
    let e = HandshakeRequest::from_upgrade(connect(&[]), &ExtensionConfig::default());
    assert_eq!(e.unwrap_err(), HandshakeError::MethodNotAllowed);
    let mut head = connect(&[
        ("host", "server.example.com"),
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ]);
    head.method = Method::Get;
    head.version = HttpVersion::Http11;
    let req = HandshakeRequest::from_upgrade(head, &ExtensionConfig::default()).unwrap();
    assert!(!req.is_extended_connect());
    let accepted = req.accept(Accept::new()).unwrap();
    assert_eq!(accepted.response.status, 101);
    assert_eq!(
        accepted.response.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
}
