//! A refused handshake as the client's sans-IO handshake reads it: byte
//! vectors for each way a body is delimited, the limit, the end of the
//! connection, and any chunking.

use super::*;
use crate::Config;
use crate::proto::handshake::{ClientHandshake, ClientRequest, HandshakeError};
use alloc::format;
use alloc::vec::Vec;
use proptest::prelude::*;

fn handshake(limit: usize) -> ClientHandshake {
    let config = Config::default().max_refusal_body(limit);
    ClientRequest::new("ws://example.com/")
        .unwrap()
        .key(*b"the sample nonce")
        .build(&config)
        .unwrap()
        .1
}

/// Feeds `input` whole; the refusal if the handshake ended with one.
fn feed(hs: &mut ClientHandshake, buf: &mut BytesMut) -> Option<RefusedResponse> {
    match hs.parse(buf) {
        Ok(None) => None,
        Err(HandshakeError::Refused(r)) => Some(*r),
        other => panic!("{other:?}"),
    }
}

fn refused(limit: usize, input: &[u8]) -> (Option<RefusedResponse>, BytesMut) {
    let mut buf = BytesMut::from(input);
    let got = feed(&mut handshake(limit), &mut buf);
    (got, buf)
}

fn body_of(r: &RefusedResponse) -> (&[u8], bool) {
    (&r.body, r.truncated)
}

