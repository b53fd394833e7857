//! permessage-deflate (RFC 7692) through the public API: negotiation in the
//! handshake, round trips over every parameter combination with arbitrary
//! chunking, limits during inflation, protocol errors, and loopback through
//! both adapters.
#![cfg(feature = "deflate")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rfc6455::extension::{DeflateConfig, DeflateParams, ExtensionConfig, Negotiated};
use rfc6455::handshake::{Accept, ClientRequest, HandshakeError, ServerHandshake};
use rfc6455::{CloseCode, Config, Connection, DataKind, Error, Message, Role};

// ------------------------------------------------------ allocation tracking

/// Counts the bytes allocated and not yet freed by the current thread, and
/// their peak, so that a test can bound what a connection allocated.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        track(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        track(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        track(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Resets the peak to what is live now, runs `f`, and returns its result
/// with how far the live bytes rose above the starting point.
fn peak_growth<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    (out, (PEAK.with(Cell::get) - start) as usize)
}

// ------------------------------------------------------------------ helpers

/// A client and a server connected through an in-memory handshake.
fn pair(
    client_ext: ExtensionConfig,
    server_ext: ExtensionConfig,
    config: Config,
) -> (Connection, Connection) {
    let (request, mut pending) = ClientRequest::new("ws://example.com/")
        .unwrap()
        .build(&config.clone().extensions(client_ext))
        .unwrap();
    let mut at_server = BytesMut::from(&request[..]);
    let req = ServerHandshake::new(&config.clone().extensions(server_ext))
        .parse(&mut at_server)
        .unwrap()
        .unwrap();
    let accepted = req.accept(Accept::new()).unwrap();
    let mut at_client = BytesMut::from(&accepted.response.to_bytes()[..]);
    let server = accepted.into_connection(config.clone());
    let client = pending
        .parse(&mut at_client)
        .unwrap()
        .unwrap()
        .into_connection(config);
    (client, server)
}

fn deflate(cfg: DeflateConfig) -> ExtensionConfig {
    ExtensionConfig::new().deflate(cfg)
}

fn drain(c: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while c.pending_output() > 0 {
        for chunk in c.output_chunks() {
            out.extend_from_slice(chunk);
        }
        c.advance_output(c.pending_output());
    }
    out
}

/// Feeds `wire` in pieces of the given sizes (cycled), collecting events.
fn feed(c: &mut Connection, wire: &[u8], sizes: &[usize]) -> Result<Vec<Message>, Error> {
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < wire.len() {
        let n = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(wire.len())
            .max(1);
        i += 1;
        let end = (pos + n).min(wire.len());
        buf.extend_from_slice(&wire[pos..end]);
        pos = end;
        while let Some(e) = c.receive(&mut buf)?.message() {
            events.push(e);
        }
    }
    Ok(events)
}

fn first_byte_of_each_frame(wire: &[u8]) -> Vec<u8> {
    // Server frames only (unmasked), lengths under 64 KiB.
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < wire.len() {
        out.push(wire[pos]);
        let (len, head) = match wire[pos + 1] & 0x7f {
            126 => (
                u16::from_be_bytes([wire[pos + 2], wire[pos + 3]]) as usize,
                4,
            ),
            127 => panic!("too long for this helper"),
            n => (n as usize, 2),
        };
        pos += head + len;
    }
    out
}

// ------------------------------------------------------------- negotiation

#[test]
fn handshake_negotiates_and_sets_rsv1() {
    let (mut client, mut server) = pair(
        deflate(DeflateConfig::new().client_max_window_bits(10)),
        deflate(DeflateConfig::new().server_no_context_takeover(true)),
        Config::default(),
    );
    let p = *client.extensions().deflate().unwrap();
    assert_eq!(server.extensions().deflate(), Some(&p));
    assert!(p.server_no_context_takeover);
    assert!(!p.client_no_context_takeover);
    assert_eq!(
        (p.server_max_window_bits, p.client_max_window_bits),
        (15, 10)
    );

    let text = "{\"id\":1,\"name\":\"compressible\"} ".repeat(20);
    server.send_text(text.as_str()).unwrap();
    let wire = drain(&mut server);
    assert_eq!(wire[0], 0xc1, "FIN + RSV1 + text");
    assert!(wire.len() < text.len() / 4);
    assert_eq!(
        feed(&mut client, &wire, &[wire.len()]).unwrap(),
        [Message::Text(text.as_str().into())]
    );
}

