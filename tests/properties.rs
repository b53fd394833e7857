//! Properties of the connection over arbitrary input and arbitrary chunking.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rfc6455::{CloseCode, Config, Connection, DataKind, Error, Message, Received, Role};

/// Feeds `input` in pieces cut at `cuts` and records every event, the error
/// if any, and the output the connection queued.
fn run(
    role: Role,
    config: &Config,
    input: &[u8],
    cuts: &[usize],
) -> (Vec<Message>, Option<Error>, Vec<u8>) {
    let mut conn = Connection::new(role, config.clone());
    conn.set_mask_seed([7; 32]);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut start = 0;
    let mut ends: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    ends.sort_unstable();
    ends.push(input.len());
    'feed: for end in ends {
        if end < start {
            continue;
        }
        buf.extend_from_slice(&input[start..end]);
        start = end;
        loop {
            match conn.receive(&mut buf) {
                Ok(Received::Message(e)) => events.push(e),
                Ok(Received::NeedMore | Received::Closed) => break,
                Err(e) => {
                    let mut out = Vec::new();
                    while conn.pending_output() > 0 {
                        for c in conn.output_chunks() {
                            out.extend_from_slice(c);
                        }
                        conn.advance_output(conn.pending_output());
                    }
                    // The close code sent is the error's.
                    if let Some(code) = e.close_code() {
                        if !out.is_empty() {
                            assert!(code.is_sendable());
                        }
                    }
                    events.push(Message::Close(None)); // marker so the comparison includes position
                    return (events, Some(e), out);
                }
            }
        }
        if conn.state() == rfc6455::State::Closed {
            break 'feed;
        }
    }
    let mut out = Vec::new();
    while conn.pending_output() > 0 {
        for c in conn.output_chunks() {
            out.extend_from_slice(c);
        }
        conn.advance_output(conn.pending_output());
    }
    (events, None, out)
}

/// Frames that are mostly well formed, so that the interesting states are reached.
fn frame_bytes(masked: bool) -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![
        Just(0x81u8),
        Just(0x82),
        Just(0x01),
        Just(0x02),
        Just(0x00),
        Just(0x80),
        Just(0x88),
        Just(0x89),
        Just(0x8a),
        any::<u8>(),
    ];
    let payload = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..10),
        ".{0,20}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 120..300),
    ];
    (
        first,
        payload,
        any::<[u8; 4]>(),
        proptest::bool::weighted(0.05),
    )
        .prop_map(move |(first, payload, key, wrong)| {
            // Now and then a frame masked the wrong way round.
            let masked = masked != wrong;
            let mut out = vec![first];
            let bit = if masked { 0x80 } else { 0 };
            match payload.len() {
                n @ 0..=125 => out.push(bit | n as u8),
                n => {
                    out.push(bit | 126);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                }
            }
            if masked {
                out.extend_from_slice(&key);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
            } else {
                out.extend_from_slice(&payload);
            }
            out
        })
}

fn stream(masked: bool) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(frame_bytes(masked), 0..8).prop_map(|f| f.concat()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        ".{0,50}".prop_map(Message::text),
        proptest::collection::vec(any::<u8>(), 0..5000).prop_map(Message::binary),
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(|p| Message::Ping(Bytes::from(p))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_gives_the_same_result_as_one_feed(
        server: bool, cuts in proptest::collection::vec(0usize..2000, 0..12),
        input in prop_oneof![stream(true), stream(false)],
    ) {
        let role = if server { Role::Server } else { Role::Client };
        let config = Config::default().max_message_size(400);
        let whole = run(role, &config, &input, &[]);
        let chunked = run(role, &config, &input, &cuts);
        prop_assert_eq!(&whole, &chunked);
        let bytewise: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(whole, run(role, &config, &input, &bytewise));
    }

    #[test]
    fn client_to_server_round_trip(messages in proptest::collection::vec(message(), 0..10), cuts in proptest::collection::vec(0usize..60000, 0..10)) {
        for (from, to) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
            let mut sender = Connection::new(from, Config::default());
            for m in &messages {
                sender.send(m.clone()).unwrap();
            }
            sender.close(CloseCode::NORMAL, "done").unwrap();
            let mut wire = Vec::new();
            while sender.pending_output() > 0 {
                for c in sender.output_chunks() {
                    wire.extend_from_slice(c);
                }
                sender.advance_output(sender.pending_output());
            }
            let (events, err, _) = run(to, &Config::default(), &wire, &cuts);
            prop_assert_eq!(err, None);
            let expected: Vec<Message> = messages.iter().map(|m| match m {
                Message::Text(t) => Message::Text(t.clone()),
                Message::Binary(b) => Message::Binary(b.clone()),
                Message::Ping(p) => Message::Ping(p.clone()),
                _ => unreachable!(),
            }).chain([Message::Close(Some(rfc6455::CloseFrame { code: CloseCode::NORMAL, reason: "done".into() }))]).collect();
            prop_assert_eq!(events, expected);
        }
    }

    #[test]
    fn fragmented_sends_reassemble(pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..6)) {
        let mut client = Connection::new(Role::Client, Config::default());
        let last = pieces.len() - 1;
        for (i, p) in pieces.iter().enumerate() {
            client.send_fragment(DataKind::Binary, p.clone(), i == last).unwrap();
            client.send_ping("x").unwrap();
        }
        let mut wire = Vec::new();
        while client.pending_output() > 0 {
            for c in client.output_chunks() {
                wire.extend_from_slice(c);
            }
            client.advance_output(client.pending_output());
        }
        let (events, err, _) = run(Role::Server, &Config::default(), &wire, &[]);
        prop_assert_eq!(err, None);
        let data: Vec<_> = events.into_iter().filter(|e| !matches!(e, Message::Ping(_))).collect();
        prop_assert_eq!(data, vec![Message::Binary(Bytes::from(pieces.concat()))]);
    }
}