#[test]
fn content_length_body_and_what_follows_it() {
    let (got, left) = refused(
        100,
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\
          Content-Length: 13\r\n\r\n{\"error\":\"x\"}tail",
    );
    let got = got.unwrap();
    assert_eq!(got.status, 401);
    assert_eq!(got.headers.get("content-type"), Some("application/json"));
    assert_eq!(body_of(&got), (&b"{\"error\":\"x\"}"[..], false));
    assert_eq!(got.body_text(), Some("{\"error\":\"x\"}"));
    assert_eq!(&left[..], b"tail", "bytes after the body stay");
}

#[test]
fn a_body_arriving_byte_by_byte() {
    let input = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!";
    let mut hs = handshake(100);
    let mut buf = BytesMut::new();
    for (i, b) in input.iter().enumerate() {
        buf.extend_from_slice(&[*b]);
        match feed(&mut hs, &mut buf) {
            None => assert!(i + 1 < input.len()),
            Some(r) => {
                assert_eq!(i + 1, input.len());
                assert_eq!(body_of(&r), (&b"nope!"[..], false));
                // Sticky.
                assert!(matches!(
                    hs.parse(&mut buf),
                    Err(HandshakeError::Refused(_))
                ));
                return;
            }
        }
    }
    panic!("never ended");
}

#[test]
fn a_body_over_the_limit_is_cut_without_waiting_for_the_rest() {
    let (got, left) = refused(4, b"HTTP/1.1 500 \r\nContent-Length: 10\r\n\r\n0123456789");
    assert_eq!(body_of(&got.unwrap()), (&b"0123"[..], true));
    assert_eq!(&left[..], b"456789", "the rest is not consumed");
    // Only 6 of a claimed 2^64 - 1 bytes arrived: nothing is reserved for the
    // claim, and the limit ends it.
    let (got, _) = refused(
        6,
        b"HTTP/1.1 500 \r\nContent-Length: 18446744073709551615\r\n\r\nabcdefgh",
    );
    assert_eq!(body_of(&got.unwrap()), (&b"abcdef"[..], true));
    // Exactly at the limit: whole.
    let (got, _) = refused(4, b"HTTP/1.1 500 \r\nContent-Length: 4\r\n\r\nabcd");
    assert_eq!(body_of(&got.unwrap()), (&b"abcd"[..], false));
}

#[test]
fn a_zero_limit_keeps_nothing() {
    let (got, left) = refused(0, b"HTTP/1.1 401 \r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(body_of(&got.unwrap()), (&b""[..], true));
    assert_eq!(&left[..], b"abc");
    let (got, _) = refused(0, b"HTTP/1.1 401 \r\nContent-Length: 0\r\n\r\n");
    assert_eq!(body_of(&got.unwrap()), (&b""[..], false));
}

#[test]
fn statuses_without_a_body() {
    for status in ["100 Continue", "204 No Content", "304 Not Modified"] {
        let input = format!("HTTP/1.1 {status}\r\nContent-Length: 3\r\n\r\nabc");
        let (got, left) = refused(100, input.as_bytes());
        assert_eq!(body_of(&got.unwrap()), (&b""[..], false), "{status}");
        assert_eq!(&left[..], b"abc");
    }
}

#[test]
fn chunked_bodies_are_decoded() {
    let (got, left) = refused(
        100,
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
          5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n",
    );
    let got = got.unwrap();
    assert_eq!(body_of(&got), (&b"hello world"[..], false));
    assert_eq!(&left[..], b"Trailer: x\r\n\r\n", "trailers are not read");
    // Bare LF line ends, upper-case hex.
    let (got, _) = refused(
        100,
        b"HTTP/1.1 400 \r\nTransfer-Encoding: chunked\r\n\r\nA\n0123456789\n0\n\n",
    );
    assert_eq!(body_of(&got.unwrap()), (&b"0123456789"[..], false));
    // Cut at the limit, inside a chunk and at a chunk's end.
    let input =
        b"HTTP/1.1 400 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
    for (limit, body, truncated) in [
        (2, &b"ab"[..], true),
        (3, b"abc", true),
        (5, b"abcde", true),
        (6, b"abcdef", false),
    ] {
        let (got, _) = refused(limit, input);
        assert_eq!(body_of(&got.unwrap()), (body, truncated), "{limit}");
    }
}

#[test]
fn malformed_chunked_bodies_keep_what_arrived() {
    for input in [
        &b"HTTP/1.1 400 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n"[..],
        b"HTTP/1.1 400 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
        b"HTTP/1.1 400 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n11111111111111111\r\n",
        b"HTTP/1.1 400 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3 x\r\n",
    ] {
        let (got, _) = refused(100, input);
        assert_eq!(
            body_of(&got.expect("ends")),
            (&b"abc"[..], true),
            "{input:?}"
        );
    }
    // A chunk-size line that never ends is bounded.
    let mut input = b"HTTP/1.1 400 \r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    input.extend(core::iter::repeat_n(b'0', 2000));
    let (got, _) = refused(100, &input);
    assert_eq!(body_of(&got.unwrap()), (&b""[..], true));
}

#[test]
fn a_body_delimited_by_the_end_of_the_connection() {
    for headers in [
        "",
        "Transfer-Encoding: gzip\r\n",
        "Content-Length: abc\r\n",
        "Content-Length: 5\r\nContent-Length: 6\r\n",
    ] {
        let input = format!("HTTP/1.1 503 \r\n{headers}\r\nbusy");
        let mut hs = handshake(100);
        let mut buf = BytesMut::from(input.as_bytes());
        assert!(
            feed(&mut hs, &mut buf).is_none(),
            "{headers}: waits for the end"
        );
        buf.extend_from_slice(b", retry");
        assert!(feed(&mut hs, &mut buf).is_none());
        let Err(HandshakeError::Refused(got)) = hs.receive_eof(&mut buf) else {
            panic!("{headers}: not refused");
        };
        assert_eq!(body_of(&got), (&b"busy, retry"[..], false), "{headers}");
        assert!(matches!(
            hs.parse(&mut buf),
            Err(HandshakeError::Refused(_))
        ));
    }
    // Over the limit: one byte past it ends the body, marked cut.
    let (got, left) = refused(4, b"HTTP/1.1 503 \r\n\r\nbusy!");
    assert_eq!(body_of(&got.unwrap()), (&b"busy"[..], true));
    assert_eq!(&left[..], b"!");
    // At the limit, the end of the connection says it was whole.
    let mut hs = handshake(4);
    let mut buf = BytesMut::from(&b"HTTP/1.1 503 \r\n\r\nbusy"[..]);
    assert!(feed(&mut hs, &mut buf).is_none());
    let err = hs.receive_eof(&mut buf).unwrap_err();
    assert_eq!(body_of(err.refused().unwrap()), (&b"busy"[..], false));
}

#[test]
fn the_end_of_the_connection_before_the_end_of_the_body() {
    for input in [
        &b"HTTP/1.1 401 \r\nContent-Length: 10\r\n\r\nabc"[..],
        b"HTTP/1.1 401 \r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    ] {
        let mut hs = handshake(100);
        let mut buf = BytesMut::from(input);
        assert!(feed(&mut hs, &mut buf).is_none());
        let err = hs.receive_eof(&mut buf).unwrap_err();
        assert_eq!(body_of(err.refused().unwrap()), (&b"abc"[..], true));
    }
}

#[test]
fn the_end_of_the_connection_elsewhere() {
    // Before the head is complete.
    let mut hs = handshake(100);
    let mut buf = BytesMut::from(&b"HTTP/1.1 401 Unauth"[..]);
    assert_eq!(
        hs.receive_eof(&mut buf).unwrap_err(),
        HandshakeError::ResponseIncomplete
    );
    assert_eq!(
        hs.parse(&mut buf).unwrap_err(),
        HandshakeError::ResponseIncomplete
    );
    // A whole 101 in the buffer is still the answer.
    let mut hs = handshake(100);
    let mut buf = BytesMut::from(
        &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
           Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"[..],
    );
    assert_eq!(hs.receive_eof(&mut buf).unwrap().status, 101);
}

#[test]
fn abandoning_keeps_what_arrived() {
    let mut hs = handshake(100);
    assert_eq!(hs.abandon(), None, "no refusal underway");
    let mut buf =
        BytesMut::from(&b"HTTP/1.1 429 \r\nRetry-After: 1\r\nContent-Length: 9\r\n\r\nslow"[..]);
    assert!(feed(&mut hs, &mut buf).is_none());
    let err = hs.abandon().unwrap();
    let got = err.refused().unwrap();
    assert_eq!(
        (got.status, got.headers.get("retry-after")),
        (429, Some("1"))
    );
    assert_eq!(body_of(got), (&b"slow"[..], true));
    assert_eq!(hs.parse(&mut buf).unwrap_err(), err, "sticky");
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_refusal(
        cuts in proptest::collection::vec(0usize..120, 0..10),
        limit in 0usize..40,
    ) {
        let input: &[u8] = b"HTTP/1.1 400 \r\nTransfer-Encoding: chunked\r\n\r\n\
            4\r\nabcd\r\n10;x=y\r\n0123456789abcdef\r\n2\r\nzz\r\n0\r\n\r\nrest";
        let whole = refused(limit, input);
        let mut cuts = cuts;
        cuts.push(input.len());
        cuts.sort_unstable();
        let mut hs = handshake(limit);
        let mut buf = BytesMut::new();
        let (mut fed, mut got) = (0, None);
        for cut in cuts {
            let cut = cut.min(input.len());
            buf.extend_from_slice(&input[fed.min(cut)..cut]);
            fed = fed.max(cut);
            if got.is_none() {
                got = feed(&mut hs, &mut buf);
            }
        }
        prop_assert_eq!(&got, &whole.0);
        let got = got.unwrap();
        prop_assert!(got.body.len() <= limit);
        prop_assert_eq!(got.truncated, limit < 22);
    }

    #[test]
    fn arbitrary_bodies_never_panic_and_stay_bounded(
        framing in 0usize..4,
        body in proptest::collection::vec(any::<u8>(), 0..300),
        limit in 0usize..64,
        eof in any::<bool>(),
    ) {
        let headers = ["", "Content-Length: 40\r\n", "Transfer-Encoding: chunked\r\n", "Content-Length: 99999999999999999999999\r\n"][framing];
        let mut input: Vec<u8> = format!("HTTP/1.1 400 \r\n{headers}\r\n").into_bytes();
        input.extend_from_slice(&body);
        let mut hs = handshake(limit);
        let mut buf = BytesMut::from(&input[..]);
        let outcome = match hs.parse(&mut buf) {
            Ok(None) if eof => hs.receive_eof(&mut buf).map(|_| ()),
            Ok(None) => Ok(()),
            other => other.map(|_| ()),
        };
        if let Err(e) = outcome {
            let r = e.refused().expect("only refusals");
            prop_assert!(r.body.len() <= limit);
        }
    }
}