#[test]
fn no_deflate_unless_both_sides_ask() {
    for (c, s) in [
        (ExtensionConfig::new(), deflate(DeflateConfig::new())),
        (deflate(DeflateConfig::new()), ExtensionConfig::new()),
    ] {
        let (client, server) = pair(c, s, Config::default());
        assert!(client.extensions().deflate().is_none());
        assert!(server.extensions().deflate().is_none());
    }
}

#[test]
fn client_refuses_a_response_it_cannot_accept() {
    let config = Config::default();
    for response_ext in [
        "permessage-deflate; server_max_window_bits=12",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; bogus",
        "permessage-deflate, permessage-deflate",
    ] {
        let (request, mut pending) = ClientRequest::new("ws://example.com/")
            .unwrap()
            .build(
                &config
                    .clone()
                    .extensions(deflate(DeflateConfig::new().server_max_window_bits(11))),
            )
            .unwrap();
        let text = String::from_utf8(request).unwrap();
        assert!(text.contains(
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=11; \
             client_max_window_bits\r\n"
        ));
        let key = text
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Extensions: {response_ext}\r\n\r\n",
            rfc6455::handshake::accept_key(key.as_bytes())
        );
        let mut buf = BytesMut::from(response.as_bytes());
        assert_eq!(
            pending.parse(&mut buf).unwrap_err(),
            HandshakeError::UnofferedExtension,
            "{response_ext}"
        );
    }
}

// ------------------------------------------------ without a handshake

/// A client and a server with `params` in force, built without a handshake.
fn pair_without_handshake(
    params: DeflateParams,
    settings: &DeflateConfig,
) -> (Connection, Connection) {
    let negotiated = Negotiated::new().with_deflate(params, settings);
    let mut client =
        Connection::with_extensions(Role::Client, Config::default(), negotiated.clone());
    client.set_mask_seed([3; 32]);
    let server = Connection::with_extensions(Role::Server, Config::default(), negotiated);
    (client, server)
}

const RSV1: u8 = 0x40;

#[test]
fn negotiated_without_a_handshake_compresses_both_ways() {
    let params = DeflateParams::new()
        .server_no_context_takeover(true)
        .client_max_window_bits(10);
    let (mut client, mut server) =
        pair_without_handshake(params, &DeflateConfig::new().threshold(0));
    assert_eq!(client.extensions().deflate(), Some(&params));
    assert_eq!(server.extensions().deflate(), Some(&params));

    // Two messages each way: the client keeps its context between them,
    // the server resets its own.
    let text = "{\"id\":1,\"name\":\"compressible\"} ".repeat(20);
    for _ in 0..2 {
        client.send_text(text.as_str()).unwrap();
        let wire = drain(&mut client);
        assert_eq!(wire[0], 0x80 | RSV1 | 0x1, "FIN + RSV1 + text");
        assert!(wire.len() < text.len() / 4);
        assert_eq!(
            feed(&mut server, &wire, &[7]).unwrap(),
            [Message::Text(text.as_str().into())]
        );

        server.send_binary(text.clone().into_bytes()).unwrap();
        let wire = drain(&mut server);
        assert_eq!(first_byte_of_each_frame(&wire), [0x80 | RSV1 | 0x2]);
        assert!(wire.len() < text.len() / 4);
        assert_eq!(
            feed(&mut client, &wire, &[wire.len()]).unwrap(),
            [Message::Binary(Bytes::from(text.clone()))]
        );
    }
}

