//! The connection state machine against hand-made frames, in both roles.

use bytes::{Bytes, BytesMut};
use rfc6455::{
    CloseCode, CloseFrame, Config, Connection, DataKind, Error, Fragment, Message, Received, Role,
    State, Timestamp,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Encodes one frame; masked with `KEY` when `masked`.
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&KEY);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A frame as a client sends it to a server.
fn c2s(first: u8, payload: &[u8]) -> Vec<u8> {
    frame(first, payload, true)
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

fn client() -> Connection {
    Connection::new(Role::Client, Config::default())
}

fn output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while conn.pending_output() > 0 {
        for chunk in conn.output_chunks() {
            out.extend_from_slice(chunk);
        }
        conn.advance_output(conn.pending_output());
    }
    out
}

/// Feeds `input` whole and collects events until the connection needs more
/// bytes or fails.
fn events(conn: &mut Connection, input: &[u8]) -> (Vec<Message>, Option<Error>) {
    let mut buf = BytesMut::from(input);
    let mut events = Vec::new();
    loop {
        match conn.receive(&mut buf) {
            Ok(Received::Message(e)) => events.push(e),
            Ok(Received::NeedMore | Received::Closed) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

fn error_of(role: Role, input: &[u8]) -> (Error, Vec<u8>) {
    let mut conn = Connection::new(role, Config::default());
    let (_, err) = events(&mut conn, input);
    let err = err.expect("an error");
    (err, output(&mut conn))
}

fn close_frame_bytes(code: u16) -> Vec<u8> {
    frame(0x88, &code.to_be_bytes(), false)
}

#[test]
fn rfc_5_7_masked_hello_to_server() {
    let mut s = server();
    let (ev, err) = events(
        &mut s,
        &[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ],
    );
    assert_eq!(err, None);
    assert_eq!(ev, vec![Message::Text("Hello".into())]);
}

#[test]
fn rfc_5_7_unmasked_hello_to_client() {
    let mut c = client();
    let (ev, _) = events(&mut c, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    assert_eq!(ev, vec![Message::Text("Hello".into())]);
}

#[test]
fn server_sends_rfc_5_7_unmasked_hello() {
    let mut s = server();
    s.send_text("Hello").unwrap();
    assert_eq!(output(&mut s), [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
}

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    let mut c = client();
    c.send_text("Hello").unwrap();
    c.send_text("Hello").unwrap();
    let out = output(&mut c);
    assert_eq!(out.len(), 22);
    let (a, b) = out.split_at(11);
    assert_eq!(a[1], 0x85, "mask bit and length");
    assert_ne!(a[2..6], b[2..6], "each frame gets its own key");
    // Decoding with the server gives the text back.
    let mut s = server();
    let (ev, _) = events(&mut s, &out);
    assert_eq!(
        ev,
        vec![Message::Text("Hello".into()), Message::Text("Hello".into())]
    );
}

#[test]
fn fragmented_message_with_interleaved_ping() {
    let mut s = server();
    let mut input = c2s(0x01, b"Hel");
    input.extend(c2s(0x89, b"ping!"));
    input.extend(c2s(0x80, b"lo"));
    let (ev, err) = events(&mut s, &input);
    assert_eq!(err, None);
    assert_eq!(
        ev,
        vec![
            Message::Ping(Bytes::from_static(b"ping!")),
            Message::Text("Hello".into())
        ]
    );
    assert_eq!(
        output(&mut s),
        frame(0x8a, b"ping!", false),
        "the pong carries the ping's payload"
    );
}

#[test]
fn masking_direction_is_enforced() {
    let (err, out) = error_of(Role::Server, &frame(0x81, b"hi", false));
    assert_eq!(err, Error::UnmaskedFrame);
    assert_eq!(out, close_frame_bytes(1002));
    let (err, out) = error_of(Role::Client, &frame(0x81, b"hi", true));
    assert_eq!(err, Error::MaskedFrame);
    assert_eq!(
        &out[..2],
        &[0x88, 0x82],
        "the client's close frame is masked"
    );
}

#[test]
fn protocol_errors_send_1002() {
    let cases: Vec<(Vec<u8>, Error)> = vec![
        (c2s(0xc1, b"x"), Error::ReservedBits),
        (c2s(0xa1, b"x"), Error::ReservedBits),
        (c2s(0x91, b"x"), Error::ReservedBits),
        (c2s(0x83, b""), Error::ReservedOpcode(3)),
        (c2s(0x8b, b""), Error::ReservedOpcode(0xb)),
        (c2s(0x80, b"x"), Error::UnexpectedContinuation),
        (
            [c2s(0x01, b"a"), c2s(0x81, b"b")].concat(),
            Error::ExpectedContinuation,
        ),
        (c2s(0x09, b""), Error::FragmentedControlFrame),
        (c2s(0x89, &[0; 126]), Error::ControlFrameTooLong),
        (c2s(0x88, &[3]), Error::InvalidClosePayload),
        (
            c2s(0x88, &1005u16.to_be_bytes()),
            Error::InvalidCloseCode(1005),
        ),
        (
            c2s(0x88, &999u16.to_be_bytes()),
            Error::InvalidCloseCode(999),
        ),
        (
            c2s(0x88, &2999u16.to_be_bytes()),
            Error::InvalidCloseCode(2999),
        ),
        (
            c2s(0x88, &5000u16.to_be_bytes()),
            Error::InvalidCloseCode(5000),
        ),
        (
            [0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0].to_vec(),
            Error::InvalidLength,
        ),
    ];
    for (input, expected) in cases {
        let (err, out) = error_of(Role::Server, &input);
        assert_eq!(err, expected, "input {input:02x?}");
        assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));
        assert_eq!(out, close_frame_bytes(1002), "input {input:02x?}");
    }
}

#[test]
fn invalid_utf8_sends_1007() {
    let (err, out) = error_of(Role::Server, &c2s(0x81, &[0xce, 0xba, 0xff]));
    assert_eq!(err, Error::InvalidUtf8);
    assert_eq!(out, close_frame_bytes(1007));
    // A close reason too.
    let (err, _) = error_of(Role::Server, &c2s(0x88, &[0x03, 0xe8, 0xc0, 0x80]));
    assert_eq!(err, Error::InvalidUtf8);
    // Across fragments: the second fragment ends inside a code point.
    let input = [c2s(0x01, b"ok"), c2s(0x80, &[0xe2, 0x82])].concat();
    assert_eq!(error_of(Role::Server, &input).0, Error::InvalidUtf8);
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    let mut s = server();
    // A 1000-byte text frame whose first bytes are already invalid.
    let mut payload = vec![b'a'; 1000];
    payload[10] = 0xff;
    let input = c2s(0x81, &payload);
    let (ev, err) = events(&mut s, &input[..40]);
    assert!(ev.is_empty());
    assert_eq!(
        err,
        Some(Error::InvalidUtf8),
        "rejected with 960 bytes still to come"
    );
}

#[test]
fn invalid_utf8_fails_at_the_fragment_not_at_the_end() {
    let mut s = server();
    let (_, err) = events(
        &mut s,
        &[
            c2s(0x01, "κόσμε".as_bytes()),
            c2s(0x00, &[0xed, 0xa0, 0x80]),
        ]
        .concat(),
    );
    assert_eq!(err, Some(Error::InvalidUtf8));
}

#[test]
fn oversized_claims_fail_from_the_header_without_allocating() {
    let mut s = server();
    let header = [
        0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4,
    ];
    let mut buf = BytesMut::from(&header[..]);
    let cap = buf.capacity();
    assert_eq!(s.receive(&mut buf), Err(Error::FrameTooLarge));
    assert_eq!(buf.capacity(), cap, "the buffer was not grown");
    assert_eq!(output(&mut s), close_frame_bytes(1009));

    let config = Config::default()
        .max_frame_size(1000)
        .max_message_size(1500);
    let mut s = Connection::new(Role::Server, config.clone());
    let (_, err) = events(&mut s, &c2s(0x82, &[0; 1001])[..8]);
    assert_eq!(err, Some(Error::FrameTooLarge));
    let mut s = Connection::new(Role::Server, config);
    // Two 1000-byte fragments: the second header already exceeds 1500.
    let input = [c2s(0x02, &[0; 1000]), c2s(0x80, &[0; 1000])[..8].to_vec()].concat();
    let (_, err) = events(&mut s, &input);
    assert_eq!(err, Some(Error::MessageTooLarge));
    assert_eq!(err.unwrap().close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
}

#[test]
fn errors_are_sticky() {
    let mut s = server();
    let (_, err) = events(&mut s, &frame(0x81, b"x", false));
    assert_eq!(err, Some(Error::UnmaskedFrame));
    let mut good = BytesMut::from(&c2s(0x81, b"fine")[..]);
    assert_eq!(s.receive(&mut good), Err(Error::UnmaskedFrame));
    assert_eq!(s.send_text("x"), Err(Error::UnmaskedFrame));
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn server_answers_a_close_and_then_closes_the_transport() {
    let mut s = server();
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    let (ev, _) = events(&mut s, &c2s(0x88, &payload));
    assert_eq!(
        ev,
        vec![Message::Close(Some(CloseFrame {
            code: CloseCode::new(4000),
            reason: "bye".into()
        }))]
    );
    assert_eq!(s.state(), State::Closed);
    assert!(!s.should_close_transport(), "the echo is not written yet");
    assert_eq!(output(&mut s), close_frame_bytes(4000));
    assert!(s.should_close_transport());
    assert_eq!(s.send_text("late"), Err(Error::SendAfterClose));
}

#[test]
fn empty_close_gets_an_empty_echo() {
    let mut s = server();
    let (ev, _) = events(&mut s, &c2s(0x88, b""));
    assert_eq!(ev, vec![Message::Close(None)]);
    assert_eq!(output(&mut s), [0x88, 0x00]);
}

#[test]
fn client_initiated_close_handshake() {
    let mut c = client();
    c.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(c.state(), State::CloseSent);
    assert!(c.poll_timeout().is_some(), "closing has a deadline");
    assert_eq!(c.send_text("more"), Err(Error::SendAfterClose));
    assert!(c.send_text("more").unwrap_err().is_local_misuse());
    assert_eq!(c.close(CloseCode::NORMAL, ""), Err(Error::SendAfterClose));
    let sent = output(&mut c);
    let mut s = server();
    let (ev, _) = events(&mut s, &sent);
    assert_eq!(
        ev,
        vec![Message::Close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: "done".into()
        }))]
    );
    // Data the server sent before it saw the close still arrives.
    let mut back = frame(0x82, b"in flight", false);
    back.extend(output(&mut s));
    let (ev, _) = events(&mut c, &back);
    assert_eq!(ev[0], Message::Binary(Bytes::from_static(b"in flight")));
    assert!(matches!(ev[1], Message::Close(Some(ref f)) if f.code == CloseCode::NORMAL));
    assert_eq!(c.state(), State::Closed);
    assert!(
        s.should_close_transport(),
        "the server closes the TCP connection first"
    );
    assert!(
        !c.should_close_transport(),
        "the client waits for the server"
    );
    assert!(c.poll_timeout().is_some(), "within the close deadline");
    assert_eq!(c.receive_eof(), Ok(()));
    assert!(c.should_close_transport());
}

#[test]
fn client_close_deadline_lets_it_close() {
    let mut c = client();
    c.handle_timeout(Timestamp::ZERO);
    c.close(CloseCode::NORMAL, "").unwrap();
    c.handle_timeout(Timestamp::from_nanos(1));
    output(&mut c);
    let deadline = c.poll_timeout().expect("a close deadline");
    assert_eq!(
        deadline,
        Timestamp::from_nanos(1) + Config::default().close_timeout
    );
    c.handle_timeout(deadline);
    assert!(c.should_close_transport());
    assert_eq!(c.failure(), Some(&Error::AbnormalClosure));
}

#[test]
fn peer_vanishing_mid_message_is_abnormal_closure() {
    let mut s = server();
    let input = c2s(0x82, &[7; 300]);
    let (ev, err) = events(&mut s, &input[..100]);
    assert!(ev.is_empty() && err.is_none());
    assert_eq!(s.receive_eof(), Err(Error::AbnormalClosure));
    assert_eq!(
        Error::AbnormalClosure.close_code(),
        Some(CloseCode::ABNORMAL)
    );
    assert_eq!(s.pending_output(), 0, "nothing is sent to a vanished peer");
}

#[test]
fn local_misuse_is_distinct_and_harmless() {
    let mut s = server();
    assert_eq!(s.send_ping(vec![0; 126]), Err(Error::ControlPayloadTooLong));
    assert_eq!(
        s.close(CloseCode::ABNORMAL, ""),
        Err(Error::InvalidCloseToSend)
    );
    assert_eq!(
        s.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(Error::InvalidCloseToSend)
    );
    s.send_fragment(DataKind::Text, "a", false).unwrap();
    assert_eq!(s.send_text("b"), Err(Error::FragmentOutOfOrder));
    assert_eq!(
        s.send_fragment(DataKind::Binary, "b", true),
        Err(Error::FragmentOutOfOrder)
    );
    s.send_ping("between").unwrap();
    s.send_fragment(DataKind::Text, "b", true).unwrap();
    assert_eq!(s.state(), State::Open);
    let out = output(&mut s);
    let expected = [
        frame(0x01, b"a", false),
        frame(0x89, b"between", false),
        frame(0x80, b"b", false),
    ]
    .concat();
    assert_eq!(out, expected);
}

#[test]
fn streaming_mode_delivers_fragments() {
    let mut s = Connection::new(Role::Server, Config::default().fragments(true));
    let input = [c2s(0x01, b"Hel"), c2s(0x80, b"lo"), c2s(0x82, b"bin")].concat();
    let (ev, _) = events(&mut s, &input);
    assert_eq!(
        ev,
        vec![
            Message::Fragment(Fragment {
                kind: DataKind::Text,
                payload: Bytes::from_static(b"Hel"),
                fin: false
            }),
            Message::Fragment(Fragment {
                kind: DataKind::Text,
                payload: Bytes::from_static(b"lo"),
                fin: true
            }),
            Message::Fragment(Fragment {
                kind: DataKind::Binary,
                payload: Bytes::from_static(b"bin"),
                fin: true
            }),
        ]
    );
}

#[test]
fn large_server_payloads_are_queued_by_reference() {
    let mut s = server();
    let payload = Bytes::from(vec![9u8; 100_000]);
    s.send_binary(payload.clone()).unwrap();
    let chunks: Vec<&[u8]> = s.output_chunks().collect();
    assert_eq!(chunks.len(), 2, "header and payload");
    assert_eq!(
        chunks[1].as_ptr(),
        payload.as_ptr(),
        "the payload is not copied"
    );
    assert_eq!(s.pending_output(), 10 + 100_000);
    s.advance_output(5);
    assert_eq!(s.output_chunks().next().unwrap().len(), 5);
    s.advance_output(10 + 100_000 - 5);
    assert_eq!(s.pending_output(), 0);
    assert_eq!(s.output_chunks().count(), 0);
}

#[test]
fn bytes_after_the_close_are_ignored() {
    let mut s = server();
    let input = [c2s(0x88, &1000u16.to_be_bytes()), c2s(0x81, b"after")].concat();
    let (ev, err) = events(&mut s, &input);
    assert_eq!(ev.len(), 1);
    assert_eq!(err, None);
}

#[test]
fn zero_timeouts_are_acted_on_step_by_step_and_end() {
    let config = Config::default()
        .keepalive(rfc6455::Keepalive::new(
            std::time::Duration::ZERO,
            std::time::Duration::ZERO,
        ))
        .close_timeout(std::time::Duration::ZERO);
    let mut s = Connection::new(Role::Server, config);
    let now = Timestamp::from_nanos(5);
    // The ping, its failure (1011) and the end of closing, all due at once:
    // each step reports the next as due, and a driver's loop ends.
    let mut steps = 0;
    while s.poll_timeout().is_some_and(|d| d <= now) {
        s.handle_timeout(now);
        steps += 1;
        assert!(steps <= 4, "every step moves the connection forward");
    }
    assert_eq!(s.failure(), Some(&Error::KeepaliveTimeout));
    assert!(s.should_close_transport());
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn reads_grow_with_what_arrived_not_with_a_claim() {
    let mut s = Connection::new(Role::Server, Config::default().max_frame_size(64 << 20));
    // A header announcing 16 MiB and nothing more: a 4 KiB read.
    let header = [0x82, 0xff, 0, 0, 0, 0, 0x01, 0, 0, 0, 1, 2, 3, 4];
    let mut buf = BytesMut::from(&header[..]);
    assert_eq!(s.receive(&mut buf), Ok(Received::NeedMore));
    assert_eq!(s.bytes_needed(buf.len()), 16 << 20);
    assert_eq!(s.read_size_hint(buf.len(), buf.capacity()), 4096);
    // With 64 KiB of it buffered, at most three times that more.
    let mut buf = BytesMut::from(&header[..]);
    buf.extend_from_slice(&[0; 64 << 10]);
    let mut s = Connection::new(Role::Server, Config::default().max_frame_size(64 << 20));
    assert_eq!(s.receive(&mut buf), Ok(Received::NeedMore));
    assert_eq!(s.read_size_hint(buf.len(), buf.len()), 3 * buf.len());
    // A frame ending just past that limit is read to its end in one step.
    let mut t = Connection::new(Role::Server, Config::default());
    let len: u64 = 4 * 65536 + 1000;
    let mut partial = BytesMut::from(&[0x82, 0xff][..]);
    partial.extend_from_slice(&len.to_be_bytes());
    partial.extend_from_slice(&[1, 2, 3, 4]);
    partial.extend_from_slice(&[0; 65536]);
    assert_eq!(t.receive(&mut partial), Ok(Received::NeedMore));
    let rest = 3 * 65536 + 1000;
    assert_eq!(t.bytes_needed(partial.len()), rest);
    assert_eq!(t.read_size_hint(partial.len(), partial.len()), rest + 4096);
    // Near the end of the frame: the rest plus room for the next header...
    let near_end = (16 << 20) - 100;
    assert_eq!(s.read_size_hint(near_end, near_end), 100 + 4096);
    // ... unless the rest fits in the spare capacity and the room does not:
    // the buffer is not grown (and copied) only for the next header.
    assert_eq!(s.read_size_hint(near_end, near_end + 1000), 1000);
    assert_eq!(s.read_size_hint(near_end, near_end + 100), 100);
    assert_eq!(s.read_size_hint(near_end, near_end + 99), 100 + 4096);
}

#[test]
fn a_frame_like_the_last_one_is_read_in_one_step() {
    let mut s = Connection::new(Role::Server, Config::default().max_frame_size(64 << 20));
    // Nothing received yet: a 4 KiB read between frames.
    assert_eq!(s.read_size_hint(0, 0), 4096);
    // A 60 000-byte frame arrives whole.
    let len: usize = 60_000;
    let mut frame = BytesMut::from(&[0x82, 0xfe, 0x00, 0x00, 1, 2, 3, 4][..]);
    frame[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    frame.extend_from_slice(&vec![0; len]);
    let wire = frame.len();
    assert!(matches!(s.receive(&mut frame), Ok(Received::Message(_))));
    // Between frames, a read that may wait long (a blocking one holds its
    // buffer meanwhile) stays small.
    assert_eq!(s.read_size_hint(0, 0), 4096);
    // The next one's header alone: read to its end, not 4 KiB at a time.
    let mut next = BytesMut::from(&[0x82, 0xfe, 0x00, 0x00, 1, 2, 3, 4][..]);
    next[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    assert_eq!(s.receive(&mut next), Ok(Received::NeedMore));
    assert_eq!(s.read_size_hint(next.len(), next.len()), len + 4096);
    // A claim beyond what the peer sent before still earns only that much.
    let mut s2 = Connection::new(Role::Server, Config::default().max_frame_size(64 << 20));
    let mut frame = BytesMut::from(&[0x82, 0xfe, 0x00, 0x00, 1, 2, 3, 4][..]);
    frame[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    frame.extend_from_slice(&vec![0; len]);
    assert!(matches!(s2.receive(&mut frame), Ok(Received::Message(_))));
    let mut claim = BytesMut::from(&[0x82, 0xff, 0, 0, 0, 0, 0x01, 0, 0, 0, 1, 2, 3, 4][..]);
    assert_eq!(s2.receive(&mut claim), Ok(Received::NeedMore));
    assert_eq!(s2.read_size_hint(claim.len(), claim.len()), wire);
}

#[test]
fn an_empty_buffer_still_reports_what_the_connection_became() {
    // Open: nothing to do yet.
    let mut s = server();
    assert_eq!(s.receive(&mut BytesMut::new()), Ok(Received::NeedMore));
    // A failure found by a deadline is returned by the next receive, even
    // with no bytes buffered.
    let config = Config::default().idle_timeout(std::time::Duration::from_secs(1));
    let mut s = Connection::new(Role::Server, config);
    s.handle_timeout(Timestamp::ZERO);
    s.handle_timeout(Timestamp::from_nanos(2_000_000_000));
    let failure = s.failure().cloned().expect("the idle deadline passed");
    assert_eq!(s.receive(&mut BytesMut::new()), Err(failure));
    // After the peer's close frame: closed. After an end of stream without
    // one: the abnormal closure.
    let mut s = server();
    let mut close = BytesMut::from(&c2s(0x88, &1000u16.to_be_bytes())[..]);
    assert!(matches!(s.receive(&mut close), Ok(Received::Message(_))));
    assert_eq!(s.receive(&mut BytesMut::new()), Ok(Received::Closed));
    let mut s = server();
    let _ = s.receive_eof();
    assert_eq!(s.receive(&mut BytesMut::new()), Err(Error::AbnormalClosure));
}

/// Moves everything `from` queued into `to`, as a transport would.
fn pump(from: &mut Connection, to: &mut BytesMut) {
    while from.pending_output() > 0 {
        for chunk in from.output_chunks() {
            to.extend_from_slice(chunk);
        }
        from.advance_output(from.pending_output());
    }
}

#[test]
fn the_driver_step_says_what_to_do_with_the_transport() {
    use rfc6455::{Keepalive, Step};
    use std::time::Duration;
    let at = |ms| Timestamp::from(Duration::from_millis(ms));
    let keepalive = Keepalive::new(Duration::from_secs(1), Duration::from_secs(1));
    let mut s = Connection::new(Role::Server, Config::default().keepalive(keepalive));
    let mut c = Connection::new(Role::Client, Config::default().random_seed([1; 32]));
    // Open and quiet: read, nothing to write, wake for the keepalive.
    let step = s.poll(at(0));
    assert!(
        matches!(step, Step::Run { write: false, read: true, wake_at: Some(w), .. } if w == at(1000)),
        "{step:?}"
    );
    // Silence past the interval: the step queues the keepalive ping.
    assert!(matches!(
        s.poll(at(1000)),
        Step::Run {
            write: true,
            read: true,
            ..
        }
    ));
    let mut to_client = BytesMut::new();
    pump(&mut s, &mut to_client);
    // The server closes; the client echoes; the server then closes the
    // transport, cleanly.
    s.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(s.poll(at(1001)), Step::Run { write: true, .. }));
    pump(&mut s, &mut to_client);
    while c.receive(&mut to_client).unwrap().message().is_some() {}
    let mut to_server = BytesMut::new();
    pump(&mut c, &mut to_server);
    while s.receive(&mut to_server).unwrap().message().is_some() {}
    assert_eq!(s.poll(at(1002)), Step::Close(Ok(())));
    // The client waits for the server to close the transport (§7.1.1):
    // reading on, until the close deadline.
    let step = c.poll(at(0));
    assert!(
        matches!(step, Step::Run { write: false, read: true, wake_at: Some(w), .. } if w == at(10_000)),
        "{step:?}"
    );
    c.receive_eof().unwrap();
    assert_eq!(c.poll(at(1)), Step::Close(Ok(())));
    // A failure closes with its error, once its close frame is written.
    let mut s = server();
    let mut buf = BytesMut::from(&c2s(0x83, b"")[..]);
    assert!(s.receive(&mut buf).is_err());
    assert!(matches!(s.poll(at(0)), Step::Run { write: true, .. }));
    s.advance_output(s.pending_output());
    assert_eq!(s.poll(at(0)), Step::Close(Err(Error::ReservedOpcode(3))));
}

#[test]
fn a_transport_failure_is_clean_only_after_the_close_handshake() {
    // Before: an abnormal closure.
    let mut s = server();
    assert_eq!(s.transport_failed(), Err(Error::AbnormalClosure));
    assert!(s.should_close_transport());
    // After both close frames, ours written: clean (a peer may reset).
    let mut s = server();
    s.close(CloseCode::NORMAL, "").unwrap();
    s.advance_output(s.pending_output());
    let mut buf = BytesMut::from(&c2s(0x88, &1000u16.to_be_bytes())[..]);
    assert!(matches!(
        s.receive(&mut buf).unwrap(),
        Received::Message(Message::Close(_))
    ));
    assert_eq!(s.transport_failed(), Ok(()));
    // Our close frame not written yet: not clean.
    let mut s = server();
    s.close(CloseCode::NORMAL, "").unwrap();
    let mut buf = BytesMut::from(&c2s(0x88, &1000u16.to_be_bytes())[..]);
    let _ = s.receive(&mut buf).unwrap();
    assert_eq!(s.transport_failed(), Err(Error::AbnormalClosure));
    // The peer's close came and is answered by hand (echo_close off): the
    // peer's code is the connection's, however the transport ends.
    let mut s = Connection::new(Role::Server, Config::default().echo_close(false));
    let mut buf = BytesMut::from(&c2s(0x88, &1001u16.to_be_bytes())[..]);
    let _ = s.receive(&mut buf).unwrap();
    assert_eq!(s.state(), State::CloseReceived);
    assert_eq!(s.transport_failed(), Ok(()));
    assert_eq!(s.failure(), None);
}

/// A server with keepalive (a ping after 1 s of silence, 2 s for its pong)
/// sending 1 MiB over a transport that takes 10 KiB every 100 ms (a slow
/// link: about 10 s for the message) while nothing arrives but, at tick
/// `pong_at`, the pong to the first keepalive ping. Returns the
/// connection, the time (in 100 ms ticks) at which everything queued
/// before the keepalive ping was written, and the failure's tick if any
/// up to tick `until`, the transport taking nothing from tick `stall` on.
fn slow_upload(
    stall: u64,
    pong_at: Option<u64>,
    until: u64,
) -> (Connection, Option<u64>, Option<u64>) {
    let tick = |k: u64| Timestamp::from(std::time::Duration::from_millis(100 * k));
    let keepalive = rfc6455::Keepalive::new(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(2),
    );
    let mut s = Connection::new(Role::Server, Config::default().keepalive(keepalive));
    let _ = s.poll(tick(0));
    s.send_binary(Bytes::from(vec![7u8; 1 << 20])).unwrap();
    let message = s.pending_output();
    let mut taken = 0;
    let mut written_at = None;
    for k in 1..=until {
        if k < stall && s.pending_output() > 0 {
            let n = s.pending_output().min(10 << 10);
            s.advance_output(n);
            taken += n;
            if taken >= message && written_at.is_none() {
                written_at = Some(k);
            }
        }
        if pong_at == Some(k) {
            // The keepalive's first ping carries 0u32.
            let mut pong = BytesMut::from(&c2s(0x8A, &0u32.to_be_bytes())[..]);
            assert!(matches!(
                s.receive(&mut pong),
                Ok(Received::Message(Message::Pong(_)))
            ));
        }
        if let rfc6455::Step::Close(_) = s.poll(tick(k)) {
            return (s, written_at, Some(k));
        }
        if s.failure().is_some() {
            return (s, written_at, Some(k));
        }
    }
    (s, written_at, None)
}

#[test]
fn a_keepalive_ping_waiting_behind_output_the_transport_takes_is_not_yet_out() {
    // The ping is queued at 1 s behind most of the message and goes out
    // with its end, at about 10 s. Its 2 s count from then: answered at
    // 11 s, the connection lives on (the next ping goes at 12 s).
    let (s, written_at, failed) = slow_upload(u64::MAX, Some(110), 130);
    let written_at = written_at.expect("the message was written");
    assert!((100..=105).contains(&written_at), "{written_at}");
    assert_eq!(failed, None, "{:?}", s.failure());
    assert!(
        s.latency().is_some(),
        "the round trip from the ping's write"
    );
    // Unanswered, it fails 2 s after it went out, not after it was queued.
    let (s, written_at, failed) = slow_upload(u64::MAX, None, 400);
    let out = written_at.unwrap();
    let failed = failed.expect("the unanswered ping fails the connection");
    assert!(
        (out + 20..=out + 21).contains(&failed),
        "out at {out}, failed at {failed}"
    );
    assert_eq!(s.failure(), Some(&Error::KeepaliveTimeout));
}

#[test]
fn a_keepalive_ping_stuck_behind_output_the_transport_stopped_taking_fails_on_time() {
    // A dead peer: the transport takes nothing from the start. The ping,
    // queued at 1 s, fails 2 s later.
    let (s, _, failed) = slow_upload(0, None, 400);
    assert_eq!(failed, Some(30));
    assert_eq!(s.failure(), Some(&Error::KeepaliveTimeout));
    // It took the output for 5 s, then stopped: 2 s after the last write.
    let (s, _, failed) = slow_upload(50, None, 400);
    assert_eq!(failed, Some(69));
    assert_eq!(s.failure(), Some(&Error::KeepaliveTimeout));
}

#[test]
fn bytes_arriving_after_a_keepalive_ping_keep_the_connection_alive() {
    // A ping after 1 s of silence, 2 s for its pong. The ping goes out at
    // 1 s; from 1.5 s a 1 MiB frame arrives, 10 KiB every 100 ms (a slow
    // link, or a peer whose pong waits behind the message it is sending),
    // with no pong: the peer is alive while its bytes arrive.
    let tick = |k: u64| Timestamp::from(std::time::Duration::from_millis(100 * k));
    let keepalive = rfc6455::Keepalive::new(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(2),
    );
    let mut s = Connection::new(Role::Server, Config::default().keepalive(keepalive));
    let frame = c2s(0x82, &vec![5u8; 1 << 20]);
    let mut fed = 0;
    let mut buf = BytesMut::new();
    let mut last_bytes = 0;
    for k in 0..=200 {
        if k >= 15 && fed < frame.len() {
            let n = (frame.len() - fed).min(10 << 10);
            buf.extend_from_slice(&frame[fed..fed + n]);
            fed += n;
            last_bytes = k;
            while let Ok(Received::Message(_)) = s.receive(&mut buf) {}
        }
        let _ = s.poll(tick(k));
        // The transport takes everything at once (the ping).
        s.advance_output(s.pending_output());
        if s.failure().is_some() {
            // Only once nothing arrived for 2 s after the last bytes.
            assert!(last_bytes >= 110, "failed at tick {k} while bytes arrived");
            assert!(
                (last_bytes + 20..=last_bytes + 21).contains(&k),
                "failed at {k}, last bytes at {last_bytes}"
            );
            assert_eq!(s.failure(), Some(&Error::KeepaliveTimeout));
            return;
        }
    }
    panic!("a silent peer must fail the connection in the end");
}
