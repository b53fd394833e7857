use super::*;
use crate::proto::extension::{ExtensionConfig, Negotiated, parse_extensions};
use crate::proto::handshake::HandshakeError;
use crate::{Config, Connection, Error, Fragment, Message, Role};
use alloc::vec;
use alloc::vec::Vec;
use bytes::BytesMut;

fn elements(v: &str) -> Vec<ExtensionOffer> {
    parse_extensions(v).collect::<Result<_, _>>().unwrap()
}

fn server(cfg: DeflateConfig, offers: &str) -> Option<String> {
    ExtensionConfig::new()
        .deflate(cfg)
        .server_answer(&elements(offers))
        .0
}

fn client(cfg: DeflateConfig, response: &str) -> Result<DeflateParams, HandshakeError> {
    ExtensionConfig::new()
        .deflate(cfg)
        .client_accept(&elements(response))
        .map(|n| *n.deflate().expect("negotiated"))
}

fn params(snct: bool, cnct: bool, smwb: u8, cmwb: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: smwb,
        client_max_window_bits: cmwb,
    }
}

#[test]
fn client_offers() {
    let d = DeflateConfig::new;
    for (cfg, offer) in [
        (d(), "permessage-deflate; client_max_window_bits"),
        (
            d().server_no_context_takeover(true)
                .client_no_context_takeover(true),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             client_max_window_bits",
        ),
        (
            d().server_max_window_bits(10).client_max_window_bits(9),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9",
        ),
    ] {
        assert_eq!(
            ExtensionConfig::new()
                .deflate(cfg)
                .client_offer()
                .as_deref(),
            Some(offer)
        );
    }
}

#[test]
fn server_answers() {
    let d = DeflateConfig::new;
    let pmd = "permessage-deflate";
    for (cfg, offers, answer) in [
        (d(), "permessage-deflate", Some(pmd)),
        (d(), "PerMessage-Deflate", Some(pmd)),
        // client_max_window_bits without a value: nothing to limit at 15.
        (d(), "permessage-deflate; client_max_window_bits", Some(pmd)),
        (
            d(),
            "permessage-deflate; client_max_window_bits=10",
            Some("permessage-deflate; client_max_window_bits=10"),
        ),
        (
            d().client_max_window_bits(12),
            "permessage-deflate; client_max_window_bits",
            Some("permessage-deflate; client_max_window_bits=12"),
        ),
        (
            d().client_max_window_bits(12),
            "permessage-deflate; client_max_window_bits=10",
            Some("permessage-deflate; client_max_window_bits=10"),
        ),
        // Not offered: may not be answered (§7.1.2.2).
        (
            d().client_max_window_bits(12),
            "permessage-deflate",
            Some(pmd),
        ),
        (
            d(),
            "permessage-deflate; server_max_window_bits=9",
            Some("permessage-deflate; server_max_window_bits=9"),
        ),
        (
            d().server_max_window_bits(11),
            "permessage-deflate; server_max_window_bits=13",
            Some("permessage-deflate; server_max_window_bits=11"),
        ),
        (
            d().server_max_window_bits(11),
            "permessage-deflate",
            Some("permessage-deflate; server_max_window_bits=11"),
        ),
        (
            d(),
            "permessage-deflate; server_max_window_bits=15",
            Some("permessage-deflate; server_max_window_bits=15"),
        ),
        (
            d(),
            "permessage-deflate; server_no_context_takeover",
            Some("permessage-deflate; server_no_context_takeover"),
        ),
        (
            d().server_no_context_takeover(true),
            "permessage-deflate",
            Some("permessage-deflate; server_no_context_takeover"),
        ),
        (
            d(),
            "permessage-deflate; client_no_context_takeover",
            Some("permessage-deflate; client_no_context_takeover"),
        ),
        (
            d().client_no_context_takeover(true),
            "permessage-deflate",
            Some("permessage-deflate; client_no_context_takeover"),
        ),
        // Autobahn 13.5's offer.
        (
            d(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
             server_no_context_takeover; server_max_window_bits=9",
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=9",
            ),
        ),
        // Window 8 is accepted; this server then sends uncompressed.
        (
            d(),
            "permessage-deflate; server_max_window_bits=8",
            Some("permessage-deflate; server_max_window_bits=8"),
        ),
        // Invalid offers are declined, the next valid one is taken.
        (d(), "permessage-deflate; server_max_window_bits", None),
        (d(), "permessage-deflate; server_max_window_bits=7", None),
        (d(), "permessage-deflate; server_max_window_bits=16", None),
        (d(), "permessage-deflate; server_max_window_bits=010", None),
        (d(), "permessage-deflate; server_max_window_bits=+9", None),
        (d(), "permessage-deflate; client_max_window_bits=0", None),
        (d(), "permessage-deflate; client_max_window_bits=ab", None),
        (
            d(),
            "permessage-deflate; server_no_context_takeover=1",
            None,
        ),
        (
            d(),
            "permessage-deflate; client_no_context_takeover=x",
            None,
        ),
        (
            d(),
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            None,
        ),
        (
            d(),
            "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
            None,
        ),
        (d(), "permessage-deflate; foo", None),
        (d(), "x-webkit-deflate-frame", None),
        (d(), "", None),
        (
            d(),
            "permessage-deflate; foo, x-other, permessage-deflate; server_max_window_bits=10, \
             permessage-deflate",
            Some("permessage-deflate; server_max_window_bits=10"),
        ),
        (
            d(),
            "permessage-deflate; server_max_window_bits=\"10\"",
            Some("permessage-deflate; server_max_window_bits=10"),
        ),
    ] {
        assert_eq!(server(cfg, offers).as_deref(), answer, "{offers:?}");
    }
}