#[test]
fn negotiated_without_a_handshake_keeps_the_settings_and_the_windows() {
    // Under the threshold: sent as is.
    let (_, mut server) =
        pair_without_handshake(DeflateParams::new(), &DeflateConfig::new().threshold(64));
    server.send_text("short").unwrap();
    assert_eq!(drain(&mut server)[0], 0x81, "FIN + text, no RSV1");
    // An 8-bit server window: zlib cannot honour it, so the server never
    // compresses; the client still does.
    let (mut client, mut server) = pair_without_handshake(
        DeflateParams::new().server_max_window_bits(8),
        &DeflateConfig::new().threshold(0),
    );
    let text = "abcabcabc".repeat(10);
    server.send_text(text.as_str()).unwrap();
    assert_eq!(drain(&mut server)[0], 0x81);
    client.send_text(text.as_str()).unwrap();
    let wire = drain(&mut client);
    assert_eq!(wire[0], 0xc1);
    assert_eq!(
        feed(&mut server, &wire, &[wire.len()]).unwrap(),
        [Message::Text(text.as_str().into())]
    );
}

#[test]
fn negotiated_without_a_handshake_talks_to_a_handshake_peer() {
    let (mut client, _) = pair(
        deflate(DeflateConfig::new().client_no_context_takeover(true)),
        deflate(DeflateConfig::new().server_max_window_bits(11)),
        Config::default(),
    );
    let params = *client.extensions().deflate().unwrap();
    let (_, mut server) = pair_without_handshake(params, &DeflateConfig::new().threshold(0));
    let text = "Hello, ".repeat(40);
    for _ in 0..2 {
        server.send_text(text.as_str()).unwrap();
        let wire = drain(&mut server);
        assert_eq!(wire[0], 0xc1);
        assert_eq!(
            feed(&mut client, &wire, &[3]).unwrap(),
            [Message::Text(text.as_str().into())]
        );
        client.send_text(text.as_str()).unwrap();
        let wire = drain(&mut client);
        assert_eq!(wire[0], 0xc1);
        assert_eq!(
            feed(&mut server, &wire, &[wire.len()]).unwrap(),
            [Message::Text(text.as_str().into())]
        );
    }
}

#[test]
#[should_panic(expected = "window bits must be within 8..=15")]
fn deflate_params_refuse_a_window_over_15() {
    let _ = DeflateParams::new().client_max_window_bits(16);
}

#[test]
#[should_panic(expected = "window bits must be within 8..=15")]
fn with_deflate_refuses_a_window_set_through_the_field() {
    let mut params = DeflateParams::new();
    // The fields are public: the check in `with_deflate` catches this before
    // zlib would, at the first message.
    params.server_max_window_bits = 16;
    let _ = Negotiated::new().with_deflate(params, &DeflateConfig::new());
}

// -------------------------------------------------------------- round trips

#[derive(Clone, Debug)]
enum Send {
    Whole(DataKind, Vec<u8>),
    /// A message sent with `send_fragment`, in these pieces.
    Fragmented(DataKind, Vec<Vec<u8>>),
    Ping(Vec<u8>),
}

fn text_or_binary() -> impl Strategy<Value = (DataKind, Vec<u8>)> {
    prop_oneof![
        // Compressible text: repeated words.
        prop::collection::vec(
            prop::sample::select(vec!["alpha ", "beta ", "γάμμα ", "{\"k\":1} ", "zz"]),
            0..200
        )
        .prop_map(|w| (DataKind::Text, w.concat().into_bytes())),
        // Arbitrary bytes, usually incompressible.
        prop::collection::vec(any::<u8>(), 0..600).prop_map(|b| (DataKind::Binary, b)),
        // Long runs.
        (0usize..20_000, any::<u8>()).prop_map(|(n, b)| (DataKind::Binary, vec![b; n])),
    ]
}

fn sends() -> impl Strategy<Value = Vec<Send>> {
    prop::collection::vec(
        prop_oneof![
            4 => text_or_binary().prop_map(|(k, b)| Send::Whole(k, b)),
            2 => (text_or_binary(), prop::collection::vec(0usize..400, 1..4)).prop_map(
                |((k, b), cuts)| {
                    // Split at char boundaries for text, anywhere for binary.
                    let mut pieces = Vec::new();
                    let mut rest = b.as_slice();
                    for c in cuts {
                        let mut at = c.min(rest.len());
                        if k == DataKind::Text {
                            let s = std::str::from_utf8(rest).unwrap();
                            while !s.is_char_boundary(at) {
                                at -= 1;
                            }
                        }
                        pieces.push(rest[..at].to_vec());
                        rest = &rest[at..];
                    }
                    pieces.push(rest.to_vec());
                    Send::Fragmented(k, pieces)
                }
            ),
            1 => prop::collection::vec(any::<u8>(), 0..20).prop_map(Send::Ping),
        ],
        1..8,
    )
}

fn config_strategy() -> impl Strategy<Value = DeflateConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        8u8..=15,
        8u8..=15,
        0u32..=9,
        prop_oneof![Just(0usize), 0usize..300],
    )
        .prop_map(|(snct, cnct, s, c, level, threshold)| {
            DeflateConfig::new()
                .server_no_context_takeover(snct)
                .client_no_context_takeover(cnct)
                .server_max_window_bits(s)
                .client_max_window_bits(c)
                .level(level)
                .threshold(threshold)
        })
}

/// What the receiver must report for `sends`, as (kind, bytes) per message.
fn expected(sends: &[Send]) -> Vec<(Option<DataKind>, Vec<u8>)> {
    sends
        .iter()
        .map(|s| match s {
            Send::Whole(k, b) => (Some(*k), b.clone()),
            Send::Fragmented(k, p) => (Some(*k), p.concat()),
            Send::Ping(p) => (None, p.clone()),
        })
        .collect()
}

/// Joins received events into messages (fragments concatenated).
fn received(events: Vec<Message>) -> Vec<(Option<DataKind>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut partial: Option<(DataKind, Vec<u8>)> = None;
    for e in events {
        match e {
            Message::Text(t) => out.push((Some(DataKind::Text), t.as_bytes().to_vec())),
            Message::Binary(b) => out.push((Some(DataKind::Binary), b.to_vec())),
            Message::Ping(p) => out.push((None, p.to_vec())),
            Message::Fragment(f) => {
                let p = partial.get_or_insert_with(|| (f.kind, Vec::new()));
                p.1.extend_from_slice(&f.payload);
                if f.fin {
                    let (k, b) = partial.take().unwrap();
                    out.push((Some(k), b));
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

fn send_all(c: &mut Connection, sends: &[Send]) {
    for s in sends {
        match s {
            Send::Whole(DataKind::Text, b) => {
                c.send_text(String::from_utf8(b.clone()).unwrap()).unwrap()
            }
            Send::Whole(DataKind::Binary, b) => c.send_binary(b.clone()).unwrap(),
            Send::Fragmented(k, pieces) => {
                for (i, p) in pieces.iter().enumerate() {
                    c.send_fragment(*k, p.clone(), i + 1 == pieces.len())
                        .unwrap();
                }
            }
            Send::Ping(p) => c.send_ping(p.clone()).unwrap(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any parameters, any messages, any chunking, both directions, whole
    /// messages or streamed fragments: what arrives is what was sent.
    #[test]
    fn round_trip(
        client_cfg in config_strategy(),
        server_cfg in config_strategy(),
        to_server in sends(),
        to_client in sends(),
        sizes in prop::collection::vec(1usize..3000, 1..6),
        streaming in any::<bool>(),
    ) {
        let config = Config::default().fragments(streaming);
        let (mut client, mut server) = pair(deflate(client_cfg), deflate(server_cfg), config);
        prop_assert!(client.extensions().deflate().is_some());
        // Twice, so that context takeover carries across batches.
        for _ in 0..2 {
            send_all(&mut client, &to_server);
            let wire = drain(&mut client);
            let events = feed(&mut server, &wire, &sizes).unwrap();
            prop_assert_eq!(received(events), expected(&to_server));
            drain(&mut server); // pongs
            send_all(&mut server, &to_client);
            let wire = drain(&mut server);
            let events = feed(&mut client, &wire, &sizes).unwrap();
            prop_assert_eq!(received(events), expected(&to_client));
            drain(&mut client);
        }
    }
}

#[test]
fn fragments_are_compressed_and_rsv1_is_on_the_first_only() {
    let (mut client, mut server) = pair(
        deflate(DeflateConfig::new()),
        deflate(DeflateConfig::new()),
        Config::default(),
    );
    let piece = "abcabcabc".repeat(30);
    server
        .send_fragment(DataKind::Text, piece.clone(), false)
        .unwrap();
    server.send_ping("p").unwrap();
    server
        .send_fragment(DataKind::Text, piece.clone(), false)
        .unwrap();
    server
        .send_fragment(DataKind::Text, piece.clone(), true)
        .unwrap();
    let wire = drain(&mut server);
    assert_eq!(first_byte_of_each_frame(&wire), [0x41, 0x89, 0x00, 0x80]);
    assert!(wire.len() < piece.len());
    let events = feed(&mut client, &wire, &[7]).unwrap();
    assert_eq!(
        events,
        [
            Message::Ping(Bytes::from_static(b"p")),
            Message::Text(piece.repeat(3).into())
        ]
    );
    // Control frames are never compressed.
    server.send_ping(vec![b'a'; 125]).unwrap();
    server.close(CloseCode::NORMAL, &"x".repeat(100)).unwrap();
    assert_eq!(first_byte_of_each_frame(&drain(&mut server)), [0x89, 0x88]);
}

// ------------------------------------------------------------------- limits

#[test]
fn compression_bomb_fails_with_1009_and_allocates_little() {
    let limit = 1 << 20;
    let (mut client, mut server) = pair(
        deflate(DeflateConfig::new().level(9)),
        deflate(DeflateConfig::new()),
        Config::default().max_message_size(limit),
    );
    client.send_binary(vec![0u8; 10 << 20]).unwrap();
    let wire = drain(&mut client);
    assert!(
        wire.len() < 16 << 10,
        "10 MiB of zeros: {} bytes",
        wire.len()
    );
    let (result, growth) = peak_growth(|| feed(&mut server, &wire, &[1500]));
    assert_eq!(result.unwrap_err(), Error::MessageTooLarge);
    assert_eq!(server.failure(), Some(&Error::MessageTooLarge));
    // The limit, one byte, and the zlib inflate state (about 40 KiB); never
    // anything near the 10 MiB the message would inflate to.
    assert!(growth <= limit + (128 << 10), "peak growth {growth}");
    let close = drain(&mut server);
    assert_eq!(close, [0x88, 0x02, 0x03, 0xf1]);
}

#[test]
fn the_limit_counts_inflated_bytes_also_when_streaming() {
    let limit = 64 << 10;
    for streaming in [false, true] {
        let (mut client, mut server) = pair(
            deflate(DeflateConfig::new()),
            deflate(DeflateConfig::new()),
            Config::default()
                .max_message_size(limit)
                .fragments(streaming),
        );
        // Exactly the limit passes, in fragments.
        let piece = vec![b'a'; limit / 4];
        for i in 0..4 {
            client
                .send_fragment(DataKind::Binary, piece.clone(), i == 3)
                .unwrap();
        }
        let events = feed(&mut server, &drain(&mut client), &[100]).unwrap();
        assert_eq!(
            received(events),
            [(Some(DataKind::Binary), vec![b'a'; limit])]
        );
        // One more byte fails.
        client.send_binary(vec![b'a'; limit + 1]).unwrap();
        assert_eq!(
            feed(&mut server, &drain(&mut client), &[100]).unwrap_err(),
            Error::MessageTooLarge
        );
    }
}

// ------------------------------------------------------------ peer errors

fn deflate_client() -> (Connection, Connection) {
    pair(
        deflate(DeflateConfig::new()),
        deflate(DeflateConfig::new()),
        Config::default(),
    )
}

#[test]
fn invalid_deflate_data_fails_with_1007() {
    // BTYPE 11 is reserved.
    for wire in [&[0xc1u8, 0x01, 0x07][..], &[0xc2, 0x03, 0xff, 0xff, 0xff]] {
        let (mut client, _) = deflate_client();
        assert_eq!(
            feed(&mut client, wire, &[1]).unwrap_err(),
            Error::InvalidCompressedData
        );
        assert_eq!(
            client.failure().unwrap().close_code(),
            Some(CloseCode::INVALID_PAYLOAD)
        );
    }
    // Invalid before the frame is complete: fails without waiting for it.
    let (mut client, _) = deflate_client();
    let mut buf = BytesMut::from(&[0xc2u8, 0x7e, 0x10, 0x00, 0x07][..]);
    assert_eq!(client.receive(&mut buf), Err(Error::InvalidCompressedData));
}

#[test]
fn invalid_utf8_after_inflation_fails_with_1007() {
    // A stored block holding 0xff, as text.
    let (mut client, _) = deflate_client();
    assert_eq!(
        feed(
            &mut client,
            &[0xc1, 0x06, 0x00, 0x01, 0x00, 0xfe, 0xff, 0xff],
            &[1]
        )
        .unwrap_err(),
        Error::InvalidUtf8
    );
    // A code point cut by the end of the message.
    let (mut client, _) = deflate_client();
    assert_eq!(
        feed(
            &mut client,
            &[0xc1, 0x06, 0x00, 0x01, 0x00, 0xfe, 0xff, 0xce],
            &[100]
        )
        .unwrap_err(),
        Error::InvalidUtf8
    );
}

#[test]
fn misplaced_rsv1_fails_with_1002() {
    for wire in [
        // RSV1 on a continuation frame.
        &[
            0x41u8, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00,
        ][..],
        // RSV1 on a ping.
        &[0xc9, 0x00],
        // RSV2 and RSV3 are still not granted.
        &[0xa1, 0x00],
        &[0x91, 0x00],
    ] {
        let (mut client, _) = deflate_client();
        let err = feed(&mut client, wire, &[100]).unwrap_err();
        assert_eq!(err, Error::ReservedBits, "{wire:02x?}");
        assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR));
    }
    // RSV1 when nothing was negotiated.
    let (mut client, _) = pair(
        ExtensionConfig::new(),
        deflate(DeflateConfig::new()),
        Config::default(),
    );
    assert_eq!(
        feed(
            &mut client,
            &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            &[9]
        )
        .unwrap_err(),
        Error::ReservedBits
    );
}

#[test]
fn client_compresses_and_server_inflates() {
    let (mut client, mut server) = deflate_client();
    let hello = "Hello, ".repeat(30);
    client.send_text(hello.as_str()).unwrap();
    let wire = drain(&mut client);
    assert_eq!(wire[0], 0xc1, "FIN + RSV1 + text");
    assert!(wire.len() < hello.len() / 3);
    assert_eq!(
        feed(&mut server, &wire, &[1]).unwrap(),
        [Message::Text(hello.as_str().into())]
    );
}

// ------------------------------------------------------------------ adapters

fn both_sides() -> ExtensionConfig {
    deflate(DeflateConfig::new().threshold(0))
}

#[test]
fn blocking_loopback_negotiates_deflate() {
    use rfc6455::blocking;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let options = rfc6455::Config::default().extensions(both_sides());
        let mut ws = blocking::accept_with(tcp, options, |_| Ok(Accept::new())).unwrap();
        assert!(ws.connection().extensions().deflate().is_some());
        loop {
            match ws.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m).unwrap(),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let options = rfc6455::Config::default()
        .extensions(both_sides())
        .handshake_timeout(Some(Duration::from_secs(10)));
    let (mut ws, response) =
        blocking::connect_with(ClientRequest::new(&url).unwrap(), options).unwrap();
    assert!(
        response
            .headers
            .get("Sec-WebSocket-Extensions")
            .is_some_and(|v| v.starts_with("permessage-deflate"))
    );
    assert!(ws.connection().extensions().deflate().is_some());
    for size in [0usize, 1, 125, 126, 65_535, 65_536, 1 << 20] {
        let text: String = "websocket ".repeat(size / 10 + 1)[..size].to_string();
        ws.send(Message::text(text.as_str())).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text(text.as_str()));
        let binary: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        ws.send(Message::binary(binary.clone())).unwrap();
        assert_eq!(ws.read().unwrap(), Message::binary(binary));
    }
    ws.close(CloseCode::NORMAL, "done").unwrap();
    while ws.read().is_ok() {}
    server.join().unwrap();
}

#[test]
fn tokio_loopback_negotiates_deflate() {
    use futures_util::{SinkExt, StreamExt};
    use rfc6455::tokio::{accept_with, connect_with};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let options = Config::default().extensions(both_sides());
            let mut ws = accept_with(tcp, options, |_| Ok(Accept::new()))
                .await
                .unwrap();
            assert!(ws.connection().extensions().deflate().is_some());
            while let Some(Ok(m)) = ws.next().await {
                if m.is_data() {
                    ws.send(m).await.unwrap();
                }
            }
        });
        let options = Config::default().extensions(both_sides());
        let (mut ws, _) = connect_with(ClientRequest::new(&url).unwrap(), options)
            .await
            .unwrap();
        assert!(ws.connection().extensions().deflate().is_some());
        for size in [0usize, 1, 125, 126, 65_535, 65_536, 1 << 20] {
            let text: String = "tokio ws ".repeat(size / 9 + 1)[..size].to_string();
            ws.send(Message::text(text.as_str())).await.unwrap();
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::text(text.as_str())
            );
        }
        ws.send(Message::Close(None)).await.unwrap();
        while let Some(Ok(_)) = ws.next().await {}
        server.await.unwrap();
    });
}