#[test]
fn server_agreed_parameters() {
    let (_, n) = ExtensionConfig::new()
        .deflate(DeflateConfig::new().client_max_window_bits(11))
        .server_answer(&elements(
            "permessage-deflate; client_max_window_bits=13; server_max_window_bits=10; \
             client_no_context_takeover",
        ));
    assert_eq!(n.deflate(), Some(&params(false, true, 10, 11)));
    assert_eq!(n.rsv_bits(), crate::proto::frame::RSV1);
    let (_, n) = ExtensionConfig::new().server_answer(&elements("permessage-deflate"));
    assert_eq!(n.rsv_bits(), 0);
}

#[test]
fn client_accepts() {
    let d = DeflateConfig::new;
    let ok = |cfg, r| client(cfg, r).unwrap();
    assert_eq!(ok(d(), "permessage-deflate"), params(false, false, 15, 15));
    assert_eq!(
        ok(
            d(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        ),
        params(true, true, 10, 9)
    );
    assert_eq!(
        ok(d().client_max_window_bits(10), "permessage-deflate"),
        params(false, false, 15, 10)
    );
    assert_eq!(
        ok(
            d().client_max_window_bits(10),
            "permessage-deflate; client_max_window_bits=12"
        ),
        params(false, false, 15, 10)
    );
    assert_eq!(
        ok(
            d().server_max_window_bits(10),
            "permessage-deflate; server_max_window_bits=9"
        ),
        params(false, false, 9, 15)
    );
    assert_eq!(
        ok(d().client_no_context_takeover(true), "permessage-deflate"),
        params(false, true, 15, 15)
    );
    assert_eq!(
        ok(d(), "permessage-deflate; client_max_window_bits=8"),
        params(false, false, 15, 8)
    );
    let e = Err(HandshakeError::UnofferedExtension);
    for (cfg, response) in [
        // Requested but not granted.
        (d().server_no_context_takeover(true), "permessage-deflate"),
        (d().server_max_window_bits(10), "permessage-deflate"),
        (
            d().server_max_window_bits(10),
            "permessage-deflate; server_max_window_bits=11",
        ),
        // Invalid parameters (§5: the client fails the connection).
        (d(), "permessage-deflate; client_max_window_bits"),
        (d(), "permessage-deflate; server_max_window_bits"),
        (d(), "permessage-deflate; server_max_window_bits=16"),
        (d(), "permessage-deflate; client_max_window_bits=7"),
        (d(), "permessage-deflate; server_no_context_takeover=yes"),
        (
            d(),
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        ),
        (d(), "permessage-deflate; mystery"),
        (d(), "permessage-deflate, permessage-deflate"),
        (d(), "x-webkit-deflate-frame"),
    ] {
        assert_eq!(client(cfg, response), e, "{response:?}");
    }
    // Not configured: any answer is refused.
    assert_eq!(
        ExtensionConfig::new()
            .client_accept(&elements("permessage-deflate"))
            .unwrap_err(),
        HandshakeError::UnofferedExtension
    );
}

#[test]
fn every_offer_is_accepted_by_our_server_and_back() {
    for snct in [false, true] {
        for cnct in [false, true] {
            for s in 8..=15 {
                for c in 8..=15 {
                    let cfg = DeflateConfig::new()
                        .server_no_context_takeover(snct)
                        .client_no_context_takeover(cnct)
                        .server_max_window_bits(s)
                        .client_max_window_bits(c);
                    let ext = ExtensionConfig::new().deflate(cfg.clone());
                    let offer = ext.client_offer().unwrap();
                    let (answer, server_side) = ext.server_answer(&elements(&offer));
                    let client_side = ext.client_accept(&elements(&answer.unwrap())).unwrap();
                    assert_eq!(client_side.deflate(), server_side.deflate(), "{offer}");
                    assert_eq!(
                        client_side.deflate(),
                        Some(&params(snct, cnct, s, c)),
                        "{offer}"
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------------ RFC 7692 §7.2.3

fn agreed(params: DeflateParams, threshold: usize) -> Negotiated {
    Negotiated {
        deflate: Some(Agreed {
            params,
            // zlib's default level: the RFC's vectors were made with it.
            level: 6,
            threshold,
        }),
    }
}

fn connection(role: Role, config: Config, p: DeflateParams) -> Connection {
    Connection::with_extensions(role, config, agreed(p, 0))
}

fn output(c: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while c.pending_output() > 0 {
        for chunk in c.output_chunks() {
            out.extend_from_slice(chunk);
        }
        c.advance_output(c.pending_output());
    }
    out
}

fn receive_all(c: &mut Connection, bytes: &[u8]) -> Result<Vec<Message>, Error> {
    let mut buf = BytesMut::from(bytes);
    let mut events = Vec::new();
    while let Some(e) = c.receive(&mut buf)?.message() {
        events.push(e);
    }
    assert!(buf.is_empty());
    Ok(events)
}

const TAKEOVER: DeflateParams = DeflateParams {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_max_window_bits: 15,
    client_max_window_bits: 15,
};

#[test]
fn rfc_hello_is_sent_as_in_7_2_3_1_and_7_2_3_2() {
    let mut server = connection(Role::Server, Config::default(), TAKEOVER);
    server.send_text("Hello").unwrap();
    assert_eq!(
        output(&mut server),
        [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    // The same message again uses the shared window (§7.2.3.2).
    server.send_text("Hello").unwrap();
    assert_eq!(
        output(&mut server),
        [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]
    );
    // Without context takeover each message starts afresh, and one that
    // would not shrink goes uncompressed.
    let mut server = connection(Role::Server, Config::default(), params(true, false, 15, 15));
    server.send_text("Hello").unwrap();
    assert_eq!(output(&mut server), b"\x81\x05Hello");
    let text = "Hello, Hello, Hello, Hello, Hello";
    server.send_text(text).unwrap();
    let first = output(&mut server);
    assert_eq!(first[0], 0xc1);
    assert!(first.len() < text.len());
    server.send_text(text).unwrap();
    assert_eq!(output(&mut server), first);
}

#[test]
fn rfc_vectors_are_received() {
    let hello = Message::Text("Hello".into());
    let mut client = connection(Role::Client, Config::default(), TAKEOVER);
    // §7.2.3.1 and §7.2.3.2 (the second refers to the first's window).
    assert_eq!(
        receive_all(
            &mut client,
            &[
                0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, //
                0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00,
            ]
        )
        .unwrap(),
        [hello.clone(), hello.clone()]
    );
    // §7.2.3.3: a DEFLATE block with no compression.
    let stored = [
        0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    let mut client = connection(Role::Client, Config::default(), TAKEOVER);
    assert_eq!(
        receive_all(&mut client, &stored).unwrap(),
        vec![hello.clone()]
    );
    // §7.2.3.4: a block with BFINAL set, then a padding byte.
    let mut client = connection(Role::Client, Config::default(), TAKEOVER);
    assert_eq!(
        receive_all(
            &mut client,
            &[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]
        )
        .unwrap(),
        vec![hello.clone()]
    );
    // §7.2.3.5: two DEFLATE blocks in one message.
    let mut client = connection(Role::Client, Config::default(), TAKEOVER);
    assert_eq!(
        receive_all(
            &mut client,
            &[
                0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
                0x00
            ]
        )
        .unwrap(),
        vec![hello.clone()]
    );
    // §7.2.3.1, fragmented: the first frame alone sets RSV1.
    let fragmented = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let mut client = connection(Role::Client, Config::default(), TAKEOVER);
    assert_eq!(
        receive_all(&mut client, &fragmented).unwrap(),
        vec![hello.clone()]
    );
    // In streaming mode each frame is delivered inflated.
    let mut client = connection(Role::Client, Config::default().fragments(true), TAKEOVER);
    let events = receive_all(&mut client, &fragmented).unwrap();
    let joined: Vec<u8> = events
        .iter()
        .flat_map(|e| match e {
            Message::Fragment(Fragment { payload, .. }) => payload.to_vec(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(joined, b"Hello");
    assert!(matches!(
        events.last(),
        Some(Message::Fragment(Fragment { fin: true, .. }))
    ));
}

#[test]
fn rfc_vectors_one_byte_at_a_time() {
    let bytes = [
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x89, 0x00, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x05,
        0xf2, 0x00, 0x11, 0x00, 0x00,
    ];
    let mut client = connection(Role::Client, Config::default(), TAKEOVER);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for b in bytes {
        buf.extend_from_slice(&[b]);
        while let Some(e) = client.receive(&mut buf).unwrap().message() {
            events.push(e);
        }
    }
    let hello = Message::Text("Hello".into());
    assert_eq!(
        events,
        [Message::Ping(bytes::Bytes::new()), hello.clone(), hello]
    );
}

#[test]
fn inflation_stops_at_the_limit_plus_one_byte() {
    // 10 MiB of zeros: about 10 KiB compressed.
    let zeros = vec![0u8; 10 << 20];
    let mut sender = connection(Role::Server, Config::default(), TAKEOVER);
    sender.send_binary(zeros).unwrap();
    let wire = output(&mut sender);
    assert!(wire.len() < 20 << 10, "{}", wire.len());
    let limit = 1 << 20;
    let mut receiver = connection(
        Role::Client,
        Config::default().max_message_size(limit),
        TAKEOVER,
    );
    let mut buf = BytesMut::new();
    let mut peak = 0;
    let mut result = Ok(crate::Received::NeedMore);
    // Arbitrary pieces, as a socket would deliver them.
    for chunk in wire.chunks(700) {
        buf.extend_from_slice(chunk);
        result = receiver.receive(&mut buf);
        if let Some(codec) = &receiver.deflate {
            peak = peak.max(codec.output_capacity());
        }
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(Error::MessageTooLarge));
    assert!(peak <= limit + 1, "inflate buffer reached {peak}");
    // The 1009 close frame is queued, the state released.
    let close = output(&mut receiver);
    assert_eq!(close[..2], [0x88, 0x82], "a masked close frame with a code");
    assert!(receiver.deflate.is_none());
}

#[test]
fn zlib_state_is_lazy_and_released_without_context_takeover() {
    let mut c = connection(Role::Server, Config::default(), params(true, true, 15, 15));
    assert_eq!(c.deflate.as_ref().unwrap().allocated(), (false, false));
    c.send_text("Hello, Hello, Hello, Hello").unwrap();
    assert_eq!(c.deflate.as_ref().unwrap().allocated(), (false, false));
    let mut client = connection(Role::Client, Config::default(), params(true, true, 15, 15));
    client.send_text("Hello, Hello, Hello, Hello").unwrap();
    let wire = output(&mut client);
    receive_all(&mut c, &wire).unwrap();
    assert_eq!(c.deflate.as_ref().unwrap().allocated(), (false, false));
    // With context takeover the state stays for the next message.
    let mut c = connection(Role::Server, Config::default(), TAKEOVER);
    c.send_text("Hello, Hello, Hello, Hello").unwrap();
    let mut client = connection(Role::Client, Config::default(), TAKEOVER);
    client.send_text("Hello, Hello, Hello, Hello").unwrap();
    receive_all(&mut c, &output(&mut client)).unwrap();
    assert_eq!(c.deflate.as_ref().unwrap().allocated(), (true, true));
}

#[test]
fn window_of_8_bits_sends_uncompressed() {
    let mut c = connection(Role::Server, Config::default(), params(false, false, 8, 15));
    c.send_text("Hello").unwrap();
    assert_eq!(output(&mut c), b"\x81\x05Hello");
    // Receiving from a peer using an 8-bit window works.
    let mut c = connection(Role::Client, Config::default(), params(false, false, 8, 15));
    assert_eq!(
        receive_all(
            &mut c,
            &[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        )
        .unwrap(),
        [Message::Text("Hello".into())]
    );
}

#[test]
fn threshold_and_level() {
    let mut c = Connection::with_extensions(Role::Server, Config::default(), agreed(TAKEOVER, 6));
    c.send_text("Hello").unwrap();
    assert_eq!(output(&mut c), b"\x81\x05Hello");
    c.send_text("Hello!").unwrap();
    assert_eq!(output(&mut c)[0], 0xc1);
    // Level 0 stores: RSV1 set, payload in a stored block.
    let mut n = agreed(TAKEOVER, 0);
    n.deflate.as_mut().unwrap().level = 0;
    let mut c = Connection::with_extensions(Role::Server, Config::default(), n);
    c.send_text("Hello").unwrap();
    let out = output(&mut c);
    assert_eq!(out[0], 0xc1);
    assert!(out.windows(5).any(|w| w == b"Hello"));
}