// ------------------------------------------------------ prepared messages

/// Connections that compress every message from a fresh state
/// (`server_no_context_takeover`) share one compressed frame of a
/// [`PreparedMessage`](rfc6455::PreparedMessage); connections with context
/// takeover compress it themselves. Every client inflates it.
#[test]
fn prepared_messages_share_compressed_frames_only_without_context_takeover() {
    let text = r#"{"event":"frame","data":"aGVsbG8gd29ybGQ="}"#.repeat(50);
    let message = rfc6455::PreparedMessage::text(text.as_str());
    let mut shared = Vec::new();
    for server_reset in [true, true, false, false] {
        let server_ext = deflate(
            DeflateConfig::new()
                .server_no_context_takeover(server_reset)
                .threshold(64),
        );
        let (mut client, mut server) =
            pair(deflate(DeflateConfig::new()), server_ext, Config::default());
        for _ in 0..2 {
            server.send_prepared(&message).unwrap();
            let mut handles = Vec::new();
            server.output_handles(&mut handles, usize::MAX);
            server.advance_output(server.pending_output());
            let chunks: Vec<Bytes> = handles;
            let wire = chunks.concat();
            assert_eq!(wire[0], 0xc1, "one final text frame with RSV1");
            assert!(wire.len() < text.len() / 4, "compressed");
            if server_reset {
                shared.push(chunks[0].as_ptr());
            } else {
                assert!(
                    chunks
                        .iter()
                        .all(|c| c.as_ptr() != message.frame().as_ptr())
                );
            }
            let events = feed(&mut client, &wire, &[wire.len()]).unwrap();
            assert_eq!(events, vec![Message::Text(text.as_str().into())]);
        }
    }
    assert_eq!(shared.len(), 4);
    assert!(
        shared.iter().all(|p| *p == shared[0]),
        "one compressed frame for every connection without context takeover"
    );
}

/// The error a bad compressed text message gets does not depend on how its
/// bytes are split into reads: the first problem in the message wins (here
/// invalid UTF-8 before the size limit, and before invalid deflate data).
#[test]
fn a_bad_compressed_message_gets_one_error_whatever_the_reads() {
    let stored_200 = {
        // A masked (key 0) text frame with RSV1: a stored deflate block of
        // 200 bytes of 0xd3, which is not UTF-8.
        let mut f = vec![
            0xc1, 0xfe, 0x00, 0xcd, 0, 0, 0, 0, 0x00, 0xc8, 0x00, 0x37, 0xff,
        ];
        f.extend([0xd3; 200]);
        f
    };
    let bad_data = {
        // A stored block of four 0xd3, then a block of reserved type.
        let mut f = vec![0xc1, 0x94, 0, 0, 0, 0, 0x00, 0x04, 0x00, 0xfb, 0xff];
        f.extend([0xd3; 4]);
        f.extend([0x07; 11]);
        f
    };
    for wire in [stored_200, bad_data] {
        let mut errors = Vec::new();
        for split in [wire.len(), 16, 15, 9, 1] {
            let (_, mut server) = pair(
                deflate(DeflateConfig::new()),
                deflate(DeflateConfig::new()),
                Config::default().max_message_size(100),
            );
            errors.push(feed(&mut server, &wire, &[split, wire.len()]).unwrap_err());
        }
        assert!(
            errors.iter().all(|e| *e == Error::InvalidUtf8),
            "{errors:?}"
        );
    }
}
